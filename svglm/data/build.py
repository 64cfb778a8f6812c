"""The data step: generate rows, write the split files, the probe contract and the QC artifacts."""

from __future__ import annotations

import random
from typing import Any

from svglm.checks import check, failures, gate
from svglm.config import RunConfig
from svglm.data.qc import coverage, profile, quality_checks
from svglm.errors import DataError
from svglm.files import atomic_write_json, atomic_write_text
from svglm.runs import SPLITS, RunDir
from svglm.tasks import task_for
from svglm.tasks.base import Example


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
    data = task.generate(cfg.seed, {s: getattr(cfg.data, s) for s in SPLITS})
    for split in SPLITS:
        rows = "".join(ex.row() + "\n" for ex in data.splits[split])
        atomic_write_text(run.split(split), rows)
    # A seed of its own, so that changing the probe sizes leaves the rows untouched.
    rng = random.Random(cfg.seed + 1)
    contract = {
        "schema": "svglm.probe_contract/1",
        "task": task.name,
        "cases": _cases(data.splits["test"], cfg.data.probe_visible, "visible", rng)
        + _cases(data.splits["holdout"], cfg.data.probe_hidden, "hidden", rng),
    }
    atomic_write_json(run.probe_contract, contract)
    atomic_write_json(run.content, data.content)

    cov = coverage(task, data.splits["train"], cfg.data.min_coverage)
    low = cov["below_minimum"]
    checks = quality_checks(task, data) + [
        check(
            "coverage",
            not low,
            f"below minimum: {low[:5]}"
            if low
            else f"every value has >= {cov['minimum']} train rows",
        )
    ]
    qc = gate("svglm.dataset_qc/1", checks)
    atomic_write_json(run.dataset_qc, qc)
    atomic_write_json(run.coverage, cov)
    atomic_write_json(run.dataset_profile, profile(data))
    if qc["verdict"] == "FAIL":
        raise DataError(f"dataset QC failed: {failures(checks)[0]}")
    return qc


def read_rows(run: RunDir, split: str) -> list[str]:
    return run.split(split).read_text().splitlines()
