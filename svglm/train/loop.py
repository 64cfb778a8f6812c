"""The stage loop: AdamW, warmup + cosine, clipping, accumulation, ledger, checkpoints, resume.

The loop knows nothing about tasks: it trains on packed windows of encoded rows. A stage starts
from the previous stage's final weights; a killed run resumes from the newest checkpoint with
the same optimizer state and data position, so its loss curve continues unchanged.
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
from svglm.model.pretrained import pretrained_model, read_base
from svglm.model.transformer import Decoder
from svglm.runs import RunDir, atomic_write_json, read_json
from svglm.tokenizer.bpe import SvglmTokenizer
from svglm.train import checkpoint as ckpt
from svglm.train.packing import IGNORE, collate, encode_rows, window_stream
from svglm.train.plan import model_config


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


def initial_model(run: RunDir, cfg: RunConfig, vocab_size: int) -> Decoder:
    """Seeded random weights, or the base checkpoint's weights with the embedding resized."""
    torch.manual_seed(cfg.seed)
    if cfg.base is None:
        return Decoder(model_config(run, cfg, vocab_size))
    base_cfg, state = read_base(run.root / cfg.base.path, cfg.base.format)
    return pretrained_model(base_cfg, state, vocab_size)


def _truncate_ledger(run: RunDir, keep: set[str], stage: str, step: int) -> None:
    """Drop ledger lines written after the checkpoint we resume from."""
    if not run.ledger.exists():
        return
    lines = [ln for ln in run.ledger.read_text().splitlines() if ln.strip()]
    kept = [
        ln
        for ln in lines
        if (rec := json.loads(ln))["stage"] in keep
        or (rec["stage"] == stage and rec["step"] <= step)
    ]
    run.ledger.write_text("".join(ln + "\n" for ln in kept))


