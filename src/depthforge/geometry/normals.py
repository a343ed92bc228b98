"""Surface normals from a depth map: cross product of back-projected neighbour differences.

Convention: camera frame x right, y down, z forward; depth is z-depth in metres; pixel centres at
integer coordinates. With ``X(u, v) = z · K⁻¹ [u, v, 1]ᵀ`` the central differences
``∂_u X ≈ (X(u+1, v) − X(u−1, v)) / 2`` and ``∂_v X`` span the tangent plane, and
``n = ∂_v X × ∂_u X / ‖·‖`` is the unit normal facing the camera (``n · X < 0``) for every visible
surface. On a plane the central differences lie exactly in the plane, so the normal is exact.

A normal is valid where the pixel and its four neighbours have depth and the five points are
(locally) coplanar: on a plane the *inverse* depth is affine in ``(u, v)``, so its second
differences vanish; we accept ``|Δ²_u (1/z)|`` and ``|Δ²_v (1/z)|`` up to ``tolerance · 1/z``.
This rejects occlusion boundaries and creases (where the difference mixes two surfaces) but
accepts steep planes at grazing angles, where a test on the depth jump alone would fail.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from depthforge.geometry.camera import backproject
from depthforge.geometry.grid_normals import DEFAULT_EPS, DEFAULT_TOLERANCE, interior_normals


def normals_from_depth(
    depth: torch.Tensor,
    K: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    eps: float = DEFAULT_EPS,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Unit normals of the surface seen in ``depth``.

    Args:
        depth: ``(B, 1, H, W)`` z-depth in metres (``H, W ≥ 3``).
        K: ``(B, 3, 3)`` or ``(3, 3)`` intrinsics in pixels.
        mask: ``(B, 1, H, W)`` bool validity of ``depth``; default ``depth > 0``.
        tolerance: accepted second difference of inverse depth, relative to ``1/z`` (see the
            module docstring); ``inf`` disables the coplanarity test.
        eps: lower bound on the cross product's norm when normalising.

    Returns:
        ``(normals, valid)``: ``(B, 3, H, W)`` unit normals in the camera frame facing the camera
        (0 where invalid) and ``(B, 1, H, W)`` bool validity (False on the one-pixel border,
        next to invalid depth and across discontinuities). Differentiable w.r.t. ``depth``.

    Example:
        >>> K = torch.tensor([[10.0, 0, 2], [0, 10.0, 2], [0, 0, 1]])
        >>> n, ok = normals_from_depth(torch.full((1, 1, 5, 5), 3.0), K)
        >>> n[0, :, 2, 2].tolist(), bool(ok[0, 0, 2, 2])
        ([0.0, 0.0, -1.0], True)
    """
    if depth.ndim != 4 or depth.shape[1] != 1:
        raise ValueError(f"depth must be (B, 1, H, W), got {tuple(depth.shape)}")
    if depth.shape[2] < 3 or depth.shape[3] < 3:
        raise ValueError(f"depth must be at least 3×3 pixels, got {tuple(depth.shape[2:])}")
    if mask is None:
        mask = depth > 0
    elif mask.shape != depth.shape:
        raise ValueError(
            f"mask must have the shape of depth {tuple(depth.shape)}, got {tuple(mask.shape)}"
        )
    mask = mask.bool() & (depth > 0)

    points = backproject(depth, K)  # (B, 3, H, W)
    normal, valid = interior_normals(
        points.unbind(1), depth[:, 0], mask[:, 0], tolerance=tolerance, eps=eps, where=torch.where
    )
    normal, valid = torch.stack(normal, dim=1), valid[:, None]
    return F.pad(normal, (1, 1, 1, 1)), F.pad(valid, (1, 1, 1, 1), value=False)
