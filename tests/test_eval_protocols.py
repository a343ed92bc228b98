"""Named protocols: crop tables, caps, clamps, registry, and their effect on the metrics."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
import torch

from depthforge.eval import compute_metrics, get_protocol, list_protocols
from depthforge.eval.protocols import Protocol

# Bounds (rows; cols) at common KITTI raw sizes, as int() of the monodepth2/BTS fractions.
GARG = {
    (375, 1242): (153, 371, 44, 1197),
    (376, 1241): (153, 372, 44, 1196),
    (370, 1224): (151, 366, 43, 1180),
    (352, 1216): (143, 349, 43, 1172),
}
EIGEN = {
    (375, 1242): (124, 342, 44, 1197),
    (370, 1224): (122, 337, 43, 1180),
}


@pytest.mark.parametrize(("shape", "bounds"), GARG.items())
def test_garg_crop_is_computed_per_image_from_the_gt_shape(shape, bounds):
    assert get_protocol("kitti_eigen").crop_bounds(*shape) == bounds
    assert get_protocol("kitti_eigen_benchmark_garg").crop_bounds(*shape) == bounds


@pytest.mark.parametrize(("shape", "bounds"), EIGEN.items())
def test_eigen_crop_is_computed_per_image_from_the_gt_shape(shape, bounds):
    assert get_protocol("kitti_eigen_crop").crop_bounds(*shape) == bounds


def test_nyu_eigen_crop_is_the_426_by_560_python_slice():
    proto = get_protocol("nyu_eigen")
    assert proto.crop_bounds(480, 640) == (45, 471, 41, 601)
    assert proto.crop_tensor(torch.zeros(1, 1, 480, 640)).shape[-2:] == (426, 560)


def test_nyu_toolbox_crop_is_one_row_and_column_larger_at_the_top_left():
    proto = get_protocol("nyu_eigen_toolbox")
    assert proto.crop_bounds(480, 640) == (44, 471, 40, 601)
    assert proto.crop_tensor(torch.zeros(480, 640)).shape == (427, 561)


def test_nyu_crop_refuses_other_resolutions():
    with pytest.raises(ValueError, match="480×640 ground truth, got 240×320"):
        get_protocol("nyu_eigen").crop_bounds(240, 320)


def test_protocols_without_crop_score_the_whole_image():
    for name in ("nyu_fcrn", "kitti_eigen_benchmark", "make3d_c1", "make3d_c2"):
        assert get_protocol(name).crop_bounds(55, 305) == (0, 55, 0, 305)


def test_depth_caps_are_strict():
    proto = get_protocol("nyu_eigen")
    gt = torch.tensor([0.0, 1e-3, 0.0011, 5.0, 9.999, 10.0, 12.0, float("nan"), float("inf")])
    valid = proto.valid_mask(gt)
    assert valid.tolist() == [False, False, True, True, True, False, False, False, False]


def test_mask_of_the_benchmark_protocol_is_gt_positive_only():
    proto = get_protocol("kitti_benchmark")
    gt = torch.tensor([0.0, 1e-4, 85.0, float("inf")])
    assert proto.valid_mask(gt).tolist() == [False, True, True, False]


def test_clamp_maps_nan_to_min_and_inf_to_max():
    proto = get_protocol("kitti_eigen")
    pred = torch.tensor([float("nan"), float("inf"), -float("inf"), -2.0, 0.0, 3.0, 99.0])
    assert proto.clamp_prediction(pred).tolist() == pytest.approx(
        [1e-3, 80.0, 1e-3, 1e-3, 1e-3, 3.0, 80.0]
    )


def test_nyu_eigen_metrics_equal_a_manual_crop_and_cap():
    gen = torch.Generator().manual_seed(0)
    gt = torch.rand(2, 1, 480, 640, generator=gen) * 12.0
    pred = gt * (0.8 + 0.4 * torch.rand(2, 1, 480, 640, generator=gen))
    pred[..., :45, :] = 1e4  # outside the crop: must not matter
    pred[..., 100, 100] = 50.0  # inside: clamped to 10
    got = compute_metrics(pred, gt, protocol="nyu_eigen")
    g = gt[..., 45:471, 41:601]
    p = pred[..., 45:471, 41:601].clamp(1e-3, 10.0)
    want = compute_metrics(p, g, (g > 1e-3) & (g < 10.0))
    assert got == pytest.approx(want, rel=1e-12)


def test_make3d_c1_ignores_ground_truth_from_70_m_and_c2_counts_it():
    gt = torch.tensor([[10.0, 75.0]])
    pred = torch.tensor([[10.0, 60.0]])
    c1 = compute_metrics(pred, gt, protocol="make3d_c1")
    c2 = compute_metrics(pred, gt, protocol="make3d_c2")
    assert set(c1) == set(c2) == {"abs_rel", "log10", "rmse"}
    assert c1["abs_rel"] == 0.0
    assert c2["abs_rel"] == pytest.approx((0 + 15 / 75) / 2)


def test_fcrn_protocol_pools_pixels():
    gt = torch.tensor([[[[1.0, 1.0]]], [[[1.0, 0.0]]]])
    pred = torch.tensor([[[[2.0, 1.0]]], [[[1.25, 1.0]]]])
    assert compute_metrics(pred, gt, protocol="nyu_fcrn")["abs_rel"] == pytest.approx(1.25 / 3)


def test_ordinal_protocol_is_refused_for_dense_metrics():
    with pytest.raises(ValueError, match="ordinal"):
        compute_metrics(torch.ones(2, 2), torch.ones(2, 2), protocol="diw")


def test_registry_names_aliases_and_errors():
    names = list_protocols()
    for required in (
        "nyu_eigen",
        "nyu_fcrn",
        "kitti_eigen",
        "kitti_eigen_crop",
        "make3d_c1",
        "diw",
    ):
        assert required in names
    assert get_protocol("kitti_benchmark") is get_protocol("kitti_eigen_benchmark")
    assert get_protocol("kitti_eigen_garg") is get_protocol("kitti_eigen")
    proto = get_protocol("nyu_eigen")
    assert get_protocol(proto) is proto
    with pytest.raises(KeyError, match="unknown protocol 'nyu'.*nyu_eigen"):
        get_protocol("nyu")


def test_protocols_are_frozen_and_their_settings_serialise():
    proto = get_protocol("kitti_eigen")
    with pytest.raises(dataclasses.FrozenInstanceError):
        proto.max_depth = 50.0  # type: ignore[misc]
    for name in list_protocols():
        settings = get_protocol(name).settings()
        assert json.loads(json.dumps(settings))["name"] == name
    assert get_protocol("kitti_eigen").settings()["crop"]["kind"] == "fractions"


def test_custom_protocols_are_first_class():
    proto = Protocol("tiny", "test protocol", max_depth=5.0, clamp=(0.1, 5.0))
    gt = torch.tensor([[1.0, 6.0]])
    pred = torch.tensor([[0.0, 1.0]])  # 0 is clamped to 0.1; the 6 m pixel is capped out
    assert compute_metrics(pred, gt, protocol=proto)["abs_rel"] == pytest.approx(0.9)
    assert math.isfinite(compute_metrics(pred, gt, protocol=proto)["rmse_log"])
