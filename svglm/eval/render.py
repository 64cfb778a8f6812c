"""Independent checks of compiled SVG: well-formed XML (hardened parser) and a real rasterizer."""

from __future__ import annotations

from lxml import etree

SVG_NS = "http://www.w3.org/2000/svg"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def is_valid_svg(svg: str) -> bool:
    try:
        root = etree.fromstring(svg.encode("utf-8"), _PARSER)
    except etree.XMLSyntaxError:
        return False
    return root.tag == f"{{{SVG_NS}}}svg"


def render_png(svg: str, width: int | None = None) -> bytes:
    """Rasterize with resvg (a Rust renderer independent of our compiler); raises ValueError."""
    import resvg_py

    return bytes(resvg_py.svg_to_bytes(svg_string=svg, width=width))


def is_renderable(svg: str) -> bool:
    try:
        return len(render_png(svg, width=240)) > 0
    except ValueError:
        return False
