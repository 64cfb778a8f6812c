"""The preflight FAILs impossible configs with reasons, and a FAIL stops the run before training."""

from __future__ import annotations

import json

import pytest
from conftest import TINY_SEQ, make_run

from svglm.config import StageConfig
from svglm.errors import PlanError
from svglm.pipeline import run_steps


def _plan_fail(run):
    with pytest.raises(PlanError) as err:
        run_steps(run, ("plan",), show_progress=False)
    plan = json.loads(run.plan.read_text())
    assert plan["verdict"] == "FAIL"
    assert not run.checkpoints.exists()
    return plan, str(err.value)


def test_rows_longer_than_context_fail(tmp_path):
    run = make_run(tmp_path, model__seq_len=16, probe__max_tokens=12)
    plan, msg = _plan_fail(run)
    assert "rows_fit_context" in msg
    check = next(c for c in plan["checks"] if c["name"] == "rows_fit_context")
    assert check["status"] == "FAIL" and "exceed seq_len 16" in check["detail"]


def test_warmup_longer_than_schedule_fails(tmp_path):
    run = make_run(
        tmp_path,
        stages=[StageConfig(name="sft", tokens=8 * TINY_SEQ * 3, batch_size=8, warmup_steps=5)],
    )
    _, msg = _plan_fail(run)
    assert "warmup 5 steps of 3" in msg


def test_budget_beyond_max_epochs_fails(tmp_path):
    run = make_run(
        tmp_path,
        stages=[
            StageConfig(
                name="sft", tokens=8 * TINY_SEQ * 500, batch_size=8, warmup_steps=1, max_epochs=2
            )
        ],
    )
    _, msg = _plan_fail(run)
    assert "reachable_steps" in msg and "500 steps requested" in msg


def test_batch_larger_than_an_epoch_fails(tmp_path):
    run = make_run(tmp_path, stages=[StageConfig(name="sft", tokens=10**6, batch_size=4096)])
    _, msg = _plan_fail(run)
    assert "one_epoch_fits" in msg


def test_plan_arithmetic_matches_the_training_it_describes(tiny_run):
    plan = json.loads(tiny_run.plan.read_text())
    summary = json.loads(tiny_run.train_summary.read_text())
    assert plan["verdict"] == "PASS"
    assert [s["steps"] for s in plan["stages"]] == [6, 4]  # tiny: 6 and 4 steps of 8 windows
    ledger = [json.loads(x) for x in tiny_run.ledger.read_text().splitlines()]
    for stage in plan["stages"]:
        steps = [r["step"] for r in ledger if r["stage"] == stage["name"]]
        assert steps[-1] == stage["steps"]
    assert summary["tokens"] == plan["total_tokens"]
