"""The glyph language and the path tokenizer behind it: canonical roundtrips, strict parsing,
and SVG paths of every kind (relative commands, arcs, decimals, negatives, out-of-grid values)
brought onto the grid without changing what they draw."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from svglm.dsl.glyph import (
    ARITY,
    DEFAULT_CHARSET,
    char_of,
    char_value,
    glyph_prefix_viable,
    glyph_svg,
    parse_glyph,
    path_segments,
    print_glyph,
)
from svglm.errors import DSLError
from svglm.render import ink_iou

GRID = 128
coord = st.integers(0, GRID - 1)


@st.composite
def contours(draw):
    out = [("M", (draw(coord), draw(coord)))]
    for command in draw(st.lists(st.sampled_from("LQC"), min_size=1, max_size=8)):
        out.append((command, tuple(draw(coord) for _ in range(2 * ARITY[command]))))
    return [*out, ("Z", ())]


@given(st.lists(contours(), min_size=1, max_size=4))
def test_print_then_parse_is_identity(parts):
    segments = [s for part in parts for s in part]
    block = print_glyph(segments)
    assert parse_glyph(block, GRID) == segments
    assert print_glyph(parse_glyph(block, GRID)) == block
    assert glyph_prefix_viable(block[: -len(" [/glyph]")], GRID)


@given(st.sampled_from(DEFAULT_CHARSET))
def test_char_values_are_atom_values_and_invert(ch):
    value = char_value(ch)
    assert value.replace("_", "").isalnum() and value == value.lower()
    assert char_of(value) == ch


@pytest.mark.parametrize(
    "block, why",
    [
        ("[glyph] M 1 2 L 3 4 [/glyph]", "not closed"),
        ("[glyph] L 3 4 Z [/glyph]", "outside a contour"),
        ("[glyph] M 1 2 L 3 Z [/glyph]", "needs 2 grid integers"),
        ("[glyph] M 1 2 L 3 128 Z [/glyph]", "outside the grid"),
        ("[glyph] M 1 2 L 3 04 Z [/glyph]", "needs 2 grid integers"),
        ("[glyph] M 1 2 L -3 4 Z [/glyph]", "needs 2 grid integers"),
        ("[glyph] M 1 2 X 3 4 Z [/glyph]", "expected a command"),
        ("[glyph] M 1 2 L 3 4 M 5 6 Z [/glyph]", "inside an open contour"),
        ("[glyph] [/glyph]", "no contour"),
        ("M 1 2 L 3 4 Z", "a glyph block is"),
    ],
)
def test_invalid_blocks_name_their_problem(block, why):
    with pytest.raises(DSLError, match=why):
        parse_glyph(block, GRID)


# Paths as they come in real SVG files: relative commands, implicit repeats, arcs, decimals
# in exponent form, negatives and shorthand curves.
REAL_PATHS = [
    "m10.5 20.25 h40 v30.75 h-40 z",
    "M64 20 a44 44 0 1 0 0.01 0 z M64 40 A24 24 0 1 1 63.99 40 Z",
    "M10,100 Q30,40 50,70 T90,90 L10,120 Z",
    "M10 10 C30 5e1 60 20 80 40 s10 60 -10 70 Z",
    "M-20 -20 L150 -20 L150 150 L-20 150 Z",
]


@pytest.mark.parametrize("d", REAL_PATHS)
def test_svg_paths_tokenize_onto_the_grid_and_back(d):
    segments, clamped = path_segments(d, GRID)
    block = print_glyph(segments)
    assert parse_glyph(block, GRID) == segments  # decode(encode(x)) == x on the grid
    words = block.split()[1:-1]
    assert all(w in ARITY or (w.isdigit() and int(w) < GRID) for w in words)
    if d.startswith("M-20"):  # every corner outside the grid: clamped onto its corners
        assert segments == [
            ("M", (0, 0)),
            ("L", (127, 0)),
            ("L", (127, 127)),
            ("L", (0, 127)),
            ("Z", ()),
        ]
        assert clamped >= 8
        return
    assert clamped == 0
    original = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {GRID} {GRID}" width="{GRID}" '
        f'height="{GRID}"><path d="{d}"/></svg>'
    )
    assert ink_iou(glyph_svg(segments, GRID), original) > 0.9  # it draws the same shape


def test_degenerate_segments_are_dropped_so_equal_shapes_print_equally():
    a, _ = path_segments("M10 10 L10.2 10.1 L50 10 L50 50 L10 10 Z", GRID)
    b, _ = path_segments("M10 10 L50 10 L50 50 Z", GRID)
    assert a == b
