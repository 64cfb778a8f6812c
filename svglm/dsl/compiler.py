"""The scene compiler: scene + content pack -> SVG text.

The compiler owns everything a model should not type: geometry, text wrapping, colour,
gradients, markers, defs and XML escaping. The shared parts (background, title block, footer)
are drawn by the canvas; the scene's form draws the family's components in between.
"""

from __future__ import annotations

from dataclasses import replace

from svglm.dsl.bundle import parse_bundle
from svglm.dsl.canvas import Canvas
from svglm.dsl.content import ContentPack
from svglm.dsl.families import FAMILIES
from svglm.dsl.lower import lower
from svglm.dsl.scene import parse_scene
from svglm.dsl.schema import Scene
from svglm.errors import DSLError


def compile_text(text: str, pack: ContentPack | None = None, source: str = "content") -> str:
    """SVG for a hand-written bundle or scene (`svglm compile`), filled from `pack` or else
    from its topic's content or its family's built-in pack. A user's pack is checked against
    the family's schema, and a bundle's counts must be the pack's own."""
    text = " ".join(text.split())
    if text.startswith("[bundle]"):
        bundle = parse_bundle(text)
        family = FAMILIES[bundle.family]
        if pack is not None:
            pack = family.check_pack(pack, source)
            for knob, n in family.shape(pack).items():
                if bundle.knob(knob) != n:
                    raise DSLError(f"[{knob}:{bundle.knob(knob)}] but {source} has {n}")
        scene = lower(bundle, pack)
    elif text.startswith("[scene]"):
        scene = parse_scene(text)
        family = FAMILIES[scene.family]
        if pack is not None:
            pack = family.check_pack(pack, source)
    else:
        raise DSLError("expected a [bundle] ... [/bundle] or a [scene] ... [/scene] block")
    if pack is None:
        pack = family.topic(scene.topic).pack if scene.topic else family.content
    return compile_scene(scene, pack)


def compile_with_pack(text: str, pack: ContentPack, source: str = "content") -> str:
    """SVG for a model-written block drawn with a user's own content. A bundle takes its counts
    from the pack (the model chose the family, form and style; the content decides how many
    segments there are) and keeps its other knobs; a scene binds paths, so it must already
    have the pack's shape."""
    text = " ".join(text.split())
    if not text.startswith("[bundle]"):
        return compile_text(text, pack, source)
    bundle = parse_bundle(text)
    family = FAMILIES[bundle.family]
    pack = family.check_pack(pack, f"{source} (as a {family.name} pack)")
    knobs = dict(bundle.knobs) | family.shape(pack)
    if why := family.limit(knobs):
        raise DSLError(f"{source}: {why}")
    fitted = replace(bundle, knobs=tuple(knobs.items()), topic=None)
    return compile_scene(lower(fitted, pack), pack)


def compile_scene(scene: Scene, content: ContentPack) -> str:
    cv = Canvas(scene, content)
    cv.background()
    cv.header()
    FAMILIES[scene.family].form(scene.form).layout(cv)
    cv.footer()
    return cv.svg()
