"""Memory maps: segments of a whole (memory, budget, capacity), grouped by brackets, with
optional takeaway cards.

Forms: `typed_regions` (a row of regions sized by their share), `arena_sections` (a grid with a
colour legend per group) and `layer_stack` (horizontal layers with brackets at the side).
"""

from __future__ import annotations

from svglm.dsl.canvas import Box, Canvas, num, row_boxes, wrap
from svglm.dsl.family import DiagramFamily, Form
from svglm.dsl.schema import Component, ComponentKind, Knob
from svglm.dsl.textmetrics import text_width

CARDS_H = 150.0  # height of the card row under typed_regions and arena_sections
SIDE_W = 200.0  # width of the card column beside a layer_stack
BRACKET_W = 150.0  # width of the bracket labels beside a layer_stack
# Narrow enough for eight regions in a row, wide enough for a 13-letter label at the smallest
# font size.
MIN_REGION_W = 104.0


# -- lowering -----------------------------------------------------------------------------------
def _spans(n: int, groups: int) -> list[tuple[int, int]]:
    """Split n items into `groups` contiguous, near-equal spans (first, last)."""
    return [(g * n // groups, (g + 1) * n // groups - 1) for g in range(groups)]


def lower(form: str, counts: dict[str, int]) -> list[Component]:
    n = counts["segments"]
    comps = [Component("segment", f"segments.{i}") for i in range(n)]
    for j, (lo, hi) in enumerate(_spans(n, counts["brackets"])):
        comps.append(Component("bracket", f"brackets.{j}", (("from", lo), ("to", hi))))
    comps += [Component("card", f"cards.{j}") for j in range(counts["cards"])]
    return comps


# -- layout helpers -----------------------------------------------------------------------------
def _segment_colours(cv: Canvas) -> list[str]:
    """A segment takes the accent of its bracket, so the segments of one group read as one."""
    group = {}
    for j, b in enumerate(cv.scene.of_kind("bracket")):
        for s in range(b.arg("from"), b.arg("to") + 1):
            group[s] = j
    return [cv.pal.accent(group.get(i, i)) for i in range(len(cv.scene.of_kind("segment")))]


def _area_bottom(cv: Canvas) -> float:
    """Where segments end: above the card row when there are cards."""
    return cv.bottom - (CARDS_H + cv.gap if cv.scene.of_kind("card") else 0)


def _segments_and_cards(cv: Canvas, boxes: list[Box]) -> None:
    """Segments as labelled cards in their boxes, then the takeaway cards in a bottom row."""
    segments, cards = cv.scene.of_kind("segment"), cv.scene.of_kind("card")
    for i, (comp, box, colour) in enumerate(
        zip(segments, boxes, _segment_colours(cv), strict=True)
    ):
        cv.label_box(box, comp.path, colour, i)
    if cards:
        row = row_boxes(len(cards), cv.left, cv.bottom - CARDS_H, cv.width, CARDS_H, cv.gap)
        for j, box in enumerate(row):
            cv.label_box(box, cards[j].path, cv.pal.muted, 100 + j)


def _layer(cv: Canvas, box: Box, path: str | None, accent: str, node: int) -> None:
    """One horizontal layer of a stack: label left, detail right, accent bar at the edge."""
    item = cv.value(path)
    cv.add(f'<g data-node="{node}">')
    cv.rect(box, cv.pal.surface, cv.pal.border, 8)
    cv.add(
        f'<rect x="{num(box.x)}" y="{num(box.y)}" width="6" height="{num(box.h)}" rx="3" '
        f'fill="{accent}"{cv.glow}/>'
    )
    head = cv.fs + 2
    label_w = box.w * 0.35  # the label column; detail text takes the rest
    lines = max(1, int((box.h - 8) // (cv.fs * 1.25)))
    label = wrap(item["label"], label_w - 16, head, 1, bold=True)
    cv.text(box.x + 16 + cv.pad, box.cy + head * 0.35, label, head, cv.pal.ink, "700")
    detail = wrap(item.get("detail", ""), box.w - label_w - 2 * cv.pad, cv.fs, min(lines, 2))
    y = box.cy - (len(detail) - 1) * cv.fs * 0.625 + cv.fs * 0.35  # centre the detail block
    cv.text(box.x + label_w + cv.pad, y, detail, cv.fs, cv.pal.muted)
    cv.add("</g>")


# -- one layout per form ------------------------------------------------------------------------
def typed_regions(cv: Canvas) -> None:
    """Regions in one row, each as wide as its share of the total `size`; brackets above."""
    segments, brackets = cv.scene.of_kind("segment"), cv.scene.of_kind("bracket")
    top = cv.top + (44 if brackets else 0)  # room for the bracket labels above
    sizes = [float(cv.value(c.path).get("size", 1)) for c in segments]
    n, gap = len(segments), cv.gap
    min_w = min(MIN_REGION_W, (cv.width - gap * (n - 1)) / n)
    free = cv.width - gap * (n - 1) - min_w * n
    x, boxes = cv.left, []
    for size in sizes:
        w = min_w + free * size / sum(sizes)
        boxes.append(Box(x, top, w, _area_bottom(cv) - top))
        x += w + gap
    for j, b in enumerate(brackets):
        x1, x2 = boxes[b.arg("from")].x, boxes[b.arg("to")].right
        y = top - 12
        cv.add(
            f'<path d="M {num(x1)} {num(y + 8)} V {num(y)} H {num(x2)} V {num(y + 8)}" '
            f'fill="none" stroke="{cv.pal.accent(j)}" stroke-width="2" data-bracket="{j}"/>'
        )
        label = wrap(str(cv.value(b.path)), x2 - x1, cv.fs, 1, bold=True)
        cv.text((x1 + x2) / 2, y - 8, label, cv.fs, cv.pal.ink, "600", "middle")
    _segments_and_cards(cv, boxes)


def arena_sections(cv: Canvas) -> None:
    """Segments in a grid (one row up to four, else two rows); brackets become a legend."""
    segments, brackets = cv.scene.of_kind("segment"), cv.scene.of_kind("bracket")
    top = cv.top + (34 if brackets else 0)  # room for the legend
    n = len(segments)
    cols = n if n <= 4 else (n + 1) // 2
    rows = (n + cols - 1) // cols
    h = (_area_bottom(cv) - top - cv.gap * (rows - 1)) / rows
    boxes = []
    for r in range(rows):
        boxes += row_boxes(cols, cv.left, top + r * (h + cv.gap), cv.width, h, cv.gap)
    x = cv.left
    for j, b in enumerate(brackets):
        label = str(cv.value(b.path))
        cv.add(
            f'<rect x="{num(x)}" y="{num(cv.top)}" width="14" height="14" rx="3" '
            f'fill="{cv.pal.accent(j)}" data-bracket="{j}"/>'
        )
        cv.text(x + 20, cv.top + 12, [label], cv.fs, cv.pal.ink, "600")
        x += 40 + text_width(label, cv.fs, bold=True)
    _segments_and_cards(cv, boxes[:n])


def layer_stack(cv: Canvas) -> None:
    """Segments as stacked layers; brackets as braces at their right, cards in a side column."""
    scene, pal, gap = cv.scene, cv.pal, cv.gap
    segments, brackets, cards = (
        scene.of_kind("segment"),
        scene.of_kind("bracket"),
        scene.of_kind("card"),
    )
    side = SIDE_W if cards else 0.0
    bracket_w = BRACKET_W if brackets else 0.0
    stack_w = cv.width - side - bracket_w - (gap if side else 0) - (gap if bracket_w else 0)
    n = len(segments)
    h = (cv.bottom - cv.top - gap * (n - 1)) / n
    boxes = [Box(cv.left, cv.top + i * (h + gap), stack_w, h) for i in range(n)]
    for i, (comp, box, colour) in enumerate(
        zip(segments, boxes, _segment_colours(cv), strict=True)
    ):
        _layer(cv, box, comp.path, colour, i)
    bx = cv.left + stack_w + gap
    for j, b in enumerate(brackets):
        y1, y2 = boxes[b.arg("from")].y + 4, boxes[b.arg("to")].bottom - 4
        cv.add(
            f'<path d="M {num(bx)} {num(y1)} H {num(bx + 10)} V {num(y2)} H {num(bx)}" '
            f'fill="none" stroke="{pal.accent(j)}" stroke-width="2" data-bracket="{j}"/>'
        )
        label = wrap(str(cv.value(b.path)), bracket_w - 22, cv.fs, 3, bold=True)
        cv.text(bx + 18, (y1 + y2) / 2 + 4, label, cv.fs, pal.ink, "600")
    if cards:
        cx = cv.left + cv.width - side
        ch = (cv.bottom - cv.top - gap * (len(cards) - 1)) / len(cards)
        for j, comp in enumerate(cards):
            box = Box(cx, cv.top + j * (ch + gap), side, ch)
            cv.label_box(box, comp.path, pal.muted, 100 + j)


FAMILY = DiagramFamily(
    name="memory_map",
    forms=(
        Form("typed_regions", goal="classify_regions", layout=typed_regions),
        Form("arena_sections", goal="show_allocation", layout=arena_sections),
        Form("layer_stack", goal="show_layers", layout=layer_stack),
    ),
    knobs=(Knob("segments", 3, 8), Knob("brackets", 0, 3), Knob("cards", 0, 3)),
    kinds=(
        ComponentKind("segment"),
        ComponentKind("bracket", indexes="segment"),
        ComponentKind("card"),
    ),
    lower=lower,
    topics=("gpu_memory", "cache_layout"),
    content={
        "title": "GPU memory during one training step",
        "subtitle": "Where 80 GB goes for a 7B model with AdamW in bf16",
        "segments": [
            {"label": "Weights", "detail": "bf16 parameters, 14 GB", "size": 14},
            {"label": "Gradients", "detail": "same shape as weights", "size": 14},
            {"label": "Optimizer", "detail": "fp32 moments and master copy", "size": 28},
            {"label": "Activations", "detail": "saved for the backward pass", "size": 12},
            {"label": "KV cache", "detail": "only during evaluation", "size": 4},
            {"label": "Workspace", "detail": "cuBLAS and attention scratch", "size": 3},
            {"label": "Fragmentation", "detail": "allocator slack between blocks", "size": 3},
            {"label": "Reserve", "detail": "headroom kept free on purpose", "size": 2},
        ],
        "brackets": ["Model state", "Step-local memory", "Runtime overhead"],
        "cards": [
            {
                "title": "Biggest lever",
                "body": "Shard optimizer state across ranks to cut 28 GB per GPU.",
            },
            {"title": "Cheap win", "body": "Activation checkpointing trades compute for memory."},
            {"title": "Watch out", "body": "Fragmentation grows with variable sequence lengths."},
        ],
        "footer": "Sizes are illustrative; measure your own run with the allocator stats.",
    },
)
