"""Posters: one headline statement (the hero), the sections that support it, optional compare
bars for the numbers, and short notes.

Forms: `stacked` (bands from top to bottom: hero, sections in a row, bars, notes) and `split`
(the hero and the notes in a column at the left, sections and bars at the right). Bar lengths
are the content's values on one scale.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from svglm.dsl.canvas import Box, Canvas, num, row_boxes
from svglm.dsl.content import ContentPack, Item, PackModel, Text
from svglm.dsl.family import DiagramFamily, Form, Topic
from svglm.dsl.schema import Component, ComponentKind, Knob

HERO_H = 104.0  # the hero band of a stacked poster
BAR_H = 30.0  # one compare bar's row
NOTES_H = 54.0  # the row of notes under a stacked poster
HERO_SHARE = 0.38  # the left column's share of a split poster
SIDE_BY_SIDE_BELOW = 100.0  # a section card lower than this puts its detail beside its label


# -- content ------------------------------------------------------------------------------------
class Bar(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Text
    value: float = Field(ge=0)
    display: str = Field("", description='how the value reads, e.g. "2.4x"; default the number')


class Pack(PackModel):
    hero: Item
    sections: list[Item]
    bars: list[Bar] = []
    notes: list[str] = []


# -- lowering -----------------------------------------------------------------------------------
def lower(form: str, knobs: dict[str, Any], pack: ContentPack | None) -> list[Component]:
    comps = [Component("hero", "hero")]
    comps += [Component("section", f"sections.{i}") for i in range(knobs["sections"])]
    comps += [Component("bar", f"bars.{i}") for i in range(knobs["bars"])]
    comps += [Component("note", f"notes.{i}") for i in range(knobs["notes"])]
    return comps


# -- parts --------------------------------------------------------------------------------------
def _hero(cv: Canvas, box: Box, vertical: bool) -> None:
    """The headline in large type over its detail, on an accent-edged panel."""
    item = cv.value(cv.scene.of_kind("hero")[0].path)
    pal = cv.pal
    cv.add('<g data-node="0">')
    cv.rect(box, pal.surface, pal.accent(0), 14, ' stroke-width="2"')
    edge = (box.x, box.y, 10, box.h) if not vertical else (box.x, box.y, box.w, 10)
    cv.add(
        f'<rect x="{num(edge[0])}" y="{num(edge[1])}" width="{num(edge[2])}" '
        f'height="{num(edge[3])}" rx="5" fill="{pal.accent(0)}"{cv.glow}/>'
    )
    inner = Box(box.x + 10 + 2 * cv.pad, box.y + 12 + cv.pad, box.w - 10 - 4 * cv.pad, 0)
    head_h = (box.h - 24 - 2 * cv.pad) * (0.5 if vertical else 0.55)
    head = Box(inner.x, inner.y, inner.w, head_h)
    cv.text_block(head, item["label"], 26, pal.ink, "700", max_lines=4, smallest=16)
    detail = Box(inner.x, inner.y + head_h, inner.w, box.bottom - cv.pad - inner.y - head_h)
    cv.text_block(detail, item.get("detail", ""), cv.fs + 1, pal.muted, max_lines=4, smallest=10)
    cv.add("</g>")


def _bars(cv: Canvas, area: Box) -> None:
    """Compare bars, one row each, on a shared scale: label, bar, value."""
    bars = cv.scene.of_kind("bar")
    values = [float(cv.value(b.path)["value"]) for b in bars]
    top = max(values, default=0) or 1.0
    h = min(BAR_H, (area.h - cv.gap / 2 * (len(bars) - 1)) / max(1, len(bars)))
    label_w, value_w = area.w * 0.3, 64.0
    for k, (comp, value) in enumerate(zip(bars, values, strict=True)):
        row = Box(area.x, area.y + k * (h + cv.gap / 2), area.w, h)
        bar = cv.value(comp.path)
        cv.add(f'<g data-node="{20 + k}">')
        cv.rect(row, cv.pal.surface, cv.pal.border, 6)
        cv.text_block(
            Box(row.x + cv.pad, row.y + 1, label_w - 2 * cv.pad, row.h - 2),
            bar["label"],
            cv.fs,
            cv.pal.ink,
            "600",
            max_lines=1,
            smallest=9,
        )
        track = row.w - label_w - value_w - cv.pad
        cv.add(
            f'<rect x="{num(row.x + label_w)}" y="{num(row.cy - 5)}" '
            f'width="{num(max(2.0, track * value / top))}" height="10" rx="5" '
            f'fill="{cv.pal.accent(k + 1)}"{cv.glow} data-bar="{k}"/>'
        )
        shown = bar.get("display") or f"{value:g}"
        value_box = Box(row.right - value_w, row.y + 1, value_w - cv.pad, row.h - 2)
        cv.text_block(value_box, shown, cv.fs, cv.pal.ink, "700", "end", 1)
        cv.add("</g>")


def _section(cv: Canvas, box: Box, path: str | None, accent: str, node: int) -> None:
    """A section card: label over detail when the card is tall enough, else side by side."""
    if box.h >= SIDE_BY_SIDE_BELOW:
        cv.label_box(box, path, accent, node)
        return
    item = cv.value(path)
    cv.add(f'<g data-node="{node}">')
    cv.rect(box, cv.pal.surface, cv.pal.border, 10)
    cv.add(
        f'<rect x="{num(box.x)}" y="{num(box.y)}" width="6" height="{num(box.h)}" rx="3" '
        f'fill="{accent}"{cv.glow}/>'
    )
    label_w = box.w * 0.34
    label = Box(box.x + 6 + cv.pad, box.y + 3, label_w - 6 - 2 * cv.pad, box.h - 6)
    cv.text_block(label, item["label"], cv.fs + 2, cv.pal.ink, "700", smallest=cv.fs - 2)
    detail = Box(box.x + label_w, box.y + 3, box.w - label_w - cv.pad, box.h - 6)
    cv.text_block(detail, item.get("detail", ""), cv.fs, cv.pal.muted, max_lines=3, smallest=9)
    cv.add("</g>")


def _notes(cv: Canvas, boxes: list[Box]) -> None:
    for k, (comp, box) in enumerate(zip(cv.scene.of_kind("note"), boxes, strict=True)):
        cv.add(f'<g data-node="{30 + k}">')
        cv.rect(box, cv.pal.bg2, cv.pal.border, box.h / 2 if box.h < 60 else 12)
        inner = Box(box.x + 2 * cv.pad, box.y + 2, box.w - 4 * cv.pad, box.h - 4)
        cv.text_block(inner, cv.label(comp.path), cv.fs, cv.pal.ink, max_lines=2, smallest=9)
        cv.add("</g>")


def _bars_height(cv: Canvas) -> float:
    n = len(cv.scene.of_kind("bar"))
    return n * BAR_H + (n - 1) * cv.gap / 2 if n else 0.0


# -- one layout per form ------------------------------------------------------------------------
def stacked(cv: Canvas) -> None:
    """Hero band, a row of section cards, the compare bars, then a row of notes."""
    sections, notes = cv.scene.of_kind("section"), cv.scene.of_kind("note")
    _hero(cv, Box(cv.left, cv.top, cv.width, HERO_H), vertical=False)
    y = cv.top + HERO_H + cv.gap
    bottom = cv.bottom
    if notes:
        row = row_boxes(len(notes), cv.left, bottom - NOTES_H, cv.width, NOTES_H, cv.gap)
        _notes(cv, row)
        bottom -= NOTES_H + cv.gap
    if bars_h := _bars_height(cv):
        _bars(cv, Box(cv.left, bottom - bars_h, cv.width, bars_h))
        bottom -= bars_h + cv.gap
    cards = row_boxes(len(sections), cv.left, y, cv.width, bottom - y, cv.gap)
    for i, (comp, box) in enumerate(zip(sections, cards, strict=True)):
        _section(cv, box, comp.path, cv.pal.accent(i + 1), 1 + i)


def split(cv: Canvas) -> None:
    """The hero over the notes at the left; sections stacked over the compare bars at right."""
    sections, notes = cv.scene.of_kind("section"), cv.scene.of_kind("note")
    left_w = cv.width * HERO_SHARE
    height = cv.bottom - cv.top
    note_h = min(64.0, height / 6)
    notes_h = len(notes) * note_h + max(0, len(notes) - 1) * cv.gap / 2
    _hero(cv, Box(cv.left, cv.top, left_w, height - notes_h - (cv.gap if notes else 0)), True)
    _notes(
        cv,
        [
            Box(cv.left, cv.bottom - notes_h + k * (note_h + cv.gap / 2), left_w, note_h)
            for k in range(len(notes))
        ],
    )
    x = cv.left + left_w + cv.gap
    w = cv.left + cv.width - x
    bars_h = _bars_height(cv)
    if bars_h:
        _bars(cv, Box(x, cv.bottom - bars_h, w, bars_h))
    stack_bottom = cv.bottom - (bars_h + cv.gap if bars_h else 0)
    n = len(sections)
    h = (stack_bottom - cv.top - cv.gap * (n - 1)) / n
    for i, comp in enumerate(sections):
        box = Box(x, cv.top + i * (h + cv.gap), w, h)
        _section(cv, box, comp.path, cv.pal.accent(i + 1), 1 + i)


# -- topics -------------------------------------------------------------------------------------
def _pack(title, subtitle, hero, sections, bars=(), notes=(), footer="") -> dict:
    return {
        "title": title,
        "subtitle": subtitle,
        "hero": {"label": hero[0], "detail": hero[1]},
        "sections": [{"label": a, "detail": b} for a, b in sections],
        "bars": [{"label": a, "value": v, "display": d} for a, v, d in bars],
        "notes": list(notes),
        "footer": footer,
    }


TOPICS = (
    Topic(
        "small_models",
        _pack(
            "Why small specialist models",
            "A poster for the team offsite",
            (
                "A small model that emits a compact language beats a large one typing SVG",
                "The compiler owns geometry and XML; the model only chooses structure.",
            ),
            [
                ("Cheap to train", "Minutes on a laptop CPU, not days on a cluster."),
                ("Easy to check", "Every output parses or it does not."),
                ("Private", "Runs where the data is."),
                ("Fast", "Dozens of tokens per picture, not thousands."),
            ],
            [
                ("Tokens per picture, DSL", 40, "40"),
                ("Tokens per picture, raw SVG", 1800, "1,800"),
            ],
            [
                "Loss going down is not success; probe rates are.",
                "Hold out recombinations, not vocabulary.",
                "Every run leaves a report.",
            ],
            "Token counts are typical for a five-box diagram.",
        ),
        ("why small models", "the case for small models"),
    ),
    Topic(
        "quarterly_review",
        _pack(
            "The quarter in review",
            "What shipped and what we learned",
            ("Three diagram families became eight", "Each with its own topics and probes."),
            [
                ("Shipped", "Five new families and a gallery."),
                ("Learned", "Natural language needs held-out phrasings."),
                ("Next", "Constrained decoding."),
            ],
            [("Families", 8, "8"), ("Topics", 48, "48"), ("Presets", 4, "4")],
            ["Thanks to everyone who filed issues."],
        ),
        ("the quarterly review", "our quarter in review"),
    ),
    Topic(
        "safety_rules",
        _pack(
            "Lab safety rules",
            "Read before your first shift",
            ("Nobody works alone after six", "Sign in at the desk and tell someone your plan."),
            [
                ("Goggles", "Always on at the bench."),
                ("Spills", "Report, then clean."),
            ],
            [],
            ["Emergency number on every door.", "Fire drill on the first Monday."],
        ),
        ("lab safety rules", "safety rules for the lab"),
    ),
    Topic(
        "hiring_pitch",
        _pack(
            "Join the svglm team",
            "We are hiring two engineers",
            ("Build the best tool for training models that draw", "Small team, real users."),
            [
                ("The work", "Compilers, training loops and probes."),
                ("The team", "Five engineers, one designer."),
                ("The stack", "Python, PyTorch, SQLite."),
            ],
            [("Open roles", 2, "2"), ("Engineers today", 5, "5")],
            [],
            "Apply with a link to something you built.",
        ),
        ("a hiring pitch", "why to join the team"),
    ),
    Topic(
        "sleep_facts",
        _pack(
            "Sleep and learning",
            "What the research says about memory",
            ("Sleep turns practice into skill", "Memories are replayed and consolidated at night."),
            [
                ("Before", "Learn in the evening."),
                ("During", "Deep sleep replays the day."),
                ("After", "Recall improves next morning."),
            ],
            [
                ("Recall after sleep", 82, "82%"),
                ("Recall after a day awake", 61, "61%"),
                ("Recall after no sleep", 48, "48%"),
            ],
            ["Numbers are illustrative.", "Naps help too."],
        ),
        ("sleep and learning", "how sleep helps memory"),
    ),
    Topic(
        "cpu_vs_gpu",
        _pack(
            "CPU or GPU for small models",
            "When a laptop is enough",
            ("Under ten million parameters, a CPU trains in minutes", "Bigger models need a GPU."),
            [
                ("CPU", "Always there, no queue."),
                ("GPU", "Wins as width grows."),
            ],
            [
                ("bf16 on 2 CPU cores", 24882, "24.9k tok/s"),
                ("fp32 on 2 CPU cores", 17621, "17.6k tok/s"),
            ],
            ["Measured on the demo model."],
        ),
        ("cpu versus gpu", "when a cpu is enough"),
    ),
)

FAMILY = DiagramFamily(
    name="poster_stack",
    forms=(
        Form("stacked", "tell_story", stacked, ("a stacked poster", "panels stacked")),
        Form("split", "pitch_idea", split, ("a split poster", "two columns of panels")),
    ),
    knobs=(
        Knob("sections", 2, 4, content="sections"),
        Knob("bars", 0, 4, content="bars"),
        Knob("notes", 0, 3, content="notes"),
        Knob("footer", 0, 1, content="footer"),
    ),
    kinds=(
        ComponentKind("hero"),
        ComponentKind("section"),
        ComponentKind("bar"),
        ComponentKind("note"),
    ),
    lower=lower,
    topics=TOPICS,
    pack=Pack,
    nouns=("a poster", "an infographic"),
    content={
        **TOPICS[0].pack,
        "bars": TOPICS[0].pack["bars"]
        + [
            {"label": "Tokens per picture, scene DSL", "value": 70, "display": "70"},
            {"label": "Tokens per picture, bundle", "value": 18, "display": "18"},
        ],
    },
)
