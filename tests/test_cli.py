"""The command line: every verb explains itself in flow order, bad input gets one line and exit
code 2, and a real bug keeps its traceback."""

from __future__ import annotations

import json
import re

import pytest
from conftest import one_line_error
from typer.testing import CliRunner

from svglm import __version__
from svglm.cli import app

runner = CliRunner()
# The order a run flows: create it, its steps, all of them at once, then using the result.
VERBS = [
    "init",
    "data",
    "tokenizer",
    "plan",
    "train",
    "monitor",
    "tensorboard",
    "promote",
    "probe",
    "report",
    "autopsy",
    "eval",
    "run",
    "demo",
    "generate",
    "chat",
    "repair",
    "export",
    "font",
    "serve",
    "sweep",
    "archive",
    "verify",
    "doctor",
    "dsl",
    "compile",
    "gallery",
    "runs",
]


def test_help_lists_every_verb_in_flow_order_on_one_line_each():
    lines = runner.invoke(app, ["--help"]).output.split("Commands:")[1].strip().splitlines()
    assert [line.split()[0] for line in lines] == VERBS
    assert not any(line.rstrip().endswith("...") for line in lines)  # no cut descriptions


@pytest.mark.parametrize("verb", VERBS)
def test_every_verb_has_help_with_ordinary_metavars(verb):
    result = runner.invoke(app, [verb, "--help"], prog_name="svglm")
    assert result.exit_code == 0
    usage = result.output.splitlines()[0]
    assert (
        usage.startswith(f"Usage: svglm {verb} [OPTIONS]") and len(result.output.splitlines()) > 4
    )
    assert "{" not in usage and "<str>" not in result.output and "<path>" not in result.output


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"svglm {__version__}"


def test_dsl_prints_the_language_of_the_scene_task():
    result = runner.invoke(app, ["dsl"])
    assert result.exit_code == 0
    assert (
        "### `timeline`" in result.output
        and "`stage_sequence` (goal `walk_stages`)" in result.output
    )
    _one_line_error(runner.invoke(app, ["dsl", "--task", "poem"]), "unknown task 'poem'")


def test_a_bug_is_not_dressed_up_as_a_user_error(home, monkeypatch):
    """Only the project's own errors become one line; anything else keeps its traceback."""
    import svglm.cli

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(svglm.cli, "run_steps", broken)
    assert runner.invoke(app, ["init", "b", "--preset", "tiny"]).exit_code == 0
    result = runner.invoke(app, ["run", "b"])
    assert isinstance(result.exception, ZeroDivisionError)
    assert "svglm: a bug" not in result.output


def _one_line_error(result, *needles):
    """A user error whose output is that one line and nothing else."""
    one_line_error(result, *needles)
    assert len(result.output.strip().splitlines()) == 1, result.output


def test_init_run_and_list(home):
    assert runner.invoke(app, ["init", "t", "--preset", "tiny"]).exit_code == 0
    result = runner.invoke(app, ["run", "t", "--quiet"])
    assert result.exit_code == 0, result.output
    assert (home / "t" / "report.html").exists() and (home / "index.html").exists()
    listed = json.loads(runner.invoke(app, ["runs", "--json"]).output)
    assert [(r["name"], r["preset"], r["status"]) for r in listed] == [("t", "tiny", "report done")]
    assert runner.invoke(app, ["runs"]).output.splitlines()[1].startswith("t ")
    again = runner.invoke(app, ["run", "t"])
    assert again.output.count("unchanged, skipped") == 6


def test_bad_inputs_get_one_line_errors(home):
    _one_line_error(runner.invoke(app, ["run", "missing"]), "no run 'missing'")
    _one_line_error(runner.invoke(app, ["init", "x", "--preset", "nope"]), "unknown preset 'nope'")
    runner.invoke(app, ["init", "x", "--preset", "tiny"])
    _one_line_error(runner.invoke(app, ["init", "x"]), "exists; pass --force")
    _one_line_error(runner.invoke(app, ["run", "x", "--step", "bake"]), "unknown step 'bake'")

    good = (home / "x" / "run.yaml").read_text()
    (home / "x" / "run.yaml").write_text(re.sub(r"tokens: \d+", "tokens: 0", good, count=1))
    _one_line_error(
        runner.invoke(app, ["run", "x"]), "run.yaml: stages[0].tokens", "greater than 0", "(got 0)"
    )
    (home / "x" / "run.yaml").write_text(good.replace("architecture: qwen3", "architecture: gpt2"))
    _one_line_error(
        runner.invoke(app, ["plan", "x"]),
        "run.yaml: model.architecture: unknown architecture (known: llama,",
        "(got 'gpt2')",
    )
    (home / "x" / "run.yaml").write_text(good.replace("- timeline", "- venn"))
    _one_line_error(
        runner.invoke(app, ["data", "x"]),
        "run.yaml: task.families: unknown diagram families ['venn']",
    )
    (home / "x" / "run.yaml").write_text("stages: [")
    _one_line_error(runner.invoke(app, ["plan", "x"]), "not valid YAML")


def test_plan_fail_stops_the_run_with_reasons(home):
    runner.invoke(app, ["init", "p", "--preset", "tiny"])
    path = home / "p" / "run.yaml"
    path.write_text(
        path.read_text()
        .replace("seq_len: 128", "seq_len: 16")
        .replace("max_tokens: 24", "max_tokens: 12")
    )
    result = runner.invoke(app, ["run", "p"])
    assert result.exit_code == 2  # after the step lines, the reasons on one line
    assert result.output.strip().splitlines()[-1].startswith("svglm: plan FAIL: rows_fit_context")
    assert json.loads((home / "p" / "plan.json").read_text())["verdict"] == "FAIL"
    assert not (home / "p" / "checkpoints").exists()
