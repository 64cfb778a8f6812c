"""The Task protocol: everything the generic data, tokenizer, probe and report code needs from a
task. The steps never know which task they serve; they ask it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class Example:
    """One row before it is written: `<|bos|> prompt target <|eos|>`."""

    prompt: str
    target: str
    family: str
    form: str
    surface: str
    combo: tuple[str, ...] = ()  # the attribute combination the hidden holdout is drawn over

    def row(self) -> str:
        return f"<|bos|> {self.prompt} {self.target} <|eos|>"


@dataclass
class GeneratedData:
    splits: dict[str, list[Example]]  # train, dev, test, holdout
    content: dict[str, Any]
    holdout_combos: list[tuple[str, ...]] = field(default_factory=list)


class Task(Protocol):
    name: str
    opener: str  # the atom that opens a target block, e.g. "[bundle]"
    closer: str  # the atom that closes it, e.g. "[/bundle]"

    def reserved_atoms(self) -> list[str]:
        """Closed-set atoms (prompt and target) that must each be a single token."""

    def generate(self, seed: int, sizes: dict[str, int]) -> GeneratedData:
        """Rows for every split; holdout rows use attribute combinations never seen in train."""

    def canonical(self, block: str) -> str:
        """Parse a target block strictly and print it canonically; raises DSLError if invalid."""

    def viable_prefix(self, unfinished: str) -> bool:
        """Whether an opened but unclosed block could still become valid given more tokens."""

    def materialize(self, canonical_block: str) -> str:
        """The fully lowered form that two equivalent targets share (scene text for bundles)."""

    def compile_svg(self, canonical_block: str, content: dict[str, Any]) -> str:
        """SVG text for a valid target block."""

    def classify_miss(self, canonical_block: str, expected: str) -> str:
        """Which part of a valid but wrong block differs: family_miss, form_miss, ..."""

    def coverage_keys(self, example: Example) -> list[str]:
        """Attribute values (e.g. 'family:timeline') this example covers, for coverage gates."""

    def reference(self) -> str:
        """Markdown: every atom and value this task's prompts and targets may use."""
