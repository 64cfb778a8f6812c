"""Deterministic lowering: a bundle becomes a scene's components and bindings.

Every scene opens with the title and subtitle and, when the family has a `footer` knob set,
closes with the footer; the family module lowers everything in between. A bundle lowered for a
topic binds that topic's content: its counts must be the topic's own, and the structure (which
segments a bracket spans, where a link returns) is read from the topic's pack.
"""

from __future__ import annotations

from svglm.dsl.content import ContentPack
from svglm.dsl.families import FAMILIES
from svglm.dsl.schema import Bundle, Component, Scene


def lower(bundle: Bundle, pack: ContentPack | None = None) -> Scene:
    """The scene of a bundle; the structure its content decides (which segments a bracket
    spans) comes from `pack` (a user's own, of the bundle's counts), else from its topic's."""
    family = FAMILIES[bundle.family]
    knobs = dict(bundle.knobs)
    topic = bundle.topic
    if pack is None and topic:
        pack = family.topic(topic).pack  # its counts are the bundle's (parsed)
    comps = [Component("title", "title"), Component("subtitle", "subtitle")]
    comps += family.lower(bundle.form, knobs, pack)
    if knobs.get("footer"):
        comps.append(Component("footer", "footer"))
    settings = tuple((k.name, str(knobs[k.name])) for k in family.settings)
    return Scene(bundle.family, bundle.form, bundle.style, tuple(comps), topic, settings)
