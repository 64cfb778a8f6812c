"""`svglm monitor` follows a ledger as it grows; TensorBoard events are the ledger's numbers,
written during training or after the fact, as TensorBoard's own reader reads them back."""

from __future__ import annotations

import json
import shutil
import threading
import time

import numpy as np
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from typer.testing import CliRunner

from svglm.cli import app
from svglm.files import append_line
from svglm.report.monitor import monitor, stage_steps
from svglm.runs import RunDir, ledger_records

runner = CliRunner()


def test_monitor_once_shows_the_last_ledger_line(tiny_run, monkeypatch):
    monkeypatch.setenv("SVGLM_HOME", str(tiny_run.root.parent))
    result = runner.invoke(app, ["monitor", "tiny", "--once"])
    last = ledger_records(tiny_run)[-1]
    total = stage_steps(tiny_run)[last["stage"]]
    assert result.exit_code == 0
    assert result.output.startswith(
        f"{last['stage']} {last['step']}/{total} loss {last['loss']:.4f}"
    )


def test_monitor_follows_a_growing_ledger_until_training_is_done(tiny_run, tmp_path):
    run = RunDir(tmp_path / "tiny")
    shutil.copytree(tiny_run.root, run.root)
    lines = run.ledger.read_text().splitlines()
    run.ledger.write_text(lines[0] + "\n")
    run.forget_steps(["train", "probe", "report"])
    shown: list[str] = []
    watcher = threading.Thread(target=monitor, args=(run, shown.append, False, 0.01))
    watcher.start()
    for line in lines[1:]:
        time.sleep(0.05)
        append_line(run.ledger, line)
    time.sleep(0.05)
    run.mark_step("train", "x", 1.0)
    watcher.join(timeout=30)
    assert not watcher.is_alive()
    steps = [json.loads(line)["step"] for line in lines]
    assert len(shown) >= 3 and f" {steps[-1]}/" in shown[-1] and f" {steps[0]}/" in shown[0]


def scalars(run: RunDir, tag: str) -> list[tuple[int, float]]:
    acc = EventAccumulator(str(run.tensorboard))
    acc.Reload()
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def as_stored(ledger_value: float) -> float:
    """A ledger number as a TensorBoard event holds it: a float32 (rounding both sides to a
    few decimals instead failed where a value lay on a rounding boundary)."""
    return float(np.float32(ledger_value))


def test_tensorboard_events_are_the_ledgers_numbers(home):
    assert (
        runner.invoke(
            app, ["init", "tb", "--preset", "tiny", "--set", "train.tensorboard=true"]
        ).exit_code
        == 0
    )
    assert runner.invoke(app, ["run", "tb", "-q"]).exit_code == 0
    run = RunDir(home / "tb")
    records = ledger_records(run)
    want = [(r["tokens"], as_stored(r["loss"])) for r in records]
    assert scalars(run, "all/loss") == want  # written while training
    shutil.rmtree(run.tensorboard)
    assert runner.invoke(app, ["tensorboard", "tb"]).exit_code == 0
    assert scalars(run, "all/loss") == want  # and after the fact
    dev = [(r["tokens"], as_stored(r["dev_loss"])) for r in records if "dev_loss" in r]
    assert scalars(run, "all/dev_loss") == dev


def test_monitor_gives_up_on_a_run_that_nobody_drives(tiny_run, tmp_path, monkeypatch):
    import svglm.report.monitor as mon

    run = RunDir(tmp_path / "tiny")
    shutil.copytree(tiny_run.root, run.root)
    run.forget_steps(["train", "probe", "report"])  # as if training had died
    monkeypatch.setattr(mon, "IDLE_S", 0.2)
    shown: list[str] = []
    monitor(run, shown.append, False, 0.01)
    assert shown[-1] == "tiny is not training (nothing new for 0 s)"
