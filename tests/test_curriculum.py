"""The curriculum's data: what is held out stays out of train, minimal pairs differ in one clue
and map to different targets, a sentence says everything its target does not leave at a
default, and the coverage gate stops a run whose data does not cover what it declares."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
from conftest import make_run, one_line_error
from typer.testing import CliRunner

from svglm.cli import app
from svglm.config import StageConfig
from svglm.data.qc import coverage
from svglm.dsl.families import FAMILIES
from svglm.dsl.schema import STYLE
from svglm.tasks import phrasing
from svglm.tasks.scene import SceneTask

SIZES = {"train": 1500, "dev": 50, "test": 50, "holdout": 150, "templates": 80, "oov": 40}
runner = CliRunner()


@pytest.fixture(scope="module", params=["bundle", "scene"])
def data(request):
    task = SceneTask(level=request.param)
    return task, task.generate(7, SIZES)


def differing_spans(a: str, b: str) -> tuple[str, str]:
    """The words of two prompts between their common beginning and their common end."""
    x, y = a.split(), b.split()
    start = next(i for i, (p, q) in enumerate(zip(x + [None], y + [None], strict=False)) if p != q)
    end = 0
    while end < min(len(x), len(y)) - start and x[-1 - end] == y[-1 - end]:
        end += 1
    span = (" ".join(x[start : len(x) - end]), " ".join(y[start : len(y) - end]))
    return span[0].strip(","), span[1].strip(",")  # a clause may follow with its comma


def test_held_out_combinations_templates_and_words_never_occur_in_train(data):
    task, d = data
    held = set(d.holdout_combos)
    train = d.splits["train"]
    assert held and not [ex for ex in train if ex.combo in held]
    # the text itself, not only the labels: no train sentence fits a held-out template
    sentences = [" ".join(re.sub(r"\[[^\]]*\]", " ", ex.prompt).split()) for ex in train]
    patterns = [re.compile(phrasing.template_pattern(i)) for i in phrasing.HELD_OUT]
    assert not [s for s in sentences if any(p.match(s) for p in patterns)]
    unseen = set(phrasing.unseen_words())
    assert unseen and not unseen & {w for s in sentences for w in s.split()}
    # and the holdout does hold each kind, made the way it claims
    kinds = {ex.heldout for ex in d.splits["holdout"]}
    assert kinds == {"combo", "template", "oov"}
    for ex in d.splits["holdout"]:
        text = " ".join(re.sub(r"\[[^\]]*\]", " ", ex.prompt).split())
        if ex.heldout == "combo":
            assert ex.combo in held
        elif ex.heldout == "template":
            assert any(p.match(text) for p in patterns), text
        else:
            assert unseen & set(text.split()), text


def test_minimal_pairs_differ_in_one_clue_and_map_to_different_targets(data):
    task, d = data
    pairs: dict[str, list] = {}
    for split in ("train", "dev", "test"):
        for ex in d.splits[split]:
            if ex.pair:
                pairs.setdefault(ex.pair, []).append(ex)
    assert len(pairs) > 20
    kinds = set()
    for a, b in pairs.values():
        span_a, span_b = differing_spans(a.prompt, b.prompt)
        assert a.target != b.target
        if a.family == b.family:  # the form changed, nothing else
            assert a.form != b.form and a.topic == b.topic
            clue = [FAMILIES[a.family].form(x.form).phrases for x in (a, b)]
            kinds.add("form")
        else:  # a topic of another family: both at their family's default form
            assert a.topic != b.topic
            assert a.form == FAMILIES[a.family].form_names[0]
            assert b.form == FAMILIES[b.family].form_names[0]
            clue = [FAMILIES[x.family].topic(x.topic).phrases for x in (a, b)]
            kinds.add("family")
        # what differs lies inside the one clue's phrase on each side
        assert any(span_a in p for p in clue[0]), (span_a, a.prompt)
        assert any(span_b in p for p in clue[1]), (span_b, b.prompt)
        style = [re.findall(r"\[(?:theme|tone|density|background):\w+\]", x.target) for x in (a, b)]
        assert style[0] == style[1]  # the style is the same on both sides
    assert kinds == {"form", "family"}


def _said(text: str, table: dict) -> set:
    """The values whose phrases a sentence contains."""
    return {value for value, phrases in table.items() if any(p in text for p in phrases)}


def test_a_sentence_says_every_value_its_target_does_not_leave_at_the_default(data):
    """The natural-language surface is not a guessing game: every style value and form in the
    target is either named by one of its phrases or is the default, and no phrase of another
    value appears."""
    task, d = data
    checked = 0
    for ex in d.splits["train"]:
        if ex.surface != "natural":
            continue
        text = re.sub(r"\[[^\]]*\]", " ", ex.prompt)
        family = FAMILIES[ex.family]
        target = dict(re.findall(r"\[(theme|tone|density|background):(\w+)\]", ex.target))
        for knob, table in phrasing.PHRASES.items():
            said = _said(text, table)
            assert said <= {target[knob]}, (knob, said, ex.prompt)
            assert said or target[knob] == STYLE[knob][0], (knob, ex.prompt, ex.target)
        forms = _said(text, {f.name: f.phrases for f in family.forms})
        assert forms <= {ex.form}, ex.prompt
        assert forms or ex.form == family.form_names[0], (ex.prompt, ex.target)
        checked += 1
    assert checked > 200


def test_the_coverage_gate_fails_on_a_pair_train_does_not_cover():
    task = SceneTask(level="bundle")
    d = task.generate(3, SIZES)
    passing = coverage(task, d, {}, 1, 1)
    assert {c["name"]: c["status"] for c in passing["checks"]}["coverage_pairs"] == "PASS"
    cell = ("timeline", "paper_editorial")
    kept = [ex for ex in d.splits["train"] if (ex.family, task.attributes(ex)["theme"]) != cell]
    failing = coverage(task, replace(d, splits={**d.splits, "train": kept}), {}, 1, 1)
    check = next(c for c in failing["checks"] if c["name"] == "coverage_pairs")
    assert check["status"] == "FAIL"
    assert "family:timeline x theme:paper_editorial (0)" in check["detail"]
    assert "family:timeline x theme:paper_editorial (0)" in failing["missing_pairs"]


def test_pairs_held_out_on_purpose_are_not_required():
    """Hold out every tone of (stage_sequence, signal_glow): that form x theme cell is then
    missing from train on purpose, and the gate passes without it."""
    task = SceneTask(level="bundle", families=["timeline"])
    d = task.generate(3, SIZES)
    held = [c for c in task.combos() if c[1:3] == ("stage_sequence", "signal_glow")]
    kept = [ex for ex in d.splits["train"] if ex.combo not in held]
    cut = replace(d, splits={**d.splits, "train": kept}, holdout_combos=held)
    cov = coverage(task, cut, {}, 1, 1)
    assert all(c["status"] == "PASS" for c in cov["checks"])
    assert "stage_sequence|signal_glow" not in cov["pairs"]["formxtheme"]
    assert cov["pairs"]["formxtheme"]["milestone_chain|signal_glow"] > 0
    # the same cut without saying it was on purpose fails, naming the cell
    blind = coverage(task, replace(cut, holdout_combos=[]), {}, 1, 1)
    assert "form:stage_sequence x theme:signal_glow (0)" in blind["missing_pairs"]


def test_a_run_whose_curriculum_trains_on_a_surface_it_does_not_generate_stops_before_the_tokenizer(
    home,
):
    run = make_run(
        home,
        name="c",
        task__surfaces={"explicit": 1.0, "natural": 1.0},
        stages=[StageConfig(name="pretrain", tokens=8192, surfaces=["explicit", "edit"])],
    )
    result = runner.invoke(app, ["run", "c", "--quiet"])
    one_line_error(
        result,
        "dataset QC failed: blueprint_surfaces: stages[0] (pretrain) trains on edit, "
        "which has no train rows",
    )
    assert not run.tokenizer_json.exists()
    cov = json.loads(run.coverage.read_text())
    assert cov["blueprint"] == {"stages[0] (pretrain)": ["explicit", "edit"]}


def test_a_run_with_too_few_rows_for_its_pair_minimum_names_the_cells(home):
    run = make_run(home, name="p", data__min_pair_coverage=50)
    result = runner.invoke(app, ["run", "p", "--quiet"])
    one_line_error(result, "dataset QC failed: coverage_pairs:", "pairs below 50 train rows")
    assert json.loads(run.coverage.read_text())["missing_pairs"]
