"""Specification of the ray caster: hand-computed hits, z-depth (not ray length), analytic
normals and labels, and equality with a one-ray-at-a-time reference."""

from __future__ import annotations

import math

import numpy as np
import pytest

from depthforge.geometry.camera import intrinsics_from_fov
from depthforge.synth.materials import Light, Material, Pattern
from depthforge.synth.primitives import Box, Cylinder, Plane, Sphere
from depthforge.synth.render import render, trace
from depthforge.synth.scene import Label, Scene, generate_world
from depthforge.synth.trajectory import camera_to_world

W, H = 40, 30
K = intrinsics_from_fov(W, H, 60.0).double().numpy()
GREY = Material(
    colour_a=np.full(3, 0.5),
    colour_b=np.full(3, 0.5),
    pattern=Pattern.STRIPES,
    scale=1.0,
    phase=np.zeros(3),
    directions=np.eye(4, 3),
)
SUN = Light(ambient=0.5, direction=np.array([0.0, -1.0, 0.0]))
SKY = np.array([[0.7, 0.8, 0.9], [0.2, 0.4, 0.8]])


def scene_of(*prims) -> Scene:
    return Scene("test", tuple(prims), SUN, SKY, far=100.0)


def level_camera(position=(0.0, 0.0, 0.0), pitch: float = 0.0) -> np.ndarray:
    """Looking along world +y (camera z), camera y = world −z."""
    return camera_to_world(np.asarray(position, float), 0.0, pitch, 0.0)


def test_wall_ahead_has_constant_z_depth_not_ray_length():
    wall = Plane(np.array([0.0, 5.0, 0.0]), np.array([0.0, -1.0, 0.0]), Label.WALL, GREY)
    frame = render(scene_of(wall), K, level_camera(), W, H)
    assert frame.depth.dtype == np.float32
    np.testing.assert_allclose(frame.depth, 5.0, rtol=1e-6)  # ray length at a corner is ~5.9 m
    np.testing.assert_allclose(
        frame.normals.reshape(-1, 3), [[0.0, 0.0, -1.0]] * (W * H), atol=1e-6
    )
    assert (frame.labels == Label.WALL).all()


def test_floor_depth_below_the_horizon_and_sky_above():
    floor = Plane(np.zeros(3), np.array([0.0, 0.0, 1.0]), Label.FLOOR, GREY)
    height = 1.5
    scene = Scene("test", (floor,), SUN, SKY, far=1e4)  # the first row below is ~104 m away
    frame = render(scene, K, level_camera((0.0, 0.0, height)), W, H)
    f, cy = K[1, 1], K[1, 2]
    for v in range(H):
        if v > cy:  # a ray through row v descends by (v − cy)/f per metre of z
            np.testing.assert_allclose(frame.depth[v], height * f / (v - cy), rtol=1e-5)
            assert (frame.labels[v] == Label.FLOOR).all()
        else:
            assert (frame.depth[v] == 0).all() and (frame.labels[v] == Label.SKY).all()
            assert (frame.normals[v] == 0).all()
    # The floor normal (world +z) is camera −y.
    np.testing.assert_allclose(frame.normals[-1, 0], [0.0, -1.0, 0.0], atol=1e-6)
    # Sky: horizon + (zenith − horizon)·√(sin elevation); pixel (0, 0) looks up by atan(c_y / f).
    assert np.isfinite(frame.image).all()
    ray = np.array([-K[0, 2] / K[0, 0], -cy / f, 1.0])
    sin_elevation = (cy / f) / np.linalg.norm(ray)
    expected = SKY[0] + (SKY[1] - SKY[0]) * math.sqrt(sin_elevation)
    np.testing.assert_allclose(frame.image[0, 0], expected, atol=1e-5)


def _centre_ray() -> tuple[int, int, np.ndarray]:
    """Pixel nearest the principal point and its camera ray (z component 1)."""
    v, u = int(K[1, 2]), int(K[0, 2])
    return v, u, np.array([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], 1.0])


def test_sphere_hit_and_normal_by_hand():
    sphere = Sphere(np.array([0.0, 6.0, 0.0]), 1.0, Label.SPHERE, GREY)
    frame = render(scene_of(sphere), K, level_camera(), W, H)
    v, u, ray = _centre_ray()
    centre = np.array([0.0, 0.0, 6.0])  # camera frame
    # |z·ray − c|² = 1  →  a z² − 2 b z + (|c|² − 1) = 0, nearest root.
    a, b = ray @ ray, ray @ centre
    z = (b - math.sqrt(b * b - a * (centre @ centre - 1.0))) / a
    assert frame.depth[v, u] == pytest.approx(z, rel=1e-5)
    np.testing.assert_allclose(frame.normals[v, u], z * ray - centre, atol=1e-4)
    assert frame.labels[v, u] == Label.SPHERE


def test_turned_box_front_face_by_hand():
    # Turned by 90°, half extents (0.5, 2, 1) span ±2 m in x and ±0.5 m in y: front face y = 5.5.
    box = Box(np.array([0.0, 6.0, 0.0]), np.array([0.5, 2.0, 1.0]), math.pi / 2, Label.CAR, GREY)
    frame = render(scene_of(box), K, level_camera(), W, H)
    v, u, _ = _centre_ray()
    assert frame.depth[v, u] == pytest.approx(5.5, rel=1e-6)
    np.testing.assert_allclose(frame.normals[v, u], [0.0, 0.0, -1.0], atol=1e-6)
    # 2 m to each side at 5.5 m: the box covers |u − c_x| ≤ f · 2 / 5.5 on the centre row.
    covered = np.abs(np.arange(W) - K[0, 2]) <= K[0, 0] * 2.0 / 5.5
    np.testing.assert_array_equal(frame.labels[v] == Label.CAR, covered)


