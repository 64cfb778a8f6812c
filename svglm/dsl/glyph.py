"""The glyph language: an outline as path tokens on a fixed integer grid.

    [glyph] M 30 101 L 58 20 L 70 20 L 98 101 Z M 45 70 L 83 70 ... Z [/glyph]

Commands are absolute: `M x y`, `L x y`, `Q x1 y1 x y`, `C x1 y1 x2 y2 x y` and `Z`; every
coordinate is an integer on the grid 0..grid-1, y growing downward as in SVG. A contour opens
with `M` and ends with `Z`. Every command and every coordinate value is a reserved token, so
no number is ever spelled in pieces and no value can fall outside the grid: an importer that
meets one clamps it and counts it (`GridPen.clamped`).

Any outline source draws into a `GridPen`: a fontTools glyph (TrueType quadratics, CFF
cubics) or an SVG path `d` with relative commands, arcs and decimals (`path_segments`).
"""

from __future__ import annotations

from collections.abc import Callable

from fontTools.pens.basePen import BasePen
from fontTools.svgLib.path import parse_path

from svglm.errors import DSLError

OPENER, CLOSER = "[glyph]", "[/glyph]"
ARITY = {"M": 1, "L": 1, "Q": 2, "C": 3, "Z": 0}  # points each command takes
DEFAULT_GRID = 128
DEFAULT_CHARSET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.,!?@#()[]"
# Atom values are [a-z0-9_]: a capital is `cap_a`, punctuation goes by its PostScript name.
PUNCTUATION = {
    ".": "period",
    ",": "comma",
    "!": "exclam",
    "?": "question",
    "@": "at",
    "#": "numbersign",
    "(": "parenleft",
    ")": "parenright",
    "[": "bracketleft",
    "]": "bracketright",
}
# What a prompt may ask of a glyph: importers classify each font into these.
STYLES = ("serif", "sans_serif", "monospace", "handwriting", "display")
WEIGHTS = ("light", "regular", "bold")
SLANTS = ("upright", "italic")
Segment = tuple[str, tuple[int, ...]]  # ("Q", (x1, y1, x, y))


def char_value(ch: str) -> str:
    """The `[char:...]` value of a character."""
    if ch in PUNCTUATION:
        return PUNCTUATION[ch]
    if ch.isascii() and ch.isalpha():
        return f"cap_{ch.lower()}" if ch.isupper() else ch
    if ch.isascii() and ch.isdigit():
        return ch
    return f"u{ord(ch):04x}"


def char_of(value: str) -> str:
    """The character a `[char:...]` value names (the inverse of `char_value`)."""
    names = {v: k for k, v in PUNCTUATION.items()}
    if value in names:
        return names[value]
    if value.startswith("cap_") and len(value) == 5:
        return value[4].upper()
    if len(value) == 1:
        return value
    if value.startswith("u") and len(value) >= 5:
        return chr(int(value[1:], 16))
    raise DSLError(f"[char:{value}] names no character")


def char_class(ch: str) -> str:
    if ch.isupper():
        return "upper"
    if ch.islower():
        return "lower"
    if ch.isdigit():
        return "digit"
    return "punct"


class GridPen(BasePen):
    """A fontTools pen that writes glyph segments on the grid. `transform` maps a source point
    to grid units (floats); points are rounded, clamped into the grid and counted when they
    had to be. Segments that round to nothing are dropped, so equal outlines print equally."""

    def __init__(self, transform: Callable[[tuple[float, float]], tuple[float, float]], grid: int):
        super().__init__(glyphSet=None)
        self.transform, self.grid = transform, grid
        self.segments: list[Segment] = []
        self.clamped = 0
        self._start: tuple[int, ...] = ()
        self._at: tuple[int, ...] = ()

    def _point(self, pt: tuple[float, float]) -> tuple[int, int]:
        out = []
        for v in self.transform(pt):
            q = round(v)
            if not 0 <= q < self.grid:
                self.clamped += 1
                q = min(max(q, 0), self.grid - 1)
            out.append(q)
        return out[0], out[1]

    def _emit(self, command: str, *pts: tuple[float, float]) -> None:
        coords = tuple(v for p in pts for v in self._point(p))
        if command != "M" and all(coords[i : i + 2] == self._at for i in range(0, len(coords), 2)):
            return  # a segment that stays on one grid point
        self.segments.append((command, coords))
        self._at = coords[-2:]

    def _moveTo(self, pt):
        if self.segments and self.segments[-1][0] == "M":
            self.segments.pop()  # an empty contour
        self._emit("M", pt)
        self._start = self._at

    def _lineTo(self, pt):
        self._emit("L", pt)

    def _qCurveToOne(self, pt1, pt2):
        self._emit("Q", pt1, pt2)

    def _curveToOne(self, pt1, pt2, pt3):
        self._emit("C", pt1, pt2, pt3)

    def _closePath(self):
        if self.segments and self.segments[-1][0] == "M":
            self.segments.pop()  # nothing was drawn
            return
        last = self.segments[-1]
        if last[0] == "L" and last[1] == self._start:
            self.segments.pop()  # Z draws that line itself
        self.segments.append(("Z", ()))
        self._at = self._start

    def _endPath(self):
        if self.segments and self.segments[-1][0] == "M":
            self.segments.pop()


