"""System diagrams: stages joined by arrows, optional feedback links and a terminal.

Forms: `linear_pipeline` (one row), `build_path` (a serpentine: left to right, then right to
left) and `selection_path` (a source fanning out to candidates, the last one selected).
"""

from __future__ import annotations

from svglm.dsl.canvas import MARGIN, Box, Canvas, num, row_boxes, wrap
from svglm.dsl.family import DiagramFamily, Form
from svglm.dsl.schema import Component, ComponentKind, Knob

LANE = 26  # vertical distance between link lanes
ARROW_GAP = 34.0  # the least gap between stages that leaves room for an arrowhead
MAX_STAGE_H = 170.0  # stage cards stay card-shaped on a tall page
MAX_ROW_H = 150.0  # the same for the two rows of a serpentine and a selection's source
PILL_H = 70.0  # the terminal is a pill, lower than a stage card


# -- lowering -----------------------------------------------------------------------------------
def lower(form: str, counts: dict[str, int]) -> list[Component]:
    n = counts["stages"]
    comps = [Component("stage", f"stages.{i}") for i in range(n)]
    if form == "selection_path":
        # One source fans out to candidates; the last candidate is the one selected.
        edges = [(0, i) for i in range(1, n)]
    else:
        edges = [(i, i + 1) for i in range(n - 1)]
    comps += [Component("arrow", None, (("from", s), ("to", t))) for s, t in edges]
    # Links are feedback edges: link k returns from the last stage to stage k.
    for k in range(counts["links"]):
        comps.append(Component("link", f"links.{k}", (("from", n - 1), ("to", k))))
    if counts["terminal"]:
        comps.append(Component("terminal", "terminal"))
    return comps


# -- layout helpers -----------------------------------------------------------------------------
def _area(cv: Canvas) -> tuple[float, float]:
    """Top and bottom of the node area: link lanes take room above and below it."""
    links = cv.scene.of_kind("link")
    lane_room = LANE * len(links) + (8 if links else 0)
    return cv.top + lane_room, cv.bottom - lane_room


def _slots(cv: Canvas) -> int:
    """Node positions to place: every stage, plus the terminal when there is one."""
    return len(cv.scene.of_kind("stage")) + len(cv.scene.of_kind("terminal"))


def _terminal_as_pill(cv: Canvas, boxes: list[Box]) -> list[Box]:
    """In a row layout the terminal takes a stage's slot, drawn as a pill centred in it."""
    n = len(cv.scene.of_kind("stage"))
    if len(boxes) > n:
        slot = boxes[n]
        boxes[n] = Box(slot.x, slot.cy - PILL_H / 2, slot.w, PILL_H)
    return boxes


def _draw(cv: Canvas, boxes: list[Box]) -> None:
    """Stages, their arrows, the terminal and the feedback links, given every node's box."""
    scene, pal = cv.scene, cv.pal
    stages, terminal = scene.of_kind("stage"), scene.of_kind("terminal")
    for i, comp in enumerate(stages):
        cv.label_box(boxes[i], comp.path, pal.accent(i), i)
    for a in scene.of_kind("arrow"):
        cv.arrow(boxes[a.arg("from")], boxes[a.arg("to")], a.arg("from"), a.arg("to"), pal.muted)
    n = len(stages)
    if terminal:
        box = boxes[n]
        cv.add(f'<g data-node="{n}">')
        cv.rect(box, pal.accent(n), pal.accent(n), PILL_H / 2)
        label = wrap(str(cv.value(terminal[0].path)), box.w - 24, 16, 1, bold=True)
        cv.text(box.cx, box.cy + 6, label, 16, pal.bg, "700", "middle")
        cv.add("</g>")
        cv.arrow(boxes[n - 1], box, n - 1, n, pal.muted)
    for k, link in enumerate(scene.of_kind("link")):
        _route_link(cv, boxes, link.arg("from"), link.arg("to"), k, str(cv.value(link.path)))


