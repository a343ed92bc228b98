"""Set loss (Li, Klein & Yao 2017) as implemented: mean data loss + λ·pairwise disagreement."""

from __future__ import annotations

import itertools

import pytest
import torch

from depthforge.losses import SetLoss, berhu_loss, set_loss


def _gt(seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    return 1.0 + torch.rand(2, 1, 3, 4, generator=generator, dtype=torch.float64)


def test_hand_value_for_two_members():
    gt = _gt()
    # each member is 1 m off (data 1 each); they disagree by 2 m everywhere ((±2)² = 4)
    assert set_loss([gt + 1, gt - 1], gt, lam=0.5).item() == pytest.approx(1.0 + 0.5 * 4.0)


def test_consistency_term_averages_all_pairs_brute_force():
    gt = _gt(1)
    generator = torch.Generator().manual_seed(2)
    members = [
        gt + torch.randn(gt.shape, generator=generator, dtype=torch.float64) for _ in range(3)
    ]
    mask = torch.rand(gt.shape, generator=generator) > 0.3
    agree = torch.rand(gt.shape, generator=generator) > 0.3
    data = sum(((m - gt) ** 2)[mask].mean() for m in members) / 3
    pairs = list(itertools.combinations(members, 2))
    consistency = sum(((a - b) ** 2)[agree].mean() for a, b in pairs) / len(pairs)
    got = set_loss(members, gt, mask, lam=0.7, consistency_mask=agree)
    assert got.item() == pytest.approx((data + 0.7 * consistency).item(), rel=1e-12)


def test_identical_members_reduce_to_the_data_loss():
    gt = _gt(3)
    pred = gt * 1.1
    got = set_loss([pred, pred], gt, data_loss=berhu_loss)
    assert got.item() == pytest.approx(berhu_loss(pred, gt).item())
    assert SetLoss(data_loss=berhu_loss)([pred, pred], gt) == got


def test_gradcheck_float64():
    gt = _gt(4)
    a = (gt + 0.3).requires_grad_(True)
    b = (gt - 0.2).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x, y: set_loss([x, y], gt), (a, b))


def test_bad_sets_are_refused():
    gt = _gt()
    with pytest.raises(ValueError, match="at least 2"):
        set_loss([gt], gt)
    with pytest.raises(ValueError, match=r"predictions\[1\] has shape"):
        set_loss([gt, gt[..., :2]], gt)
