"""Pretrained checkpoints (a Hugging Face directory or a GGUF file): copy one, read its config,
tokenizer or weights, and grow its embedding for the tokens svglm adds.

Only file formats live here; which checkpoint a run starts from is `svglm/train/architecture.py`'s
business, and adding the DSL atoms to its tokenizer is `svglm/tokenizer/bpe.py`'s.
"""

from __future__ import annotations

import importlib
import shutil
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import torch

from svglm.errors import CheckpointError, DependencyError
from svglm.model.config import ModelConfig
from svglm.model.hf import import_state, load_hf_dir, read_hf_config
from svglm.model.transformer import Decoder

FORMATS = ("hf", "gguf")
HF_FILES = (
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "generation_config.json",
)


def gguf_io() -> ModuleType:
    """svglm.model.gguf_io, imported only when a GGUF file is involved: it needs the optional
    `gguf` package."""
    try:
        return importlib.import_module("svglm.model.gguf_io")
    except ImportError:
        raise DependencyError(
            "GGUF support needs the gguf package: pip install 'svglm[gguf]'"
        ) from None


def copy_base(src: Path, fmt: str, dest: Path) -> Path:
    """Copy a checkpoint into `dest` after checking it loads; returns the copied dir or file."""
    if fmt == "hf":
        load_hf_dir(src)  # fail early, with a reason, on something that is not a model
        dest.mkdir(parents=True, exist_ok=True)
        for f in [*src.glob("*.safetensors"), *(src / n for n in HF_FILES)]:
            if f.exists():
                shutil.copy2(f, dest / f.name)
        return dest
    if not src.is_file():
        raise CheckpointError(f"{src}: not a GGUF file")
    read_base_config(src, "gguf")  # the same early checks for GGUF, without loading weights
    read_base_tokenizer(src, "gguf")
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dest / src.name)
    return dest / src.name


def read_base_config(path: Path, fmt: str) -> ModelConfig:
    """Only the architecture of a checkpoint: no weights are loaded."""
    if fmt == "hf":
        return read_hf_config(path)
    return gguf_io().read_gguf_config(path)


def read_base_tokenizer(path: Path, fmt: str) -> str:
    """The tokenizer.json text of a checkpoint: no weights are loaded."""
    if fmt == "hf":
        return (path / "tokenizer.json").read_text()
    tokenizer_json = gguf_io().read_gguf_tokenizer(path)
    if tokenizer_json is None:
        raise CheckpointError(
            f"{path}: the GGUF file carries no tokenizer.huggingface.json; "
            "svglm needs the exact tokenizer to extend it"
        )
    return tokenizer_json


def read_base(path: Path, fmt: str) -> tuple[ModelConfig, dict[str, torch.Tensor]]:
    """Config and HF-named weights of a checkpoint."""
    if fmt == "hf":
        cfg, state, _ = load_hf_dir(path)
        return cfg, state
    cfg, state, _ = gguf_io().read_gguf(path)
    return cfg, state


def pretrained_model(cfg: ModelConfig, state: dict[str, torch.Tensor], vocab_size: int) -> Decoder:
    """The pretrained model with its embedding (and untied head) resized to `vocab_size`:
    old rows are kept and new rows start at the mean of the old ones."""
    model = Decoder(cfg)
    import_state(model, state)
    if vocab_size == cfg.vocab_size:
        return model
    grown = Decoder(replace(cfg, vocab_size=vocab_size))
    own = model.state_dict()
    with torch.no_grad():
        for name, p in grown.state_dict().items():
            old = own[name]
            if p.shape == old.shape:
                p.copy_(old)
            else:  # embedding or untied head
                p[: old.shape[0]] = old
                p[old.shape[0] :] = old.mean(0)
    return grown
