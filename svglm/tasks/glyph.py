"""The glyph task: font glyphs as grid path tokens, learned from an imported font corpus.

    [task:glyph] [style:serif] [weight:regular] [slant:upright] [char:cap_a] [OUT]
    [glyph] M 30 101 L 58 20 ... Z [/glyph]

Rows come from `svglm data import-fonts` (svglm/data/fonts.py). The splits are by font, drawn
within each style, so no font is in two splits: the holdout (the hidden probe) and dev are
whole fonts train never shows; test holds glyphs of train fonts kept out of train. A held-out
font is only drawn from the fonts whose style, weight and slant another train font shares, so
every held-out prompt asks for something train has taught.

Several fonts answer the same prompt differently, so `exact` is not the contract here: the
probe scores ink (render IoU against the held-out font's glyph), closure and memorization, and
`svglm eval glyph-ocr` reads the glyphs with an OCR engine.
"""

from __future__ import annotations

import random
from functools import cached_property
from pathlib import Path
from typing import Any

from svglm.corpus import read_corpus, read_qc
from svglm.dsl.atoms import OUT, parse_atom
from svglm.dsl.glyph import (
    ARITY,
    CLOSER,
    DEFAULT_CHARSET,
    DEFAULT_GRID,
    OPENER,
    SLANTS,
    STYLES,
    WEIGHTS,
    char_class,
    char_of,
    char_value,
    glyph_prefix_viable,
    glyph_svg,
    parse_glyph,
    print_glyph,
)
from svglm.errors import ConfigError, DataError, DSLError
from svglm.tasks.base import CoverageSpace, Example, GeneratedData

SURFACES = ("atoms",)
PROMPT_WORDS = 7  # <|bos|>, [task:glyph], style, weight, slant, char, [OUT]


