"""Surface normals of a depth grid, written once for NumPy arrays and PyTorch tensors.

The method (cross product of back-projected central differences, coplanarity test on inverse
depth) is described in :mod:`depthforge.geometry.normals`, whose differentiable
:func:`~depthforge.geometry.normals.normals_from_depth` runs :func:`interior_normals` on tensors.
:func:`normal_map` runs the same function on NumPy arrays, so that ``depthforge pointcloud``
estimates normals without importing PyTorch (``benchmarks/pointcloud_command_vs_open3d.py``).

:func:`interior_normals` uses only indexing, arithmetic operators and the ``where`` it is given
(``numpy.where`` or ``torch.where``, which take the same arguments), so both array kinds run the
one definition.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from depthforge.geometry.pinhole import pinhole_rays

DEFAULT_TOLERANCE = 0.02
"""Accepted second difference of inverse depth, relative to ``1/z``."""
DEFAULT_EPS = 1e-12
"""Lower bound on the cross product's norm when normalising."""
BAND_ROWS = 32
"""Rows of the pixel grid :func:`normal_map` processes at a time."""


def interior_normals(
    points: Sequence[Any],
    depth: Any,
    mask: Any,
    *,
    tolerance: float,
    eps: float,
    where: Callable,
) -> tuple[tuple[Any, Any, Any], Any]:
    """Unit normals of the pixels that have four neighbours.

    Args:
        points: ``(x, y, z)``, each ``(..., H, W)``: the back-projected pixels ``z · K⁻¹[u, v, 1]ᵀ``.
        depth: ``(..., H, W)`` z-depth (any value where ``mask`` is False).
        mask: ``(..., H, W)`` bool, True where ``depth`` is valid (``> 0``).
        tolerance: accepted ``|Δ²(1/z)|`` relative to ``1/z`` along each axis (``inf``: no test).
        eps: lower bound on ``‖∂_v X × ∂_u X‖``.
        where: ``numpy.where`` or ``torch.where``.

    Returns:
        ``((nx, ny, nz), valid)``, each ``(..., H − 2, W − 2)`` (pixel ``[i, j]`` is the input's
        ``[i + 1, j + 1]``): ``n = ∂_v X × ∂_u X / ‖·‖`` facing the camera, 0 where not ``valid``
        (a neighbour without depth, or the five points not coplanar).
    """
    du = [p[..., 1:-1, 2:] - p[..., 1:-1, :-2] for p in points]
    dv = [p[..., 2:, 1:-1] - p[..., :-2, 1:-1] for p in points]
    normal = (
        dv[1] * du[2] - dv[2] * du[1],
        dv[2] * du[0] - dv[0] * du[2],
        dv[0] * du[1] - dv[1] * du[0],
    )
    squared = normal[0] * normal[0] + normal[1] * normal[1] + normal[2] * normal[2]
    inverse_length = where(squared > eps * eps, squared, eps * eps) ** -0.5

    valid = mask[..., 1:-1, 1:-1] & mask[..., 1:-1, 2:] & mask[..., 1:-1, :-2]
    valid = valid & mask[..., 2:, 1:-1] & mask[..., :-2, 1:-1]
    inverse = where(mask, 1.0 / where(mask, depth, 1.0), 0.0)
    centre = inverse[..., 1:-1, 1:-1]
    second_u = inverse[..., 1:-1, 2:] - 2.0 * centre + inverse[..., 1:-1, :-2]
    second_v = inverse[..., 2:, 1:-1] - 2.0 * centre + inverse[..., :-2, 1:-1]
    limit = tolerance * centre
    valid = valid & (abs(second_u) <= limit) & (abs(second_v) <= limit)
    unit = tuple(where(valid, n * inverse_length, 0.0) for n in normal)
    return unit, valid


def normal_map(
    depth: np.ndarray,
    K: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    eps: float = DEFAULT_EPS,
) -> tuple[np.ndarray, np.ndarray]:
    """Unit normals of a depth map, with NumPy (:func:`interior_normals`).

    Args:
        depth: ``(H, W)`` float32 or float64 z-depth in metres (``H, W ≥ 3``); other dtypes
            are computed in float32.
        K: ``(3, 3)`` pinhole intrinsics in pixels (:func:`pinhole_rays`).
        mask: ``(H, W)`` bool validity of ``depth``; default ``depth > 0``.
        tolerance, eps: as in :func:`interior_normals`.

    Returns:
        ``(normals, valid)``: ``(H, W, 3)`` unit normals (in the dtype of the computation) in
        the camera frame facing the camera (0 where invalid and on the one-pixel border) and
        ``(H, W)`` bool validity.

    Example:
        >>> K = np.array([[10.0, 0, 2], [0, 10.0, 2], [0, 0, 1]])
        >>> n, ok = normal_map(np.full((5, 5), 3.0, np.float32), K)
        >>> n[2, 2].tolist(), bool(ok[2, 2])
        ([0.0, 0.0, -1.0], True)
    """
    depth = np.asarray(depth)
    if depth.ndim != 2 or min(depth.shape) < 3:
        raise ValueError(f"depth must be (H, W) of at least 3×3 pixels, got {depth.shape}")
    if depth.dtype != np.float64:
        depth = depth.astype(np.float32, copy=False)
    height, width = depth.shape
    valid_depth = depth > 0
    if mask is None:
        mask = valid_depth
    elif mask.shape != depth.shape:
        raise ValueError(f"mask must have the shape of depth {depth.shape}, got {mask.shape}")
    else:
        mask = mask.astype(bool, copy=False) & valid_depth
    column, row_x, row_y = pinhole_rays(K, height, width, depth.dtype)
    normals = np.zeros((height, width, 3), depth.dtype)
    valid = np.zeros((height, width), bool)
    # bands of rows (each with a row of context above and below): the temporaries stay in the
    # cache instead of being faulted in from the system at every call
    for top in range(0, height - 2, BAND_ROWS):
        rows = slice(top, min(top + BAND_ROWS, height - 2) + 2)
        z = depth[rows]
        points = ((column + row_x[rows, None]) * z, row_y[rows, None] * z, z)
        unit, band_valid = interior_normals(
            points, z, mask[rows], tolerance=tolerance, eps=eps, where=np.where
        )
        inner = slice(top + 1, rows.stop - 1)
        normals[inner, 1:-1] = np.stack(unit, axis=-1)
        valid[inner, 1:-1] = band_valid
    return normals, valid
