"""MegaDepth loss (Li & Snavely 2018, §4): data, multi-scale gradient, ordinal, image choice."""

from __future__ import annotations

import math

import pytest
import torch

from depthforge.losses import (
    MegaDepthLoss,
    is_euclidean_image,
    megadepth_gradient_loss,
    megadepth_loss,
    megadepth_ordinal_loss,
    scale_invariant_loss,
)

TAU = 0.25


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def _random(seed: int, shape=(2, 1, 8, 9)):
    generator = torch.Generator().manual_seed(seed)
    gt = 0.5 + 4 * torch.rand(shape, generator=generator, dtype=torch.float64)
    pred_log = torch.randn(shape, generator=generator, dtype=torch.float64)
    mask = torch.rand(shape, generator=generator) > 0.25
    return pred_log, gt, mask


def test_thirty_percent_rule():
    mask = torch.zeros(2, 1, 2, 5, dtype=torch.bool)
    mask[0, 0, 0, :3] = True  # 3 of 10 valid
    mask[1, 0, 0, :2] = True  # 2 of 10
    assert is_euclidean_image(mask).tolist() == [True, False]
    assert is_euclidean_image(mask, threshold=0.2).tolist() == [True, True]


def _loop_gradient(pred_log, gt, mask, scales, step, by_pairs):
    losses = []
    for b in range(pred_log.shape[0]):
        total = 0.0
        for k in range(scales):
            s = 2**k
            r = (pred_log[b, 0] - gt[b, 0].log())[::s, ::s]
            m = mask[b, 0][::s, ::s]
            h, w = r.shape
            summed, pairs = 0.0, 0
            for y in range(h):
                for x in range(w):
                    if x + step < w and m[y, x] and m[y, x + step]:
                        summed += abs(r[y, x + step] - r[y, x]).item()
                        pairs += 1
                    if y + step < h and m[y, x] and m[y + step, x]:
                        summed += abs(r[y + step, x] - r[y, x]).item()
                        pairs += 1
            count = pairs if by_pairs else int(m.sum())
            total += summed / count if count else 0.0
        losses.append(total)
    return sum(losses) / len(losses)


@pytest.mark.parametrize("step,normalization", [(2, "valid_pixels"), (1, "valid_pairs")])
def test_gradient_term_matches_a_loop_over_scales(step, normalization):
    pred_log, gt, mask = _random(0)
    got = megadepth_gradient_loss(pred_log, gt, mask, step=step, normalization=normalization)
    expected = _loop_gradient(pred_log, gt, mask, 4, step, normalization == "valid_pairs")
    assert got.item() == pytest.approx(expected, rel=1e-12)


def test_data_and_gradient_terms_are_scale_invariant():
    pred_log, gt, mask = _random(1)
    base = megadepth_loss(pred_log, gt, mask, euclidean=torch.tensor([True, True]))
    scaled = megadepth_loss(
        pred_log + math.log(3.0), gt, mask, euclidean=torch.tensor([True, True])
    )
    assert scaled.item() == pytest.approx(base.item(), rel=1e-10)


def test_ordinal_pieces_and_continuity_constant():
    c = softplus(TAU) - softplus(math.sqrt(TAU))
    pairs = torch.tensor([[[0, 0, 0, 1]]])
    relations = torch.tensor([[1]])

    def loss_at(p: float) -> float:  # L_A = 0, L_B = P so that P = −r(L_A − L_B)
        pred = torch.tensor([[[[0.0, p]]]], dtype=torch.float64)
        return megadepth_ordinal_loss(pred, pairs, relations).item()

    assert loss_at(-1.0) == pytest.approx(softplus(-1.0))
    assert loss_at(1.0) == pytest.approx(softplus(1.0) + c)
    assert loss_at(TAU - 1e-10) == pytest.approx(loss_at(TAU + 1e-10), abs=1e-9)


def test_ordinal_ignores_equal_and_padding_pairs():
    pred = torch.tensor([[[[0.0, 2.0, -1.0]]]], dtype=torch.float64)
    pairs = torch.tensor([[[0, 0, 0, 1], [0, 0, 0, 2], [0, 1, 0, 2]]])
    relations = torch.tensor([[-1, 0, 1]])
    pair_mask = torch.tensor([[True, True, False]])
    # only the first pair counts: P = −(−1)(0 − 2) = −2
    got = megadepth_ordinal_loss(pred, pairs, relations, pair_mask)
    assert got.item() == pytest.approx(softplus(-2.0))


def test_euclidean_and_ordinal_images_are_supervised_separately():
    pred_log, gt, mask = _random(2)
    pairs = torch.tensor([[[0, 0, 1, 1], [2, 2, 3, 3]]]).expand(2, 2, 4)
    relations = torch.tensor([[1, -1]]).expand(2, 2)
    euclidean = torch.tensor([True, False])
    got = megadepth_loss(pred_log, gt, mask, pairs, relations, euclidean=euclidean)
    first = slice(0, 1)
    data = scale_invariant_loss(pred_log[first], gt[first], mask[first], lam=1.0)
    gradient = megadepth_gradient_loss(pred_log[first], gt[first], mask[first])
    ordinal = megadepth_ordinal_loss(pred_log[1:], pairs[1:], relations[1:])
    assert got.item() == pytest.approx((data + 0.5 * gradient + 0.1 * ordinal).item(), rel=1e-12)
    assert MegaDepthLoss()(pred_log, gt, mask, pairs, relations, euclidean=euclidean) == got


def test_hand_value_of_the_data_term_on_a_tiny_image():
    # d = 0.1, 0.3, −0.2, 0.4: 0.30/4 − 0.6²/16; no pixel pair is 2 px apart in 2×2
    pred_log = torch.tensor([[[[0.1, 0.3], [-0.2, 0.4]]]], dtype=torch.float64)
    got = megadepth_loss(pred_log, torch.ones_like(pred_log), euclidean=torch.tensor([True]))
    assert got.item() == pytest.approx(0.0525)


def test_gradcheck_float64():
    pred_log, gt, mask = _random(3, shape=(1, 1, 5, 5))
    pred_log.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda p: megadepth_gradient_loss(p, gt, mask), (pred_log,))
    pairs = torch.tensor([[[0, 0, 1, 1], [2, 2, 4, 4], [0, 4, 4, 0]]])
    relations = torch.tensor([[1, -1, 1]])
    assert torch.autograd.gradcheck(
        lambda p: megadepth_ordinal_loss(3 * p, pairs, relations), (pred_log,)
    )
