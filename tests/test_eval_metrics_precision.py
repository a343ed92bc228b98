"""The metrics' float64 pipeline against a float64 brute-force reference on adversarial data:
wide depth ranges, values at the caps and the clamp bounds, δ ratios at and one ulp around
1.25^k, near-perfect predictions (tiny log errors), non-finite predictions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from depthforge.eval.metrics import image_statistics, metrics_from_statistics
from depthforge.eval.pixel_sums import BLOCK_PIXELS

KEYS = ("abs_rel", "sq_rel", "rmse", "rmse_log", "log10", "silog", "d1", "d2", "d3")


def brute_force(pred, gt, min_depth, max_depth, clamp):
    """Per image: caps compared and clamp applied in the input precision (as the references
    do with their arrays), boolean indexing, then every metric in float64 with the formulas
    of monodepth2 / BTS ``compute_errors``."""
    out = []
    for p_img, g_img in zip(pred[:, 0], gt[:, 0], strict=True):
        real = g_img.dtype.type
        valid = (g_img > real(max(0.0, min_depth))) & (g_img < real(max_depth))
        p = p_img[valid]
        if clamp is not None:
            lo, hi = p.dtype.type(clamp[0]), p.dtype.type(clamp[1])
            p = np.clip(np.nan_to_num(p, nan=lo, posinf=hi, neginf=lo), lo, hi)
        p, g = p.astype(np.float64), g_img[valid].astype(np.float64)
        thresh = np.maximum(g / p, p / g)
        e = np.log(p) - np.log(g)
        out.append(
            {
                "abs_rel": np.mean(np.abs(g - p) / g),
                "sq_rel": np.mean((g - p) ** 2 / g),
                "rmse": np.sqrt(np.mean((g - p) ** 2)),
                "rmse_log": np.sqrt(np.mean((np.log(g) - np.log(p)) ** 2)),
                "log10": np.mean(np.abs(np.log10(g) - np.log10(p))),
                "silog": 100 * np.sqrt(np.mean(e**2) - np.mean(e) ** 2),
                **{f"d{k}": np.mean(thresh < 1.25**k) for k in (1, 2, 3)},
            }
        )
    return out


def check(pred, gt, *, min_depth=0.0, max_depth=math.inf, clamp=None, rel=1e-6):
    stats = image_statistics(
        torch.from_numpy(pred),
        torch.from_numpy(gt),
        min_depth=min_depth,
        max_depth=max_depth,
        clamp=clamp,
    )
    got = metrics_from_statistics(stats)
    want = brute_force(pred, gt, min_depth, max_depth, clamp)
    for i, ref in enumerate(want):
        for k in KEYS:
            if k.startswith("d"):  # hit counts: exactly the same pixels
                assert float(got[k][i]) * stats[i, 0] == pytest.approx(ref[k] * stats[i, 0]), k
            else:
                assert float(got[k][i]) == pytest.approx(ref[k], rel=rel, abs=0), (i, k)
    return stats


def ulp_neighbours(x: np.ndarray) -> np.ndarray:
    """x, its next float below and its next float above, interleaved."""
    return np.stack([np.nextafter(x, -np.inf), x, np.nextafter(x, np.inf)], -1).reshape(-1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_wide_depth_range_and_extreme_ratios(dtype):
    rng = np.random.default_rng(0)
    rows = BLOCK_PIXELS // 600
    shape = (3, 1, rows + rows // 2, 600)  # a whole block, then a partial one
    gt = np.exp(rng.uniform(math.log(1e-3), math.log(1e3), shape)).astype(dtype)
    factor = np.exp(rng.normal(0.0, 2.0, shape))  # ratios from 1e-3 to 1e3
    factor[:, :, ::3] = 1.0 + rng.normal(0.0, 1e-6, factor[:, :, ::3].shape)  # near-perfect
    pred = (gt * factor).astype(dtype)
    pred[:, :, 5] = gt[:, :, 5]  # exact: e = 0
    gt[rng.random(shape) < 0.1] = 0.0
    check(pred, gt)


def test_values_at_the_caps_and_clamp_bounds():
    rng = np.random.default_rng(1)
    lo, hi = np.float32(1e-3), np.float32(10.0)
    at_caps = np.concatenate(
        [ulp_neighbours(np.array([lo, hi], np.float32)), [0.0, np.nan, np.inf]]
    )
    gt = rng.choice(at_caps.astype(np.float32), (2, 1, 40, 64))
    gt[:, :, ::2] = rng.uniform(1e-3, 10.0, gt[:, :, ::2].shape)
    near = np.concatenate([ulp_neighbours(np.array([lo, hi], np.float32)), [0.0, -1.0, 1e-9, 50.0]])
    special = np.array([np.nan, np.inf, -np.inf], np.float32)
    pred = rng.choice(np.concatenate([near.astype(np.float32), special]), gt.shape)
    pred[:, :, 1::4] = rng.uniform(1e-3, 10.0, pred[:, :, 1::4].shape)
    stats = check(pred, gt, min_depth=1e-3, max_depth=10.0, clamp=(1e-3, 10.0))
    assert (stats[:, 0] > 100).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_delta_ratios_at_and_one_ulp_around_each_threshold(dtype):
    rng = np.random.default_rng(2)
    g = rng.uniform(0.5, 8.0, 2000).astype(dtype)
    preds = [g * dtype(1.25**k) for k in (1, 2, 3)] + [g / dtype(1.25**k) for k in (1, 2, 3)]
    # exactly representable ties: g = 64·m, p = 125·m (and 80·m, 100·m) for small integers m
    m = np.arange(1, 2001, dtype=dtype) / 256
    pairs = [(64 * m, 80 * m), (64 * m, 100 * m), (64 * m, 125 * m), (125 * m, 64 * m)]
    gt = np.concatenate([np.tile(g, 6)] + [a for a, _ in pairs])
    pred = np.concatenate(preds + [b for _, b in pairs]).astype(dtype)
    gt = np.repeat(gt, 3)
    pred = ulp_neighbours(pred)
    stats = check(pred.reshape(1, 1, 60, -1), gt.reshape(1, 1, 60, -1).astype(dtype))
    assert 0 < stats[0, 7] < stats[0, 0]


def test_near_perfect_predictions_keep_their_small_log_errors():
    rng = np.random.default_rng(3)
    gt = rng.uniform(0.5, 9.0, (2, 1, 48, 64)).astype(np.float32)
    pred = np.nextafter(gt, np.float32(np.inf))  # e ≈ 1e-7: ln p − ln g would lose digits
    pred[:, :, ::2] = np.nextafter(gt[:, :, ::2], np.float32(0))
    check(pred, gt, rel=1e-9)


def test_a_scale_error_with_little_spread():
    rng = np.random.default_rng(4)
    gt = rng.uniform(0.5, 9.0, (2, 1, 48, 64)).astype(np.float32)
    pred = (gt * 1.3 * (1 + rng.normal(0, 0.01, gt.shape))).astype(np.float32)
    check(pred, gt)
