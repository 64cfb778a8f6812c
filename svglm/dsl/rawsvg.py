"""Canonical raw SVG: any SVG document reduced to one small, printable subset.

    <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" stroke="#000"
    stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><path d="M12 19L5 12L12 5"/>
    <path d="M19 12H5"/></svg>                                  (one line in a row)

Parsing is hardened (lxml with no entities, no DTD, no network, a depth limit) and refuses
what cannot be drawn the same way in the subset (text, raster images, gradients and patterns,
entity declarations). Comments, metadata, scripts, event handlers, editor namespaces and
external references are dropped. svgelements then applies every transform, resolves `<use>`
and turns every shape into a path; each path keeps only its paint (fill, stroke, stroke width,
caps, joins, fill rule, opacity), written on the root when most paths share it. Numbers are
rounded onto a grid (`grid`, in viewBox units) and printed in their shortest form, so equal
drawings print equally and the text is ASCII.
"""

from __future__ import annotations

import io
import math
from collections import Counter

from lxml import etree

from svglm.errors import DSLError
from svglm.render import HARDENED

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
OPENER, CLOSER = "<svg", "</svg>"
DEFAULT_GRID = 0.01
MAX_DEPTH = 64
# Paint a path may carry, in print order, with the value SVG gives it when unset.
PAINT_DEFAULTS = {
    "fill": "#000",
    "stroke": "none",
    "stroke-width": "1",
    "stroke-linecap": "butt",
    "stroke-linejoin": "miter",
    "fill-rule": "nonzero",
    "opacity": "1",
}
DROPPED = {"script", "metadata", "title", "desc", "foreignObject"}
REFUSED = {"text": "has text", "image": "has a raster image", "tspan": "has text"}
PAINT_SERVERS = {
    "linearGradient",
    "radialGradient",
    "pattern",
    "mask",
    "filter",
    "clipPath",
    "marker",
}
_PARSER = etree.XMLParser(**HARDENED, remove_comments=True, remove_pis=True)


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def sanitize(text: str | bytes) -> str:
    """The document with everything that is not drawing removed, as SVG text; raises DSLError
    (one line) for a document that is not SVG or asks for what the subset cannot draw."""
    data = text.encode() if isinstance(text, str) else text
    try:
        tree = etree.parse(io.BytesIO(data), _PARSER)
    except etree.XMLSyntaxError as e:
        raise DSLError(f"not well-formed XML ({str(e).splitlines()[0][:80]})") from None
    if tree.docinfo.internalDTD is not None:
        raise DSLError("declares a DTD or entities (refused: never resolved)")
    root = tree.getroot()
    if root.tag != f"{{{SVG_NS}}}svg":
        raise DSLError(f"not an SVG document (root <{_local(root.tag) or root.tag}>)")
    for el in list(root.iter()):
        if not isinstance(el.tag, str):
            continue
        if len(list(el.iterancestors())) >= MAX_DEPTH:
            raise DSLError(f"nested deeper than {MAX_DEPTH} levels")
        local, ns = _local(el.tag), etree.QName(el.tag).namespace
        if local in REFUSED and ns == SVG_NS:
            raise DSLError(f"{REFUSED[local]} (not in the canonical subset)")
        if local in PAINT_SERVERS and ns == SVG_NS:
            raise DSLError(f"uses <{local}> (not in the canonical subset)")
    for el in list(root.iter()):
        if not isinstance(el.tag, str):
            continue
        if etree.QName(el.tag).namespace != SVG_NS or _local(el.tag) in DROPPED:
            if el.getparent() is not None:
                el.getparent().remove(el)
            continue
        for name in list(el.attrib):
            q, value = etree.QName(name), el.attrib[name]
            foreign = q.namespace not in (None, XLINK_NS)  # inkscape:, sodipodi:, ...
            external = q.localname == "href" and not value.startswith("#")
            # paint servers, clips and markers are refused above or not drawn: a url() points
            # at nothing the subset keeps
            if foreign or q.localname.lower().startswith("on") or external or "url(" in value:
                del el.attrib[name]
    return etree.tostring(root, encoding="unicode")


def _number(v: float, grid: float) -> str:
    """`v` on the grid, printed shortest: 12, 12.5, 0.25, never -0."""
    q = round(v / grid) * grid
    decimals = max(0, -math.floor(math.log10(grid))) if grid < 1 else 0
    text = f"{q:.{decimals}f}".rstrip("0").rstrip(".") if decimals else str(int(round(q)))
    return "0" if text in ("-0", "") else text


