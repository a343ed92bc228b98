"""Realistic validity masks on top of the renderer's perfect depth.

* :func:`kinect_holes` — a structured-light (Kinect v1-like) sensor: no depth at depth
  discontinuities (the projector/camera shadow, here on both sides of the edge, 1 px wide),
  on dark surfaces (IR absorbed), closer than the minimum range, increasingly often beyond
  4 m, plus sparse random speckle dropouts.
* :func:`lidar_rows` — a KITTI-like spinning LiDAR (Velodyne HDL-64E): 64 scan rows at elevations
  evenly spaced over +2° … −24.8° (the HDL-64E vertical field of view), each row a line of image
  row ``v = c_y − f_y tan(elevation)``, sampled at regular column steps so that the points
  cover ``density`` (default 5 %) of the image pixels. The LiDAR is taken to be level with the
  camera and at its centre (no parallax, no rolling-shutter effects).

Both return boolean ``(H, W)`` masks (True = a measurement) and draw their randomness from the
``numpy.random.Generator`` they are given.
"""

from __future__ import annotations

import math

import numpy as np

KINECT_MIN_RANGE = 0.5
"""Metres; nearer surfaces return no depth."""
KINECT_FALLOFF = (4.0, 8.0)
"""Metres; the chance of a missing pixel grows linearly from 0 to 1 over this range."""
KINECT_EDGE_JUMP = 0.05
"""A pixel whose 4-neighbour differs in depth by more than this fraction is an edge."""
KINECT_DARK = 0.06
"""Surfaces with luminance below this (RGB in [0, 1]) return no depth."""
KINECT_SPECKLE = 0.005
"""Probability of a random dropout anywhere."""

LIDAR_ROWS = 64
LIDAR_ELEVATION_DEG = (2.0, -24.8)
LIDAR_DENSITY = 0.05


def depth_edges(depth: np.ndarray, jump: float = KINECT_EDGE_JUMP) -> np.ndarray:
    """``(H, W)`` bool, True at pixels with a 4-neighbour whose depth differs by more than
    ``jump`` × the smaller of the two depths (both must be surfaces, depth > 0), or that border
    a pixel with no surface."""
    edges = np.zeros(depth.shape, dtype=bool)
    for axis in (0, 1):
        a = np.moveaxis(depth, axis, 0)
        lo, hi = a[:-1], a[1:]
        step = np.abs(lo - hi) > jump * np.minimum(lo, hi)
        e = np.moveaxis(edges, axis, 0)
        e[:-1] |= step
        e[1:] |= step
    return edges


def kinect_holes(depth: np.ndarray, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Validity of a Kinect-like sensor observing ``depth`` ``(H, W)`` (metres, 0 = nothing) and
    ``image`` ``(H, W, 3)`` (RGB in [0, 1]); see the module docstring for the rules."""
    luminance = image @ np.array([0.299, 0.587, 0.114], dtype=image.dtype)
    far_lo, far_hi = KINECT_FALLOFF
    p_drop = np.clip((depth - far_lo) / (far_hi - far_lo), 0.0, 1.0) + KINECT_SPECKLE
    valid = depth >= KINECT_MIN_RANGE
    valid &= ~depth_edges(depth)
    valid &= luminance >= KINECT_DARK
    valid &= rng.random(depth.shape) >= p_drop
    return valid


def lidar_rows(
    K: np.ndarray,
    width: int,
    height: int,
    rng: np.random.Generator,
    *,
    rows: int = LIDAR_ROWS,
    density: float = LIDAR_DENSITY,
) -> np.ndarray:
    """``(H, W)`` bool pattern of LiDAR returns (before intersecting with valid depth).

    Scan rows that land on the same image row merge; the column step is chosen so that the kept
    pixels are ``density`` of the image, and each row starts at a random column offset.
    """
    if not 0.0 < density <= 1.0:
        raise ValueError(f"density must be in (0, 1], got {density}")
    top, bottom = (math.radians(e) for e in LIDAR_ELEVATION_DEG)
    elevation = np.linspace(top, bottom, rows)
    v = np.round(K[1, 2] - K[1, 1] * np.tan(elevation)).astype(np.int64)
    v = np.unique(v[(v >= 0) & (v < height)])
    pattern = np.zeros((height, width), dtype=bool)
    if len(v) == 0:
        return pattern
    step = max(1.0, len(v) / (density * height))  # columns per point
    offsets = rng.uniform(0.0, step, len(v))
    for row, offset in zip(v, offsets, strict=True):
        pattern[row, np.floor(np.arange(offset, width, step)).astype(np.int64)] = True
    return pattern
