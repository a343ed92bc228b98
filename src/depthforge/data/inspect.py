"""``depthforge inspect``: what a dataset holds, and warnings when its depth scale or intrinsics look wrong."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from depthforge.data.base import DepthDataset

# Plausible metric depth for the scenes depth datasets record (indoor ~0.5-10 m, outdoor up to ~100 m).
MEDIAN_DEPTH_RANGE_M = (0.05, 200.0)
PLAUSIBLE_FOV_DEG = (10.0, 170.0)


@dataclass
class DatasetStats:
    """Summary statistics of a dataset (depth in metres over valid pixels of the inspected samples)."""

    name: str
    count: int
    inspected: int
    image_sizes: Counter = field(default_factory=Counter)
    valid_fraction: float = 0.0
    depth_min: float = math.nan
    depth_max: float = math.nan
    depth_percentiles: dict[int, float] = field(default_factory=dict)
    intrinsics: Counter = field(default_factory=Counter)
    empty_ids: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _k_summary(K: torch.Tensor | None) -> str:
    if K is None:
        return "unknown"
    fx, fy, cx, cy = (float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2]))
    return f"fx={fx:.2f} fy={fy:.2f} cx={cx:.2f} cy={cy:.2f}"


def inspect_dataset(
    dataset: DepthDataset,
    *,
    max_samples: int | None = 200,
    percentiles: tuple[int, ...] = (1, 5, 50, 95, 99),
    progress: Callable[[int, int], None] | None = None,
) -> DatasetStats:
    """Read up to ``max_samples`` samples (evenly spread over the dataset) and summarise them.

    Depth percentiles are computed over a uniform subsample of valid pixels of each inspected image
    (at most 10 000 per image), so large datasets stay fast.
    """
    n = len(dataset)
    take = n if max_samples is None else min(n, max_samples)
    indices = sorted({round(i * (n - 1) / max(take - 1, 1)) for i in range(take)}) if n else []
    stats = DatasetStats(name=dataset.name, count=n, inspected=len(indices))
    pooled: list[torch.Tensor] = []
    valid_px = total_px = 0
    focal_warned = False
    for done, index in enumerate(indices, 1):
        sample = dataset[index]
        h, w = sample.size
        stats.image_sizes[f"{w}x{h}"] += 1
        stats.intrinsics[_k_summary(sample.K)] += 1
        valid = sample.depth[sample.mask]
        valid_px += valid.numel()
        total_px += h * w
        if valid.numel() == 0:
            stats.empty_ids.append(sample.id)
        else:
            step = max(1, valid.numel() // 10_000)
            pooled.append(valid[::step].double())
        if sample.K is not None and not focal_warned:
            fov = math.degrees(2 * math.atan(w / (2 * float(sample.K[0, 0]))))
            if not PLAUSIBLE_FOV_DEG[0] <= fov <= PLAUSIBLE_FOV_DEG[1]:
                stats.warnings.append(
                    f"sample {sample.id}: fx={float(sample.K[0, 0]):.1f} px gives a {fov:.1f}° field "
                    f"of view at width {w}: are the intrinsics for another image size?"
                )
                focal_warned = True
        if progress is not None:
            progress(done, len(indices))
    stats.valid_fraction = valid_px / total_px if total_px else 0.0
    if pooled:
        depths = torch.cat(pooled)
        stats.depth_min, stats.depth_max = float(depths.min()), float(depths.max())
        q = torch.quantile(
            depths, torch.tensor([p / 100 for p in percentiles], dtype=torch.float64)
        )
        stats.depth_percentiles = {p: float(v) for p, v in zip(percentiles, q, strict=True)}
        median = float(depths.median())
        if median > MEDIAN_DEPTH_RANGE_M[1]:
            stats.warnings.append(
                f"median depth {median:.1f} 'm' is implausible: millimetres read as metres? "
                "(check the depth scale, e.g. png16 with scale 1000)"
            )
        elif median < MEDIAN_DEPTH_RANGE_M[0]:
            stats.warnings.append(
                f"median depth {median:.4f} m is implausibly small: depth divided twice, or "
                "disparity read as depth?"
            )
    if stats.inspected and len(stats.empty_ids) == stats.inspected and dataset.name != "diw":
        stats.warnings.append("no inspected sample has any valid depth")
    elif stats.empty_ids:
        stats.warnings.append(f"{len(stats.empty_ids)} inspected samples have no valid depth")
    return stats
