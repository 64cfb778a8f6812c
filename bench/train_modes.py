"""Tokens/s and model-FLOPs utilization (MFU) of svglm's own trainer on the demo preset (or on
another run's config and corpus) in each precision and compile mode, against matmul peaks
measured in the same process. Prints one JSON line per mode, then a summary line; these
numbers choose train.precision and train.compile's defaults.

    .venv/bin/python bench/train_modes.py [--steps 60] [--home /tmp/svglm-bench]
        [--run RUN_DIR] [--modes bf16,bf16+compile]

The data, tokenizer and plan are made once (from --run's run.yaml and corpus/ when given);
each mode then trains one `pretrain` stage of --steps steps from the same start. Steady
throughput is the median of the ledger's windowed tokens/s after the first window (which holds
warm-up and, compiled, the compilation); MFU counts 6 FLOPs per parameter per token plus
12 * layers * d_model * seq_len for attention.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from pathlib import Path

import torch
from matmul_peak import peak

from svglm.config import StageConfig, preset
from svglm.files import read_json
from svglm.pipeline import run_steps
from svglm.runs import RunDir, ledger_records
from svglm.train.devices import keep_freed_memory

MODES = ("fp32", "bf16", "fp32+compile", "bf16+compile")


def flops_per_token(params: int, n_layer: int, d_model: int, seq_len: int) -> float:
    return 6 * params + 12 * n_layer * d_model * seq_len


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--home", type=Path, default=Path("/tmp/svglm-bench"))
    ap.add_argument("--run", type=Path, help="a run directory whose config and corpus to use")
    ap.add_argument("--modes", default=",".join(MODES), help=f"some of {', '.join(MODES)}")
    args = ap.parse_args()
    malloc_kept = keep_freed_memory()  # as every svglm command runs
    modes = [m for m in args.modes.split(",") if m]
    if unknown := set(modes) - set(MODES):
        ap.error(f"unknown modes: {', '.join(sorted(unknown))}")
    if args.run and not (args.run / "run.yaml").is_file():
        ap.error(f"{args.run}: no run.yaml (not a run directory)")
    base = RunDir(args.home / "modes-base")
    shutil.rmtree(base.root, ignore_errors=True)
    if args.run:  # its config and imported corpus; data and tokenizer are made again
        base.root.mkdir(parents=True)
        shutil.copy(args.run / "run.yaml", base.root / "run.yaml")
        if (args.run / "corpus").is_dir():
            shutil.copytree(args.run / "corpus", base.root / "corpus")
        cfg = base.config()
        cfg.name = "modes-base"
    else:
        cfg = preset("demo", "modes-base")
    stage = cfg.stages[0]
    cfg.stages = [
        StageConfig(
            name="pretrain",
            tokens=args.steps * stage.batch_size * cfg.model.seq_len,
            lr=stage.lr,
            batch_size=stage.batch_size,
            warmup_steps=5,
        )
    ]
    cfg.train.log_every = 10
    cfg.train.eval_every = cfg.train.checkpoint_every = 10**6  # time the steps, not the evals
    cfg.train.device = "cpu"
    base.write_config(cfg)
    run_steps(base, ("plan",), show_progress=False)
    plan = read_json(base.plan)
    per_token = flops_per_token(
        plan["model"]["params"], cfg.model.n_layer, cfg.model.d_model, cfg.model.seq_len
    )
    tokens = stage.batch_size * cfg.model.seq_len
    peaks = {
        "fp32": peak(cfg.model.d_model, cfg.model.d_ff, tokens, torch.float32)["peak"],
        "bf16": peak(cfg.model.d_model, cfg.model.d_ff, tokens, torch.bfloat16)["peak"],
    }
    results = []
    for mode in modes:
        precision, compiled = mode.split("+")[0], mode.endswith("+compile")
        run = RunDir(args.home / f"modes-{precision}-{'compiled' if compiled else 'eager'}")
        shutil.rmtree(run.root, ignore_errors=True)
        shutil.copytree(base.root, run.root)
        mode_cfg = run.config()
        mode_cfg.name = run.name
        mode_cfg.train.precision, mode_cfg.train.compile = precision, compiled
        run.write_config(mode_cfg)
        t0 = time.perf_counter()
        run_steps(run, ("train",), show_progress=False)
        wall = time.perf_counter() - t0
        windows = [r["tokens_per_s"] for r in ledger_records(run)][1:]
        steady = statistics.median(windows)
        results.append(
            {
                "precision": precision,
                "compile": compiled,
                "steady_tok_s": round(steady),
                "train_wall_s": round(wall, 1),
                "mfu": round(steady * per_token / (peaks[precision] * 1e9), 3),
                "final_loss": read_json(run.train_summary)["final_loss"],
            }
        )
        print(json.dumps({"bench": "train_modes", **results[-1]}), flush=True)
    best = max(results, key=lambda r: r["steady_tok_s"])
    print(
        json.dumps(
            {
                "bench": "train_modes",
                "malloc_kept": malloc_kept,
                "config": str(args.run / "run.yaml") if args.run else "preset demo",
                "steps": args.steps,
                "threads": torch.get_num_threads(),
                "peak_gflops": peaks,
                "flops_per_token": per_token,
                "fastest": {k: best[k] for k in ("precision", "compile", "steady_tok_s")},
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
