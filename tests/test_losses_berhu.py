"""berHu (Laina et al. 2016, Eq. 1): hand values, batch-wide detached c, masking, edge cases."""

from __future__ import annotations

import pytest
import torch

from depthforge.losses import BerHuLoss, berhu_loss, berhu_penalty

# residuals 0.1, −0.5, 1.0, 0 → c = 0.2·1.0 = 0.2
GT = torch.full((1, 1, 2, 2), 2.0, dtype=torch.float64)
PRED = GT + torch.tensor([[[[0.1, -0.5], [1.0, 0.0]]]], dtype=torch.float64)


def test_hand_value():
    # 0.1 (|x| ≤ c), (0.25 + 0.04)/0.4, (1 + 0.04)/0.4, 0
    assert berhu_loss(PRED, GT).item() == pytest.approx((0.1 + 0.725 + 2.6 + 0.0) / 4)


def test_the_two_pieces_meet_at_c():
    residual = torch.tensor([0.2 - 1e-9, 0.2 + 1e-9, 1.0], dtype=torch.float64)
    below, above, _ = berhu_penalty(residual, torch.ones(3, dtype=torch.bool)).tolist()
    assert below == pytest.approx(above, abs=1e-8)


def test_c_is_set_after_masking():
    pred = torch.cat([PRED, torch.full((1, 1, 2, 2), 100.0, dtype=torch.float64)], dim=-1)
    gt = torch.cat([GT, torch.zeros(1, 1, 2, 2, dtype=torch.float64)], dim=-1)
    mask = gt > 0
    assert berhu_loss(pred, gt, mask).item() == pytest.approx(berhu_loss(PRED, GT).item())


def test_c_is_shared_by_the_whole_batch():
    small = torch.tensor([[[[0.1, 0.3]]]], dtype=torch.float64)
    large = torch.tensor([[[[1.0, 0.0]]]], dtype=torch.float64)
    pred = torch.cat([small, large])
    gt = torch.zeros_like(pred)
    # c = 0.2 from the second image; 0.3 > c in the first image is quadratic
    expected = (0.1 + (0.09 + 0.04) / 0.4 + (1.0 + 0.04) / 0.4 + 0.0) / 4
    assert berhu_loss(pred, gt).item() == pytest.approx(expected)
    per_image = (0.5 * (0.1 + (0.09 + 0.04) / 0.4) + 0.5 * (1.04 / 0.4)) / 2
    assert berhu_loss(pred, gt, reduction="image").item() == pytest.approx(per_image)


def test_c_carries_no_gradient():
    pred = PRED.clone().requires_grad_(True)
    berhu_loss(pred, GT).backward()
    # d/dx (x² + c²)/(2c) = x/c with c held constant: 1.0/0.2 = 5, over n = 4
    assert pred.grad[0, 0, 1, 0].item() == pytest.approx(5 / 4)
    assert pred.grad[0, 0, 0, 0].item() == pytest.approx(1 / 4)  # |x| branch: sign(x)/n


def test_perfect_batch_gives_zero_and_finite_gradients():
    pred = GT.clone().requires_grad_(True)
    loss = berhu_loss(pred, GT)
    loss.backward()
    assert loss.item() == 0.0
    assert torch.isfinite(pred.grad).all()


def test_gradcheck_float64_below_the_batch_maximum():
    fixed_max = torch.tensor([[[[5.0]]]], dtype=torch.float64)  # sets c = 1, kept constant
    free = torch.tensor([[[[0.3, -2.0, 0.7]]]], dtype=torch.float64, requires_grad=True)
    gt = torch.zeros(1, 1, 1, 4, dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda p: berhu_loss(torch.cat([p, fixed_max], dim=-1), gt), (free,)
    )


def test_module_and_bad_shapes():
    assert BerHuLoss()(PRED, GT) == berhu_loss(PRED, GT)
    with pytest.raises(ValueError, match="shapes must match"):
        berhu_loss(PRED, GT[..., :1])
    with pytest.raises(ValueError, match="reduction"):
        berhu_loss(PRED, GT, reduction="pixel")
