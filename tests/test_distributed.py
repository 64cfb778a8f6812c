"""Several processes through torchrun (gloo on the CPU): the batch is global, so two processes
with half the batch each train what one process does, a killed two-process run resumes to
byte-identical weights, and a finished one exits cleanly when asked to train again."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TINY_SEQ, make_run

from svglm.config import StageConfig
from svglm.files import read_json
from svglm.pipeline import run_steps
from svglm.runs import RunDir, ledger_records

HARNESS = Path(__file__).with_name("ddp_harness.py")
STEPS = 20
# One 20-step stage with a global batch of 8 windows: 4 per process when there are two.
STAGES = [StageConfig(name="pretrain", tokens=8 * TINY_SEQ * STEPS, batch_size=8, warmup_steps=2)]


def torchrun(home: Path, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", *args]
    env = {**os.environ, "SVGLM_HOME": str(home), "OMP_NUM_THREADS": "1"}
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def two_process_run(home: Path, name: str) -> RunDir:
    run = make_run(home, name, stages=STAGES, train__checkpoint_every=10, train__threads=1)
    done = torchrun(home, "-m", "svglm", "train", name, "-q")
    assert done.returncode == 0, done.stderr[-2000:]
    return run


@pytest.fixture(scope="module")
def together(tmp_path_factory) -> RunDir:
    return two_process_run(tmp_path_factory.mktemp("ddp"), "two")


def test_two_processes_with_half_the_batch_each_train_what_one_process_trains(together, tmp_path):
    alone = make_run(tmp_path, "one", stages=STAGES, train__checkpoint_every=10, train__threads=1)
    run_steps(alone, ("train",), show_progress=False)
    ours, theirs = ledger_records(together), ledger_records(alone)
    assert [r["step"] for r in ours] == [r["step"] for r in theirs] == list(range(1, STEPS + 1))
    for a, b in zip(ours, theirs, strict=True):
        assert abs(a["loss"] - b["loss"]) <= 1e-4, (a, b)
    assert read_json(together.train_summary)["world_size"] == 2


def test_a_killed_two_process_run_resumes_to_identical_weights(together, tmp_path):
    run = make_run(tmp_path, "two", stages=STAGES, train__checkpoint_every=10, train__threads=1)
    killed = torchrun(tmp_path, str(HARNESS), str(tmp_path), "two", "pretrain-step000010")
    assert killed.returncode != 0  # torchrun reports the killed process
    assert [r["step"] for r in ledger_records(run)][-1] == 10
    resumed = torchrun(tmp_path, "-m", "svglm", "train", "two", "-q")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resuming from pretrain-step000010" in resumed.stderr
    assert [r["step"] for r in ledger_records(run)] == list(range(1, STEPS + 1))
    final = Path("checkpoints/pretrain-final/model.safetensors")
    assert (run.root / final).read_bytes() == (together.root / final).read_bytes()


def test_a_trained_run_under_torchrun_skips_training_and_exits_cleanly(together):
    # every process leaves the process group before it exits, also when nothing trained
    again = torchrun(together.root.parent, "-m", "svglm", "train", together.name)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "train: unchanged, skipped" in again.stdout


def test_under_torchrun_only_the_train_step_runs(tmp_path):
    make_run(tmp_path, "x")
    done = torchrun(tmp_path, "-m", "svglm", "run", "x", "-q")
    assert done.returncode != 0 and "only the train step runs" in done.stderr
