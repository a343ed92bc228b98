"""Distributed data parallel set-up: ``torchrun --nproc_per_node N -m depthforge train ...``."""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def init_from_env() -> tuple[int, int]:
    """Join the process group torchrun describes in the environment (NCCL on GPUs, gloo on CPUs).

    Returns ``(rank, world_size)``; ``(0, 1)`` without torchrun.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend=backend)
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    return rank_and_world()


def rank_and_world() -> tuple[int, int]:
    """``(rank, world_size)`` of the current process group, ``(0, 1)`` when not distributed."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def mean_across_ranks(value: torch.Tensor) -> torch.Tensor:
    """The mean of a scalar over all ranks (the value itself when not distributed)."""
    _, world = rank_and_world()
    if world == 1:
        return value
    reduced = value.detach().clone()
    dist.all_reduce(reduced, op=dist.ReduceOp.SUM)
    return reduced / world


def wrap_model(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """DistributedDataParallel (with synchronised BatchNorm) when distributed, else ``model``."""
    _, world = rank_and_world()
    if world == 1:
        return model
    model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    ids = [device.index] if device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)


def barrier() -> None:
    """Wait for every rank (no-op when not distributed)."""
    if rank_and_world()[1] > 1:
        dist.barrier()
