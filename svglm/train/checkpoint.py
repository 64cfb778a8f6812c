"""Checkpoints: safetensors weights plus a small state file, found through a manifest.

The state file (optimizer, step, data position, RNG) holds only tensors and plain values, so
it loads with `torch.load(..., weights_only=True)`.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_model, save_model

from svglm.runs import atomic_write_json, read_json

MANIFEST = "manifest.json"


def _manifest(root: Path) -> dict[str, Any]:
    path = root / MANIFEST
    return (
        read_json(path)
        if path.exists()
        else {"schema": "svglm.checkpoints/1", "latest": None, "finals": {}}
    )


def save_checkpoint(
    root: Path, model: torch.nn.Module, state: dict[str, Any], stage: str, step: int, final: bool
) -> Path:
    """Write weights and state into a fresh folder, then point the manifest at it."""
    name = f"{stage}-final" if final else f"{stage}-step{step:06d}"
    folder = root / name
    tmp = root / f".{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_model(model, str(tmp / "model.safetensors"))
    torch.save(state, tmp / "state.pt")
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    manifest = _manifest(root)
    previous = manifest["latest"]
    manifest["latest"] = {"stage": stage, "step": step, "path": name, "final": final}
    if final:
        manifest["finals"][stage] = name
    atomic_write_json(root / MANIFEST, manifest)
    # Only the newest intermediate checkpoint is kept; stage finals stay.
    if previous and not previous["final"] and previous["path"] != name:
        shutil.rmtree(root / previous["path"], ignore_errors=True)
    return folder


def latest(root: Path) -> dict[str, Any] | None:
    return _manifest(root)["latest"]


def final_of(root: Path, stage: str) -> Path | None:
    name = _manifest(root)["finals"].get(stage)
    return root / name if name else None


def load_weights(model: torch.nn.Module, folder: Path) -> None:
    load_model(model, str(folder / "model.safetensors"))


def load_state(folder: Path) -> dict[str, Any]:
    return torch.load(folder / "state.pt", weights_only=True)