class GlyphTask:
    name = "glyph"
    opener, closer = OPENER, CLOSER
    closed_targets = True  # every word of a target is a reserved token (the path tokenizer)
    scores_ink = True  # the probe measures render IoU, closure and memorization

    def __init__(
        self,
        corpus: Path | None = None,
        surfaces: dict[str, float] | None = None,
        holdout_fraction: float = 0.12,
        max_tokens: int = 1 << 30,
    ):
        """The task over an imported `corpus` (its grid and character set come from it);
        without one, over the defaults, for the language reference alone."""
        if surfaces and set(surfaces) - set(SURFACES):
            raise ConfigError(f"glyph surfaces must come from {SURFACES} (got {list(surfaces)})")
        self.grid, self.charset = DEFAULT_GRID, DEFAULT_CHARSET
        if corpus is not None:
            qc = read_qc(corpus, "glyph")
            self.grid, self.charset = int(qc["grid"]), str(qc["charset"])
        self.corpus = corpus
        self.holdout_fraction = holdout_fraction
        self.max_target_words = max_tokens - PROMPT_WORDS

    # -- vocabulary ---------------------------------------------------------------------------
    def reserved_atoms(self) -> list[str]:
        """The path tokenizer's vocabulary: one token per command, grid value, style, weight,
        slant and character."""
        atoms = ["[task:glyph]", OUT, OPENER, CLOSER]
        atoms += [f"[style:{s}]" for s in STYLES] + [f"[weight:{w}]" for w in WEIGHTS]
        atoms += [f"[slant:{s}]" for s in SLANTS]
        atoms += [f"[char:{char_value(c)}]" for c in self.charset]
        return atoms + list(ARITY) + [str(v) for v in range(self.grid)]

    def prompt_for(self, style: str, weight: str, slant: str, char: str) -> str:
        return f"[task:glyph] [style:{style}] [weight:{weight}] [slant:{slant}] [char:{char}] {OUT}"

    def prompt(self, text: str) -> str:
        """Atoms as given, or words: a style (serif, sans_serif, ...), `bold`/`light`,
        `italic`, and the character itself (`serif bold A`)."""
        words = text.replace("[OUT]", " ").split()
        picked = {"style": "sans_serif", "weight": "regular", "slant": "upright", "char": None}
        for w in words:
            if w.startswith("["):
                atom = parse_atom(w)
                if atom.name in picked and atom.value:
                    picked[atom.name] = atom.value
            elif w.replace("-", "_").lower() in STYLES:
                picked["style"] = w.replace("-", "_").lower()
            elif w.lower() in WEIGHTS:
                picked["weight"] = w.lower()
            elif w.lower() in SLANTS:
                picked["slant"] = w.lower()
            elif len(w) == 1 and w in self.charset:
                picked["char"] = char_value(w)
        if picked["char"] is None:
            raise DSLError(f"name one character of {self.charset!r}, e.g. 'serif bold A'")
        return self.prompt_for(**picked)

    # -- rows -----------------------------------------------------------------------------------
    @cached_property
    def records(self) -> list[dict[str, Any]]:
        if self.corpus is None:
            raise DataError("the glyph task makes rows from an imported corpus (task.corpus)")
        return read_corpus(self.corpus, "glyph")

    def _example(self, r: dict[str, Any], heldout: str = "") -> Example:
        return Example(
            prompt=self.prompt_for(r["style"], r["weight"], r["slant"], r["char"]),
            target=r["glyph"],
            family=char_class(char_of(r["char"])),
            form=r["style"],
            surface="atoms",
            combo=(r["font"],),
            topic=r["char"],
            heldout=heldout,
        )

    def split_fonts(self, rng: random.Random) -> dict[str, list[str]]:
        """Fonts per split, drawn within each style; a held-out font's (style, weight, slant)
        stays in train through another font."""
        faces = {r["font"]: (r["style"], r["weight"], r["slant"]) for r in self.records}
        out: dict[str, list[str]] = {"holdout": [], "dev": [], "train": []}
        for style in sorted({face[0] for face in faces.values()}):
            fonts = sorted(f for f, face in faces.items() if face[0] == style)
            rng.shuffle(fonts)
            n = max(1, round(len(fonts) * self.holdout_fraction)) if len(fonts) >= 3 else 0
            for split in ("holdout", "dev"):
                for _ in range(n):
                    spare = [f for f in fonts if [faces[g] for g in fonts].count(faces[f]) >= 2]
                    if spare:
                        out[split].append(spare[0])
                        fonts.remove(spare[0])
            out["train"] += fonts
        return out

    def generate(self, seed: int, sizes: dict[str, int]) -> GeneratedData:
        rng = random.Random(seed)
        fonts = self.split_fonts(rng)
        font_split = {f: s for s, fs in fonts.items() for f in fs}
        usable = [r for r in self.records if len(r["glyph"].split()) <= self.max_target_words]
        if not usable:
            raise DataError("every glyph is longer than the context (raise model.seq_len)")
        by_split: dict[str, list[Example]] = {"train": [], "dev": [], "holdout": []}
        for r in usable:
            split = font_split[r["font"]]
            by_split[split].append(self._example(r, "combo" if split == "holdout" else ""))
        train = by_split["train"]
        rng.shuffle(train)
        test = train[: min(sizes["test"], len(train) // 10)]
        splits = {"train": train[len(test) :], "dev": by_split["dev"], "test": test}
        splits["holdout"] = by_split["holdout"]
        seen: set[str] = set()
        for name in ("train", "test", "dev", "holdout"):  # a row twice (two fonts alike) once
            unique = [ex for ex in splits[name] if ex.row() not in seen]
            seen |= {ex.row() for ex in unique}
            splits[name] = unique
        too_long = [r for r in self.records if r not in usable]
        return GeneratedData(
            splits=splits,
            content={"families": {}, "topics": {}},
            holdout_combos=[(f,) for f in fonts["holdout"] + fonts["dev"]],
            left_out=[
                f"{r['font']} [char:{r['char']}]: {len(r['glyph'].split())} tokens, "
                "longer than the context"
                for r in too_long
            ],
        )

    # -- targets --------------------------------------------------------------------------------
    def segments(self, block: str):
        return parse_glyph(block, self.grid)

    def canonical(self, block: str) -> str:
        return print_glyph(self.segments(block))

    def materialize(self, canonical_block: str) -> str:
        return canonical_block

    def compile_svg(self, canonical_block: str, content: dict[str, Any]) -> str:
        return glyph_svg(self.segments(canonical_block), self.grid)

    def labels(self, block: str) -> dict[str, str]:
        self.segments(block)
        return {"family": "custom", "form": "custom", "topic": ""}

    def viable_prefix(self, unfinished: str) -> bool:
        return glyph_prefix_viable(unfinished, self.grid)

    def closed(self, raw_block: str) -> bool:
        """Whether every contour the model opened it also closed (on a block that may not
        parse for other reasons)."""
        words = raw_block.split()[1:-1]
        starts = sum(w == "M" for w in words)
        return starts > 0 and starts == sum(w == "Z" for w in words) and words[-1] == "Z"

    def grammar(self) -> str:
        values = " | ".join(f'" {v}"' for v in range(self.grid))
        return (
            "\n".join(
                [
                    f'start: " {OPENER}" contour+ " {CLOSER}"',
                    'contour: " M" point segment* " Z"',
                    'segment: " L" point | " Q" point point | " C" point point point',
                    "point: value value",
                    f"value: {values}",
                ]
            )
            + "\n"
        )

    # -- coverage and reference ------------------------------------------------------------------
    def attributes(self, example: Example) -> dict[str, str]:
        return {
            "style": example.form,
            "char": example.topic,
            "class": example.family,
            "surface": example.surface,
        }

    def coverage_space(self, held: list[tuple[str, ...]]) -> CoverageSpace:
        styles = {r["style"] for r in self.records}
        return CoverageSpace(
            combos=[
                {"style": s, "char": char_value(c), "class": char_class(c)}
                for s in sorted(styles)
                for c in self.charset
            ],
            free={"surface": list(SURFACES)},
            pairs=(("style", "class"),),
        )

    def reference(self) -> str:
        chars = " ".join(f"`[char:{char_value(c)}]`" for c in self.charset)
        return "\n".join(
            [
                "# The glyph language",
                "",
                f"Prompt: `{self.prompt_for('serif', 'regular', 'upright', 'cap_a')}`",
                "",
                f"Target: `{OPENER} M x y L x y Q x1 y1 x y C x1 y1 x2 y2 x y Z ... {CLOSER}`, "
                f"integers on the grid 0..{self.grid - 1}, y down; every contour ends with Z.",
                "",
                f"Styles: {', '.join(STYLES)}. Weights: {', '.join(WEIGHTS)}. "
                f"Slants: {', '.join(SLANTS)}.",
                "",
                f"Characters: {chars}",
                "",
            ]
        )
