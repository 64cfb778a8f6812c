"""Comparison boards: options side by side, rated on rows of criteria, with a verdict.

Forms: `feature_grid` (a table: options across, criteria down, a mark in every cell) and
`scorecard` (a card per option listing every criterion with its mark). Ratings are the
content's scores (0 to 3); the verdict names the winning option, which both forms single out.
The `marks` knob draws a score as dots or as a meter bar.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from svglm.dsl.canvas import Box, Canvas, num, row_boxes
from svglm.dsl.content import ContentPack, Item, PackModel, Text
from svglm.dsl.family import DiagramFamily, Form, Topic
from svglm.dsl.schema import Component, ComponentKind, Knob

TOP_SCORE = 3
HEADER_H = 88.0  # the option headers over a feature grid, and the head of a scorecard
VERDICT_H = 58.0
MAX_ROW_H = 52.0  # a criterion row stays row-shaped with few criteria
LABEL_SHARE = 0.3  # the criteria column's share of the grid's width


# -- content ------------------------------------------------------------------------------------
class Verdict(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Text
    winner: int = Field(ge=0, description="the option it picks: an index into columns")


class Pack(PackModel):
    columns: list[Item] = Field(description="the options compared")
    criteria: list[Item]
    scores: list[list[int]] = Field(
        description=f"one row per criterion, one score (0..{TOP_SCORE}) per column"
    )
    verdict: Verdict | None = None

    @model_validator(mode="after")
    def _scores_fill_the_grid(self) -> Pack:
        if len(self.scores) != len(self.criteria):
            raise ValueError("scores needs one row per criterion")
        for row in self.scores:
            if len(row) != len(self.columns) or not all(0 <= s <= TOP_SCORE for s in row):
                raise ValueError(f"each scores row needs one 0..{TOP_SCORE} per column")
        if self.verdict is not None and self.verdict.winner >= len(self.columns):
            raise ValueError("verdict.winner must index a column")
        return self


# -- lowering -----------------------------------------------------------------------------------
def lower(form: str, knobs: dict[str, Any], pack: ContentPack | None) -> list[Component]:
    comps = [Component("column", f"columns.{j}") for j in range(knobs["columns"])]
    comps += [Component("criterion", f"criteria.{i}") for i in range(knobs["criteria"])]
    if knobs["verdict"]:
        comps.append(Component("verdict", "verdict"))
    return comps


# -- drawing helpers ----------------------------------------------------------------------------
def _winner(cv: Canvas) -> int | None:
    """The column the verdict picks, if the scene has a verdict and draws that column."""
    verdict = cv.scene.of_kind("verdict")
    if not verdict:
        return None
    winner = cv.value(verdict[0].path)["winner"]
    return winner if winner < len(cv.scene.of_kind("column")) else None


def _score(cv: Canvas, i: int, j: int) -> int:
    return cv.content["scores"][i][j]


def _mark(cv: Canvas, box: Box, score: int, colour: str) -> None:
    """A score drawn in `box` as filled dots or as a meter, per the `marks` knob."""
    if cv.setting("marks") == "dots":
        r = min(box.h / 2 - 2, 7.0)
        for k in range(TOP_SCORE):
            cx = box.cx + (k - (TOP_SCORE - 1) / 2) * (2 * r + 6)
            fill = colour if k < score else "none"
            cv.add(
                f'<circle cx="{num(cx)}" cy="{num(box.cy)}" r="{num(r)}" fill="{fill}" '
                f'stroke="{colour}" stroke-width="1.5"/>'
            )
        return
    w, h = min(box.w, 120.0), 8.0
    x = box.cx - w / 2
    cv.add(
        f'<rect x="{num(x)}" y="{num(box.cy - h / 2)}" width="{num(w)}" height="{num(h)}" '
        f'rx="4" fill="{cv.pal.border}"/>'
    )
    if score:
        cv.add(
            f'<rect x="{num(x)}" y="{num(box.cy - h / 2)}" width="{num(w * score / TOP_SCORE)}" '
            f'height="{num(h)}" rx="4" fill="{colour}"{cv.glow}/>'
        )


def _verdict(cv: Canvas) -> float:
    """The verdict banner at the bottom; returns where the board above it ends."""
    verdict = cv.scene.of_kind("verdict")
    if not verdict:
        return cv.bottom
    box = Box(cv.left, cv.bottom - VERDICT_H, cv.width, VERDICT_H)
    winner = _winner(cv)
    accent = cv.pal.accent(winner if winner is not None else 0)
    cv.add('<g data-node="200">')
    cv.rect(box, cv.pal.surface, accent, 10, ' stroke-width="2"')
    cv.add(
        f'<rect x="{num(box.x)}" y="{num(box.y)}" width="8" height="{num(box.h)}" rx="4" '
        f'fill="{accent}"{cv.glow}/>'
    )
    inner = Box(box.x + 8 + 2 * cv.pad, box.y + 4, box.w - 8 - 4 * cv.pad, box.h - 8)
    cv.text_block(inner, cv.label(verdict[0].path), cv.fs + 2, cv.pal.ink, "700")
    cv.add("</g>")
    return box.y - cv.gap


# -- one layout per form ------------------------------------------------------------------------
def feature_grid(cv: Canvas) -> None:
    """Options across the top, criteria down the left, a mark where they meet; the winning
    option's column is tinted."""
    pal = cv.pal
    columns, criteria = cv.scene.of_kind("column"), cv.scene.of_kind("criterion")
    bottom = _verdict(cv)
    label_w = cv.width * LABEL_SHARE
    n = len(criteria)
    gap = cv.gap / 3  # rows of a table sit close, whatever the density
    row_h = min(MAX_ROW_H, (bottom - cv.top - HEADER_H - gap * n) / n)
    top = cv.top + (bottom - cv.top - HEADER_H - (row_h + gap) * n) / 2
    heads = row_boxes(
        len(columns), cv.left + label_w + cv.gap, top, cv.width - label_w - cv.gap, HEADER_H, cv.gap
    )
    winner = _winner(cv)
    if winner is not None:
        head = heads[winner]
        band = Box(head.x - 4, head.y - 4, head.w + 8, HEADER_H + (row_h + gap) * n + 8)
        cv.rect(band, pal.accent(winner), pal.accent(winner), 12, ' fill-opacity="0.14"')
    for j, (comp, box) in enumerate(zip(columns, heads, strict=True)):
        cv.label_box(box, comp.path, pal.accent(j), 100 + j)
    for i, comp in enumerate(criteria):
        y = top + HEADER_H + gap + i * (row_h + gap)
        row = Box(cv.left, y, cv.width, row_h)
        cv.add(f'<g data-node="{i}">')
        cv.rect(row, pal.surface, pal.border, 8)
        label = Box(row.x + cv.pad, row.y + 2, label_w - 2 * cv.pad, row.h - 4)
        cv.text_block(label, cv.label(comp.path), cv.fs + 1, pal.ink, "600")
        for j, head in enumerate(heads):
            cell = Box(head.x, row.y + 4, head.w, row.h - 8)
            _mark(cv, cell, _score(cv, i, j), pal.accent(j))
        cv.add("</g>")


