"""Wall time of a trained run's probe suite, and its decoding against `transformers`
generate() on the same cases. Prints one JSON line.

    .venv/bin/python bench/probe_wall.py RUN [--rounds 3]

The probe runs as `svglm probe` runs it (free decoding, then under the grammar when
probe.constrained), writing to a scratch folder so the run's own probe/ is untouched. The
peer decodes the same prompts with generate() on the same weights (reference_model), greedy,
the same batch size, budget and stop token, left-padded with an attention mask. Rounds are
interleaved; medians are reported.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch
from sample_throughput import hf_generate

from svglm.artifacts import ProbeContract, read_artifact
from svglm.errors import SvglmError
from svglm.eval.probe import run_probe
from svglm.infer.sampler import Sampling, sample
from svglm.model.hf import reference_model
from svglm.runs import ProbeFiles, RunDir
from svglm.train.checkpoint import load_trained
from svglm.train.devices import keep_freed_memory


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", help="a trained run's name under $SVGLM_HOME")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    malloc_kept = keep_freed_memory()  # as every svglm command runs
    try:
        run = RunDir.named(args.run)
        cfg = run.config()
        cases = read_artifact(run.probe_contract, ProbeContract).cases
    except SvglmError as e:  # no such run, or not yet planned: one line, exit 2
        ap.error(str(e))
    model, tok = load_trained(run, cfg, torch.device("cpu"))
    hf = reference_model(model)
    prompts = [tok.encode_prompt(c.prompt) for c in cases]  # as the probe encodes them
    budget, batch = cfg.probe.max_tokens, cfg.probe.batch_size
    times: dict[str, list[float]] = {"probe": [], "ours_decode": [], "hf_decode": []}
    with tempfile.TemporaryDirectory() as scratch, torch.inference_mode():
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            run_probe(run, cfg, files=ProbeFiles(Path(scratch)))
            times["probe"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            sample(model, prompts, Sampling(max_tokens=budget), tok.eos_id, tok.pad_id, None, batch)
            times["ours_decode"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            hf_generate(hf, prompts, batch, budget, False, eos=tok.eos_id, pad=tok.pad_id)
            times["hf_decode"].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        json.dumps(
            {
                "bench": "probe_wall",
                "malloc_kept": malloc_kept,
                "run": run.name,
                "task": cfg.task.name,
                "cases": len(cases),
                "constrained_too": cfg.probe.constrained,
                "max_tokens": budget,
                "batch_size": batch,
                "threads": torch.get_num_threads(),
                "probe_wall_s": round(med["probe"], 2),
                "ours_decode_s": round(med["ours_decode"], 2),
                "hf_decode_s": round(med["hf_decode"], 2),
                "ratio_vs_hf": round(med["hf_decode"] / med["ours_decode"], 3),
            }
        )
    )


if __name__ == "__main__":
    main()
