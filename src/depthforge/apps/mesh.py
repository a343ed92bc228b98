"""A triangle mesh from the pixel grid of a depth map, cut at depth discontinuities.

Each 2×2 block of pixels ``a = (u, v)``, ``b = (u, v+1)``, ``c = (u+1, v)``, ``d = (u+1, v+1)``
gives the triangles ``(a, b, c)`` and ``(c, b, d)``. With the camera frame x right, y down,
z forward, this winding makes ``(b − a) × (c − a)`` point towards the camera, the side
:func:`depthforge.geometry.normals.normals_from_depth` orients its normals to.

A triangle is kept only when its three depths are valid and ``max z / min z < 1 + rtol``: the
relative depth-edge test of MoGe (Wang et al. 2025; ``utils3d.depth_edge(depth, rtol)``, which
marks a pixel as an edge when the max/min depth ratio of its window exceeds ``1 + rtol``), applied
per triangle. It is the grazing-angle test in disguise: on a plane seen at angle ``θ`` between
its normal and the viewing ray, neighbouring pixels' depths differ by the ratio
``≈ 1 + tan θ / f`` (``f`` the focal length in pixels), so the test keeps surfaces with
``tan θ ≲ rtol · f`` (at ``f = 518``, ``rtol = 0.03``: ``θ ≲ 86°``) and drops the "rubber
sheet" spanning an occlusion boundary, whose apparent ``θ`` is ≈ 90°.
"""

from __future__ import annotations

import numpy as np

DEFAULT_EDGE_RTOL = 0.03
"""MoGe's default ``rtol`` of ``utils3d.depth_edge``: a 3 % depth jump between neighbours."""


def grid_triangles(depth: np.ndarray, *, rtol: float = DEFAULT_EDGE_RTOL) -> np.ndarray:
    """Triangles of the pixel grid that do not span a depth discontinuity (module docstring).

    Args:
        depth: ``(H, W)`` z-depth (any positive unit: the test is a ratio); ``≤ 0`` or non-finite
            = invalid, and no triangle touches an invalid pixel.
        rtol: kept iff ``max z / min z < 1 + rtol`` over the triangle's three vertices
            (``inf`` keeps every triangle of valid pixels).

    Returns:
        ``(F, 3)`` int64 indices into the row-major ``H·W`` pixel grid (``index = v·W + u``),
        wound so that the face normal faces the camera.

    Example:
        >>> grid_triangles(np.ones((2, 2))).tolist()
        [[0, 2, 1], [1, 2, 3]]
    """
    depth = np.asarray(depth)
    if depth.ndim != 2:
        raise ValueError(f"depth must be (H, W), got shape {depth.shape}")
    if not rtol >= 0:
        raise ValueError(f"rtol must be ≥ 0, got {rtol}")
    h, w = depth.shape
    if h < 2 or w < 2:
        return np.zeros((0, 3), dtype=np.int64)
    z = np.where(np.isfinite(depth) & (depth > 0), depth, 0.0).astype(np.float64)
    index = np.arange(h * w, dtype=np.int64).reshape(h, w)
    corners = {
        "a": (slice(0, -1), slice(0, -1)),
        "b": (slice(1, None), slice(0, -1)),
        "c": (slice(0, -1), slice(1, None)),
        "d": (slice(1, None), slice(1, None)),
    }
    zc = {k: z[s] for k, s in corners.items()}
    ic = {k: index[s] for k, s in corners.items()}
    out = []
    for tri in (("a", "b", "c"), ("c", "b", "d")):
        zs = [zc[k] for k in tri]
        lo = np.minimum(np.minimum(zs[0], zs[1]), zs[2])
        hi = np.maximum(np.maximum(zs[0], zs[1]), zs[2])
        # lo > 0 rules out holes; the ratio test written multiplicatively avoids dividing by 0.
        keep = (lo > 0) & (hi < (1.0 + rtol) * lo)
        out.append(np.stack([ic[k][keep] for k in tri], axis=1))
    return np.concatenate(out, axis=0)


def vertex_normals_from_faces(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted mean of the adjacent face normals, unit length (0 for a vertex in no face).

    Args:
        vertices: ``(N, 3)`` positions.
        faces: ``(F, 3)`` vertex indices.

    Returns:
        ``(N, 3)`` float32 unit normals (the face cross product is twice the area, so summing
        unnormalised cross products weights each face by its area).
    """
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    cross = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    acc = np.zeros_like(v)
    for k in range(3):
        for axis in range(3):
            acc[:, axis] += np.bincount(f[:, k], weights=cross[:, axis], minlength=len(v))
    norm = np.linalg.norm(acc, axis=1, keepdims=True)
    return np.where(norm > 0, acc / np.where(norm > 0, norm, 1.0), 0.0).astype(np.float32)
