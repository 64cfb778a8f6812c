"""The model a run trains: its architecture (run.yaml's model section, or the config of the
pretrained checkpoint the run starts from) and its initial weights.

`svglm init --from-hf/--from-gguf` copies a checkpoint into the run and points run.yaml at it
(`start_from_base`); from then on the plan, the trainer and every later step read the
architecture through `model_config`, so they always agree on it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch

from svglm.config import BaseConfig, ModelSection, RunConfig
from svglm.model.config import ModelConfig
from svglm.model.pretrained import copy_base, pretrained_model, read_base, read_base_config
from svglm.model.transformer import Decoder
from svglm.runs import RunDir


def model_config(run: RunDir, cfg: RunConfig, vocab_size: int) -> ModelConfig:
    """The architecture to train, sized for a tokenizer of `vocab_size`."""
    if cfg.base is None:
        return cfg.model.as_model_config(vocab_size)
    base = read_base_config(run.root / cfg.base.path, cfg.base.format)
    return replace(base, vocab_size=vocab_size)


def initial_model(run: RunDir, cfg: RunConfig, vocab_size: int) -> Decoder:
    """Seeded random weights, or the base checkpoint's weights with the embedding grown."""
    torch.manual_seed(cfg.seed)
    if cfg.base is None:
        return Decoder(model_config(run, cfg, vocab_size))
    base_cfg, state = read_base(run.root / cfg.base.path, cfg.base.format)
    return pretrained_model(base_cfg, state, vocab_size)


def start_from_base(cfg: RunConfig, src: Path, fmt: str, run: RunDir) -> RunConfig:
    """Copy a checkpoint into the run and point the config at it. The model section is filled
    in from the checkpoint for the reader (the checkpoint's own config is what trains); the
    training window `seq_len` stays the run's own."""
    copied = copy_base(src, fmt, run.base)
    section = ModelSection.describing(read_base_config(copied, fmt))
    base = BaseConfig(format=fmt, path=str(copied.relative_to(run.root)))
    model = section.model_copy(update={"seq_len": cfg.model.seq_len})
    return cfg.model_copy(update={"base": base, "model": model})