def path_segments(
    d: str, grid: int = DEFAULT_GRID, scale: float = 1.0
) -> tuple[list[Segment], int]:
    """An SVG path `d` (any commands, relative or absolute, arcs, decimals, negatives) as grid
    segments, each point multiplied by `scale`; returns the segments and how many coordinates
    were clamped into the grid."""
    pen = GridPen(lambda p: (p[0] * scale, p[1] * scale), grid)
    try:
        parse_path(d, pen)
    except (ValueError, IndexError, AssertionError) as e:
        raise DSLError(f"not an SVG path: {e}") from None
    return pen.segments, pen.clamped


def print_glyph(segments: list[Segment]) -> str:
    words = [OPENER]
    for command, coords in segments:
        words += [command, *map(str, coords)]
    return " ".join([*words, CLOSER])


def parse_glyph(block: str, grid: int = DEFAULT_GRID) -> list[Segment]:
    """A glyph block, strictly: every contour `M ... Z`, each command with its coordinates,
    each coordinate a grid integer written canonically."""
    words = block.split(" ")
    if len(words) < 2 or words[0] != OPENER or words[-1] != CLOSER:
        raise DSLError(f"a glyph block is '{OPENER} ... {CLOSER}'")
    segments: list[Segment] = []
    i, body, open_contour = 0, words[1:-1], False
    while i < len(body):
        command = body[i]
        if command not in ARITY:
            raise DSLError(f"glyph: expected a command, got {command!r} at word {i + 1}")
        if (command == "M") == open_contour:
            raise DSLError(
                f"glyph: {command} at word {i + 1} "
                + (
                    "inside an open contour (close it with Z)"
                    if open_contour
                    else "outside a contour (start with M)"
                )
            )
        n = 2 * ARITY[command]
        values = body[i + 1 : i + 1 + n]
        if len(values) < n or not all(v.isdigit() and str(int(v)) == v for v in values):
            raise DSLError(f"glyph: {command} at word {i + 1} needs {n} grid integers")
        coords = tuple(int(v) for v in values)
        if any(v >= grid for v in coords):
            raise DSLError(f"glyph: coordinate outside the grid 0..{grid - 1} at word {i + 1}")
        segments.append((command, coords))
        open_contour = command != "Z"
        i += 1 + n
    if open_contour:
        raise DSLError("glyph: the last contour is not closed with Z")
    if not segments:
        raise DSLError("glyph: no contour")
    return segments


def glyph_prefix_viable(unfinished: str, grid: int = DEFAULT_GRID) -> bool:
    """Whether an opened, unclosed glyph block could still become valid."""
    words = unfinished.split()
    if not words or words[0] != OPENER:
        return False
    need = 0  # coordinates the current command still needs
    for w in words[1:]:
        if need:
            if not (w.isdigit() and str(int(w)) == w and int(w) < grid):
                return False
            need -= 1
        elif w in ARITY:
            need = 2 * ARITY[w]
        else:
            return False
    return True


def path_d(segments: list[Segment]) -> str:
    return " ".join(" ".join([c, *map(str, xy)]) for c, xy in segments)


def glyph_svg(segments: list[Segment], grid: int = DEFAULT_GRID) -> str:
    """The glyph as an SVG document on its grid: black ink, non-zero fill as in fonts."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {grid} {grid}" '
        f'width="{grid}" height="{grid}"><rect width="{grid}" height="{grid}" fill="#fff"/>'
        f'<path d="{path_d(segments)}" fill="#000"/></svg>'
    )
