"""Decision trees: questions that branch to outcomes. Trees are complete: every question has
`branching` answers and every path is `depth` answers long, so a tree has branching**depth
leaves (at most nine fit a page). Each leaf's kind (good, bad or neutral) comes from the
content and decides how it is drawn.

Forms: `top_down` (the root at the top, leaves along the bottom) and `left_right` (the root at
the left, leaves down the right edge). Nodes are listed breadth-first; branch k leads into
node k+1 and carries the answer that leads there.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from svglm.dsl.canvas import Box, Canvas, num
from svglm.dsl.content import ContentPack, Item, PackModel
from svglm.dsl.family import DiagramFamily, Form, Topic
from svglm.dsl.schema import Component, ComponentKind, Knob

MAX_LEAVES = 9
MAX_NODE_H = 76.0  # a node stays box-shaped on a tall page
MAX_NODE_W = 230.0  # a question stays readable rather than page-wide
EDGE_ROOM = 64.0  # the gap between the columns of a left-to-right tree, for answers
MARKED_LEAF_W = 110.0  # leaves at least this wide show their outcome's mark
Outcome = Literal["good", "bad", "neutral"]


# -- content ------------------------------------------------------------------------------------
class Node(Item):
    outcome: Outcome | None = Field(None, description="a leaf's kind; questions leave it out")


class Pack(PackModel):
    depth: int = Field(ge=1)
    branching: int = Field(ge=2)
    nodes: list[Node] = Field(
        description="breadth-first: the root, the nodes its answers lead to, theirs, ..."
    )
    branches: list[str] = Field(description="the answer on the branch into node k+1")

    @model_validator(mode="after")
    def _complete_tree(self) -> Pack:
        n = tree_size(self.depth, self.branching)
        if len(self.nodes) != n:
            raise ValueError(
                f"a tree of depth {self.depth} and branching {self.branching} has {n} nodes"
            )
        if len(self.branches) != n - 1:
            raise ValueError(f"a tree of {n} nodes has {n - 1} branches")
        return self


def tree_size(depth: int, branching: int) -> int:
    return sum(branching**d for d in range(depth + 1))


def limit(knobs: dict[str, Any]) -> str | None:
    """Why a tree of this shape cannot be drawn, or None."""
    b, d = knobs["branching"], knobs["depth"]
    if b**d > MAX_LEAVES:
        return f"branching {b} at depth {d} makes {b**d} leaves; at most {MAX_LEAVES} fit"
    return None


# -- lowering -----------------------------------------------------------------------------------
def lower(form: str, knobs: dict[str, Any], pack: ContentPack | None) -> list[Component]:
    b, n = knobs["branching"], tree_size(knobs["depth"], knobs["branching"])
    comps = [Component("node", f"nodes.{i}") for i in range(n)]
    comps += [
        Component("branch", f"branches.{k - 1}", (("from", (k - 1) // b), ("to", k)))
        for k in range(1, n)
    ]
    return comps


# -- shape of the drawn tree --------------------------------------------------------------------
def _tree(cv: Canvas) -> tuple[list[list[int]], list[int], list[float]]:
    """From the scene's branches: each node's children, its level, and its position across
    the leaves (leaves take 0, 1, 2... in depth-first order; a question sits over the middle
    of its children)."""
    n = len(cv.scene.of_kind("node"))
    children: list[list[int]] = [[] for _ in range(n)]
    level = [0] * n
    for br in cv.scene.of_kind("branch"):
        children[br.arg("from")].append(br.arg("to"))
    slot = [0.0] * n
    leaves = 0

    def place(i: int) -> None:
        nonlocal leaves
        for c in children[i]:
            level[c] = level[i] + 1
            place(c)
        if children[i]:
            slot[i] = (slot[children[i][0]] + slot[children[i][-1]]) / 2
        else:
            slot[i], leaves = float(leaves), leaves + 1

    place(0)
    return children, level, slot


def _node(cv: Canvas, i: int, box: Box, leaf: bool) -> None:
    """A question as a card; a leaf as a pill whose mark shows its outcome."""
    pal, item = cv.pal, cv.value(cv.scene.of_kind("node")[i].path)
    outcome = (item.get("outcome") or "neutral") if leaf else None
    cv.add(f'<g data-node="{i}">')
    if not leaf:
        cv.rect(box, pal.surface, pal.accent(0), 10, ' stroke-width="2"')
    else:
        stroke = {"good": pal.accent(1), "bad": pal.muted, "neutral": pal.border}[outcome]
        dash = ' stroke-dasharray="5 3"' if outcome == "bad" else ""
        cv.rect(box, pal.bg2, stroke, min(box.h / 2, 18), f' stroke-width="2"{dash}')
    pad = min(cv.pad, 8.0)
    mark = 14.0 if leaf and box.w >= MARKED_LEAF_W else 0.0  # narrow leaves: the border tells
    inner = Box(box.x + pad + mark, box.y + 3, box.w - 2 * pad - mark, box.h - 6)
    detail = item.get("detail", "")
    if detail and inner.h >= 3 * cv.fs * 1.25 and inner.w >= 120:
        head = Box(inner.x, inner.y, inner.w, inner.h * 0.55)
        cv.text_block(head, item["label"], cv.fs + 1, pal.ink, "700", "middle", 2, smallest=9)
        rest = Box(inner.x, head.bottom, inner.w, inner.h - head.h)
        cv.text_block(rest, detail, cv.fs - 1, pal.muted, "400", "middle", 2, smallest=9)
    else:
        cv.text_block(inner, item["label"], cv.fs + 1, pal.ink, "700", "middle", 3, smallest=9)
    if mark:
        cx, cy, r = box.x + pad / 2 + 8, box.cy, 5.0
        dot = f'<circle cx="{num(cx)}" cy="{num(cy)}" r="{num(r)}"'
        if outcome == "good":
            cv.add(f'{dot} fill="{pal.accent(1)}"{cv.glow}/>')
        elif outcome == "bad":  # a cross
            a, b = f"{num(cx - r)} {num(cy - r)}", f"{num(cx + r)} {num(cy + r)}"
            c, d = f"{num(cx + r)} {num(cy - r)}", f"{num(cx - r)} {num(cy + r)}"
            cv.add(f'<path d="M {a} L {b} M {c} L {d}" stroke="{pal.muted}" stroke-width="2"/>')
        else:
            cv.add(f'{dot} fill="none" stroke="{pal.muted}" stroke-width="1.5"/>')
    cv.add("</g>")


def _branch(cv: Canvas, boxes: list[Box], comp: Component, down: bool, tag_w: float) -> None:
    """The edge from a question to an answer's node, the answer on a tag along it (at most
    `tag_w` wide, so that the tags of sibling branches do not touch)."""
    i, j = comp.arg("from"), comp.arg("to")
    a, b = boxes[i], boxes[j]
    x1, y1, x2, y2 = (a.cx, a.bottom, b.cx, b.y) if down else (a.right, a.cy, b.x, b.cy)
    cv.add(
        f'<path d="M {num(x1)} {num(y1)} L {num(x2)} {num(y2)}" stroke="{cv.pal.muted}" '
        f'stroke-width="1.6" fill="none" marker-end="url(#arrowhead)" '
        f'data-from="{i}" data-to="{j}"/>'
    )
    answer = cv.label(comp.path)
    t = 0.7 if down else 0.55  # where siblings' edges have spread apart
    mx, my = x1 + (x2 - x1) * t, y1 + (y2 - y1) * t
    w = min(tag_w, 12 + 7.0 * len(answer))
    tag = Box(mx - w / 2, my - 9, w, 18)
    cv.rect(tag, cv.pal.bg, cv.pal.border, 9)
    cv.text_block(
        Box(tag.x + 4, tag.y, tag.w - 8, tag.h),
        answer,
        11,
        cv.pal.ink,
        "600",
        "middle",
        1,
        smallest=8,
    )


# -- one layout per form ------------------------------------------------------------------------
def top_down(cv: Canvas) -> None:
    children, level, slot = _tree(cv)
    n, levels = len(level), max(level) + 1
    leaves = sum(1 for c in children if not c)
    row_gap = max(cv.gap * 2, 44.0)  # room for the answers on the branches
    h = min(MAX_NODE_H, (cv.bottom - cv.top - row_gap * (levels - 1)) / levels)
    top = cv.top + (cv.bottom - cv.top - h * levels - row_gap * (levels - 1)) / 2
    step = cv.width / leaves
    boxes = []
    for i in range(n):
        span = step * (len(children[i]) or 1)
        gap = min(cv.gap, 10.0)  # up to nine leaves share the width
        w = min(MAX_NODE_W, span - gap) if children[i] else step - gap
        cx = cv.left + step * (slot[i] + 0.5)
        boxes.append(Box(cx - w / 2, top + level[i] * (h + row_gap), w, h))
    for comp in cv.scene.of_kind("branch"):
        _branch(cv, boxes, comp, down=True, tag_w=max(36.0, 0.6 * step))
    for i, box in enumerate(boxes):
        _node(cv, i, box, leaf=not children[i])


def left_right(cv: Canvas) -> None:
    children, level, slot = _tree(cv)
    n, levels = len(level), max(level) + 1
    leaves = sum(1 for c in children if not c)
    col_w = (cv.width - EDGE_ROOM * (levels - 1)) / levels
    step = (cv.bottom - cv.top) / leaves
    boxes = []
    for i in range(n):
        h = min(MAX_NODE_H, step * (len(children[i]) or 1) - cv.gap / 2)
        cy = cv.top + step * (slot[i] + 0.5)
        boxes.append(Box(cv.left + level[i] * (col_w + EDGE_ROOM), cy - h / 2, col_w, h))
    for comp in cv.scene.of_kind("branch"):
        _branch(cv, boxes, comp, down=False, tag_w=EDGE_ROOM - 8)
    for i, box in enumerate(boxes):
        _node(cv, i, box, leaf=not children[i])


# -- topics -------------------------------------------------------------------------------------
def _pack(title, subtitle, depth, branching, nodes, branches, footer="") -> dict:
    """`nodes` breadth-first as (label, detail) for questions, (label, detail, outcome) for
    leaves."""
    return {
        "title": title,
        "subtitle": subtitle,
        "depth": depth,
        "branching": branching,
        "nodes": [
            {"label": n[0], "detail": n[1], **({"outcome": n[2]} if len(n) > 2 else {})}
            for n in nodes
        ],
        "branches": list(branches),
        "footer": footer,
    }


YES_NO = ("yes", "no")

TOPICS = (
    Topic(
        "model_choice",
        _pack(
            "Which model should we train?",
            "Three questions before any compute is spent",
            3,
            2,
            [
                ("Fixed output language?", "A DSL, tokens or canonical SVG"),
                ("Under ten families?", "Each with its own forms"),
                ("Long free text?", "Paragraphs, not labels"),
                ("CPU only?", ""),
                ("Topics shared?", ""),
                ("Need tools?", ""),
                ("Latency budget?", ""),
                ("Small specialist", "Minutes on a laptop", "good"),
                ("Small, more steps", "An hour on a laptop", "good"),
                ("Specialist per group", "", "neutral"),
                ("One wider model", "", "neutral"),
                ("Fine-tune a base", "", "neutral"),
                ("Agent with a compiler", "", "neutral"),
                ("Distil a large model", "", "neutral"),
                ("Use a hosted model", "", "bad"),
            ],
            YES_NO * 7,
            "Every leaf still ends with a probe before it ships.",
        ),
        ("which model to train", "choosing a model to train"),
    ),
    Topic(
        "refund_policy",
        _pack(
            "Can this order be refunded?",
            "The support team's refund policy",
            2,
            2,
            [
                ("Bought in the last 30 days?", ""),
                ("Item unused?", ""),
                ("Arrived damaged?", ""),
                ("Full refund", "Back to the card", "good"),
                ("Store credit", "Minus a restocking fee", "neutral"),
                ("Replacement", "Shipped free", "good"),
                ("No refund", "Offer a repair", "bad"),
            ],
            YES_NO * 3,
        ),
        ("our refund policy", "when an order can be refunded"),
    ),
    Topic(
        "bug_triage",
        _pack(
            "Triage for a new bug",
            "Severity first, then who it hurts",
            2,
            3,
            [
                ("How severe is it?", ""),
                ("Who is hit?", ""),
                ("Is there a workaround?", ""),
                ("Seen before?", ""),
                ("Page on call", "", "bad"),
                ("Hotfix today", "", "neutral"),
                ("Call the user", "", "neutral"),
                ("Fix this sprint", "", "neutral"),
                ("Document it", "", "good"),
                ("Backlog", "", "good"),
                ("Add a test", "", "good"),
                ("Watch it", "", "neutral"),
                ("Fix the root cause", "", "neutral"),
            ],
            [
                "critical",
                "major",
                "minor",
                "everyone",
                "one team",
                "one user",
                "none",
                "manual",
                "easy",
                "never",
                "once",
                "often",
            ],
            "Severity is set by impact, not by who reported it.",
        ),
        ("bug triage", "how we triage bugs"),
    ),
    Topic(
        "chart_picker",
        _pack(
            "Which picture fits the data?",
            "Start from what the reader should see",
            1,
            3,
            [
                ("What should the reader see?", "One question decides the family"),
                ("A bar chart", "Amounts side by side", "good"),
                ("A timeline", "Order over time", "good"),
                ("A memory map", "Parts of a whole", "good"),
            ],
            ["amounts", "order", "parts"],
        ),
        ("which chart to pick", "picking the right picture"),
    ),
    Topic(
        "release_gate",
        _pack(
            "May this model ship?",
            "The last gate before export",
            1,
            2,
            [
                ("Hidden exact at least 90%?", "Measured on the held-out probe"),
                ("Ship it", "Export and publish the report", "good"),
                ("Repair and retrain", "Follow the autopsy", "bad"),
            ],
            YES_NO,
            "The dev split picks checkpoints; the hidden split only judges them.",
        ),
        ("the release gate", "whether a model may ship"),
    ),
    Topic(
        "oncall_escalation",
        _pack(
            "When to wake someone up",
            "On-call escalation after an alert",
            2,
            2,
            [
                ("Users affected now?", ""),
                ("Can you mitigate alone?", ""),
                ("Will it get worse tonight?", ""),
                ("Mitigate, then write it up", "", "neutral"),
                ("Page the owner", "", "bad"),
                ("Page the owner", "", "bad"),
                ("Ticket for the morning", "", "good"),
            ],
            YES_NO * 3,
        ),
        ("on call escalation", "when to page someone"),
    ),
)

FAMILY = DiagramFamily(
    name="decision_tree",
    forms=(
        Form("top_down", "guide_decision", top_down, ("a top down tree", "a tree from the top")),
        Form("left_right", "map_choices", left_right, ("a sideways tree", "a tree from the left")),
    ),
    knobs=(
        Knob("depth", 1, 3, content="depth"),
        Knob("branching", 2, 3, content="branching"),
        Knob("footer", 0, 1, content="footer"),
    ),
    kinds=(ComponentKind("node"), ComponentKind("branch", indexes="node")),
    lower=lower,
    topics=TOPICS,
    pack=Pack,
    nouns=("a decision tree", "a flow of questions"),
    max_index=tree_size(3, 2) - 1,
    limit=limit,
    content=TOPICS[0].pack,
)
