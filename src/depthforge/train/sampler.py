"""A batch sampler whose batches depend only on (seed, step), so a resumed run sees the same data."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler


class StepBatchSampler(Sampler[list[tuple[int, int]]]):
    """Yields the batches of steps ``start_step .. total_steps − 1`` as ``(index, step)`` keys
    (the step seeds each sample's augmentation, see :mod:`depthforge.transforms.recipe`).

    Epoch ``e`` is a permutation drawn from a generator seeded with ``seed + e``; a step's batch
    is a slice of its epoch's permutation (the incomplete tail of an epoch is dropped). With
    ``num_replicas > 1`` each rank takes an interleaved share of the global batch (distributed
    data parallel), so the union over ranks equals the single-process batch.

    Args:
        dataset_size: number of samples.
        batch_size: global batch size (divisible by ``num_replicas``).
        total_steps: last step (exclusive).
        seed: base seed of the permutations.
        start_step: first step to yield (resuming).
        rank, num_replicas: this process's share of each global batch.
    """

    def __init__(
        self,
        dataset_size: int,
        batch_size: int,
        total_steps: int,
        seed: int,
        start_step: int = 0,
        rank: int = 0,
        num_replicas: int = 1,
    ):
        if dataset_size < batch_size:
            raise ValueError(
                f"dataset has {dataset_size} samples, fewer than one batch of {batch_size}"
            )
        if batch_size % num_replicas:
            raise ValueError(
                f"batch size {batch_size} is not divisible by {num_replicas} processes"
            )
        self.n, self.batch_size, self.total_steps = dataset_size, batch_size, total_steps
        self.seed, self.start_step, self.rank, self.num_replicas = (
            seed,
            start_step,
            rank,
            num_replicas,
        )
        self.steps_per_epoch = dataset_size // batch_size

    def batch_at(self, step: int) -> list[int]:
        """The (rank's share of the) batch of ``step``."""
        epoch, offset = divmod(step, self.steps_per_epoch)
        perm = torch.randperm(self.n, generator=torch.Generator().manual_seed(self.seed + epoch))
        batch = perm[offset * self.batch_size : (offset + 1) * self.batch_size]
        return batch[self.rank :: self.num_replicas].tolist()

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for step in range(self.start_step, self.total_steps):
            yield [(index, step) for index in self.batch_at(step)]

    def __len__(self) -> int:
        return max(0, self.total_steps - self.start_step)
