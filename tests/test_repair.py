"""`svglm repair` on a copy of the tiny run: diagnosis on dev only, a slice of new train rows of
the missed families and surfaces that passes the data gate, a repair run that starts from the
parent's weights, and the probe before and after."""

from __future__ import annotations

import itertools
import json
import shutil
from collections import Counter

import torch
from typer.testing import CliRunner

from svglm.cli import app
from svglm.data.build import read_meta, read_rows
from svglm.model.transformer import Decoder
from svglm.runs import RunDir
from svglm.train.architecture import initial_model
from svglm.train.checkpoint import load_trained
from tests.conftest import one_line_error

runner = CliRunner()


def test_repair_adds_targeted_rows_and_trains_from_the_parent(tiny_run, tmp_path, monkeypatch):
    monkeypatch.setenv("SVGLM_HOME", str(tmp_path))
    parent = RunDir(tmp_path / "tiny")
    shutil.copytree(tiny_run.root, parent.root)
    probe_before = parent.probe_cases.read_bytes()
    result = runner.invoke(
        app, ["repair", "tiny", "--rows", "40", "--tokens", "4096", "--dev", "30", "-q"]
    )
    assert result.exit_code == 0, result.output
    child = RunDir(tmp_path / "tiny-repair")
    cfg = child.config()
    focus = cfg.data.repair
    diagnosis = json.loads((child.root / "repair_diagnosis.json").read_text())
    assert diagnosis["cases"] == 30 and diagnosis["families"] == focus.families
    assert [s.name for s in cfg.stages] == ["repair"] and cfg.base.format == "hf"

    # the slice: new rows of the focus, after the parent's own train rows, in no other split
    before, after = read_rows(parent, "train"), read_rows(child, "train")
    assert after[: len(before)] == before and len(after) == len(before) + 40
    meta = read_meta(child, "train")[len(before) :]
    assert all(m["family"] in focus.families and m["surface"] in focus.surfaces for m in meta)
    rows_of = Counter(m["family"] for m in meta)  # shared out by misses: more misses, more rows
    for a, b in itertools.permutations(focus.families, 2):
        if focus.families[a] > focus.families[b]:
            assert rows_of[a] >= rows_of[b], (focus.families, rows_of)
    others = {r for split in ("dev", "test", "holdout") for r in read_rows(parent, split)}
    assert not others & set(after[len(before) :])
    assert json.loads(child.dataset_qc.read_text())["verdict"] == "PASS"  # no held-out leak
    assert read_rows(child, "holdout") == read_rows(parent, "holdout")

    # the repair stage starts from the parent's serving weights
    served, _ = load_trained(parent, parent.config())
    start = initial_model(child, cfg, served.cfg.vocab_size)
    assert isinstance(start, Decoder)
    for (k, a), (_, b) in zip(served.state_dict().items(), start.state_dict().items(), strict=True):
        assert torch.equal(a, b), k

    repaired = json.loads((child.root / "repair.json").read_text())
    assert set(repaired["splits"]) == {"visible", "hidden", "templates", "oov"}
    m = repaired["misses"]
    assert m["cases"] == json.loads(parent.probe_report.read_text())["overall"]["n"]
    assert parent.probe_cases.read_bytes() == probe_before  # the parent is left as it was
    one_line_error(runner.invoke(app, ["repair", "tiny"]), "tiny-repair", "exists")
