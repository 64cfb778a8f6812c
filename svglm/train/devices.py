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


def native_bf16(device: torch.device) -> bool:
    """Whether the device multiplies bf16 in hardware (AVX512-BF16 or AMX on a CPU, Ampere or
    newer on CUDA); elsewhere bf16 is emulated and several times slower than fp32."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        return any(getattr(torch.cpu, probe, lambda: False)() for probe in probes)
    return False


def resolve_precision(name: str, device: torch.device) -> str:
    """`auto` is bf16 where the device multiplies bf16 natively, fp32 elsewhere: on this
    project's AVX512-BF16 CPU bf16 autocast trained the demo 1.36x faster to the same probe
    scores (bench/README.md)."""
    if name != "auto":
        return name
    return "bf16" if native_bf16(device) else "fp32"


def autocast(device: torch.device, precision: str) -> AbstractContextManager:
    """The context the forward pass runs in: bf16 autocast, or nothing for fp32."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return nullcontext()
