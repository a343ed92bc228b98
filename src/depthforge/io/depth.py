"""Decode depth files of every supported kind into metres: the one place that gets units right.

``read_depth(path, kind, scale=None)`` returns ``(H, W)`` float32 metres with 0 = invalid.
Each kind is a small decoder function registered in ``DEPTH_KINDS``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from depthforge.errors import DataError
from depthforge.io.image import open_image, save_array, write_atomic

DepthDecoder = Callable[[Path, "float | None"], np.ndarray]
DEPTH_KINDS: dict[str, DepthDecoder] = {}


def depth_kind(name: str) -> Callable[[DepthDecoder], DepthDecoder]:
    """Register a decoder under ``name``."""

    def register(fn: DepthDecoder) -> DepthDecoder:
        DEPTH_KINDS[name] = fn
        return fn

    return register


def read_uint16_png(path: Path) -> np.ndarray:
    """``(H, W)`` uint16 values of a 16-bit single-channel PNG; anything else raises DataError."""
    img = open_image(path)
    if img.mode not in ("I;16", "I;16B", "I;16L", "I"):
        raise DataError(path, f"expected a 16-bit single-channel depth PNG, got mode {img.mode}")
    arr = np.asarray(img)
    if arr.dtype != np.uint16:
        if arr.min() < 0 or arr.max() > 65535:
            raise DataError(path, "16-bit depth PNG holds values outside 0..65535")
        arr = arr.astype(np.uint16)
    return arr


def clean_depth(depth: np.ndarray) -> np.ndarray:
    """float32 copy with non-finite and non-positive values set to 0 (invalid)."""
    d = np.asarray(depth, dtype=np.float32)
    return np.where(np.isfinite(d) & (d > 0), d, np.float32(0.0)).astype(np.float32)


@depth_kind("png16")
def _read_png16(path: Path, scale: float | None) -> np.ndarray:
    """16-bit PNG storing ``depth_m · scale`` (e.g. scale 1000 for millimetres); 0 = invalid."""
    if scale is None or scale <= 0:
        raise DataError(path, "png16 depth needs a positive scale (stored units per metre)")
    return clean_depth(read_uint16_png(path).astype(np.float32) / np.float32(scale))


@depth_kind("npy")
def _read_npy(path: Path, scale: float | None) -> np.ndarray:
    """``.npy`` float array in metres (``scale`` divides it when given); NaN/inf/≤0 = invalid."""
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DataError(path, f"not a readable .npy array ({exc})") from exc
    arr = np.squeeze(arr)
    if arr.ndim != 2:
        raise DataError(path, f"expected a 2-D depth array, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.floating) and not np.issubdtype(arr.dtype, np.integer):
        raise DataError(path, f"expected a numeric depth array, got dtype {arr.dtype}")
    arr = arr.astype(np.float32)
    if scale is not None:
        arr = arr / np.float32(scale)
    return clean_depth(arr)


def read_depth(path: str | Path, kind: str, scale: float | None = None) -> np.ndarray:
    """Decode one depth file into metres.

    Args:
        path: the depth file.
        kind: one of ``DEPTH_KINDS`` (``png16``, ``npy``, ``kitti``, ``nyu_raw``, ``sun``, ``tum``,
            ``make3d``).
        scale: stored units per metre where the kind needs one (``png16``), otherwise ignored.

    Returns:
        ``(H, W)`` float32 depth in metres, 0 = invalid.

    Raises:
        DataError: missing/corrupt file, wrong dtype, unknown kind.
    """
    path = Path(path)
    if kind not in DEPTH_KINDS:
        raise DataError(
            path, f"unknown depth kind {kind!r}; known: {', '.join(sorted(DEPTH_KINDS))}"
        )
    if not path.is_file():
        raise DataError(path, "file not found")
    return DEPTH_KINDS[kind](path, scale)


def save_depth_png16(path: str | Path, depth_m: np.ndarray, scale: float = 1000.0) -> Path:
    """Write metres as a 16-bit PNG of ``round(depth · scale)`` atomically (0 stays invalid).

    Raises ValueError when a depth would overflow 65535 at this scale.
    """
    d = clean_depth(depth_m)
    stored = np.round(d.astype(np.float64) * scale)
    if stored.max(initial=0) > 65535:
        raise ValueError(f"depth {d.max():.3f} m overflows uint16 at scale {scale}")
    arr = stored.astype(np.uint16)
    return write_atomic(path, lambda tmp: Image.fromarray(arr).save(tmp, format="PNG"))


def save_depth_npy(path: str | Path, depth_m: np.ndarray) -> Path:
    """Write metres as float32 ``.npy`` atomically."""
    return save_array(path, np.asarray(depth_m, dtype=np.float32))
