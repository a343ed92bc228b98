"""Reference predictors that need no learning: the floor any trained model must beat."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from depthforge.data.base import DepthDataset
from depthforge.errors import DataError


def weighted_median(values: torch.Tensor, weights: torch.Tensor) -> float:
    """The smallest ``v`` with ``Σ_{values ≤ v} w ≥ ½ Σ w`` (a minimiser of ``Σ w |values − v|``)."""
    order = torch.argsort(values)
    cum = torch.cumsum(weights[order].double(), 0)
    k = int(torch.searchsorted(cum, 0.5 * cum[-1]))
    return float(values[order][min(k, values.numel() - 1)])


def best_constant_depth(dataset: DepthDataset, max_pixels_per_image: int = 20_000) -> float:
    """The constant depth ``c`` (metres) minimising the pooled AbsRel ``mean |g − c| / g``.

    ``Σ |g − c| / g`` is a weighted L1 in ``c`` with weights ``1/g``, so the minimiser is the
    ``1/g``-weighted median of the ground truth (pooled over a uniform subsample of each image).
    """
    pooled = []
    for sample in dataset:
        g = sample.depth[sample.mask]
        if g.numel():
            pooled.append(g[:: max(1, g.numel() // max_pixels_per_image)].double())
    if not pooled:
        raise DataError(None, f"{dataset.name}: no valid depth to fit a constant baseline on")
    g = torch.cat(pooled)
    return weighted_median(g, 1.0 / g)


def write_constant_predictions(
    dataset: DepthDataset,
    depth_m: float,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write a constant ``depth_m`` prediction for every sample of ``dataset`` into ``out_dir``.

    Files follow the prediction layout ``depthforge eval`` reads (``<id>.npy``, float32 metres).
    Returns the number of files written.
    """
    from depthforge.eval.predictions import prediction_filename
    from depthforge.io.depth import save_depth_npy
    from depthforge.io.image import refuse_overwrite

    out = Path(out_dir)
    refuse_overwrite(out, overwrite, folder=True)
    n = len(dataset)
    for i, sample in enumerate(dataset, 1):
        h, w = sample.size
        save_depth_npy(
            out / prediction_filename(sample.id, ".npy"), torch.full((h, w), depth_m).numpy()
        )
        if progress is not None:
            progress(i, n)
    return n
