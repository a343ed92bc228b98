"""Scale-invariant losses (Eigen 2014, Eigen & Fergus 2015, BTS, AdaBins) against hand values."""

from __future__ import annotations

import math

import pytest
import torch

from depthforge.losses import (
    EigenGradientLoss,
    ScaleInvariantLoss,
    adabins_silog_loss,
    bts_silog_loss,
    eigen_gradient_loss,
    scale_invariant_loss,
)

# d = log pred − ln gt on a 2×2 image with gt = 1 (ln gt = 0): Σd = 0.6, Σd² = 0.30, n = 4.
D = torch.tensor([[[[0.1, 0.3], [-0.2, 0.4]]]], dtype=torch.float64)
ONES = torch.ones_like(D)


def _random(seed: int, shape=(2, 1, 3, 4)):
    generator = torch.Generator().manual_seed(seed)
    gt = 0.5 + 4 * torch.rand(shape, generator=generator, dtype=torch.float64)
    pred = 0.5 + 4 * torch.rand(shape, generator=generator, dtype=torch.float64)
    mask = torch.rand(shape, generator=generator) > 0.3
    return pred, gt, mask


def test_eigen_training_loss_hand_value():
    # 0.30/4 − 0.5·0.6²/16
    assert scale_invariant_loss(D, ONES).item() == pytest.approx(0.06375)


def test_lambda_one_equals_the_pairwise_form_brute_force():
    pred, gt, mask = _random(0)
    for b in range(2):
        log_p = pred[b][mask[b]].log().tolist()
        log_g = gt[b][mask[b]].log().tolist()
        n = len(log_p)
        pairwise = sum(
            ((log_p[i] - log_p[j]) - (log_g[i] - log_g[j])) ** 2 for i in range(n) for j in range(n)
        ) / (2 * n * n)
        got = scale_invariant_loss(
            pred[b : b + 1], gt[b : b + 1], mask[b : b + 1], lam=1.0, input_space="depth"
        )
        assert got.item() == pytest.approx(pairwise, rel=1e-12)


def test_lambda_one_is_invariant_to_a_global_scale():
    pred, gt, mask = _random(1)
    base = scale_invariant_loss(pred, gt, mask, lam=1.0, input_space="depth")
    scaled = scale_invariant_loss(7.5 * pred, gt, mask, lam=1.0, input_space="depth")
    shifted_log = scale_invariant_loss(pred.log() + 2.0, gt, mask, lam=1.0)
    assert scaled.item() == pytest.approx(base.item(), rel=1e-10)
    assert shifted_log.item() == pytest.approx(base.item(), rel=1e-10)
    assert scale_invariant_loss(7.5 * pred, gt, mask, lam=0.5, input_space="depth") > base


def test_image_and_batch_reductions():
    pred_log = torch.cat([D, torch.zeros_like(D)])  # second image: d = 0 everywhere
    gt = torch.ones_like(pred_log)
    mask = torch.ones_like(pred_log, dtype=torch.bool)
    mask[1, 0, 0, 0] = False
    # per image: 0.06375 and 0 → mean 0.031875; pooled over 7 pixels: 0.30/7 − 0.5·0.36/49
    assert scale_invariant_loss(pred_log, gt, mask).item() == pytest.approx(0.031875)
    assert scale_invariant_loss(pred_log, gt, mask, reduction="batch").item() == pytest.approx(
        0.30 / 7 - 0.5 * 0.36 / 49
    )


def test_invalid_pixels_never_contribute_and_keep_gradients_finite():
    pred, gt, mask = _random(2)
    gt = torch.where(mask, gt, torch.zeros_like(gt))  # invalid ground truth is 0
    pred_changed = torch.where(mask, pred, 1e3 * torch.ones_like(pred)).requires_grad_(True)
    a = scale_invariant_loss(pred, gt, mask, input_space="depth")
    b = scale_invariant_loss(pred_changed, gt, mask, input_space="depth")
    b.backward()
    assert a.item() == pytest.approx(b.item(), rel=1e-12)
    assert torch.isfinite(pred_changed.grad).all()
    assert (pred_changed.grad[~mask] == 0).all()


