"""WHDR, WKDR and SDR on hand-made 3×3 maps."""

from __future__ import annotations

import pytest
import torch

from depthforge.eval import Evaluator, sdr, whdr, wkdr
from depthforge.types import Sample

# depth-like map (larger = farther); note the tie z[0, 2] == z[1, 2] == 3
Z = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 3.0], [7.0, 8.0, 9.0]])


def test_whdr_by_hand_with_a_tie_counted_wrong():
    pairs = torch.tensor([[0, 0, 2, 2], [1, 1, 0, 0], [0, 1, 1, 0], [0, 2, 1, 2]])
    relations = torch.tensor([-1, 1, 1, 1])  # +1 = A farther
    # (1−9)·(−1) > 0 ✓; (5−1)·1 > 0 ✓; (2−4)·1 < 0 ✗; (3−3)·1 = 0 ✗ (ties are wrong)
    assert whdr(Z, pairs, relations) == pytest.approx(2 / 4)


def test_whdr_of_a_disparity_map_flips_the_order_but_not_ties():
    pairs = torch.tensor([[0, 0, 2, 2], [1, 1, 0, 0], [0, 1, 1, 0], [0, 2, 1, 2]])
    relations = torch.tensor([-1, 1, 1, 1])
    assert whdr(Z, pairs, relations, disparity=True) == pytest.approx(3 / 4)
    assert whdr(1.0 / Z, pairs, relations, disparity=True) == pytest.approx(2 / 4)


def test_whdr_pools_pairs_over_images():
    one = (torch.tensor([[0, 0, 2, 2]]), torch.tensor([1]))  # wrong
    three = (torch.tensor([[0, 0, 2, 2], [2, 2, 0, 0], [1, 1, 0, 0]]), torch.tensor([-1, 1, 1]))
    assert whdr([Z, Z], [one[0], three[0]], [one[1], three[1]]) == pytest.approx(1 / 4)


def test_whdr_refuses_equal_pairs_and_bad_coordinates():
    with pytest.raises(ValueError, match="wkdr"):
        whdr(Z, torch.tensor([[0, 0, 1, 1]]), torch.tensor([0]))
    with pytest.raises(ValueError, match=r"pair 1 \[0, 3, 1, 1\] lies outside the 3×3"):
        whdr(Z, torch.tensor([[0, 0, 1, 1], [0, 3, 1, 1]]), torch.tensor([1, 1]))
    with pytest.raises(ValueError, match="relations must be"):
        whdr(Z, torch.tensor([[0, 0, 1, 1]]), torch.tensor([2]))


def test_wkdr_is_per_image_then_mean_with_an_inclusive_threshold():
    pairs1 = torch.tensor([[0, 0, 2, 2], [0, 0, 0, 1], [1, 1, 0, 0], [0, 1, 1, 0]])
    rel1 = torch.tensor([-1, 0, 0, 1])
    # τ = 1: diffs −8 '<' ✓, −1 '=' ✓ (|d| ≤ τ), 4 '>' vs '=' ✗, −2 '<' vs '>' ✗
    pairs2, rel2 = torch.tensor([[0, 0, 2, 2]]), torch.tensor([-1])  # one correct pair
    got = wkdr([Z, Z], [pairs1, pairs2], [rel1, rel2], tau=1.0)
    assert got["wkdr"] == pytest.approx((2 / 4 + 0 / 1) / 2)  # pooled would be 2/5
    assert got["wkdr_eq"] == pytest.approx(1 / 2)  # only image 1 has '=' pairs
    assert got["wkdr_neq"] == pytest.approx((1 / 2 + 0) / 2)
    assert wkdr(Z, pairs1, rel1, tau=0.99)["wkdr_eq"] == pytest.approx(2 / 2)


def test_sdr_by_hand_pooled_and_split():
    pairs = torch.tensor([[0, 0, 0, 1], [1, 1, 1, 2], [2, 1, 2, 2], [1, 0, 1, 1], [0, 2, 1, 2]])
    relations = torch.tensor([-1, 1, 0, 1, 0])
    # ratios z_A/z_B: 0.5 → −1 ✓; 5/3 → +1 ✓; 8/9 < 1/1.1 → −1 ✗; 0.8 → −1 ✗; 1 → 0 ✓
    got = sdr(Z, pairs, relations)
    assert got == pytest.approx({"sdr": 2 / 5, "sdr_eq": 1 / 2, "sdr_neq": 1 / 3})


def test_evaluator_scores_diw_samples_with_whdr():
    def sample(sid: str, pair: list[int], relation: int) -> Sample:
        return Sample(
            image=torch.zeros(3, 3, 3),
            depth=torch.zeros(1, 3, 3),
            mask=torch.zeros(1, 3, 3, dtype=torch.bool),
            pairs=torch.tensor([pair]),
            relations=torch.tensor([relation]),
            meta={"id": sid},
        )

    ev = Evaluator("diw")
    ev.add(Z, sample=sample("a", [0, 0, 2, 2], -1))  # correct
    ev.add(Z, sample=sample("b", [0, 0, 2, 2], 1))  # wrong
    ev.add(Z, sample=sample("c", [2, 1, 0, 0], 1))  # correct
    result = ev.result()
    assert result.metrics == pytest.approx({"whdr": 1 / 3})
    assert result.n_images == 3
    disparity = Evaluator("diw", output_space="affine_invariant_disparity")
    disparity.add(Z, sample=sample("a", [0, 0, 2, 2], -1))
    assert disparity.result().metrics["whdr"] == 1.0
