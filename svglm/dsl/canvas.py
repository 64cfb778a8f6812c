"""The drawing surface every family layout draws on: page geometry, boxes, text wrapping by
real font metrics, and a Canvas that collects defs and elements into one SVG document.

Output is byte-deterministic (fixed number formatting, fixed element order), so `svg_exact` is a
meaningful probe metric. Every drawn node carries `data-node` (its index among its kind) and
every connector `data-from` / `data-to`, so tests can check that arrows touch what they claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from svglm.dsl.content import ContentPack, resolve, text_of
from svglm.dsl.palette import Palette, palette
from svglm.dsl.schema import Scene
from svglm.dsl.textmetrics import text_width

# A 16:10 page, large enough for eight labelled boxes in a row at a readable font size.
W, H = 960, 600
MARGIN = 48
# Text is measured with DejaVu Sans (see textmetrics.py); a viewer that has Inter draws it
# narrower, so measured text always fits.
FONT = "Inter, 'DejaVu Sans', sans-serif"
DENSITY = {  # gap between nodes, padding inside them, body font size
    "compact": (12, 8, 12),
    "balanced": (20, 12, 13),
    "airy": (30, 16, 14),
}
# The band under the subtitle where layouts start, and the room a footer line takes.
CONTENT_TOP = 124.0
FOOTER_ROOM, NO_FOOTER_ROOM = 72.0, 40.0
LINE_HEIGHT = 1.25  # line pitch as a multiple of the font size
DESCENT = 0.25  # room below the baseline for descenders, as a multiple of the font size


def num(x: float) -> str:
    """Fixed formatting: at most one decimal, no trailing zeros, no '-0'."""
    s = f"{round(x, 1):.1f}".rstrip("0").rstrip(".")
    return "0" if s == "-0" else s


def wrap(text: str, width: float, size: float, max_lines: int, bold: bool = False) -> list[str]:
    """Greedy word wrap to `width` pixels; overflow is cut with '...' on the last line."""
    if max_lines <= 0:
        return []

    def fits(s: str) -> bool:
        return text_width(s, size, bold) <= width

    lines: list[str] = []
    line = ""
    for word in text.split():
        while not fits(word):  # hard-cut words longer than a line
            cut = max(1, next(i for i in range(len(word), 0, -1) if fits(word[:i]) or i == 1))
            if line:
                lines.append(line)
                line = ""
            lines.append(word[:cut])
            word = word[cut:]
        candidate = f"{line} {word}".strip()
        if fits(candidate):
            line = candidate
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and not fits(last + "..."):
            last = last[:-1]
        lines[-1] = last.rstrip() + "..."
    return lines


def fit_size(text: str, width: float, size: float, bold: bool = True, smallest: float = 9) -> float:
    """The largest font size (down to `smallest`) at which the longest word fits in `width`,
    so a long word shrinks instead of being cut in the middle."""
    longest = max(text.split(), key=lambda w: text_width(w, 1, bold), default="")
    while size > smallest and text_width(longest, size, bold) > width:
        size -= 1
    return size


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h


def row_boxes(n: int, x: float, y: float, width: float, h: float, gap: float) -> list[Box]:
    """n equal boxes side by side across `width`, `gap` apart."""
    w = (width - gap * (n - 1)) / n
    return [Box(x + i * (w + gap), y, w, h) for i in range(n)]


def connect(a: Box, b: Box) -> tuple[float, float, float, float]:
    """Endpoints of a straight connector from a's side facing b to b's side facing a."""
    if b.x >= a.right:
        return a.right, a.cy, b.x, b.cy
    if b.right <= a.x:
        return a.x, a.cy, b.right, b.cy
    if b.y >= a.bottom:
        return a.cx, a.bottom, b.cx, b.y
    return a.cx, a.y, b.cx, b.bottom


class Canvas:
    """Collects defs and body elements for one scene; `svg()` assembles the document.

    `top` and `bottom` bound the area a family layout may use: below the title block and
    above the footer line (when the scene has one)."""

    def __init__(self, scene: Scene, content: ContentPack):
        self.scene = scene
        self.content = content
        self.pal: Palette = palette(scene.style_value("theme"), scene.style_value("tone"))
        self.gap, self.pad, self.fs = DENSITY[scene.style_value("density")]
        self.defs: list[str] = []
        self.body: list[str] = []
        self.top = CONTENT_TOP
        self.bottom = H - (FOOTER_ROOM if scene.of_kind("footer") else NO_FOOTER_ROOM)
        self.left, self.width = float(MARGIN), float(W - 2 * MARGIN)

    # -- primitives -------------------------------------------------------------------------
    def add(self, element: str) -> None:
        self.body.append(element)

    def text(
        self,
        x: float,
        y: float,
        lines: list[str],
        size: float,
        fill: str,
        weight: str = "400",
        anchor: str = "start",
    ) -> None:
        if not lines:
            return
        spans = "".join(
            f'<tspan x="{num(x)}" dy="{num(0 if i == 0 else size * LINE_HEIGHT)}">'
            f"{escape(line)}</tspan>"
            for i, line in enumerate(lines)
        )
        self.add(
            f'<text x="{num(x)}" y="{num(y)}" font-size="{num(size)}" fill="{fill}" '
            f'font-weight="{weight}" text-anchor="{anchor}">{spans}</text>'
        )

    def rect(self, box: Box, fill: str, stroke: str, rx: float = 10, extra: str = "") -> None:
        self.add(
            f'<rect x="{num(box.x)}" y="{num(box.y)}" width="{num(box.w)}" '
            f'height="{num(box.h)}" rx="{num(rx)}" fill="{fill}" stroke="{stroke}"{extra}/>'
        )

    @property
    def glow(self) -> str:
        """The glow filter attribute for accents, in themes that glow."""
        return ' filter="url(#glow)"' if self.pal.glow else ""

    def value(self, path: str | None) -> object:
        return resolve(self.content, path) if path else ""

    def label(self, path: str | None) -> str:
        """The text a component shows: a string, or an object's label (or title)."""
        return text_of(self.value(path))

    def setting(self, name: str) -> str:
        """One of the scene's enumerated knobs, e.g. a bar chart's order."""
        return dict(self.scene.settings)[name]

    def label_box(self, box: Box, path: str | None, accent: str, node: int, rx: float = 10) -> None:
        """A card with an accent stripe, a bold label and wrapped detail text inside it."""
        item = self.value(path)
        if isinstance(item, dict):  # stages and segments have label/detail, cards title/body
            label, detail = (
                item.get("label", item.get("title", "")),
                item.get("detail", item.get("body", "")),
            )
        else:
            label, detail = str(item), ""
        self.add(f'<g data-node="{node}">')
        self.rect(box, self.pal.surface, self.pal.border, rx)
        self.add(
            f'<rect x="{num(box.x)}" y="{num(box.y)}" width="{num(box.w)}" height="5" '
            f'rx="2" fill="{accent}"{self.glow}/>'
        )
        inner = box.w - 2 * self.pad
        head = fit_size(label, inner, self.fs + 2)
        text_top = box.y + self.pad + head
        room = box.bottom - self.pad - text_top  # vertical room left for the detail lines
        title_lines = wrap(label, inner, head, 1 if room < head * 2.5 else 2, bold=True)
        self.text(box.x + self.pad, text_top, title_lines, head, self.pal.ink, "700")
        if detail:
            size = fit_size(detail, inner, self.fs, bold=False)
            top = text_top + len(title_lines) * head * LINE_HEIGHT + 2
            fit = int((box.bottom - self.pad - top) // (size * LINE_HEIGHT))
            self.text(
                box.x + self.pad,
                top + size * 0.2,
                wrap(detail, inner, size, fit),
                size,
                self.pal.muted,
            )
        self.add("</g>")

    def text_block(
        self,
        box: Box,
        text: str,
        size: float,
        fill: str,
        weight: str = "400",
        anchor: str = "start",
        max_lines: int = 2,
        smallest: float | None = None,
    ) -> None:
        """`text` inside `box`, centred vertically: shrunk until its longest word fits (and, down
        to `smallest`, until all of it fits), wrapped to as many lines as the box holds (at most
        `max_lines`), the last line cut with '...' if it still does not fit."""
        bold = weight in ("600", "700")
        size = min(fit_size(text, box.w, size, bold), box.h / (1 + DESCENT))
        if size <= 0:
            return

        def room(size: float) -> int:
            return min(max_lines, 1 + int((box.h - size * (1 + DESCENT)) // (size * LINE_HEIGHT)))

        while smallest is not None and size > smallest:
            if len(wrap(text, box.w, size, 99, bold)) <= room(size):
                break
            size -= 1
        lines = wrap(text, box.w, size, room(size), bold)
        height = size * (1 + DESCENT) + (len(lines) - 1) * size * LINE_HEIGHT
        baseline = box.y + (box.h - height) / 2 + size
        x = {"start": box.x, "middle": box.cx, "end": box.right}[anchor]
        self.text(x, baseline, lines, size, fill, weight, anchor)

    def arrow(self, a: Box, b: Box, i: int, j: int, colour: str) -> None:
        x1, y1, x2, y2 = connect(a, b)
        self.add(
            f'<path d="M {num(x1)} {num(y1)} L {num(x2)} {num(y2)}" stroke="{colour}" '
            f'stroke-width="2" fill="none" marker-end="url(#arrowhead)" '
            f'data-from="{i}" data-to="{j}"/>'
        )

    # -- the parts every scene shares ---------------------------------------------------------
    def background(self) -> None:
        pal, kind = self.pal, self.scene.style_value("background")
        self.add(f'<rect width="{W}" height="{H}" fill="{pal.bg}"/>')
        if kind == "grid":
            self.defs.append(
                f'<pattern id="bg-grid" width="32" height="32" patternUnits="userSpaceOnUse">'
                f'<path d="M 32 0 L 0 0 0 32" fill="none" stroke="{pal.bg2}" stroke-width="1"/>'
                f"</pattern>"
            )
            self.add(f'<rect width="{W}" height="{H}" fill="url(#bg-grid)"/>')
        elif kind == "mesh":
            # three soft accent glows in fixed corners: a mesh look without a mesh gradient
            for i, (cx, cy) in enumerate(((0.1, 0.1), (0.9, 0.3), (0.4, 0.95))):
                self.defs.append(
                    f'<radialGradient id="bg-mesh-{i}" cx="{cx}" cy="{cy}" r="0.6">'
                    f'<stop offset="0" stop-color="{pal.accent(i)}" stop-opacity="0.22"/>'
                    f'<stop offset="1" stop-color="{pal.bg}" stop-opacity="0"/>'
                    f"</radialGradient>"
                )
                self.add(f'<rect width="{W}" height="{H}" fill="url(#bg-mesh-{i})"/>')
        elif kind == "rings":
            rings = "".join(f'<circle cx="{W - 60}" cy="60" r="{r}"/>' for r in range(80, 700, 70))
            self.add(f'<g fill="none" stroke="{pal.bg2}" stroke-width="1.5">{rings}</g>')

    def header(self) -> None:
        for comp in self.scene.of_kind("title"):
            title = wrap(str(self.value(comp.path)), W - 2 * MARGIN, 28, 1, bold=True)
            self.text(MARGIN, 64, title, 28, self.pal.ink, "700")
        for comp in self.scene.of_kind("subtitle"):
            subtitle = wrap(str(self.value(comp.path)), W - 2 * MARGIN, 15, 1)
            self.text(MARGIN, 94, subtitle, 15, self.pal.muted)

    def footer(self) -> None:
        for comp in self.scene.of_kind("footer"):
            self.add(f'<path d="M {MARGIN} {H - 52} H {W - MARGIN}" stroke="{self.pal.border}"/>')
            line = wrap(str(self.value(comp.path)), W - 2 * MARGIN, 13, 1)
            self.text(MARGIN, H - 28, line, 13, self.pal.muted)

    def svg(self) -> str:
        self.defs.insert(
            0,
            f'<marker id="arrowhead" viewBox="0 0 10 10" refX="10" refY="5" '
            f'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
            f'<path d="M 0 0 L 10 5 L 0 10 z" fill="{self.pal.muted}"/></marker>',
        )
        if self.pal.glow:
            self.defs.append(
                '<filter id="glow" x="-20%" y="-50%" width="140%" height="200%">'
                '<feGaussianBlur stdDeviation="3" result="blur"/><feMerge>'
                '<feMergeNode in="blur"/><feMergeNode in="SourceGraphic"/></feMerge></filter>'
            )
        title = escape(str(self.value("title"))) if self.scene.of_kind("title") else "scene"
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" '
            f'height="{H}" font-family={quoteattr(FONT)} role="img"><title>{title}</title>'
            f"<defs>{''.join(self.defs)}</defs>{''.join(self.body)}</svg>\n"
        )
