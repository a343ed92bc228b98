"""Per-image sums of the Eigen-style metrics in one pass over blocks of rows (the hot loop).

For every image the valid set V (``mask ∧ min_depth < g < max_depth``, caps compared in the
GT's own precision) is scored in blocks of whole rows of at most :data:`BLOCK_PIXELS` pixels,
so that the float64 temporaries (eight of 512 KiB) stay in the L2/L3 caches. Per block:

1. in the input precision: the valid mask, the prediction clamp (in the prediction's own
   precision, as monodepth2, BTS and AdaBins clamp their float32 arrays), and the selection that
   gives every invalid pixel ``g = p``, so that all its error terms vanish (plain sums = sums
   over V, no boolean indexing);
2. in float64, from those exact values: ``d = p − g``, ``q = d / g`` (= −(g − p)/g) and
   ``e = log1p(q) = ln p − ln g``, each computed once and reused: ``|q|`` (abs_rel),
   ``q·d`` (sq_rel, (g − p)²/g), ``d²`` (rmse), ``e²``, ``e``, ``|e|`` (rmse_log, silog, log10);
3. the δ hits from ``|e|`` (below).

``log1p(d / g)`` keeps e accurate to a few float64 ulps of e itself, also for p ≈ g, where
``ln p − ln g`` would lose digits. The δ test ``max(g/p, p/g) < 1.25^k`` is ``|e| < k·ln 1.25``.
For float32 inputs it is decided exactly: two float32 numbers have a ratio equal to 1.25^k
(k ≤ 3) or at least 2⁻³¹ (relative) away from it, since 4^k·g − 5^k·p is a multiple of the
smaller ulp, while e carries an error below 1e-15 near the thresholds; so comparing against
``k·ln 1.25 − 1e-12`` counts exactly the pixels with ratio strictly below 1.25^k, ties
excluded, as the references' float64 ``max(g/p, p/g) < 1.25 ** k`` does. Inputs in float64 are
compared through the ratios themselves, as the references do.

Each block costs about thirty single-threaded NumPy operations on 2¹⁶ elements (no per-op
thread pool that could stall on a busy machine) and no Python loop over pixels
(``benchmarks/eval_speed.py``).
"""

from __future__ import annotations

import math

import numpy as np

# Columns of the sums table, in the order :mod:`depthforge.eval.metrics` names them.
SUMS = ("count", "abs_rel", "sq_rel", "sq_err", "log_sq", "log_sum", "log_abs", "d1", "d2", "d3")
BLOCK_PIXELS = 1 << 16
"""Pixels per block (whole rows): 512 KiB per float64 temporary. On the 2-core machine
(single-threaded timing of :func:`batch_sums` on 100 NYU-size pairs, ``benchmarks/RESULTS.md``)
2¹⁶ cost 6–8 % less per pixel than 2¹⁵ and 2–3 % less than 2¹⁷: smaller blocks pay more
Python per pixel, larger ones spill the caches."""
DELTA_BASE = 1.25
# |e| thresholds of the δ test for float32 inputs (module docstring): ties at exactly 1.25^k
# fall on the not-hit side, every other float32 ratio is ≥ 2⁻³¹ (relative) from them.
_DELTA_LOG = tuple(k * math.log(DELTA_BASE) - 1e-12 for k in (1, 2, 3))


class _Buffers:
    """Work arrays for blocks of ``rows × width`` pixels, reused block after block."""

    def __init__(self, rows: int, width: int, dtype: np.dtype):
        size = rows * width
        self.valid = np.empty((rows, width), bool)
        self.upper = np.empty((rows, width), bool)
        self.pred = np.empty((rows, width), dtype)
        self.gsel = np.empty((rows, width), dtype)
        bits = np.int32 if dtype == np.float32 else np.int64
        self.bits = np.empty((2, rows, width), bits)
        # d = p − g, q = d/g, then the six summed rows in the order of SUMS[1:7]:
        # |q|, q·d, d², e², e, |e|
        self.f64 = np.empty((8, size))
        self.hits = np.empty(size, bool)


def _select(valid: np.ndarray, g: np.ndarray, p: np.ndarray, buf: _Buffers) -> np.ndarray:
    """``where(valid, g, p)`` into a work array, as bit operations (a masked copy is slower):
    ``p ^ ((g ^ p) & −valid)`` on the integer views."""
    rows = valid.shape[0]
    ones, tmp = buf.bits[0, :rows], buf.bits[1, :rows]
    out = buf.gsel[:rows]
    kind = ones.dtype
    np.copyto(ones, valid, casting="unsafe")
    np.negative(ones, out=ones)  # all bits set where valid
    np.bitwise_xor(g.view(kind), p.view(kind), out=tmp)
    np.bitwise_and(tmp, ones, out=tmp)
    np.bitwise_xor(tmp, p.view(kind), out=out.view(kind))
    return out


