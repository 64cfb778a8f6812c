"""Tables: rows of records under column headers, with the content's key row or key cell
highlighted on request.

Forms: `grid` (a header band and ruled cells) and `striped_list` (each row a band of its own,
every value captioned with its column). The pack says which row and cell matter
(`highlight`); the `highlight` knob says whether to mark the row, the cell or nothing.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from svglm.dsl.canvas import Box, Canvas, num
from svglm.dsl.content import ContentPack, PackModel, Text
from svglm.dsl.family import DiagramFamily, Form, Topic
from svglm.dsl.schema import Component, ComponentKind, Knob

HEADER_H = 44.0
MAX_ROW_H = 64.0  # a row stays row-shaped with few rows
LABEL_SHARE = 0.26  # the row-label column's share of the width


# -- content ------------------------------------------------------------------------------------
class Row(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Text
    cells: list[str]


class Highlight(BaseModel):
    model_config = ConfigDict(extra="forbid")
    row: int = Field(ge=0)
    column: int = Field(ge=0)


class Pack(PackModel):
    corner: str = Field("", description="the header over the row labels")
    columns: list[str]
    rows: list[Row]
    highlight: Highlight = Highlight(row=0, column=0)

    @model_validator(mode="after")
    def _cells_fill_the_grid(self) -> Pack:
        for row in self.rows:
            if len(row.cells) != len(self.columns):
                raise ValueError(f"row {row.label!r} needs one cell per column")
        if self.highlight.row >= len(self.rows) or self.highlight.column >= len(self.columns):
            raise ValueError("highlight must point at a row and a column of the table")
        return self


# -- lowering -----------------------------------------------------------------------------------
def lower(form: str, knobs: dict[str, Any], pack: ContentPack | None) -> list[Component]:
    comps = [Component("column", f"columns.{j}") for j in range(knobs["columns"])]
    comps += [Component("row", f"rows.{i}") for i in range(knobs["rows"])]
    return comps


# -- drawing helpers ----------------------------------------------------------------------------
def _key(cv: Canvas) -> tuple[int | None, int | None]:
    """The (row, column) to mark: per the `highlight` knob, inside what the scene draws."""
    mode = cv.setting("highlight")
    spot = cv.content.get("highlight", {"row": 0, "column": 0})
    rows, columns = len(cv.scene.of_kind("row")), len(cv.scene.of_kind("column"))
    row = spot["row"] if spot["row"] < rows else None
    column = spot["column"] if spot["column"] < columns else None
    if mode == "row":
        return row, None
    if mode == "cell" and row is not None and column is not None:
        return row, column
    return None, None


def _rows(cv: Canvas, top: float, n: int) -> list[Box]:
    gap = cv.gap / 4  # table rows sit close, whatever the density
    h = min(MAX_ROW_H, (cv.bottom - top - gap * (n - 1)) / n)
    return [Box(cv.left, top + i * (h + gap), cv.width, h) for i in range(n)]


def _cells(cv: Canvas, row: Box, n: int) -> list[Box]:
    x0 = row.x + cv.width * LABEL_SHARE
    w = (row.right - x0) / n
    return [Box(x0 + j * w, row.y, w, row.h) for j in range(n)]


def _pad(box: Box, pad: float) -> Box:
    return Box(box.x + pad, box.y + 2, box.w - 2 * pad, box.h - 4)


# -- one layout per form ------------------------------------------------------------------------
def grid(cv: Canvas) -> None:
    """A header band over ruled rows; the key row is tinted, the key cell outlined."""
    pal, pack = cv.pal, cv.content
    columns, rows = cv.scene.of_kind("column"), cv.scene.of_kind("row")
    key_row, key_col = _key(cv)
    header = Box(cv.left, cv.top, cv.width, HEADER_H)
    cv.add('<g data-node="100">')
    cv.rect(header, pal.accent(0), pal.accent(0), 8, ' fill-opacity="0.18"')
    corner = Box(header.x, header.y, cv.width * LABEL_SHARE, header.h)
    cv.text_block(_pad(corner, cv.pad), pack.get("corner", ""), cv.fs, pal.ink, "700", max_lines=1)
    for comp, cell in zip(columns, _cells(cv, header, len(columns)), strict=True):
        cv.text_block(_pad(cell, cv.pad), cv.label(comp.path), cv.fs, pal.ink, "700", max_lines=2)
    cv.add("</g>")
    boxes = _rows(cv, header.bottom + cv.gap / 4, len(rows))
    for i, (comp, box) in enumerate(zip(rows, boxes, strict=True)):
        record = cv.value(comp.path)
        keyed = i == key_row and key_col is None
        cv.add(f'<g data-node="{i}">')
        fill, opacity = (pal.accent(1), ' fill-opacity="0.22"') if keyed else (pal.surface, "")
        cv.rect(box, fill, pal.accent(1) if keyed else pal.border, 6, opacity)
        label = Box(box.x, box.y, cv.width * LABEL_SHARE, box.h)
        cv.text_block(_pad(label, cv.pad), record["label"], cv.fs, pal.ink, "700", max_lines=2)
        for j, cell in enumerate(_cells(cv, box, len(columns))):
            cv.add(
                f'<path d="M {num(cell.x)} {num(box.y + 6)} V {num(box.bottom - 6)}" '
                f'stroke="{pal.border}"/>'
            )
            if (i, j) == (key_row, key_col):
                ring = Box(cell.x + 3, cell.y + 3, cell.w - 6, cell.h - 6)
                cv.rect(ring, pal.accent(1), pal.accent(1), 6, ' fill-opacity="0.25"')
            text = record["cells"][j]
            cv.text_block(_pad(cell, cv.pad), text, cv.fs, pal.ink, "400", max_lines=2)
        cv.add("</g>")


def striped_list(cv: Canvas) -> None:
    """Each record a band of alternating shade: its label large at the left, then every value
    under a small caption naming its column; the key row gets an accent edge."""
    pal = cv.pal
    columns, rows = cv.scene.of_kind("column"), cv.scene.of_kind("row")
    key_row, key_col = _key(cv)
    captions = [cv.label(c.path) for c in columns]
    for i, (comp, box) in enumerate(zip(rows, _rows(cv, cv.top, len(rows)), strict=True)):
        record = cv.value(comp.path)
        cv.add(f'<g data-node="{i}">')
        cv.rect(box, pal.surface if i % 2 == 0 else pal.bg2, pal.border, 10)
        if i == key_row:
            accent = pal.accent(1)
            cv.add(
                f'<rect x="{num(box.x)}" y="{num(box.y)}" width="8" height="{num(box.h)}" '
                f'rx="4" fill="{accent}"{cv.glow}/>'
            )
        label = Box(box.x + 8, box.y, cv.width * LABEL_SHARE - 8, box.h)
        cv.text_block(_pad(label, cv.pad), record["label"], cv.fs + 2, pal.ink, "700")
        for j, cell in enumerate(_cells(cv, box, len(columns))):
            inner = _pad(cell, cv.pad)
            caption = Box(inner.x, inner.y, inner.w, inner.h * 0.42)
            value = Box(inner.x, caption.bottom, inner.w, inner.h - caption.h)
            colour = pal.accent(1) if (i, j) == (key_row, key_col) else pal.ink
            cv.text_block(caption, captions[j], cv.fs - 2, pal.muted, "400", max_lines=1)
            cv.text_block(value, record["cells"][j], cv.fs, colour, "700", max_lines=1)
        cv.add("</g>")


# -- topics -------------------------------------------------------------------------------------
def _pack(title, subtitle, corner, columns, rows, highlight=(0, 0), footer="") -> dict:
    return {
        "title": title,
        "subtitle": subtitle,
        "corner": corner,
        "columns": list(columns),
        "rows": [{"label": r[0], "cells": list(r[1:])} for r in rows],
        "highlight": {"row": highlight[0], "column": highlight[1]},
        "footer": footer,
    }


TOPICS = (
    Topic(
        "model_sizes",
        _pack(
            "Published decoder shapes",
            "Two model families, from smallest to largest",
            "Model",
            ["Layers", "Width", "Heads", "Context", "Parameters"],
            [
                ("GPT-2", "12", "768", "12", "1,024", "124 M"),
                ("GPT-2 Medium", "24", "1,024", "16", "1,024", "355 M"),
                ("GPT-2 Large", "36", "1,280", "20", "1,024", "774 M"),
                ("GPT-2 XL", "48", "1,600", "25", "1,024", "1.5 B"),
                ("Llama 2 7B", "32", "4,096", "32", "4,096", "6.7 B"),
                ("Llama 2 13B", "40", "5,120", "40", "4,096", "13 B"),
            ],
            (4, 4),
            "Context is the trained sequence length in tokens.",
        ),
        ("model sizes", "how big published models are"),
    ),
    Topic(
        "release_matrix",
        _pack(
            "What each release supports",
            "Platforms by version",
            "Version",
            ["Linux", "macOS", "Windows"],
            [
                ("0.1", "yes", "yes", "no"),
                ("0.2", "yes", "yes", "beta"),
                ("0.3", "yes", "yes", "yes"),
            ],
            (1, 2),
        ),
        ("a release matrix", "what each release supports"),
    ),
    Topic(
        "service_owners",
        _pack(
            "Who owns which service",
            "On-call rotations and escalation paths",
            "Service",
            ["Owner", "On call", "Escalate to", "Runbook"],
            [
                ("Gateway", "Platform", "Weekly", "Infra lead", "gw.md"),
                ("Trainer", "ML team", "Daily", "ML lead", "train.md"),
                ("Registry", "Platform", "Weekly", "Infra lead", "reg.md"),
                ("Playground", "Product", "Weekly", "PM", "play.md"),
            ],
            (1, 2),
            "Escalate after 30 minutes without an acknowledgement.",
        ),
        ("service owners", "who owns each service"),
    ),
    Topic(
        "benchmark_results",
        _pack(
            "Throughput by precision",
            "Tokens per second on a 2-core CPU",
            "Mode",
            ["fp32", "bf16"],
            [
                ("Eager", "17,621", "24,882"),
                ("Compiled", "19,081", "26,231"),
            ],
            (1, 1),
            "Compiling costs 12 to 15 seconds up front.",
        ),
        ("benchmark results", "throughput by precision"),
    ),
    Topic(
        "team_schedule",
        _pack(
            "This week's schedule",
            "Who is where, day by day",
            "Person",
            ["Mon", "Tue", "Wed", "Thu", "Fri"],
            [
                ("Ana", "Office", "Office", "Home", "Office", "Off"),
                ("Ben", "Home", "Office", "Office", "Home", "Office"),
                ("Chen", "Office", "Travel", "Travel", "Office", "Home"),
                ("Dara", "Home", "Home", "Office", "Office", "Office"),
                ("Eli", "Office", "Office", "Office", "Off", "Off"),
            ],
            (2, 1),
        ),
        ("the team schedule", "who is where this week"),
    ),
    Topic(
        "api_limits",
        _pack(
            "API rate limits",
            "Requests allowed per plan",
            "Plan",
            ["Per minute", "Per day", "Burst", "Max tokens"],
            [
                ("Free", "20", "1,000", "5", "256"),
                ("Team", "300", "50,000", "60", "1,024"),
                ("Studio", "1,200", "250,000", "200", "4,096"),
            ],
            (2, 1),
            "Limits reset at midnight UTC.",
        ),
        ("api rate limits", "requests allowed per plan"),
    ),
)

FAMILY = DiagramFamily(
    name="table_matrix",
    forms=(
        Form("grid", "tabulate", grid, ("a grid table", "a full grid")),
        Form("striped_list", "list_records", striped_list, ("a striped list", "striped rows")),
    ),
    knobs=(
        Knob("rows", 2, 6, content="rows"),
        Knob("columns", 2, 5, content="columns"),
        Knob(
            "highlight",
            values=("none", "row", "cell"),
            phrases=(
                ("row", ("the key row highlighted", "a highlighted row")),
                ("cell", ("the key cell highlighted", "a highlighted cell")),
            ),
        ),
        Knob("footer", 0, 1, content="footer"),
    ),
    kinds=(ComponentKind("column"), ComponentKind("row")),
    lower=lower,
    topics=TOPICS,
    pack=Pack,
    nouns=("a table", "a matrix"),
    content=TOPICS[0].pack,
)
