"""The step graph of a run: data -> tokenizer -> plan -> train -> probe -> report.

Each step's fingerprint hashes the config sections it reads plus its upstream fingerprint,
so a step is skipped exactly when nothing it depends on changed and its outputs still exist.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from svglm import __version__
from svglm.config import RunConfig
from svglm.data.build import build_dataset
from svglm.eval.probe import run_probe
from svglm.report.html import build_hub, build_report
from svglm.runs import RunDir, digest, file_digest, register
from svglm.tokenizer.build import build_tokenizer
from svglm.train.loop import train
from svglm.train.plan import build_plan

STEPS = ("data", "tokenizer", "plan", "train", "probe", "report")


def fingerprints(cfg: RunConfig, run: RunDir) -> dict[str, str]:
    d = cfg.model_dump(mode="json")
    base_digest = None  # a changed base checkpoint makes everything from the tokenizer on stale
    if cfg.base is not None:
        base = run.root / cfg.base.path
        files = sorted(base.iterdir()) if base.is_dir() else [base]
        base_digest = [file_digest(f) for f in files]
    fp = {"data": digest("data", __version__, cfg.seed, d["task"], d["data"])}
    fp["tokenizer"] = digest("tokenizer", fp["data"], d["tokenizer"], d["base"], base_digest)
    fp["plan"] = digest(
        "plan", fp["tokenizer"], d["model"], d["stages"], d["train"]["memory_limit_gb"]
    )
    fp["train"] = digest("train", fp["plan"], d["train"])
    fp["probe"] = digest("probe", fp["train"], d["probe"])
    fp["report"] = digest("report", fp["probe"])
    return fp


def outputs(run: RunDir) -> dict[str, list[Path]]:
    """Artifacts whose absence forces a step to run again even if its fingerprint matches."""
    return {
        "data": [run.split("train"), run.probe_contract, run.dataset_qc],
        "tokenizer": [run.tokenizer_json, run.tokenizer_roundtrip],
        "plan": [run.plan],
        "train": [run.train_summary, run.checkpoint_manifest],
        "probe": [run.probe_report, run.probe_cases],
        "report": [run.report],
    }


def run_steps(
    run: RunDir,
    steps: tuple[str, ...] = STEPS,
    force: bool = False,
    show_progress: bool = True,
    console: Console | None = None,
) -> None:
    """Run the named steps in order; upstream steps that are stale run first."""
    console = console or Console(quiet=not show_progress)
    cfg = run.config()
    fps = fingerprints(cfg, run)
    needed = outputs(run)
    last = max(STEPS.index(s) for s in steps)
    actions: dict[str, Callable[[], object]] = {
        "data": lambda: build_dataset(run, cfg),
        "tokenizer": lambda: build_tokenizer(run, cfg),
        "plan": lambda: build_plan(run, cfg),
        "train": lambda: train(run, cfg, fps["train"], show_progress),
        "probe": lambda: run_probe(run, cfg),
        "report": lambda: build_report(run),
    }
    for step in STEPS[: last + 1]:
        fresh = run.step_done(step, fps[step]) and all(p.exists() for p in needed[step])
        if fresh and not (force and step in steps):
            console.print(f"[dim]- {step}: unchanged, skipped[/dim]")
            continue
        # Everything downstream of a step that runs is stale from now on.
        run.forget_steps(list(STEPS[STEPS.index(step) :]))
        console.print(f"[bold]> {step}[/bold]")
        t0 = time.perf_counter()
        try:
            actions[step]()
        except Exception:
            register(run, f"failed at {step}")
            raise
        run.mark_step(step, fps[step], time.perf_counter() - t0)
        console.print(f"[green]  {step} done[/green] in {time.perf_counter() - t0:.1f}s")
        register(run, f"{step} done")
    build_hub(run.root.parent)
