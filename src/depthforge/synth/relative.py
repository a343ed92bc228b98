"""Ordinal (relative-depth) annotations sampled from ground-truth depth.

Point pairs are drawn uniformly among the pixels with valid depth (A ≠ B) and labelled by their
depth ratio, following Zoran et al. (ICCV 2015) and Chen et al. (DIW, NeurIPS 2016), who label
pairs as '>', '<' or '=' with a relative depth-ratio threshold; the threshold ``ratio = 1.02``
(σ = 0.02) is the one of Xian et al. (ReDWeb, CVPR 2018); the exact value used for the DIW-era NYU
labels is not published:

* ``+1`` ('>', A farther) when ``z_A / z_B ≥ ratio``,
* ``−1`` ('<', A nearer)  when ``z_A / z_B ≤ 1 / ratio``,
* ``0``  ('=') otherwise (:func:`depthforge.losses.ranking.ratio_relations`).
"""

from __future__ import annotations

import numpy as np

from depthforge.losses.ranking import REDWEB_RATIO, ratio_relations

EQUAL_RATIO = REDWEB_RATIO


def sample_ordinal_pairs(
    depth: np.ndarray,
    mask: np.ndarray,
    count: int,
    rng: np.random.Generator,
    ratio: float = EQUAL_RATIO,
) -> tuple[np.ndarray, np.ndarray]:
    """Sample ``count`` pairs of distinct valid pixels and their ordinal relations.

    Args:
        depth: ``(H, W)`` metres.
        mask: ``(H, W)`` bool, True where ``depth`` is valid.
        count: number of pairs (fewer valid pixels than 2 → no pairs).
        rng: the source of randomness.
        ratio: the '=' threshold on the depth ratio.

    Returns:
        ``pairs`` ``(N, 4)`` int64 0-based ``y_a, x_a, y_b, x_b`` and ``relations`` ``(N,)`` int64.
    """
    valid = np.flatnonzero(mask)
    if count < 0:
        raise ValueError(f"count must be ≥ 0, got {count}")
    if len(valid) < 2 or count == 0:
        return np.zeros((0, 4), np.int64), np.zeros(0, np.int64)
    a = rng.integers(0, len(valid), count)
    # B is drawn among the other valid pixels: shift by 1 … n−1 so that A ≠ B.
    b = (a + rng.integers(1, len(valid), count)) % len(valid)
    ia, ib = valid[a], valid[b]
    width = depth.shape[1]
    pairs = np.stack([ia // width, ia % width, ib // width, ib % width], axis=1).astype(np.int64)
    flat = depth.reshape(-1)
    return pairs, ratio_relations(flat[ia], flat[ib], ratio).astype(np.int64)
