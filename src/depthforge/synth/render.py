"""Vectorised ray caster: one pinhole camera → RGB, z-depth, normals and labels.

Every pixel casts one ray through its centre (integer pixel coordinates, the depthforge
convention). Each primitive is intersected with all rays of its screen-space bounding rectangle at
once (the rectangle is the projection of its bounding box, the whole image when the box crosses
the camera plane), and the nearest hit is kept in a z-buffer. Ray directions are
``K⁻¹ [u, v, 1]ᵀ`` rotated to the world, so their camera-frame z component is 1 and the ray
parameter of a hit *is* its z-depth (not the ray length).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from depthforge.synth.scene import Label, Scene

NEAR = 0.05
"""Closest z-depth (metres) at which a surface is seen."""


@dataclass(frozen=True)
class Frame:
    """One rendered view (NumPy arrays, float32 unless stated).

    Attributes:
        image: ``(H, W, 3)`` RGB in ``[0, 1]``.
        depth: ``(H, W)`` z-depth in metres, 0 where no surface is hit (sky).
        normals: ``(H, W, 3)`` unit surface normals in the camera frame (x right, y down,
            z forward), facing the camera (``n · ray < 0``); 0 where no surface is hit.
        labels: ``(H, W)`` int64 :class:`~depthforge.synth.scene.Label` ids.
    """

    image: np.ndarray
    depth: np.ndarray
    normals: np.ndarray
    labels: np.ndarray


def camera_rays(K: np.ndarray, width: int, height: int) -> np.ndarray:
    """``(H, W, 3)`` float32 camera-frame ray directions ``K⁻¹ [u, v, 1]ᵀ`` (z component 1).

    Cached per (K, size); the returned array is read-only.
    """
    return _camera_rays(np.asarray(K, dtype=np.float64).tobytes(), int(width), int(height))


@lru_cache(maxsize=16)
def _camera_rays(k_bytes: bytes, width: int, height: int) -> np.ndarray:
    K = np.frombuffer(k_bytes, dtype=np.float64).reshape(3, 3)
    v, u = np.mgrid[0:height, 0:width].astype(np.float64)
    pixels = np.stack([u, v, np.ones_like(u)], axis=-1)
    rays = (pixels @ np.linalg.inv(K).T).astype(np.float32)
    rays.flags.writeable = False
    return rays


def trace(
    scene: Scene, origin: np.ndarray, dirs: np.ndarray, near: float = NEAR
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest hit of every ray with every primitive, without culling (the reference path).

    Args:
        origin: ``(3,)`` world position shared by all rays.
        dirs: ``(N, 3)`` world directions (not necessarily unit).

    Returns:
        ``(t, index)``: ``(N,)`` ray parameter of the nearest hit (``inf`` for a miss or a hit
        beyond ``scene.far``) and ``(N,)`` int64 index into ``scene.primitives`` (−1 for a miss).
    """
    t_best = np.full(len(dirs), np.inf, dtype=dirs.dtype)
    index = np.full(len(dirs), -1, dtype=np.int64)
    for i, prim in enumerate(scene.primitives):
        t = prim.intersect(origin, dirs, near)
        closer = t < t_best
        t_best[closer] = t[closer]
        index[closer] = i
    beyond = t_best > scene.far
    t_best[beyond] = np.inf
    index[beyond] = -1
    return t_best, index


def _screen_rects(
    scene: Scene, world_to_cam: np.ndarray, K: np.ndarray, width: int, height: int
) -> list[tuple[slice, slice] | None]:
    """Per primitive, the rows and columns of the pixels whose rays may hit it (``None``: none).

    The rectangle bounds the projected corners of the primitive's bounding box; a box that
    crosses the camera plane (or an unbounded primitive) gets the whole image.
    """
    corners, bounded = scene.bounding_corners
    cam = corners @ world_to_cam[:3, :3].T + world_to_cam[:3, 3]  # (P, 8, 3)
    z = cam[..., 2]
    whole = ~bounded | (z.min(axis=1) <= NEAR)
    with np.errstate(divide="ignore", invalid="ignore"):
        uv = (cam @ K.T)[..., :2] / z[..., None]
    uv[whole] = 0.0  # unused; keeps NaN / inf out of the integer casts
    lo = np.floor(uv.min(axis=1)).astype(np.int64).clip(0, None)
    hi = np.ceil(uv.max(axis=1)).astype(np.int64) + 1
    hi = np.minimum(hi, [width, height])
    hidden = bounded & ((z.max(axis=1) <= NEAR) | (z.min(axis=1) > scene.far))
    hidden |= ~whole & ((lo >= hi).any(axis=1))
    rects: list[tuple[slice, slice] | None] = []
    for i in range(len(scene.primitives)):
        if hidden[i]:
            rects.append(None)
        elif whole[i]:
            rects.append((slice(0, height), slice(0, width)))
        else:
            rects.append((slice(lo[i, 1], hi[i, 1]), slice(lo[i, 0], hi[i, 0])))
    return rects


