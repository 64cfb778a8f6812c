"""The render checks: `is_renderable` (small, without fonts) gives the verdicts of a full render
with fonts, and no SVG's own size can make a render allocate without bound."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
import resvg_py
from PIL import Image
from scenes import every_form

from svglm.dsl.compiler import compile_scene
from svglm.dsl.families import FAMILIES
from svglm.dsl.lower import lower
from svglm.render import MAX_ASPECT, ink, is_renderable, render_png

NS = 'xmlns="http://www.w3.org/2000/svg"'
BROKEN = {
    "zero width": f'<svg {NS} width="0" height="50"><rect width="10" height="10"/></svg>',
    "unclosed": f'<svg {NS} width="100" height="50"><rect width="10"',
    "not svg": "<html><body/></html>",
    "empty": "",
    "not xml": "draw a box",
}
# Sizes a model's raw-SVG output or a user's file may declare: rendered whole, each would ask
# resvg for gigabytes to terabytes of raster.
EXTREME = {
    "tall": f'<svg {NS} width="10" height="100000000"><rect width="10" height="10"/></svg>',
    "wide": f'<svg {NS} viewBox="0 0 100000000 10"><rect width="10" height="10"/></svg>',
    "huge": f'<svg {NS} width="100000000" height="100000000"><rect width="9" height="9"/></svg>',
}


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


def test_the_default_render_of_an_extreme_size_does_not_abort_the_process():
    # Without a bound resvg aborts the interpreter (a failed allocation, not an exception), so
    # this runs in a child process: a regression fails here instead of killing the test run.
    code = (
        "import sys; from svglm.render import render_png; "
        "[render_png(s) for s in sys.stdin.read().split('\\0')]"
    )
    child = subprocess.run(
        [sys.executable, "-c", code],
        input="\0".join(EXTREME.values()),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 0, child.stderr[-500:]
