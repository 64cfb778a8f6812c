"""The Task protocol: everything the generic data, tokenizer, probe and report code needs from a
task. The steps never know which task they serve; they ask it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class Example:
    """One row before it is written: `<|bos|> prompt target <|eos|>`, with what it is."""

    prompt: str
    target: str
    family: str
    form: str
    surface: str
    combo: tuple[str, ...] = ()  # the attribute combination the hidden holdout is drawn over
    topic: str = ""
    template: int | None = None  # the sentence template of a natural-language prompt
    heldout: str = ""  # what a held-out row holds out: "combo", "template" or "oov"
    pair: str = ""  # shared by the two rows of a minimal pair

    def row(self) -> str:
        return f"<|bos|> {self.prompt} {self.target} <|eos|>"

    def meta(self) -> dict[str, Any]:
        """What the row is, written beside it (the trainer picks stage rows by surface)."""
        return {
            "surface": self.surface,
            "family": self.family,
            "form": self.form,
            "topic": self.topic,
            "combo": list(self.combo),
            "template": self.template,
            "heldout": self.heldout,
            "pair": self.pair,
        }


@dataclass
class GeneratedData:
    splits: dict[str, list[Example]]  # train, dev, test, holdout
    content: dict[str, Any]
    holdout_combos: list[tuple[str, ...]] = field(default_factory=list)
    # What else the holdout keeps from train, for QC to check on the text itself: a regex per
    # held-out sentence template, and the words only out-of-vocabulary prompts use.
    held_phrasings: list[str] = field(default_factory=list)
    unseen_words: list[str] = field(default_factory=list)
    # Source items (an imported glyph, an icon) that became no row, each with its reason.
    left_out: list[str] = field(default_factory=list)


@dataclass
class CoverageSpace:
    """What train rows are meant to cover: `combos` lists every allowed assignment of the
    attributes that depend on each other (a form belongs to a family; held-out combinations
    are left out), `free` the attributes that vary on their own (a density goes with anything).
    `pairs` names the attribute pairs whose every allowed cell needs enough train rows."""

    combos: list[dict[str, str]]
    free: dict[str, list[str]]
    pairs: tuple[tuple[str, str], ...]


class Task(Protocol):
    name: str
    opener: str  # the atom that opens a target block, e.g. "[bundle]"
    closer: str  # the atom that closes it, e.g. "[/bundle]"
    closed_targets: bool  # rows are reserved tokens only: the tokenizer gates unknown tokens
    scores_ink: bool  # the probe scores ink: render IoU, closure, memorization (glyph, svg)

    def reserved_atoms(self) -> list[str]:
        """Closed-set atoms (prompt and target) that must each be a single token."""

    def generate(self, seed: int, sizes: dict[str, int]) -> GeneratedData:
        """Rows for every split; holdout rows use attribute combinations never seen in train."""

    def prompt(self, text: str) -> str:
        """The model-facing prompt for what a user typed (atoms or a sentence)."""

    def canonical(self, block: str) -> str:
        """Parse a target block strictly and print it canonically; raises DSLError if invalid."""

    def labels(self, block: str) -> dict[str, str]:
        """What a valid target block is: its family, form and topic, as a probe case names
        them (for a user's own probe set, whose cases carry only a prompt and a target)."""

    def viable_prefix(self, unfinished: str) -> bool:
        """Whether an opened but unclosed block could still become valid given more tokens."""

    def closed(self, raw_block: str) -> bool:
        """Whether a complete block (valid or not) closes everything it opens (ink tasks)."""

    def grammar(self) -> str:
        """A Lark grammar (llguidance's dialect) of the target blocks this task makes, built from
        the same declarations as its parser, so that constrained decoding only writes blocks
        that parse (svglm/tasks/grammar.py)."""

    def materialize(self, canonical_block: str) -> str:
        """The fully lowered form that two equivalent targets share (scene text for bundles)."""

    def compile_svg(self, canonical_block: str, content: dict[str, Any]) -> str:
        """SVG text for a valid target block."""

    def classify_miss(self, canonical_block: str, expected: str) -> str:
        """Which part of a valid but wrong block differs: family_miss, form_miss, ... (tasks
        that score ink judge a valid block by its render IoU instead, and need not say)."""

    def attributes(self, example: Example) -> dict[str, str]:
        """The key attribute values of a row (family, form, theme, surface...), for coverage."""

    def coverage_space(self, held: list[tuple[str, ...]]) -> CoverageSpace:
        """What train must cover, given the held-out combinations."""

    def reference(self) -> str:
        """Markdown: every atom and value this task's prompts and targets may use."""
