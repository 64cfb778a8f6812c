"""The scene compiler: scene + content pack -> SVG text.

The compiler owns everything a model should not type: geometry, text wrapping, colour,
gradients, markers, defs and XML escaping. Output is byte-deterministic (fixed number
formatting, fixed element order), so `svg_exact` is a meaningful probe metric.

Every drawn node carries `data-node` (its component index) and every connector carries
`data-from` / `data-to`, so tests can check that arrows touch the nodes they claim to.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from svglm.dsl.content import ContentPack, resolve
from svglm.dsl.palette import Palette, palette
from svglm.dsl.scene import Scene
from svglm.dsl.textmetrics import text_width

W, H = 960, 600
MARGIN = 48
FONT = "Inter, 'DejaVu Sans', sans-serif"
DENSITY = {  # gap between nodes, padding inside them, body font size
    "compact": (12, 8, 12),
    "balanced": (20, 12, 13),
    "airy": (30, 16, 14),
}
LANE = 26  # vertical distance between link lanes


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
    """The largest font size (down to `smallest`) at which the longest word fits in `width`."""
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
    """Collects defs and body elements; `svg()` assembles the document."""

    def __init__(self, scene: Scene, content: ContentPack):
        self.scene = scene
        self.content = content
        self.pal: Palette = palette(scene.style_value("theme"), scene.style_value("tone"))
        self.gap, self.pad, self.fs = DENSITY[scene.style_value("density")]
        self.defs: list[str] = []
        self.body: list[str] = []
        self.has_footer = bool(scene.of_kind("footer"))
        self.top = 124.0
        self.bottom = float(H - 72 if self.has_footer else H - 40)

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
            f'<tspan x="{num(x)}" dy="{num(0 if i == 0 else size * 1.25)}">{escape(line)}</tspan>'
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

    def value(self, path: str | None) -> object:
        return resolve(self.content, path) if path else ""

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
        glow = ' filter="url(#glow)"' if self.pal.glow else ""
        self.add(
            f'<rect x="{num(box.x)}" y="{num(box.y)}" width="{num(box.w)}" height="5" '
            f'rx="2" fill="{accent}"{glow}/>'
        )
        inner = box.w - 2 * self.pad
        head = fit_size(label, inner, self.fs + 2)
        text_top = box.y + self.pad + head
        room = box.bottom - self.pad - text_top  # vertical room left for the detail lines
        title_lines = wrap(label, inner, head, 1 if room < head * 2.5 else 2, bold=True)
        self.text(box.x + self.pad, text_top, title_lines, head, self.pal.ink, "700")
        if detail:
            size = fit_size(detail, inner, self.fs, bold=False)
            top = text_top + len(title_lines) * head * 1.25 + 2
            fit = int((box.bottom - self.pad - top) // (size * 1.25))
            self.text(
                box.x + self.pad,
                top + size * 0.2,
                wrap(detail, inner, size, fit),
                size,
                self.pal.muted,
            )
        self.add("</g>")

    def arrow(self, a: Box, b: Box, i: int, j: int, colour: str) -> None:
        x1, y1, x2, y2 = connect(a, b)
        self.add(
            f'<path d="M {num(x1)} {num(y1)} L {num(x2)} {num(y2)}" stroke="{colour}" '
            f'stroke-width="2" fill="none" marker-end="url(#arrowhead)" '
            f'data-from="{i}" data-to="{j}"/>'
        )

    # -- document ---------------------------------------------------------------------------
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
            self.text(
                MARGIN,
                64,
                wrap(str(self.value(comp.path)), W - 2 * MARGIN, 28, 1, bold=True),
                28,
                self.pal.ink,
                "700",
            )
        for comp in self.scene.of_kind("subtitle"):
            self.text(
                MARGIN,
                94,
                wrap(str(self.value(comp.path)), W - 2 * MARGIN, 15, 1),
                15,
                self.pal.muted,
            )

    def footer(self) -> None:
        for comp in self.scene.of_kind("footer"):
            self.add(f'<path d="M {MARGIN} {H - 52} H {W - MARGIN}" stroke="{self.pal.border}"/>')
            self.text(
                MARGIN,
                H - 28,
                wrap(str(self.value(comp.path)), W - 2 * MARGIN, 13, 1),
                13,
                self.pal.muted,
            )

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


# -- memory maps ------------------------------------------------------------------------------
def _memory_map(cv: Canvas) -> None:
    scene, pal, gap = cv.scene, cv.pal, cv.gap
    segments, brackets, cards = (
        scene.of_kind("segment"),
        scene.of_kind("bracket"),
        scene.of_kind("card"),
    )
    left, width = float(MARGIN), float(W - 2 * MARGIN)
    group = {}  # segment index -> bracket index, for colouring
    for j, b in enumerate(brackets):
        for s in range(b.arg("from"), b.arg("to") + 1):
            group[s] = j

    def seg_colour(i: int) -> str:
        return pal.accent(group[i]) if i in group else pal.accent(i)

    form = scene.form
    if form == "layer_stack":
        side = 200.0 if cards else 0.0
        bracket_w = 150.0 if brackets else 0.0
        stack_w = width - side - bracket_w - (gap if side else 0) - (gap if bracket_w else 0)
        n = len(segments)
        h = (cv.bottom - cv.top - gap * (n - 1)) / n
        boxes = [Box(left, cv.top + i * (h + gap), stack_w, h) for i in range(n)]
        for i, (comp, box) in enumerate(zip(segments, boxes, strict=True)):
            _layer(cv, box, comp.path, seg_colour(i), i)
        bx = left + stack_w + gap
        for j, b in enumerate(brackets):
            y1, y2 = boxes[b.arg("from")].y + 4, boxes[b.arg("to")].bottom - 4
            cv.add(
                f'<path d="M {num(bx)} {num(y1)} H {num(bx + 10)} V {num(y2)} H {num(bx)}" '
                f'fill="none" stroke="{pal.accent(j)}" stroke-width="2" data-bracket="{j}"/>'
            )
            cv.text(
                bx + 18,
                (y1 + y2) / 2 + 4,
                wrap(str(cv.value(b.path)), bracket_w - 22, cv.fs, 3, bold=True),
                cv.fs,
                pal.ink,
                "600",
            )
        if cards:
            cx = left + width - side
            ch = (cv.bottom - cv.top - gap * (len(cards) - 1)) / len(cards)
            for j, comp in enumerate(cards):
                cv.label_box(
                    Box(cx, cv.top + j * (ch + gap), side, ch), comp.path, pal.muted, 100 + j
                )
        return

    cards_h = 150.0 if cards else 0.0
    area_bottom = cv.bottom - (cards_h + gap if cards else 0)
    if form == "typed_regions":
        top = cv.top + (44 if brackets else 0)
        sizes = [float(cv.value(c.path).get("size", 1)) for c in segments]
        # wide enough for a 13-letter label at the smallest size, unless there is no room
        min_w = min(104.0, (width - gap * (len(segments) - 1)) / len(segments))
        free = width - gap * (len(segments) - 1) - min_w * len(segments)
        x, boxes = left, []
        for size in sizes:
            w = min_w + free * size / sum(sizes)
            boxes.append(Box(x, top, w, area_bottom - top))
            x += w + gap
        for j, b in enumerate(brackets):
            x1, x2 = boxes[b.arg("from")].x, boxes[b.arg("to")].right
            y = top - 12
            cv.add(
                f'<path d="M {num(x1)} {num(y + 8)} V {num(y)} H {num(x2)} V {num(y + 8)}" '
                f'fill="none" stroke="{pal.accent(j)}" stroke-width="2" data-bracket="{j}"/>'
            )
            cv.text(
                (x1 + x2) / 2,
                y - 8,
                wrap(str(cv.value(b.path)), x2 - x1, cv.fs, 1, bold=True),
                cv.fs,
                pal.ink,
                "600",
                "middle",
            )
    else:  # arena_sections: a grid; brackets become a legend and colour their sections
        top = cv.top + (34 if brackets else 0)
        n = len(segments)
        cols = n if n <= 4 else (n + 1) // 2
        rows = (n + cols - 1) // cols
        h = (area_bottom - top - gap * (rows - 1)) / rows
        boxes = []
        for r in range(rows):
            boxes += row_boxes(cols, left, top + r * (h + gap), width, h, gap)
        boxes = boxes[:n]
        x = left
        for j, b in enumerate(brackets):
            label = str(cv.value(b.path))
            cv.add(
                f'<rect x="{num(x)}" y="{num(cv.top)}" width="14" height="14" rx="3" '
                f'fill="{pal.accent(j)}" data-bracket="{j}"/>'
            )
            cv.text(x + 20, cv.top + 12, [label], cv.fs, pal.ink, "600")
            x += 40 + text_width(label, cv.fs, bold=True)
    for i, (comp, box) in enumerate(zip(segments, boxes, strict=True)):
        cv.label_box(box, comp.path, seg_colour(i), i)
    if cards:
        for j, box in enumerate(
            row_boxes(len(cards), left, cv.bottom - cards_h, width, cards_h, gap)
        ):
            cv.label_box(box, cards[j].path, pal.muted, 100 + j)


def _layer(cv: Canvas, box: Box, path: str | None, accent: str, node: int) -> None:
    """One horizontal layer of a stack: label left, detail right, accent bar at the edge."""
    item = cv.value(path)
    cv.add(f'<g data-node="{node}">')
    cv.rect(box, cv.pal.surface, cv.pal.border, 8)
    glow = ' filter="url(#glow)"' if cv.pal.glow else ""
    cv.add(
        f'<rect x="{num(box.x)}" y="{num(box.y)}" width="6" height="{num(box.h)}" rx="3" '
        f'fill="{accent}"{glow}/>'
    )
    head = cv.fs + 2
    label_w = box.w * 0.35
    lines = max(1, int((box.h - 8) // (cv.fs * 1.25)))
    baseline = box.cy + head * 0.35
    cv.text(
        box.x + 16 + cv.pad,
        baseline,
        wrap(item["label"], label_w - 16, head, 1, bold=True),
        head,
        cv.pal.ink,
        "700",
    )
    detail = wrap(item.get("detail", ""), box.w - label_w - 2 * cv.pad, cv.fs, min(lines, 2))
    y = box.cy - (len(detail) - 1) * cv.fs * 0.625 + cv.fs * 0.35
    cv.text(box.x + label_w + cv.pad, y, detail, cv.fs, cv.pal.muted)
    cv.add("</g>")


# -- timelines --------------------------------------------------------------------------------
def _timeline(cv: Canvas) -> None:
    scene, pal = cv.scene, cv.pal
    stages, arrows = scene.of_kind("stage"), scene.of_kind("arrow")
    n = len(stages)
    left, width = float(MARGIN), float(W - 2 * MARGIN)
    if scene.form == "stage_sequence":
        gap = max(cv.gap, 30.0) if arrows else cv.gap
        h = min(cv.bottom - cv.top, 260.0)
        boxes = row_boxes(n, left, cv.top + (cv.bottom - cv.top - h) / 2, width, h, gap)
        for i, (comp, box) in enumerate(zip(stages, boxes, strict=True)):
            cv.label_box(box, comp.path, pal.accent(i), i)
        for a in arrows:
            cv.arrow(
                boxes[a.arg("from")], boxes[a.arg("to")], a.arg("from"), a.arg("to"), pal.muted
            )
        return
    # milestone_chain: dots on an axis, labels alternating above and below
    axis_y = (cv.top + cv.bottom) / 2
    step = width / n
    r = 9.0
    dots = [Box(left + step * (i + 0.5) - r, axis_y - r, 2 * r, 2 * r) for i in range(n)]
    if not arrows:
        cv.add(
            f'<path d="M {num(left)} {num(axis_y)} H {num(left + width)}" stroke="{pal.border}" '
            f'stroke-width="3"/>'
        )
    for a in arrows:
        cv.arrow(dots[a.arg("from")], dots[a.arg("to")], a.arg("from"), a.arg("to"), pal.muted)
    label_w = min(2 * step - cv.gap, 240.0)
    card_h = (cv.bottom - cv.top) / 2 - 40
    for i, (comp, dot) in enumerate(zip(stages, dots, strict=True)):
        glow = ' filter="url(#glow)"' if pal.glow else ""
        cv.add(
            f'<circle cx="{num(dot.cx)}" cy="{num(dot.cy)}" r="{num(r)}" fill="{pal.accent(i)}" '
            f'stroke="{pal.bg}" stroke-width="3"{glow}/>'
        )
        above = i % 2 == 0
        y = axis_y - 28 - card_h if above else axis_y + 28
        # Cards near the edges shrink instead of shifting, so neighbours never overlap.
        x = max(dot.cx - label_w / 2, left)
        card_w = min(dot.cx + label_w / 2, left + width) - x
        tick_y1, tick_y2 = (y + card_h, axis_y - r) if above else (axis_y + r, y)
        cv.add(
            f'<path d="M {num(dot.cx)} {num(tick_y1)} V {num(tick_y2)}" stroke="{pal.border}" '
            f'stroke-dasharray="3 3"/>'
        )
        cv.label_box(Box(x, y, card_w, card_h), comp.path, pal.accent(i), i)


# -- system diagrams --------------------------------------------------------------------------
def _system_diagram(cv: Canvas) -> None:
    scene, pal, gap = cv.scene, cv.pal, cv.gap
    stages, arrows, links = scene.of_kind("stage"), scene.of_kind("arrow"), scene.of_kind("link")
    terminal = scene.of_kind("terminal")
    n = len(stages)
    left, width = float(MARGIN), float(W - 2 * MARGIN)
    lane_room = LANE * len(links) + (8 if links else 0)
    top = cv.top + lane_room
    bottom = cv.bottom - lane_room
    slots = n + len(terminal)
    arrow_gap = max(gap, 34.0)
    if scene.form == "linear_pipeline":
        h = min(bottom - top, 170.0)
        boxes = row_boxes(slots, left, top + (bottom - top - h) / 2, width, h, arrow_gap)
    elif scene.form == "build_path":  # a serpentine: left to right, then right to left
        cols = (slots + 1) // 2
        h = min((bottom - top - 2 * arrow_gap) / 2, 150.0)
        y0 = top + (bottom - top - 2 * h - 2 * arrow_gap) / 2
        row1 = row_boxes(cols, left, y0, width, h, arrow_gap)
        row2 = row_boxes(cols, left, y0 + h + 2 * arrow_gap, width, h, arrow_gap)[::-1]
        boxes = (row1 + row2)[:slots]
    else:  # selection_path: a source, a column of candidates, then the terminal
        col_w = (width - 2 * arrow_gap * 2) / 3
        cand = n - 1
        ch = (bottom - top - gap * (cand - 1)) / cand
        src_h = min(bottom - top, 150.0)
        boxes = [Box(left, top + (bottom - top - src_h) / 2, col_w, src_h)]
        boxes += [
            Box(left + col_w + 2 * arrow_gap, top + i * (ch + gap), col_w, ch) for i in range(cand)
        ]
        if terminal:
            boxes.append(
                Box(left + 2 * (col_w + 2 * arrow_gap), top + (bottom - top - 70) / 2, col_w, 70)
            )
    for i, comp in enumerate(stages):
        cv.label_box(boxes[i], comp.path, pal.accent(i), i)
    for a in arrows:
        cv.arrow(boxes[a.arg("from")], boxes[a.arg("to")], a.arg("from"), a.arg("to"), pal.muted)
    if terminal:
        if scene.form != "selection_path":  # the terminal is a pill, lower than a stage card
            boxes[n] = Box(boxes[n].x, boxes[n].cy - 35, boxes[n].w, 70)
        box = boxes[n]
        cv.add(f'<g data-node="{n}">')
        cv.rect(box, pal.accent(n), pal.accent(n), 35)
        cv.text(
            box.cx,
            box.cy + 6,
            wrap(str(cv.value(terminal[0].path)), box.w - 24, 16, 1, bold=True),
            16,
            pal.bg,
            "700",
            "middle",
        )
        cv.add("</g>")
        cv.arrow(boxes[n - 1], box, n - 1, n, pal.muted)
    for k, link in enumerate(links):
        _route_link(cv, boxes, link.arg("from"), link.arg("to"), k, str(cv.value(link.path)))


def _route_link(cv: Canvas, boxes: list[Box], i: int, j: int, k: int, label: str) -> None:
    """A dashed feedback edge routed around every node: down to a lane below all boxes, then
    straight up into the target if nothing stands below it, else around the left margin and
    down into the target from a lane above all boxes."""
    a, b = boxes[i], boxes[j]
    low = max(box.bottom for box in boxes) + 20 + LANE * k
    high = min(box.y for box in boxes) - 20 - LANE * k
    clear_below = not any(o is not b and o.y > b.y and o.x < b.cx < o.right for o in boxes)
    points = [(a.cx + 8 * (k + 1), a.bottom), (a.cx + 8 * (k + 1), low)]
    if clear_below:
        points += [(b.cx - 8 * (k + 1), low), (b.cx - 8 * (k + 1), b.bottom)]
    else:
        side = MARGIN - 16 - 8 * k
        points += [(side, low), (side, high), (b.cx, high), (b.cx, b.y)]
    d = "M " + " L ".join(f"{num(x)} {num(y)}" for x, y in points)
    colour = cv.pal.accent(k + 2)
    cv.add(
        f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="1.6" stroke-dasharray="6 4" '
        f'marker-end="url(#arrowhead)" data-from="{i}" data-to="{j}" data-link="{k}"/>'
    )
    mid = (points[1][0] + points[2][0]) / 2
    cv.text(mid, low - 5, [label], 12, colour, "600", "middle")


LAYOUTS = {"memory_map": _memory_map, "timeline": _timeline, "system_diagram": _system_diagram}


def compile_scene(scene: Scene, content: ContentPack) -> str:
    cv = Canvas(scene, content)
    cv.background()
    cv.header()
    LAYOUTS[scene.family](cv)
    cv.footer()
    return cv.svg()