def scorecard(cv: Canvas) -> None:
    """A card per option: its name on top, then every criterion with its mark; the winning
    card has an accent border."""
    pal = cv.pal
    columns, criteria = cv.scene.of_kind("column"), cv.scene.of_kind("criterion")
    bottom = _verdict(cv)
    cards = row_boxes(len(columns), cv.left, cv.top, cv.width, bottom - cv.top, cv.gap)
    winner = _winner(cv)
    n = len(criteria)
    for j, (comp, card) in enumerate(zip(columns, cards, strict=True)):
        item = cv.value(comp.path)
        cv.add(f'<g data-node="{100 + j}">')
        stroke = ' stroke-width="3"' if j == winner else ""
        cv.rect(card, pal.surface, pal.accent(j) if j == winner else pal.border, 12, stroke)
        cv.add(
            f'<rect x="{num(card.x)}" y="{num(card.y)}" width="{num(card.w)}" height="6" '
            f'rx="3" fill="{pal.accent(j)}"{cv.glow}/>'
        )
        inner_w = card.w - 2 * cv.pad
        name = Box(card.x + cv.pad, card.y + 10, inner_w, HEADER_H * 0.5)
        cv.text_block(name, item["label"], cv.fs + 4, pal.ink, "700", "middle", 1)
        detail = Box(card.x + cv.pad, name.bottom, inner_w, HEADER_H * 0.4)
        cv.text_block(detail, item.get("detail", ""), cv.fs, pal.muted, "400", "middle", 1)
        body_top = card.y + HEADER_H + 10
        line_h = min(MAX_ROW_H, (card.bottom - cv.pad - body_top) / n)
        for i, crit in enumerate(criteria):
            y = body_top + i * line_h
            cv.add(
                f'<path d="M {num(card.x + cv.pad)} {num(y)} H {num(card.right - cv.pad)}" '
                f'stroke="{pal.border}"/>'
            )
            label = Box(card.x + cv.pad, y + 2, inner_w * 0.55, line_h - 4)
            cv.text_block(label, cv.label(crit.path), cv.fs, pal.ink, "400")
            mark = Box(card.x + cv.pad + inner_w * 0.55, y + 2, inner_w * 0.45, line_h - 4)
            _mark(cv, mark, _score(cv, i, j), pal.accent(j))
        cv.add("</g>")


# -- topics -------------------------------------------------------------------------------------
def _pack(title, subtitle, columns, criteria, scores, verdict=None, footer="") -> dict:
    return {
        "title": title,
        "subtitle": subtitle,
        "columns": [{"label": a, "detail": b} for a, b in columns],
        "criteria": [{"label": c} for c in criteria],
        "scores": [list(row) for row in scores],
        "verdict": {"label": verdict[0], "winner": verdict[1]} if verdict else None,
        "footer": footer,
    }


