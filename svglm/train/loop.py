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
from itertools import islice
from typing import Any

import torch
import torch.nn.functional as F
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from svglm.config import RunConfig, StageConfig
from svglm.data.build import read_rows
from svglm.files import atomic_write_json, atomic_write_text, read_json
from svglm.runs import RunDir
from svglm.tokenizer.bpe import SvglmTokenizer
from svglm.train import checkpoint as ckpt
from svglm.train.architecture import initial_model
from svglm.train.packing import IGNORE, collate, encode_rows, window_stream


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


def prepare_checkpoints(run: RunDir, fingerprint: str) -> None:
    """Keep checkpoints only if they were made by this exact config; otherwise start over,
    ledger included, because weights of another config cannot be resumed."""
    if run.checkpoint_manifest.exists():
        if ckpt.manifest(run).get("fingerprint") == fingerprint:
            return
        shutil.rmtree(run.checkpoints)
    run.ledger.unlink(missing_ok=True)
    atomic_write_json(run.checkpoint_manifest, ckpt.empty_manifest(fingerprint))


def truncate_ledger(run: RunDir, done: set[str], stage: str, step: int) -> None:
    """Drop ledger lines written after the checkpoint we resume from, so that a resumed run
    logs every step exactly once. Rewritten atomically: a kill here must not lose history."""
    if not run.ledger.exists():
        return
    kept = []
    for line in run.ledger.read_text().splitlines():
        rec = json.loads(line)
        if rec["stage"] in done or (rec["stage"] == stage and rec["step"] <= step):
            kept.append(line + "\n")
    atomic_write_text(run.ledger, "".join(kept))


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

    def __init__(self, run: RunDir, cfg: RunConfig, progress: Progress):
        self.run, self.cfg, self.progress = run, cfg, progress
        tok = SvglmTokenizer.load(run.tokenizer_json)
        self.pad_id = tok.pad_id
        self.rows = encode_rows(tok, read_rows(run, "train"))
        self.total_steps = [s["steps"] for s in read_json(run.plan)["stages"]]
        self.model = initial_model(run, cfg, tok.vocab_size)
        self.tokens_seen, self.elapsed = 0, 0.0
        self.stage_wall = 0.0  # seconds spent in the current stage, restored on resume

    def train(self) -> dict[str, Any]:
        summaries = []
        for index, stage in enumerate(self.cfg.stages):
            summary = self.reuse_final(stage)
            summaries.append(summary if summary is not None else self.train_stage(index, stage))
        return self.summarize(summaries)

    # -- a stage ------------------------------------------------------------------------------
    def reuse_final(self, stage: StageConfig) -> dict[str, Any] | None:
        """A stage that finished before a kill is not retrained: its final checkpoint gives
        the weights and counters the next stage starts from."""
        final = ckpt.final_of(self.run, stage.name)
        if final is None:
            return None
        state = ckpt.load_state(final)
        ckpt.load_weights(self.model, final)
        self.tokens_seen, self.elapsed = state["tokens_seen"], state["elapsed"]
        return state["summary"]

    def resume(self, index: int, stage: StageConfig, opt: torch.optim.Optimizer) -> int:
        """Load the stage's newest intermediate checkpoint, if any; returns the step to
        continue from (0 for a fresh stage)."""
        done = {s.name for s in self.cfg.stages[:index]}
        latest = ckpt.latest(self.run)
        if not (latest and latest["stage"] == stage.name and not latest["final"]):
            self.stage_wall = 0.0
            truncate_ledger(self.run, done, stage.name, 0)
            return 0
        folder = self.run.checkpoints / latest["path"]
        state = ckpt.load_state(folder)
        ckpt.load_weights(self.model, folder)
        opt.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["rng"])
        self.tokens_seen, self.elapsed = state["tokens_seen"], state["elapsed"]
        self.stage_wall = state["stage_wall"]
        truncate_ledger(self.run, done, stage.name, state["step"])
        return state["step"]

    def train_stage(self, index: int, stage: StageConfig) -> dict[str, Any]:
        total = self.total_steps[index]
        seq_len = self.cfg.model.seq_len
        windows_per_step = stage.batch_size * stage.grad_accum
        opt = make_optimizer(self.model, stage)
        start = self.resume(index, stage, opt)
        # Each stage shuffles with its own seed; a resumed stage skips the windows it has used.
        windows = window_stream(self.rows, seq_len, self.cfg.seed + index, start * windows_per_step)
        bar = self.progress.add_task(
            stage.name, total=total, completed=start, loss=float("nan"), tps=0.0
        )
        self.model.train()
        for step in range(start, total):
            t0 = time.perf_counter()
            lr = lr_at(step, total, stage)
            for group in opt.param_groups:
                group["lr"] = lr
            loss, grad_norm = self.step(opt, stage, windows)
            dt = time.perf_counter() - t0
            self.stage_wall += dt
            self.elapsed += dt
            self.tokens_seen += windows_per_step * seq_len
            tps = windows_per_step * seq_len / dt
            self.progress.update(bar, completed=step + 1, loss=loss, tps=tps)
            last = step + 1 == total
            if (step + 1) % self.cfg.train.log_every == 0 or last:
                self.log(stage, step + 1, loss, lr, grad_norm, tps)
            if (step + 1) % self.cfg.train.checkpoint_every == 0 or last:
                summary = self.checkpoint(stage, opt, step + 1, total, loss, last)
        return summary

    # -- a step -------------------------------------------------------------------------------
    def step(
        self, opt: torch.optim.Optimizer, stage: StageConfig, windows: Any
    ) -> tuple[float, float]:
        """One optimizer step over `grad_accum` micro-batches; returns (loss, grad norm).

        Each micro-batch's loss is summed over its label tokens and divided by the label
        count of *all* micro-batches of the step, so that accumulation reproduces the larger
        batch exactly (a mean per micro-batch would weight a short micro-batch up)."""
        seq_len = self.cfg.model.seq_len
        micro = [
            collate(
                self.rows, list(islice(windows, stage.batch_size)), seq_len, self.pad_id, stage.loss
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
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss_sum, grad_norm

    def log(
        self, stage: StageConfig, step: int, loss: float, lr: float, grad_norm: float, tps: float
    ) -> None:
        record = {
            "stage": stage.name,
            "step": step,
            "tokens": self.tokens_seen,
            "loss": round(loss, 6),
            "lr": lr,
            "grad_norm": round(grad_norm, 6),
            "tokens_per_s": round(tps, 1),
            "elapsed": round(self.elapsed, 3),
        }
        with self.run.ledger.open("a") as f:
            f.write(json.dumps(record) + "\n")

    def checkpoint(
        self,
        stage: StageConfig,
        opt: torch.optim.Optimizer,
        step: int,
        total: int,
        loss: float,
        final: bool,
    ) -> dict[str, Any]:
        """Save weights and everything a resume needs; returns the stage summary so far."""
        tokens = total * stage.batch_size * stage.grad_accum * self.cfg.model.seq_len
        summary = {
            "name": stage.name,
            "steps": total,
            "tokens": tokens,
            "final_loss": round(loss, 6),
            "wall_s": round(self.stage_wall, 3),
            "tokens_per_s": round(tokens / max(self.stage_wall, 1e-9), 1),
        }
        state = {
            "optimizer": opt.state_dict(),
            "step": step,
            "rng": torch.get_rng_state(),
            "tokens_seen": self.tokens_seen,
            "elapsed": self.elapsed,
            "stage_wall": self.stage_wall,
            "summary": summary,
        }
        ckpt.save_checkpoint(self.run, self.model, state, stage.name, step, final=final)
        return summary

    # -- the run ------------------------------------------------------------------------------
    def summarize(self, summaries: list[dict[str, Any]]) -> dict[str, Any]:
        out = {
            "schema": "svglm.train_summary/1",
            "tokens": self.tokens_seen,
            "wall_s": round(self.elapsed, 3),
            "tokens_per_s": round(self.tokens_seen / max(self.elapsed, 1e-9), 1),
            "final_loss": summaries[-1]["final_loss"],
            "params": self.model.num_params(),
            "final_checkpoint": ckpt.final_of(self.run, self.cfg.stages[-1].name).name,
            "stages": summaries,
        }
        atomic_write_json(self.run.train_summary, out)
        return out


def train(
    run: RunDir, cfg: RunConfig, fingerprint: str, show_progress: bool = True
) -> dict[str, Any]:
    """Train every stage of the run (resuming where a killed run stopped); write the summary."""
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    prepare_checkpoints(run, fingerprint)
    with progress_bar(show_progress) as progress:
        return Trainer(run, cfg, progress).train()
