"""Timelines: stages in order, optionally joined by arrows, with an optional footer.

Forms: `milestone_chain` (dots on an axis, cards alternating above and below) and
`stage_sequence` (a row of stage cards).
"""

from __future__ import annotations

from typing import Any

from svglm.dsl.canvas import Box, Canvas, num, row_boxes
from svglm.dsl.content import ContentPack, Item, PackModel
from svglm.dsl.family import DiagramFamily, Form, Topic
from svglm.dsl.schema import Component, ComponentKind, Knob

DOT_R = 9.0  # milestone dot radius
ARROW_GAP = 30.0  # the least gap between stage cards that leaves room for an arrowhead
MAX_CARD_H = 260.0  # stage cards stay card-shaped on a tall page


class Pack(PackModel):
    stages: list[Item]


def lower(form: str, knobs: dict[str, Any], pack: ContentPack | None) -> list[Component]:
    n = knobs["stages"]
    comps = [Component("stage", f"stages.{i}") for i in range(n)]
    if knobs["arrows"]:
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


def _pack(title: str, subtitle: str, stages, footer: str = "") -> dict:
    return {
        "title": title,
        "subtitle": subtitle,
        "stages": [{"label": a, "detail": b} for a, b in stages],
        "footer": footer,
    }


TOPICS = (
    Topic(
        "release_history",
        _pack(
            "From prototype to a shipped model",
            "Six months of a small specialist model team",
            [
                ("Scope", "Pick one artifact family and write its contract"),
                ("Data", "Generate rows and hidden holdout combinations"),
                ("Tokenizer", "Reserve every structural atom as one token"),
                ("Pretrain", "Teach the grammar on every row"),
                ("SFT", "Mask loss to targets and sharpen routing"),
                ("Probe", "Measure exact, renderable and dirty-tail rates"),
                ("Ship", "Export weights and publish the report"),
            ],
            "Each stage leaves artifacts a reviewer can open without rerunning anything.",
        ),
        ("our release history", "how the model shipped"),
    ),
    Topic(
        "project_roadmap",
        _pack(
            "Roadmap for the next two quarters",
            "What the team builds, in order",
            [
                ("Families", "Eight diagram families"),
                ("Topics", "Content packs per family"),
                ("Language", "Prompts as sentences"),
                ("Repair", "Retrain on the misses"),
                ("Serve", "A playground for users"),
            ],
        ),
        ("the project roadmap", "our plan for the next quarters"),
    ),
    Topic(
        "incident_response",
        _pack(
            "Handling a production incident",
            "From the first alert to the follow-up work",
            [
                ("Detect", "An alert fires on error rate"),
                ("Triage", "Find the owner and the blast radius"),
                ("Mitigate", "Roll back or shed load"),
                ("Resolve", "Fix the cause"),
                ("Review", "Blameless write-up"),
                ("Follow up", "Tickets with owners and dates"),
            ],
            "Time to mitigate matters more than time to resolve.",
        ),
        ("incident response", "how we handle an outage"),
    ),
    Topic(
        "onboarding_plan",
        _pack(
            "A new engineer's first month",
            "One focus per week",
            [
                ("Week 1", "Laptop, access, first small fix"),
                ("Week 2", "Read the design and the runs"),
                ("Week 3", "Own one issue end to end"),
                ("Week 4", "Present a run report"),
            ],
            "A buddy answers questions every day of the month.",
        ),
        ("an onboarding plan", "the first month of a new hire"),
    ),
    Topic(
        "training_run",
        _pack(
            "One training run, start to finish",
            "The steps svglm runs for every model",
            [
                ("Data", "Rows, splits and QC gates"),
                ("Tokenizer", "BPE with reserved atoms"),
                ("Plan", "Preflight arithmetic"),
                ("Train", "Stages with checkpoints"),
                ("Probe", "Visible and hidden cases"),
                ("Report", "One static page"),
            ],
        ),
        ("a training run", "the steps of one run"),
    ),
    Topic(
        "product_launch",
        _pack(
            "Launching the drawing assistant",
            "Three milestones to general availability",
            [
                ("Beta", "Fifty invited teams"),
                ("Launch", "Open to everyone"),
                ("Retro", "What to keep and what to change"),
            ],
            "Dates move; the order does not.",
        ),
        ("a product launch", "the launch milestones"),
    ),
)

FAMILY = DiagramFamily(
    name="timeline",
    forms=(
        Form(
            "milestone_chain",
            "mark_milestones",
            milestone_chain,
            ("a milestone chain", "milestones on a line"),
        ),
        Form(
            "stage_sequence", "walk_stages", stage_sequence, ("a stage sequence", "a row of stages")
        ),
    ),
    knobs=(
        Knob("stages", 3, 7, content="stages"),
        Knob("arrows", 0, 1, phrases=((1, ("arrows between stages", "joining arrows")),)),
        Knob("footer", 0, 1, content="footer"),
    ),
    kinds=(ComponentKind("stage"), ComponentKind("arrow", path=False, indexes="stage")),
    lower=lower,
    topics=TOPICS,
    pack=Pack,
    nouns=("a timeline", "a time line"),
    content=TOPICS[0].pack,
)
