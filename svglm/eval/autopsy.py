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
    # A glyph or an icon is judged by its ink (render_iou, a graded score), not by its text:
    # another font's valid A is no miss. Scene blocks must be exact.
    if not case["exact"] and not task.scores_ink:
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


def ranked(counts: Counter[str]) -> list[dict[str, Any]]:
    """Every miss class that occurred with its action, most misses first (ties in table
    order): what to fix first, then next."""
    order = sorted((c for c in CLASSES if counts[c]), key=lambda c: (-counts[c], CLASSES.index(c)))
    table = dict(RECOMMENDATIONS)
    return [{"class": c, "misses": counts[c], "action": table[c]} for c in order]


def _grouped(cases: list[dict[str, Any]], key: Any) -> dict[str, dict[str, int]]:
    groups: dict[str, Counter[str]] = {}
    for c in cases:
        if c["miss_class"]:
            groups.setdefault(key(c), Counter())[c["miss_class"]] += 1
    return {k: dict(v) for k, v in sorted(groups.items())}


def _example(case: dict[str, Any]) -> dict[str, Any]:
    got = case["parsed_output"] or case["raw_output"]
    return {"id": case["id"], "prompt": case["prompt"], "expected": case["expected"], "got": got}


def autopsy(cases: list[dict[str, Any]]) -> dict[str, Any]:
    misses = [c for c in cases if c["miss_class"]]
    counts = Counter(c["miss_class"] for c in misses)
    steering = Counter(c["miss_class"] for c in misses if c["split"] not in DIAGNOSTIC_SPLITS)
    action = recommend(steering)
    if not steering and counts:
        diagnostic = [c for c in cases if c["split"] in DIAGNOSTIC_SPLITS]
        action = ONLY_UNSEEN_WORDS.format(n=sum(counts.values()), cases=len(diagnostic))
    return {
        "schema": "svglm.autopsy/1",
        "misses": len(misses),
        "cases": len(cases),
        "classes": {k: counts.get(k, 0) for k in CLASSES},
        "by_split": {
            split: dict(Counter(c["miss_class"] for c in misses if c["split"] == split))
            for split in sorted({c["split"] for c in cases})
        },
        "by_family": _grouped(cases, lambda c: c["family"]),
        "by_form": _grouped(cases, lambda c: f"{c['family']}/{c['form']}"),
        "dominant": dominant(steering),
        "recommended_action": action,
        "ranked": ranked(steering),
        "examples": {k: [_example(c) for c in misses if c["miss_class"] == k][:2] for k in counts},
    }


def compare(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> dict[str, Any]:
    """Which misses of `before` the `after` probe fixed, which it kept (and as what) and which
    are new, over the cases both probed (matched by id)."""
    old = {c["id"]: c for c in before}
    new = {c["id"]: c for c in after}
    shared = [i for i in new if i in old]
    fixed = [i for i in shared if old[i]["miss_class"] and not new[i]["miss_class"]]
    broken = [i for i in shared if new[i]["miss_class"] and not old[i]["miss_class"]]
    kept = [i for i in shared if old[i]["miss_class"] and new[i]["miss_class"]]
    return {
        "schema": "svglm.autopsy_compare/1",
        "cases": len(shared),
        "unmatched": len(old) + len(new) - 2 * len(shared),
        "fixed": {
            "n": len(fixed),
            "by_class": dict(Counter(old[i]["miss_class"] for i in fixed)),
            "ids": fixed,
        },
        "new": {
            "n": len(broken),
            "by_class": dict(Counter(new[i]["miss_class"] for i in broken)),
            "ids": broken,
        },
        "remain": {
            "n": len(kept),
            "by_class": dict(
                Counter(f"{old[i]['miss_class']} -> {new[i]['miss_class']}" for i in kept)
            ),
            "ids": kept,
        },
    }
