"""Scene description and random generation of indoor rooms and outdoor streets from a seed.

A *world* is a static :class:`Scene` plus the camera :mod:`trajectory` through it; objects keep a
clearance from the camera path, so the camera never enters an object.

Semantic labels (:class:`Label`, stored as small integers in ``Sample.labels``):

====  ============  ===========================================================
 id    name          what carries it
====  ============  ===========================================================
 0     sky           no surface (outdoor background); depth invalid there
 1     floor         indoor floor plane
 2     wall          the four indoor walls
 3     ceiling       indoor ceiling plane
 4     furniture     indoor boxes (tables, cabinets, shelves)
 5     sphere        indoor balls / lamp shades
 6     cylinder      indoor columns, bins, stools
 7     ground        outdoor road plane
 8     building      outdoor façades
 9     car           outdoor car-like boxes
 10    pole          outdoor poles and tree trunks
 11    vegetation    outdoor tree crowns (spheres)
====  ============  ===========================================================

Rooms: 3.5–10 m × 3.5–10 m × 2.4–3.2 m, 4–9 furniture boxes, 1–3 spheres, 1–3 cylinders, a lamp
below the ceiling. Streets: 6–9 m wide roads between façade rows, parked cars, poles and trees up
to 80 m ahead of the last frame, closed by a façade across the road; a sun light and a sky.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum
from functools import cached_property

import numpy as np

from depthforge.synth.materials import Light, Material, MaterialTable
from depthforge.synth.primitives import Box, Cylinder, Plane, Primitive, Sphere
from depthforge.synth.trajectory import Trajectory, positions, random_drive, random_orbit

KINDS = ("indoor", "outdoor")

# Objects keep this horizontal distance (metres) from the camera path, including the frames just
# before and after the sequence (neighbour frames, up to NEIGHBOUR_MARGIN frames away).
INDOOR_CLEARANCE = 0.45
OUTDOOR_CLEARANCE = 1.5
NEIGHBOUR_MARGIN = 3

# Outdoor: objects are placed up to this far (metres) beyond the last camera position.
STREET_AHEAD = 80.0
# Ray hits beyond this distance (z-depth, metres) count as misses (sky).
OUTDOOR_FAR = 150.0
INDOOR_FAR = 50.0


class Label(IntEnum):
    """Semantic classes of the synthetic world (the table in the module docstring)."""

    SKY = 0
    FLOOR = 1
    WALL = 2
    CEILING = 3
    FURNITURE = 4
    SPHERE = 5
    CYLINDER = 6
    GROUND = 7
    BUILDING = 8
    CAR = 9
    POLE = 10
    VEGETATION = 11


@dataclass(frozen=True)
class Scene:
    """A static scene.

    Attributes:
        kind: ``"indoor"`` or ``"outdoor"``.
        primitives: the surfaces; a pixel's label and texture are those of the primitive it sees.
        light: the single light (plus ambient).
        sky: ``(2, 3)`` RGB at the horizon and the zenith, shown where no surface is hit as
            ``horizon + (zenith − horizon) · √(sin elevation)`` (elevation clipped at 0).
        far: hits farther than this (metres along the camera z axis) are treated as misses.
    """

    kind: str
    primitives: tuple[Primitive, ...]
    light: Light
    sky: np.ndarray
    far: float

    @cached_property
    def bounding_corners(self) -> tuple[np.ndarray, np.ndarray]:
        """``(P, 8, 3)`` world corners of each primitive's bounding box (NaN when unbounded) and
        ``(P,)`` bool, True where bounded."""
        corners = np.full((len(self.primitives), 8, 3), np.nan)
        for i, prim in enumerate(self.primitives):
            box = prim.corners()
            if box is not None:
                corners[i] = box
        return corners, ~np.isnan(corners[:, 0, 0])

    @cached_property
    def materials(self) -> MaterialTable:
        """The primitives' materials stacked (row ``i`` = primitive ``i``)."""
        return MaterialTable.stack([prim.material for prim in self.primitives])

    @cached_property
    def labels(self) -> np.ndarray:
        """``(P,)`` int64 label of each primitive."""
        return np.array([int(prim.label) for prim in self.primitives], dtype=np.int64)


@dataclass(frozen=True)
class World:
    """A scene and the camera path through it."""

    scene: Scene
    trajectory: Trajectory


def generate_world(kind: str, rng: np.random.Generator, frames: int) -> World:
    """A random world of ``kind`` whose path is free for frames ``−3 … frames + 2``.

    Args:
        kind: ``"indoor"`` or ``"outdoor"``.
        rng: the only source of randomness (same state → same world).
        frames: number of frames the sequence will use (outdoor streets grow with it).
    """
    if kind == "indoor":
        return _indoor_world(rng, frames)
    if kind == "outdoor":
        return _outdoor_world(rng, frames)
    raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")


