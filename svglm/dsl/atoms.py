"""Atoms, the words of the DSL: `[name]`, `[/name]` or `[name:value]`, separated by one space.

This module only splits text into atoms and prints them back; what a sequence of atoms means is
decided by the level parsers (`bundle.py`, `scene.py`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from svglm.errors import DSLError

NAME = r"[a-z][a-z0-9_]*"
# Closed-set values are identifiers or small integers; open values (content paths) may hold dots.
VALUE = r"[a-z0-9_][a-z0-9_.]*"
ATOM_RE = re.compile(rf"\[(/?)({NAME})(?::({VALUE}))?\]|\[OUT\]")

OUT = "[OUT]"
BOS = "<|bos|>"
EOS = "<|eos|>"
PAD = "<|pad|>"


@dataclass(frozen=True)
class Atom:
    name: str
    value: str | None = None
    closing: bool = False

    def __str__(self) -> str:
        if self.name == "OUT":
            return OUT
        if self.closing:
            return f"[/{self.name}]"
        return f"[{self.name}]" if self.value is None else f"[{self.name}:{self.value}]"


def parse_atom(text: str) -> Atom:
    m = ATOM_RE.fullmatch(text)
    if m is None:
        raise DSLError(f"not an atom: {text!r}")
    if text == OUT:
        return Atom("OUT")
    closing, name, value = m.group(1), m.group(2), m.group(3)
    if closing and value is not None:
        raise DSLError(f"a closing atom takes no value: {text!r}")
    return Atom(name, value, bool(closing))


def split_atoms(text: str) -> list[Atom]:
    """Split a space-separated atom sequence; double spaces or stray text are errors."""
    if text != text.strip() or "  " in text:
        raise DSLError(f"atoms must be separated by exactly one space: {text[:60]!r}")
    return [parse_atom(part) for part in text.split(" ")] if text else []


def join_atoms(atoms: list[Atom]) -> str:
    return " ".join(str(a) for a in atoms)
