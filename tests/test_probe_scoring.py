"""Probe scoring on hand-made outputs: each DESIGN §4 field and each autopsy class."""

from __future__ import annotations

import pytest

from svglm.dsl.content import DEFAULT_CONTENT
from svglm.eval.autopsy import autopsy
from svglm.eval.probe import aggregate, extract_block, score_case
from svglm.tasks.scene import SceneTask

TASK = SceneTask()
EXPECTED = (
    "[bundle] [family:timeline] [form:stage_sequence] [theme:infra_dark] [tone:blue] "
    "[density:airy] [background:none] [stages:4] [arrows:1] [footer:0] [/bundle]"
)
CASE = {
    "id": "hidden-000",
    "split": "hidden",
    "family": "timeline",
    "form": "stage_sequence",
    "surface": "explicit",
    "prompt": "[task:scene] ... [OUT]",
    "expected": EXPECTED,
}


def score(raw: str, stop: str = "eos"):
    return score_case(TASK, CASE, raw, stop, DEFAULT_CONTENT)


def test_exact_output_meets_every_field():
    c = score(EXPECTED)
    assert c["exact"] and c["materialized_exact"] and c["svg_exact"] and c["valid_svg"]
    assert c["renderable"] and c["stopped"] and not c["budget_truncated"]
    assert c["tail_text"] == "" and c["miss_class"] is None
    assert c["svg"] == c["expected_svg"]


def test_reordered_atoms_are_canonicalized_to_exact():
    shuffled = EXPECTED.replace("[theme:infra_dark] [tone:blue]", "[tone:blue] [theme:infra_dark]")
    assert score(shuffled)["exact"]


@pytest.mark.parametrize(
    "edit, cls",
    [
        (
            (
                "[family:timeline] [form:stage_sequence]",
                "[family:system_diagram] [form:linear_pipeline]",
            ),
            "family_miss",
        ),
        (("[form:stage_sequence]", "[form:milestone_chain]"), "form_miss"),
        (("[tone:blue]", "[tone:green]"), "style_miss"),
        (("[stages:4]", "[stages:5]"), "topology_miss"),
    ],
)
def test_valid_misses_are_classified(edit, cls):
    wrong = EXPECTED.replace(*edit)
    if cls == "family_miss":  # a system diagram takes other counters than a timeline
        wrong = wrong.replace("[arrows:1] [footer:0]", "[links:0] [terminal:0] [footer:0]")
    c = score(wrong)
    assert c["valid"] and c["renderable"] and not c["exact"] and not c["svg_exact"]
    assert c["miss_class"] == cls


def test_syntax_dirty_tail_and_truncation():
    broken = score(EXPECTED.replace("[stages:4]", "[stages:44]"))
    assert not broken["valid"] and broken["miss_class"] == "syntax" and broken["svg"] is None
    dirty = score(EXPECTED + " [bundle] [family:time")
    assert dirty["exact"] and dirty["tail_text"] == "[bundle] [family:time"
    assert dirty["miss_class"] == "dirty_tail"
    cut = score(EXPECTED[:60], stop="budget")
    assert (
        cut["budget_truncated"] and not cut["stopped"] and cut["miss_class"] == "budget_truncation"
    )


def test_extract_block_takes_the_first_complete_block():
    assert extract_block("x [bundle] a [/bundle] tail [/bundle]", "[bundle]", "[/bundle]") == (
        "[bundle] a [/bundle]",
        "tail [/bundle]",
    )
    assert extract_block("[bundle] never closed", "[bundle]", "[/bundle]") == (None, "")


def test_rates_and_autopsy_aggregate_cases():
    cases = [
        score(EXPECTED),
        score(EXPECTED.replace("[tone:blue]", "[tone:green]")),
        {**score(EXPECTED + " junk"), "split": "visible", "id": "visible-000"},
    ]
    report = aggregate(cases, "t", {"max_tokens": 64})
    assert report["overall"]["n"] == 3
    assert report["overall"]["exact"] == round(2 / 3, 4)
    assert report["overall"]["dirty_tail"] == round(1 / 3, 4)
    assert (
        report["splits"]["hidden"]["exact"] == 0.5 and report["splits"]["visible"]["exact"] == 1.0
    )
    a = autopsy(cases)
    assert a["misses"] == 2 and a["classes"]["style_miss"] == 1 and a["classes"]["dirty_tail"] == 1
    assert a["by_split"] == {"hidden": {"style_miss": 1}, "visible": {"dirty_tail": 1}}
    clean = autopsy([score(EXPECTED)])
    assert clean["misses"] == 0 and "promote" in clean["recommended_action"]
