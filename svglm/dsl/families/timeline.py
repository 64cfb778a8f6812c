"""Timelines: stages in order, optionally joined by arrows, with an optional footer.

Forms: `milestone_chain` (dots on an axis, cards alternating above and below) and
`stage_sequence` (a row of stage cards).
"""

from __future__ import annotations

from svglm.dsl.canvas import Box, Canvas, num, row_boxes
from svglm.dsl.family import DiagramFamily, Form
from svglm.dsl.schema import Component, ComponentKind, Knob

DOT_R = 9.0  # milestone dot radius
ARROW_GAP = 30.0  # the least gap between stage cards that leaves room for an arrowhead
MAX_CARD_H = 260.0  # stage cards stay card-shaped on a tall page


def lower(form: str, counts: dict[str, int]) -> list[Component]:
    n = counts["stages"]
    comps = [Component("stage", f"stages.{i}") for i in range(n)]
    if counts["arrows"]:
        comps += [Component("arrow", None, (("from", i), ("to", i + 1))) for i in range(n - 1)]
    return comps


def milestone_chain(cv: Canvas) -> None:
    """Dots on a horizontal axis (arrows replace the axis line), cards alternating sides."""
    pal = cv.pal
    stages, arrows = cv.scene.of_kind("stage"), cv.scene.of_kind("arrow")
    n = len(stages)
    axis_y = (cv.top + cv.bottom) / 2
    step = cv.width / n
    r = DOT_R
    dots = [Box(cv.left + step * (i + 0.5) - r, axis_y - r, 2 * r, 2 * r) for i in range(n)]
    if not arrows:
        cv.add(
            f'<path d="M {num(cv.left)} {num(axis_y)} H {num(cv.left + cv.width)}" '
            f'stroke="{pal.border}" stroke-width="3"/>'
        )
    for a in arrows:
        cv.arrow(dots[a.arg("from")], dots[a.arg("to")], a.arg("from"), a.arg("to"), pal.muted)
    # alternating sides give each card two steps of width without touching its neighbours
    label_w = min(2 * step - cv.gap, 240.0)
    card_h = (cv.bottom - cv.top) / 2 - 40
    for i, (comp, dot) in enumerate(zip(stages, dots, strict=True)):
        cv.add(
            f'<circle cx="{num(dot.cx)}" cy="{num(dot.cy)}" r="{num(r)}" fill="{pal.accent(i)}" '
            f'stroke="{pal.bg}" stroke-width="3"{cv.glow}/>'
        )
        above = i % 2 == 0
        y = axis_y - 28 - card_h if above else axis_y + 28
        # Cards near the edges shrink instead of shifting, so neighbours never overlap.
        x = max(dot.cx - label_w / 2, cv.left)
        card_w = min(dot.cx + label_w / 2, cv.left + cv.width) - x
        tick_y1, tick_y2 = (y + card_h, axis_y - r) if above else (axis_y + r, y)
        cv.add(
            f'<path d="M {num(dot.cx)} {num(tick_y1)} V {num(tick_y2)}" stroke="{pal.border}" '
            f'stroke-dasharray="3 3"/>'
        )
        cv.label_box(Box(x, y, card_w, card_h), comp.path, pal.accent(i), i)


def stage_sequence(cv: Canvas) -> None:
    """Stage cards in one row, vertically centred, with arrows between neighbours."""
    stages, arrows = cv.scene.of_kind("stage"), cv.scene.of_kind("arrow")
    gap = max(cv.gap, ARROW_GAP) if arrows else cv.gap
    h = min(cv.bottom - cv.top, MAX_CARD_H)
    y = cv.top + (cv.bottom - cv.top - h) / 2
    boxes = row_boxes(len(stages), cv.left, y, cv.width, h, gap)
    for i, (comp, box) in enumerate(zip(stages, boxes, strict=True)):
        cv.label_box(box, comp.path, cv.pal.accent(i), i)
    for a in arrows:
        cv.arrow(boxes[a.arg("from")], boxes[a.arg("to")], a.arg("from"), a.arg("to"), cv.pal.muted)


FAMILY = DiagramFamily(
    name="timeline",
    forms=(
        Form("milestone_chain", goal="mark_milestones", layout=milestone_chain),
        Form("stage_sequence", goal="walk_stages", layout=stage_sequence),
    ),
    knobs=(Knob("stages", 3, 7), Knob("arrows", 0, 1), Knob("footer", 0, 1)),
    kinds=(ComponentKind("stage"), ComponentKind("arrow", path=False, indexes="stage")),
    lower=lower,
    topics=("release_history", "project_roadmap"),
    content={
        "title": "From prototype to a shipped model",
        "subtitle": "Six months of a small specialist model team",
        "stages": [
            {"label": "Scope", "detail": "Pick one artifact family and write its contract"},
            {"label": "Data", "detail": "Generate rows and hidden holdout combinations"},
            {"label": "Tokenizer", "detail": "Reserve every structural atom as one token"},
            {"label": "Pretrain", "detail": "Teach the grammar on every row"},
            {"label": "SFT", "detail": "Mask loss to targets and sharpen routing"},
            {"label": "Probe", "detail": "Measure exact, renderable and dirty-tail rates"},
            {"label": "Ship", "detail": "Export weights and publish the report"},
        ],
        "footer": "Each stage leaves artifacts a reviewer can open without rerunning anything.",
    },
)
