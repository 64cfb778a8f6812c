"""Bar charts: amounts side by side, in the content's order or sorted, with an optional axis and
gridlines, value labels and a least-squares trend line.

Forms: `vertical_bars` (a card per bar, bars rising from a shared baseline) and
`horizontal_bars` (a row per bar, bars growing to the right). Bar lengths are the content's
values on one scale; the model only chooses how to present them.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field

from svglm.dsl.canvas import Box, Canvas, num, row_boxes
from svglm.dsl.content import ContentPack, Item, PackModel
from svglm.dsl.family import DiagramFamily, Form, Topic
from svglm.dsl.schema import Component, ComponentKind, Knob

LEGEND_H = 26.0  # the band above the plot for the axis title and the trend legend
TICKS_W = 52.0  # the gutter left of (vertical) or under (horizontal) the plot for tick labels
MAX_SLOT_W = 150.0  # a vertical bar's card stays bar-shaped with few bars
MAX_ROW_H = 64.0  # a horizontal bar's row stays row-shaped with few bars


# -- content ------------------------------------------------------------------------------------
class Bar(Item):
    value: float = Field(ge=0)


class Pack(PackModel):
    bars: list[Bar]
    unit: str = Field("", description='appended to every value label: "%", " ms", " GB"')
    axis: str = Field("", description='the axis title, e.g. "Requests per second"')
    trend: str = Field("trend", description="the trend line's legend")


# -- lowering -----------------------------------------------------------------------------------
def lower(form: str, knobs: dict[str, Any], pack: ContentPack | None) -> list[Component]:
    comps = [Component("bar", f"bars.{i}") for i in range(knobs["bars"])]
    if knobs["axis"]:
        comps.append(Component("axis", "axis"))
    if knobs["values"]:
        comps.append(Component("value_labels", None))
    if knobs["trend"]:
        comps.append(Component("trend", "trend"))
    return comps


# -- scale and order ----------------------------------------------------------------------------
def nice_ticks(top: float) -> list[float]:
    """0, step, 2*step, ... up to the first tick at or above `top`, with a 1-2-5 step."""
    top = max(top, 1e-9)
    raw = top / 4
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    return [step * i for i in range(math.ceil(top / step - 1e-9) + 1)]


def fmt(value: float, unit: str = "") -> str:
    """A value as a label: whole numbers without decimals, others with one."""
    text = f"{value:,.0f}" if abs(value - round(value)) < 1e-9 else f"{value:,.1f}"
    return text + unit


def drawn_order(cv: Canvas) -> list[int]:
    """Bar indexes in drawing order: as the content gives them, or sorted by value."""
    bars = cv.scene.of_kind("bar")
    values = [float(cv.value(b.path)["value"]) for b in bars]
    order = cv.setting("order")
    indexes = list(range(len(bars)))
    if order == "mixed":
        return indexes
    return sorted(indexes, key=lambda i: (values[i], i), reverse=order == "descending")


def trend_points(values: list[float]) -> tuple[float, float]:
    """The least-squares line's values at the first and the last bar."""
    n = len(values)
    mx, my = (n - 1) / 2, sum(values) / n
    sxx = sum((i - mx) ** 2 for i in range(n))
    slope = sum((i - mx) * (v - my) for i, v in enumerate(values)) / sxx
    return my - slope * mx, my + slope * (n - 1 - mx)


def _legend(cv: Canvas) -> float:
    """The axis title at the left and the trend legend at the right; returns the plot top."""
    axis, trend = cv.scene.of_kind("axis"), cv.scene.of_kind("trend")
    if not axis and not trend:
        return cv.top
    y = cv.top + LEGEND_H / 2
    half = Box(cv.left, cv.top, cv.width / 2 - 40, LEGEND_H)
    if axis:
        cv.text_block(half, cv.label(axis[0].path), cv.fs, cv.pal.muted, "600", max_lines=1)
    if trend:
        right = cv.left + cv.width
        cv.add(
            f'<path d="M {num(right - 28)} {num(y)} H {num(right)}" stroke="{cv.pal.ink}" '
            f'stroke-width="2" stroke-dasharray="6 4"/>'
        )
        legend = Box(cv.left + cv.width / 2, cv.top, cv.width / 2 - 36, LEGEND_H)
        cv.text_block(legend, cv.label(trend[0].path), cv.fs, cv.pal.ink, "600", "end", 1)
    return cv.top + LEGEND_H


