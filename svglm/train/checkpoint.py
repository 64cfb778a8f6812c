"""Checkpoints: safetensors weights plus a small state file, found through a manifest, and the
trained model that later steps (probe, export) load.

The state file (optimizer, step, data position, RNG) holds only tensors and plain values, so
it loads with `torch.load(..., weights_only=True)`. The manifest records the newest checkpoint
and each stage's final one; nothing is found by guessing folder names.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_model, save_model

from svglm.config import RunConfig
from svglm.errors import CheckpointError
from svglm.files import atomic_write_json, read_json
from svglm.model.transformer import Decoder
from svglm.runs import RunDir
from svglm.tokenizer.bpe import SvglmTokenizer
from svglm.train.architecture import model_config


def empty_manifest(fingerprint: str) -> dict[str, Any]:
    return {
        "schema": "svglm.checkpoints/1",
        "fingerprint": fingerprint,
        "latest": None,
        "finals": {},
    }


def manifest(run: RunDir) -> dict[str, Any]:
    return read_json(run.checkpoint_manifest)


def save_checkpoint(
    run: RunDir, model: torch.nn.Module, state: dict[str, Any], stage: str, step: int, final: bool
) -> Path:
    """Write weights and state into a fresh folder, then point the manifest at it."""
    folder = run.checkpoint(stage, step, final)
    tmp = folder.with_name(f".{folder.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    weights, state_file = run.checkpoint_files(tmp)
    save_model(model, str(weights))
    torch.save(state, state_file)
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    record = manifest(run)
    previous = record["latest"]
    record["latest"] = {"stage": stage, "step": step, "path": folder.name, "final": final}
    if final:
        record["finals"][stage] = folder.name
    atomic_write_json(run.checkpoint_manifest, record)
    # Only the newest intermediate checkpoint is kept; stage finals stay.
    if previous and not previous["final"] and previous["path"] != folder.name:
        shutil.rmtree(run.checkpoints / previous["path"], ignore_errors=True)
    return folder


def latest(run: RunDir) -> dict[str, Any] | None:
    return manifest(run)["latest"]


def final_of(run: RunDir, stage: str) -> Path | None:
    if not run.checkpoint_manifest.exists():
        return None
    name = manifest(run)["finals"].get(stage)
    return run.checkpoints / name if name else None


def load_weights(model: torch.nn.Module, folder: Path) -> None:
    load_model(model, str(RunDir.checkpoint_files(folder)[0]))


def load_state(folder: Path) -> dict[str, Any]:
    return torch.load(RunDir.checkpoint_files(folder)[1], weights_only=True)


def load_trained(run: RunDir, cfg: RunConfig) -> tuple[Decoder, SvglmTokenizer]:
    """The model at the last stage's final checkpoint, in eval mode, with its tokenizer."""
    final = final_of(run, cfg.stages[-1].name)
    if final is None:
        raise CheckpointError(
            f"{run.name}: no final checkpoint; run `svglm train {run.name}` first"
        )
    tok = SvglmTokenizer.load(run.tokenizer_json)
    model = Decoder(model_config(run, cfg, tok.vocab_size))
    load_weights(model, final)
    return model.eval(), tok
