"""Checkpoints: safetensors weights plus a small state file per checkpoint, listed with the
sha256 of every file in a manifest; and the trained model that later steps load.

Nothing is found by guessing folder names and nothing is loaded unverified: a file whose hash
does not match the manifest is corrupt, and the state file names the stage and step it was
saved at, so a manifest that points one stage at another stage's checkpoint is caught. The
state file (optimizer, step, data position, RNG, counters) holds only tensors and plain values
and loads with `torch.load(..., weights_only=True)`.
"""

from __future__ import annotations

import pickle
import shutil
from collections.abc import Callable
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_model, save_model

from svglm.artifacts import CheckpointManifest, CheckpointRecord, read_artifact
from svglm.config import RunConfig
from svglm.errors import CheckpointError, TrainError
from svglm.files import TMP_SUFFIX, atomic_write_json, sha256_file
from svglm.model.transformer import Decoder
from svglm.runs import RunDir
from svglm.tokenizer.bpe import SvglmTokenizer
from svglm.train.architecture import model_config


def empty_manifest(fingerprint: str) -> CheckpointManifest:
    return CheckpointManifest(schema="svglm.checkpoints/2", fingerprint=fingerprint, checkpoints=[])


def read_manifest(run: RunDir) -> CheckpointManifest:
    return read_artifact(run.checkpoint_manifest, CheckpointManifest)


def write_manifest(run: RunDir, manifest: CheckpointManifest) -> None:
    atomic_write_json(run.checkpoint_manifest, manifest.model_dump(by_alias=True))


def kept(checkpoints: list[CheckpointRecord], keep_last: int, promoted: str | None) -> set[str]:
    """Which checkpoints retention keeps: every stage's final one, the newest `keep_last`
    intermediate ones, each stage's best by dev loss, and the promoted one."""
    keep = {r.name for r in checkpoints if r.final}
    keep |= {r.name for r in [r for r in checkpoints if not r.final][-keep_last:]}
    for stage in {r.stage for r in checkpoints}:
        scored = [r for r in checkpoints if r.stage == stage and r.dev_loss is not None]
        if scored:  # dev losses compare within a stage only: stages mask the loss differently
            keep.add(min(scored, key=lambda r: (r.dev_loss, -r.step)).name)
    if promoted:
        keep.add(promoted)
    return keep


def save_checkpoint(
    run: RunDir,
    model: torch.nn.Module,
    state: dict[str, Any],
    stage_index: int,
    stage: str,
    step: int,
    final: bool,
    dev_loss: float | None = None,
    keep_last: int = 1,
) -> CheckpointRecord:
    """Write weights and state into a fresh folder, then add it to the manifest and apply the
    retention (see `kept`). A failed write (a full disk) leaves the manifest, and so the
    previous checkpoint, as it was."""
    name = run.checkpoint_name(stage, step, final)
    folder = run.checkpoint(name)
    tmp = folder.with_name(f".{name}{TMP_SUFFIX}")
    shutil.rmtree(tmp, ignore_errors=True)
    weights, state_file = run.checkpoint_files(tmp)
    try:
        tmp.mkdir(parents=True)
        save_model(model, str(weights))
        torch.save({**state, "stage": stage, "step": step}, state_file)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise TrainError(
            f"{folder}: cannot write the checkpoint ({e.strerror}); the previous one is kept"
        ) from None
    hashes = {f.name: sha256_file(f) for f in (weights, state_file)}
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    record = CheckpointRecord(
        name=name,
        stage=stage,
        stage_index=stage_index,
        step=step,
        final=final,
        sha256=hashes,
        dev_loss=dev_loss,
    )
    manifest = read_manifest(run)
    everything = [r for r in manifest.checkpoints if r.name != name] + [record]
    keep = kept(everything, keep_last, manifest.promoted)
    manifest.checkpoints = [r for r in everything if r.name in keep]
    write_manifest(run, manifest)
    for r in everything:  # only once the manifest no longer names them
        if r.name not in keep:
            shutil.rmtree(run.checkpoint(r.name), ignore_errors=True)
    return record