def _trend(cv: Canvas, ends: list[tuple[float, float]], values: list[float], scale) -> None:
    """The dashed trend line from the first to the last bar (in drawing order)."""
    if not cv.scene.of_kind("trend") or len(values) < 2:
        return
    first, last = trend_points(values)
    (x1, y1), (x2, y2) = scale(ends[0], first), scale(ends[-1], last)
    cv.add(
        f'<path d="M {num(x1)} {num(y1)} L {num(x2)} {num(y2)}" stroke="{cv.pal.ink}" '
        f'stroke-width="2" stroke-dasharray="6 4" fill="none" data-trend="1"/>'
    )


def _plot(cv: Canvas) -> tuple[list[Component], list[int], list[float], list[float], float]:
    """What both forms start from: the bars, their drawing order and values, the axis ticks,
    and the plot's top (under the legend, which this draws)."""
    bars = cv.scene.of_kind("bar")
    values = [float(cv.value(b.path)["value"]) for b in bars]
    return bars, drawn_order(cv), values, nice_ticks(max(values)), _legend(cv)


# -- one layout per form ------------------------------------------------------------------------
def vertical_bars(cv: Canvas) -> None:
    """A card per bar; bars rise from a shared baseline, labels under them, values on top."""
    pal, pack = cv.pal, cv.content
    bars, order, values, ticks, top = _plot(cv)
    axis = bool(cv.scene.of_kind("axis"))
    left = cv.left + (TICKS_W if axis else 0)
    width = cv.left + cv.width - left
    n = len(bars)
    slot = min(MAX_SLOT_W, (width - cv.gap * (n - 1)) / n)
    span = slot * n + cv.gap * (n - 1)
    cards = row_boxes(n, left + (width - span) / 2, top, span, cv.bottom - top, cv.gap)
    label_h = 2 * cv.fs * 1.25 + 2 * cv.pad
    value_h = cv.fs * 1.6
    base = cv.bottom - label_h
    plot_h = base - top - cv.pad - value_h

    def y_of(value: float) -> float:  # a fitted trend value may fall outside the scale
        return base - plot_h * min(max(value, 0.0), ticks[-1]) / ticks[-1]

    for pos, i in enumerate(order):
        card = cards[pos]
        cv.add(f'<g data-node="{i}">')
        cv.rect(card, pal.surface, pal.border, 8)
        label = Box(card.x + cv.pad, base + 4, card.w - 2 * cv.pad, label_h - 4 - cv.pad)
        cv.text_block(label, cv.label(bars[i].path), cv.fs, pal.ink, "600", "middle")
        cv.add("</g>")
    if axis:
        for tick in ticks:
            y = y_of(tick)
            cv.add(
                f'<path d="M {num(left)} {num(y)} H {num(left + width)}" stroke="{pal.border}" '
                f'stroke-dasharray="2 4"/>'
            )
            cv.text(left - 8, y + cv.fs * 0.35, [fmt(tick)], cv.fs - 1, pal.muted, "400", "end")
    bar_w = [c.w * 0.56 for c in cards]
    for pos, i in enumerate(order):
        card, w = cards[pos], bar_w[pos]
        y = y_of(values[i])
        cv.add(
            f'<rect x="{num(card.cx - w / 2)}" y="{num(y)}" width="{num(w)}" '
            f'height="{num(base - y)}" rx="4" fill="{pal.accent(i)}"{cv.glow} data-bar="{i}"/>'
        )
        if cv.scene.of_kind("value_labels"):
            value = fmt(values[i], pack.get("unit", ""))
            box = Box(card.x + 2, y - value_h, card.w - 4, value_h)
            cv.text_block(box, value, cv.fs, pal.ink, "700", "middle", 1)
    _trend(
        cv,
        [(cards[pos].cx, 0) for pos in range(n)],
        [values[i] for i in order],
        lambda end, v: (end[0], y_of(v)),
    )


