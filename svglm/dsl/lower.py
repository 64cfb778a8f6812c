"""Deterministic lowering: a bundle's counts become a scene's components and bindings.

Every scene opens with the title and subtitle and, when the family has a `footer` knob set,
closes with the footer; the family module lowers everything in between.
"""

from __future__ import annotations

from svglm.dsl.families import FAMILIES
from svglm.dsl.schema import Bundle, Component, Scene


def lower(bundle: Bundle) -> Scene:
    counts = dict(bundle.counts)
    comps = [Component("title", "title"), Component("subtitle", "subtitle")]
    comps += FAMILIES[bundle.family].lower(bundle.form, counts)
    if counts.get("footer"):
        comps.append(Component("footer", "footer"))
    return Scene(bundle.family, bundle.form, bundle.style, tuple(comps))
