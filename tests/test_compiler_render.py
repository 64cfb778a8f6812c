"""Every family/form, in every theme, at minimum, maximum and random counts, and every topic's
own content, compiles to SVG that an independent renderer draws, whose arrows touch the nodes
they name, whose nodes do not overlap, and whose text fits inside its box by real font metrics
(DejaVu Sans, shipped inside matplotlib, measured here with fontTools independently of the
compiler's own measuring code). Text outside any box stays on the page."""

from __future__ import annotations

import itertools
import re
from dataclasses import replace
from pathlib import Path

import matplotlib
import pytest
from fontTools.ttLib import TTFont
from lxml import etree
from scenes import every_form, topic_bundles

from svglm.dsl.canvas import H, W
from svglm.dsl.compiler import compile_scene
from svglm.dsl.families import FAMILIES
from svglm.dsl.lower import lower
from svglm.dsl.schema import STYLE
from svglm.render import is_valid_svg, render_png

NS = {"s": "http://www.w3.org/2000/svg"}
FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
CASES = every_form()
IDS = [n for n, _ in CASES]
TOPICS = topic_bundles()
# Components drawn as a path with data-from/data-to; a terminal adds one from the last stage.
CONNECTORS = ("arrow", "link", "branch", "terminal")


def _font(name: str):
    font = TTFont(FONTS / name)
    return font.getBestCmap(), font["hmtx"], font["head"].unitsPerEm


REGULAR, BOLD = _font("DejaVuSans.ttf"), _font("DejaVuSans-Bold.ttf")


def text_width(text: str, size: float, bold: bool) -> float:
    cmap, hmtx, upem = BOLD if bold else REGULAR
    return sum(hmtx[cmap[ord(ch)]][0] for ch in text) * size / upem


def pack_of(bundle) -> dict:
    family = FAMILIES[bundle.family]
    return family.topic(bundle.topic).pack if bundle.topic else family.content


def svg_of(bundle, pack: dict | None = None) -> str:
    return compile_scene(lower(bundle), pack or pack_of(bundle))


def compiled(bundle, pack: dict | None = None) -> etree._Element:
    return etree.fromstring(svg_of(bundle, pack).encode())


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
    assert len(arrows) == sum(len(scene.of_kind(k)) for k in CONNECTORS), (
        "every arrow, link, branch and terminal connector of the scene is drawn"
    )
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


def assert_text_fits(root) -> None:
    """Text inside a node stays inside the node's box; every other text stays on the page."""
    inside = set()
    for g in root.iterfind(".//s:g[@data-node]", NS):
        r = g.find("s:rect", NS)
        box = tuple(float(r.get(k)) for k in ("x", "y", "width", "height"))
        for text in g.iterfind("s:text", NS):
            inside.add(text)
            _assert_within(text, box, f"node {g.get('data-node')}")
    for text in root.iterfind(".//s:text", NS):
        if text not in inside:
            _assert_within(text, (0.0, 0.0, float(W), float(H)), "the page")


def _assert_within(text, box, where: str) -> None:
    x, y, w, h = box
    size = float(text.get("font-size"))
    bold = text.get("font-weight") in ("600", "700")
    anchor = text.get("text-anchor")
    top = float(text.get("y")) - size * 0.8
    baseline = float(text.get("y"))
    for span in text.iterfind("s:tspan", NS):
        baseline += float(span.get("dy"))
        width = text_width(span.text, size, bold)
        sx = float(span.get("x")) - {"middle": width / 2, "end": width}.get(anchor, 0)
        assert x - 0.5 <= sx and sx + width <= x + w + 0.5, f"{span.text!r} overflows {where}"
    assert y <= top and baseline <= y + h, (
        f"text {text.findtext('s:tspan', namespaces=NS)!r} overflows {where}"
    )


@pytest.mark.parametrize("density", STYLE["density"])
@pytest.mark.parametrize("name, bundle", CASES, ids=IDS)
def test_text_fits_inside_its_node(name, bundle, density):
    assert_text_fits(compiled(_with_density(bundle, density)))


def _with_density(bundle, density):
    return replace(
        bundle, style=tuple((k, density if k == "density" else v) for k, v in bundle.style)
    )


@pytest.mark.parametrize("density", STYLE["density"])
@pytest.mark.parametrize("name, bundle", TOPICS, ids=[n for n, _ in TOPICS])
def test_every_topic_renders_and_its_text_fits(name, bundle, density):
    svg = svg_of(_with_density(bundle, density))
    assert is_valid_svg(svg) and len(render_png(svg, width=240)) > 1000
    assert_text_fits(etree.fromstring(svg.encode()))


def _longest_strings(value, path: str, longest: dict[str, str]) -> None:
    """The longest string each field holds across packs (list indexes merged: `stages[].label`)."""
    if isinstance(value, dict):
        for key, v in value.items():
            _longest_strings(v, f"{path}.{key}", longest)
    elif isinstance(value, list):
        for v in value:
            _longest_strings(v, f"{path}[]", longest)
    elif isinstance(value, str):
        longest[path] = max(longest.get(path, ""), value, key=len)


def _stretched(value, path: str, longest: dict[str, str]):
    if isinstance(value, dict):
        return {k: _stretched(v, f"{path}.{k}", longest) for k, v in value.items()}
    if isinstance(value, list):
        return [_stretched(v, f"{path}[]", longest) for v in value]
    if isinstance(value, str) and value:
        return longest[path]
    return value


@pytest.mark.parametrize("density", STYLE["density"])
@pytest.mark.parametrize(
    "name, bundle", every_form(("max",)), ids=[n for n, _ in every_form(("max",))]
)
def test_text_fits_with_every_field_at_its_longest(name, bundle, density):
    """The built-in pack with every text replaced by the longest text any pack of the family
    has in that field: the worst case the family's own topics can produce, at full size."""
    family = FAMILIES[bundle.family]
    longest: dict[str, str] = {}
    for pack in [family.content, *(t.pack for t in family.topics)]:
        _longest_strings(pack, "", longest)
    pack = family.check_pack(_stretched(family.content, "", longest))
    assert_text_fits(compiled(_with_density(bundle, density), pack))