def test_non_positive_depth_on_a_valid_pixel_is_refused():
    pred, gt, mask = _random(3)
    gt[mask] = 0.0
    with pytest.raises(ValueError, match="gt must be > 0"):
        scale_invariant_loss(pred, gt, mask, input_space="depth")
    with pytest.raises(ValueError, match="pred must be > 0"):
        scale_invariant_loss(-pred, gt.clamp(min=1), mask, input_space="depth")
    with pytest.raises(ValueError, match="input_space"):
        scale_invariant_loss(pred, gt, mask, input_space="disparity")


def test_bts_hand_value_and_batch_pooling():
    pred = D.exp()
    # 10·sqrt(mean g² − 0.85·mean²) = 10·sqrt(0.075 − 0.85·0.0225)
    assert bts_silog_loss(pred, ONES).item() == pytest.approx(10 * math.sqrt(0.055875))
    # pooled over the batch: splitting the same pixels into two images does not change it
    split = pred.reshape(2, 1, 1, 2)
    assert bts_silog_loss(split, torch.ones_like(split)).item() == pytest.approx(
        10 * math.sqrt(0.055875)
    )


def test_adabins_uses_the_unbiased_variance():
    # Var_unbiased = 0.21/3 = 0.07; + 0.15·0.15²
    assert adabins_silog_loss(D.exp(), ONES).item() == pytest.approx(10 * math.sqrt(0.073375))


def test_silog_sqrt_has_a_finite_gradient_at_a_perfect_prediction():
    for loss in (bts_silog_loss, adabins_silog_loss):
        pred = torch.ones(1, 1, 2, 2, dtype=torch.float64, requires_grad=True)
        value = loss(pred, torch.ones_like(pred))
        value.backward()
        assert value.item() == 0.0
        assert torch.isfinite(pred.grad).all()


def test_eigen_fergus_gradient_loss_hand_value():
    # SI part 0.06375 + (0.2² + 0.6² + 0.3² + 0.1²)/4
    assert eigen_gradient_loss(D, ONES).item() == pytest.approx(0.06375 + 0.5 / 4)


def test_eigen_fergus_gradient_term_matches_a_loop_over_valid_pairs():
    pred, gt, mask = _random(4, shape=(1, 1, 4, 5))
    d = (pred.log() - gt.log())[0, 0]
    m = mask[0, 0]
    n = int(m.sum())
    term = 0.0
    for y in range(4):
        for x in range(5):
            if x + 1 < 5 and m[y, x] and m[y, x + 1]:
                term += (d[y, x + 1] - d[y, x]).item() ** 2
            if y + 1 < 4 and m[y, x] and m[y + 1, x]:
                term += (d[y + 1, x] - d[y, x]).item() ** 2
    si = scale_invariant_loss(pred, gt, mask, input_space="depth")
    got = eigen_gradient_loss(pred, gt, mask, input_space="depth")
    assert got.item() == pytest.approx(si.item() + term / n, rel=1e-12)


@pytest.mark.parametrize(
    "loss",
    [
        lambda p, g, m: scale_invariant_loss(p, g, m, input_space="depth"),
        lambda p, g, m: scale_invariant_loss(p, g, m, input_space="depth", reduction="batch"),
        lambda p, g, m: eigen_gradient_loss(p, g, m, input_space="depth"),
        bts_silog_loss,
        adabins_silog_loss,
    ],
)
def test_gradcheck_float64(loss):
    pred, gt, mask = _random(5, shape=(2, 1, 2, 3))
    pred.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda p: loss(p, gt, mask), (pred,))


def test_modules_forward_to_the_functions():
    pred, gt, mask = _random(6)
    assert ScaleInvariantLoss(lam=1.0, input_space="depth")(pred, gt, mask) == scale_invariant_loss(
        pred, gt, mask, lam=1.0, input_space="depth"
    )
    assert EigenGradientLoss(input_space="depth")(pred, gt, mask) == eigen_gradient_loss(
        pred, gt, mask, input_space="depth"
    )
