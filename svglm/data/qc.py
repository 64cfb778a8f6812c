"""Dataset QC, coverage and profile: the gates a dataset must pass before a tokenizer is trained.

QC checks every row the way the probe will: the target parses and is canonical, the row is
ASCII, no row repeats within or across splits, and nothing held out (attribute combinations,
sentence templates, out-of-vocabulary words) leaks into train. Coverage checks train against
what the run declares.
"""

from __future__ import annotations

import re
from collections import Counter
from statistics import mean
from typing import Any

from svglm.checks import Check, advise, check
from svglm.errors import DSLError
from svglm.tasks.base import CoverageSpace, GeneratedData, Task


def quality_checks(task: Task, data: GeneratedData) -> list[Check]:
    checks = []
    bad: list[str] = []
    for split, rows in data.splits.items():
        for ex in rows:
            try:
                if task.canonical(ex.target) != ex.target:
                    bad.append(f"{split}: target is not canonical: {ex.target[:80]}")
            except DSLError as e:
                bad.append(f"{split}: {e}")
    checks.append(
        check("targets_parse_canonical", not bad, bad[0] if bad else "every target parses")
    )

    non_ascii = [ex.row() for rows in data.splits.values() for ex in rows if not ex.row().isascii()]
    checks.append(
        check("ascii_only", not non_ascii, non_ascii[0][:80] if non_ascii else "all rows ASCII")
    )

    counts = Counter(ex.row() for rows in data.splits.values() for ex in rows)
    dupes = [row for row, n in counts.items() if n > 1]
    checks.append(check("unique_rows", not dupes, dupes[0][:80] if dupes else "no row repeats"))

    held = set(data.holdout_combos)
    leaks = [ex for ex in data.splits["train"] if ex.combo in held]
    checks.append(
        check(
            "holdout_unseen_in_train",
            not leaks,
            f"{len(leaks)} train rows use holdout combinations"
            if leaks
            else f"{len(held)} holdout combinations, none in train",
        )
    )

    train_text = [_words_of(ex.prompt) for ex in data.splits["train"]]
    phrasings = [re.compile(p) for p in data.held_phrasings]
    used = [t for t in train_text if any(p.match(t) for p in phrasings)]
    checks.append(
        check(
            "held_templates_unseen_in_train",
            not used,
            f"a train prompt uses a held-out template: {used[0][:80]}"
            if used
            else f"{len(phrasings)} held-out templates, none in train",
        )
    )
    unseen = set(data.unseen_words)
    leaked = sorted({w for t in train_text for w in t.split() if w in unseen})
    checks.append(
        check(
            "unseen_words_unseen_in_train",
            not leaked,
            f"train prompts use words meant to be unseen: {', '.join(leaked)}"
            if leaked
            else f"{len(unseen)} out-of-vocabulary words, none in train",
        )
    )
    left = data.left_out
    checks.append(
        advise(
            "rows_fit_context",
            not left,
            f"{len(left)} source items left out, e.g. {left[0]}" if left else "every item fits",
        )
    )
    return checks


def _words_of(prompt: str) -> str:
    """A prompt's plain words, atoms removed: the sentence a template made."""
    return " ".join(re.sub(r"\[[^\]]*\]", " ", prompt).split())


def coverage(
    task: Task,
    data: GeneratedData,
    blueprint: dict[str, list[str]],
    minimum: int,
    pair_minimum: int,
) -> dict[str, Any]:
    """Audit train rows against what the run declares: every value of every key attribute
    (family, form, topic, surface, style) in at least `minimum` rows, every allowed pair of
    values in at least `pair_minimum` (cells held out on purpose are not allowed), and rows for
    every surface a stage of the curriculum (`blueprint`: stage -> surfaces) trains on.
    Returns coverage.json with its checks under "checks"; each failure names the cells."""
    space = task.coverage_space(data.holdout_combos)
    rows = [task.attributes(ex) for ex in data.splits["train"]]
    values = {a: sorted({c[a] for c in space.combos}) for a in space.combos[0]}
    values.update({a: sorted(v) for a, v in space.free.items()})
    counts = {a: Counter(r[a] for r in rows) for a in values}
    low = [
        f"{a}:{v} ({counts[a][v]})"
        for a, vs in values.items()
        for v in vs
        if counts[a][v] < minimum
    ]

    pair_counts: dict[str, dict[str, int]] = {}
    missing: list[str] = []
    for a, b in space.pairs:
        seen = Counter((r[a], r[b]) for r in rows)
        cells = _cells(space, a, b)
        pair_counts[f"{a}x{b}"] = {f"{x}|{y}": seen[x, y] for x, y in cells}
        missing += [
            f"{a}:{x} x {b}:{y} ({seen[x, y]})" for x, y in cells if seen[x, y] < pair_minimum
        ]

    unplanned = [
        f"{stage} trains on {surface}, which has no train rows"
        for stage, surfaces in blueprint.items()
        for surface in surfaces
        if counts["surface"][surface] == 0
    ]
    checks = [
        check(
            "blueprint_surfaces",
            not unplanned,
            unplanned[0] if unplanned else "every stage's surfaces have train rows",
        ),
        check(
            "coverage_values",
            not low,
            f"{len(low)} values below {minimum} train rows: {', '.join(low[:6])}"
            if low
            else f"every value of {', '.join(values)} has >= {minimum} train rows",
        ),
        check(
            "coverage_pairs",
            not missing,
            f"{len(missing)} pairs below {pair_minimum} train rows: {', '.join(missing[:6])}"
            if missing
            else f"every allowed pair of {len(space.pairs)} attribute pairs has "
            f">= {pair_minimum} train rows",
        ),
    ]
    return {
        "schema": "svglm.coverage/2",
        "minimum": minimum,
        "pair_minimum": pair_minimum,
        "blueprint": blueprint,
        "counts": {a: {v: counts[a][v] for v in vs} for a, vs in values.items()},
        "pairs": pair_counts,
        "below_minimum": low,
        "missing_pairs": missing,
        "checks": checks,
    }


def _cells(space: CoverageSpace, a: str, b: str) -> list[tuple[str, str]]:
    """The (a, b) value pairs train rows may hold: from the allowed combinations where both
    attributes depend on them, else every value of a free attribute with every other value."""

    def options(attr: str) -> list[str] | None:
        return sorted(space.free[attr]) if attr in space.free else None

    if options(a) is None and options(b) is None:
        return sorted({(c[a], c[b]) for c in space.combos})
    xs = options(a) or sorted({c[a] for c in space.combos})
    ys = options(b) or sorted({c[b] for c in space.combos})
    return [(x, y) for x in xs for y in ys]


def profile(data: GeneratedData) -> dict[str, Any]:
    out: dict[str, Any] = {"schema": "svglm.dataset_profile/1", "splits": {}}
    for split, rows in data.splits.items():
        lengths = [len(ex.row()) for ex in rows]
        out["splits"][split] = {
            "rows": len(rows),
            "chars_mean": round(mean(lengths), 1) if lengths else 0,
            "chars_max": max(lengths, default=0),
            "families": dict(sorted(Counter(ex.family for ex in rows).items())),
            "forms": dict(sorted(Counter(ex.form for ex in rows).items())),
            "surfaces": dict(sorted(Counter(ex.surface for ex in rows).items())),
        }
    out["holdout_combinations"] = [list(c) for c in data.holdout_combos]
    return out
