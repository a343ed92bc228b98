"""Small structured files: JSON objects, camera intrinsics, ``.npy`` arrays of a known shape,
4×4 pose matrices. Each failure is a :class:`~depthforge.errors.DataError` naming the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from depthforge.errors import DataError


def parse_intrinsics(obj: dict[str, Any], source: Path) -> np.ndarray:
    """``(3, 3)`` K from ``{"K": [[...]]}`` or ``{"fx", "fy", "cx", "cy"}``."""
    if "K" in obj:
        K = np.asarray(obj["K"], dtype=np.float64)
        if K.shape != (3, 3):
            raise DataError(source, f"K must be 3×3, got shape {K.shape}")
        return K
    missing = [k for k in ("fx", "fy", "cx", "cy") if k not in obj]
    if missing:
        raise DataError(source, f"intrinsics lack {', '.join(missing)} (give K or fx, fy, cx, cy)")
    return np.array([[obj["fx"], 0.0, obj["cx"]], [0.0, obj["fy"], obj["cy"]], [0.0, 0.0, 1.0]])


def read_json(path: Path) -> dict[str, Any]:
    """Parse a JSON object, raising :class:`DataError` naming the file on failure."""
    try:
        obj = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(path, f"not valid JSON ({exc})") from exc
    if not isinstance(obj, dict):
        raise DataError(path, "expected a JSON object")
    return obj


def load_npy(path: str | Path) -> np.ndarray:
    """The one reader of ``.npy`` files (no pickles): a missing, empty, truncated or foreign file
    raises :class:`DataError` naming it."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found")
    if path.stat().st_size == 0:
        raise DataError(path, "empty file (0 bytes), not a .npy array")
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(path, f"not a readable .npy array ({exc})") from exc


def read_array(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    """A ``.npy`` array of the given shape, or :class:`DataError` naming the file."""
    arr = load_npy(path)
    if arr.shape != shape:
        raise DataError(path, f"expected shape {shape}, got {arr.shape}")
    return arr


def read_pose(path: Path) -> np.ndarray:
    """``(4, 4)`` camera-to-world matrix from a text file of 16 numbers."""
    try:
        pose = np.loadtxt(path, dtype=np.float64).reshape(4, 4)
    except (OSError, ValueError) as exc:
        raise DataError(path, f"expected a 4×4 pose matrix ({exc})") from exc
    return pose


def read_intrinsics(path: str | Path) -> np.ndarray:
    """``(3, 3)`` K from a JSON file ``{"K": [[...]]}`` or ``{"fx", "fy", "cx", "cy"}``."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "intrinsics file not found")
    return parse_intrinsics(read_json(path), path)
