"""The stage loop: AdamW, warmup + cosine, clipping, accumulation, dev loss, ledger,
checkpoints, resume; on any device and precision, in one process or several (torchrun).

The loop knows nothing about tasks: it trains on packed windows of encoded rows. A stage starts
from the previous stage's final weights; a killed run resumes from the newest good checkpoint
with the same optimizer state and data position, so its loss curve continues unchanged.

Phases, in the order they run: prepare the checkpoint folder, resume from the newest good
checkpoint, then for every stage: take steps, log them (with the dev loss every few steps),
checkpoint them; last, summarize the run. Only the main process writes.
"""

from __future__ import annotations

import json
import math
import shutil
import statistics
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from itertools import islice
from typing import Any

import torch
import torch.nn.functional as F
from rich.console import Console
from torch.nn.parallel import DistributedDataParallel

from svglm.artifacts import Plan, read_artifact
from svglm.config import RunConfig, StageConfig
from svglm.data.build import of_surfaces, read_meta, read_rows
from svglm.errors import ArtifactError, TrainError
from svglm.files import append_line, atomic_write_json, atomic_write_text
from svglm.runs import RunDir, ledger_records
from svglm.tokenizer.bpe import SvglmTokenizer
from svglm.train import checkpoint as ckpt
from svglm.train import distributed as dist
from svglm.train.architecture import initial_model
from svglm.train.devices import autocast, resolve_device, resolve_precision
from svglm.train.packing import IGNORE, collate, encode_rows, pack, window_stream
from svglm.train.progress import Reporter, reporter
from svglm.train.tensorboard import TensorBoardLog

Warn = Callable[[str], None]  # how the loop tells the user about resumes and repairs
SPIKE_WINDOW = 20  # losses the running median of spike detection looks back over


# Devices where AdamW runs as one fused kernel a parameter: on a CPU the default runs a dozen
# ops a parameter, 2.8 against 0.8 ms a step for the demo's model, 2 to 5% of a training step
# (bench/README.md, "The optimizer"). transformers' Trainer also defaults to it.
FUSED_ADAMW = ("cpu", "cuda")


def make_optimizer(model: torch.nn.Module, stage: StageConfig) -> torch.optim.AdamW:
    """Decay matrices only; norms, biases and (tied) embeddings are left undecayed. A resumed
    run keeps the kernel its checkpoint was made with: load_state_dict restores `fused`."""
    decay, keep = [], []
    for name, p in model.named_parameters():
        (decay if p.dim() >= 2 and "embed" not in name else keep).append(p)
    groups = [
        {"params": decay, "weight_decay": stage.weight_decay},
        {"params": keep, "weight_decay": 0.0},
    ]
    device = next(model.parameters()).device.type
    fused = True if device in FUSED_ADAMW else None  # None: torch's own pick for the device
    return torch.optim.AdamW(groups, lr=stage.lr, betas=(0.9, 0.95), eps=1e-8, fused=fused)


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


