"""The report shows model-made SVG only as images and escapes everything else."""

from __future__ import annotations

import base64
import json
import re
import shutil

from svglm.report.html import build_report
from svglm.runs import RunDir


def test_report_shows_every_case_with_both_svgs_as_images(tiny_run):
    html = tiny_run.report.read_text()
    cases = (tiny_run.probe / "cases.jsonl").read_text().splitlines()
    assert html.count('class="case ') == len(cases)
    assert "<svg" not in html  # no SVG is ever inlined as live markup
    assert len(re.findall(r'src="data:image/svg\+xml;base64,', html)) >= len(
        cases
    )  # expected at least
    assert "plan" in html and "PASS" in html and 'src="data:image/png;base64,' in html


def test_hostile_model_output_cannot_become_markup(tiny_run, tmp_path):
    run = RunDir(tmp_path / "copy")
    shutil.copytree(tiny_run.root, run.root)
    lines = (run.probe / "cases.jsonl").read_text().splitlines()
    case = json.loads(lines[0])
    evil = '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    case["raw_output"] = "<script>alert(1)</script>"
    case["svg"] = evil
    lines[0] = json.dumps(case)
    (run.probe / "cases.jsonl").write_text("\n".join(lines) + "\n")
    html = build_report(run).read_text()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert base64.b64encode(evil.encode()).decode() in html  # only inside an image data URI
    assert "default-src 'none'" in html  # and the page forbids scripts outright
