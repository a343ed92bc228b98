"""Aperture supervision (Srinivasan et al. 2018): the pairs, the loss and the recipe."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from depthforge.data.collate import collate_samples
from depthforge.errors import DepthforgeError
from depthforge.render.aperture_pairs import AperturePairs
from depthforge.render.depth import fill_depth_holes
from depthforge.render.dof import render_dof
from depthforge.train.config import load_config, resolve_recipe
from depthforge.train.run import build_training
from depthforge.train.strategies import STRATEGIES
from depthforge.train.strategies.aperture import ApertureSupervision, build_aperture, dof_targets
from depthforge.types import OutputSpace, Sample

SOURCE = {"dataset": "synth", "options": {"scenes": 1, "frames": 2, "size": [64, 48], "pairs": 0}}
# A wider aperture than the recipe's: at 64 px width the blur must still span several pixels.
LENS = {"f_number": 1.0, "focal_mm": 85.0, "sensor_width_mm": 36.0}


@pytest.fixture(scope="module")
def pairs() -> AperturePairs:
    return AperturePairs(split="train", source=SOURCE, seed=3, **LENS)


@pytest.fixture(scope="module")
def batch(pairs):
    return collate_samples([pairs[0], pairs[1]])


def strategy(**kwargs) -> ApertureSupervision:
    defaults = dict(layers=16, softness=0.3, smoothness_weight=0.0)
    return ApertureSupervision(OutputSpace.METRIC_DEPTH, **{**defaults, **kwargs})


def test_target_is_the_reference_render_of_the_ground_truth(pairs):
    sample = pairs[1]
    lens = sample.meta["lens"]
    assert {k: lens[k] for k in LENS} == LENS
    valid = sample.depth[sample.mask]
    assert valid.min() <= lens["focus_m"] <= valid.max()
    expected = render_dof(
        sample.image.permute(1, 2, 0).numpy(), fill_depth_holes(sample.depth[0].numpy()), **lens
    )
    target = sample.meta["dof_target"]
    assert target.shape == (3, 48, 64) and target.dtype == torch.float32
    np.testing.assert_array_equal(target.permute(1, 2, 0).numpy(), expected)
    assert (target - sample.image).abs().mean() > 1e-3  # the lens really blurs


def test_pairs_are_fixed_per_seed_and_index(pairs):
    again = AperturePairs(split="train", source=SOURCE, seed=3, **LENS)
    other = AperturePairs(split="train", source=SOURCE, seed=4, **LENS)
    assert again[0].meta["lens"] == pairs[0].meta["lens"]
    assert torch.equal(again[0].meta["dof_target"], pairs[0].meta["dof_target"])
    assert other[0].meta["lens"]["focus_m"] != pairs[0].meta["lens"]["focus_m"]


def test_bad_focus_quantiles_are_refused():
    with pytest.raises(DepthforgeError, match="focus_quantiles"):
        AperturePairs(source=SOURCE, focus_quantiles=(0.5, 0.2))


def test_loss_with_true_depth_is_the_small_soft_vs_hard_discrepancy(batch):
    targets, lenses = dof_targets(batch)
    st = strategy()
    loss, logs = st.loss(batch.image, batch.depth, targets, lenses)
    # The loss with the true depth is exactly the renderer discrepancy, computed independently:
    soft = st.render(batch.image, batch.depth, lenses)
    assert loss.item() == pytest.approx((soft - targets).abs().mean().item(), rel=1e-6)
    # ... which is small next to the blur itself (the target vs. the sharp image) ...
    blur = (targets - batch.image).abs().mean().item()
    assert loss.item() < 0.25 * blur
    # ... while a constant depth at the scene median, or a depth 1.5× too far, explains the
    # target clearly worse.
    median = float(batch.depth[batch.mask].median())
    constant, _ = st.loss(batch.image, torch.full_like(batch.depth, median), targets, lenses)
    farther, _ = st.loss(batch.image, 1.5 * batch.depth, targets, lenses)
    assert constant.item() > 2.0 * loss.item()
    assert farther.item() > 1.5 * loss.item()
    assert logs["tv"] > 0


def test_gradients_reach_the_depth_and_point_towards_the_truth(batch):
    targets, lenses = dof_targets(batch)
    depth = (1.5 * batch.depth).requires_grad_(True)
    loss, _ = strategy().loss(batch.image, depth, targets, lenses)
    loss.backward()
    grad = depth.grad[batch.mask]
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0
    # A small step against the gradient lowers the loss.
    with torch.no_grad():
        stepped = depth - 0.5 * depth.grad / depth.grad.abs().max()
        lower, _ = strategy().loss(batch.image, stepped, targets, lenses)
    assert lower.item() < loss.item()


class ConstantDepth(nn.Module):
    """A 'model' predicting one learnable depth everywhere (metres)."""

    output_space = OutputSpace.METRIC_DEPTH

    def __init__(self, depth: float):
        super().__init__()
        self.depth = nn.Parameter(torch.tensor(depth))

    def forward(self, images):
        return self.depth.expand(images.shape[0], 1, *images.shape[-2:])


def test_strategy_ignores_the_depth_ground_truth(batch):
    st, model = strategy(smoothness_weight=0.01), ConstantDepth(2.0)
    loss, logs = st(model, batch)
    blanked = replace(batch, depth=torch.zeros_like(batch.depth), mask=~batch.mask)
    again, _ = st(model, blanked)
    assert loss.item() == again.item() and set(logs) == {"l1", "tv"}
    loss.backward()
    assert model.depth.grad is not None and model.depth.grad != 0


def test_builder_and_missing_targets_are_reported(batch):
    assert STRATEGIES["aperture"] is build_aperture
    with pytest.raises(DepthforgeError, match="aperture_l1"):
        build_aperture("berhu", {}, OutputSpace.METRIC_DEPTH)
    with pytest.raises(DepthforgeError, match="depth_range"):
        build_aperture("aperture_l1", {"depth_range": [2.0, 1.0]}, OutputSpace.METRIC_DEPTH)
    plain = Sample(image=batch.image[0], depth=batch.depth[0], mask=batch.mask[0], meta={})
    with pytest.raises(DepthforgeError, match="aperture_pairs"):
        strategy()(ConstantDepth(2.0), collate_samples([plain]))


def test_synth_aperture_recipe_trains_two_steps(tmp_path):
    source = "{dataset: synth, options: {scenes: 1, frames: 2, size: [64, 48], pairs: 0}}"
    cfg = load_config(
        resolve_recipe("synth_aperture"),
        [
            f"out_dir={tmp_path / 'run'}",
            "loop.steps=2",
            "loop.batch_size=2",
            "loop.val_every=2",
            "loop.ckpt_every=2",
            "model.overrides.input_size=[48,64]",
            "loss.kwargs.layers=8",
            f"train_data.options.source={source}",
            "val_data.options={scenes: 1, frames: 1, size: [64, 48], pairs: 0}",
        ],
    )
    assert cfg.strategy == "aperture" and cfg.align is None and cfg.protocol == "dense"
    run = build_training(cfg)
    result = run.trainer.fit()
    assert len(result.losses) == 2 and all(math.isfinite(v) for v in result.losses)
    assert (tmp_path / "run" / "best.pt").is_file()