def _path_d(path, grid: float) -> str:
    """Absolute commands M L H V Q C A Z, each coordinate on the grid: `M12 19L5 12H3Z`."""
    from svgelements import Arc, Close, CubicBezier, Line, Move, QuadraticBezier

    def pt(p) -> list[str]:
        return [_number(p.x, grid), _number(p.y, grid)]

    items: list[tuple[str, list[str]]] = []
    at: list[str] = []
    for seg in path:
        if isinstance(seg, Close):
            items.append(("Z", []))
            at = pt(seg.end) if seg.end is not None else at
            continue
        end = pt(seg.end)
        if isinstance(seg, Move):
            items.append(("M", end))
        elif isinstance(seg, Line):  # one of length 0 stays: with round caps it is a dot
            if end[1] == at[1]:
                items.append(("H", end[:1]))
            elif end[0] == at[0]:
                items.append(("V", end[1:]))
            else:
                items.append(("L", end))
        elif isinstance(seg, QuadraticBezier):
            items.append(("Q", [*pt(seg.control), *end]))
        elif isinstance(seg, CubicBezier):
            items.append(("C", [*pt(seg.control1), *pt(seg.control2), *end]))
        elif isinstance(seg, Arc):
            # An arc near half an ellipse leaves the large-arc flag a tie that a rounded radius
            # can flip; past 3/4 of one it is written as pieces of at most a quarter, each far
            # from the tie (and from being split again when printed a second time).
            n = 1 if abs(seg.sweep) <= 0.75 * math.pi else math.ceil(abs(seg.sweep) / (math.pi / 2))
            head = [_number(seg.rx, grid), _number(seg.ry, grid)]
            head += [_number(math.degrees(seg.get_rotation()), 0.01)]
            flags = [str(int(abs(seg.sweep) > math.pi)), str(int(seg.sweep > 0))]
            for k in range(1, n + 1):
                items.append(
                    ("A", [*head, *(flags if n == 1 else ["0", flags[1]]), *pt(seg.point(k / n))])
                )
        at = end
    return "".join(command + " ".join(numbers) for command, numbers in items)


def _color(color) -> str:
    if color is None or color.value is None:
        return "none"
    hexa = color.hex  # "#rrggbb" or "#rrggbbaa"
    short = hexa[1:7]
    if short[0::2] == short[1::2]:
        short = short[0::2]
    return f"#{short}"


def _paint(shape, grid: float) -> dict[str, str]:
    values = shape.values
    paint = {"fill": _color(shape.fill), "stroke": _color(shape.stroke)}
    if paint["stroke"] != "none":
        paint["stroke-width"] = _number(shape.stroke_width or 0, grid)
        paint["stroke-linecap"] = str(values.get("stroke-linecap", "butt"))
        paint["stroke-linejoin"] = str(values.get("stroke-linejoin", "miter"))
    if paint["fill"] != "none":
        paint["fill-rule"] = str(values.get("fill-rule", "nonzero"))
    alpha = min(
        (c.alpha for c in (shape.fill, shape.stroke) if c is not None and c.value is not None),
        default=255,
    )
    opacity = float(values.get("opacity", 1) or 1) * alpha / 255
    paint["opacity"] = _number(opacity, 0.01)
    return paint


def canonical_svg(text: str | bytes, grid: float = DEFAULT_GRID) -> str:
    """The canonical one-line form of an SVG document; raises DSLError with a one-line reason
    when it cannot be canonicalized.

    One pass rounds numbers, and a rounded arc radius can move an arc across the split rule;
    so the canonical form is the pass's fixed point (printing it again changes nothing), which
    every real file reaches in two or three passes."""
    once = _normalized(text, grid)
    for _ in range(4):
        again = _normalized(once, grid)
        if again == once:
            return once
        once = again
    raise DSLError("has no stable canonical form (arcs on a rounding edge)")


def _normalized(text: str | bytes, grid: float) -> str:
    """One normalizing pass: sanitize, flatten to paths, round, hoist shared paint."""
    from svgelements import SVG, Path, Shape

    clean = sanitize(text)
    try:
        svg = SVG.parse(io.StringIO(clean), reify=True, color="black")
    except Exception as e:  # svgelements raises anything on odd input
        raise DSLError(f"cannot read its geometry ({e.__class__.__name__})") from None
    width, height = float(svg.width or 0), float(svg.height or 0)
    if not (width > 0 and height > 0 and math.isfinite(width + height)):
        raise DSLError("no usable size (width/height or viewBox)")
    paths = []
    for el in svg.elements():
        if isinstance(el, Shape) and el.values.get("visibility") != "hidden":
            d = _path_d(Path(el).reify(), grid)  # with its transform applied
            if any(c in d for c in "LHVQCA"):  # a lone move draws nothing
                paths.append((d, _paint(el, grid)))
    if not paths:
        raise DSLError("draws nothing")
    root = {}
    for key, default in PAINT_DEFAULTS.items():
        common, _ = Counter(p.get(key, default) for _, p in paths).most_common(1)[0]
        if common != default:
            root[key] = common
    inherited = PAINT_DEFAULTS | root
    head = f'<svg xmlns="{SVG_NS}" viewBox="0 0 {_number(width, grid)} {_number(height, grid)}"'
    parts = [head + "".join(f' {k}="{v}"' for k, v in root.items()) + ">"]
    for d, paint in paths:
        extra = "".join(
            f' {k}="{v}"' for k, v in paint.items() if v != inherited.get(k, PAINT_DEFAULTS[k])
        )
        parts.append(f'<path d="{d}"{extra}/>')
    return "".join(parts) + CLOSER
