"""Memory maps: segments of a whole (memory, budget, capacity), grouped by brackets, with
optional takeaway cards.

Forms: `typed_regions` (a row of regions sized by their share), `arena_sections` (a grid with a
colour legend per group) and `layer_stack` (horizontal layers with brackets at the side).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from svglm.dsl.canvas import Box, Canvas, num, row_boxes, wrap
from svglm.dsl.content import ContentPack, Item, PackModel, Text
from svglm.dsl.family import DiagramFamily, Form, Topic
from svglm.dsl.schema import Component, ComponentKind, Knob
from svglm.dsl.textmetrics import text_width

CARDS_H = 150.0  # height of the card row under typed_regions and arena_sections
SIDE_W = 200.0  # width of the card column beside a layer_stack
BRACKET_W = 150.0  # width of the bracket labels beside a layer_stack
# Narrow enough for eight regions in a row, wide enough for a 13-letter label at the smallest
# font size.
MIN_REGION_W = 104.0


# -- content ------------------------------------------------------------------------------------
class Segment(Item):
    size: float = Field(1.0, gt=0, description="its share of the whole (typed_regions)")


class Bracket(BaseModel):
    """A group of neighbouring segments, `first` to `last` (a topic's own grouping)."""

    model_config = ConfigDict(extra="forbid")
    label: str = Text
    first: int | None = Field(None, ge=0)
    last: int | None = Field(None, ge=0)


class Card(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Text
    body: str = ""


class Pack(PackModel):
    segments: list[Segment]
    brackets: list[Bracket] = []
    cards: list[Card] = []

    @model_validator(mode="after")
    def _groups_are_runs(self) -> Pack:
        spans = [(b.first, b.last) for b in self.brackets]
        if any(s != (None, None) for s in spans):
            end = -1
            for first, last in spans:
                if first is None or last is None or not end < first <= last < len(self.segments):
                    raise ValueError("brackets need first <= last, in order, over segment indices")
                end = last
        return self


# -- lowering -----------------------------------------------------------------------------------
def _spans(n: int, groups: int) -> list[tuple[int, int]]:
    """Split n items into `groups` contiguous, near-equal spans (first, last)."""
    return [(g * n // groups, (g + 1) * n // groups - 1) for g in range(groups)]


def lower(form: str, knobs: dict[str, Any], pack: ContentPack | None) -> list[Component]:
    n = knobs["segments"]
    comps = [Component("segment", f"segments.{i}") for i in range(n)]
    spans = _spans(n, knobs["brackets"])
    if pack is not None and pack["brackets"] and pack["brackets"][0].get("first") is not None:
        spans = [(b["first"], b["last"]) for b in pack["brackets"]]  # the topic's own groups
    for j, (lo, hi) in enumerate(spans):
        comps.append(Component("bracket", f"brackets.{j}", (("from", lo), ("to", hi))))
    comps += [Component("card", f"cards.{j}") for j in range(knobs["cards"])]
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
        label = wrap(cv.label(b.path), x2 - x1, cv.fs, 1, bold=True)
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
        label = cv.label(b.path)
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
        label = wrap(cv.label(b.path), bracket_w - 22, cv.fs, 3, bold=True)
        cv.text(bx + 18, (y1 + y2) / 2 + 4, label, cv.fs, pal.ink, "600")
    if cards:
        cx = cv.left + cv.width - side
        ch = (cv.bottom - cv.top - gap * (len(cards) - 1)) / len(cards)
        for j, comp in enumerate(cards):
            box = Box(cx, cv.top + j * (ch + gap), side, ch)
            cv.label_box(box, comp.path, pal.muted, 100 + j)


def _pack(title: str, subtitle: str, segments, brackets=(), cards=(), footer: str = "") -> dict:
    """A pack from compact tuples: (label, detail, size), (label, first, last), (title, body)."""
    return {
        "title": title,
        "subtitle": subtitle,
        "segments": [{"label": a, "detail": b, "size": c} for a, b, c in segments],
        "brackets": [{"label": a, "first": f, "last": t} for a, f, t in brackets],
        "cards": [{"title": a, "body": b} for a, b in cards],
        "footer": footer,
    }


TOPICS = (
    Topic(
        "gpu_memory",
        _pack(
            "GPU memory during one training step",
            "Where 80 GB goes for a 7B model with AdamW in bf16",
            [
                ("Weights", "bf16 parameters, 14 GB", 14),
                ("Gradients", "same shape as weights", 14),
                ("Optimizer", "fp32 moments and master copy", 28),
                ("Activations", "saved for the backward pass", 12),
                ("KV cache", "only during evaluation", 4),
                ("Workspace", "cuBLAS and attention scratch", 3),
                ("Fragmentation", "allocator slack between blocks", 3),
                ("Reserve", "headroom kept free on purpose", 2),
            ],
            [("Model state", 0, 2), ("Step-local memory", 3, 5), ("Runtime overhead", 6, 7)],
            [
                ("Biggest lever", "Shard optimizer state across ranks."),
                ("Cheap win", "Activation checkpointing trades compute for memory."),
                ("Watch out", "Fragmentation grows with variable lengths."),
            ],
            "Sizes are illustrative; measure your own run.",
        ),
        ("gpu memory during training", "training memory on one gpu"),
    ),
    Topic(
        "cache_layout",
        _pack(
            "How a CPU cache line is used",
            "A 64-byte line holding one hot record",
            [
                ("Header", "tag and flags", 8),
                ("Key", "16-byte lookup key", 16),
                ("Value", "the payload readers want", 24),
                ("Counter", "atomic hit count", 8),
                ("Padding", "keeps records aligned", 8),
            ],
            [("Read path", 0, 2), ("Write path", 3, 4)],
            [
                ("False sharing", "Keep the counter on its own line."),
                ("Alignment", "Padding is cheaper than a split load."),
            ],
            "One cache line is 64 bytes on most x86 parts.",
        ),
        ("a cache line layout", "how a cache line is laid out"),
    ),
    Topic(
        "address_space",
        _pack(
            "A process address space",
            "What a running program maps, from low to high addresses",
            [
                ("Text", "machine code, read-only", 4),
                ("Data", "initialized globals", 2),
                ("BSS", "zeroed globals", 2),
                ("Heap", "grows up with malloc", 10),
                ("Mappings", "shared libraries and files", 8),
                ("Stack", "grows down per call", 4),
            ],
            [("Static", 0, 2), ("Dynamic", 3, 5)],
            [("Guard pages", "Unmapped gaps catch overflows early.")],
            "Layout differs per OS; ASLR shuffles the bases.",
        ),
        ("a process address space", "what a process maps in memory"),
    ),
    Topic(
        "disk_partitions",
        _pack(
            "A laptop disk, partitioned",
            "One 512 GB drive split for a dual-purpose machine",
            [
                ("EFI", "boot loader files", 1),
                ("Boot", "kernels and initrd", 2),
                ("Root", "the operating system", 120),
                ("Home", "user files and caches", 380),
            ],
            [],
            [
                ("Swap", "A swap file on root replaces a partition."),
                ("Backups", "Home is the partition to back up."),
            ],
        ),
        ("disk partitions", "how a disk is partitioned"),
    ),
    Topic(
        "kv_cache_budget",
        _pack(
            "Serving memory for a chat model",
            "How an inference GPU divides its memory between requests",
            [
                ("Weights", "quantized to 4 bits", 20),
                ("KV cache", "keys and values per token", 40),
                ("Prefix cache", "shared system prompts", 8),
                ("Activations", "one forward pass", 4),
                ("CUDA graphs", "captured decode steps", 2),
                ("Allocator", "pooled blocks", 3),
                ("Headroom", "for bursts of long prompts", 3),
            ],
            [("Fixed", 0, 0), ("Per request", 1, 3), ("Overhead", 4, 6)],
        ),
        ("a kv cache budget", "serving memory for a chat model"),
    ),
    Topic(
        "checkpoint_file",
        _pack(
            "What a training checkpoint holds",
            "The files written every few hundred steps",
            [
                ("Weights", "safetensors, fp32", 4),
                ("Optimizer", "Adam moments, twice the weights", 8),
                ("State", "step, data position, RNG", 1),
            ],
            [("Needed to resume", 0, 2)],
            [
                ("Resume", "All three are needed to resume exactly."),
                ("Export", "Only the weights leave the run."),
                ("Verify", "Hash every file before loading it."),
            ],
        ),
        ("a checkpoint file", "what a checkpoint holds"),
    ),
)

FAMILY = DiagramFamily(
    name="memory_map",
    forms=(
        Form(
            "typed_regions",
            "classify_regions",
            typed_regions,
            ("typed regions", "regions sized by share"),
        ),
        Form(
            "arena_sections",
            "show_allocation",
            arena_sections,
            ("arena sections", "a grid of sections"),
        ),
        Form("layer_stack", "show_layers", layer_stack, ("a layer stack", "stacked layers")),
    ),
    knobs=(
        Knob("segments", 3, 8, content="segments"),
        Knob("brackets", 0, 3, content="brackets"),
        Knob("cards", 0, 3, content="cards"),
    ),
    kinds=(
        ComponentKind("segment"),
        ComponentKind("bracket", indexes="segment"),
        ComponentKind("card"),
    ),
    lower=lower,
    topics=TOPICS,
    pack=Pack,
    nouns=("a memory map", "a memory layout"),
    content={
        **TOPICS[0].pack,
        "brackets": [{"label": b["label"]} for b in TOPICS[0].pack["brackets"]],
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
