"""The stage loop: AdamW, warmup + cosine, clipping, accumulation, ledger, checkpoints, resume.

The loop knows nothing about tasks: it trains on packed windows of encoded rows. A stage starts
from the previous stage's final weights; a killed run resumes from the newest checkpoint with
the same optimizer state and data position, so its loss curve continues unchanged.

Phases, in the order they run: prepare the checkpoint folder, then for every stage either
reuse its final checkpoint or resume/start it, take steps, log them, checkpoint them; last,
summarize the run.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Callable
from itertools import islice
from typing import Any

import torch
import torch.nn.functional as F
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from svglm.artifacts import Plan, read_artifact
from svglm.config import RunConfig, StageConfig
from svglm.data.build import read_rows
from svglm.errors import ArtifactError, TrainError
from svglm.files import append_line, atomic_write_json, atomic_write_text
from svglm.runs import RunDir
from svglm.tokenizer.bpe import SvglmTokenizer
from svglm.train import checkpoint as ckpt
from svglm.train.architecture import initial_model
from svglm.train.packing import IGNORE, collate, encode_rows, window_stream

Warn = Callable[[str], None]  # how the loop tells the user about resumes and repairs


def lr_at(step: int, total: int, stage: StageConfig) -> float:
    """Linear warmup to `lr`, then cosine decay to `lr * min_lr_ratio` at the last step."""
    if step < stage.warmup_steps:
        return stage.lr * (step + 1) / stage.warmup_steps
    span = max(1, total - stage.warmup_steps - 1)
    progress = min(1.0, (step - stage.warmup_steps) / span)
    floor = stage.lr * stage.min_lr_ratio
    return floor + (stage.lr - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def make_optimizer(model: torch.nn.Module, stage: StageConfig) -> torch.optim.AdamW:
    """Decay matrices only; norms, biases and (tied) embeddings are left undecayed."""
    decay, keep = [], []
    for name, p in model.named_parameters():
        (decay if p.dim() >= 2 and "embed" not in name else keep).append(p)
    groups = [
        {"params": decay, "weight_decay": stage.weight_decay},
        {"params": keep, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=stage.lr, betas=(0.9, 0.95), eps=1e-8)


def prepare_checkpoints(run: RunDir, fingerprint: str, restart: bool, warn: Warn) -> None:
    """Keep checkpoints only if they were made by this exact config (and no restart is asked
    for); otherwise start over, ledger included, because weights of another config cannot be
    resumed. An unreadable manifest cannot vouch for any checkpoint: start over as well."""
    if run.checkpoint_manifest.exists() and not restart:
        try:
            if ckpt.read_manifest(run).fingerprint == fingerprint:
                return
        except ArtifactError as e:
            warn(f"{e}; starting the training over")
    shutil.rmtree(run.checkpoints, ignore_errors=True)
    run.ledger.unlink(missing_ok=True)
    ckpt.write_manifest(run, ckpt.empty_manifest(fingerprint))


def ledger_records(run: RunDir) -> list[dict[str, Any]]:
    """The ledger's lines; a line torn by a kill in the middle of a write is skipped."""
    if not run.ledger.exists():
        return []
    records = []
    for line in run.ledger.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def truncate_ledger(run: RunDir, stages: list[str], first: int, step: int) -> None:
    """Keep the ledger lines of the stages before `first` and of stage `first` up to `step`:
    the history a resumed run continues, so that it logs every step exactly once. Rewritten
    atomically: a kill here must not lose history."""
    kept = [
        rec
        for rec in ledger_records(run)
        if rec.get("stage") in stages
        and (
            stages.index(rec["stage"]) < first
            or (stages.index(rec["stage"]) == first and rec["step"] <= step)
        )
    ]
    atomic_write_text(run.ledger, "".join(json.dumps(r) + "\n" for r in kept))


def progress_bar(show: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} steps"),
        TextColumn("loss {task.fields[loss]:.4f}"),
        TextColumn("{task.fields[tps]:,.0f} tok/s"),
        TimeRemainingColumn(),
        disable=not show,
    )


