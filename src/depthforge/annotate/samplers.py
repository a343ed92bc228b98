"""Which point pairs of an image to ask about.

Every sampler returns ``(N, 4)`` int64 0-based ``y_a, x_a, y_b, x_b`` pairs of distinct pixels of
an ``H`` × ``W`` image, drawn with a :class:`numpy.random.Generator`.

* ``random`` — both points uniform over the image (Chen et al. 2016, DIW). Deviation: DIW drew
  half of its pairs symmetric about the image's vertical centre line; this sampler does not.
* ``poisson`` — points from Poisson-disk (dart-throwing) sampling, no two closer than
  ``min_distance`` × the image's longer side, and pairs among the edges of their Delaunay
  triangulation, so the two points of a pair are near each other but not too near (the scheme of
  Bell et al. 2014, Intrinsic Images in the Wild; the default separation is our choice).
* ``model`` — active learning: many random candidate pairs, of which the ``N`` a depthforge model
  is least sure of are kept. The ranking loss of Chen et al. 2016 (Eq. 1) models
  P(A farther) = σ(z_A − z_B), so the least sure pairs are those with the smallest |z_A − z_B|.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.spatial import Delaunay

SAMPLERS = ("random", "poisson", "model")
POISSON_MIN_DISTANCE = 0.07
"""Minimum point separation of the ``poisson`` sampler, as a fraction of the longer side."""
MODEL_CANDIDATES = 20
"""Random candidates drawn per kept pair by the ``model`` sampler."""


def random_pairs(height: int, width: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` pairs of two distinct pixels, each uniform over the image."""
    if height * width < 2:
        raise ValueError(f"an image of {width}x{height} pixels has no pair of distinct pixels")
    a = rng.integers(0, height * width, count)
    b = (a + rng.integers(1, height * width, count)) % (height * width)  # b ≠ a
    return np.stack([a // width, a % width, b // width, b % width], axis=1).astype(np.int64)


def poisson_points(
    height: int, width: int, min_distance: float, rng: np.random.Generator, tries: int = 30
) -> np.ndarray:
    """``(M, 2)`` pixel ``(y, x)`` points at least ``min_distance`` pixels apart, by dart
    throwing: candidates arrive in batches and each is kept when it is far enough from every
    point kept so far (``tries`` batches in a row without a new point end the search)."""
    points = np.zeros((0, 2), np.float64)
    misses = 0
    while misses < tries:
        candidates = rng.uniform(0, 1, (64, 2)) * (height, width)
        added = False
        for c in candidates:  # a loop over at most a few hundred points, not over pixels
            if len(points) == 0 or np.min(np.sum((points - c) ** 2, axis=1)) >= min_distance**2:
                points = np.vstack([points, c])
                added = True
        misses = 0 if added else misses + 1
    return np.minimum(np.floor(points), (height - 1, width - 1)).astype(np.int64)


def poisson_pairs(
    height: int,
    width: int,
    count: int,
    rng: np.random.Generator,
    min_distance: float = POISSON_MIN_DISTANCE,
) -> np.ndarray:
    """Up to ``count`` pairs: distinct Delaunay edges between Poisson-disk points."""
    points = poisson_points(height, width, min_distance * max(height, width), rng)
    if len(points) < 3:
        return random_pairs(height, width, count, rng)
    simplices = Delaunay(points.astype(np.float64)).simplices
    edges = np.concatenate([simplices[:, [0, 1]], simplices[:, [1, 2]], simplices[:, [0, 2]]])
    edges = np.unique(np.sort(edges, axis=1), axis=0)
    chosen = edges[rng.permutation(len(edges))[:count]]
    swap = rng.random(len(chosen)) < 0.5  # A is either end of the edge
    chosen[swap] = chosen[swap][:, ::-1]
    return np.concatenate([points[chosen[:, 0]], points[chosen[:, 1]]], axis=1)


def least_certain_pairs(
    depth: np.ndarray, count: int, rng: np.random.Generator, candidates: int = MODEL_CANDIDATES
) -> np.ndarray:
    """The ``count`` of ``candidates`` × ``count`` random pairs with the smallest
    |z_A − z_B| in the ``(H, W)`` prediction ``depth`` (any depth-like or disparity-like map)."""
    height, width = depth.shape
    pool = random_pairs(height, width, count * candidates, rng)
    gap = np.abs(depth[pool[:, 0], pool[:, 1]] - depth[pool[:, 2], pool[:, 3]])
    return pool[np.argsort(gap, kind="stable")[:count]]


def make_sampler(
    name: str, predict_depth: Callable[[np.ndarray], np.ndarray] | None = None
) -> Callable[[np.ndarray, int, np.random.Generator], np.ndarray]:
    """``sample(image, count, rng) -> pairs`` for sampler ``name``; ``image`` is ``(H, W, 3)``.

    Args:
        predict_depth: for ``model``: ``(H, W, 3)`` image → ``(H, W)`` prediction.
    """
    if name == "random":
        return lambda image, n, rng: random_pairs(*image.shape[:2], n, rng)
    if name == "poisson":
        return lambda image, n, rng: poisson_pairs(*image.shape[:2], n, rng)
    if name == "model":
        if predict_depth is None:
            raise ValueError("the model sampler needs a model (--model FOLDER)")
        return lambda image, n, rng: least_certain_pairs(predict_depth(image), n, rng)
    raise ValueError(f"unknown sampler {name!r}; known: {', '.join(SAMPLERS)}")
