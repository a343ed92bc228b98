"""Ranking losses: Chen et al. 2016 and Xian et al. online pair sampling."""

from __future__ import annotations

import math

import pytest
import torch

from depthforge.losses import (
    RankingLoss,
    edge_guided_pairs,
    ordinal_relations,
    random_pairs,
    ranking_loss,
    sample_xian_pairs,
    sampled_ranking_loss,
    sobel_edges,
    xian_ranking_loss,
)


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


PRED = torch.tensor([[[[0.0, 1.0, 2.0], [0.5, 3.0, -1.0]]]], dtype=torch.float64)
PAIRS = torch.tensor([[[0, 1, 0, 0], [1, 1, 0, 2], [1, 0, 0, 0], [1, 2, 0, 1]]])
RELATIONS = torch.tensor([[1, -1, 0, 1]])


def test_chen_hand_value():
    # z_A − z_B = 1, 1, 0.5, −2 with r = +1, −1, 0, +1
    expected = (softplus(-1.0) + softplus(1.0) + 0.25 + softplus(2.0)) / 4
    assert ranking_loss(PRED, PAIRS, RELATIONS).item() == pytest.approx(expected)


def test_batch_pooling_and_padding():
    pred = torch.cat([PRED, PRED])
    pairs = torch.cat([PAIRS, PAIRS])
    relations = torch.cat([RELATIONS, RELATIONS])
    pair_mask = torch.tensor([[True, True, True, True], [True, False, False, False]])
    per_pair = [softplus(-1.0), softplus(1.0), 0.25, softplus(2.0)]
    pooled = (sum(per_pair) + per_pair[0]) / 5
    per_image = (sum(per_pair) / 4 + per_pair[0]) / 2
    assert ranking_loss(pred, pairs, relations, pair_mask).item() == pytest.approx(pooled)
    got = ranking_loss(pred, pairs, relations, pair_mask, reduction="image")
    assert got.item() == pytest.approx(per_image)


def test_disparity_like_flips_the_sign():
    flipped = ranking_loss(PRED, PAIRS, RELATIONS, disparity_like=True)
    assert flipped.item() == pytest.approx(ranking_loss(-PRED, PAIRS, RELATIONS).item())


def test_softplus_is_stable_for_large_differences():
    pred = torch.tensor([[[[-1e4, 1e4]]]], dtype=torch.float32, requires_grad=True)
    pairs = torch.tensor([[[0, 0, 0, 1]]])
    loss = ranking_loss(pred, pairs, torch.tensor([[1]]))
    loss.backward()
    assert loss.item() == pytest.approx(2e4)
    assert torch.isfinite(pred.grad).all()


def test_gradcheck_float64():
    pred = PRED.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda p: ranking_loss(p, PAIRS, RELATIONS), (pred,))


def test_bad_pairs_and_relations_are_refused():
    with pytest.raises(ValueError, match="outside the 2×3"):
        ranking_loss(PRED, PAIRS + 2, RELATIONS)
    with pytest.raises(ValueError, match="-1, 0 and \\+1"):
        ranking_loss(PRED, PAIRS, RELATIONS * 2)
    with pytest.raises(ValueError, match="pairs must be"):
        ranking_loss(PRED, PAIRS[0], RELATIONS)


def test_module_matches_function():
    assert RankingLoss(disparity_like=True)(PRED, PAIRS, RELATIONS) == ranking_loss(
        PRED, PAIRS, RELATIONS, disparity_like=True
    )


# --- sampling --------------------------------------------------------------------------------


def test_sobel_matches_a_loop_and_uses_the_first_channel():
    generator = torch.Generator().manual_seed(0)
    image = torch.rand(3, 5, 6, generator=generator, dtype=torch.float64)
    magnitude, theta = sobel_edges(image)
    kx = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
    ky = [[1, 2, 1], [0, 0, 0], [-1, -2, -1]]
    for y in range(5):
        for x in range(6):
            if y in (0, 4) or x in (0, 5):
                assert magnitude[y, x] == 0 and theta[y, x] == 0
                continue
            patch = image[0, y - 1 : y + 2, x - 1 : x + 2]
            gx = sum(kx[i][j] * patch[i, j].item() for i in range(3) for j in range(3))
            gy = sum(ky[i][j] * patch[i, j].item() for i in range(3) for j in range(3))
            assert magnitude[y, x].item() == pytest.approx(math.hypot(gx, gy))
            assert theta[y, x].item() == pytest.approx(math.atan2(gy, gx))


