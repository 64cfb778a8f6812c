"""The probe runner: decode every contract case, score it on every DESIGN §4 field, aggregate.

Writes probe/probe_report.json (fixed aggregate shape), probe/cases.jsonl (every case with its
raw output and both SVGs) and probe/autopsy.json.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from svglm.artifacts import ContentPacks, ProbeContract, read_artifact
from svglm.config import RunConfig
from svglm.errors import DSLError
from svglm.eval.autopsy import autopsy, classify
from svglm.eval.render import is_renderable, is_valid_svg
from svglm.files import atomic_write_json, atomic_write_text
from svglm.infer.sampler import Sampling, sample
from svglm.runs import RunDir
from svglm.tasks import task_for
from svglm.tasks.base import Task
from svglm.train.checkpoint import load_trained, serving_record
from svglm.train.devices import autocast, resolve_device, resolve_precision

RATES = (
    "exact",
    "materialized_exact",
    "svg_exact",
    "valid",
    "valid_svg",
    "renderable",
    "dirty_tail",
    "budget_truncated",
)


def extract_block(raw: str, opener: str, closer: str) -> tuple[str | None, str]:
    """The first complete target block and the text after it (the tail)."""
    start = raw.find(opener)
    end = raw.find(closer, start) if start >= 0 else -1
    if end < 0:
        return None, ""
    end += len(closer)
    return raw[start:end], raw[end:].strip()


def score_case(
    task: Task, case: dict[str, Any], raw: str, stop: str, content: dict[str, Any]
) -> dict[str, Any]:
    block, tail = extract_block(raw, task.opener, task.closer)
    out = {
        **case,
        "raw_output": raw,
        "parsed_output": "",
        "tail_text": tail,
        "stopped": stop in ("eos", "close"),
        "budget_truncated": block is None and stop == "budget",
        "valid": False,
        "exact": False,
        "materialized_exact": False,
        "svg_exact": False,
        "valid_svg": False,
        "renderable": False,
        "svg": None,
    }
    out["expected_svg"] = task.compile_svg(case["expected"], content)
    if block is not None:
        try:
            out["parsed_output"] = task.canonical(block)
            out["valid"] = True
        except DSLError as e:
            out["parsed_output"], out["parse_error"] = block, str(e)
    if out["valid"]:
        parsed = out["parsed_output"]
        out["exact"] = parsed == task.canonical(case["expected"])
        out["materialized_exact"] = task.materialize(parsed) == task.materialize(case["expected"])
        try:
            out["svg"] = task.compile_svg(parsed, content)
        except (DSLError, KeyError) as e:  # e.g. a family with no content pack in this run
            out["compile_error"] = str(e)
    if out["svg"] is not None:
        out["svg_exact"] = out["svg"] == out["expected_svg"]
        out["valid_svg"] = is_valid_svg(out["svg"])
        out["renderable"] = out["valid_svg"] and is_renderable(out["svg"])
    out["miss_class"] = classify(out, task)
    return out


def rates(cases: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(cases)
    agg: dict[str, Any] = {"n": n}
    for key in RATES:
        if key == "dirty_tail":
            hits = sum(1 for c in cases if c["tail_text"])
        else:
            hits = sum(1 for c in cases if c[key])
        agg[key] = round(hits / n, 4) if n else 0.0
    return agg


def aggregate(
    cases: list[dict[str, Any]], run_name: str, decoding: dict[str, Any]
) -> dict[str, Any]:
    """Rates overall and per split, family, form and surface; and, because a held-out kind
    (hidden combinations, unseen templates, unseen words) can fail in one family or surface
    only, per family and per surface within each split."""

    def by(key: Any, members: list[dict[str, Any]]) -> dict[str, Any]:
        grouped = defaultdict(list)
        for c in members:
            grouped[key(c)].append(c)
        return {k: rates(v) for k, v in sorted(grouped.items())}

    splits = sorted({c["split"] for c in cases})
    return {
        "schema": "svglm.probe_report/1",
        "run": run_name,
        "decoding": decoding,
        "overall": rates(cases),
        "splits": by(lambda c: c["split"], cases),
        "families": by(lambda c: c["family"], cases),
        "forms": by(lambda c: f"{c['family']}/{c['form']}", cases),
        "surfaces": by(lambda c: c["surface"], cases),
        "by_split": {
            split: {
                "families": by(lambda c: c["family"], members),
                "surfaces": by(lambda c: c["surface"], members),
            }
            for split in splits
            for members in [[c for c in cases if c["split"] == split]]
        },
    }


def run_probe(run: RunDir, cfg: RunConfig) -> dict[str, Any]:
    task = task_for(cfg)
    contract = [c.model_dump() for c in read_artifact(run.probe_contract, ProbeContract).cases]
    content = read_artifact(run.content, ContentPacks).model_dump()
    device = resolve_device(cfg.train.device)
    precision = resolve_precision(cfg.train.precision, device)
    model, tok = load_trained(run, cfg, device)
    close_id = tok.encode(" " + task.closer)[0] if cfg.probe.stop_at_close else None
    with autocast(device, precision):
        gens = sample(
            model,
            [tok.encode_prompt(c["prompt"]) for c in contract],
            Sampling(max_tokens=cfg.probe.max_tokens),
            tok.eos_id,
            tok.pad_id,
            close_id,
            cfg.probe.batch_size,
        )
    cases = [
        score_case(task, c, tok.decode(g.ids).strip(), g.stop, content)
        for c, g in zip(contract, gens, strict=True)
    ]
    decoding = {
        "constrained": False,
        "greedy": True,
        "device": str(device),
        "precision": precision,
        "max_tokens": cfg.probe.max_tokens,
        "stop_at_close": cfg.probe.stop_at_close,
    }
    report = {
        **aggregate(cases, run.name, decoding),
        "checkpoint": serving_record(run, cfg).name,
        "cases_file": run.probe_cases.name,
    }
    atomic_write_text(run.probe_cases, "".join(json.dumps(c) + "\n" for c in cases))
    atomic_write_json(run.autopsy, autopsy(cases))
    atomic_write_json(run.probe_report, report)
    return report
