"""Colour-mapped depth previews with a legend, NumPy + Pillow only (no matplotlib)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

# Nine anchors of the perceptually uniform "viridis" map (dark purple → yellow), interpolated
# linearly to a 256-entry lookup table.
VIRIDIS_ANCHORS = np.array(
    [
        [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
        [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37],
    ],
    dtype=np.float64,
)  # fmt: skip
LUT = (
    np.stack(
        [
            np.interp(np.linspace(0, 1, 256), np.linspace(0, 1, len(VIRIDIS_ANCHORS)), channel)
            for channel in VIRIDIS_ANCHORS.T
        ],
        axis=1,
    )
    .round()
    .astype(np.uint8)
)
LEGEND_WIDTH = 72
TICKS = 5


def depth_range(depth: np.ndarray, percentiles: tuple[float, float] = (2.0, 98.0)):
    """Robust ``(lo, hi)`` display range of the finite, positive values (``hi > lo``)."""
    valid = depth[np.isfinite(depth) & (depth > 0)]
    if valid.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(valid, percentiles)
    return float(lo), float(max(hi, lo + 1e-6))


def colorize(depth: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """``(H, W)`` depth → ``(H, W, 3)`` uint8 RGB via :data:`LUT`; ``lo`` dark, ``hi`` yellow,
    invalid (≤ 0 or non-finite) black."""
    t = np.clip((np.nan_to_num(depth, nan=lo) - lo) / (hi - lo), 0.0, 1.0)
    rgb = LUT[np.round(t * 255).astype(np.int64)]
    rgb[~(np.isfinite(depth) & (depth > 0))] = 0
    return rgb


def depth_preview(depth: np.ndarray, unit: str = "m") -> np.ndarray:
    """``(H, W)`` depth → ``(H, W + 72, 3)`` uint8: colour-mapped depth with a legend bar whose
    ticks give the values (in ``unit``, e.g. metres) at 2nd–98th percentile range."""
    lo, hi = depth_range(depth)
    h, w = depth.shape
    canvas = np.full((h, w + LEGEND_WIDTH, 3), 255, dtype=np.uint8)
    canvas[:, :w] = colorize(depth, lo, hi)
    bar = np.linspace(hi, lo, h)[:, None].repeat(14, axis=1)  # far at the top
    canvas[:, w + 4 : w + 18] = colorize(bar, lo, hi)
    image = Image.fromarray(canvas)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    for i in range(TICKS):
        row = round(i * (h - 1) / (TICKS - 1))
        value = hi + (lo - hi) * i / (TICKS - 1)
        draw.line([(w + 18, row), (w + 22, row)], fill=(0, 0, 0))
        text_row = min(max(row - 5, 0), max(h - 11, 0))
        draw.text((w + 24, text_row), f"{value:.2f} {unit}", fill=(0, 0, 0), font=font)
    return np.asarray(image)
