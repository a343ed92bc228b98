"""Pinhole camera: intrinsics, back-projection and projection.

Convention: pixel ``(u, v)`` = (column, row) with pixel centres at integer coordinates; the camera
frame is x right, y down, z forward; depth is z-depth (not ray length) in metres.
"""

from __future__ import annotations

import torch

from depthforge.geometry.pinhole import fov_intrinsics

PROJECTION_EPS = 1e-7
"""Lower bound on ``z`` in the projection's division (points behind the camera get huge pixels)."""


def intrinsics_from_fov(
    width: int, height: int, fov_x_deg: float, *, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """``(3, 3)`` K for a ``width`` × ``height`` image with horizontal field of view ``fov_x_deg``:
    :func:`depthforge.geometry.pinhole.fov_intrinsics` as a tensor of ``dtype``.

    Example:
        >>> intrinsics_from_fov(640, 480, 90.0)[0, 0].item()
        320.0
    """
    return torch.as_tensor(fov_intrinsics(width, height, fov_x_deg), dtype=dtype)


def pixel_grid(
    height: int, width: int, *, device=None, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """``(3, H·W)`` homogeneous pixel coordinates ``[u, v, 1]`` in row-major order."""
    v, u = torch.meshgrid(
        torch.arange(height, device=device, dtype=dtype),
        torch.arange(width, device=device, dtype=dtype),
        indexing="ij",
    )
    return torch.stack([u.reshape(-1), v.reshape(-1), torch.ones_like(u).reshape(-1)], dim=0)


def backproject(depth: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Lift every pixel to a 3-D point in the camera frame: ``X = z · K⁻¹ [u, v, 1]ᵀ``.

    Args:
        depth: ``(B, 1, H, W)`` z-depth in metres.
        K: ``(B, 3, 3)`` or ``(3, 3)`` intrinsics in pixels.

    Returns:
        ``(B, 3, H, W)`` points ``(x, y, z)`` in metres.

    Example:
        >>> K = torch.tensor([[2.0, 0, 1], [0, 2.0, 1], [0, 0, 1]])
        >>> backproject(torch.full((1, 1, 3, 3), 2.0), K)[0, :, 0, 0].tolist()
        [-1.0, -1.0, 2.0]
    """
    if depth.ndim != 4 or depth.shape[1] != 1:
        raise ValueError(f"depth must be (B, 1, H, W), got {tuple(depth.shape)}")
    b, _, h, w = depth.shape
    K = K.to(device=depth.device, dtype=depth.dtype)
    if K.ndim == 2:
        K = K.expand(b, 3, 3)
    # K⁻¹ once per camera, then one (3, 3) × (3, H·W) product: a per-pixel solve is 10× slower.
    rays = torch.linalg.inv(K) @ pixel_grid(h, w, device=depth.device, dtype=depth.dtype)
    return (rays * depth.reshape(b, 1, h * w)).reshape(b, 3, h, w)


def project(
    points: torch.Tensor, K: torch.Tensor, eps: float = PROJECTION_EPS
) -> tuple[torch.Tensor, torch.Tensor]:
    """Project camera-frame points to pixels: ``[u, v] = (K X)[:2] / z``.

    Args:
        points: ``(B, 3, N)`` or ``(B, 3, H, W)`` points in metres.
        K: ``(B, 3, 3)`` or ``(3, 3)`` intrinsics in pixels.
        eps: lower bound on ``z`` in the division (points behind the camera get huge coordinates).

    Returns:
        ``(uv, z)``: ``uv`` of shape ``(B, 2, ...)`` in pixels and ``z`` of shape ``(B, 1, ...)``.
    """
    spatial = points.shape[2:]
    b = points.shape[0]
    flat = points.reshape(b, 3, -1)
    K = K.to(device=points.device, dtype=points.dtype)
    if K.ndim == 2:
        K = K.expand(b, 3, 3)
    p = K @ flat
    z = p[:, 2:3]
    uv = p[:, :2] / z.clamp(min=eps)
    return uv.reshape(b, 2, *spatial), z.reshape(b, 1, *spatial)


def scale_intrinsics(K: torch.Tensor, sx: float, sy: float) -> torch.Tensor:
    """K for an image resized by ``sx`` horizontally and ``sy`` vertically.

    Pixel centres at integer coordinates map as ``u' = sx·(u + ½) − ½`` (the ``align_corners=False``
    geometry), so ``fx' = sx·fx`` and ``cx' = sx·(cx + ½) − ½``.
    """
    out = K.clone()
    out[..., 0, 0] = K[..., 0, 0] * sx
    out[..., 0, 1] = K[..., 0, 1] * sx
    out[..., 0, 2] = (K[..., 0, 2] + 0.5) * sx - 0.5
    out[..., 1, 1] = K[..., 1, 1] * sy
    out[..., 1, 2] = (K[..., 1, 2] + 0.5) * sy - 0.5
    return out


def crop_intrinsics(K: torch.Tensor, top: int, left: int) -> torch.Tensor:
    """K for the crop whose top-left pixel is ``(row=top, col=left)`` of the original image."""
    out = K.clone()
    out[..., 0, 2] = K[..., 0, 2] - left
    out[..., 1, 2] = K[..., 1, 2] - top
    return out


def flip_intrinsics(K: torch.Tensor, width: int) -> torch.Tensor:
    """K for the horizontally mirrored image of width ``width``: ``cx' = (W − 1) − cx``."""
    out = K.clone()
    out[..., 0, 2] = (width - 1) - K[..., 0, 2]
    return out
