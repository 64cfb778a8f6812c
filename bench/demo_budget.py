"""How much training does the demo need? Runs the demo preset at several token budgets and
prints JSON: per budget, training wall time and the probe's exact rate on each split
(visible, hidden combinations, held-out templates, out-of-vocabulary words).

    .venv/bin/python bench/demo_budget.py [--scales 0.25,0.5,1.0] [--home /tmp/svglm-bench]

Each run is a full data -> probe loop in its own directory (minutes per run on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from svglm.config import preset
from svglm.files import read_json
from svglm.pipeline import run_steps
from svglm.runs import RunDir
from svglm.train.devices import keep_freed_memory


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scales", default="0.25,0.5,1.0", help="budget multipliers of the demo")
    ap.add_argument("--home", default="/tmp/svglm-bench", help="where the runs are written")
    args = ap.parse_args()
    malloc_kept = keep_freed_memory()  # as every svglm command runs
    results = []
    for scale in (float(s) for s in args.scales.split(",")):
        cfg = preset("demo", f"demo-x{scale}")
        for stage in cfg.stages:
            stage.tokens = int(stage.tokens * scale)
        run = RunDir(Path(args.home) / cfg.name)
        run.write_config(cfg)
        t0 = time.perf_counter()
        run_steps(run, show_progress=False)
        summary, probe = read_json(run.train_summary), read_json(run.probe_report)
        results.append(
            {
                "scale": scale,
                "tokens": summary["tokens"],
                "train_wall_s": summary["wall_s"],
                "run_wall_s": round(time.perf_counter() - t0, 1),
                "final_loss": summary["final_loss"],
                **{f"{k}_exact": v["exact"] for k, v in probe["splits"].items()},
                "dirty_tail": probe["overall"]["dirty_tail"],
            }
        )
        print(json.dumps(results[-1]), flush=True)
    print(json.dumps({"bench": "demo_budget", "malloc_kept": malloc_kept, "results": results}))


if __name__ == "__main__":
    main()