class Trainer:
    """Trains the stages of one run in order, carrying the weights and the run's counters
    (tokens seen, seconds spent) from stage to stage and through checkpoints."""

    def __init__(self, run: RunDir, cfg: RunConfig, progress: Progress, warn: Warn):
        self.run, self.cfg, self.progress, self.warn = run, cfg, progress, warn
        tok = SvglmTokenizer.load(run.tokenizer_json)
        self.pad_id = tok.pad_id
        self.rows = encode_rows(tok, read_rows(run, "train"))
        self.total_steps = [s.steps for s in read_artifact(run.plan, Plan).stages]
        self.model = initial_model(run, cfg, tok.vocab_size)
        self.tokens_seen, self.elapsed = 0, 0.0
        self.stage_wall = 0.0  # seconds spent in the current stage, restored on resume
        self.summaries: list[dict[str, Any]] = []  # of the stages finished so far

    def train(self) -> dict[str, Any]:
        first, start, state = self.resume()
        for index in range(first, len(self.cfg.stages)):
            resumed = state if index == first and start > 0 else None
            self.summaries.append(self.train_stage(index, start if resumed else 0, resumed))
        return self.summarize()

    # -- resume -------------------------------------------------------------------------------
    def resume(self) -> tuple[int, int, dict[str, Any] | None]:
        """Load the newest checkpoint that verifies; returns the stage index and step to go on
        from and the state saved with it. A final checkpoint means its stage is done."""
        stages = [s.name for s in self.cfg.stages]
        point = ckpt.resume_point(self.run, self.warn)
        if point is None:
            truncate_ledger(self.run, stages, 0, 0)
            return 0, 0, None
        state = ckpt.load_checkpoint(self.run, point, self.model)
        self.tokens_seen, self.elapsed = state["tokens_seen"], state["elapsed"]
        self.summaries = list(state["summaries"])
        first, step = (point.stage_index + 1, 0) if point.final else (point.stage_index, point.step)
        truncate_ledger(self.run, stages, first, step)
        if first < len(stages):
            self.warn(f"resuming from {point.name}: stage {stages[first]} at step {step}")
        return first, step, state

    # -- a stage ------------------------------------------------------------------------------
    def train_stage(self, index: int, start: int, state: dict[str, Any] | None) -> dict[str, Any]:
        stage = self.cfg.stages[index]
        total = self.total_steps[index]
        seq_len = self.cfg.model.seq_len
        windows_per_step = stage.batch_size * stage.grad_accum
        opt = make_optimizer(self.model, stage)
        self.stage_wall = 0.0
        if state is not None:  # mid-stage: the optimizer and RNG go on where they were
            opt.load_state_dict(state["optimizer"])
            torch.set_rng_state(state["rng"])
            self.stage_wall = state["stage_wall"]
        # Each stage shuffles with its own seed; a resumed stage skips the windows it has used.
        windows = window_stream(self.rows, seq_len, self.cfg.seed + index, start * windows_per_step)
        bar = self.progress.add_task(
            stage.name, total=total, completed=start, loss=float("nan"), tps=0.0
        )
        self.model.train()
        bad = 0  # steps in a row whose loss or gradient was not finite
        for step in range(start, total):
            t0 = time.perf_counter()
            lr = lr_at(step, total, stage)
            for group in opt.param_groups:
                group["lr"] = lr
            loss, grad_norm = self.step(opt, stage, windows)
            bad = 0 if math.isfinite(loss) and math.isfinite(grad_norm) else bad + 1
            dt = time.perf_counter() - t0
            self.stage_wall += dt
            self.elapsed += dt
            self.tokens_seen += windows_per_step * seq_len
            tps = windows_per_step * seq_len / dt
            self.progress.update(bar, completed=step + 1, loss=loss, tps=tps)
            last = step + 1 == total
            if (step + 1) % self.cfg.train.log_every == 0 or last or bad:
                self.log(stage, step + 1, loss, lr, grad_norm, tps)
            if bad >= self.cfg.train.max_bad_steps or (last and bad):
                raise TrainError(
                    f"stages[{index}] ({stage.name}): the loss was not finite for {bad} step(s) "
                    f"in a row, up to step {step + 1}; training stopped and the last good "
                    f"checkpoint is kept (lower stages[{index}].lr, then run again)"
                )
            if ((step + 1) % self.cfg.train.checkpoint_every == 0 or last) and not bad:
                self.checkpoint(index, opt, step + 1, total, loss, last)
        return self.stage_summary(stage, total, loss)

    # -- a step -------------------------------------------------------------------------------
    def step(
        self, opt: torch.optim.Optimizer, stage: StageConfig, windows: Any
    ) -> tuple[float, float]:
        """One optimizer step over `grad_accum` micro-batches; returns (loss, grad norm).

        Each micro-batch's loss is summed over its label tokens and divided by the label
        count of *all* micro-batches of the step, so that accumulation reproduces the larger
        batch exactly (a mean per micro-batch would weight a short micro-batch up). A step
        whose loss or gradient is not finite is skipped: its update would poison the weights."""
        seq_len = self.cfg.model.seq_len
        micro = [
            collate(
                self.rows,
                list(islice(windows, stage.batch_size)),
                seq_len,
                self.pad_id,
                stage.loss,
            )
            for _ in range(stage.grad_accum)
        ]
        n_labels = sum(int((b["labels"] != IGNORE).sum()) for b in micro)
        loss_sum = 0.0
        for b in micro:
            logits = self.model(b["idx"], positions=b["positions"], doc_ids=b["doc_ids"])
            loss = (
                F.cross_entropy(
                    logits.view(-1, logits.size(-1)),
                    b["labels"].view(-1),
                    ignore_index=IGNORE,
                    reduction="sum",
                )
                / n_labels
            )
            loss.backward()
            loss_sum += loss.item()
        grad_norm = float(torch.nn.utils.clip_grad_norm_(self.model.parameters(), stage.grad_clip))
        if math.isfinite(loss_sum) and math.isfinite(grad_norm):
            opt.step()
        opt.zero_grad(set_to_none=True)
        return loss_sum, grad_norm

    def log(
        self, stage: StageConfig, step: int, loss: float, lr: float, grad_norm: float, tps: float
    ) -> None:
        finite = math.isfinite(loss) and math.isfinite(grad_norm)
        record = {
            "stage": stage.name,
            "step": step,
            "tokens": self.tokens_seen,
            "loss": round(loss, 6) if finite else None,
            "lr": lr,
            "grad_norm": round(grad_norm, 6) if finite else None,
            "tokens_per_s": round(tps, 1),
            "elapsed": round(self.elapsed, 3),
        }
        if not finite:
            record["skipped"] = "non-finite loss or gradient"
        append_line(self.run.ledger, json.dumps(record))

    def stage_summary(self, stage: StageConfig, total: int, loss: float) -> dict[str, Any]:
        tokens = total * stage.batch_size * stage.grad_accum * self.cfg.model.seq_len
        return {
            "name": stage.name,
            "steps": total,
            "tokens": tokens,
            "final_loss": round(loss, 6),
            "wall_s": round(self.stage_wall, 3),
            "tokens_per_s": round(tokens / max(self.stage_wall, 1e-9), 1),
        }

    def checkpoint(
        self,
        index: int,
        opt: torch.optim.Optimizer,
        step: int,
        total: int,
        loss: float,
        final: bool,
    ) -> None:
        """Save weights and everything a resume needs; a final checkpoint also records its
        stage's summary among the finished ones."""
        stage = self.cfg.stages[index]
        if not all(torch.isfinite(p).all() for p in self.model.parameters()):
            raise TrainError(
                f"stages[{index}] ({stage.name}): the weights became non-finite at step {step}; "
                "the last good checkpoint is kept (lower the learning rate, then run again)"
            )
        finished = [*self.summaries, self.stage_summary(stage, total, loss)] if final else []
        state = {
            "optimizer": opt.state_dict(),
            "step": step,
            "rng": torch.get_rng_state(),
            "tokens_seen": self.tokens_seen,
            "elapsed": self.elapsed,
            "stage_wall": self.stage_wall,
            "summaries": finished if final else self.summaries,
        }
        ckpt.save_checkpoint(self.run, self.model, state, index, stage.name, step, final=final)

    # -- the run ------------------------------------------------------------------------------
    def summarize(self) -> dict[str, Any]:
        out = {
            "schema": "svglm.train_summary/1",
            "tokens": self.tokens_seen,
            "wall_s": round(self.elapsed, 3),
            "tokens_per_s": round(self.tokens_seen / max(self.elapsed, 1e-9), 1),
            "final_loss": self.summaries[-1]["final_loss"],
            "params": self.model.num_params(),
            "final_checkpoint": ckpt.final_record(self.run, self.cfg.stages[-1].name).name,
            "stages": self.summaries,
        }
        atomic_write_json(self.run.train_summary, out)
        return out


def train(
    run: RunDir,
    cfg: RunConfig,
    fingerprint: str,
    show_progress: bool = True,
    restart: bool = False,
    warn: Warn = print,
) -> dict[str, Any]:
    """Train every stage of the run, resuming where a killed run stopped (or from scratch with
    `restart`); write the summary."""
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    prepare_checkpoints(run, fingerprint, restart, warn)
    with progress_bar(show_progress) as progress:
        return Trainer(run, cfg, progress, warn).train()
