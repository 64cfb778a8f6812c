"""svglm's sampler in fp32 against bf16 autocast (what the probe and `svglm generate` use on a
bf16 machine), at 1 to 64 rows a batch. Prints one JSON line per width, then a summary.

    .venv/bin/python bench/sample_precision.py [--shape demo|large] [--new 48] [--rounds 3]

The shapes are those of train_throughput.py, with random weights; prompts of 20..40 tokens are
decoded to exactly --new tokens (no stop token), each width over max(4, width) prompts. The two
precisions are interleaved round by round; medians are reported.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from contextlib import nullcontext

import torch
from sample_throughput import random_prompts
from train_throughput import SHAPES, models

from svglm.infer.sampler import Sampling, sample

WIDTHS = (1, 4, 16, 64)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shape", choices=SHAPES, default="demo")
    ap.add_argument("--new", type=int, default=48)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    s = SHAPES[args.shape]
    torch.manual_seed(0)
    model = models(s)[0].eval()  # its peer is not needed here
    prompts = random_prompts(max(WIDTHS), vocab=s["vocab"])
    settings = Sampling(max_tokens=args.new)
    contexts = {"fp32": nullcontext, "bf16": lambda: torch.autocast("cpu", dtype=torch.bfloat16)}
    results = []
    for width in WIDTHS:
        batch = prompts[: max(4, width)]
        times: dict[str, list[float]] = {name: [] for name in contexts}
        for _ in range(args.rounds):
            for name, context in contexts.items():
                with context():
                    t0 = time.perf_counter()
                    sample(model, batch, settings, eos_id=-1, batch_size=width)
                    times[name].append(time.perf_counter() - t0)
        tokens = len(batch) * args.new
        row = {"rows": width} | {
            f"{name}_tok_s": round(tokens / statistics.median(t), 1) for name, t in times.items()
        }
        row["bf16_vs_fp32"] = round(row["bf16_tok_s"] / row["fp32_tok_s"], 3)
        results.append(row)
        print(json.dumps(row), flush=True)
    print(
        json.dumps(
            {
                "bench": "sample_precision",
                "shape": args.shape,
                "threads": torch.get_num_threads(),
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
