"""The registry's verbs (`svglm runs ls|show|diff --json`), sweeps that resume, and archives
that prove their contents."""

from __future__ import annotations

import io
import json
import shutil
import tarfile

import lxml.html
import yaml
from typer.testing import CliRunner

from svglm.cli import app
from svglm.runs import RunDir
from tests.conftest import one_line_error

runner = CliRunner()


def ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_runs_show_and_diff_as_json(tiny_run, tmp_path, monkeypatch):
    monkeypatch.setenv("SVGLM_HOME", str(tmp_path))
    shutil.copytree(tiny_run.root, tmp_path / "a")
    ok("init", "b", "--preset", "tiny", "--set", "model.d_model=48", "--set", "seed=7")
    ok("run", "b", "-q")
    ok("runs", "ls")  # the registry is rebuilt from the run directories
    listed = {r["name"]: r for r in json.loads(ok("runs", "ls", "--json"))}
    assert set(listed) == {"a", "b"}
    probe = json.loads((tmp_path / "b" / "probe" / "probe_report.json").read_text())
    assert listed["b"]["hidden_exact"] == probe["splits"]["hidden"]["exact"]
    assert listed["b"]["architecture"] == "qwen3" and listed["b"]["params"] > 0

    show = json.loads(ok("runs", "show", "b", "--json"))
    summary = json.loads((tmp_path / "b" / "train_summary.json").read_text())
    assert [s["stage"] for s in show["stages"]] == [s["name"] for s in summary["stages"]]
    assert show["tokens"] == summary["tokens"] and len(show["loss"]) > 0
    assert show["probes"]["hidden"]["exact"] == probe["splits"]["hidden"]["exact"]

    diff = json.loads(ok("runs", "diff", "a", "b", "--json"))
    changed = {c["key"]: (c["a"], c["b"]) for c in diff["config"]}
    assert changed == {"model.d_model": (32, 48), "seed": (1234, 7)}
    assert diff["metrics"]["params"]["delta"] == show["params"] - listed["a"]["params"]
    assert "name" not in changed
    text = ok("runs", "diff", "a", "b")
    assert all(len(line) <= 80 for line in text.splitlines())
    one_line_error(runner.invoke(app, ["runs", "show", "nope"]), "no run 'nope'")


def test_a_stopped_sweep_resumes_and_ranks_its_cells(home, tmp_path):
    spec = {
        "name": "sw",
        "preset": "tiny",
        "set": {"stages.0.tokens": 3072, "stages.1.tokens": 2048},
        "axes": {"seed": [1]},
    }
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    ok("sweep", str(path), "-q")
    first = RunDir(home / "sw-001").steps.read_text()
    spec["axes"] = {"seed": [1, 2]}  # the sweep grows: the done cell is not run again
    path.write_text(yaml.safe_dump(spec))
    ok("sweep", str(path), "-q")
    assert RunDir(home / "sw-001").steps.read_text() == first
    results = json.loads((home / "sweeps" / "sw" / "results.json").read_text())
    ranked = results["ranked"]
    assert sorted(r["run"] for r in ranked) == ["sw-001", "sw-002"]
    keys = [(-r["hidden_exact"], -r["renderable"], r["wall_s"]) for r in ranked]
    assert keys == sorted(keys)
    csv_lines = (home / "sweeps" / "sw" / "results.csv").read_text().splitlines()
    assert csv_lines[0].startswith("run,seed,hidden_exact") and len(csv_lines) == 3
    hub = lxml.html.fromstring((home / "index.html").read_text())
    table = hub.get_element_by_id("sweep-sw").getnext()  # the hub ranks the sweep's cells
    assert [tr.findall("td")[1].text_content() for tr in table.findall("tr")[1:]] == [
        r["run"] for r in ranked
    ]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"name": "x", "axes": {"seed": [1]}}))
    one_line_error(runner.invoke(app, ["sweep", str(bad)]), "exactly one of preset or base")


def test_an_archive_verifies_and_a_tampered_one_does_not(tiny_run, tmp_path, monkeypatch):
    monkeypatch.setenv("SVGLM_HOME", str(tiny_run.root.parent))
    out = tmp_path / "tiny.tar.gz"
    ok("archive", "tiny", "-o", str(out))
    assert "every sha256 matches" in ok("verify", str(out))
    with tarfile.open(out) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("tiny/MANIFEST.json").read())
    assert "tiny/run.yaml" in names and not any("/checkpoints/" in n for n in names)
    assert set(manifest["files"]) == {n.partition("/")[2] for n in names} - {"MANIFEST.json"}

    def rewrite(target, change):
        with tarfile.open(out) as src, tarfile.open(target, "w:gz") as dst:
            for member in src:
                data = src.extractfile(member).read() if member.isfile() else None
                data = change(member.name, data)
                if data is None:
                    continue
                member.size = len(data)
                dst.addfile(member, io.BytesIO(data))

    tampered = tmp_path / "tampered.tar.gz"
    rewrite(tampered, lambda n, d: d + b"\n# changed" if n == "tiny/run.yaml" else d)
    one_line_error(runner.invoke(app, ["verify", str(tampered)]), "run.yaml does not match")
    missing = tmp_path / "missing.tar.gz"
    rewrite(missing, lambda n, d: None if n == "tiny/run.yaml" else d)
    one_line_error(runner.invoke(app, ["verify", str(missing)]), "run.yaml is listed", "missing")
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not an archive")
    one_line_error(runner.invoke(app, ["verify", str(junk)]), "not a readable svglm archive")
    with_ckpt = tmp_path / "full.tar.gz"
    ok("archive", "tiny", "-o", str(with_ckpt), "--with-checkpoints")
    with tarfile.open(with_ckpt) as tar:
        assert any("/checkpoints/" in n for n in tar.getnames())
