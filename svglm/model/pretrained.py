"""Starting a run from a pretrained checkpoint (a Hugging Face directory or a GGUF file).

The checkpoint is copied into the run (runs/NAME/base/) so the run stays self-contained. Its
tokenizer gains the DSL's reserved atoms and svglm's special markers as added tokens, and the
embedding grows to match: new rows start at the mean of the pretrained rows.
"""

from __future__ import annotations

import importlib
import json
import shutil
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import torch
from tokenizers import AddedToken, Tokenizer

from svglm.config import BaseConfig, ModelSection, RunConfig
from svglm.model.config import ModelConfig
from svglm.model.hf import config_from_hf, import_state, load_hf_dir
from svglm.model.transformer import Decoder
from svglm.tokenizer.bpe import SPECIALS, SvglmTokenizer


def gguf_io() -> ModuleType:
    """svglm.model.gguf_io, imported only when a GGUF file is involved: it needs the optional
    `gguf` package."""
    try:
        return importlib.import_module("svglm.model.gguf_io")
    except ImportError:
        raise ValueError("GGUF support needs the gguf package: pip install 'svglm[gguf]'") from None


HF_FILES = (
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "generation_config.json",
)


def copy_base(src: Path, fmt: str, dest: Path) -> Path:
    """Copy a checkpoint into the run; returns the copied directory or file."""
    if fmt == "hf":
        load_hf_dir(src)  # fail early, with a reason, on something that is not a model
        dest.mkdir(parents=True, exist_ok=True)
        for f in [*src.glob("*.safetensors"), *(src / n for n in HF_FILES)]:
            if f.exists():
                shutil.copy2(f, dest / f.name)
        return dest
    read_base_config(src, "gguf")  # the same early checks for GGUF, without loading weights
    read_base_tokenizer(src, "gguf")
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dest / src.name)
    return dest / src.name


def start_from_base(cfg: RunConfig, src: Path, fmt: str, run_root: Path) -> RunConfig:
    """Copy the checkpoint into the run and point the config at it. The model section is filled
    in for the reader; the checkpoint's own config is what gets trained."""
    copied = copy_base(src, fmt, run_root / "base")
    base = read_base_config(copied, fmt)
    model = ModelSection(
        family=base.family,
        n_layer=base.n_layer,
        d_model=base.d_model,
        n_head=base.n_head,
        n_kv_head=base.n_kv_head,
        d_ff=base.d_ff,
        seq_len=cfg.model.seq_len,
        rope_theta=base.rope_theta,
    )
    base_cfg = BaseConfig(format=fmt, path=str(copied.relative_to(run_root)))
    return cfg.model_copy(update={"base": base_cfg, "model": model})


def read_base_config(path: Path, fmt: str) -> ModelConfig:
    """Only the architecture of a copied checkpoint: no weights are loaded."""
    if fmt == "hf":
        return config_from_hf(json.loads((path / "config.json").read_text()))
    return gguf_io().read_gguf_config(path)


def read_base_tokenizer(path: Path, fmt: str) -> str:
    """The tokenizer.json text of a copied checkpoint: no weights are loaded."""
    if fmt == "hf":
        return (path / "tokenizer.json").read_text()
    tokenizer_json = gguf_io().read_gguf_tokenizer(path)
    if tokenizer_json is None:
        raise ValueError(
            f"{path}: the GGUF file carries no tokenizer.huggingface.json; "
            "svglm needs the exact tokenizer to extend it"
        )
    return tokenizer_json


def read_base(path: Path, fmt: str) -> tuple[ModelConfig, dict[str, torch.Tensor]]:
    """Config and HF-named weights of a copied checkpoint."""
    if fmt == "hf":
        cfg, state, _ = load_hf_dir(path)
        return cfg, state
    cfg, state, _ = gguf_io().read_gguf(path)
    return cfg, state


def extend_tokenizer(tokenizer_json: str, atoms: list[str]) -> SvglmTokenizer:
    """The pretrained tokenizer plus svglm's markers and one added token per reserved atom."""
    tok = Tokenizer.from_str(tokenizer_json)
    vocab = tok.get_vocab(with_added_tokens=True)
    tok.add_special_tokens(
        [AddedToken(t, special=True, normalized=False) for t in SPECIALS if t not in vocab]
    )
    tok.add_tokens([AddedToken(" " + a, normalized=False) for a in atoms if " " + a not in vocab])
    return SvglmTokenizer(tok)


def pretrained_model(cfg: ModelConfig, state: dict[str, torch.Tensor], vocab_size: int) -> Decoder:
    """The pretrained model with its embedding (and untied head) resized to `vocab_size`."""
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
            else:  # embedding or untied head: keep old rows, new rows at their mean
                p[: old.shape[0]] = old
                p[old.shape[0] :] = old.mean(0)
    return grown