def _path_xy(trajectory: Trajectory, frames: int, step: float = 1.0) -> np.ndarray:
    """``(T, 2)`` horizontal camera positions covering the sequence and its neighbour margin."""
    times = np.arange(-NEIGHBOUR_MARGIN, frames + NEIGHBOUR_MARGIN + step, step)
    return positions(trajectory, times)[:, :2]


def _clear_of(path: np.ndarray, centre: np.ndarray, radius: float, clearance: float) -> bool:
    """True when the disc (``centre`` xy, ``radius``) keeps ``clearance`` from every path point."""
    return bool(np.min(np.linalg.norm(path - centre[:2], axis=1)) > radius + clearance)


def _indoor_world(rng: np.random.Generator, frames: int) -> World:
    size = np.array([rng.uniform(3.5, 10.0), rng.uniform(3.5, 10.0), rng.uniform(2.4, 3.2)])
    lo, hi = np.zeros(3), size
    trajectory = random_orbit(rng, lo, hi, margin=INDOOR_CLEARANCE + 0.2)
    # Indoor steps are short: every half frame is dense enough for a 0.45 m clearance.
    path = _path_xy(trajectory, frames, step=0.5)

    def surface(base: tuple[float, float, float], scale=(0.15, 0.8)) -> Material:
        return Material.random(rng, base, spread=0.2, scale=scale)

    wall_tone = tuple(rng.uniform(0.45, 0.85, 3))
    prims: list[Primitive] = [
        Plane(lo.copy(), np.array([0.0, 0.0, 1.0]), Label.FLOOR, surface((0.5, 0.35, 0.2))),
        Plane(hi.copy(), np.array([0.0, 0.0, -1.0]), Label.CEILING, surface((0.85, 0.85, 0.8))),
    ]
    for axis in (0, 1):
        for point, sign in ((lo, 1.0), (hi, -1.0)):
            normal = np.zeros(3)
            normal[axis] = sign
            prims.append(Plane(point.copy(), normal, Label.WALL, surface(wall_tone)))

    def place(radius: float, against_wall: bool) -> np.ndarray | None:
        """A floor position for an object of footprint ``radius`` clear of the path."""
        for _ in range(30):
            if against_wall:
                centre = rng.uniform(lo[:2] + radius, hi[:2] - radius)
                axis = int(rng.integers(0, 2))
                centre[axis] = lo[axis] + radius if rng.random() < 0.5 else hi[axis] - radius
            else:
                centre = rng.uniform(lo[:2] + radius, hi[:2] - radius)
            if _clear_of(path, centre, radius, INDOOR_CLEARANCE):
                return centre
        return None

    tops: list[np.ndarray] = []  # top centres of boxes, where spheres may rest
    for _ in range(int(rng.integers(4, 10))):
        half = np.array([rng.uniform(0.2, 0.9), rng.uniform(0.2, 0.6), rng.uniform(0.2, 1.0)])
        centre = place(float(np.hypot(half[0], half[1])), against_wall=rng.random() < 0.5)
        if centre is None:
            continue
        box_centre = np.array([centre[0], centre[1], half[2]])
        yaw = float(rng.uniform(0.0, math.pi))
        prims.append(Box(box_centre, half, yaw, Label.FURNITURE, surface((0.55, 0.4, 0.3))))
        tops.append(box_centre + np.array([0.0, 0.0, half[2]]))
    for _ in range(int(rng.integers(1, 4))):
        radius = float(rng.uniform(0.1, 0.4))
        if tops and rng.random() < 0.5:
            top = tops[int(rng.integers(0, len(tops)))]
            centre = top + np.array([0.0, 0.0, radius])
        else:
            xy = place(radius, against_wall=False)
            if xy is None:
                continue
            centre = np.array([xy[0], xy[1], radius])
        prims.append(Sphere(centre, radius, Label.SPHERE, surface(tuple(rng.uniform(0.2, 0.9, 3)))))
    for _ in range(int(rng.integers(1, 4))):
        radius = float(rng.uniform(0.1, 0.4))
        xy = place(radius, against_wall=False)
        if xy is None:
            continue
        base = np.array([xy[0], xy[1], 0.0])
        height = float(rng.uniform(0.3, min(2.0, size[2] - 0.2)))
        material = surface(tuple(rng.uniform(0.2, 0.9, 3)))
        prims.append(Cylinder(base, radius, height, Label.CYLINDER, material))
    lamp = np.array([*rng.uniform(lo[:2] + 0.5, hi[:2] - 0.5), size[2] - 0.3])
    light = Light(ambient=float(rng.uniform(0.25, 0.4)), position=lamp)
    sky = np.zeros((2, 3))  # a closed room shows no sky
    return World(Scene("indoor", tuple(prims), light, sky, INDOOR_FAR), trajectory)