def render(scene: Scene, K: np.ndarray, pose: np.ndarray, width: int, height: int) -> Frame:
    """Render ``scene`` from a pinhole camera.

    Args:
        K: ``(3, 3)`` intrinsics in pixels (zero skew not required; last row ``[0, 0, 1]``).
        pose: ``(4, 4)`` camera-to-world transform (metres).
        width, height: image size in pixels.

    Returns:
        The :class:`Frame`; depth is z-depth in metres, 0 (label sky) where nothing is hit.
    """
    K = np.asarray(K, dtype=np.float64)
    pose = np.asarray(pose, dtype=np.float64)
    if K.shape != (3, 3) or pose.shape != (4, 4):
        raise ValueError(f"K must be (3, 3) and pose (4, 4), got {K.shape} and {pose.shape}")
    rotation, origin = pose[:3, :3], pose[:3, 3]
    world_to_cam = np.linalg.inv(pose)
    rays_cam = camera_rays(K, width, height)
    rays = rays_cam @ rotation.T.astype(np.float32)  # (H, W, 3) world directions

    zbuf = np.full((height, width), np.inf, dtype=np.float32)
    owner = np.full((height, width), -1, dtype=np.int64)
    rects = _screen_rects(scene, world_to_cam, K, width, height)
    for i, prim in enumerate(scene.primitives):
        rect = rects[i]
        if rect is None:
            continue
        sub = rays[rect]
        t = prim.intersect(origin, sub.reshape(-1, 3), NEAR).reshape(sub.shape[:2])
        z_view, owner_view = zbuf[rect], owner[rect]
        closer = t < z_view
        z_view[closer] = t[closer]
        owner_view[closer] = i
    owner[zbuf > scene.far] = -1

    flat_owner = owner.reshape(-1)
    hit = np.flatnonzero(flat_owner >= 0)
    t_hit = zbuf.reshape(-1)[hit]
    dirs_hit = rays.reshape(-1, 3)[hit]
    points = origin.astype(np.float32) + t_hit[:, None] * dirs_hit
    footprint = t_hit * np.float32(1.0 / np.sqrt(K[0, 0] * K[1, 1]))  # pixel width on the surface
    owner_hit = flat_owner[hit]
    normals_w = np.empty_like(points)
    # Group hit pixels by primitive (one sort instead of one full-image mask per primitive).
    order = np.argsort(owner_hit, kind="stable")
    counts = np.bincount(owner_hit, minlength=len(scene.primitives))
    for i, group in enumerate(np.split(order, np.cumsum(counts)[:-1])):
        if len(group):
            normals_w[group] = scene.primitives[i].normal_at(points[group])
    albedo = scene.materials.albedo(owner_hit, points, footprint)
    labels = np.full(height * width, int(Label.SKY), dtype=np.int64)
    labels[hit] = scene.labels[owner_hit]
    facing = np.einsum("ij,ij->i", normals_w, dirs_hit) > 0.0
    normals_w[facing] *= -1.0

    image = np.empty((height * width, 3), dtype=np.float32)
    image[hit] = scene.light.shade(albedo, normals_w, points)
    miss = np.flatnonzero(flat_owner < 0)
    if len(miss):
        d = rays.reshape(-1, 3)[miss]
        elevation = np.clip(d[:, 2] / np.linalg.norm(d, axis=1), 0.0, 1.0)[:, None]
        sky = scene.sky.astype(np.float32)
        image[miss] = sky[0] + (sky[1] - sky[0]) * np.sqrt(elevation)

    depth = np.zeros(height * width, dtype=np.float32)
    depth[hit] = t_hit
    normals = np.zeros((height * width, 3), dtype=np.float32)
    normals[hit] = normals_w @ rotation.astype(np.float32)  # world → camera: Rᵀ n
    return Frame(
        image=np.clip(image, 0.0, 1.0).reshape(height, width, 3),
        depth=depth.reshape(height, width),
        normals=normals.reshape(height, width, 3),
        labels=labels.reshape(height, width),
    )
