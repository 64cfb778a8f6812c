"""SIGKILL at random points of every step, and a full disk: after each, `svglm run` finishes,
every artifact validates, the ledger has every step exactly once, no leftovers remain and the
final weights are byte-identical to an uninterrupted run.

Kill points come from a recorded event list of a whole run (tests/crash_harness.py), a few from
each step, chosen with a fixed seed. SVGLM_CRASH_KILLS sets how many (default 14; raise it to
run the harness longer by hand) and SVGLM_CRASH_SEED which ones.
"""

from __future__ import annotations

import errno
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import make_run
from typer.testing import CliRunner

from svglm.cli import app
from svglm.pipeline import STEPS, output_problem, run_steps
from svglm.runs import RunDir, ledger_records
from svglm.train import checkpoint as ckpt

HARNESS = Path(__file__).with_name("crash_harness.py")
KILLS = int(os.environ.get("SVGLM_CRASH_KILLS", "14"))
SEED = int(os.environ.get("SVGLM_CRASH_SEED", "0"))
SIGKILLED = -9


def harness(home: Path, name: str, *args: str) -> int:
    done = subprocess.run(
        [sys.executable, str(HARNESS), str(home), name, *args], capture_output=True, text=True
    )
    assert done.returncode in (0, SIGKILLED), done.stderr
    return done.returncode


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> RunDir:
    run = make_run(tmp_path_factory.mktemp("reference"), "c")
    run_steps(run, show_progress=False)
    return run


@pytest.fixture(scope="module")
def events(tmp_path_factory) -> list[tuple[str, str]]:
    home = tmp_path_factory.mktemp("count")
    make_run(home, "c")
    harness(home, "c", "--count", str(home / "events.json"))
    return [tuple(e) for e in json.loads((home / "events.json").read_text())]


def step_of(path: str) -> str | None:
    """The step whose artifact an event touches (steps.json and the hub belong to none)."""
    parts = Path(path).parts
    where = parts[1] if len(parts) > 1 else parts[0]
    for prefix, step in (
        ("dataset", "data"),
        ("tokenizer", "tokenizer"),
        ("plan.json", "plan"),
        ("checkpoints", "train"),
        ("ledger.jsonl", "train"),
        ("train_summary.json", "train"),
        ("probe", "probe"),
        ("report.html", "report"),
    ):
        if where == prefix:
            return step
    return None


def kill_points(events: list[tuple[str, str]]) -> list[int]:
    """Event numbers (1-based) to die at: at least two in every step, then any at random."""
    rng = random.Random(SEED)
    steps = [step_of(path) for _, path in events]
    chosen: list[int] = []
    for step in STEPS:
        mine = [i + 1 for i, s in enumerate(steps) if s == step]
        chosen += rng.sample(mine, min(2, len(mine)))
    rest = [n for n in range(1, len(events) + 1) if n not in chosen]
    chosen += rng.sample(rest, max(0, KILLS - len(chosen)))
    return chosen[:KILLS]


def assert_whole(run: RunDir, reference: RunDir) -> None:
    for step in STEPS:
        assert output_problem(run, step) is None, step
    steps = [(r["stage"], r["step"]) for r in ledger_records(run)]
    assert steps == [(r["stage"], r["step"]) for r in ledger_records(reference)]
    for name in ("sft-final", "pretrain-final"):
        assert (run.checkpoints / name / "model.safetensors").read_bytes() == (
            reference.checkpoints / name / "model.safetensors"
        ).read_bytes(), name
    assert list(run.root.rglob(".*.tmp")) == []
    kept = {r.name for r in ckpt.read_manifest(run).checkpoints}
    assert {p.name for p in run.checkpoints.iterdir()} == kept | {"manifest.json"}


@pytest.mark.parametrize("trial", range(KILLS))
def test_a_kill_at_any_point_of_any_step_is_survived(trial, events, reference, tmp_path):
    point = kill_points(events)[trial]
    run = make_run(tmp_path, "c")
    assert harness(tmp_path, "c", "--kill-at", str(point)) == SIGKILLED, events[point - 1]
    run_steps(run, show_progress=False)
    assert_whole(run, reference)


def test_a_kill_while_a_resume_rewrites_the_ledger_is_survived(events, reference, tmp_path):
    """First a kill in the second stage; then the resume is killed as it rewrites the ledger
    (the rewrite that used to truncate the history to nothing)."""
    into_sft = next(i + 1 for i, (kind, path) in enumerate(events) if "sft-step" in path)
    run = make_run(tmp_path, "c")
    assert harness(tmp_path, "c", "--kill-at", str(into_sft + 3)) == SIGKILLED
    history = ledger_records(run)
    assert harness(tmp_path, "c", "--kill-on", "ledger.jsonl") == SIGKILLED
    assert ledger_records(run) == history  # the rewrite is atomic: all of it or none
    run_steps(run, show_progress=False)
    assert_whole(run, reference)


def test_a_full_disk_while_saving_a_checkpoint_keeps_the_previous_one(reference, home, monkeypatch):
    run = make_run(home, "c")
    real_save = torch.save

    def disk_full(obj, path, *args, **kwargs):
        if ".pretrain-final" in str(path):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(obj, path, *args, **kwargs)

    monkeypatch.setattr(torch, "save", disk_full)
    result = CliRunner().invoke(app, ["run", "c", "-q"])
    assert result.exit_code == 2, result.output
    line = result.output.strip().splitlines()[-1]
    assert "pretrain-final: cannot write the checkpoint (No space left on device)" in line
    assert ckpt.resume_point(run, print).name == "pretrain-step000003"
    monkeypatch.setattr(torch, "save", real_save)
    run_steps(run, show_progress=False)
    assert_whole(run, reference)


def test_a_full_disk_while_writing_an_artifact_keeps_the_previous_file(
    reference, home, monkeypatch
):
    run = make_run(home, "c")
    run_steps(run, ("plan",), show_progress=False)
    plan = run.plan.read_bytes()
    cfg = run.config()
    cfg.train.memory_limit_gb = 8.0  # the plan must be written again
    run.write_config(cfg)

    def disk_full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    result = CliRunner().invoke(app, ["plan", "c", "-q"])
    assert result.exit_code == 2
    assert "cannot write (No space left on device); the previous file is kept" in result.output
    assert run.plan.read_bytes() == plan and list(run.root.rglob(".*.tmp")) == []
