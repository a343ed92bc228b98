"""Alignment: exact recovery of known scales/shifts, median by hand, output-space rules."""

from __future__ import annotations

import pytest
import torch

from depthforge.errors import OutputSpaceError
from depthforge.eval import Evaluator, align, check_alignment, compute_metrics
from depthforge.geometry.fit import masked_median


@pytest.fixture
def scene() -> tuple[torch.Tensor, torch.Tensor]:
    """Two images of float64 GT with some invalid pixels, and their valid mask."""
    gen = torch.Generator().manual_seed(0)
    gt = (torch.rand(2, 1, 6, 7, generator=gen, dtype=torch.float64) * 8 + 1).contiguous()
    gt[:, :, 0, :3] = 0.0
    return gt, gt > 0


def test_median_scaling_matches_a_hand_computation():
    gt = torch.tensor([[[[1.0, 2.0, 3.0, 10.0, 0.0]]]])
    pred = torch.tensor([[[[2.0, 2.0, 4.0, 4.0, 100.0]]]])
    depth, fit = align(pred, gt, gt > 0, "median", "scale_invariant_depth")
    ratio = ((2.0 + 3.0) / 2) / ((2.0 + 4.0) / 2)  # even counts: mean of the two middle values
    assert float(fit.scale[0]) == pytest.approx(ratio, rel=1e-15)
    assert depth[0, 0, 0, :4].tolist() == pytest.approx(
        [2 * ratio, 2 * ratio, 4 * ratio, 4 * ratio]
    )


def test_masked_median_is_numpy_median_per_row():
    values = torch.tensor([[5.0, 1.0, 9.0, 7.0], [3.0, 8.0, 2.0, 6.0]], dtype=torch.float64)
    valid = torch.tensor([[True, True, True, False], [True, True, True, True]])
    assert masked_median(values, valid).tolist() == [5.0, 4.5]
    assert torch.isnan(masked_median(values, torch.zeros_like(valid)))[0]


@pytest.mark.parametrize(
    ("mode", "space", "make_pred"),
    [
        ("median", "scale_invariant_depth", lambda g: g * 0.37),
        ("scale", "scale_invariant_depth", lambda g: g * 2.5),
        ("scale_shift", "affine_invariant_depth", lambda g: g * 0.5 - 0.25),
        ("scale_disparity", "scale_invariant_depth", lambda g: g * 3.0),
        ("scale_shift_disparity", "affine_invariant_disparity", lambda g: 2.0 / g + 0.3),
        ("scale_shift_disparity", "metric_depth", lambda g: 1.0 / (0.5 / g + 0.1)),
    ],
)
def test_alignment_recovers_a_known_transform_exactly(scene, mode, space, make_pred):
    gt, valid = scene
    pred = make_pred(torch.where(valid, gt, 1.0))
    pred = torch.where(valid, pred, 123.0)  # invalid pixels must not influence the fit
    depth, _ = align(pred, gt, valid, mode, space)
    assert torch.allclose(depth[valid], gt[valid], rtol=1e-12, atol=0)


def test_fitted_parameters_are_the_inverse_transform(scene):
    gt, valid = scene
    _, fit = align(gt * 0.5 - 0.25, gt, valid, "scale_shift", "affine_invariant_depth")
    assert fit.scale.tolist() == pytest.approx([2.0, 2.0], rel=1e-12)
    assert fit.shift.tolist() == pytest.approx([0.5, 0.5], rel=1e-12)
    _, fit = align(2.0 / gt + 0.3, gt, valid, "scale_shift_disparity", "affine_invariant_disparity")
    assert fit.scale.tolist() == pytest.approx([0.5, 0.5], rel=1e-12)
    assert fit.shift.tolist() == pytest.approx([-0.15, -0.15], rel=1e-12)


def test_each_image_gets_its_own_scale(scene):
    gt, valid = scene
    pred = gt * torch.tensor([2.0, 0.25], dtype=torch.float64).view(2, 1, 1, 1)
    _, fit = align(pred, gt, valid, "scale", "scale_invariant_depth")
    assert fit.scale.tolist() == pytest.approx([0.5, 4.0], rel=1e-12)


def test_least_squares_scale_by_hand():
    gt = torch.tensor([[[[2.0, 3.0]]]])
    pred = torch.tensor([[[[1.0, 2.0]]]])
    _, fit = align(pred, gt, gt > 0, "scale", "metric_depth")
    assert float(fit.scale[0]) == pytest.approx((1 * 2 + 2 * 3) / (1 + 4))  # Σpg / Σp²


