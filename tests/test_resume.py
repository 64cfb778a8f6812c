"""A run killed after a checkpoint resumes with the same optimizer state and data position:
its ledger ends exactly as an uninterrupted run's does."""

from __future__ import annotations

import json

import pytest
from conftest import interrupt_after, make_run

from svglm.pipeline import run_steps


def curve(run):
    return [
        (x["stage"], x["step"], x["tokens"], x["loss"], x["lr"], x["grad_norm"])
        for x in map(json.loads, run.ledger.read_text().splitlines())
    ]


@pytest.mark.parametrize("kill_after", ["pretrain-step000003", "pretrain-final"])
def test_resume_after_kill_continues_same_loss_curve(tmp_path, monkeypatch, kill_after):
    reference = make_run(tmp_path / "ref")
    run_steps(reference, ("train",), show_progress=False)

    run = make_run(tmp_path / "killed")
    interrupt_after(run, kill_after, monkeypatch)
    assert "train" not in run.step_records()

    run_steps(run, ("train",), show_progress=False)
    assert curve(run) == curve(reference)
    for name in ("sft-final",):
        assert (run.checkpoints / name / "model.safetensors").read_bytes() == (
            reference.checkpoints / name / "model.safetensors"
        ).read_bytes()
