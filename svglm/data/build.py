"""The data step: generate rows, write the split files with their meta, the probe contract and
the QC and coverage gates."""

from __future__ import annotations

import json
import random
from typing import Any, TypeVar

from svglm.checks import failures, gate
from svglm.config import RepairSlice, RunConfig
from svglm.data.qc import coverage, profile, quality_checks
from svglm.errors import ArtifactError, DataError
from svglm.files import atomic_write_json, atomic_write_text
from svglm.runs import SPLITS, RunDir
from svglm.tasks import task_for
from svglm.tasks.base import Example, GeneratedData, Task

T = TypeVar("T")

# Probe case groups: the cases' split name, the rows they come from, how many the config asks.
PROBES = (
    ("visible", "test", "", "probe_visible"),
    ("hidden", "holdout", "combo", "probe_hidden"),
    ("templates", "holdout", "template", "probe_templates"),
    ("oov", "holdout", "oov", "probe_oov"),
)


def _cases(rows: list[Example], n: int, split: str, rng: random.Random) -> list[dict[str, Any]]:
    """`n` probe cases from `rows`, spread evenly over the families (round robin), so that
    every family's rate rests on about as many cases."""
    by_family: dict[str, list[int]] = {}
    for j, ex in enumerate(rows):
        by_family.setdefault(ex.family, []).append(j)
    queues = [rng.sample(idx, len(idx)) for _, idx in sorted(by_family.items())]
    picked: list[int] = []
    while len(picked) < n:
        picked += [q.pop() for q in queues if q][: n - len(picked)]
    return [
        {
            "id": f"{split}-{i:03d}",
            "split": split,
            "family": rows[j].family,
            "form": rows[j].form,
            "surface": rows[j].surface,
            "topic": rows[j].topic,
            "prompt": rows[j].prompt,
            "expected": rows[j].target,
        }
        for i, j in enumerate(sorted(picked))
    ]


def stage_surfaces(cfg: RunConfig) -> dict[str, list[str]]:
    """The surfaces each stage declares it trains on (the curriculum's blueprint)."""
    every = list(cfg.task.surfaces)
    return {f"stages[{i}] ({s.name})": s.surfaces or every for i, s in enumerate(cfg.stages)}


def build_dataset(run: RunDir, cfg: RunConfig) -> dict[str, Any]:
    task = task_for(cfg, run.root)
    sizes = {s: getattr(cfg.data, s) for s in (*SPLITS, "templates", "oov")}
    data = task.generate(cfg.seed, sizes)
    if cfg.data.repair is not None:
        data.splits["train"] += repair_rows(task, cfg.seed, sizes, data, cfg.data.repair)
    for split in SPLITS:
        rows = data.splits[split]
        atomic_write_text(run.split(split), "".join(ex.row() + "\n" for ex in rows))
        meta = "".join(json.dumps(ex.meta()) + "\n" for ex in rows)
        atomic_write_text(run.split_meta(split), meta)
    # A seed of its own, so that changing the probe sizes leaves the rows untouched.
    rng = random.Random(cfg.seed + 1)
    cases = []
    for name, split, held, size in PROBES:
        pool = [ex for ex in data.splits[split] if ex.heldout == held]
        cases += _cases(pool, min(getattr(cfg.data, size), len(pool)), name, rng)
    contract = {"schema": "svglm.probe_contract/1", "task": task.name, "cases": cases}
    atomic_write_json(run.probe_contract, contract)
    atomic_write_json(run.content, data.content)

    cov = coverage(
        task, data, stage_surfaces(cfg), cfg.data.min_coverage, cfg.data.min_pair_coverage
    )
    checks = quality_checks(task, data) + cov.pop("checks")
    qc = gate("svglm.dataset_qc/1", checks)
    atomic_write_json(run.dataset_qc, qc)
    atomic_write_json(run.coverage, cov)
    atomic_write_json(run.dataset_profile, profile(data))
    if qc["verdict"] == "FAIL":
        raise DataError(f"dataset QC failed: {failures(checks)[0]}")
    return qc


def repair_rows(
    task: Task, seed: int, sizes: dict[str, int], data: GeneratedData, focus: RepairSlice
) -> list[Example]:
    """`focus.rows` new train rows of the focus surfaces, shared out over the focus families
    in proportion to their misses. The task makes them as it makes train rows, by generating
    with the same seed (so the same holdout) and a larger train split, and taking rows past
    the original ones; none repeats a row of any split."""
    taken = {ex.row() for rows in data.splits.values() for ex in rows}
    quota = _shares(focus.families, focus.rows)
    extra = 4 * focus.rows
    while True:
        more = task.generate(seed, sizes | {"train": sizes["train"] + extra}).splits["train"]
        picked: dict[str, list[Example]] = {f: [] for f in quota}
        for ex in more[sizes["train"] :]:
            wanted = ex.family in quota and len(picked[ex.family]) < quota[ex.family]
            if wanted and ex.surface in focus.surfaces and ex.row() not in taken:
                picked[ex.family].append(ex)
        short = {f: quota[f] - len(rows) for f, rows in picked.items() if len(rows) < quota[f]}
        if not short or extra >= 64 * focus.rows:
            break
        extra *= 2
    if short:
        raise DataError(f"data.repair: too few new rows of {short} in {focus.surfaces}")
    return [ex for f in quota for ex in picked[f]]


def _shares(weights: dict[str, int], total: int) -> dict[str, int]:
    """`total` split in proportion to `weights` by largest remainders, each key at least 1."""
    whole = sum(weights.values())
    exact = {k: total * w / whole for k, w in weights.items()}
    out = {k: max(1, int(v)) for k, v in exact.items()}
    for k in sorted(exact, key=lambda k: exact[k] - int(exact[k]), reverse=True):
        if sum(out.values()) >= total:
            break
        out[k] += 1
    return out


def read_rows(run: RunDir, split: str) -> list[str]:
    """A split's rows, one string each."""
    return run.split(split).read_text().splitlines()


def read_meta(run: RunDir, split: str) -> list[dict[str, Any]]:
    """What each row of a split is (its surface, family, topic...), in row order."""
    lines = run.split_meta(split).read_text().splitlines()
    rows = sum(1 for _ in run.split(split).open())
    if len(lines) != rows:
        raise ArtifactError(f"{run.split_meta(split)}: {len(lines)} lines for {rows} rows")
    return [json.loads(line) for line in lines]


def of_surfaces(items: list[T], meta: list[dict[str, Any]], surfaces: list[str] | None) -> list[T]:
    """The items (rows, encoded rows) whose row is of one of `surfaces`; all when None."""
    if surfaces is None:
        return list(items)
    return [item for item, m in zip(items, meta, strict=True) if m["surface"] in surfaces]
