"""Probe scoring on hand-made outputs: each DESIGN §4 field, each autopsy class, and each row of
the autopsy's recommendation table."""

from __future__ import annotations

import pytest

from svglm.dsl.bundle import parse_bundle
from svglm.dsl.families import FAMILIES
from svglm.dsl.lower import lower
from svglm.dsl.scene import print_scene
from svglm.eval.autopsy import CLASSES, NO_MISSES, RECOMMENDATIONS, autopsy, compare
from svglm.eval.probe import aggregate, extract_block, score_case
from svglm.tasks.scene import SceneTask

BUNDLE_TASK, SCENE_TASK = SceneTask(level="bundle"), SceneTask(level="scene")
CONTENT = {
    "families": {name: family.content for name, family in FAMILIES.items()},
    "topics": {t.name: t.pack for family in FAMILIES.values() for t in family.topics},
}
EXPECTED = (
    "[bundle] [family:timeline] [form:stage_sequence] [theme:infra_dark] [tone:blue] "
    "[density:airy] [background:none] [stages:4] [arrows:1] [footer:0] [/bundle]"
)
EXPECTED_SCENE = print_scene(lower(parse_bundle(EXPECTED)))
CASE = {
    "id": "hidden-000",
    "split": "hidden",
    "family": "timeline",
    "form": "stage_sequence",
    "surface": "explicit",
    "prompt": "[task:scene] ... [OUT]",
    "expected": EXPECTED,
}


def score(raw: str, stop: str = "eos", task: SceneTask = BUNDLE_TASK, expected: str = EXPECTED):
    return score_case(task, {**CASE, "expected": expected}, raw, stop, CONTENT)


def test_exact_output_meets_every_field():
    c = score(EXPECTED)
    assert c["exact"] and c["materialized_exact"] and c["svg_exact"] and c["valid_svg"]
    assert c["renderable"] and c["stopped"] and not c["budget_truncated"]
    assert c["tail_text"] == "" and c["miss_class"] is None
    assert c["svg"] == c["expected_svg"]


def test_reordered_atoms_are_canonicalized_to_exact():
    shuffled = EXPECTED.replace("[theme:infra_dark] [tone:blue]", "[tone:blue] [theme:infra_dark]")
    assert score(shuffled)["exact"]


# One output per miss class: (raw output, how decoding stopped, task, expected target).
SWAPPED_SCENE = EXPECTED_SCENE.replace(
    "[stage:stages.0] [stage:stages.1]", "[stage:stages.1] [stage:stages.0]"
)
FAMILY_MISS = EXPECTED.replace(
    "[family:timeline] [form:stage_sequence]", "[family:system_diagram] [form:linear_pipeline]"
).replace("[arrows:1] [footer:0]", "[links:0] [terminal:0] [footer:0]")
MISSES = {
    "syntax": (EXPECTED.replace("[stages:4]", "[stages:44]"), "eos", BUNDLE_TASK, EXPECTED),
    "family_miss": (FAMILY_MISS, "eos", BUNDLE_TASK, EXPECTED),
    "form_miss": (
        EXPECTED.replace("[form:stage_sequence]", "[form:milestone_chain]"),
        "eos",
        BUNDLE_TASK,
        EXPECTED,
    ),
    "style_miss": (EXPECTED.replace("[tone:blue]", "[tone:green]"), "eos", BUNDLE_TASK, EXPECTED),
    "topology_miss": (EXPECTED.replace("[stages:4]", "[stages:5]"), "eos", BUNDLE_TASK, EXPECTED),
    "dirty_tail": (EXPECTED + " [bundle] [family:time", "eos", BUNDLE_TASK, EXPECTED),
    "budget_truncation": (EXPECTED[:60], "budget", BUNDLE_TASK, EXPECTED),
    "content_miss": (SWAPPED_SCENE, "eos", SCENE_TASK, EXPECTED_SCENE),
}


def test_every_miss_class_has_a_case_here():
    assert set(MISSES) == set(CLASSES)


@pytest.mark.parametrize("cls", CLASSES)
def test_each_miss_is_put_in_its_one_class(cls):
    raw, stop, task, expected = MISSES[cls]
    c = score(raw, stop, task, expected)
    assert c["miss_class"] == cls
    assert not (c["exact"] and not c["tail_text"])  # a miss is never also a pass


@pytest.mark.parametrize("cls, action", RECOMMENDATIONS, ids=CLASSES)
def test_each_row_of_the_decision_table_is_recommended_when_its_class_dominates(cls, action):
    raw, stop, task, expected = MISSES[cls]
    missed = score(raw, stop, task, expected)
    passed = score(EXPECTED)
    report = autopsy([missed, passed])
    assert report["dominant"] == cls and report["classes"][cls] == 1
    assert report["recommended_action"] == f"{action} (1 of 1 misses are {cls})"


def test_no_misses_recommends_promotion():
    assert autopsy([score(EXPECTED)])["recommended_action"] == NO_MISSES


