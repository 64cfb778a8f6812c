"""What a diagram family declares: `FAMILY = DiagramFamily(...)` in its own module under
`svglm/dsl/families/`. Everything the parsers, lowering, compiler, task generator and docs need
to know about a family is here, in one value (torchtitan's model spec, litgpt's config entry).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from svglm.dsl.canvas import Canvas
from svglm.dsl.content import ContentPack
from svglm.dsl.schema import COMMON_KINDS, STYLE, Component, ComponentKind, Knob
from svglm.errors import DataError

Layout = Callable[[Canvas], None]
# (form, knobs, pack) -> the family's own components, in drawing order, between the common
# title and subtitle before them and the footer after them. With a topic's pack the structure
# (which segments a bracket spans, where a link returns) is the pack's; without one (a bundle
# over the built-in pack) it follows from the counts.
Lowering = Callable[[str, dict[str, Any], ContentPack | None], list[Component]]
RESERVED_KNOBS = {"family", "form", "topic", *STYLE}


@dataclass(frozen=True)
class Form:
    """One way to lay out a family's components."""

    name: str
    goal: str  # the routebook intent `[goal:...]` that asks for this form
    layout: Layout  # draws the scene's family components on the canvas
    phrases: tuple[str, ...] = ()  # what a sentence calls it: "a layer stack", ...


@dataclass(frozen=True)
class Topic:
    """A subject with content of its own shape: how many segments, which groups, which
    links. A scene of this topic binds every visible string to a path in `pack`."""

    name: str
    pack: ContentPack
    phrases: tuple[str, ...] = ()  # what a sentence calls it: "GPU memory in training", ...


@dataclass(frozen=True)
class DiagramFamily:
    name: str
    forms: tuple[Form, ...]
    knobs: tuple[Knob, ...]  # in canonical order
    kinds: tuple[ComponentKind, ...]  # the family's own kinds; COMMON_KINDS come on top
    lower: Lowering
    content: ContentPack  # the built-in pack, large enough for every count at its maximum
    topics: tuple[Topic, ...]  # each routes `[topic:...]` to this family and brings a pack
    pack: type[BaseModel]  # the schema every pack of this family must satisfy
    nouns: tuple[str, ...] = ()  # what a sentence calls the family: "a memory map", ...
    max_index: int = 0  # the longest indexed list beyond the knobs' counts (a tree's nodes)
    # Why a combination of knobs cannot be drawn (e.g. too many leaves), or None.
    limit: Callable[[dict[str, Any]], str | None] = field(default=lambda knobs: None)

    def __post_init__(self) -> None:
        # A family module with a mistake should fail at import, naming what is wrong.
        if len(self.forms) < 2:
            raise ValueError(f"family {self.name}: needs at least two forms")
        if clash := RESERVED_KNOBS & {k.name for k in self.knobs}:
            raise ValueError(f"family {self.name}: knob names {sorted(clash)} are reserved")
        for knob in self.knobs:
            # A sentence must be able to ask for every value but the default (said by silence).
            unsaid = [v for v in knob.choices()[1:] if not knob.phrases_for(v)]
            if not knob.content and unsaid:
                raise ValueError(f"family {self.name}: knob {knob.name} has no phrase for {unsaid}")
        names = {k.name for k in self.all_kinds}
        for kind in self.kinds:
            if kind.indexes is not None and kind.indexes not in names:
                raise ValueError(f"family {self.name}: {kind.name} indexes unknown {kind.indexes}")
        for label, pack in [
            ("built-in pack", self.content),
            *((t.name, t.pack) for t in self.topics),
        ]:
            try:
                self.check_pack(pack)
            except DataError as e:
                raise ValueError(f"family {self.name}, {label}: {e}") from None

    @property
    def form_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.forms)

    @property
    def all_kinds(self) -> tuple[ComponentKind, ...]:
        return COMMON_KINDS + self.kinds

    @property
    def settings(self) -> tuple[Knob, ...]:
        """The enumerated knobs: presentation that draws no component, kept in the scene."""
        return tuple(k for k in self.knobs if k.enumerated)

    def form(self, name: str) -> Form:
        return next(f for f in self.forms if f.name == name)

    def kind(self, name: str) -> ComponentKind | None:
        return next((k for k in self.all_kinds if k.name == name), None)

    def topic(self, name: str) -> Topic:
        return next(t for t in self.topics if t.name == name)

    def shape(self, pack: ContentPack) -> dict[str, int]:
        """The counts a pack fixes: one per knob that counts a pack entry (the length of a
        list, a number such as a tree's depth, or 1 for a text that is there, a footer)."""
        return {k.name: _count(pack.get(k.content)) for k in self.knobs if k.content}

    def pack_schema(self) -> dict[str, Any]:
        """The JSON schema a content pack of this family must satisfy (knob ranges aside)."""
        schema = self.pack.model_json_schema()
        schema["title"] = f"{self.name} content pack"
        return schema

    def check_pack(self, pack: Any, source: str = "content") -> ContentPack:
        """`pack` with its defaults filled in (a missing subtitle becomes "") if it satisfies
        the family's schema and knob ranges; else a DataError that names the field."""
        try:
            pack = self.pack.model_validate(pack).model_dump()
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "top level"
            raise DataError(f"{source}: {where}: {first['msg']}") from None
        for knob in self.knobs:
            if knob.content and knob.content in pack:
                n = _count(pack[knob.content])
                if not knob.low <= n <= knob.high:
                    raise DataError(
                        f"{source}: {knob.content} is {n}; a {self.name} "
                        f"takes {knob.low}..{knob.high}"
                    )
        if why := self.limit({k.name: k.default for k in self.knobs} | self.shape(pack)):
            raise DataError(f"{source}: {why}")
        return pack


def _count(value: Any) -> int:
    if isinstance(value, list):
        return len(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return 1 if value else 0
