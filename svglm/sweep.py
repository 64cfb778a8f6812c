"""`svglm sweep SPEC.yaml`: an ablation matrix run cell by cell as ordinary runs.

A spec names a preset (or a run.yaml to start from), settings every cell shares, and axes:

    name: width
    preset: demo
    set: {stages.0.tokens: 300000}
    axes:
      model.d_model: [128, 192]
      seed: [1, 2]

Each cell of the axes' product is the run `NAME-NNN` with those settings (the same keys as
`svglm init --set`). Cells run one after another through the ordinary pipeline, so a sweep that
was stopped resumes where it was: finished cells are skipped step by step and a cell killed in
training resumes from its checkpoint. The ranked table (hidden exact, then renderable, then wall
time) is written as JSON, CSV and Markdown under $SVGLM_HOME/sweeps/NAME/ and shown on the hub.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from svglm.config import apply_overrides, load_config, preset
from svglm.errors import ConfigError
from svglm.files import atomic_write_json, atomic_write_text
from svglm.names import check_name
from svglm.pipeline import STEPS, run_steps
from svglm.report.html import build_hub
from svglm.runs import RunDir, home, list_runs, sweeps_root


class SweepSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    preset: str | None = None
    base: str | None = Field(None, description="a run.yaml to start from instead of a preset")
    set: dict[str, Any] = {}
    axes: dict[str, list[Any]] = Field(min_length=1)


def read_spec(path: Path) -> SweepSpec:
    try:
        spec = SweepSpec.model_validate(yaml.safe_load(path.read_text()))
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"{path}: cannot read it as YAML ({e.__class__.__name__})") from None
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "top level"
        raise ConfigError(f"{path}: {where}: {first['msg']}") from None
    check_name(spec.name, "sweep name")
    if (spec.preset is None) == (spec.base is None):
        raise ConfigError(f"{path}: give exactly one of preset or base")
    if any(not values for values in spec.axes.values()):
        raise ConfigError(f"{path}: every axis needs at least one value")
    return spec


def cells(spec: SweepSpec) -> list[tuple[str, dict[str, Any]]]:
    """(run name, the axes' values) for every cell, in the axes' order."""
    keys = list(spec.axes)
    return [
        (f"{spec.name}-{i:03d}", dict(zip(keys, values, strict=True)))
        for i, values in enumerate(itertools.product(*spec.axes.values()), 1)
    ]


def _assign(settings: dict[str, Any]) -> list[str]:
    return [
        f"{k}={yaml.safe_dump(v, default_flow_style=True).strip()}" for k, v in settings.items()
    ]


def cell_config(spec: SweepSpec, name: str, values: dict[str, Any], spec_dir: Path):
    if spec.preset is not None:
        cfg = preset(spec.preset, name)
    else:
        cfg = load_config(spec_dir / spec.base).model_copy(update={"name": name})
    return apply_overrides(cfg, _assign(spec.set) + _assign(values))


def sweep_dir(name: str) -> Path:
    return sweeps_root(home()) / name


def run_sweep(spec: SweepSpec, spec_dir: Path, say: Callable[[str], None], quiet: bool) -> dict:
    """Run every cell (skipping what is done) and write the ranked results."""
    plan = cells(spec)
    for n, (name, values) in enumerate(plan, 1):
        run = RunDir.named(name)
        cfg = cell_config(spec, name, values, spec_dir)
        if not run.exists() or run.config() != cfg:
            run.write_config(cfg)
        say(f"cell {n}/{len(plan)}: {name} " + " ".join(f"{k}={v}" for k, v in values.items()))
        run_steps(run, STEPS, show_progress=not quiet)
    result = write_results(spec, plan)
    build_hub(home())  # with the ranking
    return result


def ranked(spec: SweepSpec, plan: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    known = {r["name"]: r for r in list_runs()}
    rows = []
    for name, values in plan:
        r = known.get(name, {})
        rows.append(
            {
                "run": name,
                **values,
                "hidden_exact": r.get("hidden_exact"),
                "renderable": r.get("renderable"),
                "wall_s": r.get("wall_s"),
                "params": r.get("params"),
                "tokens": r.get("tokens"),
                "status": r.get("status", "not started"),
            }
        )

    def key(row: dict[str, Any]) -> tuple:
        missing = float("inf")
        return (
            -(row["hidden_exact"] if row["hidden_exact"] is not None else -1),
            -(row["renderable"] if row["renderable"] is not None else -1),
            row["wall_s"] if row["wall_s"] is not None else missing,
        )

    return sorted(rows, key=key)


def write_results(spec: SweepSpec, plan: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    rows = ranked(spec, plan)
    out = sweep_dir(spec.name)
    result = {"schema": "svglm.sweep/1", "name": spec.name, "axes": spec.axes, "ranked": rows}
    atomic_write_json(out / "results.json", result)
    columns = list(rows[0])
    buf = io.StringIO()
    writer = csv.DictWriter(buf, columns)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(out / "results.csv", buf.getvalue())
    md = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    md += [
        "| " + " | ".join("" if r[c] is None else str(r[c]) for c in columns) + " |" for r in rows
    ]
    atomic_write_text(out / "results.md", "\n".join(md) + "\n")
    return result