def _block_sums(
    p: np.ndarray,
    g: np.ndarray,
    m: np.ndarray | None,
    caps: tuple,
    clamp: tuple | None,
    buf: _Buffers,
) -> np.ndarray:
    """``(len(SUMS),)`` float64 sums over one ``(r, W)`` block (views into the image)."""
    rows = p.shape[0]
    valid, pred = buf.valid[:rows], buf.pred[:rows]
    np.greater(g, caps[0], out=valid)
    np.logical_and(valid, np.less(g, caps[1], out=buf.upper[:rows]), out=valid)
    if m is not None:
        np.logical_and(valid, m, out=valid)
    count = np.count_nonzero(valid)
    if clamp is None:
        pred.fill(1)  # invalid pixels become p = g = 1, whatever their prediction
        np.copyto(pred, p, where=valid)
    else:
        np.clip(p, clamp[0], clamp[1], out=pred)  # NaN stays NaN: see below
    sums = _float64_sums(pred, g, valid, count, buf)
    if clamp is not None and not np.isfinite(sums).all() and np.isnan(pred).any():
        np.nan_to_num(pred, copy=False, nan=clamp[0])  # the protocols' NaN → lo
        sums = _float64_sums(pred, g, valid, count, buf)
    return sums


def _float64_sums(pred, g, valid, count, buf) -> np.ndarray:
    """Sums of one block from its (clamped) prediction, its GT and its valid mask."""
    rows, width = pred.shape
    size = rows * width
    f64 = buf.f64[:, :size]
    d, q, abs_q, qd, d2, e2, e, abs_e = f64
    np.copyto(d.reshape(rows, width), pred)
    # invalid pixels: g = p, so every error term is 0
    np.copyto(q.reshape(rows, width), _select(valid, g, pred, buf))
    np.subtract(d, q, out=d)  # d = p − g (exact for float32 inputs)
    np.divide(d, q, out=q)  # q = (p − g)/g
    np.log1p(q, out=e)  # e = ln p − ln g
    np.abs(q, out=abs_q)
    np.multiply(q, d, out=qd)  # (g − p)²/g
    np.square(d, out=d2)
    np.square(e, out=e2)
    np.abs(e, out=abs_e)
    sums = np.add.reduce(f64[2:], axis=1)
    hits = _delta_hits(pred, g, valid, abs_e, count, buf)
    return np.array([count, *sums, *hits], dtype=np.float64)


def _delta_hits(pred, g, valid, abs_e, count, buf) -> list[int]:
    """Pixels of V with ``max(g/p, p/g) < 1.25^k``, k = 1, 2, 3 (invalid pixels have e = 0)."""
    size = abs_e.size
    if pred.dtype == np.float32 and g.dtype == np.float32:
        hit = buf.hits[:size]
        return [np.count_nonzero(np.less(abs_e, c, out=hit)) - (size - count) for c in _DELTA_LOG]
    pp = np.where(valid, pred, 1.0).reshape(-1)
    gg = np.where(valid, g, 1.0).reshape(-1)
    ratio = np.maximum(gg / pp, pp / gg)
    return [np.count_nonzero(ratio < DELTA_BASE**k) - (size - count) for k in (1, 2, 3)]


def batch_sums(
    pred: np.ndarray,
    gt: np.ndarray,
    mask: np.ndarray | None,
    caps: tuple,
    clamp: tuple | None,
    images: range | list[int],
) -> np.ndarray:
    """``(len(images), len(SUMS))`` sums of the ``images`` of a ``(B, H, W)`` batch (views
    allowed), block after block, with one set of work arrays.

    Args:
        pred, gt: float32 (both) or float64 (both) arrays, metres.
        mask: optional bool array of the same shape.
        caps: strict ``(min, max)`` GT bounds in the GT's dtype (``min ≥ 0``).
        clamp: ``(lo, hi)`` in the prediction's dtype, or ``None``.
        images: indices into the batch.
    """
    height, width = pred.shape[-2:]
    rows = max(1, min(height, BLOCK_PIXELS // max(1, width)))
    buf = _Buffers(rows, width, pred.dtype)
    out = np.zeros((len(images), len(SUMS)))
    # a bad prediction shows as a non-finite sum, which the caller reports
    with np.errstate(all="ignore"):
        for row, i in enumerate(images):
            for top in range(0, height, rows):
                block = slice(top, top + rows)
                m = None if mask is None else mask[i, block]
                out[row] += _block_sums(pred[i, block], gt[i, block], m, caps, clamp, buf)
    return out
