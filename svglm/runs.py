"""Run directories: their layout, step fingerprints, and the SQLite registry over all runs.

A run directory is self-contained; nothing a run makes is written outside it except the
registry row and the hub page under $SVGLM_HOME, both rebuilt from the run directories.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from svglm.artifacts import (
    Artifact,
    CheckpointManifest,
    ProbeReport,
    Steps,
    TrainSummary,
    read_artifact,
)
from svglm.config import RunConfig, dump_config, load_config
from svglm.errors import ArtifactError, RunLockedError, SvglmError
from svglm.files import TMP_SUFFIX, atomic_write_json, atomic_write_text, sha256_file
from svglm.names import check_name

SPLITS = ("train", "dev", "test", "holdout")


def home() -> Path:
    return Path(os.environ.get("SVGLM_HOME", "runs"))


def hub_page(root: Path) -> Path:
    """The hub over every run under `root` ($SVGLM_HOME)."""
    return root / "index.html"


def sweeps_root(root: Path) -> Path:
    """Where `svglm sweep` writes each sweep's ranked results (sweeps/NAME/)."""
    return root / "sweeps"


def registry_path(root: Path) -> Path:
    return root / "registry.sqlite"


class ProbeFiles:
    """What a probe writes, in the run's probe/ folder or in a folder of the user's (--out)."""

    def __init__(self, root: Path):
        self.root = root
        self.report = root / "probe_report.json"
        self.cases = root / "cases.jsonl"  # free (unconstrained) decoding: the contract
        self.cases_constrained = root / "cases_constrained.jsonl"
        self.autopsy = root / "autopsy.json"


def digest(*parts: Any) -> str:
    """A stable fingerprint of JSON-able parts."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def file_digest(path: Path) -> str:
    return sha256_file(path)[:16]


class RunDir:
    """Paths of one run. Every artifact's location is named here and nowhere else."""

    def __init__(self, root: Path):
        self.root = root
        self.config_path = root / "run.yaml"
        self.steps = root / "steps.json"
        self.lock_path = root / "run.lock"
        self.notices: list[str] = []  # repairs made while reading the run, for the user to see
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
        self.tensorboard = root / "tensorboard"  # event files written from the ledger
        # probe and report
        self.probe = root / "probe"
        self.probe_files = ProbeFiles(self.probe)
        self.probe_report = self.probe_files.report
        self.probe_cases = self.probe_files.cases
        self.autopsy = self.probe_files.autopsy
        self.glyph_ocr = self.probe / "glyph_ocr.json"  # `svglm eval glyph-ocr`, of this probe
        self.report = root / "report.html"
        # inputs and outputs beside the steps
        self.base = root / "base"  # a pretrained checkpoint copied in by `svglm init --from-*`
        self.exports = root / "export"

    @classmethod
    def named(cls, name: str) -> RunDir:
        return cls(home() / check_name(name, "run name"))

    @property
    def name(self) -> str:
        return self.root.name

    def split(self, name: str) -> Path:
        """One split's rows, one per line: `dataset/train.txt` and so on."""
        return self.dataset / f"{name}.txt"

    def split_meta(self, name: str) -> Path:
        """What each row of a split is (surface, family, topic, held-out kind...), line by
        line: `dataset/train.meta.jsonl`."""
        return self.dataset / f"{name}.meta.jsonl"

    @staticmethod
    def checkpoint_name(stage: str, step: int, final: bool) -> str:
        """A checkpoint's folder name; which one is newest is told by the manifest."""
        return f"{check_name(stage, 'stage name')}-final" if final else f"{stage}-step{step:06d}"

    def checkpoint(self, name: str) -> Path:
        """The folder of the checkpoint called `name` (see checkpoint_name)."""
        return self.checkpoints / check_name(name, "checkpoint name")

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

    # -- one process at a time ------------------------------------------------------------------
    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the run's lock while driving it. The kernel drops an flock when its holder
        dies, so the lock of a killed run is simply taken over; the pid in the file is only
        there to name the owner in the error."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise RunLockedError(
                f"run {self.name} is being driven by another process (pid {owner}); "
                "wait for it to finish or stop it"
            ) from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def is_busy(self) -> bool:
        """Whether a live process holds the run's lock (is driving it now)."""
        try:
            fd = os.open(self.lock_path, os.O_RDONLY)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return False
        except BlockingIOError:
            return True
        finally:
            os.close(fd)

    def status(self) -> str:
        """What the registry says of the run: its last finished step, or `created`."""
        done = list(self.step_records())
        return f"{done[-1]} done" if done else "created"

    def clean_leftovers(self, keep_checkpoints: set[str] | None) -> list[Path]:
        """Remove what a killed process left behind: temp files of atomic writes, half-written
        checkpoint folders, and checkpoint folders the manifest no longer names (None: the
        manifest is unreadable, leave the folders to the trainer)."""
        removed = list(self.root.rglob(f".*{TMP_SUFFIX}"))
        if self.checkpoints.is_dir() and keep_checkpoints is not None:
            removed += [
                p
                for p in self.checkpoints.iterdir()
                if p.is_dir() and not p.name.startswith(".") and p.name not in keep_checkpoints
            ]
        for path in removed:
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
        return removed

    # -- step fingerprints: a step is skipped when its fingerprint is unchanged -------------
    def step_records(self) -> dict[str, Any]:
        """The finished steps. An unreadable steps.json is moved aside (its steps then run
        again, and what they find still valid they redo quickly), never a dead end."""
        if not self.steps.exists():
            return {}
        try:
            return {k: v.model_dump() for k, v in read_artifact(self.steps, Steps).root.items()}
        except ArtifactError as e:
            self.steps.replace(self.steps.with_name(self.steps.name + ".corrupt"))
            self.notices.append(f"{e}; moved to steps.json.corrupt, steps will run again")
            return {}

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


