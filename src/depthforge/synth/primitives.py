"""Ray–primitive intersection for the synthetic world, vectorised over rays.

All rays of a pinhole camera share one origin, so every ``intersect`` takes one ``origin`` ``(3,)``
and ``dirs`` ``(N, 3)`` and returns the ray parameter ``t`` ``(N,)`` of the nearest hit beyond
``near`` (``inf`` for a miss): the hit point is ``origin + t · dir``. The renderer passes directions
whose camera-frame z component is 1, which makes ``t`` the z-depth directly.

``normal_at(points)`` gives the geometric (outward, for solids) unit normal at surface points;
``corners()`` gives the 8 corners of a world-space box enclosing the primitive, or ``None`` when it
is unbounded (planes). World frame: metres, z up.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from depthforge.synth.materials import Material

_BOX_SIGNS = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], float)


def _nearest_root(b: np.ndarray, a: np.ndarray, c: np.ndarray, near: float) -> np.ndarray:
    """Smallest root ``t > near`` of ``a t² + 2 b t + c = 0`` (``inf`` where there is none)."""
    disc = b * b - a * c
    root = np.sqrt(np.maximum(disc, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = (-b - root) / a
        t2 = (-b + root) / a
    t = np.where(t1 > near, t1, np.where(t2 > near, t2, np.inf))
    return np.where(disc >= 0.0, t, np.inf)


@dataclass(frozen=True)
class Plane:
    """Infinite plane ``{x : n·(x − point) = 0}`` with unit ``normal``.

    A closed room is six planes seen from inside: the nearest plane hit is the room's surface.
    """

    point: np.ndarray
    normal: np.ndarray
    label: int
    material: Material

    def intersect(self, origin: np.ndarray, dirs: np.ndarray, near: float) -> np.ndarray:
        normal = self.normal.astype(dirs.dtype)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = float(normal @ (self.point - origin)) / (dirs @ normal)
        return np.where(t > near, t, np.inf)

    def normal_at(self, points: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.normal.astype(points.dtype), points.shape)

    def corners(self) -> None:
        return None


@dataclass(frozen=True)
class Box:
    """Solid box with half extents ``half`` ``(3,)``, centred at ``centre``, turned by ``yaw``
    radians about the vertical (z) axis."""

    centre: np.ndarray
    half: np.ndarray
    yaw: float
    label: int
    material: Material

    @cached_property
    def rotation(self) -> np.ndarray:
        """``(3, 3)`` box-to-world rotation."""
        c, s = np.cos(self.yaw), np.sin(self.yaw)
        return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])

    def intersect(self, origin: np.ndarray, dirs: np.ndarray, near: float) -> np.ndarray:
        # Slab method (Kay & Kajiya 1986) in the box frame, one axis at a time (1-D arrays are
        # much faster than reductions over a length-3 axis).
        rot = self.rotation
        o = (origin - self.centre) @ rot
        d = dirs @ rot.astype(dirs.dtype)
        t_enter = np.full(len(dirs), -np.inf, dtype=dirs.dtype)
        t_exit = np.full(len(dirs), np.inf, dtype=dirs.dtype)
        with np.errstate(divide="ignore", invalid="ignore"):
            for k in range(3):
                inv = 1.0 / d[:, k]
                t1 = float(-self.half[k] - o[k]) * inv
                t2 = float(self.half[k] - o[k]) * inv
                np.maximum(t_enter, np.minimum(t1, t2), out=t_enter)
                np.minimum(t_exit, np.maximum(t1, t2), out=t_exit)
        t = np.where(t_enter > near, t_enter, np.where(t_exit > near, t_exit, np.inf))
        return np.where(t_enter <= t_exit, t, np.inf)

    def normal_at(self, points: np.ndarray) -> np.ndarray:
        rot = self.rotation.astype(points.dtype)
        local = (points - self.centre.astype(points.dtype)) @ rot
        axis = np.argmax(np.abs(local) / self.half.astype(points.dtype), axis=1)
        normal = np.zeros_like(local)
        rows = np.arange(len(local))
        normal[rows, axis] = np.sign(local[rows, axis])
        return normal @ rot.T

    def corners(self) -> np.ndarray:
        return self.centre + (_BOX_SIGNS * self.half) @ self.rotation.T


@dataclass(frozen=True)
class Sphere:
    """Solid sphere."""

    centre: np.ndarray
    radius: float
    label: int
    material: Material

    def intersect(self, origin: np.ndarray, dirs: np.ndarray, near: float) -> np.ndarray:
        oc = (origin - self.centre).astype(dirs.dtype)
        a = np.einsum("ij,ij->i", dirs, dirs)
        return _nearest_root(dirs @ oc, a, float(oc @ oc - self.radius**2), near)

    def normal_at(self, points: np.ndarray) -> np.ndarray:
        offset = points - self.centre.astype(points.dtype)
        return offset / np.linalg.norm(offset, axis=1, keepdims=True)

    def corners(self) -> np.ndarray:
        return self.centre + _BOX_SIGNS * self.radius


@dataclass(frozen=True)
class Cylinder:
    """Solid upright cylinder (axis along z) from ``base`` (centre of the bottom disc) up to
    ``base + (0, 0, height)``."""

    base: np.ndarray
    radius: float
    height: float
    label: int
    material: Material

    def intersect(self, origin: np.ndarray, dirs: np.ndarray, near: float) -> np.ndarray:
        o = (origin - self.base).astype(dirs.dtype)
        dx, dy, dz = dirs[:, 0], dirs[:, 1], dirs[:, 2]
        # Side: the ray's xy projection meets the circle, at a height inside [0, height].
        side = _side_root(o, dx, dy, self.radius, near)
        # Misses are t = inf; inf · 0 (a horizontal ray) gives NaN, which every comparison below
        # rejects, so NaN is the right answer there and its warning is noise.
        with np.errstate(divide="ignore", invalid="ignore"):
            z_side = o[2] + side * dz
            side = np.where((z_side >= 0.0) & (z_side <= self.height), side, np.inf)
            # Caps: the planes z = 0 and z = height, inside the disc.
            best = side
            for z_cap in (0.0, self.height):
                t = (z_cap - o[2]) / dz
                x, y = o[0] + t * dx, o[1] + t * dy
                inside = (t > near) & (x * x + y * y <= self.radius**2)
                best = np.minimum(best, np.where(inside, t, np.inf))
        return best

    def normal_at(self, points: np.ndarray) -> np.ndarray:
        local = points - self.base.astype(points.dtype)
        radial = np.hypot(local[:, 0], local[:, 1])
        half = self.height / 2.0
        on_cap = np.abs(local[:, 2] - half) / half > radial / self.radius
        normal = np.zeros_like(local)
        safe = np.maximum(radial, 1e-12)
        normal[:, 0] = np.where(on_cap, 0.0, local[:, 0] / safe)
        normal[:, 1] = np.where(on_cap, 0.0, local[:, 1] / safe)
        normal[:, 2] = np.where(on_cap, np.sign(local[:, 2] - half), 0.0)
        return normal

    def corners(self) -> np.ndarray:
        centre = self.base + np.array([0.0, 0.0, self.height / 2.0])
        return centre + _BOX_SIGNS * np.array([self.radius, self.radius, self.height / 2.0])


def _side_root(
    o: np.ndarray, dx: np.ndarray, dy: np.ndarray, radius: float, near: float
) -> np.ndarray:
    """Nearest ``t > near`` where the ray's xy projection meets the circle of ``radius``."""
    a = dx * dx + dy * dy
    b = o[0] * dx + o[1] * dy
    return _nearest_root(b, a, float(o[0] ** 2 + o[1] ** 2 - radius**2), near)


Primitive = Plane | Box | Sphere | Cylinder
