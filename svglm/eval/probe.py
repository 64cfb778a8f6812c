"""The probe runner: decode every contract case, score it on every DESIGN §4 field, aggregate.

Writes probe/probe_report.json (fixed aggregate shape), probe/cases.jsonl (every case with its
raw output and both SVGs) and probe/autopsy.json. Free decoding is the contract; decoding under
the task's grammar is reported beside it (`constrained` in the report and the autopsy,
probe/cases_constrained.jsonl), so a report shows what the grammar fixes and what it cannot.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from svglm.artifacts import ContentPacks, ProbeContract, read_artifact
from svglm.config import RunConfig
from svglm.data.build import read_rows
from svglm.errors import ArtifactError, DataError, DSLError
from svglm.eval.autopsy import autopsy, classify
from svglm.files import atomic_write_json, atomic_write_text
from svglm.infer.grammar import GrammarConstraint
from svglm.infer.sampler import Sampling, sample
from svglm.model.transformer import Decoder
from svglm.render import ink_iou, is_renderable, is_valid_svg
from svglm.runs import ProbeFiles, RunDir
from svglm.tasks import task_for
from svglm.tasks.base import Task
from svglm.tokenizer.bpe import SvglmTokenizer
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
INK_RATES = ("closed", "render_iou", "memorized")


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
    if task.scores_ink:
        out["closed"] = block is not None and task.closed(block)
        out["render_iou"] = (
            round(ink_iou(out["svg"], out["expected_svg"]), 4) if out["renderable"] else 0.0
        )
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
    for key in INK_RATES:  # the mean, for cases of the tasks that score ink
        if n and all(key in c for c in cases):
            agg[key] = round(sum(float(c[key]) for c in cases) / n, 4)
    return agg


def mark_memorized(cases: list[dict[str, Any]], train_targets: set[str]) -> None:
    """`memorized`: the case's valid output is, byte for byte, the target of a train row."""
    for c in cases:
        c["memorized"] = c["valid"] and c["parsed_output"] in train_targets


def train_targets(run: RunDir, task: Task) -> set[str]:
    rows = read_rows(run, "train")
    return {block for r in rows if (block := extract_block(r, task.opener, task.closer)[0])}


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


def read_cases(path: Path) -> list[dict[str, Any]]:
    """The scored cases a probe wrote (cases.jsonl or cases_constrained.jsonl)."""
    try:
        return [json.loads(line) for line in path.read_text().splitlines()]
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        raise ArtifactError(f"{path}: missing or not JSON lines; probe again") from None


def read_prompt_set(path: Path, task: Task) -> list[dict[str, Any]]:
    """A user's own probe set: JSON lines of {"prompt", "expected"} (optional "id", "split",
    "surface"); family, form and topic come from the expected block, which must parse."""
    cases = []
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot read it ({e.__class__.__name__})") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            prompt, expected = str(row["prompt"]), task.canonical(str(row["expected"]))
        except (json.JSONDecodeError, TypeError, KeyError):
            raise DataError(
                f'{path}:{n}: expected a JSON object with "prompt" and "expected"'
            ) from None
        except DSLError as e:
            raise DataError(f"{path}:{n}: expected: {e}") from None
        cases.append(
            {
                "id": str(row.get("id", f"{path.stem}-{n}")),
                "split": str(row.get("split", "custom")),
                "surface": str(row.get("surface", "custom")),
                "prompt": task.prompt(prompt),
                "expected": expected,
                **task.labels(expected),
            }
        )
    if not cases:
        raise DataError(f"{path}: no cases (one JSON object per line)")
    return cases


def decode_cases(
    task: Task,
    cases: list[dict[str, Any]],
    content: dict[str, Any],
    model: Decoder,
    tok: SvglmTokenizer,
    cfg: RunConfig,
    constraint: GrammarConstraint | None = None,
) -> list[dict[str, Any]]:
    """Greedy-decode every case (under the grammar when given) and score it."""
    device = next(model.parameters()).device
    precision = resolve_precision(cfg.train.precision, device)
    close_id = tok.encode(" " + task.closer)[0] if cfg.probe.stop_at_close else None
    with autocast(device, precision):
        gens = sample(
            model,
            [tok.encode_prompt(c["prompt"]) for c in cases],
            Sampling(max_tokens=cfg.probe.max_tokens),
            tok.eos_id,
            tok.pad_id,
            close_id,
            cfg.probe.batch_size,
            constraint,
        )
    return [
        score_case(task, c, tok.decode(g.ids).strip(), g.stop, content)
        for c, g in zip(cases, gens, strict=True)
    ]


def run_probe(
    run: RunDir,
    cfg: RunConfig,
    cases: list[dict[str, Any]] | None = None,
    files: ProbeFiles | None = None,
    constrained: bool | None = None,
) -> dict[str, Any]:
    """Probe the serving checkpoint on the run's contract (or on `cases`, a user's own set),
    decoding freely and, when `constrained` (default: probe.constrained), under the task's
    grammar too; write the report, the cases and the autopsy to `files` (default probe/)."""
    task = task_for(cfg, run.root)
    if cases is None:
        cases = [c.model_dump() for c in read_artifact(run.probe_contract, ProbeContract).cases]
    files = files or run.probe_files
    content = read_artifact(run.content, ContentPacks).model_dump()
    device = resolve_device(cfg.train.device)
    model, tok = load_trained(run, cfg, device)
    free = decode_cases(task, cases, content, model, tok, cfg)
    seen = train_targets(run, task) if task.scores_ink else set()
    if task.scores_ink:
        mark_memorized(free, seen)
    decoding = {
        "constrained": False,
        "greedy": True,
        "device": str(device),
        "precision": resolve_precision(cfg.train.precision, device),
        "max_tokens": cfg.probe.max_tokens,
        "stop_at_close": cfg.probe.stop_at_close,
    }
    report = {
        **aggregate(free, run.name, decoding),
        "checkpoint": serving_record(run, cfg).name,
        "cases_file": files.cases.name,
    }
    misses = autopsy(free)
    atomic_write_text(files.cases, "".join(json.dumps(c) + "\n" for c in free))
    if cfg.probe.constrained if constrained is None else constrained:
        grammar = GrammarConstraint(task.grammar(), tok, model.cfg.vocab_size)
        held = decode_cases(task, cases, content, model, tok, cfg, grammar)
        if task.scores_ink:
            mark_memorized(held, seen)
        side = aggregate(held, run.name, decoding | {"constrained": True})
        report["constrained"] = {k: v for k, v in side.items() if k not in ("schema", "run")}
        report["constrained"]["cases_file"] = files.cases_constrained.name
        misses["constrained"] = autopsy(held)
        atomic_write_text(files.cases_constrained, "".join(json.dumps(c) + "\n" for c in held))
    else:
        files.cases_constrained.unlink(missing_ok=True)  # never a stale side beside a new one
    atomic_write_json(files.autopsy, misses)
    atomic_write_json(files.report, report)
    if files.root == run.probe:
        run.glyph_ocr.unlink(missing_ok=True)  # it judged the outputs of the probe before
    return report
