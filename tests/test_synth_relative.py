"""Specification of ordinal pair sampling: the ratio rule by hand, valid distinct pixels only."""

from __future__ import annotations

import numpy as np
import pytest

from depthforge.losses.ranking import ratio_relations
from depthforge.synth.relative import sample_ordinal_pairs


def test_relations_by_hand():
    a = np.array([2.0, 1.0, 1.0, 1.019, 1.0, 1.02])
    b = np.array([1.0, 2.0, 1.0, 1.0, 1.019, 1.0])
    # A twice as far: '>'; half as far: '<'; equal: '='; 1.9 % apart: '='; exactly 2 %: '>'.
    np.testing.assert_array_equal(ratio_relations(a, b), [1, -1, 0, 0, 0, 1])
    np.testing.assert_array_equal(ratio_relations(a, b, ratio=1.0), [1, -1, 0, 1, -1, 1])


def test_pairs_are_distinct_valid_pixels_labelled_by_their_depths():
    rng = np.random.default_rng(0)
    depth = rng.uniform(1.0, 5.0, (12, 16))
    mask = rng.random((12, 16)) > 0.3
    pairs, relations = sample_ordinal_pairs(depth, mask, 500, np.random.default_rng(1))
    assert pairs.shape == (500, 4) and pairs.dtype == np.int64 and relations.dtype == np.int64
    ya, xa, yb, xb = pairs.T
    assert mask[ya, xa].all() and mask[yb, xb].all()
    assert ((ya != yb) | (xa != xb)).all()
    za, zb = depth[ya, xa], depth[yb, xb]
    for r, p, q in zip(relations, za, zb, strict=True):
        assert r == (1 if p >= 1.02 * q else -1 if q >= 1.02 * p else 0)
    # Uniform over valid pixels: every valid pixel is hit about equally often.
    counts = np.bincount(np.concatenate([ya * 16 + xa, yb * 16 + xb]), minlength=192)
    assert counts[~mask.reshape(-1)].sum() == 0 and counts[mask.reshape(-1)].min() > 0


def test_same_generator_state_gives_the_same_pairs():
    depth = np.arange(1.0, 13.0).reshape(3, 4)
    mask = np.ones((3, 4), bool)
    first = sample_ordinal_pairs(depth, mask, 20, np.random.default_rng(7))
    second = sample_ordinal_pairs(depth, mask, 20, np.random.default_rng(7))
    np.testing.assert_array_equal(first[0], second[0])


def test_too_few_valid_pixels_or_no_pairs_requested_give_empty_arrays():
    depth = np.ones((3, 3))
    one = np.zeros((3, 3), bool)
    one[1, 1] = True
    for mask, count in ((one, 10), (np.ones((3, 3), bool), 0)):
        pairs, relations = sample_ordinal_pairs(depth, mask, count, np.random.default_rng(0))
        assert pairs.shape == (0, 4) and relations.shape == (0,)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="ratio must be"):
        ratio_relations(np.ones(2), np.ones(2), ratio=0.9)
    with pytest.raises(ValueError, match="count must be"):
        sample_ordinal_pairs(np.ones((2, 2)), np.ones((2, 2), bool), -1, np.random.default_rng(0))