def ledger_records(run: RunDir) -> list[dict[str, Any]]:
    """The ledger's lines; a line torn by a kill in the middle of a write is skipped."""
    if not run.ledger.exists():
        return []
    records = []
    for line in run.ledger.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


# -- registry -----------------------------------------------------------------------------------
SCHEMA_VERSION = 3  # a registry of another version is rebuilt (it is only an index)
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (name TEXT PRIMARY KEY, preset TEXT, path TEXT, status TEXT,
                                 updated_at TEXT, checkpoint TEXT, architecture TEXT,
                                 params INTEGER, tokens INTEGER, wall_s REAL, final_loss REAL,
                                 dev_loss REAL);
CREATE TABLE IF NOT EXISTS stages (run TEXT, stage TEXT, tokens INTEGER, steps INTEGER,
                                   final_loss REAL, wall_s REAL, PRIMARY KEY (run, stage));
CREATE TABLE IF NOT EXISTS probes (run TEXT, split TEXT, n INTEGER, exact REAL,
                                   materialized_exact REAL, renderable REAL, dirty_tail REAL,
                                   budget_truncated REAL, PRIMARY KEY (run, split));
"""


def registry(root: Path | None = None) -> sqlite3.Connection:
    """The registry under `root`; an unreadable one is moved aside and rebuilt from the run
    directories, since it is only an index of them."""
    base = root or home()
    base.mkdir(parents=True, exist_ok=True)
    path = registry_path(base)
    try:
        con = _connect(path)
        version = con.execute("PRAGMA user_version").fetchone()[0]
        con.close()
        if version == SCHEMA_VERSION:
            return _connect(path)
        rebuild_registry(base)  # new, or from an older svglm
    except sqlite3.DatabaseError:
        path.replace(path.with_name(path.name + ".corrupt"))
        for journal in ("-wal", "-shm"):  # a damaged file's journal belongs to it
            path.with_name(path.name + journal).unlink(missing_ok=True)
        rebuild_registry(base)
    return _connect(path)


def _connect(path: Path) -> sqlite3.Connection:
    """WAL: readers (the hub, `svglm runs`, the server) never wait for a run that writes."""
    con = sqlite3.connect(path, timeout=30)
    con.execute("PRAGMA journal_mode=WAL")
    con.row_factory = sqlite3.Row
    return con


def rebuild_registry(root: Path) -> int:
    """A fresh registry indexing every run directory under `root`; returns how many."""
    root.mkdir(parents=True, exist_ok=True)
    path = registry_path(root)
    path.unlink(missing_ok=True)
    runs = [RunDir(p.parent) for p in sorted(root.glob("*/run.yaml"))]
    con = _connect(path)
    con.executescript(SCHEMA)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    with con:
        for run in runs:
            _upsert(con, run, run.status())
    con.close()
    return len(runs)


def _upsert(con: sqlite3.Connection, run: RunDir, status: str) -> None:
    """The run, its stages and its probe scores, from whatever artifacts are valid."""
    try:
        preset = run.config().preset
    except SvglmError:
        preset = "?"
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    facts: dict[str, Any] = {}
    try:
        cfg = run.config()
        facts["architecture"] = cfg.model.architecture
        facts["params"] = read_artifact(run.plan, Artifact).model_dump()["model"]["params"]
    except (SvglmError, KeyError, TypeError):
        pass
    try:
        summary = read_artifact(run.train_summary, TrainSummary)
        facts |= {"tokens": summary.tokens, "wall_s": summary.wall_s}
        facts["final_loss"] = summary.final_loss
    except ArtifactError:
        summary = None
    facts["dev_loss"] = serving_dev_loss(run)
    con.execute(
        "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            run.name,
            preset,
            str(run.root),
            status,
            stamp,
            serving_checkpoint(run),
            *(
                facts.get(k)
                for k in ("architecture", "params", "tokens", "wall_s", "final_loss", "dev_loss")
            ),
        ),
    )
    con.execute("DELETE FROM stages WHERE run = ?", (run.name,))
    con.execute("DELETE FROM probes WHERE run = ?", (run.name,))
    if summary is not None:
        for s in summary.stages:
            con.execute(
                "INSERT INTO stages VALUES (?, ?, ?, ?, ?, ?)",
                (run.name, s.name, s.tokens, s.steps, s.final_loss, s.wall_s),
            )
    try:
        report = read_artifact(run.probe_report, ProbeReport)
        for split, r in [("overall", report.overall), *report.splits.items()]:
            con.execute(
                "INSERT INTO probes VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run.name,
                    split,
                    r.n,
                    r.exact,
                    r.materialized_exact,
                    r.renderable,
                    r.dirty_tail,
                    r.budget_truncated,
                ),
            )
    except ArtifactError:
        pass


def serving_checkpoint(run: RunDir) -> str | None:
    """The checkpoint probe and export use: the promoted one, else the newest final one."""
    try:
        manifest = read_artifact(run.checkpoint_manifest, CheckpointManifest)
    except ArtifactError:
        return None
    finals = [r.name for r in manifest.checkpoints if r.final]
    return manifest.promoted or (finals[-1] if finals else None)


def serving_dev_loss(run: RunDir) -> float | None:
    """The dev loss measured at the serving checkpoint, when it was."""
    name = serving_checkpoint(run)
    try:
        manifest = read_artifact(run.checkpoint_manifest, CheckpointManifest)
    except ArtifactError:
        return None
    return next((r.dev_loss for r in manifest.checkpoints if r.name == name), None)


def register(run: RunDir, status: str) -> None:
    """Upsert the run, its stages and its probe scores from the artifacts in its directory."""
    con = registry(run.root.parent)
    with con:
        _upsert(con, run, status)
    con.close()


def list_runs(root: Path | None = None) -> list[dict[str, Any]]:
    """Every run with its facts and its visible and hidden exact and overall renderable."""
    con = registry(root)
    rows = con.execute("""
        SELECT r.*, v.exact AS visible_exact, h.exact AS hidden_exact,
               o.renderable AS renderable
        FROM runs r
        LEFT JOIN probes v ON v.run = r.name AND v.split = 'visible'
        LEFT JOIN probes h ON h.run = r.name AND h.split = 'hidden'
        LEFT JOIN probes o ON o.run = r.name AND o.split = 'overall'
        ORDER BY r.updated_at DESC, r.name""").fetchall()
    con.close()
    return [dict(r) for r in rows]


def run_record(name: str, root: Path | None = None) -> dict[str, Any] | None:
    """One run as the registry knows it: its facts, its stages and its probe scores."""
    con = registry(root)
    row = con.execute("SELECT * FROM runs WHERE name = ?", (name,)).fetchone()
    if row is None:
        con.close()
        return None
    out = dict(row)
    out["stages"] = [
        dict(r) for r in con.execute("SELECT * FROM stages WHERE run = ? ORDER BY rowid", (name,))
    ]
    out["probes"] = {
        r["split"]: {k: r[k] for k in r.keys() if k not in ("run", "split")}
        for r in con.execute("SELECT * FROM probes WHERE run = ?", (name,))
    }
    con.close()
    return out
