"""The data step: generate rows, write the split files, the probe contract and the QC artifacts."""

from __future__ import annotations

import random
from typing import Any

from svglm.config import RunConfig
from svglm.data.qc import coverage, profile, quality_checks
from svglm.runs import RunDir, atomic_write_json, atomic_write_text
from svglm.tasks import get_task
from svglm.tasks.base import Example, Task

SPLITS = ("train", "dev", "test", "holdout")


class DataGateError(RuntimeError):
    """The dataset failed QC or coverage; the run stops before training a tokenizer."""


def task_for(cfg: RunConfig) -> Task:
    t = cfg.task
    return get_task(
        t.name,
        level=t.level,
        families=t.families,
        surfaces=t.surfaces,
        holdout_fraction=t.holdout_fraction,
    )


def _cases(rows: list[Example], n: int, split: str, rng: random.Random) -> list[dict[str, Any]]:
    picked = rng.sample(range(len(rows)), n)
    return [
        {
            "id": f"{split}-{i:03d}",
            "split": split,
            "family": rows[j].family,
            "form": rows[j].form,
            "surface": rows[j].surface,
            "prompt": rows[j].prompt,
            "expected": rows[j].target,
        }
        for i, j in enumerate(sorted(picked))
    ]


def build_dataset(run: RunDir, cfg: RunConfig) -> dict[str, Any]:
    task = task_for(cfg)
    sizes = {s: getattr(cfg.data, s) for s in SPLITS}
    data = task.generate(cfg.seed, sizes)
    out = run.dataset
    for split in SPLITS:
        atomic_write_text(
            out / f"{split}.txt", "".join(ex.row() + "\n" for ex in data.splits[split])
        )
    rng = random.Random(cfg.seed + 1)
    contract = {
        "schema": "svglm.probe_contract/1",
        "task": task.name,
        "cases": _cases(data.splits["test"], cfg.data.probe_visible, "visible", rng)
        + _cases(data.splits["holdout"], cfg.data.probe_hidden, "hidden", rng),
    }
    atomic_write_json(out / "probe_contract.json", contract)
    atomic_write_json(out / "content.json", data.content)

    checks = quality_checks(task, data)
    cov = coverage(task, data.splits["train"], cfg.data.min_coverage)
    checks.append(
        {
            "name": "coverage",
            "status": cov["verdict"],
            "detail": f"below minimum: {cov['below_minimum'][:5]}"
            if cov["below_minimum"]
            else f"every value has >= {cov['minimum']} train rows",
        }
    )
    verdict = "PASS" if all(c["status"] == "PASS" for c in checks) else "FAIL"
    qc = {"schema": "svglm.dataset_qc/1", "verdict": verdict, "checks": checks}
    atomic_write_json(out / "dataset_qc.json", qc)
    atomic_write_json(out / "coverage.json", cov)
    atomic_write_json(out / "dataset_profile.json", profile(data))
    if verdict == "FAIL":
        failed = next(c for c in checks if c["status"] == "FAIL")
        raise DataGateError(f"dataset QC failed: {failed['name']}: {failed['detail']}")
    return qc


def read_rows(run: RunDir, split: str) -> list[str]:
    return run.dataset.joinpath(f"{split}.txt").read_text().splitlines()
