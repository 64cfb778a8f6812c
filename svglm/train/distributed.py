"""Scale-out through PyTorch's own engine: `torchrun --nproc_per_node=N -m svglm train RUN`
starts N processes that train one run with DistributedDataParallel (gloo on the CPU, nccl on
CUDA). This module reads torchrun's environment and wraps the few collective calls the trainer
needs; with one process (the default) every call is a no-op.

The configured batch is global: with N processes each takes every N-th window of each
micro-batch, so a run means the same thing at any world size, and process 0 alone writes.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def is_main() -> bool:
    """The one process that writes artifacts, logs and checkpoints."""
    return rank() == 0


def start(device: torch.device) -> None:
    """Join the process group torchrun set up (once per process)."""
    if world_size() > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")


def stop() -> None:
    """Leave the process group once every process is done with it. A process that exited with
    the group still open now and then aborted in gloo's threads during the interpreter's
    shutdown ("terminate called without an active exception"), failing a finished run."""
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def total(value: float) -> float:
    """The sum of `value` over all processes."""
    if not dist.is_initialized():
        return value
    t = torch.tensor([value], dtype=torch.float64)
    dist.all_reduce(t)
    return float(t.item())


def shard(items: list, index: int | None = None) -> list:
    """This process's share of `items`: every world_size-th one, starting at its rank."""
    return items[(rank() if index is None else index) :: world_size()]