def test_cylinder_side_hit_and_normal_by_hand():
    cylinder = Cylinder(np.array([0.0, 6.0, -1.0]), 0.5, 2.0, Label.POLE, GREY)
    frame = render(scene_of(cylinder), K, level_camera(), W, H)
    v, u, ray = _centre_ray()
    # In the camera's x–z plane the cylinder is the circle of radius 0.5 around (0, 6):
    # z²(1 + r_x²) − 12 z + 35.75 = 0, nearest root.
    a = 1.0 + ray[0] ** 2
    z = (6.0 - math.sqrt(36.0 - a * 35.75)) / a
    assert frame.depth[v, u] == pytest.approx(z, rel=1e-5)
    np.testing.assert_allclose(
        frame.normals[v, u], [z * ray[0] / 0.5, 0.0, (z - 6.0) / 0.5], atol=1e-4
    )
    assert frame.depth[0, 0] == 0.0  # the thin cylinder leaves the corner empty


def test_cylinder_top_cap_seen_from_above():
    cylinder = Cylinder(np.array([0.0, 0.0, 0.0]), 1.0, 0.8, Label.CYLINDER, GREY)
    pose = level_camera((0.0, 0.0, 3.0), pitch=-math.pi / 2)  # looking straight down
    frame = render(scene_of(cylinder), K, pose, W, H)
    v, u = int(K[1, 2]), int(K[0, 2])
    assert frame.depth[v, u] == pytest.approx(3.0 - 0.8, rel=1e-6)
    np.testing.assert_allclose(frame.normals[v, u], [0.0, 0.0, -1.0], atol=1e-6)


def test_lambertian_shading_by_hand():
    # GREY is a flat 0.5 albedo (equal colours, a zero grain direction).
    wall = Plane(np.array([0.0, 5.0, 0.0]), np.array([0.0, -1.0, 0.0]), Label.WALL, GREY)
    # Light from 60° off the wall normal: intensity = ambient + (1 − ambient)·cos 60°.
    direction = np.array([0.0, -math.cos(math.radians(60.0)), math.sin(math.radians(60.0))])
    light = Light(ambient=0.2, direction=direction)
    frame = render(Scene("test", (wall,), light, SKY, 100.0), K, level_camera(), W, H)
    np.testing.assert_allclose(frame.image, 0.5 * (0.2 + 0.8 * 0.5), rtol=1e-5)
    # A lamp behind the wall lights nothing: ambient only.
    lamp = Light(ambient=0.2, position=np.array([0.0, 9.0, 0.0]))
    frame = render(Scene("test", (wall,), lamp, SKY, 100.0), K, level_camera(), W, H)
    np.testing.assert_allclose(frame.image, 0.5 * 0.2, rtol=1e-5)


def test_nearest_surface_wins_and_far_hits_are_sky():
    near = Sphere(np.array([0.0, 4.0, 0.0]), 0.5, Label.SPHERE, GREY)
    wall = Plane(np.array([0.0, 8.0, 0.0]), np.array([0.0, -1.0, 0.0]), Label.WALL, GREY)
    frame = render(scene_of(wall, near), K, level_camera(), W, H)
    v, u = int(K[1, 2]), int(K[0, 2])
    assert frame.labels[v, u] == Label.SPHERE and frame.labels[0, 0] == Label.WALL
    beyond = Scene("test", (wall,), SUN, SKY, far=7.0)
    assert (render(beyond, K, level_camera(), W, H).depth == 0).all()


@pytest.mark.parametrize("kind", ["indoor", "outdoor"])
def test_culled_render_equals_one_ray_at_a_time(kind):
    world = generate_world(kind, np.random.default_rng(5), frames=4)
    w, h = 24, 18
    k = intrinsics_from_fov(w, h, 70.0).double().numpy()
    pose = world.trajectory.pose(2.0)
    frame = render(world.scene, k, pose, w, h)
    expected_depth = np.zeros((h, w))
    expected_label = np.zeros((h, w), dtype=np.int64)
    for v in range(h):
        for u in range(w):
            ray = pose[:3, :3] @ np.linalg.solve(k, [u, v, 1.0])
            t, index = trace(world.scene, pose[:3, 3], ray[None].astype(np.float32))
            if index[0] >= 0:
                expected_depth[v, u] = t[0]
                expected_label[v, u] = world.scene.primitives[index[0]].label
    np.testing.assert_allclose(frame.depth, expected_depth, rtol=1e-4)
    np.testing.assert_array_equal(frame.labels, expected_label)


def test_render_outputs_are_finite_unit_normals():
    world = generate_world("outdoor", np.random.default_rng(2), frames=3)
    frame = render(world.scene, K, world.trajectory.pose(1.0), W, H)
    assert frame.image.dtype == np.float32 and np.isfinite(frame.image).all()
    assert 0.0 <= frame.image.min() and frame.image.max() <= 1.0
    hit = frame.depth > 0
    np.testing.assert_allclose(np.linalg.norm(frame.normals[hit], axis=1), 1.0, atol=1e-5)
    assert (frame.labels[~hit] == Label.SKY).all()


def test_an_empty_scene_is_all_sky():
    frame = render(scene_of(), K, level_camera(), W, H)
    assert (frame.depth == 0).all() and (frame.labels == Label.SKY).all()


def test_bad_camera_shapes_are_refused():
    with pytest.raises(ValueError, match="K must be"):
        render(scene_of(), np.eye(2), np.eye(4), W, H)
