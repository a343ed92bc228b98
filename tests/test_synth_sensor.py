"""Specification of the sensor models: Kinect-like holes by rule, LiDAR rows and density."""

from __future__ import annotations

import math

import numpy as np
import pytest

from depthforge.geometry.camera import intrinsics_from_fov
from depthforge.synth.sensor import depth_edges, kinect_holes, lidar_rows


def test_depth_edges_by_hand():
    depth = np.array(
        [
            [2.0, 2.0, 2.0, 2.0],
            [2.0, 2.0, 4.0, 4.0],  # 2 → 4 between columns 1 and 2
            [2.0, 2.05, 2.0, 0.0],  # 2.5 % steps are no edge; a missing pixel is
        ]
    )
    expected = np.array(
        [
            [False, False, True, True],
            [False, True, True, True],
            [False, False, True, True],
        ]
    )
    np.testing.assert_array_equal(depth_edges(depth), expected)


def test_kinect_rules():
    h, w = 8, 12
    depth = np.full((h, w), 2.0)
    image = np.full((h, w, 3), 0.5)
    image[0, 0] = 0.02  # a dark (IR-absorbing) surface
    depth[1, 1] = 0.3  # nearer than the minimum range
    depth[:, 9:] = 9.0  # beyond 8 m: always lost (and an edge at columns 8–9)
    depth[5, 5] = 0.0  # no surface
    valid = kinect_holes(depth, image, np.random.default_rng(0))
    assert not valid[0, 0] and not valid[1, 1] and not valid[:, 8:].any()
    assert not valid[5, 5]
    # Everything else survives except rare speckle (0.5 %) and the edges around (1,1) and (5,5).
    around = {(1, 1), (0, 1), (2, 1), (1, 0), (1, 2), (5, 5), (4, 5), (6, 5), (5, 4), (5, 6)}
    rest = [(v, u) for v in range(h) for u in range(8) if (v, u) not in around and (v, u) != (0, 0)]
    assert np.mean([valid[p] for p in rest]) > 0.9


def test_kinect_far_falloff_is_linear_between_4_and_8_m():
    depth = np.full((200, 200), 6.0)  # halfway: about half the pixels lost
    valid = kinect_holes(depth, np.full((200, 200, 3), 0.5), np.random.default_rng(1))
    assert valid.mean() == pytest.approx(0.5 - 0.005, abs=0.02)


def test_lidar_rows_follow_the_hdl64_elevations_at_5_percent():
    w, h = 640, 480
    K = intrinsics_from_fov(w, h, 80.0).double().numpy()
    pattern = lidar_rows(K, w, h, np.random.default_rng(0))
    rows = np.flatnonzero(pattern.any(axis=1))
    assert len(rows) == 64  # at this resolution no two scan rows share an image row
    top = K[1, 2] - K[1, 1] * math.tan(math.radians(2.0))
    bottom = K[1, 2] + K[1, 1] * math.tan(math.radians(24.8))
    assert abs(rows[0] - top) <= 0.5 and abs(rows[-1] - bottom) <= 0.5
    assert pattern.mean() == pytest.approx(0.05, rel=0.02)


def test_lidar_rows_merge_at_low_resolution_and_keep_the_density():
    w, h = 64, 48
    K = intrinsics_from_fov(w, h, 80.0).double().numpy()
    pattern = lidar_rows(K, w, h, np.random.default_rng(0), density=0.1)
    assert pattern.any(axis=1).sum() < 64
    assert pattern.mean() == pytest.approx(0.1, rel=0.15)


def test_lidar_density_must_be_a_fraction():
    K = intrinsics_from_fov(8, 6, 80.0).double().numpy()
    with pytest.raises(ValueError, match="density"):
        lidar_rows(K, 8, 6, np.random.default_rng(0), density=0.0)
