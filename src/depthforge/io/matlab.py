"""Reading MATLAB ``.mat`` files of both generations, with errors that name the file and field.

* v5 files (``splits.mat``, Make3D ``depth_sph_corr-*.mat``) are read whole with SciPy, asking only
  for the variables needed;
* v7.3 files are HDF5 (``nyu_depth_v2_labeled.mat``, 2.8 GB) and are opened with h5py so that one
  image is read at a time. MATLAB writes arrays column-major, so h5py sees every axis reversed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import scipy.io

from depthforge.errors import DataError

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
MAT_V73_HEADER_BYTES = 512
"""A v7.3 .mat is an HDF5 file with a 512-byte user block, so its HDF5 signature sits at byte 512."""


def is_hdf5_mat(path: Path) -> bool:
    """True when ``path`` is an HDF5-based (v7.3) .mat file."""
    with open(path, "rb") as fh:
        head = fh.read(MAT_V73_HEADER_BYTES + len(HDF5_SIGNATURE))
    return HDF5_SIGNATURE in (head[:8], head[MAT_V73_HEADER_BYTES:])


def load_mat_v5(path: str | Path, names: Sequence[str]) -> dict[str, np.ndarray]:
    """Read the variables ``names`` of a MATLAB v4/v5/v7 file (not v7.3).

    Returns:
        ``{name: array}`` with MATLAB's shapes kept (e.g. ``(795, 1)`` for a column vector).

    Raises:
        DataError: missing, corrupt or v7.3 (HDF5) file, or a variable that is not there.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found")
    if is_hdf5_mat(path):
        raise DataError(path, "is a MATLAB v7.3 (HDF5) file; expected a v5 .mat")
    try:
        contents = scipy.io.loadmat(path, variable_names=list(names))
    except Exception as exc:  # SciPy raises MatReadError, ValueError, IndexError, ... on bad bytes
        raise DataError(path, f"not a readable MATLAB .mat file ({exc})") from exc
    missing = [n for n in names if n not in contents]
    if missing:
        raise DataError(path, f"has no variable {', '.join(missing)}")
    return {n: contents[n] for n in names}


def open_mat_v73(path: str | Path, datasets: Sequence[str]) -> h5py.File:
    """Open a MATLAB v7.3 file read-only and check that it holds the ``datasets`` named.

    Raises:
        DataError: missing or non-HDF5 file, or a dataset that is not there (named in the message).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found")
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise DataError(path, f"not a MATLAB v7.3 (HDF5) file ({exc})") from exc
    missing = [n for n in datasets if not isinstance(handle.get(n), h5py.Dataset)]
    if missing:
        handle.close()
        raise DataError(path, f"has no field {', '.join(missing)}")
    return handle


def one_based_indices(values: Any, path: Path, name: str, count: int) -> np.ndarray:
    """MATLAB 1-based indices (any shape) → flat int64 array, checked to lie in ``1..count``."""
    flat = np.asarray(values).reshape(-1)
    if flat.size and not np.issubdtype(flat.dtype, np.number):
        raise DataError(path, f"{name} must hold numbers, got dtype {flat.dtype}")
    idx = flat.astype(np.int64)
    if flat.size and (not np.array_equal(idx, flat) or idx.min() < 1 or idx.max() > count):
        raise DataError(path, f"{name} must hold integers in 1..{count} (MATLAB 1-based indices)")
    if np.unique(idx).size != idx.size:
        raise DataError(path, f"{name} lists an index more than once")
    return idx