def _route_link(cv: Canvas, boxes: list[Box], i: int, j: int, k: int, label: str) -> None:
    """A dashed feedback edge routed around every node: down to a lane below all boxes, then
    straight up into the target if nothing stands below it, else around the left margin and
    down into the target from a lane above all boxes. Link k uses lane k and is offset by 8k
    pixels, so several links never share a segment."""
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


# -- one layout per form ------------------------------------------------------------------------
def linear_pipeline(cv: Canvas) -> None:
    """Every node in one row, vertically centred."""
    top, bottom = _area(cv)
    gap = max(cv.gap, ARROW_GAP)
    h = min(bottom - top, MAX_STAGE_H)
    boxes = row_boxes(_slots(cv), cv.left, top + (bottom - top - h) / 2, cv.width, h, gap)
    _draw(cv, _terminal_as_pill(cv, boxes))


def build_path(cv: Canvas) -> None:
    """A serpentine: the first half left to right, the second half right to left below it."""
    top, bottom = _area(cv)
    gap = max(cv.gap, ARROW_GAP)
    slots = _slots(cv)
    cols = (slots + 1) // 2
    h = min((bottom - top - 2 * gap) / 2, MAX_ROW_H)
    y0 = top + (bottom - top - 2 * h - 2 * gap) / 2
    row1 = row_boxes(cols, cv.left, y0, cv.width, h, gap)
    row2 = row_boxes(cols, cv.left, y0 + h + 2 * gap, cv.width, h, gap)[::-1]
    _draw(cv, _terminal_as_pill(cv, (row1 + row2)[:slots]))


def selection_path(cv: Canvas) -> None:
    """Three columns: the source, the candidates stacked, then the terminal."""
    top, bottom = _area(cv)
    gap = max(cv.gap, ARROW_GAP)
    col_w = (cv.width - 2 * gap * 2) / 3
    candidates = len(cv.scene.of_kind("stage")) - 1
    ch = (bottom - top - cv.gap * (candidates - 1)) / candidates
    src_h = min(bottom - top, MAX_ROW_H)
    boxes = [Box(cv.left, top + (bottom - top - src_h) / 2, col_w, src_h)]
    boxes += [
        Box(cv.left + col_w + 2 * gap, top + i * (ch + cv.gap), col_w, ch)
        for i in range(candidates)
    ]
    if cv.scene.of_kind("terminal"):
        x = cv.left + 2 * (col_w + 2 * gap)
        boxes.append(Box(x, top + (bottom - top - PILL_H) / 2, col_w, PILL_H))
    _draw(cv, boxes)


FAMILY = DiagramFamily(
    name="system_diagram",
    forms=(
        Form("linear_pipeline", goal="trace_flow", layout=linear_pipeline),
        Form("build_path", goal="show_build", layout=build_path),
        Form("selection_path", goal="explain_choice", layout=selection_path),
    ),
    knobs=(Knob("stages", 3, 6), Knob("links", 0, 2), Knob("terminal", 0, 1), Knob("footer", 0, 1)),
    kinds=(
        ComponentKind("stage"),
        ComponentKind("arrow", path=False, indexes="stage"),
        ComponentKind("link", indexes="stage"),
        ComponentKind("terminal"),
    ),
    lower=lower,
    topics=("data_pipeline", "build_system"),
    content={
        "title": "How a prompt becomes a picture",
        "subtitle": "The model chooses structure; the compiler owns geometry",
        "stages": [
            {"label": "Prompt", "detail": "Intent or explicit atoms"},
            {"label": "Decoder", "detail": "Small transformer, KV cache"},
            {"label": "Parser", "detail": "Strict bundle grammar"},
            {"label": "Lowering", "detail": "Bundle to scene components"},
            {"label": "Compiler", "detail": "Scene plus content to SVG"},
            {"label": "Renderer", "detail": "Independent rasterizer check"},
        ],
        "links": ["retry on parse error", "feedback from probes"],
        "terminal": "Report",
        "footer": "Every arrow is a contract that a probe checks.",
    },
)
