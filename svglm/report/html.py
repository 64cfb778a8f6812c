"""report.html for one run and index.html over all runs: static files, readable offline.

Model-made SVG is only ever shown as an <img> with a data URI, never inlined, so it cannot run
script or reach the page. Every other value goes through Jinja's autoescaping.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from svglm.eval.probe import RATES
from svglm.files import atomic_write_text, read_json
from svglm.report.plots import ledger_plot
from svglm.runs import RunDir, hub_page, ledger_records, list_runs

_env = Environment(
    loader=PackageLoader("svglm", "report/templates"), autoescape=select_autoescape(["html"])
)


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


def report_context(run: RunDir) -> dict[str, Any]:
    ledger = ledger_records(run)
    cases = []
    if run.probe_cases.exists():
        for line in run.probe_cases.read_text().splitlines():
            c = json.loads(line)
            c["expected_img"], c["svg_img"] = (
                svg_data_uri(c["expected_svg"]),
                svg_data_uri(c["svg"]),
            )
            cases.append(c)
    cases.sort(key=lambda c: c["miss_class"] is None)  # failures first, each group in order
    return {
        "name": run.name,
        "config": run.config_path.read_text(),
        "plan": _maybe(run.plan),
        "summary": _maybe(run.train_summary),
        "qc": _maybe(run.dataset_qc),
        "profile": _maybe(run.dataset_profile),
        "roundtrip": _maybe(run.tokenizer_roundtrip),
        "manifest": _maybe(run.tokenizer_manifest),
        "probe": _maybe(run.probe_report),
        "autopsy": _maybe(run.autopsy),
        "plot": ledger_plot(ledger),
        "cases": cases,
        "rate_keys": ["n", *RATES],
    }


def build_report(run: RunDir) -> Path:
    html = _env.get_template("report.html").render(**report_context(run))
    atomic_write_text(run.report, html)
    return run.report


def build_hub(root: Path) -> Path:
    runs = [r for r in list_runs(root) if (root / r["name"]).is_dir()]
    for r in runs:
        r["has_report"] = RunDir(root / r["name"]).report.exists()
    out = hub_page(root)
    atomic_write_text(out, _env.get_template("hub.html").render(runs=runs))
    return out
