"""`svglm monitor`: a live view of a training run, read from its ledger as it grows.

One line per stage position: stage, step of steps, loss, dev loss, tokens/s, ETA and a loss
sparkline. On a terminal the line redraws in place; piped, a line is printed per new ledger
record. It ends when the train step is done, when the run has stopped (no process drives it
and its ledger stands still), or on Ctrl-C (training goes on either way).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from svglm.artifacts import Plan, read_artifact
from svglm.errors import ArtifactError
from svglm.report.terminal import duration, sparkline
from svglm.runs import RunDir, ledger_records

IDLE_S = 30.0  # a run nobody drives and whose ledger stands still has stopped


def stage_steps(run: RunDir) -> dict[str, int]:
    """Each stage's planned steps, from plan.json (empty before the plan step)."""
    try:
        return {s.name: s.steps for s in read_artifact(run.plan, Plan).stages}
    except ArtifactError:
        return {}


def status_line(run: RunDir, records: list[dict[str, Any]], steps: dict[str, int]) -> str:
    if not records:
        return f"{run.name}: no ledger lines yet"
    last = records[-1]
    stage = last["stage"]
    total = steps.get(stage)
    dev = next((r["dev_loss"] for r in reversed(records) if "dev_loss" in r), None)
    eta = ""
    same = [r for r in records if r["stage"] == stage]
    if total and last["step"] < total and len(same) >= 2:  # at this stage's pace so far
        pace = (same[-1]["elapsed"] - same[0]["elapsed"]) / (same[-1]["step"] - same[0]["step"])
        eta = f" eta {duration(pace * (total - last['step']))}"
    loss = "-" if last.get("loss") is None else f"{last['loss']:.4f}"
    dev_text = "-" if dev is None else f"{dev:.4f}"
    curve = sparkline([r["loss"] for r in records if r.get("loss") is not None], 20)
    return (
        f"{stage} {last['step']}/{total or '?'} loss {loss} dev {dev_text} "
        f"{last.get('tokens_per_s', 0):,.0f} tok/s{eta} {curve}"
    )


def monitor(
    run: RunDir,
    say: Callable[[str], None],
    once: bool,
    interval: float = 1.0,
    live: Any = None,
) -> str:
    """Follow the ledger until the train step is done, or until no process has driven the
    run (and the ledger has not grown) for IDLE_S; returns the last line shown."""
    seen, line = -1, ""
    steps = stage_steps(run)
    quiet_since = time.monotonic()
    while True:
        records = ledger_records(run)
        if len(records) != seen:
            seen, line = len(records), status_line(run, records, steps or stage_steps(run))
            (live.update if live is not None else say)(line)
            quiet_since = time.monotonic()
        if once or "train" in run.step_records():
            return line
        if run.is_busy():
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > IDLE_S:
            say(f"{run.name} is not training (nothing new for {IDLE_S:.0f} s)")
            return line
        time.sleep(interval)
