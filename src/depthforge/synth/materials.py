"""Procedural surface textures and Lambertian lighting for the synthetic world.

Textures are functions of the *world* position of the surface point (the world is static), so a
surface shows the same pattern from every viewpoint: photometric reprojection between frames has a
well-defined answer. Shading is Lambertian with one light and an ambient term, no shadows and no
distance fall-off, so the shaded colour of a point is view-independent too.

Anti-aliasing without super-sampling: each wave of a pattern is damped by the Gaussian pre-filter
of the pixel footprint (a sinusoid of period ``p`` blurred by a Gaussian of standard deviation
``σ`` keeps the amplitude ``exp(−2π²σ²/p²)``), with ``σ`` = the pixel footprint ``depth / f`` on
the surface; the checker's contrast is damped like its fundamental (period two cells). Distant
textures fade to their mean instead of producing moiré. The footprint ignores surface slant, and
it makes the colour depend slightly on viewing distance (negligible between nearby frames).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

import numpy as np


class Pattern(IntEnum):
    """How a material mixes its two colours."""

    CHECKER = 0
    """3-D checkerboard of cell size ``scale``: cell parity of ``floor(x / scale + phase)``."""
    STRIPES = 1
    """Sinusoidal stripes of period ``scale`` along a random direction."""
    NOISE = 2
    """Smooth band-limited noise: three sinusoids of period ``scale``, ``scale/2.1``,
    ``scale/4.3`` along random directions."""


# Fine grain multiplied onto every material (period = scale / GRAIN_FREQUENCY, ±GRAIN_CONTRAST),
# so that even a checker cell's interior has texture for photometric losses to match.
GRAIN_FREQUENCY = 3.7
GRAIN_CONTRAST = 0.12
# Noise: three waves of these frequencies (cycles per ``scale``) and amplitude.
NOISE_FREQUENCIES = (1.0, 2.1, 4.3)
NOISE_AMPLITUDE = 0.27


@dataclass(frozen=True)
class Material:
    """A procedural two-colour texture.

    Attributes:
        colour_a, colour_b: ``(3,)`` linear RGB albedos in ``[0, 1]``.
        pattern: the :class:`Pattern` mixing them.
        scale: pattern size, metres.
        phase: ``(3,)`` offset of the pattern lattice, in units of ``scale``.
        directions: ``(4, 3)`` unit vectors: stripe / noise directions and the grain direction.
    """

    colour_a: np.ndarray
    colour_b: np.ndarray
    pattern: Pattern
    scale: float
    phase: np.ndarray
    directions: np.ndarray

    @staticmethod
    def random(
        rng: np.random.Generator,
        base: tuple[float, float, float],
        spread: float = 0.25,
        scale: tuple[float, float] = (0.1, 0.6),
    ) -> Material:
        """A material whose colours scatter by ``spread`` around ``base``; pattern size in
        ``scale`` (metres, log-uniform)."""
        base_rgb = np.asarray(base)
        colour_a = np.clip(base_rgb + rng.uniform(-spread, spread, 3), 0.03, 1.0)
        colour_b = np.clip(
            colour_a * rng.uniform(0.35, 0.75) + rng.uniform(-0.05, 0.05, 3), 0.02, 1
        )
        directions = rng.normal(size=(4, 3))
        return Material(
            colour_a=colour_a,
            colour_b=colour_b,
            pattern=Pattern(int(rng.integers(0, len(Pattern)))),
            scale=float(math.exp(rng.uniform(math.log(scale[0]), math.log(scale[1])))),
            phase=rng.uniform(0.0, 1.0, 3),
            directions=directions / np.linalg.norm(directions, axis=1, keepdims=True),
        )


@dataclass(frozen=True)
class MaterialTable:
    """The parameters of several :class:`Material` s stacked (float32), to texture every pixel of
    a frame in one pass: row ``m`` holds material ``m``."""

    colour_a: np.ndarray
    colour_b: np.ndarray
    pattern: np.ndarray
    scale: np.ndarray
    phase: np.ndarray
    directions: np.ndarray

    @staticmethod
    def stack(materials: Sequence[Material]) -> MaterialTable:
        def rows(name: str, shape: tuple[int, ...]) -> np.ndarray:
            values = [np.asarray(getattr(m, name), np.float32) for m in materials]
            return np.array(values, dtype=np.float32).reshape(len(materials), *shape)

        return MaterialTable(
            colour_a=rows("colour_a", (3,)),
            colour_b=rows("colour_b", (3,)),
            pattern=np.array([int(m.pattern) for m in materials], dtype=np.int64),
            scale=rows("scale", ()),
            phase=rows("phase", (3,)),
            directions=rows("directions", (4, 3)),
        )

    def albedo(self, index: np.ndarray, points: np.ndarray, footprint: np.ndarray) -> np.ndarray:
        """``(N, 3)`` float32 albedo of material ``index`` ``(N,)`` at world ``points`` ``(N, 3)``
        (metres) seen by pixels of width ``footprint`` ``(N,)`` (metres on the surface)."""
        scale = self.scale[index]
        q = points.astype(np.float32) / scale[:, None] + self.phase[index]
        # Coordinates along the material's four directions, (N, 4); written out (einsum and
        # length-3 reductions are about twice as slow here).
        d = self.directions[index]
        along = d[:, :, 0] * q[:, 0:1] + d[:, :, 1] * q[:, 1:2] + d[:, :, 2] * q[:, 2:3]
        # Gaussian pre-filter: σ in pattern units; a wave of `frequency` cycles per unit keeps
        # exp(−2π² σ² frequency²) of its amplitude.
        sigma2 = (footprint.astype(np.float32) / scale) ** 2
        tau = np.float32(2.0 * math.pi)

        def damping(frequency: float, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
            return np.exp(np.float32(-2.0 * math.pi**2 * frequency**2) * sigma2[rows])

        mix = np.empty(len(index), dtype=np.float32)
        pattern = self.pattern[index]
        rows = np.flatnonzero(pattern == Pattern.CHECKER)
        # The checker's fundamental has a period of two cells.
        cell = np.floor(q[rows])
        parity = (cell[:, 0] + cell[:, 1] + cell[:, 2]) % 2.0
        mix[rows] = 0.5 + (parity - 0.5) * damping(0.5, rows)
        rows = np.flatnonzero(pattern == Pattern.STRIPES)
        mix[rows] = 0.5 + 0.5 * np.sin(tau * along[rows, 0]) * damping(1.0, rows)
        rows = np.flatnonzero(pattern == Pattern.NOISE)
        noise = np.full(len(rows), 0.5, dtype=np.float32)
        for k, frequency in enumerate(NOISE_FREQUENCIES):
            wave = np.sin(tau * np.float32(frequency) * along[rows, k])
            noise += np.float32(NOISE_AMPLITUDE) * wave * damping(frequency, rows)
        mix[rows] = noise
        grain = np.sin(tau * np.float32(GRAIN_FREQUENCY) * along[:, 3]) * damping(GRAIN_FREQUENCY)
        grain = 1.0 + np.float32(GRAIN_CONTRAST) * grain
        colour_a = self.colour_a[index]
        colour = colour_a + (self.colour_b[index] - colour_a) * np.clip(mix, 0.0, 1.0)[:, None]
        return colour * grain[:, None]


@dataclass(frozen=True)
class Light:
    """One light plus ambient: ``radiance = albedo · (ambient + (1 − ambient) · max(0, n·l))``.

    Attributes:
        ambient: ambient fraction in ``[0, 1]``.
        direction: ``(3,)`` unit vector *towards* a distant light (sun), or ``None``.
        position: ``(3,)`` position of a point light (world, metres), or ``None``.
    """

    ambient: float
    direction: np.ndarray | None = None
    position: np.ndarray | None = None

    def __post_init__(self) -> None:
        if (self.direction is None) == (self.position is None):
            raise ValueError("a Light needs exactly one of direction (sun) or position (lamp)")

    def shade(self, albedo: np.ndarray, normals: np.ndarray, points: np.ndarray) -> np.ndarray:
        """``(N, 3)`` radiance from ``albedo``, unit ``normals`` facing the viewer and ``points``,
        all ``(N, 3)`` in the world frame (Lambert's cosine law)."""
        if self.position is not None:
            to_light = self.position.astype(points.dtype) - points
            to_light /= np.linalg.norm(to_light, axis=1, keepdims=True)
            cosine = np.einsum("ij,ij->i", normals, to_light)
        else:
            cosine = normals @ self.direction.astype(points.dtype)
        intensity = self.ambient + (1.0 - self.ambient) * np.maximum(cosine, 0.0)
        return albedo * intensity[:, None]
