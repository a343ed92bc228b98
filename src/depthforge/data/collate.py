"""Batching ``Sample`` records for a ``DataLoader``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

import torch

from depthforge.types import Sample

T = TypeVar("T")

_STACKED = (
    "image",
    "depth",
    "mask",
    "K",
    "pose",
    "neighbours",
    "neighbour_poses",
    "normals",
    "labels",
)


@dataclass
class Batch:
    """A batch of samples: every tensor of :class:`~depthforge.types.Sample` with a leading ``B``.

    Attributes:
        image: ``(B, 3, H, W)``; depth / mask: ``(B, 1, H, W)``; K: ``(B, 3, 3)`` or ``None``.
        pairs: ``(B, N, 4)`` padded to the largest ``N`` in the batch; relations ``(B, N)``;
            pair_mask ``(B, N)`` bool, False on padding.
        stereo_image: ``(B, 3, H, W)`` right views; baseline ``(B,)`` metres.
        meta: the per-sample ``meta`` dicts.
    """

    image: torch.Tensor
    depth: torch.Tensor
    mask: torch.Tensor
    K: torch.Tensor | None = None
    pose: torch.Tensor | None = None
    neighbours: torch.Tensor | None = None
    neighbour_poses: torch.Tensor | None = None
    normals: torch.Tensor | None = None
    labels: torch.Tensor | None = None
    pairs: torch.Tensor | None = None
    relations: torch.Tensor | None = None
    pair_mask: torch.Tensor | None = None
    stereo_image: torch.Tensor | None = None
    baseline: torch.Tensor | None = None
    meta: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ids(self) -> list[str]:
        """Sample ids in batch order."""
        return [str(m.get("id", "")) for m in self.meta]

    def to(self, device: torch.device | str) -> Batch:
        """A copy with every tensor on ``device``."""
        moved = {
            f.name: (v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v)
            for f in fields(self)
            for v in [getattr(self, f.name)]
        }
        return Batch(**moved)

    def pin_memory(self) -> Batch:
        """Pinned copy (called by ``DataLoader(pin_memory=True)``)."""
        pinned = {
            f.name: (v.pin_memory() if isinstance(v, torch.Tensor) else v)
            for f in fields(self)
            for v in [getattr(self, f.name)]
        }
        return Batch(**pinned)


def _stack_optional(samples: Sequence[Sample], name: str) -> torch.Tensor | None:
    values = [getattr(s, name) for s in samples]
    present = [v is not None for v in values]
    if not any(present):
        return None
    if not all(present):
        raise ValueError(f"cannot batch: some samples have {name} and others do not")
    return torch.stack(values)


def collate_samples(samples: Sequence[Sample]) -> Batch:
    """Stack samples of equal size into a :class:`Batch` (pairs are padded, see ``pair_mask``)."""
    sizes = {s.size for s in samples}
    if len(sizes) > 1:
        raise ValueError(
            f"cannot batch samples of different sizes {sorted(sizes)}: resize or crop first"
        )
    out: dict[str, Any] = {name: _stack_optional(samples, name) for name in _STACKED}
    if any(s.pairs is not None for s in samples):
        n_max = max(0 if s.pairs is None else len(s.pairs) for s in samples)
        b = len(samples)
        out["pairs"] = torch.zeros(b, n_max, 4, dtype=torch.int64)
        out["relations"] = torch.zeros(b, n_max, dtype=torch.int64)
        out["pair_mask"] = torch.zeros(b, n_max, dtype=torch.bool)
        for i, s in enumerate(samples):
            if s.pairs is not None and len(s.pairs):
                n = len(s.pairs)
                out["pairs"][i, :n] = s.pairs
                out["relations"][i, :n] = s.relations
                out["pair_mask"][i, :n] = True
    if any(s.stereo is not None for s in samples):
        if not all(s.stereo is not None for s in samples):
            raise ValueError("cannot batch: some samples have a stereo view and others do not")
        out["stereo_image"] = torch.stack([s.stereo.image for s in samples])
        out["baseline"] = torch.tensor([s.stereo.baseline for s in samples], dtype=torch.float32)
    return Batch(meta=[s.meta for s in samples], **out)


def sample_size(sample: Sample) -> tuple[int, int]:
    """The ``(H, W)`` of a sample."""
    return sample.size


def same_size_runs(
    items: Iterable[T] | Sequence[T],
    batch_size: int,
    size: Callable[[T], object] = sample_size,
) -> Iterator[list[T]]:
    """Consecutive items in runs of at most ``batch_size`` that share one ``size(item)``
    (datasets such as KITTI or COLMAP, or a folder of photos, mix image sizes, which one tensor
    cannot hold). ``items``: an iterable, or a dataset (anything with ``len`` and indexing)."""
    sequence = items
    if hasattr(sequence, "__len__") and hasattr(sequence, "__getitem__"):
        items = (sequence[index] for index in range(len(sequence)))
    pending: list[T] = []
    for item in items:
        if pending and (len(pending) == batch_size or size(pending[0]) != size(item)):
            yield pending
            pending = []
        pending.append(item)
    if pending:
        yield pending
