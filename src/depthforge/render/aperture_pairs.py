"""All-in-focus / shallow depth-of-field training pairs for aperture supervision.

Srinivasan et al. 2018, "Aperture Supervision for Monocular Depth Estimation" (CVPR), train on
pairs of an all-in-focus image and a photo of the same view taken with a wide aperture. Here
the shallow-DoF photo is *rendered* from a source dataset's ground-truth depth by the reference
layered renderer :func:`depthforge.render.dof.render_dof` (holes filled first), for a lens
recorded with the pair. The depth is used only to render the target; a strategy that trains on
these pairs must not read ``Sample.depth`` (validation may).

:class:`AperturePairs` yields source sample ``i`` with

* ``meta["dof_target"]``: ``(3, H, W)`` float32 sRGB in [0, 1], the shallow-DoF image;
* ``meta["lens"]``: ``{"focus_m", "f_number", "focal_mm", "sensor_width_mm"}`` (floats).

The focus distance is the ``q``-quantile of the sample's valid depth, ``q`` drawn uniformly from
``focus_quantiles`` by ``numpy.random.default_rng([seed, i])``: fixed per (seed, index).
Focusing near the front of the scene keeps most of it on one side of the focal plane, where
the blur size tells depth without the front/back ambiguity of ``|1/z − 1/z_f|``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from depthforge.data.domain_pairs import open_nested
from depthforge.errors import DataError, DepthforgeError
from depthforge.render.depth import fill_depth_holes
from depthforge.render.dof import render_dof
from depthforge.render.lens import check_lens
from depthforge.types import Sample


class AperturePairs(Dataset):
    """Source samples with a rendered shallow-DoF target and its lens in ``meta``.

    Args:
        root: unused (the nested spec carries its root); accepted for ``open_dataset``.
        split: the nested dataset's split unless it names its own.
        source: nested spec of an RGB-D dataset (:func:`~depthforge.data.domain_pairs.open_nested`).
        f_number, focal_mm, sensor_width_mm: the lens (the image spans the sensor's width).
            The default, an 85 mm f/1.4 portrait lens on a 36 mm wide (full-frame) sensor, blurs
            an indoor scene focused at ~1.8 m by up to ~10 px of CoC diameter at 160 px width
            (the blur model ignores that such a lens would see a narrower field than the
            synthetic camera).
        focus_quantiles: ``(low, high)`` range of the depth quantile focused on.
        layers: the reference renderer's layer count (``None``: one per pixel of CoC range).
        seed: seeds the focus draw per index.
        cache: keep each rendered pair in memory after its first use (rendering costs far more
            than a training step's share of it; the pairs are fixed per index anyway).
    """

    name = "aperture_pairs"

    def __init__(
        self,
        root: str | None = None,
        split: str | None = None,
        *,
        source: dict[str, Any],
        f_number: float = 1.4,
        focal_mm: float = 85.0,
        sensor_width_mm: float = 36.0,
        focus_quantiles: tuple[float, float] = (0.02, 0.15),
        layers: int | None = None,
        seed: int = 0,
        cache: bool = False,
    ):
        low, high = (float(q) for q in focus_quantiles)
        if not 0.0 <= low <= high <= 1.0:
            raise DepthforgeError(
                f"focus_quantiles must be 0 ≤ low ≤ high ≤ 1, got {tuple(focus_quantiles)}"
            )
        check_lens(1.0e3, f_number, focal_mm, sensor_width_mm)  # focus checked per sample
        self.source = open_nested(source, split, seed)
        self.source_name = source["dataset"]
        self.lens = {
            "f_number": float(f_number),
            "focal_mm": float(focal_mm),
            "sensor_width_mm": float(sensor_width_mm),
        }
        self.focus_quantiles, self.layers, self.seed = (low, high), layers, int(seed)
        self.ids = list(getattr(self.source, "ids", range(len(self.source))))
        self.cache: dict[int, Sample] | None = {} if cache else None

    def __len__(self) -> int:
        return len(self.source)

    def focus_distance(self, index: int, sample: Sample) -> float:
        """Metres: the drawn quantile of the sample's valid depth (kept beyond twice the focal
        length, where a thin lens can focus)."""
        valid = sample.depth[sample.mask]
        if valid.numel() == 0:
            raise DataError(
                None, f"{self.source_name} sample {sample.id!r} has no valid depth to focus on"
            )
        q = np.random.default_rng([self.seed, index]).uniform(*self.focus_quantiles)
        focus = float(torch.quantile(valid.double(), q))
        return max(focus, 2.0e-3 * self.lens["focal_mm"])

    def __getitem__(self, index: int) -> Sample:
        if self.cache is not None and index in self.cache:
            return self.cache[index]
        sample = self.source[index]
        lens = {"focus_m": self.focus_distance(index, sample), **self.lens}
        target = render_dof(
            sample.image.permute(1, 2, 0).numpy(),
            fill_depth_holes(sample.depth[0].numpy()),
            layers=self.layers,
            **lens,
        )
        meta = {
            **sample.meta,
            "dof_target": torch.from_numpy(target).permute(2, 0, 1).contiguous(),
            "lens": lens,
        }
        pair = replace(sample, meta=meta)
        if self.cache is not None:
            self.cache[index] = pair
        return pair
