"""A tiny run (seconds) makes every artifact with its fixed keys; unchanged steps are skipped;
the same config and seed give the same bytes and the same loss curve."""

from __future__ import annotations

import json
import math

import pytest
from conftest import TINY_SEQ, make_run

from svglm.dsl.families import FAMILIES
from svglm.model.config import ARCHITECTURES
from svglm.pipeline import STEPS, run_steps
from svglm.runs import RunDir, list_runs

# DESIGN §5: the fields of every ledger line
LEDGER_KEYS = {"stage", "step", "tokens", "loss", "lr", "grad_norm", "tokens_per_s", "elapsed"}


def test_tiny_run_produces_every_artifact(tiny_run):
    r = tiny_run
    for path in [
        "run.yaml",
        "dataset/train.txt",
        "dataset/dev.txt",
        "dataset/test.txt",
        "dataset/holdout.txt",
        "dataset/train.meta.jsonl",
        "dataset/holdout.meta.jsonl",
        "dataset/probe_contract.json",
        "dataset/dataset_qc.json",
        "dataset/dataset_profile.json",
        "dataset/coverage.json",
        "dataset/content.json",
        "tokenizer/tokenizer.json",
        "tokenizer/tokenizer_manifest.json",
        "tokenizer/tokenizer_roundtrip.json",
        "tokenizer/atom_audit.json",
        "plan.json",
        "ledger.jsonl",
        "train_summary.json",
        "checkpoints/manifest.json",
        "probe/probe_report.json",
        "probe/cases.jsonl",
        "probe/autopsy.json",
        "report.html",
    ]:
        assert (r.root / path).exists(), path
    plan = json.loads(r.plan.read_text())
    assert plan["verdict"] == "PASS" and {"name", "status", "detail"} <= set(plan["checks"][0])
    assert json.loads((r.tokenizer / "tokenizer_roundtrip.json").read_text())["exact"] is True
    summary = json.loads(r.train_summary.read_text())
    assert {"tokens", "wall_s", "tokens_per_s", "final_loss", "stages"} <= set(summary)
    report = json.loads((r.probe / "probe_report.json").read_text())
    assert report["schema"] == "svglm.probe_report/1"
    assert set(report["splits"]) == {"visible", "hidden", "templates", "oov"}
    assert report["overall"]["n"] == 18 and report["splits"]["hidden"]["n"] == 6
    assert report["splits"]["templates"]["n"] == 4 and report["splits"]["oov"]["n"] == 2
    assert set(report["families"]) <= set(FAMILIES)
    # each held-out kind is broken down by family and by surface on its own
    assert set(report["by_split"]) == set(report["splits"])
    assert set(report["by_split"]["oov"]["surfaces"]) == {"natural"}
    ledger = [json.loads(x) for x in r.ledger.read_text().splitlines()]
    assert LEDGER_KEYS <= set(ledger[0])
    case = json.loads((r.probe / "cases.jsonl").read_text().splitlines()[0])
    for key in (
        "id",
        "split",
        "family",
        "form",
        "surface",
        "topic",
        "prompt",
        "expected",
        "raw_output",
        "parsed_output",
        "tail_text",
        "stopped",
        "budget_truncated",
        "valid",
        "exact",
        "materialized_exact",
        "svg_exact",
        "valid_svg",
        "renderable",
        "svg",
        "expected_svg",
    ):
        assert key in case, key
    for name in (
        "dataset/dataset_qc.json",
        "plan.json",
        "probe/autopsy.json",
        "train_summary.json",
    ):
        assert json.loads((r.root / name).read_text())["schema"].startswith("svglm.")


def test_unchanged_steps_are_skipped_and_changes_rerun_only_downstream(home):
    run = make_run(home)
    run_steps(run, show_progress=False)
    before = {s: rec["finished_at"] for s, rec in run.step_records().items()}
    weights = (run.checkpoints / "sft-final" / "model.safetensors").stat().st_mtime_ns
    run_steps(run, show_progress=False)
    assert {s: rec["finished_at"] for s, rec in run.step_records().items()} == before
    assert (run.checkpoints / "sft-final" / "model.safetensors").stat().st_mtime_ns == weights

    cfg = run.config()
    cfg.probe.max_tokens = 30  # only probe and report depend on this
    run.write_config(cfg)
    from svglm.pipeline import fingerprints

    fps = fingerprints(cfg, run)
    stale = [s for s in STEPS if not run.step_done(s, fps[s])]
    assert stale == ["probe", "report"]
    run_steps(run, show_progress=False)
    assert (run.checkpoints / "sft-final" / "model.safetensors").stat().st_mtime_ns == weights
    assert json.loads((run.probe / "probe_report.json").read_text())["decoding"]["max_tokens"] == 30
    assert [r["name"] for r in list_runs(home)] == ["tiny"]


