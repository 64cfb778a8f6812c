"""The closed sets of the scene language: families, their forms and topology knobs, style knobs.

Everything a model must choose from a closed set lives here, so the tokenizer can reserve one
token per atom and the parsers can name what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    name: str
    forms: tuple[str, ...]
    # Topology knobs in canonical order, each with its inclusive (low, high) range.
    counts: tuple[tuple[str, int, int], ...]

    def count_range(self, knob: str) -> tuple[int, int]:
        for name, low, high in self.counts:
            if name == knob:
                return low, high
        raise KeyError(knob)


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family(
            "memory_map",
            ("typed_regions", "arena_sections", "layer_stack"),
            (("segments", 3, 8), ("brackets", 0, 3), ("cards", 0, 3)),
        ),
        Family(
            "timeline",
            ("milestone_chain", "stage_sequence"),
            (("stages", 3, 7), ("arrows", 0, 1), ("footer", 0, 1)),
        ),
        Family(
            "system_diagram",
            ("linear_pipeline", "build_path", "selection_path"),
            (("stages", 3, 6), ("links", 0, 2), ("terminal", 0, 1), ("footer", 0, 1)),
        ),
    )
}

# Shared style knobs in canonical order; the first value of each is its default.
STYLE: dict[str, tuple[str, ...]] = {
    "theme": ("infra_dark", "paper_editorial", "signal_glow"),
    "tone": ("amber", "green", "blue", "purple", "mixed"),
    "density": ("compact", "balanced", "airy"),
    "background": ("none", "grid", "mesh", "rings"),
}

# Scene components: the kinds a scene may contain and the argument atoms each one requires.
COMPONENT_ARGS: dict[str, tuple[str, ...]] = {
    "title": (),
    "subtitle": (),
    "segment": (),
    "bracket": ("from", "to"),
    "card": (),
    "stage": (),
    "arrow": ("from", "to"),
    "link": ("from", "to"),
    "terminal": (),
    "footer": (),
}
MAX_INDEX = max(high for f in FAMILIES.values() for _, _, high in f.counts)


def closed_atoms() -> list[str]:
    """Every atom whose value comes from a closed set: each becomes one reserved token."""
    atoms = ["[OUT]", "[task:scene]", "[bundle]", "[/bundle]", "[scene]", "[/scene]"]
    atoms += [f"[family:{f}]" for f in FAMILIES]
    atoms += sorted({f"[form:{form}]" for f in FAMILIES.values() for form in f.forms})
    for knob, values in STYLE.items():
        atoms += [f"[{knob}:{v}]" for v in values]
    counts = {
        (name, n) for f in FAMILIES.values() for name, lo, hi in f.counts for n in range(lo, hi + 1)
    }
    atoms += [f"[{name}:{n}]" for name, n in sorted(counts)]
    atoms += [f"[{arg}:{i}]" for arg in ("from", "to") for i in range(MAX_INDEX + 1)]
    return atoms