def test_singular_system_gives_zero_scale_and_shift_as_midas():
    gt = torch.tensor([[[[1.0, 2.0, 3.0]]]])
    pred = torch.full_like(gt, 4.0)  # constant: det = 0
    _, fit = align(pred, gt, gt > 0, "scale_shift", "affine_invariant_depth")
    assert (float(fit.scale[0]), float(fit.shift[0])) == (0.0, 0.0)


def test_non_positive_aligned_disparity_becomes_the_protocol_maximum():
    gt = torch.tensor([[[[1.0, 2.0, 100.0]]]])
    pred = torch.tensor([[[[1.0, 0.5, -0.5]]]])  # the last point is fitted beyond infinity
    depth, fit = align(pred, gt, gt > 0, "scale_shift_disparity", "affine_invariant_disparity")
    assert float(fit.scale[0] * -0.5 + fit.shift[0]) <= 0
    assert depth[0, 0, 0, 2] == float("inf")
    ev = Evaluator(
        "kitti_benchmark", align="scale_shift_disparity", output_space="affine_invariant_disparity"
    )
    ev.add(pred, gt)
    d0, d1 = (float(x) for x in depth[0, 0, 0, :2])
    want = (abs(d0 - 1.0) / 1.0 + abs(d1 - 2.0) / 2.0 + abs(80.0 - 100.0) / 100.0) / 3
    assert ev.result().metrics["abs_rel"] == pytest.approx(want, rel=1e-12)


def test_log_depth_is_exponentiated(scene):
    gt, valid = scene
    depth, _ = align(torch.log(gt.clamp_min(1e-9)), gt, valid, "none", "log_depth")
    assert torch.allclose(depth[valid], gt[valid], rtol=1e-12)


def test_median_scaled_metrics_are_invariant_to_the_prediction_scale(scene):
    gt, valid = scene
    gen = torch.Generator().manual_seed(1)
    pred = gt * (0.7 + 0.6 * torch.rand(gt.shape, generator=gen, dtype=torch.float64))
    results = []
    for k in (1.0, 0.01, 37.0):
        depth, _ = align(pred * k, gt, valid, "median", "scale_invariant_depth")
        results.append(compute_metrics(depth, gt, valid))
    assert results[1] == pytest.approx(results[0], rel=1e-12)
    assert results[2] == pytest.approx(results[0], rel=1e-12)


@pytest.mark.parametrize(
    ("mode", "space", "hint"),
    [
        ("none", "scale_invariant_depth", "align it with"),
        ("none", "affine_invariant_disparity", "'scale_shift_disparity'"),
        ("scale_shift", "affine_invariant_disparity", "'scale_shift_disparity'"),
        ("median", "affine_invariant_depth", "'scale_shift'"),
        ("median", "ordinal", "WHDR"),
    ],
)
def test_mixing_spaces_raises_an_error_that_names_the_fix(mode, space, hint):
    with pytest.raises(OutputSpaceError, match=hint):
        check_alignment(mode, space)
    with pytest.raises(OutputSpaceError):
        Evaluator("nyu_eigen", align=mode, output_space=space)


def test_metric_depth_is_not_aligned_unless_asked(scene):
    gt, valid = scene
    depth, fit = align(gt * 2, gt, valid)
    assert torch.equal(depth, gt * 2)
    assert fit.scale.tolist() == [1.0, 1.0]


def test_unknown_names_are_rejected():
    with pytest.raises(ValueError, match="unknown alignment 'lsq'"):
        check_alignment("lsq", "metric_depth")
    with pytest.raises(ValueError, match="unknown output space"):
        check_alignment("none", "depth")


def test_evaluator_median_scaling_gives_perfect_metrics_and_scale_diagnostics():
    gt = torch.rand(3, 1, 480, 640, generator=torch.Generator().manual_seed(2)) * 8 + 1
    scales = torch.tensor([0.5, 2.0, 4.0]).view(3, 1, 1, 1)
    ev = Evaluator("nyu_eigen", align="median", output_space="scale_invariant_depth")
    ev.add(gt / scales, gt)
    result = ev.result()
    assert result.metrics["abs_rel"] == pytest.approx(0.0, abs=1e-6)
    assert result.extras["scale_median"] == pytest.approx(2.0, rel=1e-6)
    assert result.settings["alignment"] == "median"
