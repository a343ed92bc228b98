"""Pictures of depth: colour mapping with a legend, error maps and side-by-side panels.

NumPy + Pillow only. Near is bright and far is dark (the convention of most depth papers'
figures); the legend states the range in metres so a picture can be read, not only looked at.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

# Eight samples of the perceptually uniform "inferno" colour map, interpolated linearly.
_INFERNO_ANCHORS = np.array(
    [
        [0, 0, 4],
        [40, 11, 84],
        [101, 21, 110],
        [159, 42, 99],
        [212, 72, 66],
        [245, 125, 21],
        [250, 193, 39],
        [252, 255, 164],
    ],
    dtype=np.float64,
)
_LUT = np.stack(
    [
        np.interp(
            np.linspace(0, 1, 256), np.linspace(0, 1, len(_INFERNO_ANCHORS)), _INFERNO_ANCHORS[:, c]
        )
        for c in range(3)
    ],
    axis=1,
).astype(np.uint8)
INVALID_COLOUR = np.array([128, 128, 128], dtype=np.uint8)


def depth_range(depth: np.ndarray, valid: np.ndarray | None = None) -> tuple[float, float]:
    """The 2nd and 98th percentiles of the valid depth (robust display range), in metres."""
    valid = np.isfinite(depth) & (depth > 0) if valid is None else valid
    if not valid.any():
        return 0.0, 1.0
    lo, hi = np.percentile(depth[valid], [2, 98])
    return float(lo), float(max(hi, lo + 1e-6))


def colorize(
    values: np.ndarray,
    vmin: float,
    vmax: float,
    valid: np.ndarray | None = None,
    *,
    inverse: bool = True,
) -> np.ndarray:
    """``(H, W)`` values → ``(H, W, 3)`` uint8 colours; invalid pixels are grey.

    With ``inverse`` (default) colours follow ``1/value``, so near depth is bright and the
    nearby structure, where depth errors matter most, gets most of the colour range.
    """
    v = np.asarray(values, dtype=np.float64)
    valid = np.isfinite(v) & (v > 0) if valid is None else valid & np.isfinite(v)
    if inverse:
        lo, hi = 1.0 / max(vmax, 1e-12), 1.0 / max(vmin, 1e-12)
        t = (1.0 / np.where(valid & (v > 0), v, 1.0) - lo) / max(hi - lo, 1e-12)
    else:
        t = (v - vmin) / max(vmax - vmin, 1e-12)
    idx = np.clip(np.nan_to_num(t) * 255.0, 0, 255).astype(np.uint8)
    out = _LUT[idx]
    out[~valid] = INVALID_COLOUR
    return out


def legend(
    height: int, vmin: float, vmax: float, unit: str = "m", *, inverse: bool = True
) -> np.ndarray:
    """A vertical colour bar ``(height, 64, 3)`` with the range labelled (top = near)."""
    h = max(height, 40)
    ramp = np.linspace(vmin, vmax, h)[:, None].repeat(14, axis=1)
    bar = colorize(ramp, vmin, vmax, np.ones_like(ramp, dtype=bool), inverse=inverse)
    canvas = Image.new("RGB", (64, h), (255, 255, 255))
    canvas.paste(Image.fromarray(bar), (2, 0))
    draw = ImageDraw.Draw(canvas)
    draw.text((19, 0), f"{vmin:.2f}", fill=(0, 0, 0))
    draw.text((19, h - 11), f"{vmax:.2f}", fill=(0, 0, 0))
    draw.text((19, h // 2 - 5), unit, fill=(0, 0, 0))
    return np.asarray(canvas)


def depth_with_legend(
    depth: np.ndarray, vmin: float | None = None, vmax: float | None = None
) -> np.ndarray:
    """Colour-mapped depth with its legend on the right, ``(H, W + 64, 3)`` uint8."""
    valid = np.isfinite(depth) & (depth > 0)
    if vmin is None or vmax is None:
        vmin, vmax = depth_range(depth, valid)
    return np.concatenate(
        [colorize(depth, vmin, vmax, valid), legend(depth.shape[0], vmin, vmax)[: depth.shape[0]]],
        axis=1,
    )


def error_map(
    pred: np.ndarray, gt: np.ndarray, valid: np.ndarray, max_rel: float = 0.5
) -> np.ndarray:
    """Absolute relative error ``|p − g| / g`` colour-mapped over ``[0, max_rel]`` (bright = large)."""
    rel = np.where(valid, np.abs(pred - gt) / np.where(valid, gt, 1.0), 0.0)
    return colorize(rel, 0.0, max_rel, valid, inverse=False)


def normals_to_rgb(normals: np.ndarray) -> np.ndarray:
    """``(3, H, W)`` unit normals → ``(H, W, 3)`` uint8 with the usual ``(n + 1) / 2`` mapping."""
    return np.clip((np.moveaxis(normals, 0, -1) + 1.0) * 127.5, 0, 255).astype(np.uint8)


def hstack(panels: list[np.ndarray], gap: int = 4) -> np.ndarray:
    """Panels of equal height side by side with white gaps."""
    h = max(p.shape[0] for p in panels)
    parts = []
    for i, p in enumerate(panels):
        if p.shape[0] < h:
            p = np.concatenate([p, np.full((h - p.shape[0], *p.shape[1:]), 255, np.uint8)])
        parts.append(p)
        if i + 1 < len(panels):
            parts.append(np.full((h, gap, 3), 255, np.uint8))
    return np.concatenate(parts, axis=1)
