"""The render checks: `is_renderable` (small, without fonts) gives the verdicts of a full render
with fonts, and no SVG's own size can make a render allocate without bound."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
import resvg_py
from PIL import Image
from scenes import every_form

from svglm.dsl.compiler import compile_scene
from svglm.dsl.families import FAMILIES
from svglm.dsl.lower import lower
from svglm.render import MAX_ASPECT, MAX_DEPTH, ink, is_renderable, nesting, render_png

NS = 'xmlns="http://www.w3.org/2000/svg"'
BROKEN = {
    "zero width": f'<svg {NS} width="0" height="50"><rect width="10" height="10"/></svg>',
    "unclosed": f'<svg {NS} width="100" height="50"><rect width="10"',
    "not svg": "<html><body/></html>",
    "empty": "",
    "not xml": "draw a box",
}
# Documents a model's raw-SVG output or a user's file may be, each of which resvg alone would
# answer by taking the process down, and whether each is still drawn.
HOSTILE = {  # sizes that would ask for gigabytes to terabytes of raster: drawn, smaller
    "tall": (f'<svg {NS} width="10" height="100000000"><rect width="10" height="10"/></svg>', True),
    "wide": (f'<svg {NS} viewBox="0 0 100000000 10"><rect width="10" height="10"/></svg>', True),
    "huge": (f'<svg {NS} width="1e8" height="1e8"><rect width="9" height="9"/></svg>', True),
}
for levels in (240, 100_000):  # a stack overflow in resvg; past 255 the parser refuses too
    HOSTILE[f"{levels} nested groups"] = (
        f'<svg {NS} width="9" height="9">{"<g>" * levels}<rect width="5" height="5"/>'
        f"{'</g>' * levels}</svg>",
        False,
    )
HOSTILE["a 1e30-wide stroke"] = (  # a panic inside resvg
    f'<svg {NS} width="9" height="9"><path d="M0 0 L1e30 1e30" stroke="#000" '
    'stroke-width="1e30"/></svg>',
    False,
)


def full_render_succeeds(svg: str) -> bool:
    """The reference verdict: resvg itself, with the machine's fonts, at the canvas width."""
    try:
        return len(resvg_py.svg_to_bytes(svg_string=svg, width=960)) > 0
    except ValueError:
        return False


def test_is_renderable_gives_the_verdicts_of_a_full_render_with_fonts():
    forms = every_form(levels=("max",))  # the most text each form draws
    svgs = {name: compile_scene(lower(b), FAMILIES[b.family].content) for name, b in forms}
    svgs |= BROKEN
    verdicts = {name: (is_renderable(svg), full_render_succeeds(svg)) for name, svg in svgs.items()}
    assert all(fast == full for fast, full in verdicts.values()), verdicts
    assert [n for n, (fast, _) in verdicts.items() if not fast] == list(BROKEN)


@pytest.mark.parametrize("w, h", [(10, 10_000), (10_000, 10), (5, 5)])
def test_a_render_stays_inside_its_width_and_max_aspect_widths(w, h):
    svg = f'<svg {NS} width="{w}" height="{h}"><rect width="{w}" height="{h}"/></svg>'
    for width in (32, 128):
        image = Image.open(io.BytesIO(render_png(svg, width=width)))
        assert image.width <= width and image.height <= MAX_ASPECT * width
        assert image.width >= width - 1 or image.height >= MAX_ASPECT * width - 1  # fitted
    assert ink(svg, 64).all()  # the rect fills whatever box it was fitted into


def test_no_svg_takes_the_process_down():
    # Unguarded, these abort or crash the interpreter (not an exception), so they run in a
    # child process: a regression fails here instead of killing the test run.
    code = (
        "import json, sys; from svglm.render import is_renderable, render_png\n"
        "verdicts = []\n"
        "for svg in json.load(sys.stdin):\n"
        "    verdicts.append(is_renderable(svg))\n"
        "    if verdicts[-1]:\n"
        "        render_png(svg)  # also at the default width\n"
        "print(json.dumps(verdicts))"
    )
    child = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps([svg for svg, _ in HOSTILE.values()]),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 0, child.stderr[-500:]
    assert json.loads(child.stdout) == [drawn for _, drawn in HOSTILE.values()]


def test_a_document_nested_past_the_limit_is_refused_before_resvg_sees_it():
    deep = f'<svg {NS} width="9" height="9">{"<g>" * MAX_DEPTH}<rect/>{"</g>" * MAX_DEPTH}</svg>'
    assert nesting(deep) == MAX_DEPTH + 2
    with pytest.raises(ValueError, match="nested deeper"):
        render_png(deep)
    shallow = deep.replace("<g>", "", 2).replace("</g>", "", 2)
    assert nesting(shallow) == MAX_DEPTH and len(render_png(shallow, width=32)) > 0
