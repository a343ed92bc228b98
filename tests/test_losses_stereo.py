"""Stereo image alignment (Godard 2017, Kuznietsov 2017) and the sparse inverse-depth term."""

from __future__ import annotations

import pytest
import torch

from depthforge.losses import (
    SparseInverseDepthLoss,
    StereoAlignmentLoss,
    appearance_matching_loss,
    sparse_inverse_depth_loss,
    ssim_dissimilarity,
    stereo_alignment_loss,
)


def _pair(seed: int, shift: int):
    generator = torch.Generator().manual_seed(seed)
    right = torch.rand(1, 3, 5, 9, generator=generator, dtype=torch.float64)
    left = torch.cat([right[..., :1].expand(1, 3, 5, shift), right[..., :-shift]], dim=-1)
    return left, right


def test_appearance_matching_is_alpha_ssim_plus_l1_with_valid_ssim():
    left, right = _pair(0, 2)
    ssim = ssim_dissimilarity(left, right, padding="valid").mean()
    l1 = (left - right).abs().mean()
    got = appearance_matching_loss(left, right)
    assert got.item() == pytest.approx((0.85 * ssim + 0.15 * l1).item(), rel=1e-12)
    assert appearance_matching_loss(left, right, alpha=0.0).item() == pytest.approx(l1.item())
    assert appearance_matching_loss(left, left).item() == pytest.approx(0.0, abs=1e-12)


def test_true_disparity_aligns_the_pair_exactly():
    left, right = _pair(1, 2)
    true = torch.full((1, 1, 5, 9), 2.0, dtype=torch.float64)
    assert stereo_alignment_loss(left, right, true).item() == pytest.approx(0.0, abs=1e-12)
    assert stereo_alignment_loss(left, right, true + 1).item() > 0.01
    assert StereoAlignmentLoss(alpha=0.0)(left, right, true).item() == pytest.approx(0.0, abs=1e-12)


def test_gradcheck_with_respect_to_disparity():
    left, right = _pair(2, 2)
    disparity = torch.full((1, 1, 5, 9), 1.3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda d: stereo_alignment_loss(left, right, d), (disparity,))


def test_sparse_term_hand_values_on_inverse_depth():
    pred = torch.tensor([[[[0.5, 0.25, 1.0]]]], dtype=torch.float64)
    gt = torch.tensor([[[[2.0, 2.0, 0.0]]]], dtype=torch.float64)  # third point missing
    # residuals ρ − 1/Z = 0, −0.25 → c = 0.05; berHu(−0.25) = (0.0625 + 0.0025)/0.1
    assert sparse_inverse_depth_loss(pred, gt).item() == pytest.approx(0.65 / 2)
    assert sparse_inverse_depth_loss(pred, gt, norm="l2").item() == pytest.approx(0.0625 / 2)
    assert SparseInverseDepthLoss(norm="l2")(pred, gt) == sparse_inverse_depth_loss(
        pred, gt, norm="l2"
    )
    with pytest.raises(ValueError, match="norm"):
        sparse_inverse_depth_loss(pred, gt, norm="l1")
