"""Shared fixtures: a tiny run built once per session (seconds), and an isolated $SVGLM_HOME."""

from __future__ import annotations

import pytest

from svglm.config import preset
from svglm.pipeline import run_steps
from svglm.runs import RunDir

# The tiny preset's context: a stage of `8 * TINY_SEQ * n` tokens is n steps of batch 8.
TINY_SEQ = preset("tiny", "tiny").model.seq_len


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


def interrupt_after(run: RunDir, checkpoint: str, monkeypatch) -> None:
    """Train `run` and stop it, as a kill would, right after the checkpoint named `checkpoint`
    has landed on disk."""
    from svglm.train import checkpoint as ckpt

    real_save = ckpt.save_checkpoint

    def save_then_stop(*args, **kwargs):
        record = real_save(*args, **kwargs)
        if record.name == checkpoint:
            raise KeyboardInterrupt
        return record

    monkeypatch.setattr(ckpt, "save_checkpoint", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        run_steps(run, ("train",), show_progress=False)
    monkeypatch.setattr(ckpt, "save_checkpoint", real_save)


def one_line_error(result, *needles: str) -> str:
    """A user error at the command line: exit code 2, no traceback, and a last line
    `svglm: ...` that names each needle. Returns that line."""
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    line = result.output.strip().splitlines()[-1]
    assert line.startswith("svglm: ") and "Traceback" not in result.output, result.output
    for needle in needles:
        assert needle in line, line
    return line
