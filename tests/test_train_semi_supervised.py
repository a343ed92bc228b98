"""Semi-supervised strategy (Kuznietsov et al. 2017): hand-built stereo batches and the recipe."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from depthforge.data.collate import Batch
from depthforge.errors import DepthforgeError
from depthforge.train.config import load_config, resolve_recipe
from depthforge.train.run import build_training
from depthforge.train.strategies import STRATEGIES
from depthforge.train.strategies.semi_supervised import (
    SemiSupervised,
    alignment_error,
    disparity_from_inverse_depth,
    straight_through_clamp,
)
from depthforge.types import OutputSpace

# A fronto-parallel textured plane at Z = 2 m seen by a rectified pair with f = 32 px and
# B = 0.25 m: disparity f·B/Z = 4 px exactly, so left(u) = right(u − 4).
H, W, FOCAL, BASELINE, PLANE_DEPTH, DISPARITY = 24, 48, 32.0, 0.25, 2.0, 4


def plane_batch() -> Batch:
    g = torch.Generator().manual_seed(0)
    right = F.interpolate(torch.rand(1, 3, 7, 13, generator=g), size=(H, W), mode="bilinear")
    left = torch.roll(right, shifts=DISPARITY, dims=-1)  # columns u < 4 wrap: no true match
    lidar = torch.zeros(1, 1, H, W, dtype=torch.bool)
    lidar[:, :, ::6, ::5] = True  # sparse "LiDAR" points, all on the plane
    K = torch.tensor([[[FOCAL, 0.0, W / 2], [0.0, FOCAL, H / 2], [0.0, 0.0, 1.0]]])
    return Batch(
        image=left,
        depth=torch.where(lidar, PLANE_DEPTH, 0.0),
        mask=lidar,
        K=K,
        stereo_image=right,
        baseline=torch.tensor([BASELINE]),
    )


class FixedDepth(nn.Module):
    """A 'model' predicting a fixed depth per view (left rows first, then right), times a
    learnable ``scale`` (1)."""

    def __init__(self, *depths: float):
        super().__init__()
        self.depths, self.scale = depths, nn.Parameter(torch.ones(()))

    def forward(self, images):
        values = torch.tensor(self.depths[: images.shape[0]]).reshape(-1, 1, 1, 1)
        return values.expand(images.shape[0], 1, *images.shape[-2:]) * self.scale


def exact_strategy(**kwargs) -> SemiSupervised:
    """No image blur and no fade-in, so the terms can be checked exactly."""
    return SemiSupervised(OutputSpace.METRIC_DEPTH, blur_sigma=0.0, fade_in=0.0, **kwargs)


def test_true_depth_aligns_the_views_and_fits_the_lidar():
    loss, logs = exact_strategy()(FixedDepth(PLANE_DEPTH, PLANE_DEPTH), plane_batch())
    assert logs["alignment"] < 1e-5  # both directions, on pixels whose match is in view
    assert logs["sparse"] == 0.0
    assert logs["smoothness"] == 0.0
    assert float(loss.detach()) < 1e-5


def test_depth_off_by_a_factor_raises_both_terms():
    _, logs = exact_strategy()(FixedDepth(2 * PLANE_DEPTH, 2 * PLANE_DEPTH), plane_batch())
    # every LiDAR residual is 1/4 − 1/2 = −1/4, so berHu's c = 0.2·1/4 = 1/20 < 1/4 and each
    # point costs (r² + c²)/(2c) = (1/16 + 1/400)/(1/10) = 0.65.
    assert logs["sparse"] == pytest.approx(0.65, rel=1e-5)
    assert logs["alignment"] > 0.02  # measured 0.125: a 2-px misalignment of the texture


def test_the_right_view_term_is_counted():
    left_only = exact_strategy(both_views=False)
    wrong_right = FixedDepth(PLANE_DEPTH, 2 * PLANE_DEPTH)  # right view's depth is wrong
    assert left_only(wrong_right, plane_batch())[1]["alignment"] < 1e-5
    assert exact_strategy()(wrong_right, plane_batch())[1]["alignment"] > 0.01


def test_alignment_error_marks_matches_outside_the_other_image():
    batch = plane_batch()
    disparity = torch.full((1, 1, H, W), float(DISPARITY))
    error, inside = alignment_error(batch.image, batch.stereo_image, disparity)
    assert not inside[..., :DISPARITY].any() and inside[..., DISPARITY:].all()
    assert error[inside].abs().max() < 1e-5
    assert error[~inside].mean() > 0.05  # the wrapped columns do not match


def test_disparity_is_focal_times_baseline_times_inverse_depth():
    rho = torch.tensor([0.5, 0.1]).reshape(2, 1, 1, 1).expand(2, 1, 2, 3)
    K = torch.tensor(
        [[[100.0, 0, 0], [0, 90, 0], [0, 0, 1]], [[50.0, 0, 0], [0, 50, 0], [0, 0, 1]]]
    )
    disparity = disparity_from_inverse_depth(rho, K, torch.tensor([0.5, 2.0]))
    assert torch.allclose(disparity[:, 0, 0, 0], torch.tensor([25.0, 10.0]))


def test_straight_through_clamp_clamps_values_but_not_gradients():
    depth = torch.tensor([0.0, 0.05, 3.0], requires_grad=True)
    clamped = straight_through_clamp(depth, 0.1)
    assert torch.equal(clamped.detach(), torch.tensor([0.1, 0.1, 3.0]))
    clamped.sum().backward()
    assert torch.equal(depth.grad, torch.ones(3))


def test_gradient_points_towards_the_true_depth():
    strategy = exact_strategy()
    for depth, sign in ((1.5, -1.0), (3.0, 1.0)):  # too near → push farther, and vice versa
        model = FixedDepth(depth, depth)
        strategy(model, plane_batch())[0].backward()
        assert math.copysign(1.0, float(model.scale.grad)) == sign


def test_supervised_weight_fades_in_over_iterations():
    strategy = SemiSupervised(OutputSpace.METRIC_DEPTH, supervised_weight=0.5)
    assert strategy.supervised_weight_at(1) == pytest.approx(0.5 * math.exp(-10))
    assert strategy.supervised_weight_at(10) == pytest.approx(0.5 * math.exp(-1))
    for expected in (1, 2):
        _, logs = strategy(FixedDepth(PLANE_DEPTH, PLANE_DEPTH), plane_batch())
        assert logs["lambda_t"] == pytest.approx(0.5 * math.exp(-10 / expected))
    assert int(strategy.state_dict()["iteration"]) == 2  # checkpointed with the run


def test_log_depth_models_and_bad_batches():
    log_model = FixedDepth(math.log(PLANE_DEPTH), math.log(PLANE_DEPTH))
    strategy = SemiSupervised(OutputSpace.LOG_DEPTH, blur_sigma=0.0, fade_in=0.0)
    assert strategy(log_model, plane_batch())[1]["sparse"] == pytest.approx(0.0, abs=1e-7)
    batch = plane_batch()
    batch.stereo_image = None
    with pytest.raises(DepthforgeError, match="stereo"):
        exact_strategy()(FixedDepth(1.0), batch)
    with pytest.raises(DepthforgeError, match="unknown semi-supervised loss"):
        STRATEGIES["semi_supervised"]("berhu", {}, OutputSpace.METRIC_DEPTH)


def test_synth_semi_supervised_recipe_trains_two_steps(tmp_path):
    overrides = [
        f"out_dir={tmp_path}",
        "loop.steps=2",
        "loop.batch_size=1",
        "loop.val_every=2",
        "loop.ckpt_every=2",
        "model.overrides.input_size=[48, 64]",
        "train_data.options.scenes=2",
        "train_data.options.frames=1",
        "train_data.options.size=[64, 48]",
        "val_data.options.scenes=1",
        "val_data.options.frames=1",
        "val_data.options.size=[64, 48]",
    ]
    cfg = load_config(resolve_recipe("synth_semi_supervised"), overrides)
    assert cfg.protocol == "dense" and not cfg.val_data.options.get("sparse_points", False)
    run = build_training(cfg)
    assert run.train_set[0].meta["depth_kind"] == "lidar"
    assert run.val_set[0].meta["depth_kind"] == "dense"
    result = run.trainer.fit()
    assert len(result.losses) == 2 and all(np.isfinite(result.losses))
    assert np.isfinite(result.best_metric)