@pytest.mark.parametrize(
    "degenerate",
    [
        " ".join(["[/bundle]"] * 40),  # closers with no block, until the budget
        "[bundle] " + " ".join(["[family:timeline]"] * 30),  # a loop longer than any bundle
        "[bundle] [family:timeline] [form:stage_sequence] stray text [theme",  # not atoms
    ],
)
def test_degenerate_output_that_hits_the_budget_is_syntax_not_truncation(degenerate):
    c = score(degenerate, stop="budget")
    assert c["budget_truncated"] and not c["valid"]  # the DESIGN §4 flag is still set
    assert c["miss_class"] == "syntax"  # but more budget would not help, so no truncation


def test_syntax_and_truncation_fields():
    broken = score(EXPECTED.replace("[stages:4]", "[stages:44]"))
    assert not broken["valid"] and broken["svg"] is None and "44" in broken["parse_error"]
    dirty = score(EXPECTED + " [bundle] [family:time")
    assert dirty["exact"] and dirty["tail_text"] == "[bundle] [family:time"
    cut = score(EXPECTED[:60], stop="budget")
    assert cut["budget_truncated"] and not cut["stopped"]


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


def test_the_right_picture_of_the_wrong_topic_is_a_content_miss():
    expected = (
        "[bundle] [family:timeline] [form:stage_sequence] [topic:onboarding_plan] "
        "[theme:infra_dark] [tone:blue] [density:airy] [background:none] [stages:4] "
        "[arrows:1] [footer:1] [/bundle]"
    )
    other = expected.replace("onboarding_plan", "product_launch").replace(
        "[stages:4]", "[stages:3]"
    )
    c = score(other, expected=expected)
    assert c["valid"] and not c["exact"] and c["miss_class"] == "content_miss"
    assert "Launching the drawing assistant" in c["svg"]  # compiled from its own topic's pack
    assert "A new engineer" in c["expected_svg"]


def test_out_of_vocabulary_misses_do_not_steer_the_recommendation():
    """Misses on words train never shows are reported, but the next action follows the other
    splits; when they are the only misses, the action says so."""
    style = EXPECTED.replace("[tone:blue]", "[tone:green]")
    oov = [{**score(style), "split": "oov", "id": f"oov-{i:03d}"} for i in range(5)]
    family = {**score(FAMILY_MISS), "split": "visible", "id": "visible-000"}
    mixed = autopsy([*oov, family, score(EXPECTED)])
    assert mixed["classes"]["style_miss"] == 5 and mixed["by_split"]["oov"] == {"style_miss": 5}
    assert mixed["dominant"] == "family_miss"
    assert mixed["recommended_action"].startswith(dict(RECOMMENDATIONS)["family_miss"])
    only = autopsy([*oov, score(EXPECTED)])
    assert "Only prompts with words train never shows miss (5 of 5" in only["recommended_action"]


def case(id_: str, cls: str | None, family: str = "timeline") -> dict:
    raw, stop, task, expected = MISSES[cls] if cls else (EXPECTED, "eos", BUNDLE_TASK, EXPECTED)
    return {**score(raw, stop, task, expected), "id": id_, "family": family}


def test_autopsy_ranks_classes_counts_them_per_family_and_form_and_shows_two_examples():
    cases = [case(f"c{i}", "style_miss") for i in range(3)]
    cases += [case("d0", "form_miss", "memory_map"), case("d1", "form_miss"), case("e", None)]
    report = autopsy(cases)
    assert [(r["class"], r["misses"]) for r in report["ranked"]] == [
        ("style_miss", 3),
        ("form_miss", 2),
    ]
    assert report["ranked"][0]["action"] == dict(RECOMMENDATIONS)["style_miss"]
    assert report["by_family"] == {
        "memory_map": {"form_miss": 1},
        "timeline": {"style_miss": 3, "form_miss": 1},
    }
    assert report["by_form"]["timeline/stage_sequence"] == {"style_miss": 3, "form_miss": 1}
    shown = report["examples"]["style_miss"]
    assert [e["id"] for e in shown] == ["c0", "c1"]
    assert shown[0]["expected"] == EXPECTED and "[tone:green]" in shown[0]["got"]


def test_comparing_autopsies_names_what_was_fixed_kept_and_broken():
    before = [case("a", "style_miss"), case("b", "form_miss"), case("c", None), case("x", None)]
    after = [case("a", None), case("b", "style_miss"), case("c", "syntax"), case("y", None)]
    diff = compare(before, after)
    assert diff["cases"] == 3 and diff["unmatched"] == 2
    assert diff["fixed"] == {"n": 1, "by_class": {"style_miss": 1}, "ids": ["a"]}
    assert diff["new"] == {"n": 1, "by_class": {"syntax": 1}, "ids": ["c"]}
    assert diff["remain"] == {"n": 1, "by_class": {"form_miss -> style_miss": 1}, "ids": ["b"]}
