"""Autopsy: put each miss in exactly one class and turn the counts into a next action.

Classes are checked in a fixed order, validity first: an output that does not parse is a
`syntax` miss unless it is an unfinished block that a larger budget could still complete
(`budget_truncation`); a degenerate loop that runs into the budget is syntax, not truncation.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from svglm.tasks.base import Task

# The decision table: each miss class and what to do when it dominates, in class order.
RECOMMENDATIONS: tuple[tuple[str, str], ...] = (
    ("syntax", "Inspect tokenizer boundaries and closure rows: outputs do not parse."),
    ("family_miss", "Add family minimal pairs: the model routes to the wrong family."),
    (
        "form_miss",
        "Add form minimal pairs within each family: the family is right, the form is not.",
    ),
    ("style_miss", "Balance style knobs in train and check their coverage counts."),
    ("topology_miss", "Add count-varied rows per family: counts are copied or routed wrongly."),
    (
        "dirty_tail",
        "Add closure rows that end on <|eos|> right after the block, or stop at the closing atom.",
    ),
    (
        "budget_truncation",
        "Raise the decode budget before blaming learning: unfinished blocks were cut off.",
    ),
    ("content_miss", "Check content bindings: structure is right but bound paths differ."),
)
CLASSES = tuple(name for name, _ in RECOMMENDATIONS)
NO_MISSES = "No misses: the probe contract is met; promote this run."
# Probe splits that measure a known limit rather than steer: prompts with words train never
# shows. Their misses are reported, but the recommendation follows the other splits.
DIAGNOSTIC_SPLITS = ("oov",)
ONLY_UNSEEN_WORDS = (
    "Only prompts with words train never shows miss ({n} of {cases} such cases): add phrasings "
    "with those words to train if users will say them."
)


def classify(case: dict[str, Any], task: Task) -> str | None:
    """The single class of a case's miss, or None when the case met its contract."""
    if not case["valid"]:
        raw, opener = case["raw_output"], task.opener
        unfinished = raw[raw.find(opener) :] if opener in raw else ""
        if case["budget_truncated"] and task.viable_prefix(unfinished):
            return "budget_truncation"
        return "syntax"
    if not case["exact"]:
        return task.classify_miss(case["parsed_output"], case["expected"])
    if case["tail_text"]:
        return "dirty_tail"
    return None


def dominant(counts: Counter[str]) -> str | None:
    """The most frequent miss class; a tie goes to the earlier row of the table."""
    if not counts:
        return None
    return max(CLASSES, key=lambda c: (counts[c], -CLASSES.index(c)))


def recommend(counts: Counter[str]) -> str:
    """The action for the dominant miss class, with how many misses it explains."""
    top = dominant(counts)
    if top is None:
        return NO_MISSES
    action = dict(RECOMMENDATIONS)[top]
    return f"{action} ({counts[top]} of {sum(counts.values())} misses are {top})"


def autopsy(cases: list[dict[str, Any]]) -> dict[str, Any]:
    counts = Counter(c["miss_class"] for c in cases if c["miss_class"])
    steering = Counter(
        c["miss_class"] for c in cases if c["miss_class"] and c["split"] not in DIAGNOSTIC_SPLITS
    )
    action = recommend(steering)
    if not steering and counts:
        diagnostic = [c for c in cases if c["split"] in DIAGNOSTIC_SPLITS]
        action = ONLY_UNSEEN_WORDS.format(n=sum(counts.values()), cases=len(diagnostic))
    by_split = {
        split: dict(
            Counter(c["miss_class"] for c in cases if c["miss_class"] and c["split"] == split)
        )
        for split in sorted({c["split"] for c in cases})
    }
    return {
        "schema": "svglm.autopsy/1",
        "misses": sum(counts.values()),
        "cases": len(cases),
        "classes": {k: counts.get(k, 0) for k in CLASSES},
        "by_split": by_split,
        "dominant": dominant(steering),
        "recommended_action": action,
        "examples": {k: [c["id"] for c in cases if c["miss_class"] == k][:5] for k in counts},
    }
