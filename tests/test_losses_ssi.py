"""MiDaS scale-and-shift-invariant losses (Ranftl et al. 2020) in disparity space."""

from __future__ import annotations

import pytest
import torch

from depthforge.losses import (
    RobustScaleAndShiftInvariantLoss,
    ScaleAndShiftInvariantLoss,
    compute_scale_and_shift,
    gradient_matching_term,
    normalize_robust,
    robust_scale_and_shift_invariant_loss,
    scale_and_shift_invariant_loss,
    trimmed_mae,
)


def _random(seed: int, shape=(2, 1, 8, 9)):
    generator = torch.Generator().manual_seed(seed)
    target = torch.rand(shape, generator=generator, dtype=torch.float64)
    pred = torch.rand(shape, generator=generator, dtype=torch.float64)
    mask = torch.rand(shape, generator=generator) > 0.25
    return pred, target, mask


def _row(*values):
    return torch.tensor(values, dtype=torch.float64).reshape(1, 1, 1, -1)


def test_alignment_recovers_an_exact_affine_map():
    pred, _, mask = _random(0)
    target = 2.0 * pred + 3.0
    scale, shift = compute_scale_and_shift(pred, target, mask)
    assert scale.tolist() == pytest.approx([2.0, 2.0])
    assert shift.tolist() == pytest.approx([3.0, 3.0])
    assert scale_and_shift_invariant_loss(pred, target, mask).item() == pytest.approx(0, abs=1e-12)


def test_degenerate_alignment_gives_zero_scale_and_shift():
    pred = torch.ones(1, 1, 2, 2, dtype=torch.float64)
    scale, shift = compute_scale_and_shift(pred, pred + 1, pred > 0)
    assert scale.tolist() == [0.0] and shift.tolist() == [0.0]


def test_data_term_hand_value():
    # least squares of [0, 1, 1, 3] on [0, 1, 2, 3]: s = 0.9, t = −0.1; Σ residual² = 0.70
    got = scale_and_shift_invariant_loss(_row(0, 1, 2, 3), _row(0, 1, 1, 3), alpha=0.0)
    assert got.item() == pytest.approx(0.70 / 8)


@pytest.mark.parametrize(
    "loss", [scale_and_shift_invariant_loss, robust_scale_and_shift_invariant_loss]
)
@pytest.mark.parametrize("reduction", ["batch", "image"])
def test_invariant_to_positive_scale_and_shift(loss, reduction):
    pred, target, mask = _random(1)
    base = loss(pred, target, mask, reduction=reduction)
    moved = loss(3.5 * pred - 2.0, target, mask, reduction=reduction)
    assert moved.item() == pytest.approx(base.item(), rel=1e-9)


def _loop_gradient(pred, target, mask, scales, reduction):
    total = 0.0
    for k in range(scales):
        s = 2**k
        sums, counts = [], []
        for b in range(pred.shape[0]):
            r = (pred[b, 0] - target[b, 0])[::s, ::s]
            m = mask[b, 0][::s, ::s]
            h, w = r.shape
            acc = 0.0
            for y in range(h):
                for x in range(w):
                    if x + 1 < w and m[y, x] and m[y, x + 1]:
                        acc += abs(r[y, x + 1] - r[y, x]).item()
                    if y + 1 < h and m[y, x] and m[y + 1, x]:
                        acc += abs(r[y + 1, x] - r[y, x]).item()
            sums.append(acc)
            counts.append(int(m.sum()))
        if reduction == "batch":
            total += sum(sums) / sum(counts)
        else:
            total += sum(a / c if c else 0.0 for a, c in zip(sums, counts, strict=True)) / len(sums)
    return total


@pytest.mark.parametrize("reduction", ["batch", "image"])
def test_gradient_term_matches_a_loop(reduction):
    pred, target, mask = _random(2)
    got = gradient_matching_term(pred, target, mask, scales=4, reduction=reduction)
    assert got.item() == pytest.approx(_loop_gradient(pred, target, mask, 4, reduction), rel=1e-12)


def test_image_reduction_counts_images_without_valid_pixels_as_zero():
    pred = torch.cat([_row(0, 1, 2, 3), _row(5, 1, 4, 2)])
    target = torch.cat([_row(0, 1, 1, 3), _row(1, 1, 1, 1)])
    mask = torch.tensor([True, False]).reshape(2, 1, 1, 1).expand(2, 1, 1, 4)
    image = scale_and_shift_invariant_loss(pred, target, mask, alpha=0.0, reduction="image")
    batch = scale_and_shift_invariant_loss(pred, target, mask, alpha=0.0, reduction="batch")
    assert image.item() == pytest.approx(0.70 / 8 / 2)  # the gist's reduction_image_based
    assert batch.item() == pytest.approx(0.70 / 8)


def test_robust_normalisation_uses_the_valid_pixels_only():
    values = _row(1, 2, 3, 10, 100, 100)
    mask = _row(1, 1, 1, 1, 0, 0) > 0
    # lower median of 1, 2, 3, 10 is 2; mean |x − 2| = 10/4
    got = normalize_robust(values, mask)[..., :4]
    assert got.flatten().tolist() == pytest.approx([-0.4, 0.0, 0.4, 3.2])


def test_trimmed_mae_drops_the_largest_residuals():
    pred = _row(0.1, 0.2, 0.3, 0.4, 5.0)
    mask = pred > 0
    # keep ⌊5·0.8⌋ = 4 smallest: (0.1 + 0.2 + 0.3 + 0.4) / (2·5)
    got = trimmed_mae(pred, torch.zeros_like(pred), mask, trim=0.2)
    assert got.item() == pytest.approx(0.1)


@pytest.mark.parametrize(
    "loss", [scale_and_shift_invariant_loss, robust_scale_and_shift_invariant_loss]
)
def test_gradcheck_float64(loss):
    pred, target, mask = _random(3, shape=(2, 1, 4, 5))
    pred.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda p: loss(p, target, mask), (pred,))


def test_modules_forward_to_the_functions():
    pred, target, mask = _random(4)
    assert ScaleAndShiftInvariantLoss()(pred, target, mask) == scale_and_shift_invariant_loss(
        pred, target, mask
    )
    robust = robust_scale_and_shift_invariant_loss(pred, target, mask, trim=0.1)
    assert RobustScaleAndShiftInvariantLoss(trim=0.1)(pred, target, mask) == robust
