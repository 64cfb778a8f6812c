"""`svglm data import-svg`: SVG files as canonical raw-SVG records, one document per row.

Each file is canonicalized (svglm/dsl/rawsvg.py) and then proven unchanged: the original and
the canonical text are both rendered by resvg and their ink must agree (IoU >= `min_iou`),
or the file is skipped with the IoU it reached. Exact duplicates (the same canonical text) and
near duplicates (the same ink at 32 px) are dropped, and so is a row longer than `max_chars`.
Every record is named from its file (`arrow-left.svg` -> `arrow_left`), made unique.
"""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from svglm.data.importing import (
    Outcome,
    Source,
    collect,
    default_workers,
    run_workers,
    write_corpus,
)
from svglm.dsl.rawsvg import DEFAULT_GRID, canonical_svg
from svglm.errors import DataError, DSLError
from svglm.render import ink, ink_iou

SVG_SUFFIXES = (".svg",)
RENDER, NEAR = 128, 32  # render size of the IoU check, and of the near-duplicate fingerprint


def icon_name(filename: str) -> str:
    """An atom value from a file name: `Arrow-Left@2x.svg` -> `arrow_left_2x`."""
    stem = Path(filename.split("!")[-1]).stem.lower()
    return re.sub(r"[^a-z0-9]+", "_", stem).strip("_") or "icon"


def svg_record(source: Source, grid: float, min_iou: float, max_chars: int) -> Outcome:
    out = Outcome(source.name)
    try:
        text = canonical_svg(source.data, grid)
    except DSLError as e:
        out.skipped.append(f"{source.name}: {e}")
        return out
    if len(text) > max_chars:
        out.skipped.append(f"{source.name}: longer than {max_chars} characters ({len(text)})")
        return out
    original = source.data.decode("utf-8", errors="replace")
    iou = ink_iou(text, original, RENDER)
    if iou < min_iou:
        out.skipped.append(f"{source.name}: draws differently once canonical (IoU {iou:.3f})")
        return out
    fingerprint = np.packbits(ink(text, NEAR)).tobytes().hex()
    out.records.append(
        {
            "name": icon_name(source.name),
            "file": source.name,
            "svg": text,
            "iou": round(iou, 4),
            "ink": fingerprint,
        }
    )
    return out


def import_svgs(
    paths: list[str],
    out: Path,
    grid: float = DEFAULT_GRID,
    min_iou: float = 0.99,
    max_chars: int = 2000,
    workers: int | None = None,
    quiet: bool = False,
) -> dict[str, Any]:
    """Import every SVG under `paths` into the corpus folder `out`; returns its QC record."""
    if not 0 < grid <= 1:
        raise DataError("--grid is a step in viewBox units, above 0 and at most 1")
    sources, skipped = collect(paths, SVG_SUFFIXES)
    if not sources:
        raise DataError(f"no .svg files under {', '.join(paths)}")
    outcomes = run_workers(
        partial(svg_record, grid=grid, min_iou=min_iou, max_chars=max_chars),
        sources,
        workers or default_workers(),
        "import-svg",
        quiet,
    )
    records: list[dict[str, Any]] = []
    by_text: dict[str, str] = {}
    by_ink: dict[str, str] = {}
    names: set[str] = set()
    for o in outcomes:
        skipped += o.skipped
        for r in o.records:
            if r["svg"] in by_text:
                skipped.append(f"{r['file']}: duplicate (of {by_text[r['svg']]})")
                continue
            if r["ink"] in by_ink:
                skipped.append(f"{r['file']}: near duplicate (of {by_ink[r['ink']]})")
                continue
            by_text[r["svg"]] = by_ink[r.pop("ink")] = r["file"]
            name, n = r["name"], 2
            while r["name"] in names:  # two files may map to one name
                r["name"], n = f"{name}_{n}", n + 1
            names.add(r["name"])
            records.append(r)
    ious = sorted(r["iou"] for r in records)
    summary = {
        "files": len(sources),
        "grid": grid,
        "min_iou": min_iou,
        "max_chars": max_chars,
        "iou_min": ious[0] if ious else None,
        "iou_mean": round(sum(ious) / len(ious), 4) if ious else None,
        "chars_mean": round(sum(len(r["svg"]) for r in records) / len(records), 1)
        if records
        else 0,
    }
    return write_corpus(out, "svg", records, skipped, summary)
