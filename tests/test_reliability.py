"""A run directory that survives hostile names, kills, races and corruption: one test per case
of the reliability review, each with the one-line error (exit code 2) or the repair it expects.
The SIGKILL harness is tests/test_crash.py; fuzzing is tests/test_fuzz.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest
import torch
from conftest import interrupt_after, make_run, one_line_error
from typer.testing import CliRunner

from svglm.cli import app
from svglm.config import preset
from svglm.errors import ArtifactError
from svglm.eval.probe import run_probe
from svglm.files import read_json
from svglm.pipeline import STEPS, run_steps
from svglm.runs import RunDir, ledger_records
from svglm.tokenizer.bpe import SvglmTokenizer
from svglm.train import checkpoint as ckpt
from svglm.train.architecture import initial_model

runner = CliRunner()


# probe cases in a tiny run: visible, hidden, template and out-of-vocabulary
CASES = sum(
    getattr(preset("tiny", "t").data, f"probe_{k}")
    for k in ("visible", "hidden", "templates", "oov")
)


def cli(*args: str):
    return runner.invoke(app, list(args), prog_name="svglm")


def ok(*args: str):
    result = cli(*args)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def trained(tiny_run, home) -> RunDir:
    """A copy of the session's finished tiny run under a fresh $SVGLM_HOME."""
    run = RunDir(home / "r")
    shutil.copytree(tiny_run.root, run.root)
    return run


def weights(run: RunDir, name: str = "sft-final") -> bytes:
    return (run.checkpoints / name / "model.safetensors").read_bytes()


def flip_byte(path, at: int = -100) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))


def edit_manifest(run: RunDir, edit) -> None:
    manifest = read_json(run.checkpoint_manifest)
    edit(manifest)
    run.checkpoint_manifest.write_text(json.dumps(manifest))


# -- writes outside the run ---------------------------------------------------------------------
def test_a_stage_name_cannot_be_a_path(home, tmp_path):
    ok("init", "x", "--preset", "tiny")
    yaml_path = home / "x" / "run.yaml"
    yaml_path.write_text(yaml_path.read_text().replace("- name: sft", "- name: ../../../victim"))
    before = sorted(p.name for p in tmp_path.parent.iterdir())
    one_line_error(cli("run", "x"), "run.yaml: stages[1].name: not a valid name")
    assert sorted(p.name for p in tmp_path.parent.iterdir()) == before
    assert not (home / "x" / "checkpoints").exists()


@pytest.mark.parametrize("name", ["../evil", "a/b", ".hidden", "Upper", ""])
def test_a_run_name_cannot_be_a_path(home, name):
    one_line_error(cli("init", name, "--preset", "tiny"), "run name", "not a valid name")
    one_line_error(cli("run", name), "not a valid name")
    assert list(home.iterdir()) == []


