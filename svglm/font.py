"""`svglm font`: an installable OpenType font made of one style's generated glyphs.

The run draws every character of its corpus for one style, weight and slant (under the task's
grammar when llguidance is there, so every outline parses), and fontTools assembles a CFF
OpenType font: the grid is mapped back to 1000 units per em through the importer's frame,
each glyph gets side bearings around its bounds and an advance width from them, and the font
gets ascender and descender from the drawn glyphs, a Unicode cmap, names, OS/2 and post.
"""

from __future__ import annotations

import io
from pathlib import Path

from fontTools.agl import UV2AGL
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.t2CharStringPen import T2CharStringPen

from svglm.data.fonts import BASELINE, EM_SHARE
from svglm.dsl.glyph import SLANTS, STYLES, WEIGHTS, Segment, char_value
from svglm.errors import ConfigError, DSLError
from svglm.files import atomic_write_bytes
from svglm.infer.generate import Drawer
from svglm.infer.sampler import Sampling
from svglm.runs import RunDir
from svglm.tasks.glyph import GlyphTask

UPM, SIDE_BEARING, SPACE = 1000, 60, 280


def _glyph_name(ch: str) -> str:
    return UV2AGL.get(ord(ch), f"uni{ord(ch):04X}")


def build_font(glyphs: dict[str, list[Segment]], grid: int, family: str, style: str) -> bytes:
    """An OpenType (CFF) font of `glyphs` (character -> grid segments) as bytes."""
    scale = UPM / (EM_SHARE * (grid - 1))

    def to_font(x: int, y: int) -> tuple[float, float]:
        return x * scale, (BASELINE * (grid - 1) - y) * scale

    charstrings, metrics = {}, {}
    top, bottom = 0.0, 0.0
    for ch, segments in glyphs.items():
        points = [to_font(*xy[i : i + 2]) for _, xy in segments for i in range(0, len(xy), 2)]
        left = min(p[0] for p in points)
        top = max(top, max(p[1] for p in points))
        bottom = min(bottom, min(p[1] for p in points))
        advance = round(max(p[0] for p in points) - left + 2 * SIDE_BEARING)
        pen = T2CharStringPen(advance, None)
        for command, xy in segments:
            pts = [to_font(*xy[i : i + 2]) for i in range(0, len(xy), 2)]
            pts = [(x - left + SIDE_BEARING, y) for x, y in pts]
            if command == "M":
                pen.moveTo(pts[0])
            elif command == "L":
                pen.lineTo(pts[0])
            elif command == "Q":
                pen.qCurveTo(*pts)
            elif command == "C":
                pen.curveTo(*pts)
            else:
                pen.closePath()
        name = _glyph_name(ch)
        charstrings[name] = pen.getCharString()
        metrics[name] = (advance, SIDE_BEARING)
    for name, advance in ((".notdef", 500), ("space", SPACE)):
        charstrings[name] = T2CharStringPen(advance, None).getCharString()
        metrics[name] = (advance, 0)

    ascent, descent = round(top), round(bottom)
    order = [".notdef", "space", *(_glyph_name(ch) for ch in glyphs)]
    ps_name = f"{family}-{style}".replace(" ", "")
    fb = FontBuilder(UPM, isTTF=False)
    fb.setupGlyphOrder(order)
    fb.setupCharacterMap({32: "space", **{ord(ch): _glyph_name(ch) for ch in glyphs}})
    fb.setupCFF(ps_name, {"FullName": f"{family} {style}"}, charstrings, {})
    fb.setupHorizontalMetrics(metrics)
    fb.setupHorizontalHeader(ascent=ascent, descent=descent)
    fb.setupNameTable({"familyName": family, "styleName": style})
    fb.setupOS2(
        sTypoAscender=ascent,
        sTypoDescender=descent,
        usWinAscent=ascent,
        usWinDescent=-descent,
    )
    fb.setupPost()
    out = io.BytesIO()
    fb.save(out)
    return out.getvalue()


def font_from_run(
    run: RunDir,
    out: Path,
    style: str,
    weight: str = "regular",
    slant: str = "upright",
    family: str | None = None,
    constrained: bool = True,
) -> dict[str, object]:
    """Draw every character of the run's corpus in one style and write them as a font."""
    cfg = run.config()
    if cfg.task.name != "glyph":
        raise ConfigError(f"{run.name} is a {cfg.task.name} run; a font needs a glyph run")
    if style not in STYLES or weight not in WEIGHTS or slant not in SLANTS:
        raise ConfigError(
            f"--style is one of {', '.join(STYLES)}, --weight one of {', '.join(WEIGHTS)}, "
            f"--slant one of {', '.join(SLANTS)}"
        )
    drawer = Drawer(run, constrained)
    task = drawer.task
    assert isinstance(task, GlyphTask)
    chars = list(task.charset)
    prompts = [task.prompt_for(style, weight, slant, char_value(ch)) for ch in chars]
    drawings = drawer.draw(prompts, Sampling(max_tokens=cfg.probe.max_tokens))
    glyphs = {ch: task.segments(d.dsl) for ch, d in zip(chars, drawings, strict=True) if d.dsl}
    if not glyphs:
        raise DSLError("the run drew no valid glyph for this style")
    family = family or f"svglm {run.name} {style.replace('_', ' ')}"
    atomic_write_bytes(out, build_font(glyphs, task.grid, family, f"{weight} {slant}".title()))
    missing = [char_value(ch) for ch in chars if ch not in glyphs]
    return {"glyphs": len(glyphs), "missing": missing, "path": str(out)}
