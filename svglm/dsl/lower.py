"""Deterministic lowering: a bundle's counts become a scene's components and bindings."""

from __future__ import annotations

from svglm.dsl.bundle import Bundle
from svglm.dsl.scene import Component, Scene


def _spans(n: int, groups: int) -> list[tuple[int, int]]:
    """Split n items into `groups` contiguous, near-equal spans (first, last)."""
    return [(g * n // groups, (g + 1) * n // groups - 1) for g in range(groups)]


def _memory_map(b: Bundle) -> list[Component]:
    n = b.count("segments")
    comps = [Component("segment", f"segments.{i}") for i in range(n)]
    for j, (lo, hi) in enumerate(_spans(n, b.count("brackets"))):
        comps.append(Component("bracket", f"brackets.{j}", (("from", lo), ("to", hi))))
    comps += [Component("card", f"cards.{j}") for j in range(b.count("cards"))]
    return comps


def _timeline(b: Bundle) -> list[Component]:
    n = b.count("stages")
    comps = [Component("stage", f"stages.{i}") for i in range(n)]
    if b.count("arrows"):
        comps += [Component("arrow", None, (("from", i), ("to", i + 1))) for i in range(n - 1)]
    return comps


def _system_diagram(b: Bundle) -> list[Component]:
    n = b.count("stages")
    comps = [Component("stage", f"stages.{i}") for i in range(n)]
    if b.form == "selection_path":
        # One source fans out to candidates; the last candidate is the one selected.
        edges = [(0, i) for i in range(1, n)]
    else:
        edges = [(i, i + 1) for i in range(n - 1)]
    comps += [Component("arrow", None, (("from", s), ("to", t))) for s, t in edges]
    # Links are feedback edges: link k returns from the last stage to stage k.
    for k in range(b.count("links")):
        comps.append(Component("link", f"links.{k}", (("from", n - 1), ("to", k))))
    if b.count("terminal"):
        comps.append(Component("terminal", "terminal"))
    return comps


LOWERINGS = {"memory_map": _memory_map, "timeline": _timeline, "system_diagram": _system_diagram}


def lower(bundle: Bundle) -> Scene:
    comps = [Component("title", "title"), Component("subtitle", "subtitle")]
    comps += LOWERINGS[bundle.family](bundle)
    if dict(bundle.counts).get("footer"):
        comps.append(Component("footer", "footer"))
    return Scene(bundle.family, bundle.form, bundle.style, tuple(comps))
