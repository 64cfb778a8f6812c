"""Every family/form, at minimum, maximum and random counts, compiles to SVG that an independent
renderer draws, whose arrows touch the nodes they name, whose nodes do not overlap, and whose
text fits inside its box by real font metrics (DejaVu Sans, shipped inside matplotlib, measured
here with fontTools independently of the compiler's own measuring code)."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import matplotlib
import pytest
from fontTools.ttLib import TTFont
from lxml import etree
from scenes import every_form

from svglm.dsl.compiler import compile_scene
from svglm.dsl.families import FAMILIES
from svglm.dsl.lower import lower
from svglm.dsl.schema import STYLE
from svglm.eval.render import is_valid_svg, render_png

NS = {"s": "http://www.w3.org/2000/svg"}
FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
CASES = every_form()
IDS = [n for n, _ in CASES]


def _font(name: str):
    font = TTFont(FONTS / name)
    return font.getBestCmap(), font["hmtx"], font["head"].unitsPerEm


REGULAR, BOLD = _font("DejaVuSans.ttf"), _font("DejaVuSans-Bold.ttf")


def text_width(text: str, size: float, bold: bool) -> float:
    cmap, hmtx, upem = BOLD if bold else REGULAR
    return sum(hmtx[cmap[ord(ch)]][0] for ch in text) * size / upem


def svg_of(bundle) -> str:
    return compile_scene(lower(bundle), FAMILIES[bundle.family].content)


def compiled(bundle) -> etree._Element:
    return etree.fromstring(svg_of(bundle).encode())


def node_boxes(root) -> dict[int, tuple[float, float, float, float]]:
    boxes = {}
    for g in root.iterfind(".//s:g[@data-node]", NS):
        r = g.find("s:rect", NS)
        boxes[int(g.get("data-node"))] = tuple(
            float(r.get(k)) for k in ("x", "y", "width", "height")
        )
    return boxes


def on_border(px: float, py: float, box, tol: float = 0.6) -> bool:
    x, y, w, h = box
    inside = x - tol <= px <= x + w + tol and y - tol <= py <= y + h + tol
    edge = min(abs(px - x), abs(px - x - w), abs(py - y), abs(py - y - h)) <= tol
    return inside and edge


@pytest.mark.parametrize("name, bundle", CASES, ids=IDS)
def test_every_form_renders_with_resvg(name, bundle):
    svg = svg_of(bundle)
    assert is_valid_svg(svg)
    png = render_png(svg)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000  # a real, non-blank picture


@pytest.mark.parametrize("name, bundle", CASES, ids=IDS)
def test_arrows_connect_the_nodes_they_name(name, bundle):
    root = compiled(bundle)
    boxes = node_boxes(root)
    arrows = root.findall(".//s:path[@data-from]", NS)
    scene = lower(bundle)
    assert len(arrows) == len(scene.of_kind("arrow")) + len(scene.of_kind("link")) + len(
        scene.of_kind("terminal")
    ), "every arrow, link and terminal connector of the scene is drawn"
    for path in arrows:
        pts = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", path.get("d"))]
        start, end = (pts[0], pts[1]), (pts[-2], pts[-1])
        a, b = int(path.get("data-from")), int(path.get("data-to"))
        if bundle.form == "milestone_chain":  # dots: the arrow ends on the circle's box edge
            continue
        assert on_border(*start, boxes[a]), f"arrow {a}->{b} does not start on node {a}"
        assert on_border(*end, boxes[b]), f"arrow {a}->{b} does not end on node {b}"


@pytest.mark.parametrize("name, bundle", CASES, ids=IDS)
def test_nodes_do_not_overlap(name, bundle):
    boxes = list(node_boxes(compiled(bundle)).values())
    for (x1, y1, w1, h1), (x2, y2, w2, h2) in itertools.combinations(boxes, 2):
        assert x1 + w1 <= x2 or x2 + w2 <= x1 or y1 + h1 <= y2 or y2 + h2 <= y1


@pytest.mark.parametrize("density", STYLE["density"])
@pytest.mark.parametrize("name, bundle", CASES, ids=IDS)
def test_text_fits_inside_its_node(name, bundle, density):
    from dataclasses import replace

    bundle = replace(
        bundle, style=tuple((k, density if k == "density" else v) for k, v in bundle.style)
    )
    root = compiled(bundle)
    for g in root.iterfind(".//s:g[@data-node]", NS):
        r = g.find("s:rect", NS)
        x, w = float(r.get("x")), float(r.get("width"))
        y, h = float(r.get("y")), float(r.get("height"))
        for text in g.iterfind("s:text", NS):
            size = float(text.get("font-size"))
            bold = text.get("font-weight") in ("600", "700")
            anchor = text.get("text-anchor")
            top = float(text.get("y")) - size * 0.8
            baseline = float(text.get("y"))
            for span in text.iterfind("s:tspan", NS):
                baseline += float(span.get("dy"))
                width = text_width(span.text, size, bold)
                sx = float(span.get("x")) - (width / 2 if anchor == "middle" else 0)
                assert x <= sx and sx + width <= x + w + 0.5, f"{span.text!r} overflows its node"
            assert y <= top and baseline <= y + h, f"text in node {g.get('data-node')} overflows"
