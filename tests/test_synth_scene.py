"""Specification of world generation and camera paths: rigid poses with the documented axes,
smooth motion, a camera that never enters an object, determinism from the generator state."""

from __future__ import annotations

import math

import numpy as np
import pytest

from depthforge.synth.primitives import Box, Cylinder, Plane, Sphere
from depthforge.synth.scene import NEIGHBOUR_MARGIN, Label, generate_world
from depthforge.synth.trajectory import camera_to_world


def test_level_camera_axes():
    pose = camera_to_world(np.array([1.0, 2.0, 3.0]), 0.0, 0.0, 0.0)
    np.testing.assert_allclose(pose[:3, 2], [0.0, 1.0, 0.0])  # optical axis = world +y
    np.testing.assert_allclose(pose[:3, 1], [0.0, 0.0, -1.0])  # image down = world down
    np.testing.assert_allclose(pose[:3, 0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(pose[:3, 3], [1.0, 2.0, 3.0])
    np.testing.assert_allclose(pose[3], [0.0, 0.0, 0.0, 1.0])


def test_yaw_turns_left_pitch_looks_up_roll_turns_about_the_optical_axis():
    a = math.radians(30.0)
    forward_yaw = camera_to_world(np.zeros(3), a, 0.0, 0.0)[:3, 2]
    np.testing.assert_allclose(forward_yaw, [-math.sin(a), math.cos(a), 0.0], atol=1e-12)
    forward_pitch = camera_to_world(np.zeros(3), 0.0, a, 0.0)[:3, 2]
    np.testing.assert_allclose(forward_pitch, [0.0, math.cos(a), math.sin(a)], atol=1e-12)
    rolled = camera_to_world(np.zeros(3), 0.0, 0.0, a)
    np.testing.assert_allclose(rolled[:3, 2], [0.0, 1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(rolled[:3, 0], [math.cos(a), 0.0, -math.sin(a)], atol=1e-12)


@pytest.mark.parametrize("kind", ["indoor", "outdoor"])
def test_poses_are_rigid_and_the_motion_is_smooth(kind):
    world = generate_world(kind, np.random.default_rng(0), frames=20)
    poses = [world.trajectory.pose(float(t)) for t in range(20)]
    steps, turns = [], []
    for a, b in zip(poses[:-1], poses[1:], strict=True):
        rotation = b[:3, :3]
        np.testing.assert_allclose(rotation.T @ rotation, np.eye(3), atol=1e-12)
        assert np.linalg.det(rotation) == pytest.approx(1.0)
        relative = np.linalg.inv(a) @ b
        steps.append(np.linalg.norm(relative[:3, 3]))
        turns.append(math.degrees(math.acos(np.clip((np.trace(relative[:3, :3]) - 1) / 2, -1, 1))))
    if kind == "indoor":  # hand-held walk: ≤ 12 cm per frame plus wobble, a few degrees
        assert 0.01 < min(steps) and max(steps) < 0.16 and max(turns) < 6.0
    else:  # car: 0.6–1.2 m per frame along the street (+y), tiny rotations
        assert 0.5 < min(steps) and max(steps) < 1.4 and max(turns) < 1.5
        assert poses[-1][1, 3] - poses[0][1, 3] > 19 * 0.5


def _inside(prim, point: np.ndarray) -> bool:
    """Point-in-solid, written independently of the intersection code."""
    if isinstance(prim, Sphere):
        return bool(np.linalg.norm(point - prim.centre) < prim.radius)
    if isinstance(prim, Box):
        c, s = math.cos(prim.yaw), math.sin(prim.yaw)
        d = point - prim.centre
        local = np.array([c * d[0] + s * d[1], -s * d[0] + c * d[1], d[2]])
        return bool((np.abs(local) < prim.half).all())
    if isinstance(prim, Cylinder):
        d = point - prim.base
        return bool(math.hypot(d[0], d[1]) < prim.radius and 0.0 < d[2] < prim.height)
    return False


@pytest.mark.parametrize("kind", ["indoor", "outdoor"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_camera_never_enters_a_solid_and_stays_in_the_room(kind, seed):
    frames = 30
    world = generate_world(kind, np.random.default_rng(seed), frames=frames)
    times = np.arange(-NEIGHBOUR_MARGIN, frames + NEIGHBOUR_MARGIN, 0.25)
    solids = [p for p in world.scene.primitives if not isinstance(p, Plane)]
    planes = [p for p in world.scene.primitives if isinstance(p, Plane)]
    for t in times:
        centre = world.trajectory.pose(float(t))[:3, 3]
        assert not any(_inside(p, centre) for p in solids), f"t={t}: camera inside an object"
        # On the inner side of every room plane / above the ground, by at least 20 cm.
        for plane in planes:
            assert plane.normal @ (centre - plane.point) > 0.2


def test_indoor_and_outdoor_worlds_carry_their_labels():
    indoor = {
        int(p.label) for p in generate_world("indoor", np.random.default_rng(3), 5).scene.primitives
    }
    outdoor = {
        int(p.label)
        for p in generate_world("outdoor", np.random.default_rng(3), 5).scene.primitives
    }
    assert {Label.FLOOR, Label.WALL, Label.CEILING, Label.FURNITURE} <= indoor
    assert {Label.GROUND, Label.BUILDING, Label.POLE} <= outdoor
    assert not indoor & {Label.GROUND, Label.BUILDING} and not outdoor & {Label.FLOOR, Label.WALL}


def test_outdoor_objects_recede_to_80_m_beyond_the_last_frame():
    frames = 10
    world = generate_world("outdoor", np.random.default_rng(4), frames=frames)
    last = world.trajectory.pose(frames - 1.0)[1, 3]
    far_objects = [
        p.base[1] if isinstance(p, Cylinder) else p.centre[1]
        for p in world.scene.primitives
        if not isinstance(p, Plane)
    ]
    assert max(far_objects) - last > 70.0


def test_same_generator_state_gives_the_same_world_and_another_seed_does_not():
    a = generate_world("outdoor", np.random.default_rng(9), 5)
    b = generate_world("outdoor", np.random.default_rng(9), 5)
    c = generate_world("outdoor", np.random.default_rng(10), 5)
    assert len(a.scene.primitives) == len(b.scene.primitives)
    np.testing.assert_array_equal(a.trajectory.pose(3.0), b.trajectory.pose(3.0))
    np.testing.assert_array_equal(a.scene.bounding_corners[0], b.scene.bounding_corners[0])
    assert not np.array_equal(a.trajectory.pose(3.0), c.trajectory.pose(3.0))


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="kind must be one of"):
        generate_world("forest", np.random.default_rng(0), 3)
