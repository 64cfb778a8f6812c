"""Where and in what precision a run computes: `train.device` (auto, cpu, cuda, mps),
`train.precision` (fp32, bf16 autocast) and `train.compile`, resolved in one place and used by
training, probing and generation alike.

Weights and optimizer state stay fp32 in every mode; bf16 autocast runs the matmuls in bf16.
Checkpoints are device-independent: weights are saved from and loaded to any device.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager, nullcontext

import torch

from svglm.errors import ConfigError


def resolve_device(name: str) -> torch.device:
    """`auto` is the best device present: CUDA, then Apple's MPS, then the CPU."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    present = {
        "cpu": True,
        "cuda": torch.cuda.is_available(),
        "mps": torch.backends.mps.is_available(),
    }
    if not present.get(name, False):
        raise ConfigError(f"train.device is {name!r}, but this machine has no such device")
    return torch.device(name)


def memory_gb(device: torch.device) -> float:
    """The memory the device has: the GPU's own, or the machine's RAM for the CPU and MPS."""
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).total_memory / 2**30
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def autocast(device: torch.device, precision: str) -> AbstractContextManager:
    """The context the forward pass runs in: bf16 autocast, or nothing for fp32."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return nullcontext()
