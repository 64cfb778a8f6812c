"""The step graph of a run: data -> tokenizer -> plan -> train -> probe -> report.

Each step's fingerprint hashes the config sections it reads plus its upstream fingerprint,
so a step is skipped exactly when nothing it depends on changed and its outputs still validate
(a damaged artifact makes its step run again). One process drives a run at a time.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.console import Console

from svglm import __version__
from svglm.artifacts import (
    ContentPacks,
    Gate,
    Plan,
    ProbeContract,
    ProbeReport,
    Roundtrip,
    TrainSummary,
    read_artifact,
)
from svglm.config import RunConfig
from svglm.corpus import CORPUS
from svglm.data.build import build_dataset
from svglm.errors import ArtifactError, ConfigError, SvglmError
from svglm.eval.probe import run_probe
from svglm.report.html import build_hub, build_report
from svglm.runs import SPLITS, RunDir, digest, file_digest, register
from svglm.tasks import task_for
from svglm.tokenizer.bpe import SvglmTokenizer
from svglm.tokenizer.build import build_tokenizer
from svglm.train import checkpoint as ckpt
from svglm.train import distributed as dist
from svglm.train.devices import resolve_device
from svglm.train.loop import Warn, train
from svglm.train.plan import build_plan

STEPS = ("data", "tokenizer", "plan", "train", "probe", "report")


def fingerprints(cfg: RunConfig, run: RunDir) -> dict[str, str]:
    d = cfg.model_dump(mode="json")
    # Settings that do not change what a step makes stay out of its fingerprint, so that a
    # newer svglm with such a setting finds an older run's steps done: TensorBoard files are
    # a view of the ledger, and a run without a repair slice has no `data.repair`.
    d["train"].pop("tensorboard")
    if d["data"]["repair"] is None:
        d["data"].pop("repair")
    base_digest = None  # a changed base checkpoint makes everything from the tokenizer on stale
    if cfg.base is not None:
        base = run.root / cfg.base.path
        files = sorted(base.iterdir()) if base.is_dir() else [base]
        base_digest = [file_digest(f) for f in files]
    # the language itself (families, forms, topics, atoms) is an input of every step
    language = task_for(cfg, run.root).reserved_atoms()
    # An imported corpus is an input of the data step as much as its settings are, and so is
    # the context its rows must fit; a task without one has no `task.corpus`.
    corpus = []
    if d["task"]["corpus"] is None:
        d["task"].pop("corpus")
    else:
        corpus = [file_digest(run.root / cfg.task.corpus / CORPUS), d["model"]["seq_len"]]
    fp = {"data": digest("data", __version__, language, cfg.seed, d["task"], d["data"], *corpus)}
    fp["tokenizer"] = digest("tokenizer", fp["data"], d["tokenizer"], d["base"], base_digest)
    planned = {k: d["train"][k] for k in ("memory_limit_gb", "device", "epochs_warn")}
    fp["plan"] = digest("plan", fp["tokenizer"], d["model"], d["stages"], planned)
    fp["train"] = digest("train", fp["plan"], d["train"])
    fp["probe"] = digest("probe", fp["train"], d["probe"], promoted(run))
    fp["report"] = digest("report", fp["probe"])
    return fp


def _data_ok(run: RunDir) -> None:
    for split in SPLITS:
        for path in (run.split(split), run.split_meta(split)):
            if not path.is_file():
                raise ArtifactError(f"{path}: missing")
    read_artifact(run.probe_contract, ProbeContract)
    read_artifact(run.content, ContentPacks)
    if read_artifact(run.dataset_qc, Gate).verdict != "PASS":
        raise ArtifactError(f"{run.dataset_qc}: verdict is not PASS")


def _tokenizer_ok(run: RunDir) -> None:
    SvglmTokenizer.load(run.tokenizer_json)
    if not read_artifact(run.tokenizer_roundtrip, Roundtrip).exact:
        raise ArtifactError(f"{run.tokenizer_roundtrip}: the roundtrip is not exact")


def _plan_ok(run: RunDir) -> None:
    if read_artifact(run.plan, Plan).verdict != "PASS":
        raise ArtifactError(f"{run.plan}: verdict is not PASS")


def _train_ok(run: RunDir) -> None:
    summary = read_artifact(run.train_summary, TrainSummary)
    record = ckpt.final_record(run, summary.stages[-1].name)
    if record is None or (why := ckpt.problem(run, record)) is not None:
        raise ArtifactError(f"{run.checkpoints}: the final checkpoint {why or 'is missing'}")


def _probe_ok(run: RunDir) -> None:
    report = read_artifact(run.probe_report, ProbeReport)
    if not run.probe_cases.is_file():
        raise ArtifactError(f"{run.probe_cases}: missing")
    lines = run.probe_cases.read_text().splitlines()
    if len(lines) != report.overall.n:
        raise ArtifactError(
            f"{run.probe_cases}: {len(lines)} cases, the report has {report.overall.n}"
        )


def _report_ok(run: RunDir) -> None:
    if not run.report.is_file() or not run.report.read_text().rstrip().endswith("</html>"):
        raise ArtifactError(f"{run.report}: missing or incomplete")


# What a step's outputs must satisfy before the step may be skipped.
OUTPUT_CHECKS: dict[str, Callable[[RunDir], None]] = {
    "data": _data_ok,
    "tokenizer": _tokenizer_ok,
    "plan": _plan_ok,
    "train": _train_ok,
    "probe": _probe_ok,
    "report": _report_ok,
}


def output_problem(run: RunDir, step: str) -> str | None:
    """Why a finished step's outputs cannot be trusted, or None when they can."""
    try:
        OUTPUT_CHECKS[step](run)
    except SvglmError as e:
        return str(e)
    return None


