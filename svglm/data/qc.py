"""Dataset QC, coverage and profile: the gates a dataset must pass before a tokenizer is trained.

QC checks every row the way the probe will: the target parses and is canonical, the row is
ASCII, no row repeats within or across splits, and no holdout combination leaks into train.
"""

from __future__ import annotations

from collections import Counter
from statistics import mean
from typing import Any

from svglm.checks import Check, check
from svglm.errors import DSLError
from svglm.tasks.base import Example, GeneratedData, Task


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
    return checks


def coverage(task: Task, rows: list[Example], minimum: int) -> dict[str, Any]:
    counts = Counter(key for ex in rows for key in task.coverage_keys(ex))
    low = sorted(k for k, n in counts.items() if n < minimum)
    return {
        "schema": "svglm.coverage/1",
        "minimum": minimum,
        "counts": dict(sorted(counts.items())),
        "below_minimum": low,
    }


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
