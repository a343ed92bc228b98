"""The constant-depth baseline: the exact AbsRel minimiser, checked by brute force."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from depthforge.errors import DataError
from depthforge.eval import compute_metrics
from depthforge.eval.baselines import (
    best_constant_depth,
    weighted_median,
    write_constant_predictions,
)
from depthforge.eval.predictions import read_prediction
from depthforge.types import Sample


class Tiny(torch.utils.data.Dataset):
    name = "tiny"

    def __init__(self, depths):
        self.samples = [
            Sample(
                torch.zeros(3, *d.shape),
                torch.as_tensor(d)[None],
                torch.as_tensor(d > 0)[None],
                meta={"id": f"s{i}"},
            )
            for i, d in enumerate(depths)
        ]

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        return self.samples[i]


def test_weighted_median_hand_computed():
    # weights 1, 1, 3: the half-mass point is reached at the third value
    assert weighted_median(torch.tensor([1.0, 2.0, 4.0]), torch.tensor([1.0, 1.0, 3.0])) == 4.0
    assert weighted_median(torch.tensor([3.0, 1.0, 2.0]), torch.ones(3)) == 2.0


def test_best_constant_minimises_pooled_abs_rel_by_brute_force():
    rng = np.random.default_rng(0)
    depths = [rng.uniform(0.5, 8.0, (4, 5)).astype(np.float32) for _ in range(3)]
    depths[1][0, :2] = 0.0  # invalid pixels are ignored
    c = best_constant_depth(Tiny(depths))
    g = np.concatenate([d[d > 0] for d in depths]).astype(np.float64)
    candidates = np.linspace(0.5, 8.0, 20001)
    costs = np.abs(g[None] - candidates[:, None]) / g[None]
    brute = candidates[np.argmin(costs.mean(1))]
    cost = lambda v: np.mean(np.abs(g - v) / g)  # noqa: E731
    assert cost(c) <= cost(brute) + 1e-9
    assert abs(c - brute) < 0.05


def test_constant_predictions_round_trip_and_refuse_to_overwrite(tmp_path):
    data = Tiny([np.full((3, 4), 2.0, np.float32), np.full((3, 4), 4.0, np.float32)])
    assert write_constant_predictions(data, 3.0, tmp_path / "p") == 2
    pred = read_prediction(tmp_path / "p", "s1")
    assert pred.shape == (3, 4) and np.all(pred == 3.0)
    m = compute_metrics(np.full((3, 4), 3.0), np.full((3, 4), 4.0))
    assert m["abs_rel"] == pytest.approx(0.25)
    with pytest.raises(DataError, match="already holds files"):
        write_constant_predictions(data, 3.0, tmp_path / "p")


def test_no_valid_depth_is_a_clear_error():
    with pytest.raises(DataError, match="no valid depth"):
        best_constant_depth(Tiny([np.zeros((2, 2), np.float32)]))