def test_a_hostile_manifest_cannot_delete_outside_the_run(trained, tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    edit_manifest(trained, lambda m: m["checkpoints"][0].update(name="../../../victim"))
    trained.forget_steps(["train"])
    ok("run", "r", "-q")  # the manifest is refused, training starts over
    assert (victim / "precious.txt").read_text() == "keep me"
    assert ckpt.problem(trained, ckpt.final_record(trained, "sft")) is None


# -- data lost ----------------------------------------------------------------------------------
def test_a_torn_ledger_line_is_dropped_and_every_step_logged_once(home, tiny_run, monkeypatch):
    run = make_run(home, "killed")
    interrupt_after(run, "pretrain-step000003", monkeypatch)
    with run.ledger.open("a") as f:
        f.write('{"stage": "pretrain", "step": 4, "tok')  # the kill tore this line
    run_steps(run, ("train",), show_progress=False)
    steps = [(r["stage"], r["step"]) for r in ledger_records(run)]
    assert steps == [(r["stage"], r["step"]) for r in ledger_records(tiny_run)]
    assert weights(run) == weights(tiny_run)


def test_a_held_lock_refuses_a_second_driver(trained):
    with trained.lock():
        line = one_line_error(cli("run", "r"), "run r is being driven by another process")
        assert f"(pid {os.getpid()})" in line
        one_line_error(cli("export", "r", "--force"), "being driven by another process")


def test_the_lock_of_a_dead_process_is_taken_over(trained):
    trained.lock_path.write_text("999999\n")  # a pid that holds no lock any more
    ok("run", "r", "-q")


def test_two_runs_of_one_run_at_once_do_not_race(home):
    cfg_run = make_run(home, "race")
    cfg = cfg_run.config()
    for stage in cfg.stages:  # long enough that the second process starts while it runs
        stage.tokens *= 40
    cfg_run.write_config(cfg)
    env = {**os.environ, "SVGLM_HOME": str(home)}
    command = [sys.executable, "-m", "svglm", "run", "race", "-q"]
    first = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    while not (cfg_run.lock_path.exists() and cfg_run.lock_path.read_text().strip()):
        assert first.poll() is None, first.stderr.read()  # it ends only after taking the lock
        time.sleep(0.05)
    second = subprocess.run(command, env=env, capture_output=True, text=True)
    assert first.wait(timeout=300) == 0, first.stderr.read()
    assert second.returncode == 2 and "being driven by another process" in second.stderr
    steps = [(r["stage"], r["step"]) for r in ledger_records(cfg_run)]
    assert len(steps) == len(set(steps))  # no step logged twice


def test_kill_leftovers_are_cleaned_on_the_next_run(trained):
    leftovers = [
        trained.checkpoints / ".manifest.json.x1y2.tmp",
        trained.root / ".plan.json.abcd.tmp",
        trained.checkpoints / ".sft-final.tmp",
        trained.checkpoints / "pretrain-step000099",  # a folder no manifest names
    ]
    leftovers[0].write_text("{")
    leftovers[1].write_text("{")
    leftovers[2].mkdir()
    leftovers[3].mkdir()
    result = ok("run", "r", "-q")
    assert "removed 4 leftovers" in result.output
    assert not any(p.exists() for p in leftovers)


# -- silent wrong results -----------------------------------------------------------------------
def test_a_flipped_byte_in_the_weights_is_refused_then_retrained(trained, tiny_run):
    flip_byte(trained.checkpoints / "sft-final" / "model.safetensors")
    one_line_error(cli("export", "r"), "sft-final", "does not match its sha256")
    result = ok("run", "r", "-q")
    assert "running the step again" in result.output and "falling back" in result.output
    assert weights(trained) == weights(tiny_run)  # retrained from pretrain-final, same bytes
    ok("export", "r")


def test_a_manifest_pointing_the_last_stage_at_an_earlier_checkpoint_is_refused(trained):
    def retarget(manifest):
        final = next(r for r in manifest["checkpoints"] if r["stage"] == "sft" and r["final"])
        final["name"] = "pretrain-final"

    edit_manifest(trained, retarget)
    one_line_error(cli("export", "r"), "manifest.json", "recorded as sft-final")


def test_another_stages_files_under_the_final_name_are_refused(trained):
    """Even with the hashes rewritten to match, the state file says which stage it is."""
    src, dst = trained.checkpoints / "pretrain-final", trained.checkpoints / "sft-final"
    for name in ("model.safetensors", "state.pt"):
        shutil.copy(src / name, dst / name)

    def rehash(manifest):
        final = next(r for r in manifest["checkpoints"] if r["stage"] == "sft" and r["final"])
        final["sha256"] = next(
            r["sha256"] for r in manifest["checkpoints"] if r["name"] == "pretrain-final"
        )

    edit_manifest(trained, rehash)
    one_line_error(cli("export", "r"), "saved at stage pretrain", "lists it as stage sft")


def test_an_infinite_learning_rate_is_refused_up_front(home):
    ok("init", "x", "--preset", "tiny")
    path = home / "x" / "run.yaml"
    path.write_text(path.read_text().replace("lr: 0.003", "lr: .inf", 1))
    one_line_error(cli("run", "x"), "stages[0].lr: Input should be a finite number")


def test_non_finite_losses_are_skipped_then_stop_training_keeping_the_last_good_checkpoint(
    home, monkeypatch
):
    run = make_run(home, "nan", train__max_bad_steps=2)
    real = torch.nn.functional.cross_entropy
    calls = {"n": 0}

    def diverging(*args, **kwargs):  # from the 4th training step on, the loss is NaN
        loss = real(*args, **kwargs)
        if not torch.is_grad_enabled():  # the dev loss, not a training step
            return loss
        calls["n"] += 1
        return loss * float("nan") if calls["n"] > 3 else loss

    monkeypatch.setattr(torch.nn.functional, "cross_entropy", diverging)
    one_line_error(cli("run", "nan", "-q"), "stages[0] (pretrain)", "not finite for 2 step(s)")
    skipped = [r for r in ledger_records(run) if r.get("skipped")]
    assert [r["step"] for r in skipped] == [4, 5] and all(r["loss"] is None for r in skipped)
    kept = ckpt.resume_point(run, print)  # the last good checkpoint is intact and loads
    assert kept is not None and kept.name == "pretrain-step000003"
    vocab = SvglmTokenizer.load(run.tokenizer_json).vocab_size
    state = ckpt.load_checkpoint(run, kept, initial_model(run, run.config(), vocab))
    assert state["step"] == 3
    assert not run.train_summary.exists()


def test_an_empty_probe_contract_is_refused_and_regenerated(trained):
    contract = read_json(trained.probe_contract)
    trained.probe_contract.write_text(json.dumps({**contract, "cases": []}))
    with pytest.raises(ArtifactError, match="cases: List should have at least 1 item"):
        run_probe(trained, trained.config())
    result = ok("run", "r", "-q")
    assert "data: " in result.output and "running the step again" in result.output
    assert read_json(trained.probe_report)["overall"]["n"] == CASES


@pytest.mark.parametrize(
    "artifact, step",
    [("plan", "plan"), ("probe_report", "probe"), ("tokenizer_roundtrip", "tokenizer")],
)
def test_a_damaged_output_makes_its_step_run_again(trained, artifact, step):
    getattr(trained, artifact).write_text("{ not json")
    result = ok("run", "r", "-q")
    assert f"{step}: " in result.output and "running the step again" in result.output
    assert read_json(trained.probe_report)["overall"]["n"] == CASES


# -- stuck --------------------------------------------------------------------------------------
def test_a_corrupt_steps_json_is_moved_aside(trained):
    trained.steps.write_text("{ garbage")
    result = ok("run", "r", "-q")
    assert "steps.json" in result.output and "moved to steps.json.corrupt" in result.output
    assert set(read_json(trained.steps)) == set(STEPS)


def test_a_corrupt_registry_is_rebuilt_from_the_run_directories(trained, home):
    (home / "registry.sqlite").write_bytes(b"this is not a database" * 100)
    listed = json.loads(ok("runs", "--json").output)
    assert [(r["name"], r["preset"]) for r in listed] == [("r", "tiny")]
    assert (home / "registry.sqlite.corrupt").exists()


def test_a_corrupt_latest_checkpoint_falls_back_to_an_older_one(home, tiny_run, monkeypatch):
    run = make_run(home, "fall")
    interrupt_after(run, "sft-step000003", monkeypatch)
    flip_byte(run.checkpoints / "sft-step000003" / "state.pt")
    result = ok("run", "fall", "-q")
    assert "sft-step000003" in result.output and "falling back" in result.output
    assert "resuming from pretrain-final" in result.output
    assert weights(run) == weights(tiny_run)
    steps = [(r["stage"], r["step"]) for r in ledger_records(run)]
    assert steps == [(r["stage"], r["step"]) for r in ledger_records(tiny_run)]


# -- hangs --------------------------------------------------------------------------------------
def test_a_decode_budget_beyond_the_context_is_refused_up_front(home):
    ok("init", "x", "--preset", "tiny")
    path = home / "x" / "run.yaml"
    path.write_text(path.read_text().replace("max_tokens: 24", "max_tokens: 10000000"))
    one_line_error(cli("probe", "x"), "probe.max_tokens 10000000 is more than the model's context")


# -- tracebacks and vague errors ----------------------------------------------------------------
@pytest.mark.parametrize(
    "old, new, needle",
    [
        ("d_model: 32", "d_model: 30", "leaves 15 dims for RoPE"),
        ("n_layer: 1", "n_layer: 100000", "model.n_layer: Input should be less than or equal"),
        ("seed: 1234", "seed: 1234\nseed: 7", "key 'seed' appears twice (line"),
        ("batch_size: 8", "batch_size: -8", "batch_size: Input should be greater than 0"),
    ],
)
def test_impossible_configs_are_one_line_errors_naming_the_key(home, old, new, needle):
    ok("init", "x", "--preset", "tiny")
    path = home / "x" / "run.yaml"
    path.write_text(path.read_text().replace(old, new, 1))
    one_line_error(cli("plan", "x"), "run.yaml: ", needle)


def test_a_yaml_that_is_not_a_mapping_is_a_one_line_error(home):
    ok("init", "x", "--preset", "tiny")
    (home / "x" / "run.yaml").write_text("- just\n- a list\n")
    one_line_error(cli("plan", "x"), "expected a mapping of sections")


def test_export_checks_its_target_before_writing(trained, home, tmp_path):
    one_line_error(cli("export", "nope"), "no run 'nope'")
    ok("init", "fresh", "--preset", "tiny")
    one_line_error(cli("export", "fresh"), "no final checkpoint; run `svglm train fresh` first")

    out = tmp_path / "out"
    out.mkdir()
    gguf = out / "m.gguf"
    ok("export", "r", "--format", "gguf", "--out", str(gguf))
    one_line_error(cli("export", "r", "-f", "gguf", "--out", str(gguf)), "exists; pass --force")
    ok("export", "r", "-f", "gguf", "--out", str(gguf), "--force")
    one_line_error(cli("export", "r", "-f", "gguf", "--out", str(out)), "is a folder")
    one_line_error(cli("export", "r", "-f", "hf", "--out", str(gguf)), "is a file")
    one_line_error(
        cli("export", "r", "-f", "gguf", "--out", str(gguf / "inside.gguf")), "cannot write"
    )
    # the file and its companions (card, content, grammar); no temporary file left
    names = ["m.content.json", "m.gguf", "m.grammar.lark", "m.md"]
    assert sorted(p.name for p in out.iterdir()) == names


def test_export_into_a_read_only_folder_is_a_one_line_error(trained, tmp_path, monkeypatch):
    """Root ignores permission bits, so the refusal the OS would give is made here."""
    read_only = tmp_path / "ro"
    real_mkdir = type(tmp_path).mkdir

    def mkdir(self, *args, **kwargs):
        if read_only in (self, *self.parents):
            raise PermissionError(13, "Permission denied", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(type(tmp_path), "mkdir", mkdir)
    one_line_error(cli("export", "r", "--out", str(read_only / "hf")), "Permission denied")


@pytest.mark.parametrize(
    "file, needle",
    [
        ("tokenizer/tokenizer.json", "not a valid tokenizer file"),
        ("checkpoints/sft-final/model.safetensors", "does not match its sha256"),
        ("checkpoints/sft-final/state.pt", "does not match its sha256"),
        ("checkpoints/manifest.json", "not valid JSON"),
    ],
)
def test_truncated_files_are_one_line_errors_naming_the_file(trained, file, needle):
    path = trained.root / file
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    one_line_error(cli("export", "r", "--force"), file.split("/")[-1], needle)


def test_bad_gguf_files_are_one_line_errors(trained, home, tmp_path):
    one_line_error(cli("init", "g1", "--from-gguf", str(tmp_path)), "not a GGUF file")
    path = tmp_path / "m.gguf"
    ok("export", "r", "-f", "gguf", "--out", str(path))
    data = bytearray(path.read_bytes())
    data[8:16] = (2**62).to_bytes(8, "little")  # a tensor count no file can hold
    path.write_bytes(bytes(data))
    one_line_error(cli("init", "g2", "--from-gguf", str(path)), "not a readable GGUF file")
    assert not (home / "g1").exists() or not (home / "g1" / "run.yaml").exists()


# -- train --force ------------------------------------------------------------------------------
def test_train_force_retrains_from_scratch(trained):
    marker = trained.checkpoints / "marker"  # only starting over removes the whole folder
    marker.write_text("")
    before = weights(trained)
    curve = [(r["stage"], r["step"], r["loss"]) for r in ledger_records(trained)]
    result = ok("train", "r", "--force")
    assert "> train" in result.output and not marker.exists()
    assert weights(trained) == before  # the same deterministic training, done again
    assert [(r["stage"], r["step"], r["loss"]) for r in ledger_records(trained)] == curve
