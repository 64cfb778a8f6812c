"""The raw SVG task: a user's own SVG corpus (icons, assets) as canonical SVG text.

    [task:svg] [name:arrow_left] [OUT] <svg xmlns=... viewBox="0 0 24 24" ...><path d=.../></svg>

Rows come from `svglm data import-svg` (svglm/data/svgs.py): one canonical document per row,
asked for by the name of its file. The splits are by document; the holdout (the hidden probe)
asks for names train never shows, so what it measures is whether the model writes a valid,
renderable icon for an unseen request, and how close its ink comes (render IoU). Targets are
open text and go through BPE; only the task and the markers are reserved.
"""

from __future__ import annotations

import random
from functools import cached_property
from pathlib import Path
from typing import Any

from svglm.corpus import read_corpus
from svglm.dsl.atoms import OUT, parse_atom
from svglm.dsl.rawsvg import CLOSER, OPENER, SVG_NS, canonical_svg
from svglm.errors import ConfigError, DataError, DSLError
from svglm.tasks.base import CoverageSpace, Example, GeneratedData

SURFACES = ("atoms",)
# The length filter runs before a tokenizer exists: a cautious bound, below the 1.9 characters
# per token the longest lucide icons reached with the icons preset's 1,024-token BPE.
CHARS_PER_TOKEN = 1.75


# Path data as the canonical printer writes it: absolute commands, each with exactly its
# numbers (`M12 19L5 12H3A2 2 0 0 1 4 4Z`), so that a constrained output always parses.
_N = r"-?[0-9]+(\.[0-9]+)?"
_ARGS = {"M": 2, "L": 2, "H": 1, "V": 1, "Q": 4, "C": 6, "Z": 0}
_COMMANDS = [c + " ".join([_N] * n) for c, n in _ARGS.items()]
_COMMANDS.append("A" + " ".join([_N] * 3 + ["[01]"] * 2 + [_N] * 2))
PATH_DATA = f"M{_N} {_N}(" + "|".join(_COMMANDS) + ")*"


