"""The one view warp of depthforge: sample an image at pixel coordinates; and the warps built
on it (by disparity, by depth and pose, by optical flow).

Convention: pixel ``(u, v)`` = (column, row) with pixel **centres at integer coordinates**, so
pixel ``(0, 0)`` covers ``[−½, ½]²`` and the image spans ``[−½, W − ½] × [−½, H − ½]``.
``F.grid_sample`` wants coordinates normalised to ``[−1, 1]``; what ``±1`` means depends on
``align_corners`` (PyTorch ≥ 1.3 defaults to ``False``; monodepth2 was written for PyTorch
0.4.1, whose behaviour equals ``True`` — monodepth2 ``layers.py::Project3D``,
pytorch/pytorch#23923). We normalise
*from integer-centre pixel coordinates* for either setting:

* ``align_corners=True``:  ``u_norm = 2u / (W − 1) − 1``  (±1 = centres of the edge pixels)
* ``align_corners=False``: ``u_norm = (2u + 1) / W − 1``  (±1 = outer edges of the edge pixels)

so both settings sample exactly the same pixel-space location: an integer ``u`` returns the
pixel ``u`` itself. The flag must still be passed explicitly because it changes what
``padding_mode="reflection"`` reflects about (the edge-pixel centre for ``True``, the image
border for ``False``); ``"zeros"`` and ``"border"`` give the same result for both.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

from depthforge.geometry.camera import PROJECTION_EPS, pixel_grid
from depthforge.types import check_map, check_same_shape

PaddingMode = Literal["zeros", "border", "reflection"]


def pixels_to_grid(uv: torch.Tensor, height: int, width: int, align_corners: bool) -> torch.Tensor:
    """Convert pixel coordinates to the ``[−1, 1]`` grid of ``F.grid_sample``.

    Args:
        uv: ``(B, 2, H_out, W_out)`` pixel coordinates ``(u, v)`` of the sampled image.
        height: ``H`` of the sampled image.
        width: ``W`` of the sampled image.
        align_corners: the value that will be passed to ``F.grid_sample``.

    Returns:
        ``(B, H_out, W_out, 2)`` grid, last axis ``(x, y)``.
    """
    u, v = uv[:, 0], uv[:, 1]
    if align_corners:
        if width < 2 or height < 2:
            raise ValueError(
                f"align_corners=True needs an image of at least 2×2 pixels, got {height}×{width}"
            )
        x = 2.0 * u / (width - 1) - 1.0
        y = 2.0 * v / (height - 1) - 1.0
    else:
        x = (2.0 * u + 1.0) / width - 1.0
        y = (2.0 * v + 1.0) / height - 1.0
    return torch.stack([x, y], dim=-1)


def sample_image(
    image: torch.Tensor,
    uv: torch.Tensor,
    align_corners: bool,
    padding_mode: PaddingMode = "border",
    mode: Literal["bilinear", "nearest"] = "bilinear",
) -> torch.Tensor:
    """Bilinearly sample ``image`` at pixel coordinates ``uv`` (integer pixel centres).

    Args:
        image: ``(B, C, H, W)`` image (any float dtype).
        uv: ``(B, 2, H_out, W_out)`` where to sample, in pixels of ``image``.
        align_corners: passed to ``F.grid_sample``; the normalisation matches it, so the result
            is the same for both values except with ``padding_mode="reflection"``.
        padding_mode: what lies outside the image (``"border"`` as in monodepth2).
        mode: ``"bilinear"`` or ``"nearest"``.

    Returns:
        ``(B, C, H_out, W_out)``.

    Example:
        >>> img = torch.arange(6.0).reshape(1, 1, 2, 3)
        >>> uv = torch.tensor([[0.5, 0.0]]).reshape(1, 2, 1, 1)
        >>> sample_image(img, uv, align_corners=False).item()
        0.5
    """
    if image.ndim != 4:
        raise ValueError(f"image must be (B, C, H, W), got shape {tuple(image.shape)}")
    if uv.ndim != 4 or uv.shape[1] != 2 or uv.shape[0] != image.shape[0]:
        raise ValueError(
            f"uv must be (B, 2, H_out, W_out) with B = {image.shape[0]}, got {tuple(uv.shape)}"
        )
    grid = pixels_to_grid(uv.to(image.dtype), image.shape[-2], image.shape[-1], align_corners)
    return F.grid_sample(
        image, grid, mode=mode, padding_mode=padding_mode, align_corners=align_corners
    )


def warp_by_disparity(
    right: torch.Tensor,
    disparity: torch.Tensor,
    align_corners: bool = False,
    padding_mode: PaddingMode = "border",
) -> torch.Tensor:
    """Reconstruct the left view of a rectified pair by sampling ``right`` at ``u − d``.

    A left pixel ``(u, v)`` with disparity ``d`` (pixels, ≥ 0 for points in front of a
    right camera displaced along +x) sees the same point as right pixel ``(u − d, v)``
    (Godard et al. 2017, Eq. 1 context; Kuznietsov et al. 2017). Disparity is in **pixels of
    this resolution**, not the width fraction monodepth uses.

    Args:
        right: ``(B, C, H, W)`` right image.
        disparity: ``(B, 1, H, W)`` left-view disparity in pixels.
        align_corners: see :func:`sample_image`.
        padding_mode: see :func:`sample_image`.

    Returns:
        ``(B, C, H, W)`` the right image warped into the left view.
    """
    if disparity.ndim != 4 or disparity.shape[1] != 1:
        raise ValueError(f"disparity must be (B, 1, H, W), got {tuple(disparity.shape)}")
    if disparity.shape[-2:] != right.shape[-2:] or disparity.shape[0] != right.shape[0]:
        raise ValueError(
            f"disparity {tuple(disparity.shape)} and right {tuple(right.shape)} must share B, H, W"
        )
    b, _, h, w = disparity.shape
    u = torch.arange(w, device=disparity.device, dtype=disparity.dtype).expand(b, h, w)
    v = torch.arange(h, device=disparity.device, dtype=disparity.dtype)[:, None].expand(b, h, w)
    uv = torch.stack([u - disparity[:, 0], v], dim=1)
    return sample_image(right, uv, align_corners=align_corners, padding_mode=padding_mode)


def as_batch_matrix(name: str, matrix: torch.Tensor, size: int, batch: int) -> torch.Tensor:
    """``(size, size)`` or ``(B, size, size)`` → ``(B, size, size)`` (a view); other shapes raise."""
    if matrix.shape[-2:] != (size, size) or matrix.ndim not in (2, 3):
        raise ValueError(
            f"{name} must be ({size}, {size}) or (B, {size}, {size}), got {tuple(matrix.shape)}"
        )
    return matrix.expand(batch, size, size) if matrix.ndim == 2 else matrix


def reproject(
    depth_t: torch.Tensor, K: torch.Tensor, T_t_to_s: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Where each target pixel lands in the source view: ``p_s ~ K T_{t→s} D_t(p) K⁻¹ p``.

    Zhou et al. 2017 (SfMLearner), Eq. 2.

    Args:
        depth_t: ``(B, 1, H, W)`` target z-depth in metres.
        K: ``(3, 3)`` or ``(B, 3, 3)`` intrinsics in pixels (shared by both views).
        T_t_to_s: ``(4, 4)`` or ``(B, 4, 4)`` rigid transform taking points from the target
            camera frame to the source camera frame (x right, y down, z forward).

    Returns:
        ``(uv_s, z_s)``: ``(B, 2, H, W)`` source pixel coordinates (integer pixel centres) and
        ``(B, 1, H, W)`` the z-depth of the point in the source camera (≤ 0: behind it).
    """
    b, _, h, w = depth_t.shape
    K = as_batch_matrix("K", K.to(depth_t), 3, b)
    T = as_batch_matrix("T_t_to_s", T_t_to_s.to(depth_t), 4, b)
    # K (R · D K⁻¹ p + t) = D · (K R K⁻¹) p + K t: one (3, 3) × (3, H·W) product per camera
    # instead of three (back-projection, rotation, projection), the same point to float rounding.
    homography = K @ T[:, :3, :3] @ torch.linalg.inv(K)
    rays = homography @ pixel_grid(h, w, device=depth_t.device, dtype=depth_t.dtype)
    p = torch.addcmul(K @ T[:, :3, 3:], rays, depth_t.reshape(b, 1, h * w))
    z = p[:, 2:3]
    uv = p[:, :2] / z.clamp(min=PROJECTION_EPS)
    return uv.reshape(b, 2, h, w), z.reshape(b, 1, h, w)


