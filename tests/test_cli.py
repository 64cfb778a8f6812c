"""The command line: every verb explains itself, bad input gets one line, never a traceback."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from svglm.cli import app

runner = CliRunner()
VERBS = ["init", "run", "demo", "data", "tokenizer", "plan", "train", "probe", "report", "runs"]


@pytest.mark.parametrize("verb", VERBS)
def test_every_verb_has_help(verb):
    result = runner.invoke(app, [verb, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output and len(result.output.splitlines()) > 4


def _one_line_error(result, *needles):
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit)
    text = result.output.strip()
    assert "Traceback" not in text and len(text.splitlines()) == 1, text
    for needle in needles:
        assert needle in text


def test_init_run_and_list(home):
    assert runner.invoke(app, ["init", "t", "--preset", "tiny"]).exit_code == 0
    result = runner.invoke(app, ["run", "t", "--quiet"])
    assert result.exit_code == 0, result.output
    assert (home / "t" / "report.html").exists() and (home / "index.html").exists()
    listed = runner.invoke(app, ["runs"])
    assert "t" in listed.output and "tiny" in listed.output
    again = runner.invoke(app, ["run", "t"])
    assert again.output.count("unchanged, skipped") == 6


def test_bad_inputs_get_one_line_errors(home):
    _one_line_error(runner.invoke(app, ["run", "missing"]), "no run 'missing'")
    _one_line_error(runner.invoke(app, ["init", "x", "--preset", "nope"]), "unknown preset 'nope'")
    runner.invoke(app, ["init", "x", "--preset", "tiny"])
    _one_line_error(runner.invoke(app, ["init", "x"]), "exists; pass --force")
    _one_line_error(runner.invoke(app, ["run", "x", "--step", "bake"]), "unknown step 'bake'")

    cfg = (home / "x" / "run.yaml").read_text().replace("tokens: 3072", "tokens: 0", 1)
    (home / "x" / "run.yaml").write_text(cfg)
    _one_line_error(
        runner.invoke(app, ["run", "x"]), "run.yaml: stages[0].tokens", "greater than 0", "(got 0)"
    )
    (home / "x" / "run.yaml").write_text("stages: [")
    _one_line_error(runner.invoke(app, ["plan", "x"]), "not valid YAML")


def test_plan_fail_stops_the_run_with_reasons(home):
    runner.invoke(app, ["init", "p", "--preset", "tiny"])
    path = home / "p" / "run.yaml"
    path.write_text(path.read_text().replace("seq_len: 64", "seq_len: 16"))
    result = runner.invoke(app, ["run", "p"])
    assert result.exit_code == 1
    assert "plan FAIL: rows_fit_context" in result.output
    assert json.loads((home / "p" / "plan.json").read_text())["verdict"] == "FAIL"
    assert not (home / "p" / "checkpoints").exists()
