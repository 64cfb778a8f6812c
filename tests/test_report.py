"""The report shows what the run did: the plan verdict and checks as plan.json has them, failing
cases first and styled apart from passing ones, model-made SVG only as images, everything else
escaped."""

from __future__ import annotations

import base64
import json
import re
import shutil

import lxml.html

from svglm.files import read_json
from svglm.report.html import build_report
from svglm.runs import RunDir


def page(run: RunDir) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(run.report.read_text())


def test_plan_verdict_and_checks_shown_are_those_of_plan_json(tiny_run):
    plan = read_json(tiny_run.plan)
    doc = page(tiny_run)
    assert doc.get_element_by_id("plan-verdict").text_content() == plan["verdict"]
    table = doc.xpath("//h2[.='Plan']/following-sibling::table[1]")[0]
    shown = [[td.text_content() for td in tr.findall("td")] for tr in table.findall("tr")[1:]]
    assert shown == [[c["name"], c["status"], c["detail"]] for c in plan["checks"]]


def test_plan_verdict_cell_follows_a_failed_plan(tiny_run, tmp_path):
    run = RunDir(tmp_path / "copy")
    shutil.copytree(tiny_run.root, run.root)
    plan = read_json(run.plan)
    run.plan.write_text(json.dumps({**plan, "verdict": "FAIL"}))
    build_report(run)
    assert page(run).get_element_by_id("plan-verdict").text_content() == "FAIL"


def test_report_shows_every_case_with_both_svgs_as_images(tiny_run):
    html = tiny_run.report.read_text()
    cases = tiny_run.probe_cases.read_text().splitlines()
    doc = page(tiny_run)
    assert len(doc.find_class("case")) == len(cases)
    assert "<svg" not in html  # no SVG is ever inlined as live markup
    expected_imgs = doc.xpath("//img[starts-with(@alt, 'expected SVG')]")
    assert len(expected_imgs) == len(cases)
    assert all(i.get("src").startswith("data:image/svg+xml;base64,") for i in expected_imgs)
    assert doc.xpath("//img[starts-with(@src, 'data:image/png;base64,')]")  # training curves


# -- how failing cases look ---------------------------------------------------------------------
def _with_one_pass_and_one_miss(tiny_run, tmp_path) -> RunDir:
    """A copy of the tiny run whose first case passes and whose second misses."""
    run = RunDir(tmp_path / "copy")
    shutil.copytree(tiny_run.root, run.root)
    cases = [json.loads(line) for line in run.probe_cases.read_text().splitlines()]
    cases[0].update(miss_class=None, exact=True, valid=True, tail_text="")
    cases[1].update(miss_class="syntax", exact=False, valid=False)
    run.probe_cases.write_text("".join(json.dumps(c) + "\n" for c in cases))
    build_report(run)
    return run


def background(css: str, classes: set[str]) -> str | None:
    """The background an element with `classes` gets from class-only rules: the most specific
    matching selector wins, and among equals the later rule (the CSS cascade)."""
    best, winner = (-1, -1), None
    for order, (selectors, body) in enumerate(re.findall(r"([^{}]+)\{([^}]*)\}", css)):
        value = re.search(r"background:\s*([^;]+)", body)
        if value is None:
            continue
        for selector in selectors.split(","):
            needed = set(re.findall(r"\.([\w-]+)", selector.strip()))
            if needed and needed <= classes and selector.strip().startswith("."):
                if (len(needed), order) > best:
                    best, winner = (len(needed), order), value.group(1).strip()
    return winner


def test_failing_cases_come_first_and_look_different(tiny_run, tmp_path):
    run = _with_one_pass_and_one_miss(tiny_run, tmp_path)
    doc = page(run)
    divs = doc.find_class("case")
    outcome = ["bad" in d.get("class").split() for d in divs]
    assert outcome == sorted(outcome, reverse=True) and outcome.count(False) == 1
    css = "".join(s.text_content() for s in doc.iter("style"))
    passing = background(css, set(divs[-1].get("class").split()))
    failing = background(css, set(divs[0].get("class").split()))
    assert failing is not None and failing != passing


def test_hostile_model_output_cannot_become_markup(tiny_run, tmp_path):
    run = RunDir(tmp_path / "copy")
    shutil.copytree(tiny_run.root, run.root)
    lines = run.probe_cases.read_text().splitlines()
    case = json.loads(lines[0])
    evil = '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    case["raw_output"] = "<script>alert(1)</script>"
    case["svg"] = evil
    lines[0] = json.dumps(case)
    run.probe_cases.write_text("\n".join(lines) + "\n")
    html = build_report(run).read_text()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert base64.b64encode(evil.encode()).decode() in html  # only inside an image data URI
    assert "default-src 'none'" in html  # and the page forbids scripts outright


def test_each_held_out_kind_is_shown_per_family_and_surface_as_the_probe_measured(tiny_run):
    probe = read_json(tiny_run.probe_report)
    doc = page(tiny_run)
    for key in ("families", "surfaces"):
        table = doc.get_element_by_id(f"split-{key}")
        rows = table.findall("tr")
        splits = [th.text_content() for th in rows[0].findall("th")[1:]]
        assert (
            splits == sorted(probe["by_split"]) == sorted(["visible", "hidden", "templates", "oov"])
        )
        for tr in rows[1:]:
            name = tr.find("th").text_content()
            for split, td in zip(splits, tr.findall("td"), strict=True):
                rate = probe["by_split"][split][key].get(name)
                want = "" if rate is None else f"{rate['exact']} ({rate['n']})"
                assert td.text_content() == want


def test_free_and_constrained_rates_sit_side_by_side(tiny_run):
    probe = read_json(tiny_run.probe_report)
    rows = page(tiny_run).get_element_by_id("constrained").findall("tr")
    keys = ("exact", "valid", "renderable", "dirty_tail", "budget_truncated")
    assert [tr.find("th").text_content() for tr in rows[1:]] == list(probe["splits"])
    for tr in rows[1:]:
        split = tr.find("th").text_content()
        want = [
            str(side[split][k])
            for k in keys
            for side in (probe["splits"], probe["constrained"]["splits"])
        ]
        assert [td.text_content() for td in tr.findall("td")] == want
