"""Training throughput of svglm's decoder against the `transformers` model of the same family
and config, each at its own best settings, measured in one process. Prints one JSON line.

    .venv/bin/python bench/train_throughput.py [--shape demo|large] [--quick] [--packed]

Both sides train on identical random batches with the same loss and AdamW (fused, as svglm's
trainer and transformers' Trainer run it): full windows under plain causal attention, or with
--packed windows of packed rows (lengths drawn from an eighth to a half of the window, as
training packs a corpus), each row attending only to itself: svglm gets the rows' ids and
positions, `transformers` the same positions and the equivalent 4D boolean mask. Each side is
timed in every mode it can run in (fp32 eager, bf16 autocast, and `torch.compile` of each
unless --quick); the modes are interleaved round by round so that drift on a shared machine
hits all of them, and each mode's median over the rounds is kept. A side's best mode is its
figure: `ours_tok_s` against `hf_tok_s` is `ratio_vs_hf`. MFU counts 6N + 12 L d T FLOPs per
token against the matmul peak of the winning dtype, measured in the same run
(bench/matmul_peak.py); `mfu_by_dtype` gives our best mode of each dtype against its own peak.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from matmul_peak import peak
from transformers import Qwen3Config, Qwen3ForCausalLM

from svglm.model.config import architecture_config
from svglm.model.transformer import Decoder
from svglm.train.devices import keep_freed_memory

SHAPES = {  # vocab, layers, d_model, heads, kv heads, d_ff, seq_len, batch
    "demo": dict(vocab=582, layers=3, d=192, heads=6, kv=2, ff=512, seq=128, batch=32),
    "large": dict(vocab=582, layers=6, d=256, heads=8, kv=2, ff=768, seq=512, batch=8),
}


def models(s: dict) -> tuple[Decoder, Qwen3ForCausalLM]:
    ours = Decoder(
        architecture_config(
            "qwen3",
            vocab_size=s["vocab"],
            n_layer=s["layers"],
            d_model=s["d"],
            n_head=s["heads"],
            n_kv_head=s["kv"],
            d_ff=s["ff"],
            seq_len=s["seq"],
        )
    )
    hf = Qwen3ForCausalLM(
        Qwen3Config(
            vocab_size=s["vocab"],
            hidden_size=s["d"],
            intermediate_size=s["ff"],
            num_hidden_layers=s["layers"],
            num_attention_heads=s["heads"],
            num_key_value_heads=s["kv"],
            head_dim=s["d"] // s["heads"],
            max_position_embeddings=s["seq"],
            tie_word_embeddings=True,
            rms_norm_eps=1e-6,
            attn_implementation="sdpa",
        )
    )
    return ours, hf


class Mode:
    """One side in one mode: a training step it can time."""

    def __init__(self, forward: Callable, params, bf16: bool):
        self.forward, self.bf16 = forward, bf16
        self.opt = torch.optim.AdamW(params, lr=1e-3, fused=True)
        self.tokens_per_s: list[float] = []

    def step(self, batch: dict[str, torch.Tensor]) -> None:
        x = batch["idx"]
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            logits = self.forward(batch)
            loss = F.cross_entropy(
                logits[:, :-1].reshape(-1, logits.size(-1)).float(), x[:, 1:].reshape(-1)
            )
        loss.backward()
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)

    def time(self, batches: list[dict[str, torch.Tensor]]) -> None:
        self.step(batches[0])  # a warm-up step (and, compiled, the compile)
        t0 = time.perf_counter()
        for batch in batches:
            self.step(batch)
        tokens = sum(b["idx"].numel() for b in batches)
        self.tokens_per_s.append(tokens / (time.perf_counter() - t0))

    @property
    def median(self) -> float:
        return statistics.median(self.tokens_per_s)


def make_batch(s: dict, packed: bool, g: torch.Generator) -> dict[str, torch.Tensor]:
    """Random tokens in (batch, seq) windows; packed: rows back to back, each its own doc."""
    B, T = s["batch"], s["seq"]
    batch = {"idx": torch.randint(0, s["vocab"], (B, T), generator=g)}
    if not packed:
        return batch
    doc = torch.empty(B, T, dtype=torch.long)
    positions = torch.empty(B, T, dtype=torch.long)
    for b in range(B):
        at, row = 0, 0
        while at < T:
            n = min(int(torch.randint(T // 8, T // 2 + 1, (1,), generator=g)), T - at)
            doc[b, at : at + n], positions[b, at : at + n] = row, torch.arange(n)
            at, row = at + n, row + 1
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    mask = (causal & (doc[:, :, None] == doc[:, None, :]))[:, None]
    return {**batch, "doc_ids": doc, "positions": positions, "mask": mask}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shape", choices=SHAPES, default="demo")
    ap.add_argument("--quick", action="store_true", help="fewer steps and rounds, no compile")
    ap.add_argument("--steps", type=int, default=None, help="timed steps per round")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--packed", action="store_true", help="windows of packed rows, kept apart")
    args = ap.parse_args()
    malloc_kept = keep_freed_memory()  # as every svglm command runs
    s = SHAPES[args.shape]
    steps = args.steps or (4 if args.quick else 12)
    # 5: in 3 rounds the large shape's ratio moved by up to 0.17 between runs an hour apart
    rounds = args.rounds or (2 if args.quick else 5)
    torch.manual_seed(0)
    ours, hf = models(s)  # each side its own init: the work per step is the same
    g = torch.Generator().manual_seed(1)
    batches = [make_batch(s, args.packed, g) for _ in range(steps)]

    modes: dict[str, Mode] = {}
    for side, model, fwd in (
        ("ours", ours, lambda m: lambda b: m(b["idx"], b.get("positions"), b.get("doc_ids"))),
        (
            "hf",
            hf,
            lambda m: (
                lambda b: (
                    m(
                        input_ids=b["idx"],
                        position_ids=b.get("positions"),
                        attention_mask=b.get("mask"),
                    ).logits
                )
            ),
        ),
    ):
        for bf16 in (False, True):
            dtype = "bf16" if bf16 else "fp32"
            modes[f"{side}/{dtype}/eager"] = Mode(fwd(model), model.parameters(), bf16)
            if not args.quick:
                modes[f"{side}/{dtype}/compiled"] = Mode(
                    fwd(torch.compile(model)), model.parameters(), bf16
                )
    for r in range(rounds):
        for name, mode in modes.items():
            mode.time(batches)
            # progress on stderr: a large-shape run takes minutes, stdout keeps the one JSON line
            print(
                f"round {r + 1}/{rounds} {name}: {mode.tokens_per_s[-1]:,.0f} tok/s",
                file=sys.stderr,
                flush=True,
            )

    best = {
        side: max((m for m in modes if m.startswith(side)), key=lambda m: modes[m].median)
        for side in ("ours", "hf")
    }
    ours_tps, hf_tps = modes[best["ours"]].median, modes[best["hf"]].median
    dtype = best["ours"].split("/")[1]
    params = sum(p.numel() for p in ours.parameters())
    per_token = 6 * params + 12 * s["layers"] * s["d"] * s["seq"]
    peaks = {
        name: peak(s["d"], s["ff"], s["batch"] * s["seq"], t)["peak"]
        for name, t in (("fp32", torch.float32), ("bf16", torch.bfloat16))
    }
    ours_by_dtype = {  # our best mode in each dtype
        name: max(m.median for key, m in modes.items() if key.startswith(f"ours/{name}/"))
        for name in peaks
    }
    print(
        json.dumps(
            {
                "bench": "train_throughput",
                "malloc_kept": malloc_kept,
                "shape": args.shape,
                "packed": args.packed,
                "config": s,
                "machine": platform.processor() or platform.machine(),
                "threads": torch.get_num_threads(),
                "steps": steps,
                "rounds": rounds,
                "modes_tok_s": {name: round(m.median) for name, m in modes.items()},
                "ours_best": best["ours"],
                "hf_best": best["hf"],
                "ours_tok_s": round(ours_tps),
                "hf_tok_s": round(hf_tps),
                "ratio_vs_hf": round(ours_tps / hf_tps, 3),
                "dtype": dtype,
                "flops_per_token": per_token,
                "peak_gflops": peaks,
                "mfu": round(ours_tps * per_token / (peaks[dtype] * 1e9), 3),
                "mfu_by_dtype": {
                    name: round(tps * per_token / (peaks[name] * 1e9), 3)
                    for name, tps in ours_by_dtype.items()
                },
            }
        )
    )


if __name__ == "__main__":
    main()
