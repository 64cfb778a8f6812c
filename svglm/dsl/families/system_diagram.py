"""System diagrams: stages joined by arrows, optional feedback links and a terminal.

Forms: `linear_pipeline` (one row), `build_path` (a serpentine: left to right, then right to
left) and `selection_path` (a source fanning out to candidates, the last one selected).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from svglm.dsl.canvas import MARGIN, Box, Canvas, num, row_boxes, wrap
from svglm.dsl.content import ContentPack, Item, PackModel, Text
from svglm.dsl.family import DiagramFamily, Form, Topic
from svglm.dsl.schema import Component, ComponentKind, Knob

LANE = 26  # vertical distance between link lanes
ARROW_GAP = 34.0  # the least gap between stages that leaves room for an arrowhead
MAX_STAGE_H = 170.0  # stage cards stay card-shaped on a tall page
MAX_ROW_H = 150.0  # the same for the two rows of a serpentine and a selection's source
PILL_H = 70.0  # the terminal is a pill, lower than a stage card


# -- content ------------------------------------------------------------------------------------
class Link(BaseModel):
    """A feedback edge from the last stage back to stage `to` (a topic's own wiring)."""

    model_config = ConfigDict(extra="forbid")
    label: str = Text
    to: int | None = Field(None, ge=0)


class Pack(PackModel):
    stages: list[Item]
    links: list[Link] = []
    terminal: str = ""

    @model_validator(mode="after")
    def _links_return_upstream(self) -> Pack:
        for link in self.links:
            if link.to is not None and link.to >= len(self.stages) - 1:
                raise ValueError(f"link {link.label!r} must return to a stage before the last")
        return self


# -- lowering -----------------------------------------------------------------------------------
def lower(form: str, knobs: dict[str, Any], pack: ContentPack | None) -> list[Component]:
    n = knobs["stages"]
    comps = [Component("stage", f"stages.{i}") for i in range(n)]
    if form == "selection_path":
        # One source fans out to candidates; the last candidate is the one selected.
        edges = [(0, i) for i in range(1, n)]
    else:
        edges = [(i, i + 1) for i in range(n - 1)]
    comps += [Component("arrow", None, (("from", s), ("to", t))) for s, t in edges]
    # Links are feedback edges from the last stage: back to stage k, or where the topic says.
    for k in range(knobs["links"]):
        to = k if pack is None or pack["links"][k].get("to") is None else pack["links"][k]["to"]
        comps.append(Component("link", f"links.{k}", (("from", n - 1), ("to", to))))
    if knobs["terminal"]:
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
        label = wrap(cv.label(terminal[0].path), box.w - 24, 16, 1, bold=True)
        cv.text(box.cx, box.cy + 6, label, 16, pal.bg, "700", "middle")
        cv.add("</g>")
        cv.arrow(boxes[n - 1], box, n - 1, n, pal.muted)
    for k, link in enumerate(scene.of_kind("link")):
        _route_link(cv, boxes, link.arg("from"), link.arg("to"), k, cv.label(link.path))


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


def _pack(title, subtitle, stages, links=(), terminal="", footer="") -> dict:
    return {
        "title": title,
        "subtitle": subtitle,
        "stages": [{"label": a, "detail": b} for a, b in stages],
        "links": [{"label": a, "to": t} for a, t in links],
        "terminal": terminal,
        "footer": footer,
    }


TOPICS = (
    Topic(
        "prompt_to_picture",
        _pack(
            "How a prompt becomes a picture",
            "The model chooses structure; the compiler owns geometry",
            [
                ("Prompt", "Intent or explicit atoms"),
                ("Decoder", "Small transformer, KV cache"),
                ("Parser", "Strict bundle grammar"),
                ("Lowering", "Bundle to scene components"),
                ("Compiler", "Scene plus content to SVG"),
                ("Renderer", "Independent rasterizer check"),
            ],
            [("retry on parse error", 2), ("feedback from probes", 1)],
            "Report",
            "Every arrow is a contract that a probe checks.",
        ),
        ("how a prompt becomes a picture", "the path from prompt to picture"),
    ),
    Topic(
        "data_pipeline",
        _pack(
            "The nightly data pipeline",
            "Raw events to a table analysts trust",
            [
                ("Ingest", "Pull events from queues"),
                ("Validate", "Schema and range checks"),
                ("Deduplicate", "Drop replays by event id"),
                ("Enrich", "Join account data"),
                ("Publish", "Write the daily table"),
            ],
            [("reprocess rejected rows", 1)],
            "Warehouse",
        ),
        ("a data pipeline", "our nightly data pipeline"),
    ),
    Topic(
        "build_system",
        _pack(
            "How a commit becomes a release",
            "The build system from checkout to artifacts",
            [
                ("Checkout", "Pinned revision"),
                ("Resolve", "Lock dependencies"),
                ("Compile", "Cached per target"),
                ("Test", "Unit, then integration"),
                ("Package", "Wheels and images"),
                ("Sign", "Provenance attached"),
            ],
            [("invalidate the cache", 2), ("rebuild on a flaky test", 3)],
            "Release",
            "A green build is reproducible from its lock file alone.",
        ),
        ("the build system", "how our builds work"),
    ),
    Topic(
        "ci_checks",
        _pack(
            "Checks on every pull request",
            "What runs before a merge is allowed",
            [
                ("Lint", "Style and imports"),
                ("Types", "Static checks"),
                ("Tests", "The whole suite"),
                ("Review", "One approving reviewer"),
            ],
            [("push a fix", 0)],
            "Merge",
        ),
        ("pull request checks", "our continuous integration"),
    ),
    Topic(
        "request_path",
        _pack(
            "One request through the service",
            "From the load balancer to the database and back",
            [
                ("Balancer", "TLS ends here"),
                ("Service", "Authenticates and routes"),
                ("Database", "One indexed query"),
            ],
            [],
            "Response",
        ),
        ("the path of a request", "how a request is served"),
    ),
    Topic(
        "eval_loop",
        _pack(
            "The evaluation loop",
            "How a model improves between releases",
            [
                ("Train", "A run from its config"),
                ("Probe", "Visible and hidden cases"),
                ("Autopsy", "Every miss in one class"),
                ("Repair", "Targeted rows"),
                ("Compare", "Before and after"),
            ],
            [("retrain with repairs", 0), ("probe again", 1)],
            "",
            "Loss is not the contract; probe scores are.",
        ),
        ("the evaluation loop", "how a model gets better"),
    ),
)

FAMILY = DiagramFamily(
    name="system_diagram",
    forms=(
        Form(
            "linear_pipeline",
            "trace_flow",
            linear_pipeline,
            ("a linear pipeline", "one row of stages"),
        ),
        Form("build_path", "show_build", build_path, ("a build path", "a winding path")),
        Form(
            "selection_path",
            "explain_choice",
            selection_path,
            ("a selection path", "a fan of choices"),
        ),
    ),
    knobs=(
        Knob("stages", 3, 6, content="stages"),
        Knob("links", 0, 2, content="links"),
        Knob("terminal", 0, 1, content="terminal"),
        Knob("footer", 0, 1, content="footer"),
    ),
    kinds=(
        ComponentKind("stage"),
        ComponentKind("arrow", path=False, indexes="stage"),
        ComponentKind("link", indexes="stage"),
        ComponentKind("terminal"),
    ),
    lower=lower,
    topics=TOPICS,
    pack=Pack,
    nouns=("a system diagram", "a flow diagram"),
    content={**TOPICS[0].pack, "links": [{"label": x["label"]} for x in TOPICS[0].pack["links"]]},
)
