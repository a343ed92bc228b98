"""Labelled source samples paired with unlabelled target-domain images, for domain adaptation.

:class:`DomainPairs` yields each sample of a *source* dataset (image, depth, mask, ... as usual)
with one image of a *target* dataset in ``meta["target_image"]`` (``(3, H, W)`` float32 in
[0, 1]); the target's depth is never read. Which target image goes with source sample ``i`` is
drawn from ``numpy.random.default_rng([seed, i])``: the same for a given (seed, index), whatever
the worker or a resumed run.

Both datasets are *nested specs*, the mapping a recipe's ``train_data`` would hold
(``{dataset, root, split, options, transforms}``); :func:`open_nested` opens one. Transforms
belong in a nested spec, not on the pairing dataset: a geometric transform applied to the pair
would move the image but not the image in ``meta``.

Example recipe fragment::

    train_data:
      dataset: domain_pairs
      split: train
      options:
        source: {dataset: synth, options: {scenes: 300, kind: indoor}}
        target: {dataset: synth, options: {scenes: 300, seed: 7},
                 transforms: [{color_jitter: {gamma: [1.8, 2.2]}}]}
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from depthforge.data.registry import open_dataset
from depthforge.errors import DataError, DepthforgeError
from depthforge.transforms.recipe import AugmentedDataset, build_transforms
from depthforge.types import Sample

NESTED_KEYS = {"dataset", "root", "split", "options", "transforms"}


def open_nested(spec: dict[str, Any], split: str | None, seed: int = 0) -> Dataset:
    """Open a nested dataset spec ``{dataset, root?, split?, options?, transforms?}``.

    ``split`` is used when the spec names none; ``transforms`` (the recipe's list format) are
    applied with randomness seeded by ``(seed, index)`` (:mod:`depthforge.transforms.recipe`).

    Raises:
        DepthforgeError: a spec that is not a mapping with ``dataset``, or has unknown keys.
        DataError: a dataset with no samples.
    """
    if not isinstance(spec, dict) or "dataset" not in spec:
        raise DepthforgeError(f"a nested dataset is a mapping with a 'dataset' key, got {spec!r}")
    unknown = set(spec) - NESTED_KEYS
    if unknown:
        raise DepthforgeError(
            f"unknown key(s) {sorted(unknown)} in nested dataset {spec['dataset']!r}; "
            f"known: {sorted(NESTED_KEYS)}"
        )
    root = spec.get("root")
    dataset = open_dataset(
        spec["dataset"], root, split=spec.get("split", split), **spec.get("options", {})
    )
    if len(dataset) == 0:
        raise DataError(root, f"no samples in nested dataset {spec['dataset']!r}")
    transform = build_transforms(spec.get("transforms", []))
    return dataset if transform is None else AugmentedDataset(dataset, transform, seed)


class DomainPairs(Dataset):
    """Source samples, each with a target-domain image in ``meta["target_image"]``.

    Args:
        root: unused (the nested specs carry their own roots); accepted for ``open_dataset``.
        split: the split of both nested datasets unless they name their own.
        source: nested spec of the labelled source data set.
        target: nested spec of the unlabelled target data set (its images must have the
            source's size).
        seed: seeds the choice of target image per index.

    ``__getitem__(i)`` returns source sample ``i`` with ``meta["target_image"]`` ``(3, H, W)``
    and ``meta["target_id"]``.
    """

    name = "domain_pairs"

    def __init__(
        self,
        root: str | None = None,
        split: str | None = None,
        *,
        source: dict[str, Any],
        target: dict[str, Any],
        seed: int = 0,
    ):
        self.source = open_nested(source, split, seed)
        self.target = open_nested(target, split, seed + 1)
        self.target_spec, self.seed = target, int(seed)
        self.ids = list(getattr(self.source, "ids", range(len(self.source))))

    def __len__(self) -> int:
        return len(self.source)

    def target_index(self, index: int) -> int:
        """The target image paired with source sample ``index`` (fixed per (seed, index))."""
        return int(np.random.default_rng([self.seed, index]).integers(len(self.target)))

    def __getitem__(self, index: int) -> Sample:
        sample = self.source[index]
        other = self.target[self.target_index(index)]
        if other.size != sample.size:
            raise DataError(
                self.target_spec.get("root"),
                f"target image {other.id!r} of {self.target_spec['dataset']!r} is "
                f"{other.size[1]}×{other.size[0]} but source sample {sample.id!r} is "
                f"{sample.size[1]}×{sample.size[0]} (W×H): give both the same size",
            )
        meta = {**sample.meta, "target_image": other.image, "target_id": other.id}
        return replace(sample, meta=meta)