def promoted(run: RunDir) -> str | None:
    """The promoted checkpoint's name, if any: promoting another one makes the probe stale."""
    try:
        return ckpt.read_manifest(run).promoted if run.checkpoint_manifest.exists() else None
    except ArtifactError:
        return None


def kept_checkpoints(run: RunDir) -> set[str] | None:
    """The checkpoint folders the manifest names; None if it cannot be read (keep them all)."""
    if not run.checkpoint_manifest.exists():
        return set()
    try:
        return {r.name for r in ckpt.read_manifest(run).checkpoints}
    except ArtifactError:
        return None


def run_steps(
    run: RunDir,
    steps: tuple[str, ...] = STEPS,
    force: bool = False,
    show_progress: bool = True,
    console: Console | None = None,
) -> None:
    """Run the named steps in order; upstream steps that are stale run first. `force` reruns
    the named steps even if unchanged (for train: from scratch). Under torchrun the main
    process drives the steps and the others only train with it (see `_follow`)."""
    if dist.world_size() > 1 and tuple(steps) != ("train",):
        raise ConfigError("under torchrun only the train step runs: `svglm train NAME`")
    if not dist.is_main():
        return _follow(run, force)
    console = console or Console(quiet=not show_progress)
    errors = Console(stderr=True)

    def warn(message: str) -> None:
        errors.print(f"svglm: {message}", style="yellow", highlight=False, soft_wrap=True)

    with run.lock():
        cfg = run.config()
        dist.start(resolve_device(cfg.train.device))
        removed = run.clean_leftovers(kept_checkpoints(run))
        if removed:
            warn(f"removed {len(removed)} leftovers of an interrupted run")
        fps = fingerprints(cfg, run)
        last = max(STEPS.index(s) for s in steps)
        actions: dict[str, Callable[[], object]] = {
            "data": lambda: build_dataset(run, cfg),
            "tokenizer": lambda: build_tokenizer(run, cfg),
            "plan": lambda: build_plan(run, cfg, warn),
            "train": lambda: train(
                run,
                cfg,
                fps["train"],
                console,
                restart=force and "train" in steps,
                warn=warn,
            ),
            "probe": lambda: run_probe(run, cfg),
            "report": lambda: build_report(run),
        }
        for step in STEPS[: last + 1]:
            if _needed(run, step, fps[step], force and step in steps, warn):
                # Everything downstream of a step that runs is stale from now on.
                run.forget_steps(list(STEPS[STEPS.index(step) :]))
            if step == "train":
                dist.barrier()  # the other processes read that decision, then train with us
            if run.step_done(step, fps[step]):
                console.print(f"[dim]- {step}: unchanged, skipped[/dim]")
                continue
            console.print(f"[bold]> {step}[/bold]")
            t0 = time.perf_counter()
            try:
                actions[step]()
            except BaseException:
                register(run, f"failed at {step}")
                build_hub(run.root.parent)
                raise
            run.mark_step(step, fps[step], time.perf_counter() - t0)
            console.print(f"[green]  {step} done[/green] in {time.perf_counter() - t0:.1f}s")
            register(run, f"{step} done")
            build_hub(run.root.parent)  # the hub follows every step
    build_hub(run.root.parent)
    dist.stop()  # under torchrun, with the other processes (_follow)


def _needed(run: RunDir, step: str, fingerprint: str, force: bool, warn: Warn) -> bool:
    """Whether a step must run: its inputs changed, it was asked for, or its outputs no
    longer validate (said with a warning)."""
    done = run.step_done(step, fingerprint)
    for notice in run.notices:
        warn(notice)
    run.notices.clear()
    problem = output_problem(run, step) if done else None
    if problem is not None:
        warn(f"{step}: {problem}; running the step again")
    return not done or problem is not None or force


def _follow(run: RunDir, force: bool) -> None:
    """A process other than the main one under torchrun: it waits while the main process
    brings the steps before training up to date, then trains with it if training is due.
    It writes nothing and takes no lock."""
    cfg = run.config()
    dist.start(resolve_device(cfg.train.device))
    dist.barrier()  # the main process has brought the inputs up to date and decided
    fingerprint = fingerprints(cfg, run)["train"]
    if not run.step_done("train", fingerprint):
        train(run, cfg, fingerprint, None, restart=force, warn=lambda message: None)
    dist.stop()
