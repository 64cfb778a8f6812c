"""Rendering shared by every step: well-formed XML (hardened parser), a real rasterizer (resvg),
and the ink of a render. The data step proves canonical SVG unchanged with it, the probe scores
with it."""

from __future__ import annotations

import io

import numpy as np
from lxml import etree

SVG_NS = "http://www.w3.org/2000/svg"
# The parser settings every SVG svglm reads goes through: no entities, no DTD, no network.
HARDENED = {"resolve_entities": False, "no_network": True, "load_dtd": False, "huge_tree": False}
_PARSER = etree.XMLParser(**HARDENED)


def parse_svg(svg: str) -> etree._Element:
    """`svg`'s root, read with the hardened parser; ValueError when it is not well-formed XML."""
    try:
        return etree.fromstring(svg.encode("utf-8"), _PARSER)
    except etree.XMLSyntaxError as e:
        raise ValueError(f"not well-formed XML ({e})") from None


def is_valid_svg(svg: str) -> bool:
    try:
        return parse_svg(svg).tag == f"{{{SVG_NS}}}svg"
    except ValueError:
        return False


# What `--png` writes: the scene canvas' own width, to which icons and glyphs scale up.
PNG_WIDTH = 960
# A picture taller than this many widths is drawn smaller, inside width x (MAX_ASPECT * width):
# resvg allocates the whole raster, and an SVG's own size (a model's output, a user's file) must
# not be able to ask for terabytes and abort the process.
MAX_ASPECT = 8
# resvg recurses once per level of nesting and overflows its stack (a segfault, not an error)
# past about 230 levels; compiled pictures nest a handful, icon files rarely a dozen.
MAX_DEPTH = 64


def render_png(svg: str, width: int = PNG_WIDTH, fonts: bool = True) -> bytes:
    """Rasterize with resvg (a Rust renderer independent of our compiler), `width` pixels wide
    (see MAX_ASPECT); without fonts, text is left out. Raises ValueError for anything it
    cannot draw, never takes the process down."""
    import resvg_py

    if nesting(svg) > MAX_DEPTH:
        raise ValueError(f"elements nested deeper than {MAX_DEPTH}")
    try:
        png = resvg_py.svg_to_bytes(
            svg_string=svg, width=width, height=width * MAX_ASPECT, skip_system_fonts=not fonts
        )
    except BaseException as e:  # a panic in resvg (a 1e30-wide stroke) is pyo3's BaseException
        if type(e).__name__ != "PanicException":
            raise
        raise ValueError(f"resvg failed ({e})") from None
    return bytes(png)


def nesting(svg: str) -> int:
    """How deeply the elements of `svg` nest; ValueError when it is not well-formed XML."""
    depth = deepest = 0
    for event, _ in etree.iterwalk(parse_svg(svg), events=("start", "end")):
        depth += 1 if event == "start" else -1
        deepest = max(deepest, depth)
    return deepest


def is_renderable(svg: str) -> bool:
    """Whether resvg parses and rasterizes `svg` without error. Only the document and its
    geometry can fail (text without a font is left out, never an error), so the check draws
    small and loads no fonts: on a diagram of 18 texts under 1 ms against 10.6 ms at 240 px
    with fonts, and the probe asks it of every output."""
    try:
        return len(render_png(svg, width=32, fonts=False)) > 0
    except ValueError:
        return False


def render_gray(svg: str, size: int):
    """A `size`-wide render over white, in grey levels (a PIL image)."""
    from PIL import Image

    image = Image.open(io.BytesIO(render_png(svg, width=size))).convert("RGBA")
    white = Image.new("RGBA", image.size, "white")
    return Image.alpha_composite(white, image).convert("L")


def ink(svg: str, size: int) -> np.ndarray:
    """Which pixels of a `size`-wide render are ink: darker than mid-grey over white."""
    return np.asarray(render_gray(svg, size)) < 128


def ink_iou(svg: str, expected_svg: str, size: int = 128) -> float:
    """Intersection over union of the ink of two renders at one size (1.0 when neither has
    any); 0.0 when either cannot be rendered or their shapes differ."""
    try:
        a, b = ink(svg, size), ink(expected_svg, size)
    except (ValueError, OSError):
        return 0.0
    if a.shape != b.shape:
        return 0.0
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0
