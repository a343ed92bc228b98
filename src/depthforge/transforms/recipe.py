"""Transforms named in a recipe, applied with randomness that depends only on
(seed, sample index, training step): resumed and distributed runs see the same augmentations.

A recipe lists them under ``train_data.transforms`` / ``val_data.transforms``, one single-key
mapping each, e.g.::

    transforms:
      - eigen_scale: [1.0, 1.5]
      - random_crop: [228, 304]
      - hflip: 0.5
      - color_jitter: {brightness: 0.2}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from depthforge.errors import DepthforgeError, UnknownNameError
from depthforge.transforms.joint import (
    CenterCrop,
    Compose,
    EigenScale,
    HorizontalFlip,
    RandomCrop,
    Resize,
    Rotation,
)
from depthforge.transforms.photometric import ColorJitter
from depthforge.types import Sample

TRANSFORMS: dict[str, Callable[[Any], Any]] = {
    "resize": lambda size: Resize(size),
    "center_crop": lambda size: CenterCrop(size),
    "random_crop": lambda size: RandomCrop(size),
    "hflip": lambda p: HorizontalFlip(p),
    "eigen_scale": lambda scale_range: EigenScale(tuple(scale_range)),
    "rotation": lambda max_degrees: Rotation(max_degrees),
    "color_jitter": lambda kwargs: ColorJitter(**kwargs),
}


def build_transforms(spec: list[dict[str, Any]]) -> Compose | None:
    """A :class:`~depthforge.transforms.Compose` from a recipe's list (``None`` when empty)."""
    steps = []
    for item in spec:
        if not isinstance(item, dict) or len(item) != 1:
            raise DepthforgeError(
                f"a transform is a single-key mapping like {{resize: [228, 304]}}, got {item!r}"
            )
        ((name, argument),) = item.items()
        if name not in TRANSFORMS:
            raise UnknownNameError("transform", name, TRANSFORMS)
        steps.append(TRANSFORMS[name](argument))
    return Compose(steps) if steps else None


class AugmentedDataset(Dataset):
    """``dataset`` with ``transform`` applied; keys are an index or ``(index, step)``.

    The generator of a sample's random choices is seeded from ``(seed, index, step)`` (NumPy's
    ``SeedSequence``), so the same step of a run always draws the same augmentation, whatever the
    worker, the process or a resume.
    """

    def __init__(self, dataset: Dataset, transform: Compose | None, seed: int = 0):
        self.dataset, self.transform, self.seed = dataset, transform, seed
        self.name = getattr(dataset, "name", "dataset")
        self.ids = getattr(dataset, "ids", ())

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: int | tuple[int, int]) -> Sample:
        index, step = key if isinstance(key, tuple) else (key, 0)
        sample = self.dataset[index]
        if self.transform is None:
            return sample
        state = np.random.SeedSequence([self.seed, index, step]).generate_state(2, dtype=np.uint32)
        generator = torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))
        return self.transform(sample, generator)