class Trainer:
    """Trains the stages of one run in order, carrying the weights and the run's counters
    (tokens seen, seconds spent) from stage to stage and through checkpoints."""

    def __init__(
        self, run: RunDir, cfg: RunConfig, device: torch.device, report: Reporter, warn: Warn
    ):
        self.run, self.cfg, self.device, self.report, self.warn = run, cfg, device, report, warn
        self.precision = resolve_precision(cfg.train.precision, device)
        tok = SvglmTokenizer.load(run.tokenizer_json)
        self.pad_id = tok.pad_id
        rows = encode_rows(tok, read_rows(run, "train"))
        meta = read_meta(run, "train")
        # Each stage trains on the rows of its own prompt surfaces (the curriculum).
        self.stage_rows = [of_surfaces(rows, meta, st.surfaces) for st in cfg.stages]
        self.rows = self.stage_rows[0]
        self.dev_rows = encode_rows(tok, read_rows(run, "dev"))
        self.total_steps = [s.steps for s in read_artifact(run.plan, Plan).stages]
        self.model = initial_model(run, cfg, tok.vocab_size).to(self.device)
        # What the steps call: the model, compiled and/or wrapped for several processes.
        self.net: torch.nn.Module = self.model
        if cfg.train.compile:
            self.net = torch.compile(self.net)
        if dist.world_size() > 1:
            self.net = DistributedDataParallel(self.net)
        self.tokens_seen, self.elapsed = 0, 0.0
        self.logged = (0, 0.0)  # tokens_seen and elapsed at the last ledger line
        self.stage_wall = 0.0  # seconds spent in the current stage, restored on resume
        self.summaries: list[dict[str, Any]] = []  # of the stages finished so far
        self.board: TensorBoardLog | None = None  # TensorBoard events, when asked for

    def train(self) -> dict[str, Any]:
        first, start, state = self.resume()
        # after resume() has cut the ledger back to the checkpoint, so the events match it
        self.board = TensorBoardLog(self.run) if self.cfg.train.tensorboard else None
        try:
            for index in range(first, len(self.cfg.stages)):
                resumed = state if index == first and start > 0 else None
                self.summaries.append(self.train_stage(index, start if resumed else 0, resumed))
        finally:
            if self.board is not None:
                self.board.close()
        return self.summarize()

    # -- resume -------------------------------------------------------------------------------
    def resume(self) -> tuple[int, int, dict[str, Any] | None]:
        """Load the newest checkpoint that verifies; returns the stage index and step to go on
        from and the state saved with it. A final checkpoint means its stage is done. The main
        process decides (dropping corrupt checkpoints); the others follow its manifest."""
        stages = [s.name for s in self.cfg.stages]
        point = ckpt.resume_point(self.run, self.warn) if dist.is_main() else None
        dist.barrier()
        if not dist.is_main():
            kept = ckpt.read_manifest(self.run).checkpoints
            point = kept[-1] if kept else None
        if point is None:
            if dist.is_main():
                truncate_ledger(self.run, stages, 0, 0)
            return 0, 0, None
        state = ckpt.load_checkpoint(self.run, point, self.model)
        self.tokens_seen, self.elapsed = state["tokens_seen"], state["elapsed"]
        self.logged = (self.tokens_seen, self.elapsed)
        self.summaries = list(state["summaries"])
        first, step = (point.stage_index + 1, 0) if point.final else (point.stage_index, point.step)
        if dist.is_main():
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
        if stage.batch_size % dist.world_size():
            raise TrainError(
                f"stages[{index}].batch_size {stage.batch_size} does not split over "
                f"{dist.world_size()} processes"
            )
        opt = make_optimizer(self.model, stage)
        self.stage_wall = 0.0
        if state is not None:  # mid-stage: the optimizer and RNG go on where they were
            opt.load_state_dict(state["optimizer"])
            torch.set_rng_state(state["rng"])
            self.stage_wall = state["stage_wall"]
        # Each stage shuffles with its own seed; a resumed stage skips the windows it has used.
        self.rows = self.stage_rows[index]  # what this stage's windows index into
        windows = window_stream(self.rows, seq_len, self.cfg.seed + index, start * windows_per_step)
        self.report.stage(stage.name, total, start)
        recent: deque[float] = deque(maxlen=SPIKE_WINDOW)  # for spike detection
        bad = 0  # steps in a row whose loss or gradient was not finite
        for step in range(start, total):
            t0 = time.perf_counter()
            lr = stage.lr_at(step, total)
            for group in opt.param_groups:
                group["lr"] = lr
            loss, grad_norm = self.step(opt, stage, windows)
            finite = math.isfinite(loss) and math.isfinite(grad_norm)
            bad = 0 if finite else bad + 1
            dt = time.perf_counter() - t0
            self.stage_wall += dt
            self.elapsed += dt
            self.tokens_seen += windows_per_step * seq_len
            done, last = step + 1, step + 1 == total
            saving = (done % self.cfg.train.checkpoint_every == 0 or last) and finite
            evaluating = saving or done % self.cfg.train.eval_every == 0
            dev = self.dev_loss(stage) if evaluating else None
            median = statistics.median(recent) if len(recent) >= 5 else math.inf
            spike = finite and loss > self.cfg.train.spike_factor * median
            if finite:
                recent.append(loss)
            self.report.step(done, loss, dev, windows_per_step * seq_len)
            if done % self.cfg.train.log_every == 0 or last or not finite or spike or evaluating:
                self.log(stage, done, loss, lr, grad_norm, dev, spike)
            if bad >= self.cfg.train.max_bad_steps or (last and bad):
                raise TrainError(
                    f"stages[{index}] ({stage.name}): the loss was not finite for {bad} step(s) "
                    f"in a row, up to step {done}; training stopped and the last good "
                    f"checkpoint is kept (lower stages[{index}].lr, then run again)"
                )
            if saving:
                self.checkpoint(index, opt, done, total, loss, dev, last)
        return self.stage_summary(stage, total, loss)

    # -- a step -------------------------------------------------------------------------------
    def micro_batches(self, stage: StageConfig, windows: Iterator[list[int]]) -> list[dict]:
        """The step's `grad_accum` micro-batches, on the device. The batch is global: every
        process draws the same windows and keeps its own share of each micro-batch."""
        return [
            {
                k: v.to(self.device)
                for k, v in collate(
                    self.rows,
                    dist.shard(list(islice(windows, stage.batch_size))),
                    self.cfg.model.seq_len,
                    self.pad_id,
                    stage.loss,
                ).items()
            }
            for _ in range(stage.grad_accum)
        ]

    def step(
        self, opt: torch.optim.Optimizer, stage: StageConfig, windows: Iterator[list[int]]
    ) -> tuple[float, float]:
        """One optimizer step over `grad_accum` micro-batches; returns (loss, grad norm).

        Each micro-batch's loss is summed over its label tokens and divided by the label count
        of *all* micro-batches of the step on all processes, so that accumulation and any
        number of processes reproduce the one large batch exactly (a mean per micro-batch
        would weight a short micro-batch up). DDP averages gradients over the processes, so
        each process scales its share up by their number. A step whose loss or gradient is not
        finite is skipped: its update would poison the weights."""
        micro = self.micro_batches(stage, windows)
        n_labels = dist.total(sum(int((b["labels"] != IGNORE).sum()) for b in micro))
        scale = dist.world_size() / n_labels
        loss_sum = 0.0
        for i, b in enumerate(micro):
            syncing = i == len(micro) - 1  # DDP all-reduces gradients once, after the last
            with self.sync(syncing), autocast(self.device, self.precision):
                logits = self.net(b["idx"], positions=b["positions"], doc_ids=b["doc_ids"])
            loss = F.cross_entropy(
                logits.float().view(-1, logits.size(-1)),
                b["labels"].view(-1),
                ignore_index=IGNORE,
                reduction="sum",
            )
            with self.sync(syncing):
                (loss * scale).backward()
            loss_sum += loss.item() / n_labels
        loss_sum = dist.total(loss_sum)
        grad_norm = float(torch.nn.utils.clip_grad_norm_(self.model.parameters(), stage.grad_clip))
        if math.isfinite(loss_sum) and math.isfinite(grad_norm):
            opt.step()
        opt.zero_grad(set_to_none=True)
        return loss_sum, grad_norm

    def sync(self, syncing: bool) -> AbstractContextManager:
        """DDP's no_sync for every micro-batch but the last; nothing in one process."""
        if isinstance(self.net, DistributedDataParallel) and not syncing:
            return self.net.no_sync()
        return nullcontext()

    @torch.no_grad()
    def dev_loss(self, stage: StageConfig) -> float:
        """Loss on the dev split (never trained on), masked as the stage's loss is, over all of
        its rows packed in file order; each process evaluates its share of the windows."""
        seq_len = self.cfg.model.seq_len
        windows = pack(self.dev_rows, list(range(len(self.dev_rows))), seq_len)
        total_loss, labels = 0.0, 0
        self.model.eval()
        for at in range(0, len(windows), stage.batch_size):
            mine = dist.shard(windows[at : at + stage.batch_size])
            if not mine:
                continue
            b = {
                k: v.to(self.device)
                for k, v in collate(self.dev_rows, mine, seq_len, self.pad_id, stage.loss).items()
            }
            with autocast(self.device, self.precision):
                logits = self.model(b["idx"], positions=b["positions"], doc_ids=b["doc_ids"])
            total_loss += float(
                F.cross_entropy(
                    logits.float().view(-1, logits.size(-1)),
                    b["labels"].view(-1),
                    ignore_index=IGNORE,
                    reduction="sum",
                )
            )
            labels += int((b["labels"] != IGNORE).sum())
        self.model.train()
        return dist.total(total_loss) / max(dist.total(labels), 1)

    # -- the ledger and checkpoints -------------------------------------------------------------
    def log(
        self,
        stage: StageConfig,
        step: int,
        loss: float,
        lr: float,
        grad_norm: float,
        dev: float | None,
        spike: bool,
    ) -> None:
        """One ledger line; tokens/s is averaged since the previous line, as the summary's is."""
        tokens, seconds = self.tokens_seen - self.logged[0], self.elapsed - self.logged[1]
        self.logged = (self.tokens_seen, self.elapsed)
        if not dist.is_main():
            return
        finite = math.isfinite(loss) and math.isfinite(grad_norm)
        record: dict[str, Any] = {
            "stage": stage.name,
            "step": step,
            "tokens": self.tokens_seen,
            "loss": round(loss, 6) if finite else None,
            "lr": lr,
            "grad_norm": round(grad_norm, 6) if finite else None,
            "tokens_per_s": round(tokens / max(seconds, 1e-9), 1),
            "elapsed": round(self.elapsed, 3),
        }
        if dev is not None:
            record["dev_loss"] = round(dev, 6)
        if spike:
            record["spike"] = True  # over spike_factor times the running median
        if not finite:
            record["skipped"] = "non-finite loss or gradient"
        append_line(self.run.ledger, json.dumps(record))
        if self.board is not None:
            self.board.add(record)

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
        dev: float | None,
        final: bool,
    ) -> None:
        """Save weights and everything a resume needs; a final checkpoint also records its
        stage's summary among the finished ones. The others wait until it is on disk."""
        stage = self.cfg.stages[index]
        if not all(torch.isfinite(p).all() for p in self.model.parameters()):
            raise TrainError(
                f"stages[{index}] ({stage.name}): the weights became non-finite at step {step}; "
                "the last good checkpoint is kept (lower the learning rate, then run again)"
            )
        if dist.is_main():
            finished = [*self.summaries, self.stage_summary(stage, total, loss)]
            state = {
                "optimizer": opt.state_dict(),
                "step": step,
                "rng": torch.get_rng_state(),
                "tokens_seen": self.tokens_seen,
                "elapsed": self.elapsed,
                "stage_wall": self.stage_wall,
                "summaries": finished if final else self.summaries,
            }
            ckpt.save_checkpoint(
                self.run,
                self.model,
                state,
                index,
                stage.name,
                step,
                final=final,
                dev_loss=dev,
                keep_last=self.cfg.train.keep_last,
            )
        dist.barrier()

    # -- the run ------------------------------------------------------------------------------
    def summarize(self) -> dict[str, Any]:
        out = {
            "schema": "svglm.train_summary/1",
            "tokens": self.tokens_seen,
            "wall_s": round(self.elapsed, 3),
            "tokens_per_s": round(self.tokens_seen / max(self.elapsed, 1e-9), 1),
            "final_loss": self.summaries[-1]["final_loss"],
            "params": self.model.num_params(),
            "device": str(self.device),
            "precision": self.precision,
            "world_size": dist.world_size(),
            "final_checkpoint": ckpt.final_record(self.run, self.cfg.stages[-1].name).name,
            "stages": self.summaries,
        }
        if dist.is_main():
            atomic_write_json(self.run.train_summary, out)
        return out


def train(
    run: RunDir,
    cfg: RunConfig,
    fingerprint: str,
    console: Console | None = None,
    restart: bool = False,
    warn: Warn = print,
) -> dict[str, Any]:
    """Train every stage of the run, resuming where a killed run stopped (or from scratch with
    `restart`); write the summary. Progress goes to `console` (a bar or plain lines)."""
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    device = resolve_device(cfg.train.device)
    dist.start(device)
    if dist.is_main():
        prepare_checkpoints(run, fingerprint, restart, warn)
    dist.barrier()
    report = reporter(console if dist.is_main() else None, cfg.train.log_every)
    try:
        return Trainer(run, cfg, device, report, warn).train()
    finally:
        report.close()