def horizontal_bars(cv: Canvas) -> None:
    """A row per bar: its label at the left, the bar growing right, its value at the bar's end."""
    pal, pack = cv.pal, cv.content
    bars, order, values, ticks, top = _plot(cv)
    axis = bool(cv.scene.of_kind("axis"))
    bottom = cv.bottom - (cv.fs * 1.8 if axis else 0)  # tick labels go under the rows
    n = len(bars)
    h = min(MAX_ROW_H, (bottom - top - cv.gap * (n - 1)) / n)
    y0 = top + (bottom - top - h * n - cv.gap * (n - 1)) / 2
    label_w = cv.width * 0.28
    value_w = 70.0 if cv.scene.of_kind("value_labels") else 0.0
    x0 = cv.left + label_w
    plot_w = cv.width - label_w - cv.pad - value_w

    def x_of(value: float) -> float:  # a fitted trend value may fall outside the scale
        return x0 + plot_w * min(max(value, 0.0), ticks[-1]) / ticks[-1]

    rows = [Box(cv.left, y0 + pos * (h + cv.gap), cv.width, h) for pos in range(n)]
    for pos, i in enumerate(order):
        row = rows[pos]
        cv.add(f'<g data-node="{i}">')
        cv.rect(row, pal.surface, pal.border, 8)
        label = Box(row.x + cv.pad, row.y + 2, label_w - 2 * cv.pad, row.h - 4)
        cv.text_block(label, cv.label(bars[i].path), cv.fs, pal.ink, "600")
        cv.add("</g>")
    if axis:
        for tick in ticks:
            x = x_of(tick)
            cv.add(
                f'<path d="M {num(x)} {num(rows[0].y)} V {num(rows[-1].bottom)}" '
                f'stroke="{pal.border}" stroke-dasharray="2 4"/>'
            )
            cv.text(x, bottom + cv.fs * 1.4, [fmt(tick)], cv.fs - 1, pal.muted, "400", "middle")
    for pos, i in enumerate(order):
        row = rows[pos]
        bar_h, bar_w = row.h * 0.5, x_of(values[i]) - x0
        cv.add(
            f'<rect x="{num(x0)}" y="{num(row.cy - bar_h / 2)}" width="{num(bar_w)}" '
            f'height="{num(bar_h)}" rx="4" fill="{pal.accent(i)}"{cv.glow} data-bar="{i}"/>'
        )
        if value_w:
            value = fmt(values[i], pack.get("unit", ""))
            box = Box(x_of(values[i]) + 6, row.y + 2, value_w - 8, row.h - 4)
            cv.text_block(box, value, cv.fs, pal.ink, "700", max_lines=1)
    _trend(
        cv,
        [(0, rows[pos].cy) for pos in range(n)],
        [values[i] for i in order],
        lambda end, v: (x_of(v), end[1]),
    )


# -- topics -------------------------------------------------------------------------------------
def _pack(title, subtitle, bars, unit="", axis="", trend="trend", footer="") -> dict:
    return {
        "title": title,
        "subtitle": subtitle,
        "bars": [{"label": a, "value": v} for a, v in bars],
        "unit": unit,
        "axis": axis,
        "trend": trend,
        "footer": footer,
    }


