"""Shared fixtures: a tiny run built once per session (seconds), and an isolated $SVGLM_HOME."""

from __future__ import annotations

import pytest

from svglm.config import preset
from svglm.pipeline import run_steps
from svglm.runs import RunDir


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("SVGLM_HOME", str(tmp_path))
    return tmp_path


def make_run(root, name="tiny", **overrides) -> RunDir:
    cfg = preset("tiny", name)
    for key, value in overrides.items():
        section, _, field = key.partition("__")
        setattr(getattr(cfg, section), field, value) if field else setattr(cfg, key, value)
    run = RunDir(root / name)
    run.write_config(cfg)
    return run


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> RunDir:
    """A complete tiny run: every step done, every artifact present."""
    run = make_run(tmp_path_factory.mktemp("home"))
    run_steps(run, show_progress=False)
    return run
