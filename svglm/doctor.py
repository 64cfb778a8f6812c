"""`svglm doctor [RUN]`: check runs and repair what can be repaired without losing anything that
is still good: leftovers of killed processes, an unreadable steps.json, steps whose outputs no
longer validate (so `svglm run` redoes them), checkpoints that fail their hash, and the registry,
which is rebuilt from the run directories.
"""

from __future__ import annotations

from collections.abc import Callable

from svglm.errors import RunLockedError, SvglmError
from svglm.pipeline import STEPS, kept_checkpoints, output_problem
from svglm.runs import RunDir, home, rebuild_registry
from svglm.train import checkpoint as ckpt

Say = Callable[[str], None]


def examine(run: RunDir, say: Say) -> int:
    """Check one run and repair it; returns how many problems were found."""
    try:
        with run.lock():
            return _examine(run, say)
    except RunLockedError as e:
        say(f"{run.name}: {e} (left alone)")
        return 1


def _examine(run: RunDir, say: Say) -> int:
    found = 0
    try:
        run.config()
    except SvglmError as e:
        say(f"{run.name}: {e}")
        return 1
    leftovers = run.clean_leftovers(kept_checkpoints(run))
    if leftovers:
        found += 1
        say(f"{run.name}: removed {len(leftovers)} leftovers of an interrupted run")
    records = run.step_records()
    for notice in run.notices:
        found += 1
        say(f"{run.name}: {notice}")
    stale = []
    for step in STEPS:
        if step in records and (problem := output_problem(run, step)) is not None:
            stale = list(STEPS[STEPS.index(step) :])
            found += 1
            say(f"{run.name}: {step}: {problem}; it and the steps after it will run again")
            break
    run.forget_steps(stale)
    if run.checkpoint_manifest.exists():
        try:
            ckpt.resume_point(run, lambda m: say(f"{run.name}: dropped {m}"))
        except SvglmError as e:
            found += 1
            say(f"{run.name}: {e}; the next training starts over")
    if not found:
        say(f"{run.name}: ok")
    return found


def doctor(name: str | None, say: Say) -> int:
    """Examine one run, or every run under $SVGLM_HOME, then rebuild the registry."""
    root = home()
    if name is not None:
        runs = [RunDir.named(name)]
    else:
        runs = [RunDir(p) for p in sorted(root.glob("*/run.yaml"))] if root.is_dir() else []
        runs = [RunDir(r.root.parent) for r in runs]
    found = sum(examine(run, say) for run in runs)
    say(f"registry: rebuilt from {rebuild_registry(root)} run directories")
    return found