def synthesize_view(
    source: torch.Tensor,
    depth_t: torch.Tensor,
    K: torch.Tensor,
    T_t_to_s: torch.Tensor,
    align_corners: bool = False,
    padding_mode: PaddingMode = "border",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Render the target view from ``source`` using target depth and relative pose.

    Zhou et al. 2017, Eq. 2 + bilinear sampling; the same operation as monodepth2's
    ``BackprojectDepth`` → ``Project3D`` → ``grid_sample``, but with the half-pixel convention
    made explicit (see module docstring).

    Args:
        source: ``(B, C, H, W)`` source image.
        depth_t: ``(B, 1, H, W)`` target z-depth in metres.
        K: ``(3, 3)`` or ``(B, 3, 3)`` intrinsics in pixels.
        T_t_to_s: ``(4, 4)`` or ``(B, 4, 4)`` target-camera → source-camera transform.
        align_corners: see :func:`sample_image`.
        padding_mode: see :func:`sample_image`.

    Returns:
        ``(image, valid)``: ``(B, C, H, W)`` synthesised target view and ``(B, 1, H, W)`` bool,
        True where the point is in front of the source camera and projects inside its image
        (pixel centres within ``[−½, W − ½] × [−½, H − ½]``).
    """
    if source.shape[0] != depth_t.shape[0] or source.shape[-2:] != depth_t.shape[-2:]:
        raise ValueError(
            f"source {tuple(source.shape)} and depth_t {tuple(depth_t.shape)} must share B, H, W"
        )
    uv, z = reproject(depth_t, K, T_t_to_s)
    h, w = source.shape[-2:]
    inside = (uv[:, :1] >= -0.5) & (uv[:, :1] <= w - 0.5) & (uv[:, 1:] >= -0.5)
    inside = inside & (uv[:, 1:] <= h - 0.5) & (z > 0)
    image = sample_image(source, uv, align_corners=align_corners, padding_mode=padding_mode)
    return image, inside


def _pixel_coordinates(flow: torch.Tensor) -> torch.Tensor:
    """``(B, 2, H, W)`` the ``(u, v)`` of every pixel, shaped and typed like ``flow``."""
    b, _, h, w = flow.shape
    grid = pixel_grid(h, w, device=flow.device, dtype=flow.dtype)[:2].reshape(1, 2, h, w)
    return grid.expand(b, 2, h, w)


def rigid_flow(depth_t: torch.Tensor, K: torch.Tensor, T_t_to_s: torch.Tensor) -> torch.Tensor:
    """Flow of the static scene induced by target depth and camera motion (GeoNet Eq. 1).

    Args:
        depth_t: ``(B, 1, H, W)`` target z-depth in metres.
        K: ``(3, 3)`` or ``(B, 3, 3)`` intrinsics in pixels.
        T_t_to_s: ``(4, 4)`` or ``(B, 4, 4)`` target-camera → source-camera transform.

    Returns:
        ``(B, 2, H, W)`` ``uv_s − uv_t`` in pixels.

    Example:
        >>> K = torch.tensor([[50.0, 0, 1.5], [0, 50.0, 1.5], [0, 0, 1]])
        >>> T = torch.eye(4)
        >>> T[0, 3] = -0.2  # the source camera sits 0.2 m to the right of the target camera
        >>> rigid_flow(torch.full((1, 1, 4, 4), 4.0), K, T)[0, :, 0, 0].tolist()  # −f·t/z
        [-2.5, 0.0]
    """
    check_map("depth_t", depth_t)
    uv_s, _ = reproject(depth_t, K, T_t_to_s)
    return uv_s - _pixel_coordinates(uv_s)


def full_flow(rigid: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
    """``f^full = f^rig + f^res`` (GeoNet §3.4), both ``(B, 2, H, W)`` pixels."""
    check_map("rigid", rigid, channels=2)
    check_same_shape(rigid=rigid, residual=residual)
    return rigid + residual


def warp_by_flow(
    image: torch.Tensor,
    flow: torch.Tensor,
    align_corners: bool = False,
    padding_mode: PaddingMode | Literal["geonet"] = "geonet",
) -> torch.Tensor:
    """Inverse warp ``out(p) = image(p + flow(p))`` (bilinear; GeoNet ``flow_warp``).

    With ``padding_mode="geonet"`` (the default) the sampler is GeoNet's ``bilinear_sampler``
    (``utils.py``): a sample position ``(x, y)`` gives the bilinear value when
    ``0 ≤ x < W′ − 1`` and ``0 ≤ y < H′ − 1``, and **0 anywhere else** — including the last
    column and row themselves and every position within one pixel outside the image, where
    ``grid_sample(padding_mode="zeros")`` would still blend the edge pixel with zero. (GeoNet
    clips the four neighbour indices into the image and keeps the unclipped weights, which then
    cancel exactly.) So a pixel whose flow leaves the view warps to 0: the forward-backward check
    flags it, and the warping loss sees black there, as in GeoNet. ``"border"``, ``"zeros"`` and
    ``"reflection"`` are ``grid_sample``'s paddings (``"border"``: monodepth2's choice).

    Args:
        image: ``(B, C, H', W')`` image (or flow field) to sample.
        flow: ``(B, 2, H, W)`` displacements in pixels of ``image``.
        align_corners: see :func:`~depthforge.geometry.warp.sample_image`.
        padding_mode: what lies outside ``image`` (``"geonet"``, see above).

    Returns:
        ``(B, C, H, W)``.

    Example:
        >>> image = torch.arange(4.0).reshape(1, 1, 1, 4).expand(1, 1, 2, 4)
        >>> flow = torch.zeros(1, 2, 2, 4)  # identity: the last row and column are outside
        >>> warp_by_flow(image, flow)[0, 0].tolist()
        [[0.0, 1.0, 2.0, 0.0], [0.0, 0.0, 0.0, 0.0]]
    """
    check_map("flow", flow, channels=2)
    uv = _pixel_coordinates(flow) + flow
    if padding_mode != "geonet":
        return sample_image(image, uv, align_corners=align_corners, padding_mode=padding_mode)
    height, width = image.shape[-2:]
    inside = (
        (uv[:, :1] >= 0) & (uv[:, :1] < width - 1) & (uv[:, 1:] >= 0) & (uv[:, 1:] < height - 1)
    )
    # Inside that box all four neighbours are in the image, so any padding gives the same value.
    sampled = sample_image(image, uv, align_corners=align_corners, padding_mode="border")
    return sampled * inside.to(sampled.dtype)
