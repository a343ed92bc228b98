"""Pictures of depth: one colour map, previews with a legend in metres, error maps, panels.

NumPy + Pillow only. Depth is shown on a log scale with near = bright (yellow) and far = dark
(purple) in the perceptually uniform "viridis" map; pixels without depth are dark grey. Errors
use a different, sequential map (ColorBrewer "YlOrRd": small = pale yellow, large = dark red) so
an error map is never mistaken for depth. Each legend states its range (metres, or relative
error) so a picture can be read, not only looked at.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

# viridis sampled at 0, 0.1, …, 1 (8-bit RGB), interpolated linearly into a 256-entry table.
_VIRIDIS = np.array(
    [
        [68, 1, 84], [72, 36, 117], [65, 68, 135], [53, 95, 141], [42, 120, 142], [33, 145, 140],
        [34, 168, 132], [68, 191, 112], [122, 209, 81], [189, 223, 38], [253, 231, 37],
    ],
    dtype=np.float64,
)  # fmt: skip
LUT = (
    np.stack(
        [
            np.interp(np.linspace(0, 1, 256), np.linspace(0, 1, len(_VIRIDIS)), c)
            for c in _VIRIDIS.T
        ],
        axis=1,
    )
    .round()
    .astype(np.uint8)
)
# ColorBrewer YlOrRd, 9 classes (8-bit RGB), interpolated the same way.
_YLORRD = np.array(
    [
        [255, 255, 204], [255, 237, 160], [254, 217, 118], [254, 178, 76], [253, 141, 60],
        [252, 78, 42], [227, 26, 28], [189, 0, 38], [128, 0, 38],
    ],
    dtype=np.float64,
)  # fmt: skip
ERROR_LUT = (
    np.stack(
        [np.interp(np.linspace(0, 1, 256), np.linspace(0, 1, len(_YLORRD)), c) for c in _YLORRD.T],
        axis=1,
    )
    .round()
    .astype(np.uint8)
)
NO_DEPTH = np.array([40, 40, 40], dtype=np.uint8)
LEGEND_WIDTH = 72
LEGEND_TICKS = 5


def colour_map(t: np.ndarray, lut: np.ndarray = LUT) -> np.ndarray:
    """``(...)`` values in ``[0, 1]`` (clipped; NaN → 0) → ``(..., 3)`` uint8 through ``lut``
    (``(256, 3)``; viridis by default, :data:`ERROR_LUT` for errors)."""
    return lut[np.round(np.clip(np.nan_to_num(t), 0.0, 1.0) * 255).astype(np.intp)]


def depth_range(depth: np.ndarray, valid: np.ndarray | None = None) -> tuple[float, float]:
    """Robust display range: the 2nd and 98th percentiles of the valid depth (metres)."""
    valid = np.isfinite(depth) & (depth > 0) if valid is None else valid
    if not valid.any():
        return 1.0, 2.0
    lo, hi = np.percentile(depth[valid], [2, 98])
    return float(lo), float(max(hi, lo * 1.001 + 1e-6))


def colorize_depth(depth: np.ndarray, near: float, far: float) -> np.ndarray:
    """``(H, W)`` depth → ``(H, W, 3)`` uint8, log scale, ``near`` yellow → ``far`` purple.

    Invalid pixels (≤ 0 or not finite) are dark grey.
    """
    valid = np.isfinite(depth) & (depth > 0)
    log_d = np.log(np.where(valid, depth, near))
    t = 1.0 - (log_d - np.log(near)) / max(np.log(far / near), 1e-12)
    rgb = colour_map(t)
    rgb[~valid] = NO_DEPTH
    return rgb


def depth_preview(
    depth: np.ndarray, near: float | None = None, far: float | None = None, unit: str = "m"
) -> np.ndarray:
    """Colour-mapped depth with a legend on the right: ``(H, W + 72, 3)`` uint8.

    Args:
        depth: ``(H, W)`` depth (metres, or relative units: say so in ``unit``).
        near, far: the display range; default :func:`depth_range`.
        unit: the legend's unit label.
    """
    if near is None or far is None:
        near, far = depth_range(depth)
    ramp = np.geomspace(near, far, depth.shape[0])  # near at the top
    return with_colour_bar(
        colorize_depth(depth, near, far),
        colorize_depth(ramp[:, None], near, far)[:, 0],
        lambda row: f"{ramp[row]:.2f} {unit}",
    )


def with_colour_bar(picture: np.ndarray, bar: np.ndarray, label) -> np.ndarray:
    """``(H, W, 3)`` uint8 picture with a colour bar and its legend on the right:
    ``(H, W + 72, 3)``. ``bar``: ``(H, 3)`` colours from top to bottom; ``label(row)``: the text
    of the tick at ``row`` (ticks at 5 evenly spaced rows)."""
    h, w = picture.shape[:2]
    canvas = np.full((h, w + LEGEND_WIDTH, 3), 255, dtype=np.uint8)
    canvas[:, :w] = picture
    canvas[:, w + 4 : w + 18] = bar[:, None]
    image = Image.fromarray(canvas)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    for i in range(LEGEND_TICKS):
        row = round(i * (h - 1) / (LEGEND_TICKS - 1))
        draw.line([(w + 18, row), (w + 22, row)], fill=(0, 0, 0))
        text_row = min(max(row - 5, 0), max(h - 11, 0))
        draw.text((w + 24, text_row), label(row), fill=(0, 0, 0), font=font)
    return np.asarray(image)


def error_map(
    pred: np.ndarray, gt: np.ndarray, valid: np.ndarray, max_rel: float = 0.5
) -> np.ndarray:
    """Absolute relative error ``|p − g| / g`` over ``[0, max_rel]`` in :data:`ERROR_LUT`: pale
    yellow = small, dark red = large (and beyond); dark grey where the ground truth is invalid."""
    rel = np.where(valid, np.abs(pred - gt) / np.where(valid, gt, 1.0), 0.0)
    rgb = colour_map(rel / max_rel, ERROR_LUT)
    rgb[~valid] = NO_DEPTH
    return rgb


def error_preview(
    pred: np.ndarray, gt: np.ndarray, valid: np.ndarray, max_rel: float = 0.5
) -> np.ndarray:
    """:func:`error_map` with its colour bar (0 at the top, ``max_rel`` and beyond at the
    bottom): ``(H, W + 72, 3)`` uint8."""
    h = gt.shape[0]
    levels = np.linspace(0.0, max_rel, h)
    last = h - 1
    return with_colour_bar(
        error_map(pred, gt, valid, max_rel),
        colour_map(levels / max_rel, ERROR_LUT),
        lambda row: f"{levels[row]:.2f}" + ("+" if row == last else "") + " rel",
    )


def normals_to_rgb(normals: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """``(3, H, W)`` unit normals → ``(H, W, 3)`` uint8 as ``(n + 1) / 2`` (x red, y green, z blue)."""
    rgb = np.round((np.moveaxis(normals, 0, -1) + 1.0) * 127.5).clip(0, 255).astype(np.uint8)
    if valid is not None:
        rgb[~valid] = NO_DEPTH
    return rgb


def hstack(panels: list[np.ndarray], gap: int = 4) -> np.ndarray:
    """``(H_i, W_i, 3)`` uint8 panels side by side, top-aligned, with white gaps."""
    h = max(p.shape[0] for p in panels)
    parts = []
    for i, p in enumerate(panels):
        if p.shape[0] < h:
            p = np.concatenate([p, np.full((h - p.shape[0], *p.shape[1:]), 255, np.uint8)])
        parts.append(p)
        if i + 1 < len(panels):
            parts.append(np.full((h, gap, 3), 255, np.uint8))
    return np.concatenate(parts, axis=1)