TOPICS = (
    Topic(
        "weekly_signups",
        _pack(
            "Sign-ups per week this quarter",
            "New accounts after the pricing change in week 3",
            [
                ("Week 1", 420),
                ("Week 2", 455),
                ("Week 3", 610),
                ("Week 4", 580),
                ("Week 5", 720),
                ("Week 6", 765),
                ("Week 7", 840),
                ("Week 8", 905),
            ],
            axis="Accounts created",
            trend="Eight-week trend",
            footer="Counts exclude test accounts and re-activations.",
        ),
        ("weekly sign ups", "new accounts per week"),
    ),
    Topic(
        "model_latency",
        _pack(
            "Median latency by model size",
            "Time to first token on one GPU, batch of one",
            [("Tiny", 12), ("Small", 19), ("Base", 34), ("Large", 71), ("XL", 140)],
            unit=" ms",
            axis="Milliseconds",
            trend="Growth with size",
        ),
        ("model latency", "latency by model size"),
    ),
    Topic(
        "cloud_costs",
        _pack(
            "Where the cloud bill goes",
            "Monthly spend by service, in thousands of dollars",
            [("Compute", 48.5), ("Storage", 12.2), ("Network", 8.9), ("Database", 21.4)],
            unit="k",
            axis="Thousand dollars",
            trend="Trend",
            footer="Reserved capacity is counted at its effective monthly rate.",
        ),
        ("our cloud costs", "the monthly cloud bill"),
    ),
    Topic(
        "test_durations",
        _pack(
            "Slowest test suites",
            "Wall time per suite on the CI runner",
            [
                ("Crash", 95),
                ("Fuzz", 64),
                ("Parity", 41),
                ("Render", 38),
                ("Training", 33),
                ("Export", 21),
            ],
            unit=" s",
            axis="Seconds",
        ),
        ("test suite durations", "how long our tests take"),
    ),
    Topic(
        "survey_scores",
        _pack(
            "What users asked for",
            "Share of respondents naming each feature",
            [("Themes", 64), ("Export", 52), ("Fonts", 31)],
            unit="%",
            axis="Share of respondents",
            trend="Trend",
        ),
        ("survey results", "what users asked for"),
    ),
    Topic(
        "energy_mix",
        _pack(
            "Where the power came from",
            "Share of last year's electricity by source",
            [
                ("Wind", 27.5),
                ("Solar", 14.2),
                ("Hydro", 9.8),
                ("Nuclear", 19.1),
                ("Gas", 21.6),
                ("Coal", 4.3),
                ("Other", 3.5),
            ],
            unit="%",
            axis="Share of generation",
            trend="Trend",
            footer="Imports are counted with the source they were bought from.",
        ),
        ("the energy mix", "where our power comes from"),
    ),
)

FAMILY = DiagramFamily(
    name="bar_chart",
    forms=(
        Form(
            "vertical_bars",
            "compare_amounts",
            vertical_bars,
            ("vertical bars", "a column chart"),
        ),
        Form(
            "horizontal_bars",
            "rank_items",
            horizontal_bars,
            ("horizontal bars", "bars across the page"),
        ),
    ),
    knobs=(
        Knob("bars", 3, 8, content="bars"),
        Knob(
            "order",
            values=("mixed", "ascending", "descending"),
            phrases=(
                ("ascending", ("ascending order", "the smallest bar first")),
                ("descending", ("descending order", "the largest bar first")),
            ),
        ),
        Knob("axis", 0, 1, phrases=((1, ("an axis with gridlines", "gridlines")),)),
        Knob("values", 0, 1, phrases=((1, ("value labels", "the numbers on the bars")),)),
        Knob("trend", 0, 1, phrases=((1, ("a trend line", "a dashed trend line")),)),
        Knob("footer", 0, 1, content="footer"),
    ),
    kinds=(
        ComponentKind("bar"),
        ComponentKind("axis"),
        ComponentKind("value_labels", path=False),
        ComponentKind("trend"),
    ),
    lower=lower,
    topics=TOPICS,
    pack=Pack,
    nouns=("a bar chart", "a bar graph"),
    content=TOPICS[0].pack,
)
