"""Smooth camera paths through the synthetic world, with exact camera-to-world poses.

World frame: right-handed, metres, ``z`` up, the ground / floor at ``z = 0``. Camera frame: ``x``
right, ``y`` down, ``z`` forward (the depthforge convention). A trajectory is a continuous function
of time ``t`` (in frames), so frame ``t`` and its neighbours ``t ± 1`` are exact samples of the same
path and their relative pose ``inv(pose(t)) @ pose(t + 1)`` is ground truth.

Two paths:

* :class:`OrbitTrajectory`, indoor: a hand-held walk around an ellipse near the room centre (the
  path never leaves the room however many frames are asked for), with hand-held wobble;
* :class:`DriveTrajectory`, outdoor: a car driving along the street (+y) at constant speed with a
  small lateral sway and road bumps.

Wobble is a sum of two sinusoids per degree of freedom (smooth, and deterministic from the seed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Camera looking along world +y, level: columns are the camera axes in world coordinates
# (x right = world +x, y down = world −z, z forward = world +y).
LEVEL_CAMERA = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


def rotation_z(angle: float) -> np.ndarray:
    """``(3, 3)`` rotation by ``angle`` radians about the z axis (counter-clockwise seen from +z)."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def rotation_x(angle: float) -> np.ndarray:
    """``(3, 3)`` rotation by ``angle`` radians about the x axis."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def camera_to_world(position: np.ndarray, yaw: float, pitch: float, roll: float) -> np.ndarray:
    """``(4, 4)`` camera-to-world pose from a position and Euler angles, radians.

    ``yaw`` turns the camera left (counter-clockwise about world z; 0 looks along +y), ``pitch``
    tilts it up (about the camera x axis), ``roll`` turns it about the optical axis (x towards y);
    applied in the order roll, pitch, yaw (camera frame first).
    """
    rotation = rotation_z(yaw) @ LEVEL_CAMERA @ rotation_x(pitch) @ rotation_z(roll)
    pose = np.eye(4)
    pose[:3, :3] = rotation
    pose[:3, 3] = position
    return pose


@dataclass(frozen=True)
class Wobble:
    """Smooth perturbation of six degrees of freedom: ``Σ_k a_k sin(ω_k t + φ_k)``.

    Attributes:
        amplitude: ``(2, 6)`` amplitudes (metres for x, y, z; radians for yaw, pitch, roll).
        frequency: ``(2, 6)`` angular frequencies, radians per frame.
        phase: ``(2, 6)`` phases, radians.
    """

    amplitude: np.ndarray
    frequency: np.ndarray
    phase: np.ndarray

    @staticmethod
    def random(
        rng: np.random.Generator,
        translation: tuple[float, float, float],
        rotation: float,
        frequency: float,
    ) -> Wobble:
        """Wobble with at most ``translation`` metres (per x, y, z) and ``rotation`` radians."""
        scale = np.array([*translation, rotation, rotation, rotation])
        amplitude = rng.uniform(0.3, 0.5, (2, 6)) * scale
        freq = rng.uniform(0.5, 1.5, (2, 6)) * frequency * np.array([[1.0], [2.3]])
        return Wobble(amplitude, freq, rng.uniform(0.0, 2.0 * math.pi, (2, 6)))

    def __call__(self, t: float) -> np.ndarray:
        """``(6,)`` offsets ``(dx, dy, dz, dyaw, dpitch, droll)`` at time ``t``."""
        return (self.amplitude * np.sin(self.frequency * t + self.phase)).sum(axis=0)


@dataclass(frozen=True)
class OrbitTrajectory:
    """Hand-held walk around an ellipse (indoor).

    Position ``centre + (a cos θ, b sin θ, height)`` with ``θ = θ₀ + ω t``; the camera looks along
    the walking direction turned by ``look_offset`` radians (positive = towards the inside of the
    ellipse when walking counter-clockwise), tilted by ``pitch``, plus :class:`Wobble`.
    """

    centre: np.ndarray
    radii: tuple[float, float]
    height: float
    angle0: float
    angular_speed: float
    look_offset: float
    pitch: float
    wobble: Wobble

    def pose(self, t: float) -> np.ndarray:
        """``(4, 4)`` float64 camera-to-world pose at time ``t`` (frames)."""
        theta = self.angle0 + self.angular_speed * t
        a, b = self.radii
        w = self.wobble(t)
        position = np.array(
            [
                self.centre[0] + a * math.cos(theta),
                self.centre[1] + b * math.sin(theta),
                self.height,
            ]
        )
        direction = math.copysign(1.0, self.angular_speed)
        tangent = np.array([-a * math.sin(theta), b * math.cos(theta)]) * direction
        # yaw 0 looks along +y; the tangent's yaw is atan2(−t_x, t_y).
        walk_yaw = math.atan2(-tangent[0], tangent[1])
        return camera_to_world(
            position + w[:3], walk_yaw + self.look_offset + w[3], self.pitch + w[4], w[5]
        )


@dataclass(frozen=True)
class DriveTrajectory:
    """A car driving along world +y at constant ``speed`` (outdoor, KITTI-like).

    Position ``start + (0, speed · t, 0)`` plus :class:`Wobble` (sway, bumps, small yaw/pitch/roll).
    """

    start: np.ndarray
    speed: float
    pitch: float
    wobble: Wobble

    def pose(self, t: float) -> np.ndarray:
        """``(4, 4)`` float64 camera-to-world pose at time ``t`` (frames)."""
        w = self.wobble(t)
        position = self.start + np.array([0.0, self.speed * t, 0.0]) + w[:3]
        return camera_to_world(position, w[3], self.pitch + w[4], w[5])


Trajectory = OrbitTrajectory | DriveTrajectory


def positions(trajectory: Trajectory, times: np.ndarray) -> np.ndarray:
    """``(T, 3)`` camera centres at ``times`` (frames)."""
    return np.stack([trajectory.pose(float(t))[:3, 3] for t in times])


def random_orbit(
    rng: np.random.Generator, room_min: np.ndarray, room_max: np.ndarray, margin: float
) -> OrbitTrajectory:
    """A hand-held walk that stays ``margin`` metres inside the room's floor rectangle.

    The camera looks 11–69° inwards from the walking direction (across the room, so views span
    near furniture and far walls). Walking speed 0.05–0.12 m per frame (less on small orbits: at
    most 2.5° of orbit per frame), eye height 1.2–1.7 m, looking 10–35° down, wobble ±3 cm and
    ±2.5° (a hand-held camera, e.g. NYU Depth v2 recordings).
    """
    centre = (room_min + room_max) / 2.0
    half = (room_max - room_min)[:2] / 2.0 - margin - 0.05  # 0.05: room for the wobble
    radii = rng.uniform(0.3, 0.85, 2) * half
    radii = np.minimum(radii, 1.5 * radii[::-1])  # aspect ≤ 1.5: no sharp turns at the tips
    step = rng.uniform(0.05, 0.12)
    turn = float(rng.choice([-1.0, 1.0]))  # +1: counter-clockwise, the inside is to the left
    # At most 2.5° of orbit per frame, so that small rooms do not spin the camera.
    angular_speed = min(step / float(np.mean(radii)), math.radians(2.5)) * turn
    return OrbitTrajectory(
        centre=centre,
        radii=(float(radii[0]), float(radii[1])),
        height=float(rng.uniform(1.2, 1.7)),
        angle0=float(rng.uniform(0.0, 2.0 * math.pi)),
        angular_speed=float(angular_speed),
        look_offset=turn * float(rng.uniform(0.2, 1.2)),  # look across the room
        pitch=float(-rng.uniform(math.radians(10.0), math.radians(35.0))),
        wobble=Wobble.random(
            rng, translation=(0.03, 0.03, 0.03), rotation=math.radians(2.5), frequency=0.15
        ),
    )


def random_drive(rng: np.random.Generator, lane_x: float) -> DriveTrajectory:
    """A drive along +y in the lane at ``x = lane_x``, camera 1.65 m above the road (KITTI).

    Speed 0.6–1.2 m per frame (KITTI: ~10 Hz at 20–45 km/h) with ±5 cm of jitter, lateral sway
    ±0.1 m, bumps ±2 cm, yaw/pitch/roll ±0.6°, pitched 0–3° down.
    """
    return DriveTrajectory(
        start=np.array([lane_x, 0.0, 1.65]),
        speed=float(rng.uniform(0.6, 1.2)),
        pitch=float(-rng.uniform(0.0, math.radians(3.0))),
        wobble=Wobble.random(
            rng, translation=(0.1, 0.05, 0.02), rotation=math.radians(0.6), frequency=0.08
        ),
    )
