"""The preflight: prove the training arithmetic before any compute.

For each stage: tokens per optimizer step, steps requested by the token budget, steps per
epoch from real packing, epochs needed (WARN past a threshold), warmup inside the schedule and
at most 10% of it (WARN), the peak learning rate actually reached, and a batch that splits over
the processes. For the run: rows longer than the context, tokens per parameter (WARN below
one), and a memory estimate against the device's memory. Any FAIL stops `svglm run`; WARNs are
printed and kept in plan.json.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from svglm.checks import Check, advise, check, failures, gate, warnings
from svglm.config import RunConfig, StageConfig
from svglm.data.build import of_surfaces, read_meta, read_rows
from svglm.errors import PlanError
from svglm.files import atomic_write_json
from svglm.model.config import ModelConfig
from svglm.model.transformer import Decoder
from svglm.runs import RunDir
from svglm.tokenizer.bpe import SvglmTokenizer
from svglm.train.architecture import model_config
from svglm.train.devices import memory_gb, resolve_device
from svglm.train.distributed import world_size
from svglm.train.packing import EncodedRow, encode_rows, epoch_windows


@dataclass(frozen=True)
class Corpus:
    """What packing makes of the train split, measured once for every check."""

    rows: int
    longest: int  # tokens in the longest row
    too_long: int  # rows that do not fit one window (packing drops them; the plan FAILs)
    windows: int  # windows per epoch
    fill: float  # share of window positions that hold tokens
    target_fraction: float  # share of label positions that are target tokens (SFT's loss)


def measure(rows: list[EncodedRow], seq_len: int, seed: int) -> Corpus:
    lengths = [len(r.ids) for r in rows] or [0]
    windows = len(epoch_windows(rows, seq_len, seed, 0))
    targets = sum(len(r.ids) - r.target_start for r in rows)
    return Corpus(
        rows=len(rows),
        longest=max(lengths),
        too_long=sum(n > seq_len for n in lengths),
        windows=windows,
        fill=sum(lengths) / max(1, windows * seq_len),
        # every row has len-1 label positions: each token but the first is predicted
        target_fraction=targets / max(1, sum(lengths) - len(rows)),
    )


def param_count(mc: ModelConfig) -> int:
    """Parameters of the real model, built on the meta device (no memory, no compute)."""
    with torch.device("meta"):
        return Decoder(mc).num_params()


def memory_estimate_gb(mc: ModelConfig, batch: int, seq_len: int) -> float:
    """fp32 weights + grads + two AdamW moments, plus activations saved for backward (about
    20 floats per hidden unit per layer), the logits twice and the attention mask."""
    params = param_count(mc) * 4 * 4
    acts = batch * seq_len * (mc.d_model * 20 + mc.d_ff * 4) * mc.n_layer * 4
    logits = batch * seq_len * mc.vocab_size * 4 * 2
    attn = batch * mc.n_head * seq_len * seq_len * 4 * mc.n_layer
    return (params + acts + logits + attn) / 2**30


def stage_arithmetic(st: StageConfig, seq_len: int, corpus: Corpus) -> dict[str, Any]:
    """Steps, tokens, epochs and the learning-rate schedule of one stage, as the trainer will
    run them."""
    per_step = st.batch_size * st.grad_accum * seq_len
    steps = math.ceil(st.tokens / per_step)  # the budget is rounded up to whole steps
    steps_per_epoch = corpus.windows // (st.batch_size * st.grad_accum)
    epochs = steps / steps_per_epoch if steps_per_epoch else math.inf
    loss_share = corpus.target_fraction if st.loss == "target" else 1.0
    warmup = st.warmup(steps)
    # the schedule peaks at the end of warmup; look that far, not over every step
    peak = max(st.lr_at(s, steps) for s in range(min(steps, warmup + 1)))
    return {
        "name": st.name,
        "surfaces": st.surfaces or "all",
        "rows": corpus.rows,
        "steps": steps,
        "tokens": steps * per_step,
        "tokens_per_step": per_step,
        "steps_per_epoch": steps_per_epoch,
        "epochs": round(epochs, 3),
        "warmup_steps": warmup,
        "lr": st.lr,
        "peak_lr_reached": peak,
        "loss": st.loss,
        "loss_tokens_per_step": round(per_step * corpus.fill * loss_share, 1),
    }


# -- the checks, one function each --------------------------------------------------------------
def check_rows_fit(corpus: Corpus, seq_len: int) -> Check:
    return check(
        "rows_fit_context",
        corpus.too_long == 0,
        f"{corpus.too_long} of {corpus.rows} rows exceed seq_len {seq_len} "
        f"(longest {corpus.longest} tokens)"
        if corpus.too_long
        else f"longest row {corpus.longest} tokens <= seq_len {seq_len}",
    )


def check_one_epoch_fits(
    where: str, st: StageConfig, stage: dict[str, Any], corpus: Corpus
) -> Check:
    return check(
        f"{where}.one_epoch_fits",
        stage["steps_per_epoch"] > 0,
        f"{corpus.windows} windows per epoch make {stage['steps_per_epoch']} steps of "
        f"{st.batch_size}x{st.grad_accum} windows",
    )


def check_reachable_steps(where: str, st: StageConfig, stage: dict[str, Any]) -> Check:
    reachable = int(stage["steps_per_epoch"] * st.max_epochs)
    return check(
        f"{where}.reachable_steps",
        stage["steps"] <= reachable,
        f"{stage['steps']} steps requested, {reachable} reachable in max_epochs={st.max_epochs}",
    )


def check_warmup_inside(where: str, stage: dict[str, Any]) -> Check:
    return check(
        f"{where}.warmup_inside_schedule",
        stage["warmup_steps"] < stage["steps"],
        f"warmup {stage['warmup_steps']} steps of {stage['steps']}",
    )


def check_warmup_share(where: str, stage: dict[str, Any]) -> Check:
    """A long warmup spends the budget at a low learning rate; 10% is plenty."""
    share = stage["warmup_steps"] / stage["steps"]
    return advise(
        f"{where}.warmup_share",
        share <= 0.10,
        f"warmup is {share:.0%} of the {stage['steps']} steps (more than 10% wastes budget)"
        if share > 0.10
        else f"warmup is {share:.0%} of the {stage['steps']} steps",
    )


def check_peak_lr(where: str, st: StageConfig, stage: dict[str, Any]) -> Check:
    reached = stage["peak_lr_reached"]
    return check(
        f"{where}.peak_lr_reached",
        reached >= st.lr * (1 - 1e-9),
        f"the schedule peaks at {reached:.3g} of the configured lr {st.lr:.3g}",
    )


def check_epochs(where: str, stage: dict[str, Any], limit: float) -> Check:
    return advise(
        f"{where}.epochs",
        stage["epochs"] <= limit,
        f"{stage['epochs']} epochs over the train split (warn above {limit}): "
        + ("more data or a smaller budget" if stage["epochs"] > limit else "fine"),
    )


def check_world_batch(where: str, st: StageConfig, world: int) -> Check:
    """The batch is global and split over the processes: it must divide evenly."""
    return check(
        f"{where}.batch_splits_over_processes",
        st.batch_size % world == 0,
        f"batch {st.batch_size} over {world} process(es): {st.batch_size / world:g} each",
    )


def check_tokens_per_param(total_tokens: int, params: int) -> Check:
    ratio = total_tokens / params
    return advise(
        "tokens_per_parameter",
        ratio >= 1.0,
        f"{ratio:.2f} training tokens per parameter"
        + (": fewer tokens than parameters, expect memorization" if ratio < 1 else ""),
    )


def check_memory(peak_gb: float, limit_gb: float, where: str) -> Check:
    """FAIL above the memory there is; WARN above half of it (other processes need some)."""
    detail = f"{peak_gb:.3f} GB estimated per process, {limit_gb:.1f} GB on {where}"
    if peak_gb > limit_gb:
        return check("memory_estimate", False, detail)
    return advise("memory_estimate", peak_gb <= limit_gb / 2, detail)


def make_plan(
    cfg: RunConfig,
    mc: ModelConfig,
    rows: list[EncodedRow],
    stage_rows: list[list[EncodedRow]],
    world: int,
    device_memory_gb: float,
) -> dict[str, Any]:
    """The plan over the train split (`rows`) and the rows each stage trains on (its surfaces'
    share of them, `stage_rows`)."""
    seq_len = cfg.model.seq_len
    corpus = measure(rows, seq_len, cfg.seed)
    corpora = [measure(r, seq_len, cfg.seed) for r in stage_rows]
    stages = [stage_arithmetic(st, seq_len, c) for st, c in zip(cfg.stages, corpora, strict=True)]
    checks = [check_rows_fit(corpus, seq_len)]
    for i, (st, stage) in enumerate(zip(cfg.stages, stages, strict=True)):
        where = f"stages[{i}] ({st.name})"
        checks.append(check_one_epoch_fits(where, st, stage, corpora[i]))
        if st.max_epochs is not None:
            checks.append(check_reachable_steps(where, st, stage))
        checks.append(check_warmup_inside(where, stage))
        checks.append(check_warmup_share(where, stage))
        checks.append(check_peak_lr(where, st, stage))
        checks.append(check_epochs(where, stage, cfg.train.epochs_warn))
        checks.append(check_world_batch(where, st, world))
    params = param_count(mc)
    checks.append(check_tokens_per_param(sum(s["tokens"] for s in stages), params))
    per_rank = [max(1, st.batch_size // world) for st in cfg.stages]
    peak = max(memory_estimate_gb(mc, batch, seq_len) for batch in per_rank)
    limit = cfg.train.memory_limit_gb or device_memory_gb
    where = "the configured limit" if cfg.train.memory_limit_gb else cfg.train.device
    checks.append(check_memory(peak, limit, where))
    return gate(
        "svglm.plan/1",
        checks,
        stages=stages,
        world_size=world,
        model={
            "architecture": mc.architecture,
            "params": params,
            "vocab_size": mc.vocab_size,
            "n_layer": mc.n_layer,
            "d_model": mc.d_model,
            "seq_len": seq_len,
        },
        data={
            "rows": corpus.rows,
            "windows_per_epoch": corpus.windows,
            "window_fill": round(corpus.fill, 4),
            "target_token_fraction": round(corpus.target_fraction, 4),
        },
        memory_gb=round(peak, 4),
        total_tokens=sum(s["tokens"] for s in stages),
    )


def build_plan(run: RunDir, cfg: RunConfig, warn: Callable[[str], None] = print) -> dict[str, Any]:
    tok = SvglmTokenizer.load(run.tokenizer_json)
    rows = encode_rows(tok, read_rows(run, "train"))
    meta = read_meta(run, "train")
    stage_rows = [of_surfaces(rows, meta, st.surfaces) for st in cfg.stages]
    device = resolve_device(cfg.train.device)
    mc = model_config(run, cfg, tok.vocab_size)
    plan = make_plan(cfg, mc, rows, stage_rows, world_size(), memory_gb(device))
    atomic_write_json(run.plan, plan)
    if plan["verdict"] == "FAIL":
        raise PlanError("plan FAIL: " + "; ".join(failures(plan["checks"])))
    for warning in warnings(plan["checks"]):
        warn(f"plan WARN: {warning}")
    return plan