def test_deleted_artifact_makes_its_step_run_again(home):
    run = make_run(home)
    run_steps(run, ("plan",), show_progress=False)
    run.plan.unlink()
    run_steps(run, ("plan",), show_progress=False)
    assert run.plan.exists()


def test_same_seed_same_bytes_and_same_loss_curve(tmp_path):
    runs = [make_run(tmp_path / d) for d in ("a", "b")]
    for run in runs:
        run_steps(run, ("train",), show_progress=False)
    a, b = runs
    for name in (
        "dataset/train.txt",
        "dataset/holdout.txt",
        "dataset/train.meta.jsonl",
        "dataset/holdout.meta.jsonl",
        "dataset/probe_contract.json",
        "tokenizer/tokenizer.json",
    ):
        assert (a.root / name).read_bytes() == (b.root / name).read_bytes(), name

    def curve(run: RunDir):
        return [
            (x["stage"], x["step"], x["loss"], x["grad_norm"])
            for x in map(json.loads, run.ledger.read_text().splitlines())
        ]

    assert curve(a) == curve(b)
    other = make_run(tmp_path / "c", seed=7)
    run_steps(other, ("data",), show_progress=False)
    assert (other.dataset / "train.txt").read_bytes() != (a.dataset / "train.txt").read_bytes()


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_every_architecture_trains_on_packed_rows_and_probes(tmp_path, architecture):
    run = make_run(tmp_path, model__architecture=architecture)
    run_steps(run, show_progress=False)
    ledger = [json.loads(x) for x in run.ledger.read_text().splitlines()]
    assert all(math.isfinite(r["loss"]) for r in ledger)
    assert ledger[-1]["loss"] < ledger[0]["loss"]  # it learns something even in 10 steps
    assert json.loads((run.probe / "probe_report.json").read_text())["overall"]["n"] == 18


def test_gradient_accumulation_matches_the_larger_batch(tmp_path):
    from svglm.config import StageConfig

    def stage(batch, accum):
        return [
            StageConfig(
                name="sft",
                tokens=8 * TINY_SEQ * 4,
                batch_size=batch,
                grad_accum=accum,
                warmup_steps=1,
                loss="target",
            )
        ]

    whole = make_run(tmp_path / "whole", stages=stage(8, 1))
    split = make_run(tmp_path / "split", stages=stage(4, 2))
    for run in (whole, split):
        run_steps(run, ("train",), show_progress=False)
    a = [json.loads(x) for x in whole.ledger.read_text().splitlines()]
    b = [json.loads(x) for x in split.ledger.read_text().splitlines()]
    assert [r["step"] for r in a] == [r["step"] for r in b] == [1, 2, 3, 4]
    for x, y in zip(a, b, strict=True):  # same windows, same normalization: same step
        assert abs(x["loss"] - y["loss"]) <= 1e-5 and abs(x["grad_norm"] - y["grad_norm"]) <= 1e-4


def test_settings_that_change_nothing_a_step_makes_leave_it_done(tmp_path):
    """TensorBoard files are a view of the ledger; a repair slice is new data."""
    from svglm.config import RepairSlice
    from svglm.pipeline import fingerprints

    run = make_run(tmp_path)
    cfg = run.config()
    base = fingerprints(cfg, run)
    board = cfg.model_copy(update={"train": cfg.train.model_copy(update={"tensorboard": True})})
    assert fingerprints(board, run) == base
    focus = RepairSlice(families={"timeline": 3}, surfaces=["explicit"], rows=10)
    repaired = cfg.model_copy(update={"data": cfg.data.model_copy(update={"repair": focus})})
    assert fingerprints(repaired, run)["data"] != base["data"]