class RawSvgTask:
    name = "svg"
    opener, closer = OPENER, CLOSER
    closed_targets = False  # SVG text goes through BPE
    scores_ink = True

    def __init__(
        self,
        corpus: Path | None = None,
        surfaces: dict[str, float] | None = None,
        holdout_fraction: float = 0.12,
        max_tokens: int = 1 << 30,
    ):
        if surfaces and set(surfaces) - set(SURFACES):
            raise ConfigError(f"svg surfaces must come from {SURFACES} (got {list(surfaces)})")
        self.corpus = corpus
        self.holdout_fraction = holdout_fraction
        self.max_chars = int(max_tokens * CHARS_PER_TOKEN)

    def reserved_atoms(self) -> list[str]:
        return ["[task:svg]", OUT]

    def prompt(self, text: str) -> str:
        """`[name:arrow_left]` or the name in words (`arrow left`)."""
        words = text.replace(OUT, " ").replace("[task:svg]", " ").split()
        for w in words:
            if w.startswith("[") and parse_atom(w).name == "name" and parse_atom(w).value:
                return f"[task:svg] {w} {OUT}"
        name = "_".join(w.lower() for w in words if w.isalnum())
        if not name:
            raise DSLError("name the icon, e.g. 'arrow left' or [name:arrow_left]")
        return f"[task:svg] [name:{name}] {OUT}"

    @cached_property
    def records(self) -> list[dict[str, Any]]:
        if self.corpus is None:
            raise DataError("the svg task makes rows from an imported corpus (task.corpus)")
        return read_corpus(self.corpus, "svg")

    def generate(self, seed: int, sizes: dict[str, int]) -> GeneratedData:
        usable = [r for r in self.records if len(r["svg"]) <= self.max_chars]
        if not usable:
            raise DataError("every document is longer than the context (raise model.seq_len)")
        rows = [
            Example(
                prompt=f"[task:svg] [name:{r['name']}] {OUT}",
                target=r["svg"],
                family="svg",
                form="svg",
                surface="atoms",
                combo=(r["name"],),
                topic=r["name"],
            )
            for r in usable
        ]
        random.Random(seed).shuffle(rows)
        n_out = max(1, round(len(rows) * self.holdout_fraction / 2))
        held, dev, test = rows[:n_out], rows[n_out : 2 * n_out], rows[2 * n_out : 3 * n_out]
        for ex in held:
            ex.heldout = "combo"
        return GeneratedData(
            splits={
                "train": rows[3 * n_out :],
                "dev": dev[: sizes["dev"]],
                "test": test[: sizes["test"]],
                "holdout": held[: sizes["holdout"]],
            },
            content={"families": {}, "topics": {}},
            holdout_combos=[ex.combo for ex in held + dev],
            left_out=[
                f"{r['name']}: {len(r['svg'])} characters, longer than the context"
                for r in self.records
                if len(r["svg"]) > self.max_chars
            ],
        )

    def canonical(self, block: str) -> str:
        return canonical_svg(block)

    def materialize(self, canonical_block: str) -> str:
        return canonical_block

    def compile_svg(self, canonical_block: str, content: dict[str, Any]) -> str:
        return canonical_block

    def labels(self, block: str) -> dict[str, str]:
        self.canonical(block)
        return {"family": "svg", "form": "svg", "topic": ""}

    def viable_prefix(self, unfinished: str) -> bool:
        return unfinished.startswith(OPENER) and "</svg" not in unfinished

    def closed(self, raw_block: str) -> bool:
        return raw_block.endswith(CLOSER) and raw_block.count("<path") == raw_block.count("/>")

    def grammar(self) -> str:
        """Well-formed documents of the canonical subset: a root with a viewBox and paint,
        paths with path data and paint."""
        paint = " | ".join(
            f'" {key}=\\"" {value} "\\""'
            for key, value in (
                ("fill", "COLOR"),
                ("stroke", "COLOR"),
                ("stroke-width", "NUMBER"),
                ("stroke-linecap", "CAP"),
                ("stroke-linejoin", "JOIN"),
                ("fill-rule", "RULE"),
                ("opacity", "NUMBER"),
            )
        )
        return (
            "\n".join(
                [
                    f'start: " <svg xmlns=\\"{SVG_NS}\\" viewBox=\\"0 0 " NUMBER " " NUMBER "\\""'
                    ' paint* ">" path+ "</svg>"',
                    'path: "<path d=\\"" PATHDATA "\\"" paint* "/>"',
                    f"paint: {paint}",
                    f"NUMBER: /{_N}/",
                    "COLOR: /#[0-9a-f]{3}|#[0-9a-f]{6}|none/",
                    'CAP: "butt" | "round" | "square"',
                    'JOIN: "miter" | "round" | "bevel" | "miter-clip" | "arcs"',
                    'RULE: "nonzero" | "evenodd"',
                    f"PATHDATA: /{PATH_DATA}/",
                ]
            )
            + "\n"
        )

    def attributes(self, example: Example) -> dict[str, str]:
        return {"surface": example.surface}

    def coverage_space(self, held: list[tuple[str, ...]]) -> CoverageSpace:
        return CoverageSpace(combos=[{"surface": "atoms"}], free={}, pairs=())

    def reference(self) -> str:
        return "\n".join(
            [
                "# The raw SVG language",
                "",
                f"Prompt: `[task:svg] [name:arrow_left] {OUT}`",
                "",
                "Target: one canonical SVG document on one line: the root with its viewBox and "
                "the paint most paths share, then `<path d=...>` elements with absolute "
                "commands M L H V Q C A Z and any paint of their own (fill, stroke, "
                "stroke-width, stroke-linecap, stroke-linejoin, fill-rule, opacity).",
                "",
            ]
        )