TOPICS = (
    Topic(
        "model_families",
        _pack(
            "Which decoder to train",
            "Four architectures at the same parameter count",
            [
                ("Llama", "RoPE, SwiGLU"),
                ("Qwen3", "QK-norm"),
                ("Gemma3", "Sliding window"),
                ("Qwen2", "Bias on QKV"),
            ],
            [
                "Training speed",
                "Stability at high lr",
                "Long context",
                "Export support",
                "Memory use",
                "Ecosystem",
            ],
            [
                (3, 3, 2, 3),
                (2, 3, 2, 2),
                (2, 2, 3, 2),
                (3, 3, 2, 3),
                (2, 2, 3, 2),
                (3, 2, 2, 2),
            ],
            ("Qwen3: stable at high learning rates and exports everywhere", 1),
            "Scores are illustrative; rate the options on your own runs.",
        ),
        ("model architectures", "which decoder to train"),
    ),
    Topic(
        "pricing_plans",
        _pack(
            "Pick a plan",
            "Three tiers for teams that draw with svglm",
            [("Free", "$0"), ("Team", "$12 a seat"), ("Studio", "$40 a seat")],
            ["Private runs", "Shared hub", "Priority support"],
            [(1, 3, 3), (0, 3, 3), (0, 1, 3)],
            ("Team covers most groups of five or more", 1),
        ),
        ("our pricing plans", "the plans we sell"),
    ),
    Topic(
        "database_choice",
        _pack(
            "Choosing a run registry database",
            "What we weighed before settling on SQLite",
            [("SQLite", "One file"), ("Postgres", "A server")],
            ["Setup", "Concurrent writers", "Backups", "Portability"],
            [(3, 1), (1, 3), (3, 2), (3, 1)],
            ("SQLite: one file travels with the runs", 0),
            "Postgres wins once many machines write at once.",
        ),
        ("a database choice", "which database to pick"),
    ),
    Topic(
        "laptop_models",
        _pack(
            "A laptop for training small models",
            "Four machines on a budget",
            [
                ("Air", "8 cores"),
                ("Pro", "12 cores"),
                ("Studio", "24 cores"),
                ("Linux box", "16 cores"),
            ],
            ["CPU speed", "Memory", "Battery", "Price", "Noise"],
            [(1, 2, 3, 2), (1, 2, 3, 3), (3, 2, 0, 1), (2, 1, 0, 3), (3, 2, 1, 1)],
            ("The Pro balances speed and battery", 1),
        ),
        ("laptop models", "which laptop to buy"),
    ),
    Topic(
        "hosting_options",
        _pack(
            "Where to serve the model",
            "Hosting options for a small drawing model",
            [("On device", "No server"), ("Own GPU", "Rented"), ("API", "Managed")],
            ["Latency", "Cost at scale", "Privacy", "Effort", "Uptime", "Updates"],
            [(3, 2, 1), (3, 2, 1), (3, 2, 1), (2, 1, 3), (2, 2, 3), (1, 2, 3)],
            ("On device: a small model runs where the user is", 0),
            "Small models make the first column possible at all.",
        ),
        ("hosting options", "where to serve the model"),
    ),
    Topic(
        "tokenizer_schemes",
        _pack(
            "How to tokenize the DSL",
            "Three ways to cut prompts and targets into tokens",
            [
                ("Bytes", "256 symbols"),
                ("BPE", "Learned merges"),
                ("BPE + atoms", "Reserved atoms"),
            ],
            ["Sequence length", "Exact roundtrip"],
            [(0, 2, 3), (3, 3, 3)],
            ("Reserve every structural atom as one token", 2),
        ),
        ("tokenizer schemes", "how to tokenize the language"),
    ),
)

FAMILY = DiagramFamily(
    name="comparison_board",
    forms=(
        Form(
            "feature_grid", "compare_options", feature_grid, ("a feature grid", "a grid of marks")
        ),
        Form("scorecard", "score_options", scorecard, ("a scorecard", "cards side by side")),
    ),
    knobs=(
        Knob("columns", 2, 4, content="columns"),
        Knob("criteria", 2, 6, content="criteria"),
        Knob("verdict", 0, 1, content="verdict"),
        Knob(
            "marks",
            values=("dots", "bars"),
            phrases=(("bars", ("meter bars", "scores as meters")),),
        ),
        Knob("footer", 0, 1, content="footer"),
    ),
    kinds=(ComponentKind("column"), ComponentKind("criterion"), ComponentKind("verdict")),
    lower=lower,
    topics=TOPICS,
    pack=Pack,
    nouns=("a comparison board", "a comparison"),
    content=TOPICS[0].pack,
)
