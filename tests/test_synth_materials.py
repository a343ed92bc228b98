"""Specification of the procedural textures: two colours, attached to world points, and the
Gaussian pre-filter that fades sub-pixel detail to the mean."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from depthforge.synth.materials import GRAIN_CONTRAST, Light, Material, MaterialTable, Pattern


def material(pattern: Pattern, scale: float = 0.5) -> Material:
    return Material(
        colour_a=np.array([0.8, 0.2, 0.2]),
        colour_b=np.array([0.2, 0.2, 0.8]),
        pattern=pattern,
        scale=scale,
        phase=np.array([0.25, 0.25, 0.25]),
        directions=np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.6, 0.8, 0.0]]),
    )


def points_on_a_line(n: int = 2000) -> np.ndarray:
    x = np.linspace(0.0, 10.0, n)
    return np.stack([x, 0.3 * x, np.full(n, 0.1)], axis=1).astype(np.float32)


def test_sharp_checker_shows_exactly_the_two_colours_times_the_grain():
    table = MaterialTable.stack([material(Pattern.CHECKER)])
    points = points_on_a_line()
    albedo = table.albedo(np.zeros(len(points), int), points, np.zeros(len(points)))
    # Cell parity of floor(p / 0.5 + 0.25) summed over x, y, z decides the colour.
    parity = np.floor(points / 0.5 + 0.25).sum(axis=1) % 2
    colour = np.where(parity[:, None] == 0, [0.8, 0.2, 0.2], [0.2, 0.2, 0.8])
    ratio = albedo / colour
    np.testing.assert_allclose(ratio[:, 0], ratio[:, 2], rtol=1e-5)  # one grain factor per point
    assert np.abs(ratio - 1.0).max() <= GRAIN_CONTRAST + 1e-6


@pytest.mark.parametrize("pattern", list(Pattern))
def test_prefilter_fades_detail_smaller_than_a_pixel_to_the_mean(pattern):
    table = MaterialTable.stack([material(pattern, scale=0.2)])
    points = points_on_a_line()
    index = np.zeros(len(points), int)
    sharp = table.albedo(index, points, np.zeros(len(points)))
    blurred = table.albedo(index, points, np.full(len(points), 2.0))  # 10 cells per pixel
    mean = (np.array([0.8, 0.2, 0.2]) + np.array([0.2, 0.2, 0.8])) / 2
    assert sharp.std(axis=0).max() > 0.1
    np.testing.assert_allclose(blurred, np.broadcast_to(mean, blurred.shape), atol=1e-4)


def test_a_sinusoid_keeps_the_gaussian_filter_gain():
    # Stripes along x with period 0.5 m; σ = footprint = 0.1 m keeps exp(−2π²σ²/p²).
    no_grain = replace(material(Pattern.STRIPES), directions=np.eye(4, 3))  # grain direction 0
    table = MaterialTable.stack([no_grain])
    x = np.linspace(0.0, 0.5, 101, dtype=np.float32)
    points = np.stack([x, np.zeros_like(x), np.zeros_like(x)], axis=1)
    albedo = table.albedo(np.zeros(101, int), points, np.full(101, 0.1, np.float32))
    amplitude = (albedo[:, 0].max() - albedo[:, 0].min()) / 2 / (0.6 * 0.5)
    assert amplitude == pytest.approx(math.exp(-2 * math.pi**2 * 0.2**2), rel=1e-3)


def test_each_row_of_the_table_textures_its_own_points():
    red, blue = material(Pattern.STRIPES), material(Pattern.NOISE)
    table = MaterialTable.stack([red, blue])
    points = points_on_a_line(10)
    mixed = table.albedo(np.array([0, 1] * 5), points, np.zeros(10))
    alone = [
        MaterialTable.stack([m]).albedo(np.zeros(10, int), points, np.zeros(10))
        for m in (red, blue)
    ]
    np.testing.assert_allclose(mixed[0::2], alone[0][0::2], rtol=1e-6)
    np.testing.assert_allclose(mixed[1::2], alone[1][1::2], rtol=1e-6)


def test_a_light_needs_exactly_one_of_direction_and_position():
    with pytest.raises(ValueError, match="exactly one"):
        Light(ambient=0.3)
    with pytest.raises(ValueError, match="exactly one"):
        Light(ambient=0.3, direction=np.ones(3), position=np.ones(3))