def test_edge_guided_pairs_follow_the_reference_geometry():
    image = torch.zeros(1, 64, 64, dtype=torch.float64)
    image[:, :, 32:] = 1.0  # one vertical edge: θ = 0, points spread along the row
    pairs = edge_guided_pairs(image, torch.Generator().manual_seed(1))
    edge_pixels = int((sobel_edges(image)[0] >= 0.1 * sobel_edges(image)[0].max()).sum())
    assert pairs.shape == (3 * edge_pixels, 4)
    ab, bc, cd = pairs.reshape(3, edge_pixels, 4)
    assert torch.equal(ab[:, 2:], bc[:, :2]) and torch.equal(bc[:, 2:], cd[:, :2])
    # θ = 0: same row as the anchor, a, b left of it and c, d right, 2..30 px away
    assert torch.equal(ab[:, 0], ab[:, 2]) and torch.equal(cd[:, 0], cd[:, 2])
    # anchors lie in columns 31 and 32 (where the Sobel filter responds)
    a_col, b_col, c_col, d_col = ab[:, 1], ab[:, 3], cd[:, 1], cd[:, 3]
    for col in (a_col, b_col):
        assert bool(((col <= 30) & (col >= 1)).all())
    for col in (c_col, d_col):
        assert bool(((col >= 33) & (col <= 62)).all())
    again = edge_guided_pairs(image, torch.Generator().manual_seed(1))
    assert torch.equal(pairs, again)


def test_flat_image_gives_no_edge_pairs():
    assert edge_guided_pairs(torch.ones(3, 8, 8), None).shape == (0, 4)


def test_random_pairs_use_distinct_valid_pixels():
    mask = torch.zeros(6, 7, dtype=torch.bool)
    mask[1:4, 2:6] = True  # 12 valid pixels
    pairs = random_pairs(mask, 100, torch.Generator().manual_seed(2))
    assert pairs.shape == (6, 4)
    points = torch.cat([pairs[:, :2], pairs[:, 2:]])
    assert bool(mask[points[:, 0], points[:, 1]].all())
    assert len({tuple(p) for p in points.tolist()}) == 12
    assert random_pairs(mask, 2, torch.Generator().manual_seed(2)).shape == (2, 4)


def test_ordinal_relations_ratio_test_and_invariances():
    depth = torch.tensor([[[[1.0, 1.02, 1.5, 0.5]]]], dtype=torch.float64)
    pairs = torch.tensor([[[0, 0, 0, 1], [0, 2, 0, 0], [0, 3, 0, 0], [0, 0, 0, 2]]])
    # ratios 1/1.02 (equal at σ = 0.03), 1.5, 0.5, 1/1.5
    relations = ordinal_relations(depth, pairs)
    assert relations.tolist() == [[0, 1, -1, -1]]
    assert ordinal_relations(depth, pairs, sigma=0.01).tolist() == [[-1, 1, -1, -1]]
    assert torch.equal(ordinal_relations(10.0 * depth, pairs), relations)  # scale invariant
    assert torch.equal(ordinal_relations(1.0 / depth, pairs, disparity_like=True), relations)


def _loop_reference(pred, target, pairs, sampled, valid, sigma=0.03):
    """Per image: α·mean(eq·Δ²·m) + mean(¬eq·log(1+exp(−ℓΔ))·m), then mean over images."""
    losses = []
    for b in range(pred.shape[0]):
        total, count = 0.0, 0
        for n in range(pairs.shape[1]):
            if not sampled[b, n]:
                continue
            count += 1
            ya, xa, yb, xb = pairs[b, n].tolist()
            ratio = (target[b, 0, ya, xa].item() + 1e-6) / (target[b, 0, yb, xb].item() + 1e-6)
            label = 1 if ratio >= 1 + sigma else (-1 if ratio <= 1 / (1 + sigma) else 0)
            delta = pred[b, 0, ya, xa].item() - pred[b, 0, yb, xb].item()
            term = delta**2 if label == 0 else math.log(1 + math.exp(-label * delta))
            total += term * bool(valid[b, n])
        losses.append(total / count)
    return sum(losses) / len(losses)


