"""Where and in what precision a run computes: `train.device` (auto, cpu, cuda, mps),
`train.precision` (fp32, bf16 autocast) and `train.compile`, resolved in one place and used by
training, probing and generation alike.

Weights and optimizer state stay fp32 in every mode; bf16 autocast runs the matmuls in bf16.
Checkpoints are device-independent: weights are saved from and loaded to any device. On the
CPU, every `svglm` command keeps the memory it frees mapped (`keep_freed_memory`).
"""

from __future__ import annotations

import ctypes
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


# glibc's mallopt parameters (malloc.h) and the largest mmap threshold it accepts on 64 bits.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD_MAX = 32 * 2**20


def keep_freed_memory() -> bool:
    """Have glibc's malloc keep the memory a process frees, for it to reuse; True if it was set.

    PyTorch's CPU tensors come from malloc. By default glibc hands the top of its heap back to
    the system once a few MB of it are free, and maps blocks over its adaptive threshold afresh,
    so a training step's activations are mapped and page-faulted in again every step (20,000
    minor faults a step at the demo's shape, 2 to 3 ms of each batch-16 prefill while sampling).
    Blocks up to 32 MB from the heap, and the heap trimmed only past 1 GB free, made the demo's
    `svglm train` 3 to 23% faster, as the machine's load went (bench/README.md, "Page faults").
    The process keeps its peak footprint instead. Left alone where the user tunes malloc
    themselves (MALLOC_* variables, GLIBC_TUNABLES, another malloc preloaded) and off glibc."""
    tuned = any(k.startswith("MALLOC_") for k in os.environ)
    if tuned or "GLIBC_TUNABLES" in os.environ or "LD_PRELOAD" in os.environ:
        return False
    libc = ctypes.CDLL(None)  # the process's own symbols
    if not hasattr(libc, "gnu_get_libc_version"):  # musl, macOS: other allocators
        return False
    return bool(
        libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX)
        and libc.mallopt(_M_TRIM_THRESHOLD, 2**30)
    )
