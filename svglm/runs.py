"""Run directories: their layout, step fingerprints, and the SQLite registry over all runs.

A run directory is self-contained; nothing a run makes is written outside it except the
registry row and the hub page under $SVGLM_HOME, both rebuilt from the run directories.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from svglm.config import RunConfig, dump_config, load_config
from svglm.files import atomic_write_json, atomic_write_text, read_json

SPLITS = ("train", "dev", "test", "holdout")


def home() -> Path:
    return Path(os.environ.get("SVGLM_HOME", "runs"))


def hub_page(root: Path) -> Path:
    """The hub over every run under `root` ($SVGLM_HOME)."""
    return root / "index.html"


def registry_path(root: Path) -> Path:
    return root / "registry.sqlite"


def digest(*parts: Any) -> str:
    """A stable fingerprint of JSON-able parts."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


class RunDir:
    """Paths of one run. Every artifact's location is named here and nowhere else."""

    def __init__(self, root: Path):
        self.root = root
        self.config_path = root / "run.yaml"
        self.steps = root / "steps.json"
        # data
        self.dataset = root / "dataset"
        self.probe_contract = self.dataset / "probe_contract.json"
        self.content = self.dataset / "content.json"
        self.dataset_qc = self.dataset / "dataset_qc.json"
        self.coverage = self.dataset / "coverage.json"
        self.dataset_profile = self.dataset / "dataset_profile.json"
        # tokenizer
        self.tokenizer = root / "tokenizer"
        self.tokenizer_json = self.tokenizer / "tokenizer.json"
        self.tokenizer_roundtrip = self.tokenizer / "tokenizer_roundtrip.json"
        self.atom_audit = self.tokenizer / "atom_audit.json"
        self.tokenizer_manifest = self.tokenizer / "tokenizer_manifest.json"
        # plan and train
        self.plan = root / "plan.json"
        self.checkpoints = root / "checkpoints"
        self.checkpoint_manifest = self.checkpoints / "manifest.json"
        self.ledger = root / "ledger.jsonl"
        self.train_summary = root / "train_summary.json"
        # probe and report
        self.probe = root / "probe"
        self.probe_report = self.probe / "probe_report.json"
        self.probe_cases = self.probe / "cases.jsonl"
        self.autopsy = self.probe / "autopsy.json"
        self.report = root / "report.html"
        # inputs and outputs beside the steps
        self.base = root / "base"  # a pretrained checkpoint copied in by `svglm init --from-*`
        self.exports = root / "export"

    @classmethod
    def named(cls, name: str) -> RunDir:
        return cls(home() / name)

    @property
    def name(self) -> str:
        return self.root.name

    def split(self, name: str) -> Path:
        """One split's rows, one per line: `dataset/train.txt` and so on."""
        return self.dataset / f"{name}.txt"

    def checkpoint(self, stage: str, step: int, final: bool) -> Path:
        """The folder of one checkpoint; which one is newest is told by the manifest."""
        return self.checkpoints / (f"{stage}-final" if final else f"{stage}-step{step:06d}")

    @staticmethod
    def checkpoint_files(folder: Path) -> tuple[Path, Path]:
        """The weights (safetensors) and the resume state inside one checkpoint folder."""
        return folder / "model.safetensors", folder / "state.pt"

    def exists(self) -> bool:
        return self.config_path.exists()

    def config(self) -> RunConfig:
        return load_config(self.config_path)

    def write_config(self, cfg: RunConfig) -> None:
        atomic_write_text(self.config_path, dump_config(cfg))

    # -- step fingerprints: a step is skipped when its fingerprint is unchanged -------------
    def step_records(self) -> dict[str, Any]:
        return read_json(self.steps) if self.steps.exists() else {}

    def step_done(self, step: str, fingerprint: str) -> bool:
        return self.step_records().get(step, {}).get("fingerprint") == fingerprint

    def mark_step(self, step: str, fingerprint: str, wall_s: float) -> None:
        records = self.step_records()
        records[step] = {
            "fingerprint": fingerprint,
            "wall_s": round(wall_s, 3),
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        atomic_write_json(self.steps, records)

    def forget_steps(self, steps: list[str]) -> None:
        records = self.step_records()
        for step in steps:
            records.pop(step, None)
        atomic_write_json(self.steps, records)


# -- registry -----------------------------------------------------------------------------------
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (name TEXT PRIMARY KEY, preset TEXT, path TEXT, status TEXT,
                                 updated_at TEXT);
CREATE TABLE IF NOT EXISTS stages (run TEXT, stage TEXT, tokens INTEGER, steps INTEGER,
                                   final_loss REAL, wall_s REAL, PRIMARY KEY (run, stage));
CREATE TABLE IF NOT EXISTS probes (run TEXT, split TEXT, n INTEGER, exact REAL,
                                   materialized_exact REAL, renderable REAL, dirty_tail REAL,
                                   budget_truncated REAL, PRIMARY KEY (run, split));
"""


def registry(root: Path | None = None) -> sqlite3.Connection:
    base = root or home()
    base.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(registry_path(base))
    con.executescript(SCHEMA)
    return con


def register(run: RunDir, status: str) -> None:
    """Upsert the run, its stages and its probe scores from the artifacts in its directory."""
    cfg = run.config()
    with registry(run.root.parent) as con:
        con.execute(
            "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?)",
            (run.name, cfg.preset, str(run.root), status, time.strftime("%Y-%m-%dT%H:%M:%S")),
        )
        if run.train_summary.exists():
            con.execute("DELETE FROM stages WHERE run = ?", (run.name,))
            for s in read_json(run.train_summary)["stages"]:
                con.execute(
                    "INSERT INTO stages VALUES (?, ?, ?, ?, ?, ?)",
                    (run.name, s["name"], s["tokens"], s["steps"], s["final_loss"], s["wall_s"]),
                )
        if run.probe_report.exists():
            con.execute("DELETE FROM probes WHERE run = ?", (run.name,))
            data = read_json(run.probe_report)
            for split, r in [("overall", data["overall"]), *data["splits"].items()]:
                con.execute(
                    "INSERT INTO probes VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        run.name,
                        split,
                        r["n"],
                        r["exact"],
                        r["materialized_exact"],
                        r["renderable"],
                        r["dirty_tail"],
                        r["budget_truncated"],
                    ),
                )
    con.close()


def list_runs(root: Path | None = None) -> list[dict[str, Any]]:
    con = registry(root)
    con.row_factory = sqlite3.Row
    rows = con.execute("""
        SELECT r.name, r.preset, r.status, r.updated_at,
               v.exact AS visible_exact, h.exact AS hidden_exact, o.renderable AS renderable
        FROM runs r
        LEFT JOIN probes v ON v.run = r.name AND v.split = 'visible'
        LEFT JOIN probes h ON h.run = r.name AND h.split = 'hidden'
        LEFT JOIN probes o ON o.run = r.name AND o.split = 'overall'
        ORDER BY r.updated_at DESC""").fetchall()
    con.close()
    return [dict(r) for r in rows]
