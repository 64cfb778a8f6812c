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
    """A topology or presentation knob of a family.

    A count knob is `[name:N]` with low <= N <= high; an enumerated knob is `[name:value]`
    with a value from `values`. `content` names the content-pack list a count knob counts
    (`segments` counts the pack's segments): for a topic, the count is its pack's, not a
    choice; knobs without it are presentation the prompt or the model chooses.
    """

    name: str
    low: int = 0
    high: int = 0
    values: tuple[str, ...] = ()
    content: str | None = None
    # What a sentence says to ask for a value: ((value, (phrase, ...)), ...). A value with no
    # phrase is only reached by leaving the knob unsaid (its default, the first choice).
    phrases: tuple[tuple[int | str, tuple[str, ...]], ...] = ()

    @property
    def enumerated(self) -> bool:
        return bool(self.values)

    def choices(self) -> list[int | str]:
        return list(self.values) if self.values else list(range(self.low, self.high + 1))

    def parse(self, raw: str) -> int | str | None:
        """The knob's value from an atom's text, or None if it is not one of its choices."""
        if self.values:
            return raw if raw in self.values else None
        if raw.isdigit() and self.low <= int(raw) <= self.high:
            return int(raw)
        return None

    def describe(self) -> str:
        return "|".join(self.values) if self.values else f"{self.low}..{self.high}"

    @property
    def default(self) -> int | str:
        return self.choices()[0]

    def phrases_for(self, value: int | str) -> tuple[str, ...]:
        return dict(self.phrases).get(value, ())


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


Setting = tuple[str, int | str]  # (knob, value): a count or an enumerated value


@dataclass(frozen=True)
class Bundle:
    """Routing and topology: a family, a form, optionally the topic whose content it binds
    (its counts are then the topic's own), the style knobs and the family's knobs."""

    family: str
    form: str
    style: tuple[tuple[str, str], ...]  # (knob, value) in STYLE order
    knobs: tuple[Setting, ...]  # (knob, value) in the family's order
    topic: str | None = None

    def style_value(self, knob: str) -> str:
        return dict(self.style)[knob]

    def knob(self, name: str) -> int | str:
        return dict(self.knobs)[name]


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
    """A header (family, form, the topic whose content it binds, style, and the family's
    enumerated knobs, which draw no component of their own) plus components in drawing order."""

    family: str
    form: str
    style: tuple[tuple[str, str], ...]
    components: tuple[Component, ...]
    topic: str | None = None  # None: the family's built-in pack, or one the user brings
    settings: tuple[tuple[str, str], ...] = ()  # the enumerated knobs, in the family's order

    def style_value(self, knob: str) -> str:
        return dict(self.style)[knob]

    def of_kind(self, kind: str) -> list[Component]:
        return [c for c in self.components if c.kind == kind]
