"""The matmul peak of this machine in fp32 and bf16, at the matrix shapes a small decoder
multiplies: the denominator of model-FLOPs utilization (MFU). Prints one JSON line.

    .venv/bin/python bench/matmul_peak.py [--d-model 192] [--d-ff 512] [--tokens 4096]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch


def gflops(m: int, k: int, n: int, dtype: torch.dtype, rounds: int = 5) -> float:
    """Median GFLOP/s of an (m x k) @ (k x n) product over several timed rounds."""
    a, b = torch.randn(m, k, dtype=dtype), torch.randn(k, n, dtype=dtype)
    a @ b  # warm up
    reps = max(1, int(2e9 / (2 * m * k * n)))  # about two GFLOP a round
    timings = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(reps):
            a @ b
        timings.append(time.perf_counter() - t0)
    return 2 * m * k * n * reps / statistics.median(timings) / 1e9


def peak(d_model: int, d_ff: int, tokens: int, dtype: torch.dtype) -> dict[str, float]:
    """GFLOP/s at the decoder's projection and MLP shapes; the peak is the best of them."""
    shapes = {
        "qkv_out": (tokens, d_model, d_model),
        "mlp_up": (tokens, d_model, d_ff),
        "mlp_down": (tokens, d_ff, d_model),
    }
    found = {name: round(gflops(*shape, dtype), 1) for name, shape in shapes.items()}
    return {**found, "peak": max(found.values())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--d-model", type=int, default=192)
    ap.add_argument("--d-ff", type=int, default=512)
    ap.add_argument("--tokens", type=int, default=4096, help="rows of the activation matrix")
    args = ap.parse_args()
    out = {
        "bench": "matmul_peak",
        "threads": torch.get_num_threads(),
        "fp32": peak(args.d_model, args.d_ff, args.tokens, torch.float32),
        "bf16": peak(args.d_model, args.d_ff, args.tokens, torch.bfloat16),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
