"""What a diagram family declares: `FAMILY = DiagramFamily(...)` in its own module under
`svglm/dsl/families/`. Everything the parsers, lowering, compiler, task generator and docs need
to know about a family is here, in one value (torchtitan's model spec, litgpt's config entry).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from svglm.dsl.canvas import Canvas
from svglm.dsl.content import ContentPack
from svglm.dsl.schema import COMMON_KINDS, STYLE, Component, ComponentKind, Knob

Layout = Callable[[Canvas], None]
# (form, counts) -> the family's own components, in drawing order, between the common title
# and subtitle before them and the footer after them.
Lowering = Callable[[str, dict[str, int]], list[Component]]
RESERVED_KNOBS = {"family", "form", *STYLE}


@dataclass(frozen=True)
class Form:
    """One way to lay out a family's components."""

    name: str
    goal: str  # the routebook intent `[goal:...]` that asks for this form
    layout: Layout  # draws the scene's family components on the canvas


@dataclass(frozen=True)
class DiagramFamily:
    name: str
    forms: tuple[Form, ...]
    knobs: tuple[Knob, ...]  # topology knobs in canonical order
    kinds: tuple[ComponentKind, ...]  # the family's own kinds; COMMON_KINDS come on top
    lower: Lowering
    content: ContentPack  # the built-in pack, large enough for every knob at its maximum
    topics: tuple[str, ...]  # routebook: `[topic:...]` intents that route to this family

    def __post_init__(self) -> None:
        # A family module with a mistake should fail at import, naming what is wrong.
        if len(self.forms) < 2:
            raise ValueError(f"family {self.name}: needs at least two forms")
        if clash := RESERVED_KNOBS & {k.name for k in self.knobs}:
            raise ValueError(f"family {self.name}: knob names {sorted(clash)} are reserved")
        names = {k.name for k in self.all_kinds}
        for kind in self.kinds:
            if kind.indexes is not None and kind.indexes not in names:
                raise ValueError(f"family {self.name}: {kind.name} indexes unknown {kind.indexes}")

    @property
    def form_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.forms)

    @property
    def all_kinds(self) -> tuple[ComponentKind, ...]:
        return COMMON_KINDS + self.kinds

    def form(self, name: str) -> Form:
        return next(f for f in self.forms if f.name == name)

    def kind(self, name: str) -> ComponentKind | None:
        return next((k for k in self.all_kinds if k.name == name), None)
