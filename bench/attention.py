"""Causal attention forward and backward on the CPU: PyTorch's scaled_dot_product_attention
in bf16 and in fp32 against svglm's `attend` (fp32, in query chunks that read keys only up to
their own end), at the train_throughput shapes. Prints one JSON line.

    .venv/bin/python bench/attention.py [--rounds 5] [--packed]

--packed adds a block-diagonal mask of packed rows (lengths 20..60, as scene-bundle rows are),
where `attend` also skips the keys before the rows of each query chunk. Inputs are bf16, as
they come out of the projections under autocast; rounds are interleaved, medians reported.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from functools import partial

import torch
import torch.nn.functional as F

from svglm.model.transformer import attend

SHAPES = {"demo": (32, 6, 2, 128, 32), "large": (8, 8, 2, 512, 32)}  # B, H, Hkv, T, D


def packed_mask(B: int, T: int, g: torch.Generator) -> torch.Tensor:
    """(B, 1, T, T) causal mask of rows of 20..60 tokens packed back to back."""
    doc = torch.empty(B, T, dtype=torch.long)
    for b in range(B):
        at, row = 0, 0
        while at < T:
            n = int(torch.randint(20, 61, (1,), generator=g))
            doc[b, at : at + n], at, row = row, at + n, row + 1
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    return (causal & (doc[:, :, None] == doc[:, None, :]))[:, None]


def sdpa(q, k, v, mask: torch.Tensor | None, fp32: bool) -> torch.Tensor:
    """PyTorch's attention as a model would call it, optionally on fp32 copies of q, k, v."""
    if fp32:
        q, k, v = q.float(), k.float(), v.float()
    out = F.scaled_dot_product_attention(
        q, k, v, attn_mask=mask, is_causal=mask is None, enable_gqa=True
    )
    return out.to(torch.bfloat16)


def timed(fn: Callable, q, k, v, repeats: int = 4) -> float:
    """Milliseconds per forward and backward."""
    fn(q, k, v).float().sum().backward()  # warm-up
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn(q, k, v).float().sum().backward()
    return (time.perf_counter() - t0) / repeats * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--packed", action="store_true")
    args = ap.parse_args()
    g = torch.Generator().manual_seed(0)
    results = {}
    for name, (B, H, Hkv, T, D) in SHAPES.items():
        mask = packed_mask(B, T, g) if args.packed else None
        ways = {
            "sdpa_bf16": partial(sdpa, mask=mask, fp32=False),
            "sdpa_fp32": partial(sdpa, mask=mask, fp32=True),
            "svglm_attend": partial(attend, mask=mask, scale=None, gqa=True),
        }
        ms: dict[str, list[float]] = {way: [] for way in ways}
        for _ in range(args.rounds):
            for way, fn in ways.items():
                q, k, v = (
                    torch.randn(B, h, T, D, dtype=torch.bfloat16, requires_grad=True)
                    for h in (H, Hkv, Hkv)
                )
                ms[way].append(timed(fn, q, k, v))
        results[name] = {
            "shape": {"batch": B, "heads": H, "kv_heads": Hkv, "tokens": T, "head_dim": D},
            "ms": {way: round(statistics.median(t), 2) for way, t in ms.items()},
        }
    print(
        json.dumps(
            {
                "bench": "attention",
                "packed": args.packed,
                "threads": torch.get_num_threads(),
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
