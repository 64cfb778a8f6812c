"""The language's data model: the shared style knobs, and the shapes of bundles, scenes and
their components.

Which families, forms, topology knobs and component kinds exist is declared by the family
modules in `svglm/dsl/families/`; this module only says what those declarations look like and
depends on nothing else in the package, so every family module can import it.
"""

from __future__ import annotations

from dataclasses import dataclass

# Shared style knobs in canonical order; the first value of each is its default.
STYLE: dict[str, tuple[str, ...]] = {
    "theme": ("infra_dark", "paper_editorial", "signal_glow"),
    "tone": ("amber", "green", "blue", "purple", "mixed"),
    "density": ("compact", "balanced", "airy"),
    "background": ("none", "grid", "mesh", "rings"),
}


@dataclass(frozen=True)
class Knob:
    """A topology knob of a family: the atom `[name:N]` with low <= N <= high."""

    name: str
    low: int
    high: int


@dataclass(frozen=True)
class ComponentKind:
    """A kind of scene component.

    path:    True if the component binds visible text by a content path (`[stage:stages.2]`);
             False for bare components that draw no text (`[arrow]`).
    indexes: the kind that its `[from:N] [to:N]` arguments point into, e.g. a bracket spans
             segments N..M; None for components without arguments.
    """

    name: str
    path: bool = True
    indexes: str | None = None

    @property
    def args(self) -> tuple[str, ...]:
        return ("from", "to") if self.indexes else ()


# Kinds every family's scenes may hold: the header text and an optional footer line. Lowering
# adds them around each family's own components; a knob named `footer` switches the footer on.
COMMON_KINDS = (ComponentKind("title"), ComponentKind("subtitle"), ComponentKind("footer"))


@dataclass(frozen=True)
class Bundle:
    """Routing and topology: a family, a form, the style knobs and the family's counts."""

    family: str
    form: str
    style: tuple[tuple[str, str], ...]  # (knob, value) in STYLE order
    counts: tuple[tuple[str, int], ...]  # (knob, n) in the family's order

    def style_value(self, knob: str) -> str:
        return dict(self.style)[knob]

    def count(self, knob: str) -> int:
        return dict(self.counts)[knob]


@dataclass(frozen=True)
class Component:
    """One drawn thing: its kind, its content path (None for bare kinds) and its arguments."""

    kind: str
    path: str | None
    args: tuple[tuple[str, int], ...] = ()

    def arg(self, name: str) -> int:
        return dict(self.args)[name]


@dataclass(frozen=True)
class Scene:
    """A bundle's header plus its components in drawing order."""

    family: str
    form: str
    style: tuple[tuple[str, str], ...]
    components: tuple[Component, ...]

    def style_value(self, knob: str) -> str:
        return dict(self.style)[knob]

    def of_kind(self, kind: str) -> list[Component]:
        return [c for c in self.components if c.kind == kind]
