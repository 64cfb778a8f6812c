"""The preflight: prove the training arithmetic before any compute.

For each stage: tokens per optimizer step, steps requested by the token budget, steps per
epoch from real packing, epochs needed, warmup inside the schedule. For the run: rows longer
than the context, parameter count and a memory estimate. Any FAIL stops `svglm run`.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import torch

from svglm.config import RunConfig
from svglm.data.build import read_rows
from svglm.model.config import ModelConfig, family_config
from svglm.model.pretrained import read_base_config
from svglm.model.transformer import Decoder
from svglm.runs import RunDir, atomic_write_json
from svglm.tokenizer.bpe import SvglmTokenizer
from svglm.train.packing import EncodedRow, encode_rows, epoch_windows


class PlanFailed(RuntimeError):
    """The plan's verdict is FAIL; the message lists every failed check."""


def model_config(run: RunDir, cfg: RunConfig, vocab_size: int) -> ModelConfig:
    """The architecture to train: run.yaml's model section, or the base checkpoint's own config."""
    if cfg.base is not None:
        base_cfg = read_base_config(run.root / cfg.base.path, cfg.base.format)
        return replace(base_cfg, vocab_size=vocab_size)
    m = cfg.model
    return family_config(
        m.family,
        vocab_size=vocab_size,
        n_layer=m.n_layer,
        d_model=m.d_model,
        n_head=m.n_head,
        n_kv_head=m.n_kv_head,
        d_ff=m.d_ff,
        max_seq_len=m.seq_len,
        rope_theta=m.rope_theta,
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


def _check(name: str, ok: bool, detail: str) -> dict[str, str]:
    return {"name": name, "status": "PASS" if ok else "FAIL", "detail": detail}


def make_plan(cfg: RunConfig, mc: ModelConfig, rows: list[EncodedRow]) -> dict[str, Any]:
    seq_len = cfg.model.seq_len
    checks = []
    too_long = [len(r.ids) for r in rows if len(r.ids) > seq_len]
    lengths = [len(r.ids) for r in rows]
    checks.append(
        _check(
            "rows_fit_context",
            not too_long,
            f"{len(too_long)} of {len(rows)} rows exceed seq_len {seq_len} "
            f"(longest {max(lengths)} tokens)"
            if too_long
            else f"longest row {max(lengths)} tokens <= seq_len {seq_len}",
        )
    )
    windows = len(epoch_windows(rows, seq_len, cfg.seed, 0))
    fill = sum(lengths) / max(1, windows * seq_len)
    target_fraction = sum(len(r.ids) - r.target_start for r in rows) / max(
        1, sum(lengths) - len(rows)
    )

    stages = []
    for i, st in enumerate(cfg.stages):
        per_step = st.batch_size * st.grad_accum * seq_len
        steps = math.ceil(st.tokens / per_step)
        steps_per_epoch = windows // (st.batch_size * st.grad_accum)
        epochs = steps / steps_per_epoch if steps_per_epoch else math.inf
        where = f"stages[{i}] ({st.name})"
        checks.append(
            _check(
                f"{where}.one_epoch_fits",
                steps_per_epoch > 0,
                f"{windows} windows per epoch make {steps_per_epoch} steps of "
                f"{st.batch_size}x{st.grad_accum} windows",
            )
        )
        if st.max_epochs is not None:
            checks.append(
                _check(
                    f"{where}.reachable_steps",
                    epochs <= st.max_epochs,
                    f"{steps} steps requested, {int(steps_per_epoch * st.max_epochs)} "
                    f"reachable in max_epochs={st.max_epochs}",
                )
            )
        checks.append(
            _check(
                f"{where}.warmup_inside_schedule",
                st.warmup_steps < steps,
                f"warmup {st.warmup_steps} steps of {steps}",
            )
        )
        loss_tokens = per_step * fill * (target_fraction if st.loss == "target" else 1.0)
        stages.append(
            {
                "name": st.name,
                "steps": steps,
                "tokens": steps * per_step,
                "tokens_per_step": per_step,
                "steps_per_epoch": steps_per_epoch,
                "epochs": round(epochs, 3),
                "warmup_steps": st.warmup_steps,
                "lr": st.lr,
                "loss": st.loss,
                "loss_tokens_per_step": round(loss_tokens, 1),
            }
        )
    peak = max(memory_estimate_gb(mc, st.batch_size, seq_len) for st in cfg.stages)
    checks.append(
        _check(
            "memory_estimate",
            peak <= cfg.train.memory_limit_gb,
            f"{peak:.3f} GB estimated, limit {cfg.train.memory_limit_gb} GB",
        )
    )
    verdict = "PASS" if all(c["status"] == "PASS" for c in checks) else "FAIL"
    return {
        "schema": "svglm.plan/1",
        "verdict": verdict,
        "checks": checks,
        "stages": stages,
        "model": {
            "family": mc.family,
            "params": param_count(mc),
            "vocab_size": mc.vocab_size,
            "n_layer": mc.n_layer,
            "d_model": mc.d_model,
            "seq_len": seq_len,
        },
        "data": {
            "rows": len(rows),
            "windows_per_epoch": windows,
            "window_fill": round(fill, 4),
            "target_token_fraction": round(target_fraction, 4),
        },
        "memory_gb": round(peak, 4),
        "total_tokens": sum(s["tokens"] for s in stages),
    }


def build_plan(run: RunDir, cfg: RunConfig) -> dict[str, Any]:
    tok = SvglmTokenizer.load(run.tokenizer / "tokenizer.json")
    rows = encode_rows(tok, read_rows(run, "train"), tok.encode(" [OUT]")[0])
    plan = make_plan(cfg, model_config(run, cfg, tok.vocab_size), rows)
    atomic_write_json(run.plan, plan)
    if plan["verdict"] == "FAIL":
        failed = [f"{c['name']}: {c['detail']}" for c in plan["checks"] if c["status"] == "FAIL"]
        raise PlanFailed("plan FAIL: " + "; ".join(failed))
    return plan