def test_xian_loss_matches_a_loop_over_the_same_sampled_pairs():
    generator = torch.Generator().manual_seed(3)
    target = 1.0 + torch.rand(2, 1, 12, 14, generator=generator, dtype=torch.float64)
    pred = torch.randn(2, 1, 12, 14, generator=generator, dtype=torch.float64)
    image = torch.rand(2, 3, 12, 14, generator=generator, dtype=torch.float64)
    mask = torch.rand(2, 1, 12, 14, generator=generator) > 0.2
    got = xian_ranking_loss(pred, target, image, mask, generator=torch.Generator().manual_seed(4))
    pairs, sampled, valid = sample_xian_pairs(target, image, mask, torch.Generator().manual_seed(4))
    assert bool(sampled.any(1).all()) and bool((sampled & ~valid).any())
    expected = _loop_reference(pred, target, pairs, sampled, valid)
    assert got.item() == pytest.approx(expected, rel=1e-12)


def test_keep_hardest_keeps_the_largest_penalties():
    pred = torch.tensor([[[[0.0, 1.0, 2.0, 4.0]]]], dtype=torch.float64)
    pairs = torch.tensor([[[0, 0, 0, 1], [0, 0, 0, 2], [0, 0, 0, 3], [0, 1, 0, 0]]])
    relations = torch.tensor([[0, 0, 0, 0]])  # penalties Δ² = 1, 4, 16, 1
    everything = torch.ones(1, 4, dtype=torch.bool)
    full = sampled_ranking_loss(pred, pairs, relations, everything, everything)
    hardest = sampled_ranking_loss(pred, pairs, relations, everything, everything, keep_hardest=0.5)
    assert full.item() == pytest.approx(22 / 4)
    nearly_all = sampled_ranking_loss(
        pred, pairs, relations, everything, everything, keep_hardest=0.99
    )
    assert nearly_all.item() == pytest.approx(full.item())  # ⌈0.99·4⌉ = 4 pairs kept
    assert hardest.item() == pytest.approx((16 + 4) / 2)
    with pytest.raises(ValueError, match="keep_hardest"):
        sampled_ranking_loss(pred, pairs, relations, everything, everything, keep_hardest=0)


def test_sampled_loss_divides_by_the_batch_size_by_hand():
    # Image 0: pair (A=(0,0), B=(0,1)) valid, A farther, z_A − z_B = 1 → log(1 + e^−1); a second
    # sampled pair with an invalid endpoint adds 0 but counts. Image 1: no pair at all.
    pred = torch.tensor([[[[1.0, 0.0, 5.0]]], [[[0.0, 0.0, 0.0]]]], dtype=torch.float64)
    pairs = torch.tensor([[[0, 0, 0, 1], [0, 2, 0, 0]], [[0, 0, 0, 0], [0, 0, 0, 0]]])
    relations = torch.tensor([[1, -1], [0, 0]])
    sampled = torch.tensor([[True, True], [False, False]])
    valid = torch.tensor([[True, False], [False, False]])
    loss = sampled_ranking_loss(pred, pairs, relations, sampled, valid)
    assert loss.item() == pytest.approx((math.log(1 + math.exp(-1)) / 2 + 0.0) / 2, rel=1e-12)
    hardest = sampled_ranking_loss(pred, pairs, relations, sampled, valid, keep_hardest=0.5)
    assert hardest.item() == pytest.approx(math.log(1 + math.exp(-1)) / 1 / 2, rel=1e-12)


def test_random_pairs_are_drawn_among_all_pixels_with_a_target_not_only_valid_ones():
    target = 1.0 + torch.rand(1, 1, 8, 10, generator=torch.Generator().manual_seed(5))
    mask = torch.zeros(1, 1, 8, 10, dtype=torch.bool)
    mask[..., 2, 3] = mask[..., 5, 7] = True  # two valid pixels
    image = torch.zeros(1, 3, 8, 10)
    image[..., 5:] = 1.0  # a vertical edge: anchors on columns 4–5
    magnitude, _ = sobel_edges(image[0])
    anchors = int((magnitude >= 0.1 * magnitude.max()).sum())
    pairs, sampled, valid = sample_xian_pairs(target, image, mask, torch.Generator().manual_seed(6))
    random_count = min(anchors, 8 * 10 // 2)  # the reference's min(sample_num, pixels // 2)
    assert anchors == 12 and int(sampled.sum()) == 3 * anchors + random_count
    random_part = pairs[0, 3 * anchors :]
    points = torch.cat([random_part[:, :2], random_part[:, 2:]])
    assert len({tuple(p) for p in points.tolist()}) == 2 * random_count  # distinct pixels
    assert not bool(mask[0, 0, points[:, 0], points[:, 1]].all())  # invalid pixels drawn too
    assert int(valid.sum()) <= 1  # at most the pair joining the two valid pixels
