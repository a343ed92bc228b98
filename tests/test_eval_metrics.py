"""Dense depth metrics against hand computations and a per-pixel loop reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from depthforge.eval import (
    Evaluator,
    compute_completion_metrics,
    compute_kitti_devkit_metrics,
    compute_metrics,
)

KEYS = ("abs_rel", "sq_rel", "rmse", "rmse_log", "log10", "silog", "d1", "d2", "d3")


def loop_reference(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """Per-image metrics by explicit loops over pixels, then the mean over images."""
    per_image = []
    for p_img, g_img in zip(pred, gt, strict=True):
        pairs = [(p, g) for p, g in zip(p_img.ravel(), g_img.ravel(), strict=True) if g > 0]
        n = len(pairs)
        e = [math.log(p) - math.log(g) for p, g in pairs]
        mean_e = sum(e) / n
        per_image.append(
            {
                "abs_rel": sum(abs(g - p) / g for p, g in pairs) / n,
                "sq_rel": sum((g - p) ** 2 / g for p, g in pairs) / n,
                "rmse": math.sqrt(sum((g - p) ** 2 for p, g in pairs) / n),
                "rmse_log": math.sqrt(sum(x * x for x in e) / n),
                "log10": sum(abs(math.log10(g) - math.log10(p)) for p, g in pairs) / n,
                "silog": 100 * math.sqrt(sum(x * x for x in e) / n - mean_e**2),
                **{
                    f"d{k}": sum(max(g / p, p / g) < 1.25**k for p, g in pairs) / n
                    for k in (1, 2, 3)
                },
            }
        )
    return {k: sum(m[k] for m in per_image) / len(per_image) for k in KEYS}


def test_hand_computed_2x2_with_an_invalid_pixel():
    gt = [[1.0, 2.0], [4.0, 0.0]]  # the 0 is invalid, so pred 7.0 is ignored
    pred = [[1.5, 2.0], [2.0, 7.0]]
    m = compute_metrics(pred, gt)
    ln = math.log
    e = [ln(1.5), 0.0, ln(0.5)]  # ln p − ln g
    assert m["abs_rel"] == pytest.approx((0.5 / 1 + 0 / 2 + 2 / 4) / 3, rel=1e-12)
    assert m["sq_rel"] == pytest.approx((0.25 / 1 + 0 / 2 + 4 / 4) / 3, rel=1e-12)
    assert m["rmse"] == pytest.approx(math.sqrt((0.25 + 0 + 4) / 3), rel=1e-12)
    assert m["rmse_log"] == pytest.approx(math.sqrt((e[0] ** 2 + e[2] ** 2) / 3), rel=1e-12)
    log10 = (abs(math.log10(1) - math.log10(1.5)) + abs(math.log10(4) - math.log10(2))) / 3
    assert m["log10"] == pytest.approx(log10, rel=1e-12)
    mean_e = sum(e) / 3
    silog = 100 * math.sqrt(sum(x * x for x in e) / 3 - mean_e**2)
    assert m["silog"] == pytest.approx(silog, rel=1e-12)
    # ratios max(g/p, p/g) = 1.5, 1, 2 against 1.25, 1.5625, 1.953125
    assert (m["d1"], m["d2"], m["d3"]) == pytest.approx((1 / 3, 2 / 3, 2 / 3))


def test_delta_is_strict_at_exactly_1_25():
    gt = torch.tensor([[1.0, 2.0, 1.25, 1.0]])
    pred = torch.tensor([[1.25, 2.5, 1.0, 1.0]])  # ratios exactly 1.25, 1.25, 1.25 and 1
    m = compute_metrics(pred, gt)
    assert m["d1"] == pytest.approx(0.25)  # only the exact match counts
    assert m["d2"] == 1.0


def test_matches_a_per_pixel_loop_reference_on_random_batches():
    rng = np.random.default_rng(0)
    gt = rng.uniform(0.5, 9.0, (3, 1, 5, 6))
    gt[rng.random(gt.shape) < 0.3] = 0.0
    pred = gt * rng.uniform(0.6, 1.6, gt.shape) + (gt == 0) * 3.0
    got = compute_metrics(pred, gt)
    want = loop_reference(pred[:, 0], gt[:, 0])
    for k in KEYS:
        assert got[k] == pytest.approx(want[k], rel=1e-10, abs=1e-12), k


def test_a_clamp_that_excludes_one_leaves_invalid_pixels_out():
    from depthforge.eval.metrics import image_statistics, summarise

    rng = np.random.default_rng(2)
    gt = rng.uniform(0.5, 9.0, (2, 1, 7, 9)).astype(np.float32)
    gt[rng.random(gt.shape) < 0.3] = 0.0
    pred = (gt * rng.uniform(0.5, 1.5, gt.shape)).astype(np.float32)
    stats = image_statistics(torch.from_numpy(pred), torch.from_numpy(gt), clamp=(2.0, 5.0))
    got = summarise(stats).metrics
    # reference: clamp first, then the loop over the valid pixels only
    want = loop_reference(np.clip(pred[:, 0].astype(np.float64), 2.0, 5.0), gt[:, 0])
    for k in KEYS:
        assert got[k] == pytest.approx(want[k], rel=1e-10, abs=1e-12), k


def test_accepts_numpy_and_torch_in_every_documented_shape():
    rng = np.random.default_rng(1)
    gt = rng.uniform(1, 5, (4, 5)).astype(np.float32)
    pred = gt * 1.2
    reference = compute_metrics(
        torch.from_numpy(pred)[None, None], torch.from_numpy(gt)[None, None]
    )
    assert compute_metrics(pred, gt) == reference
    assert compute_metrics(pred[None], gt[None]) == reference


def test_image_and_pixel_reduction_differ_as_computed_by_hand():
    gt = torch.tensor([[[[1.0, 1.0]]], [[[1.0, 0.0]]]])
    pred = torch.tensor([[[[2.0, 1.0]]], [[[1.25, 9.0]]]])
    per_image = compute_metrics(pred, gt, reduction="image")
    pooled = compute_metrics(pred, gt, reduction="pixel")
    assert per_image["abs_rel"] == pytest.approx(((1 + 0) / 2 + 0.25 / 1) / 2)
    assert pooled["abs_rel"] == pytest.approx((1 + 0 + 0.25) / 3)
    assert per_image["rmse"] == pytest.approx((math.sqrt(1 / 2) + 0.25) / 2)
    assert pooled["rmse"] == pytest.approx(math.sqrt((1 + 0.0625) / 3))


def test_an_image_without_valid_pixels_is_excluded_and_counted_not_nan():
    gt = torch.ones(3, 1, 2, 2)
    gt[1] = 0.0
    pred = gt * 1.5
    pred[1] = 5.0
    ev = Evaluator("kitti_eigen_benchmark")  # no crop, mask g > 0 only
    ev.add(pred, gt, ids=["a", "empty", "c"])
    result = ev.result()
    assert result.excluded_ids == ("empty",)
    assert result.n_images == 2
    assert result.metrics["abs_rel"] == pytest.approx(0.5)
    assert all(math.isfinite(v) for v in result.metrics.values())
    assert compute_metrics(pred, gt) == compute_metrics(pred[[0, 2]], gt[[0, 2]])


def test_no_valid_pixel_anywhere_is_a_clear_error():
    with pytest.raises(ValueError, match="no valid ground-truth pixel"):
        compute_metrics(torch.ones(2, 2), torch.zeros(2, 2))


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_non_positive_or_non_finite_prediction_needs_a_protocol(bad):
    gt = torch.tensor([[1.0, 2.0]])
    pred = torch.tensor([[bad, 2.0]])
    with pytest.raises(ValueError, match="1 predicted depths inside the valid set"):
        compute_metrics(pred, gt)


def test_invalid_prediction_outside_the_valid_set_is_ignored():
    gt = torch.tensor([[0.0, 2.0]])
    pred = torch.tensor([[float("nan"), 2.0]])
    assert compute_metrics(pred, gt)["abs_rel"] == 0.0


def test_non_finite_ground_truth_is_invalid():
    gt = torch.tensor([[float("nan"), float("inf"), 2.0]])
    pred = torch.tensor([[1.0, 1.0, 3.0]])
    assert compute_metrics(pred, gt)["abs_rel"] == pytest.approx(0.5)


def test_mask_restricts_the_valid_set():
    gt = torch.tensor([[1.0, 2.0]])
    pred = torch.tensor([[5.0, 3.0]])
    assert compute_metrics(pred, gt, torch.tensor([[False, True]]))["abs_rel"] == pytest.approx(0.5)


def test_scale_error_shows_in_rmse_log_but_not_in_silog():
    gt = torch.rand(2, 1, 4, 4, generator=torch.Generator().manual_seed(0)) + 0.5
    m = compute_metrics(gt * 2.0, gt)
    assert m["silog"] == pytest.approx(0.0, abs=1e-5)
    assert m["rmse_log"] == pytest.approx(math.log(2.0), rel=1e-6)
    assert m["log10"] == pytest.approx(math.log10(2.0), rel=1e-6)


def test_float64_inputs_keep_their_precision():
    # a 1e-9 relative error vanishes in float32 (eps 1.2e-7) but not in float64
    gt = torch.linspace(1.0, 9.0, 64, dtype=torch.float64).view(1, 1, 8, 8)
    m = compute_metrics(gt * (1 + 1e-9), gt)
    assert m["abs_rel"] == pytest.approx(1e-9, rel=1e-6)
    assert m["rmse_log"] == pytest.approx(1e-9, rel=1e-6)


def test_shape_errors_name_the_argument():
    with pytest.raises(ValueError, match="pred must be"):
        compute_metrics(torch.ones(2, 2, 3, 3), torch.ones(2, 2, 3, 3))
    with pytest.raises(ValueError, match="differ in shape"):
        compute_metrics(torch.ones(3, 3), torch.ones(3, 4))
    with pytest.raises(ValueError, match="reduction"):
        compute_metrics(torch.ones(3, 3), torch.ones(3, 3), reduction="batch")


def test_kitti_devkit_metrics_by_hand():
    gt = [[2.0, 4.0, 0.0]]
    pred = [[1.0, 5.0, 3.0]]
    m = compute_kitti_devkit_metrics(pred, gt)
    d = [math.log(2.0) - math.log(1.0), math.log(4.0) - math.log(5.0)]  # ln g − ln p
    inv = [abs(1 / 2 - 1 / 1), abs(1 / 4 - 1 / 5)]
    assert m["mae"] == pytest.approx(1.0)
    assert m["rmse"] == pytest.approx(1.0)
    assert m["imae"] == pytest.approx(1000 * (inv[0] + inv[1]) / 2)
    assert m["irmse"] == pytest.approx(1000 * math.sqrt((inv[0] ** 2 + inv[1] ** 2) / 2))
    assert m["log_mae"] == pytest.approx((abs(d[0]) + abs(d[1])) / 2)
    assert m["log_rmse"] == pytest.approx(math.sqrt((d[0] ** 2 + d[1] ** 2) / 2))
    silog = 100 * math.sqrt((d[0] ** 2 + d[1] ** 2) / 2 - ((d[0] + d[1]) / 2) ** 2)
    assert m["silog"] == pytest.approx(silog)
    assert m["abs_rel"] == pytest.approx(100 * (1 / 2 + 1 / 4) / 2)
    assert m["sq_rel"] == pytest.approx(100 * (1 / 4 + 1 / 16) / 2)  # divides by g², not g


def test_kitti_devkit_averages_per_image():
    gt = torch.tensor([[[[1.0, 1.0]]], [[[1.0, 0.0]]]])
    pred = torch.tensor([[[[2.0, 1.0]]], [[[3.0, 1.0]]]])
    assert compute_kitti_devkit_metrics(pred, gt)["mae"] == pytest.approx((0.5 + 2.0) / 2)


def test_depth_completion_metrics_in_millimetres_and_inverse_kilometres():
    m = compute_completion_metrics([[1.0, 5.0]], [[2.0, 4.0]])
    assert m["mae"] == pytest.approx(1000.0)
    assert m["rmse"] == pytest.approx(1000.0)
    assert m["imae"] == pytest.approx(1000 * (0.5 + 0.05) / 2)
    assert m["irmse"] == pytest.approx(1000 * math.sqrt((0.25 + 0.0025) / 2))


def test_devkit_refuses_sparse_predictions():
    with pytest.raises(ValueError, match="dense positive"):
        compute_kitti_devkit_metrics([[0.0, 5.0]], [[2.0, 4.0]])


def test_evaluator_rejects_a_wrong_number_of_ids_without_changing_state():
    ev = Evaluator("kitti_eigen_benchmark")
    with pytest.raises(ValueError, match="got 1 ids for 2 images"):
        ev.add(torch.ones(2, 1, 2, 2), torch.ones(2, 1, 2, 2), ids=["only one"])
    assert len(ev) == 0
    with pytest.raises(ValueError, match="no images were added"):
        ev.result()