def problem(run: RunDir, record: CheckpointRecord) -> str | None:
    """Why the checkpoint's files cannot be trusted, or None when they can."""
    folder = run.checkpoint(record.name)
    for path in run.checkpoint_files(folder):
        if path.name not in record.sha256:
            return f"the manifest has no hash for {path.name}"
        if not path.is_file():
            return f"{path.name} is missing"
        if sha256_file(path) != record.sha256[path.name]:
            return f"{path.name} does not match its sha256 in the manifest (corrupt)"
    weights, state_file = run.checkpoint_files(folder)
    try:
        with safe_open(str(weights), framework="pt"):
            pass
        state = torch.load(state_file, weights_only=True)
    except (SafetensorError, RuntimeError, EOFError, pickle.UnpicklingError) as e:
        return f"cannot be read ({e.__class__.__name__})"
    if (state.get("stage"), state.get("step")) != (record.stage, record.step):
        return (
            f"it was saved at stage {state.get('stage')} step {state.get('step')}, "
            f"but the manifest lists it as stage {record.stage} step {record.step}"
        )
    return None


def resume_point(run: RunDir, warn: Callable[[str], None]) -> CheckpointRecord | None:
    """The newest checkpoint whose files verify. Newer ones that do not are dropped from the
    manifest (with a warning), so training falls back to the newest good one."""
    manifest = read_manifest(run)
    while manifest.checkpoints:
        record = manifest.checkpoints[-1]
        why = problem(run, record)
        if why is None:
            return record
        warn(f"{run.checkpoint(record.name)}: {why}; falling back to an older checkpoint")
        manifest.checkpoints.pop()
        write_manifest(run, manifest)
        shutil.rmtree(run.checkpoint(record.name), ignore_errors=True)
    return None


def load_checkpoint(
    run: RunDir, record: CheckpointRecord, model: torch.nn.Module
) -> dict[str, Any]:
    """Load verified weights into `model`; returns the state saved with them."""
    folder = run.checkpoint(record.name)
    why = problem(run, record)
    if why is not None:
        raise CheckpointError(f"{folder}: {why}; run `svglm train {run.name}` again")
    weights, state_file = run.checkpoint_files(folder)
    load_model(model, str(weights))
    return torch.load(state_file, weights_only=True)


def final_record(run: RunDir, stage: str) -> CheckpointRecord | None:
    if not run.checkpoint_manifest.exists():
        return None
    return next((r for r in read_manifest(run).checkpoints if r.final and r.stage == stage), None)


def promote(run: RunDir, stage: str, step: int | None = None, best: bool = False) -> str:
    """Choose the checkpoint that probe, generate and export use: a stage's final one, the
    one at `step`, or the one with the lowest dev loss. Returns its name."""
    manifest = read_manifest(run)
    mine = [r for r in manifest.checkpoints if r.stage == stage]
    if not mine:
        stages = sorted({r.stage for r in manifest.checkpoints})
        raise CheckpointError(f"{run.name}: no checkpoints of stage {stage!r} (stages: {stages})")
    if best:
        scored = [r for r in mine if r.dev_loss is not None]
        if not scored:
            raise CheckpointError(f"{run.name}: no checkpoint of stage {stage} has a dev loss")
        record = min(scored, key=lambda r: (r.dev_loss, -r.step))
    else:
        found = [r for r in mine if (r.step == step if step is not None else r.final)]
        if not found:
            steps = ", ".join(str(r.step) for r in mine)
            want = f"at step {step}" if step is not None else "final"
            raise CheckpointError(f"{run.name}: no {want} checkpoint of {stage} (kept: {steps})")
        record = found[0]
    why = problem(run, record)
    if why is not None:
        raise CheckpointError(f"{run.checkpoint(record.name)}: {why}")
    manifest.promoted = record.name
    write_manifest(run, manifest)
    return record.name


def serving_record(run: RunDir, cfg: RunConfig) -> CheckpointRecord:
    """The checkpoint later steps use: the promoted one, else the last stage's final one."""
    if run.checkpoint_manifest.exists():
        manifest = read_manifest(run)
        if manifest.promoted is not None:
            return next(r for r in manifest.checkpoints if r.name == manifest.promoted)
    record = final_record(run, cfg.stages[-1].name)
    if record is None:
        raise CheckpointError(
            f"{run.name}: no final checkpoint; run `svglm train {run.name}` first"
        )
    return record


def load_trained(
    run: RunDir, cfg: RunConfig, device: torch.device | None = None
) -> tuple[Decoder, SvglmTokenizer]:
    """The serving checkpoint's model (see serving_record), verified, in eval mode, on
    `device`, with its tokenizer."""
    record = serving_record(run, cfg)
    tok = SvglmTokenizer.load(run.tokenizer_json)
    model = Decoder(model_config(run, cfg, tok.vocab_size))
    load_checkpoint(run, record, model)
    return model.to(device or torch.device("cpu")).eval(), tok