def train(
    run: RunDir, cfg: RunConfig, fingerprint: str, show_progress: bool = True
) -> dict[str, Any]:
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    plan = read_json(run.plan)
    tok = SvglmTokenizer.load(run.tokenizer / "tokenizer.json")
    rows = encode_rows(tok, read_rows(run, "train"), tok.encode(" [OUT]")[0])
    seq_len = cfg.model.seq_len

    manifest_path = run.checkpoints / ckpt.MANIFEST
    if manifest_path.exists() and read_json(manifest_path).get("fingerprint") != fingerprint:
        shutil.rmtree(run.checkpoints)  # checkpoints of another config cannot be resumed
    if not manifest_path.exists():
        run.ledger.unlink(missing_ok=True)
        atomic_write_json(
            manifest_path,
            {
                "schema": "svglm.checkpoints/1",
                "fingerprint": fingerprint,
                "latest": None,
                "finals": {},
            },
        )
    model = initial_model(run, cfg, tok.vocab_size)
    latest = ckpt.latest(run.checkpoints)
    summaries: list[dict[str, Any]] = []
    done_stages: set[str] = set()
    tokens_seen, elapsed = 0, 0.0

    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} steps"),
        TextColumn("loss {task.fields[loss]:.4f}"),
        TextColumn("{task.fields[tps]:,.0f} tok/s"),
        TimeRemainingColumn(),
        disable=not show_progress,
    )
    with progress:
        for si, stage in enumerate(cfg.stages):
            total = plan["stages"][si]["steps"]
            per_step = stage.batch_size * stage.grad_accum * seq_len
            final = ckpt.final_of(run.checkpoints, stage.name)
            if final is not None:  # finished before a kill: reuse it
                state = ckpt.load_state(final)
                ckpt.load_weights(model, final)
                summaries.append(state["summary"])
                tokens_seen, elapsed = state["tokens_seen"], state["elapsed"]
                done_stages.add(stage.name)
                continue
            opt = make_optimizer(model, stage)
            start, stage_wall = 0, 0.0
            if latest and latest["stage"] == stage.name and not latest["final"]:
                folder = run.checkpoints / latest["path"]
                state = ckpt.load_state(folder)
                ckpt.load_weights(model, folder)
                opt.load_state_dict(state["optimizer"])
                torch.set_rng_state(state["rng"])
                start, tokens_seen, elapsed = state["step"], state["tokens_seen"], state["elapsed"]
                stage_wall = state["stage_wall"]
                _truncate_ledger(run, done_stages, stage.name, start)
            else:
                _truncate_ledger(run, done_stages, stage.name, 0)
            windows = window_stream(
                rows, seq_len, cfg.seed + si, start * stage.batch_size * stage.grad_accum
            )
            bar = progress.add_task(
                stage.name, total=total, completed=start, loss=float("nan"), tps=0.0
            )
            loss_value = float("nan")
            model.train()
            for step in range(start, total):
                t0 = time.perf_counter()
                lr = lr_at(step, total, stage)
                for group in opt.param_groups:
                    group["lr"] = lr
                micro = [
                    collate(
                        rows,
                        list(islice(windows, stage.batch_size)),
                        seq_len,
                        tok.pad_id,
                        stage.loss,
                    )
                    for _ in range(stage.grad_accum)
                ]
                n_labels = sum(int((b["labels"] != IGNORE).sum()) for b in micro)
                loss_sum = 0.0
                for b in micro:
                    logits = model(b["idx"], positions=b["positions"], doc_ids=b["doc_ids"])
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
                grad_norm = float(
                    torch.nn.utils.clip_grad_norm_(model.parameters(), stage.grad_clip)
                )
                opt.step()
                opt.zero_grad(set_to_none=True)
                dt = time.perf_counter() - t0
                stage_wall += dt
                elapsed += dt
                tokens_seen += per_step
                loss_value = loss_sum
                tps = per_step / dt
                progress.update(bar, completed=step + 1, loss=loss_value, tps=tps)
                last = step + 1 == total
                if (step + 1) % cfg.train.log_every == 0 or last:
                    record = {
                        "stage": stage.name,
                        "step": step + 1,
                        "tokens": tokens_seen,
                        "loss": round(loss_value, 6),
                        "lr": lr,
                        "grad_norm": round(grad_norm, 6),
                        "tokens_per_s": round(tps, 1),
                        "elapsed": round(elapsed, 3),
                    }
                    with run.ledger.open("a") as f:
                        f.write(json.dumps(record) + "\n")
                if (step + 1) % cfg.train.checkpoint_every == 0 or last:
                    summary = {
                        "name": stage.name,
                        "steps": total,
                        "tokens": total * per_step,
                        "final_loss": round(loss_value, 6),
                        "wall_s": round(stage_wall, 3),
                        "tokens_per_s": round(total * per_step / max(stage_wall, 1e-9), 1),
                    }
                    state = {
                        "optimizer": opt.state_dict(),
                        "step": step + 1,
                        "rng": torch.get_rng_state(),
                        "tokens_seen": tokens_seen,
                        "elapsed": elapsed,
                        "stage_wall": stage_wall,
                        "summary": summary,
                    }
                    ckpt.save_checkpoint(
                        run.checkpoints, model, state, stage.name, step + 1, final=last
                    )
            summaries.append(summary)
            done_stages.add(stage.name)

    out = {
        "schema": "svglm.train_summary/1",
        "tokens": tokens_seen,
        "wall_s": round(elapsed, 3),
        "tokens_per_s": round(tokens_seen / max(elapsed, 1e-9), 1),
        "final_loss": summaries[-1]["final_loss"],
        "params": model.num_params(),
        "final_checkpoint": str(ckpt.final_of(run.checkpoints, cfg.stages[-1].name).name),
        "stages": summaries,
    }
    atomic_write_json(run.train_summary, out)
    return out


def load_trained(run: RunDir, cfg: RunConfig) -> tuple[Decoder, SvglmTokenizer]:
    """The model at the last stage's final checkpoint, in eval mode, with its tokenizer."""
    tok = SvglmTokenizer.load(run.tokenizer / "tokenizer.json")
    model = Decoder(model_config(run, cfg, tok.vocab_size))
    final = ckpt.final_of(run.checkpoints, cfg.stages[-1].name)
    if final is None:
        raise FileNotFoundError(
            f"{run.name}: no final checkpoint; run `svglm train {run.name}` first"
        )
    ckpt.load_weights(model, final)
    return model.eval(), tok
