"""From a prompt to a picture: `svglm generate`, `svglm chat` and `svglm probe` options on the
tiny run, whose model has barely learned: free decoding may write noise, constrained decoding
always writes a block that parses, compiles and renders."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import svglm.infer.decode_step as decode_step
from svglm.cli import app
from svglm.dsl.compiler import compile_text, compile_with_pack
from svglm.dsl.families import FAMILIES
from svglm.errors import DataError
from svglm.infer.generate import Drawer
from svglm.infer.sampler import Sampling
from svglm.render import is_renderable
from tests.conftest import one_line_error

runner = CliRunner()
PROMPT = "[intent] [topic:weekly_signups] [audience:executives] [/intent]"


@pytest.fixture
def at_tiny(tiny_run, monkeypatch):
    monkeypatch.setenv("SVGLM_HOME", str(tiny_run.root.parent))
    return tiny_run


def test_generate_constrained_writes_a_picture_even_from_a_barely_trained_model(at_tiny, tmp_path):
    out = tmp_path / "a.svg"
    result = runner.invoke(
        app, ["generate", "tiny", PROMPT, "--constrained", "-o", str(out), "--png"]
    )
    assert result.exit_code == 0, result.output
    dsl = result.output.splitlines()[0]
    assert dsl.startswith("[bundle]") and dsl.endswith("[/bundle]")
    assert is_renderable(out.read_text())
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_drawer_packs_its_model_for_decoding_once(at_tiny):
    drawer = Drawer(at_tiny)
    drawer.draw([PROMPT], Sampling(max_tokens=16))
    kept = dict(decode_step._steps[drawer.model])
    drawer.draw([PROMPT, PROMPT], Sampling(max_tokens=16))
    assert kept and all(decode_step._steps[drawer.model][k] is s for k, s in kept.items())


def test_generate_n_samples_are_seeded(at_tiny, tmp_path):
    args = ["generate", "tiny", PROMPT, "--constrained", "--n", "3", "--temperature", "1.5"]
    first = runner.invoke(app, [*args, "--seed", "1"])
    again = runner.invoke(app, [*args, "--seed", "1"])
    other = runner.invoke(app, [*args, "--seed", "2"])
    assert first.exit_code == 0 and first.output == again.output
    assert len(first.output.splitlines()) == 3 and first.output != other.output


def test_a_model_written_bundle_takes_its_counts_from_your_content():
    family = FAMILIES["bar_chart"]
    pack = json.loads(json.dumps(family.content))
    pack["title"], pack["bars"] = "Our own sign-ups, in three weeks", pack["bars"][:3]
    bundle = (
        "[bundle] [family:bar_chart] [form:vertical_bars] [topic:weekly_signups] "
        "[theme:infra_dark] [tone:blue] [density:airy] [background:none] [bars:8] "
        "[order:mixed] [axis:1] [values:0] [trend:0] [footer:1] [/bundle]"
    )
    svg = compile_with_pack(bundle, pack)
    assert "Our own sign-ups, in three weeks" in svg and is_renderable(svg)
    assert svg == compile_text(
        bundle.replace("[bars:8]", "[bars:3]").replace(" [topic:weekly_signups]", ""), pack
    )
    with pytest.raises(DataError, match="as a timeline pack"):
        compile_with_pack(
            "[bundle] [family:timeline] [form:milestone_chain] [theme:infra_dark] [tone:blue] "
            "[density:airy] [background:none] [stages:4] [arrows:0] [footer:1] [/bundle]",
            pack,
        )


def test_generate_reports_bad_input_in_one_line(at_tiny, tmp_path):
    one_line_error(runner.invoke(app, ["generate", "nope", "x"]), "no run 'nope'")
    one_line_error(runner.invoke(app, ["generate", "tiny", "x", "--top-p", "0"]), "top-p")
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    one_line_error(
        runner.invoke(app, ["generate", "tiny", "x", "--content", str(bad)]), "content pack"
    )


def test_chat_answers_each_prompt_until_an_empty_line(at_tiny, tmp_path):
    out = tmp_path / "chat"
    result = runner.invoke(
        app, ["chat", "tiny", "--constrained", "-o", str(out)], input=f"{PROMPT}\n{PROMPT}\n\n"
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["001.png", "001.svg", "002.png", "002.svg"]


def test_probe_is_deterministic_and_reports_both_decodings(at_tiny, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        assert runner.invoke(app, ["probe", "tiny", "--out", str(d)]).exit_code == 0
    assert (a / "cases.jsonl").read_bytes() == (b / "cases.jsonl").read_bytes()
    assert (a / "cases_constrained.jsonl").read_bytes() == (
        b / "cases_constrained.jsonl"
    ).read_bytes()
    report = json.loads((a / "probe_report.json").read_text())
    side = report["constrained"]
    assert side["decoding"]["constrained"] and not report["decoding"]["constrained"]
    for key in ("splits", "families", "forms", "surfaces"):
        assert set(side[key]) == set(report[key])
    # the tiny model has barely learned; under the grammar every output still parses
    assert side["overall"]["valid"] == 1.0 and side["overall"]["renderable"] == 1.0
    assert report["overall"]["valid"] < 1.0
    autopsy = json.loads((a / "autopsy.json").read_text())
    assert autopsy["constrained"]["classes"]["syntax"] == 0


def test_probe_your_own_prompt_set(at_tiny, tmp_path):
    contract = json.loads(at_tiny.probe_contract.read_text())["cases"][:3]
    prompts = tmp_path / "mine.jsonl"
    rows = [{"prompt": c["prompt"], "expected": c["expected"]} for c in contract]
    prompts.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "mine"
    result = runner.invoke(
        app, ["probe", "tiny", "--prompts", str(prompts), "--out", str(out), "--free-only"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads((out / "probe_report.json").read_text())
    assert list(report["splits"]) == ["custom"] and report["overall"]["n"] == 3
    assert "constrained" not in report and not (out / "cases_constrained.jsonl").exists()
    cases = [json.loads(line) for line in (out / "cases.jsonl").read_text().splitlines()]
    assert [c["family"] for c in cases] == [c["family"] for c in contract]
    prompts.write_text('{"prompt": "x", "expected": "[bundle] [/bundle]"}\n')
    one_line_error(runner.invoke(app, ["probe", "tiny", "--prompts", str(prompts)]), "mine.jsonl:1")


def test_autopsy_against_another_probe(at_tiny):
    result = runner.invoke(app, ["autopsy", "tiny", "--against", "tiny", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    same = report["against"]
    assert same["fixed"]["n"] == same["new"]["n"] == 0 and same["remain"]["n"] == report["misses"]
    one_line_error(runner.invoke(app, ["autopsy", "tiny", "--against", "nope"]), "no run 'nope'")
