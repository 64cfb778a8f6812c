"""report.html for one run and index.html over all runs: static files, readable offline.

Model-made SVG is only ever shown as an <img> with a data URI, never inlined, so it cannot run
script or reach the page. Every other value goes through Jinja's autoescaping.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import math
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from svglm.errors import SvglmError
from svglm.eval.probe import INK_RATES, RATES, read_cases
from svglm.files import atomic_write_text, read_json
from svglm.report.plots import ledger_plot
from svglm.report.terminal import duration, human, rate
from svglm.runs import RunDir, hub_page, ledger_records, list_runs, sweeps_root
from svglm.tokenizer.bpe import SvglmTokenizer

_env = Environment(
    loader=PackageLoader("svglm", "report/templates"), autoescape=select_autoescape(["html"])
)
_env.filters |= {"human": human, "duration": duration, "rate": rate}


def environment() -> Environment:
    """The templates' environment (autoescaping on), for every page svglm writes."""
    return _env


def svg_data_uri(svg: str | None) -> str | None:
    if not svg:
        return None
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode()


def _maybe(path: Path) -> Any:
    """An artifact to show, or None when it is missing or unreadable (the report shows what
    there is; the pipeline is what insists on valid artifacts)."""
    try:
        return read_json(path)
    except (OSError, ValueError):
        return None


def atom_diff(expected: str, got: str) -> list[tuple[str, str]]:
    """(op, atom) for the atoms of two blocks: "eq" shared, "del" only expected, "ins" only
    generated, in reading order."""
    a, b = expected.split(), got.split()
    out: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out += [("eq", t) for t in a[i1:i2]]
        else:
            out += [("del", t) for t in a[i1:i2]] + [("ins", t) for t in b[j1:j2]]
    return out


