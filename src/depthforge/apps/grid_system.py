"""Linear systems on a pixel grid whose rows couple each pixel to its 3 × 3 window: the form of
the colorization fill's system (:mod:`depthforge.apps.completion`), its blocks assembled directly
from per-pixel arrays, and their sparse LU in a nested-dissection order.

**Nested dissection** (George 1973, "Nested dissection of a regular finite element mesh"): a row
or column of pixels separates a 3 × 3-stencil grid into two halves that do not couple; ordering
each half recursively and the separator last keeps the LU factors of an ``n``-pixel grid at
O(n log n) entries (O(n^1.5) operations), where general-purpose orderings (SuperLU's COLAMD or
minimum degree) fill in far more on large unknown regions: on the real KITTI frame's hole
block (1242×375, 96 % unknown) the factors hold 42 M entries against COLAMD's 97 M and the LU
takes 1.6 s of CPU against 8.3 s (``benchmarks/completion_speed.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sparse_matrix
from scipy.sparse.linalg import splu

DISSECTION_LEAF = 16
"""Regions of at most this many pixels are not dissected further (fastest of 16, 64, 256 on
the NYU and KITTI frames)."""


def _indices(selection: np.ndarray) -> np.ndarray:
    selection = np.asarray(selection)
    return np.flatnonzero(selection) if selection.dtype == bool else selection


@dataclass(frozen=True)
class StencilMatrix:
    """An ``(N, N)`` matrix over the ``N = H·W`` pixels of a grid whose row r holds at most the
    3 × 3 window around r: the form of the toolbox system, kept as arrays so that any block of
    rows × columns is assembled directly in CSR (no sparse slicing).

    Attributes:
        values: ``(N, 9)`` entries of each row for the window offsets ``(dy, dx)`` in row-major
            order (centre at 4), i.e. column ``r + dy·W + dx``.
        present: ``(N, 9)`` bool, which entries exist (the window is cut at the border).
        width: the grid's W.
    """

    values: np.ndarray
    present: np.ndarray
    width: int

    @classmethod
    def from_weights(
        cls, centre: np.ndarray | None, weights: np.ndarray, inside: np.ndarray
    ) -> StencilMatrix:
        """``(H, W)`` diagonal (``None``: none) and ``(8, H, W)`` off-diagonal entries and
        presence in the order of :data:`NEIGHBOUR_OFFSETS`."""
        h, w = inside.shape[1:]
        diagonal = np.zeros((1, h, w)) if centre is None else centre[None]
        values = np.concatenate([weights[:4], diagonal, weights[4:]]).reshape(9, -1)
        present = np.concatenate([inside[:4], np.full((1, h, w), centre is not None), inside[4:]])
        return cls(values.T.copy(), present.reshape(9, -1).T.copy(), w)

    def block(
        self, rows: np.ndarray | None = None, cols: np.ndarray | None = None
    ) -> sparse_matrix.csr_matrix:
        """The block of the ``rows`` × ``cols`` pixels: each an ``(N,)`` bool mask (pixels in
        pixel order), an array of pixel indices (in that order) or ``None`` (all, in order)."""
        n, pad = len(self.values), self.width + 1  # a 3 × 3 window reaches ±(W + 1)
        steps = np.array([dy * self.width + dx for dy in (-1, 0, 1) for dx in (-1, 0, 1)])
        picked = np.arange(n) if rows is None else _indices(rows)
        keep, values = self.present[picked], self.values[picked]
        if cols is None:
            indices, n_cols = (picked[:, None] + steps)[keep], n
        else:
            cols = _indices(cols)
            position = np.full(n + 2 * pad, -1, dtype=np.int32)  # −1: not a column of the block
            position[cols + pad] = np.arange(len(cols), dtype=np.int32)
            column = position[(picked + pad).astype(np.int32)[:, None] + steps.astype(np.int32)]
            keep = keep & (column >= 0)
            indices, n_cols = column[keep], len(cols)
        indptr = np.zeros(len(keep) + 1, dtype=np.int64)
        np.cumsum(keep.sum(1), out=indptr[1:])
        return sparse_matrix.csr_matrix((values[keep], indices, indptr), shape=(len(keep), n_cols))


def nested_dissection(height: int, width: int, leaf: int = DISSECTION_LEAF) -> np.ndarray:
    """A nested-dissection order of the pixels of a ``height`` × ``width`` grid.

    A region larger than ``leaf`` pixels (and at least 3 wide and high) is cut through the middle
    of its longer side by a one-pixel line; the pixels before the line come first, then those
    after it, then the line. All regions of one level are cut at once (arrays of rectangles);
    each final piece (a leaf region or a line) gets a base-3 key, one digit per level (0 before,
    1 after, 2 the line), padded to a common length, and the pieces are put in key order, the
    pixels of each piece in row-major order.

    Returns:
        ``(height·width,)`` int64 pixel indices ``v·width + u`` in elimination order.
    """
    digits = 2 * (int(np.ceil(np.log2(max(height, width, 2)))) + 1)
    if digits > 39:  # 3**39 < 2**63
        raise ValueError(f"grid {width}×{height} too large for the dissection keys")
    rects = np.array([[0, height, 0, width]], dtype=np.int64)  # rows: y0, y1, x0, x1
    keys = np.zeros(1, dtype=np.int64)
    pieces, piece_keys = [], []
    level = 0
    while len(rects):
        tall, wide = rects[:, 1] - rects[:, 0], rects[:, 3] - rects[:, 2]
        final = (tall * wide <= leaf) | (np.minimum(tall, wide) < 3)
        pieces.append(rects[final])
        piece_keys.append(keys[final] * 3 ** (digits - level))
        rects, keys, level = rects[~final], keys[~final], level + 1
        if not len(rects):
            break
        across = (tall >= wide)[~final]  # cut a row (else a column)
        axis = np.where(across, 0, 2)  # column of the cut coordinate's range: y0 or x0
        rows = np.arange(len(rects))
        middle = (rects[rows, axis] + rects[rows, axis + 1]) // 2
        before, after, line = rects.copy(), rects.copy(), rects.copy()
        before[rows, axis + 1] = middle
        after[rows, axis] = middle + 1
        line[rows, axis], line[rows, axis + 1] = middle, middle + 1
        pieces.append(line)
        piece_keys.append((keys * 3 + 2) * 3 ** (digits - level))
        rects = np.concatenate([before, after])
        keys = np.concatenate([keys * 3, keys * 3 + 1])
    rects = np.concatenate(pieces)[np.argsort(np.concatenate(piece_keys))]
    sizes = (rects[:, 1] - rects[:, 0]) * (rects[:, 3] - rects[:, 2])
    piece = np.repeat(np.arange(len(rects)), sizes)
    local = np.arange(height * width) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    piece_width = rects[piece, 3] - rects[piece, 2]
    v, u = rects[piece, 0] + local // piece_width, rects[piece, 2] + local % piece_width
    return v * width + u


class GridLU:
    """Sparse LU (SuperLU) of the block of a :class:`StencilMatrix` over a set of pixels, in the
    order of :func:`nested_dissection` and without pivoting: for a nonsingular M-matrix (the
    colorization system: diagonal ≥ the sum of its non-positive off-diagonals) elimination in
    any symmetric order needs no pivoting (every Schur complement is again an M-matrix).

    Args:
        system: the matrix.
        pixels: ``(N,)`` bool, the rows and columns of the block.

    Raises:
        RuntimeError: an exactly singular block (SuperLU's).
    """

    def __init__(self, system: StencilMatrix, pixels: np.ndarray) -> None:
        order = nested_dissection(len(pixels) // system.width, system.width)
        index = order[pixels[order]]
        position = np.cumsum(pixels) - 1
        self._perm = position[index]  # block row in elimination order → row in pixel order
        self._lu = splu(
            system.block(index, index).tocsc(),
            permc_spec="NATURAL",
            diag_pivot_thresh=0.0,
            options={"SymmetricMode": True},
        )

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """``(n,)`` solution for ``(n,)`` right-hand side, both in pixel order of the block."""
        out = np.empty_like(rhs, dtype=np.float64)
        out[self._perm] = self._lu.solve(np.asarray(rhs, dtype=np.float64)[self._perm])
        return out
