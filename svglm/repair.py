"""`svglm repair`: turn what a run misses into a targeted slice of training data, train on it,
and show the probe before and after.

1. Diagnose on the dev split (the split for selection; the held-out probe splits are never
   read): decode dev rows with the serving checkpoint and put each miss in its class.
2. The repair run `NAME-repair` starts from the parent's serving weights (exported into its
   base/), keeps the parent's data config and seed (so the same holdout) and adds
   `data.repair`: new train rows of the families and surfaces the dev misses were in. Its
   train split is the parent's plus that slice, so one `repair` stage trains on the slice
   with the original mixture replayed around it. The data step's QC gate checks the slice
   like any train row: no held-out combination, template or word.
3. The repair run goes through every step; its probe is compared with the parent's: rates per
   split and family, and which misses were fixed, kept or are new.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from svglm.artifacts import ContentPacks, read_artifact
from svglm.config import RepairSlice, RunConfig, StageConfig
from svglm.data.build import read_meta, read_rows
from svglm.errors import ConfigError
from svglm.eval.autopsy import autopsy, compare
from svglm.eval.probe import decode_cases, read_cases
from svglm.export import export_run
from svglm.files import atomic_write_json
from svglm.runs import RunDir
from svglm.tasks import task_for
from svglm.train.architecture import start_from_base
from svglm.train.checkpoint import load_trained
from svglm.train.devices import resolve_device


def dev_cases(run: RunDir, cfg: RunConfig, n: int) -> list[dict[str, Any]]:
    """The first `n` dev rows as probe cases."""
    task = task_for(cfg, run.root)
    cases = []
    for i, (row, meta) in enumerate(zip(read_rows(run, "dev"), read_meta(run, "dev"), strict=True)):
        if i == n:
            break
        at, end = row.index(f" {task.opener}"), row.index(task.closer) + len(task.closer)
        cases.append(
            {
                "id": f"dev-{i:04d}",
                "split": "dev",
                "family": meta["family"],
                "form": meta["form"],
                "surface": meta["surface"],
                "topic": meta["topic"],
                "prompt": row[len("<|bos|> ") : at],
                "expected": row[at + 1 : end],
            }
        )
    return cases


def diagnose(run: RunDir, cfg: RunConfig, n: int) -> dict[str, Any]:
    """The autopsy of `n` dev rows, and the focus it gives: the families and surfaces of the
    misses (with minimal pairs when the task makes them)."""
    cases = dev_cases(run, cfg, n)
    content = read_artifact(run.content, ContentPacks).model_dump()
    model, tok = load_trained(run, cfg, resolve_device(cfg.train.device))
    scored = decode_cases(task_for(cfg, run.root), cases, content, model, tok, cfg)
    misses = [c for c in scored if c["miss_class"]]
    surfaces = [s for s, _ in Counter(c["surface"] for c in misses).most_common()]
    if misses and "pair" in cfg.task.surfaces and "pair" not in surfaces:
        surfaces.append("pair")  # minimal pairs sharpen whatever was confused
    return {
        "schema": "svglm.repair_diagnosis/1",
        "cases": len(scored),
        "autopsy": autopsy(scored),
        "families": dict(Counter(c["family"] for c in misses).most_common()),
        "surfaces": surfaces,
    }


def repair_config(parent: RunConfig, name: str, focus: RepairSlice, tokens: int) -> RunConfig:
    last = parent.stages[-1]
    stage = StageConfig(
        name="repair",
        tokens=tokens,
        lr=last.lr / 2,
        warmup_steps=None,
        batch_size=last.batch_size,
        grad_accum=last.grad_accum,
        loss="target",
    )
    data = parent.data.model_copy(update={"repair": focus})
    return parent.model_copy(update={"name": name, "data": data, "stages": [stage]})


def make_repair_run(
    parent: RunDir, child: RunDir, rows: int | None, tokens: int | None, dev: int, say: Any
) -> dict[str, Any]:
    """Diagnose `parent` and write the repair run `child` (its config and base weights)."""
    cfg = parent.config()
    if cfg.base is not None and cfg.base.format != "hf":
        raise ConfigError("repair starts from a Hugging Face export; this run has a GGUF base")
    say(f"diagnosing {parent.name} on {dev} dev rows")
    diagnosis = diagnose(parent, cfg, dev)
    if not diagnosis["families"]:
        return diagnosis
    # Half as many rows as train: on demo-x0.25, 12,000 beat 4,000 on every probe split.
    rows = rows or max(1, cfg.data.train // 2)
    focus = RepairSlice(families=diagnosis["families"], surfaces=diagnosis["surfaces"], rows=rows)
    budget = tokens or max(s.tokens for s in cfg.stages) // 2
    child_cfg = repair_config(cfg, child.name, focus, budget)
    with tempfile.TemporaryDirectory() as tmp:  # the parent's serving weights, as a base
        weights = export_run(parent, "hf", Path(tmp) / "hf")
        child_cfg = start_from_base(child_cfg, weights, "hf", child)
    child.write_config(child_cfg)
    atomic_write_json(child.root / "repair_diagnosis.json", diagnosis)
    return diagnosis


def before_after(parent: RunDir, child: RunDir) -> dict[str, Any]:
    """Probe rates of the parent and the repair run side by side, and the misses compared."""

    def report(run: RunDir) -> dict[str, Any]:
        return json.loads(run.probe_report.read_text())

    a, b = report(parent), report(child)
    out = {
        "schema": "svglm.repair/1",
        "parent": parent.name,
        "repair": child.name,
        "splits": {
            s: {"before": a["splits"][s]["exact"], "after": b["splits"][s]["exact"]}
            for s in a["splits"]
            if s in b["splits"]
        },
        "hidden_families": {
            f: {"before": r["exact"], "after": b["by_split"]["hidden"]["families"][f]["exact"]}
            for f, r in a["by_split"].get("hidden", {}).get("families", {}).items()
            if f in b["by_split"].get("hidden", {}).get("families", {})
        },
        "misses": compare(read_cases(parent.probe_cases), read_cases(child.probe_cases)),
    }
    atomic_write_json(child.root / "repair.json", out)
    return out