def coverage_tables(coverage: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Each coverage pair (family x theme, ...) as a matrix of train-row counts, for the
    heatmap: rows, columns, and each cell's count and shade (0..1 of the largest)."""
    if not coverage:
        return []
    tables = []
    for pair, cells in coverage.get("pairs", {}).items():
        split = {tuple(k.split("|", 1)): n for k, n in cells.items() if "|" in k}
        rows = sorted({r for r, _ in split})
        cols = sorted({c for _, c in split})
        top = max(split.values(), default=1) or 1
        tables.append(
            {
                "name": pair.replace("x", " x ", 1),
                "cols": cols,
                "rows": [
                    (r, [(split.get((r, c), 0), split.get((r, c), 0) / top) for c in cols])
                    for r in rows
                ],
            }
        )
    return tables


def tokenized_rows(run: RunDir, n: int = 3) -> list[list[str]]:
    """The first `n` train rows as the tokenizer splits them (what the model reads)."""
    try:
        tok = SvglmTokenizer.load(run.tokenizer_json)
        rows = run.split("train").read_text().splitlines()[:n]
    except (SvglmError, OSError):
        return []
    return [[tok.decode([i]) for i in tok.encode_row(row)] for row in rows]


def report_context(run: RunDir) -> dict[str, Any]:
    ledger = ledger_records(run)
    cases = read_cases(run.probe_cases) if run.probe_cases.exists() else []
    for c in cases:
        c["expected_img"] = svg_data_uri(c["expected_svg"])
        # an exact SVG is the expected one: one image stands for both
        c["svg_img"] = None if c.get("svg_exact") else svg_data_uri(c["svg"])
        c["diff"] = atom_diff(c["expected"], c["parsed_output"] or c["raw_output"])
    failing = [c for c in cases if c["miss_class"]]
    probe = _maybe(run.probe_report)
    groups = {}
    for c in failing:
        groups.setdefault(c["miss_class"], []).append(c)
    try:
        cfg = run.config()
    except SvglmError:
        cfg = None
    return {
        "name": run.name,
        "cfg": cfg,
        "config": run.config_path.read_text(),
        "plan": _maybe(run.plan),
        "summary": _maybe(run.train_summary),
        "qc": _maybe(run.dataset_qc),
        "profile": _maybe(run.dataset_profile),
        "coverage": coverage_tables(_maybe(run.coverage)),
        "roundtrip": _maybe(run.tokenizer_roundtrip),
        "manifest": _maybe(run.tokenizer_manifest),
        "token_rows": tokenized_rows(run),
        "probe": probe,
        "autopsy": _maybe(run.autopsy),
        "dev_loss": next((r["dev_loss"] for r in reversed(ledger) if "dev_loss" in r), None),
        "plot": ledger_plot(ledger),
        "cases": cases,
        "failing": groups,
        "passing": [c for c in cases if not c["miss_class"]],
        "families": sorted({c["family"] for c in cases}),
        "surfaces": sorted({c["surface"] for c in cases}),
        "rate_keys": ["n", *RATES, *(k for k in INK_RATES if probe and k in probe["overall"])],
        "ocr": _maybe(run.probe / "glyph_ocr.json"),
    }


def build_report(run: RunDir) -> Path:
    html = _env.get_template("report.html").render(**report_context(run))
    atomic_write_text(run.report, html)
    return run.report


# The hub's only script: sort the runs table by a clicked column. The page allows exactly this
# script by its hash; nothing on the hub comes from a model.
SORT_SCRIPT = """
const heads = document.querySelectorAll("#runs th[data-key]");
heads.forEach((th, col) => th.addEventListener("click", () => {
  const body = document.querySelector("#runs tbody");
  const down = th.dataset.dir !== "desc";
  th.dataset.dir = down ? "desc" : "asc";
  const value = (tr) => tr.children[col].dataset.value;
  const rows = [...body.rows].sort((a, b) => {
    const x = value(a), y = value(b), nx = parseFloat(x), ny = parseFloat(y);
    const c = isNaN(nx) || isNaN(ny) ? x.localeCompare(y) : nx - ny;
    return down ? -c : c;
  });
  rows.forEach((tr) => body.appendChild(tr));
}));
"""


def loss_chart(curves: dict[str, list[tuple[int, float]]], width: int = 900, height: int = 260):
    """Polylines of loss (log scale) over tokens seen, one per run, in a shared frame."""
    points = [p for c in curves.values() for p in c if p[1] > 0]
    if not points:
        return None
    x_max = max(x for x, _ in points) or 1
    lo, hi = (math.log10(f(y for _, y in points)) for f in (min, max))
    span = (hi - lo) or 1.0

    def xy(x: int, y: float) -> str:
        left = 40 + x / x_max * (width - 50)
        top = 10 + (hi - math.log10(y)) / span * (height - 30)
        return f"{left:.1f},{top:.1f}"

    return {
        "width": width,
        "height": height,
        "lines": {
            name: " ".join(xy(x, y) for x, y in c if y > 0) for name, c in curves.items() if c
        },
        "ticks": [
            (10 + i / 4 * (height - 30), f"{10 ** (hi - i / 4 * span):.3g}") for i in range(5)
        ],
        "x_max": x_max,
    }


def build_hub(root: Path) -> Path:
    runs = [r for r in list_runs(root) if (root / r["name"]).is_dir()]
    curves = {}
    for r in runs:
        run = RunDir(root / r["name"])
        r["has_report"] = run.report.exists()
        curves[r["name"]] = [
            (rec["tokens"], rec["loss"]) for rec in ledger_records(run) if rec.get("loss")
        ]
    sweeps = []
    for path in sorted(sweeps_root(root).glob("*/results.json")):
        if (found := _maybe(path)) is not None:
            sweeps.append(found)
    digest = base64.b64encode(hashlib.sha256(SORT_SCRIPT.encode()).digest()).decode()
    out = hub_page(root)
    html = _env.get_template("hub.html").render(
        runs=runs,
        chart=loss_chart(curves),
        sweeps=sweeps,
        script=SORT_SCRIPT,
        script_hash=f"sha256-{digest}",
        palette=PALETTE,
    )
    atomic_write_text(out, html)
    return out


PALETTE = ["#0969da", "#cf222e", "#1a7f37", "#8250df", "#bf8700", "#1b7c83", "#e16f24", "#57606a"]
