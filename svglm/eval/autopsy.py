"""Autopsy: put each miss in exactly one class and turn the counts into a next action."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

CLASSES = (
    "syntax",
    "family_miss",
    "form_miss",
    "style_miss",
    "topology_miss",
    "dirty_tail",
    "budget_truncation",
    "content_miss",
)

ACTIONS = {
    "syntax": "Inspect tokenizer boundaries and closure rows: outputs do not parse.",
    "family_miss": "Add family minimal pairs: the model routes to the wrong family.",
    "form_miss": "Add form minimal pairs within each family: the family is right, the form is not.",
    "style_miss": "Balance style knobs in train and check their coverage counts.",
    "topology_miss": "Add count-varied rows per family: counts are copied or routed wrongly.",
    "dirty_tail": "Add closure rows that end on <|eos|> right after the block, "
    "or stop at the closing atom.",
    "budget_truncation": "Raise the decode budget before blaming learning: blocks were cut off.",
    "content_miss": "Check content bindings: structure is right but bound paths differ.",
}


def classify(case: dict[str, Any], classify_valid_miss: Callable[[str, str], str]) -> str | None:
    """The single class of a case's miss, or None when the case met its contract."""
    if case["budget_truncated"]:
        return "budget_truncation"
    if not case["valid"]:
        return "syntax"
    if not case["exact"]:
        return classify_valid_miss(case["parsed_output"], case["expected"])
    if case["tail_text"]:
        return "dirty_tail"
    return None


def autopsy(cases: list[dict[str, Any]]) -> dict[str, Any]:
    counts = Counter(c["miss_class"] for c in cases if c["miss_class"])
    by_split = {
        split: dict(
            Counter(c["miss_class"] for c in cases if c["miss_class"] and c["split"] == split)
        )
        for split in sorted({c["split"] for c in cases})
    }
    if counts:
        top, n = counts.most_common(1)[0]
        action = f"{ACTIONS[top]} ({n} of {sum(counts.values())} misses are {top})"
    else:
        top, action = None, "No misses: the probe contract is met; promote this run."
    return {
        "schema": "svglm.autopsy/1",
        "misses": sum(counts.values()),
        "cases": len(cases),
        "classes": {k: counts.get(k, 0) for k in CLASSES},
        "by_split": by_split,
        "dominant": top,
        "recommended_action": action,
        "examples": {k: [c["id"] for c in cases if c["miss_class"] == k][:5] for k in counts},
    }