def _outdoor_world(rng: np.random.Generator, frames: int) -> World:
    road_half = float(rng.uniform(3.0, 4.5))
    lane_x = float(rng.uniform(-0.4, 0.4) * road_half)
    trajectory = random_drive(rng, lane_x)
    path = _path_xy(trajectory, frames)
    y_start = float(path[0, 1]) - 10.0
    y_end = float(path[-1, 1]) + STREET_AHEAD

    def surface(base: tuple[float, float, float], scale=(0.3, 3.0)) -> Material:
        return Material.random(rng, base, spread=0.2, scale=scale)

    ground = surface((0.35, 0.35, 0.37), scale=(0.4, 2.0))
    prims: list[Primitive] = [Plane(np.zeros(3), np.array([0.0, 0.0, 1.0]), Label.GROUND, ground)]

    # Façade rows on both sides: consecutive blocks with small gaps and set-backs.
    for side in (-1.0, 1.0):
        y = y_start
        while y < y_end:
            width = float(rng.uniform(6.0, 20.0))
            depth = float(rng.uniform(8.0, 15.0))
            height = float(rng.uniform(6.0, 25.0))
            face = road_half + float(rng.uniform(2.0, 5.0))  # sidewalk width + set-back
            centre = np.array([side * (face + depth / 2.0), y + width / 2.0, height / 2.0])
            half = np.array([depth / 2.0, width / 2.0, height / 2.0])
            tone = tuple(rng.uniform(0.35, 0.85, 3))
            prims.append(Box(centre, half, 0.0, Label.BUILDING, surface(tone)))
            y += width + float(rng.uniform(0.0, 4.0))
    # A façade across the road closes the street.
    end = np.array([0.0, y_end + 6.0, 10.0])
    prims.append(
        Box(end, np.array([60.0, 5.0, 10.0]), 0.0, Label.BUILDING, surface((0.6, 0.55, 0.5)))
    )

    def roadside(offset: float, spacing: tuple[float, float]):
        """Positions ``(x, y)`` along both road edges, ``offset`` metres outside the edge."""
        for side in (-1.0, 1.0):
            y = y_start + float(rng.uniform(0.0, spacing[1]))
            while y < y_end:
                yield side * (road_half + offset), y
                y += float(rng.uniform(*spacing))

    for x, y in roadside(-1.1, (6.0, 18.0)):  # parked cars, just inside the road edge
        half = np.array([rng.uniform(0.8, 1.0), rng.uniform(1.9, 2.4), rng.uniform(0.7, 0.85)])
        centre = np.array([x, y, half[2]])
        if _clear_of(path, centre, float(half[0]), OUTDOOR_CLEARANCE):
            yaw = float(rng.normal(0.0, 0.05))
            colour = tuple(rng.uniform(0.1, 0.9, 3))
            prims.append(Box(centre, half, yaw, Label.CAR, surface(colour, scale=(0.2, 1.0))))
    for x, y in roadside(0.6, (10.0, 25.0)):  # poles on the sidewalk
        radius, height = float(rng.uniform(0.08, 0.2)), float(rng.uniform(4.0, 8.0))
        base = np.array([x, y, 0.0])
        prims.append(Cylinder(base, radius, height, Label.POLE, surface((0.5, 0.5, 0.5))))
    for x, y in roadside(1.5, (8.0, 20.0)):  # trees: trunk + crown
        trunk = float(rng.uniform(2.8, 4.5))  # crown bottom ≥ 2.3 m: above the camera
        radius = float(rng.uniform(1.2, 2.5))
        bark = surface((0.35, 0.25, 0.15), scale=(0.1, 0.4))
        prims.append(Cylinder(np.array([x, y, 0.0]), 0.2, trunk, Label.POLE, bark))
        crown = np.array([x, y, trunk + radius * 0.8])
        leaves = surface((0.2, 0.45, 0.15), scale=(0.2, 0.8))
        prims.append(Sphere(crown, radius, Label.VEGETATION, leaves))

    elevation = rng.uniform(math.radians(25.0), math.radians(60.0))
    azimuth = rng.uniform(0.0, 2.0 * math.pi)
    sun = np.array(
        [
            math.cos(elevation) * math.cos(azimuth),
            math.cos(elevation) * math.sin(azimuth),
            math.sin(elevation),
        ]
    )
    light = Light(ambient=float(rng.uniform(0.3, 0.45)), direction=sun)
    sky = np.array([[0.75, 0.82, 0.9], [0.3, 0.5, 0.85]]) + rng.uniform(-0.05, 0.05, (2, 3))
    return World(Scene("outdoor", tuple(prims), light, sky, OUTDOOR_FAR), trajectory)
