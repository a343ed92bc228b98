"""Pixel-grid systems: the nested-dissection order and the LU that uses it."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
from scipy.sparse.linalg import spsolve

from depthforge.apps.completion import NEIGHBOUR_OFFSETS
from depthforge.apps.grid_system import GridLU, StencilMatrix, nested_dissection


@pytest.mark.parametrize(
    ("height", "width", "leaf"), [(7, 9, 4), (1, 5, 16), (12, 3, 2), (40, 31, 16)]
)
def test_nested_dissection_is_a_permutation(height, width, leaf):
    order = nested_dissection(height, width, leaf)
    np.testing.assert_array_equal(np.sort(order), np.arange(height * width))


def test_nested_dissection_by_hand_on_a_7_by_9_grid():
    """9 wide > 7 tall: the middle column (u = 4) is eliminated last, after the left half
    (u < 4) and then the right half (u > 4); each 7 × 4 half is cut at its middle row (v = 3)."""
    order = nested_dissection(7, 9, leaf=4)
    v, u = np.divmod(order, 9)
    np.testing.assert_array_equal(u[-7:], 4)
    np.testing.assert_array_equal(v[-7:], np.arange(7))
    assert (u[:28] < 4).all() and (u[28:56] > 4).all()
    left_v = v[:28]
    np.testing.assert_array_equal(left_v[-4:], 3)  # the left half's separator row, last in it
    assert (left_v[:12] < 3).all() and (left_v[12:24] > 3).all()


def random_m_matrix(rng, height, width) -> StencilMatrix:
    """Diagonal 1 + a random ≥ 0 data term, off-diagonals −w with Σw = 1 (the fill's form)."""
    weights = rng.random((8, height, width))
    inside = np.ones((8, height, width), dtype=bool)
    for k, (dy, dx) in enumerate(NEIGHBOUR_OFFSETS):
        v, u = np.mgrid[:height, :width]
        inside[k] = (v + dy >= 0) & (v + dy < height) & (u + dx >= 0) & (u + dx < width)
    weights = np.where(inside, weights, 0.0)
    weights /= weights.sum(0)
    centre = 1.0 + (rng.random((height, width)) < 0.2)
    return StencilMatrix.from_weights(centre, -weights, inside)


def test_grid_lu_solves_a_block_as_pivoted_lu_does():
    rng = np.random.default_rng(3)
    system = random_m_matrix(rng, 13, 17)
    pixels = rng.random(13 * 17) < 0.7
    rhs = rng.random(int(pixels.sum()))
    expected = spsolve(scipy.sparse.csc_matrix(system.block(pixels, pixels)), rhs)
    np.testing.assert_allclose(GridLU(system, pixels).solve(rhs), expected, rtol=1e-10)
