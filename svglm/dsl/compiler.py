"""The scene compiler: scene + content pack -> SVG text.

The compiler owns everything a model should not type: geometry, text wrapping, colour,
gradients, markers, defs and XML escaping. The shared parts (background, title block, footer)
are drawn by the canvas; the scene's form draws the family's components in between.
"""

from __future__ import annotations

from svglm.dsl.canvas import Canvas
from svglm.dsl.content import ContentPack
from svglm.dsl.families import FAMILIES
from svglm.dsl.schema import Scene


def compile_scene(scene: Scene, content: ContentPack) -> str:
    cv = Canvas(scene, content)
    cv.background()
    cv.header()
    FAMILIES[scene.family].form(scene.form).layout(cv)
    cv.footer()
    return cv.svg()
