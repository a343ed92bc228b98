"""NYU Depth v2 labeled set (Silberman et al., ECCV 2012) from its release files.

Root layout (as downloaded)::

    ROOT/
      nyu_depth_v2_labeled.mat   MATLAB v7.3 (HDF5): images, depths, rawDepths, ... for 1449 frames
      splits.mat                 MATLAB v5: trainNdxs (795), testNdxs (654), 1-based

The 654 ``testNdxs`` frames are the "Eigen NYU test set" of the monocular-depth literature.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch

from depthforge.data.base import DepthDataset
from depthforge.errors import DataError
from depthforge.io.matlab import load_mat_v5, one_based_indices, open_mat_v73
from depthforge.types import Sample, sample_from_numpy

LABELED_MAT = "nyu_depth_v2_labeled.mat"
SPLITS_MAT = "splits.mat"
SPLIT_FIELDS = {"train": "trainNdxs", "test": "testNdxs"}
DEPTH_FIELDS = {"filled": "depths", "raw": "rawDepths"}
"""``filled``: depth in-painted with the toolbox colorization fill (FCRN evaluates on it);
``raw``: projected raw Kinect depth with holes (BTS / AdaBins derive their GT from it)."""
FRAME_HEIGHT, FRAME_WIDTH = 480, 640


def nyu_rgb_intrinsics() -> torch.Tensor:
    """``(3, 3)`` K of the NYU Kinect RGB camera for the full 640×480 frame, 0-based pixel centres.

    Values from the NYU toolbox ``camera_params.m`` (fx_rgb, fy_rgb, cx_rgb, cy_rgb). The toolbox
    uses them with 1-based pixel grids (``rgb_plane2rgb_world.m``: ``meshgrid(1:640, 1:480)``,
    ``x = (xx − cx_rgb)·z/fx_rgb``), and the labeled set's depth was projected by that code, so we
    subtract 1 from cx and cy for depthforge's 0-based convention: cx = 324.582449, cy = 252.736166.
    (The values come from an RGBDemo/OpenCV calibration, which is 0-based; the toolbox's reading is
    the one the released registered depth follows.)
    """
    return torch.tensor(
        [[518.857901, 0.0, 325.582449 - 1.0], [0.0, 519.469611, 253.736166 - 1.0], [0.0, 0.0, 1.0]],
        dtype=torch.float32,
    )


class NYULabeled(DepthDataset):
    """The 1449 labeled NYU Depth v2 frames, read lazily from ``nyu_depth_v2_labeled.mat``.

    Each sample: ``image`` ``(3, 480, 640)`` RGB, ``depth`` ``(1, 480, 640)`` metres (0 = invalid, which
    only ``rawDepths`` has), ``K`` from :func:`nyu_rgb_intrinsics`, no pose.

    Axis order: h5py shows MATLAB's 480×640×3×1449 ``images`` as ``(1449, 3, 640, 480)``, so frame
    ``i`` is ``images[i].transpose(2, 1, 0)``, and ``depths[i].T`` is its ``(480, 640)`` depth.

    Ids: the 0-based frame index zero-padded to five digits (``"00000"`` … ``"01448"``), the numbers
    BTS puts in its file names (``rgb_00000.jpg``); ``meta["mat_index"]`` holds MATLAB's 1-based index
    as used by ``splits.mat`` (id ``"00000"`` is ``mat_index`` 1).

    Args:
        root: folder holding ``nyu_depth_v2_labeled.mat`` (and ``splits.mat`` for a split).
        split: ``"train"`` (795), ``"test"`` (654) or ``None`` (all frames, in file order).
        depth_variant: ``"filled"`` (``depths``) or ``"raw"`` (``rawDepths``).

    Raises:
        DataError: missing file, missing field, unknown split or variant, indices out of range.
    """

    name = "nyu"

    def __init__(self, root: str | Path, split: str | None = None, depth_variant: str = "filled"):
        self.root = Path(root)
        if depth_variant not in DEPTH_FIELDS:
            raise DataError(
                None,
                f"depth_variant must be one of {', '.join(DEPTH_FIELDS)}, got {depth_variant!r}",
            )
        if split is not None and split not in SPLIT_FIELDS:
            raise DataError(
                self.root, f"unknown split {split!r}; known: {', '.join(SPLIT_FIELDS)} or None"
            )
        self.depth_variant = depth_variant
        self.depth_field = DEPTH_FIELDS[depth_variant]
        self.mat_path = self.root / LABELED_MAT
        with open_mat_v73(self.mat_path, ["images", self.depth_field]) as handle:
            count = self._check_layout(handle)
        if split is None:
            indices = np.arange(1, count + 1)
        else:
            splits_path = self.root / SPLITS_MAT
            field = SPLIT_FIELDS[split]
            indices = one_based_indices(
                load_mat_v5(splits_path, [field])[field], splits_path, field, count
            )
        self.split = split
        self.mat_indices = [int(i) for i in indices]
        self.ids = [f"{i - 1:05d}" for i in self.mat_indices]
        self._handle: h5py.File | None = None
        self._handle_pid: int | None = None

    def _check_layout(self, handle: h5py.File) -> int:
        images, depths = handle["images"], handle[self.depth_field]
        if images.ndim != 4 or images.shape[1:] != (3, FRAME_WIDTH, FRAME_HEIGHT):
            raise DataError(
                self.mat_path,
                f"images must be (N, 3, {FRAME_WIDTH}, {FRAME_HEIGHT}) as h5py shows MATLAB's "
                f"{FRAME_HEIGHT}×{FRAME_WIDTH}×3×N, got {images.shape}",
            )
        if images.dtype != np.uint8:
            raise DataError(self.mat_path, f"images must be uint8, got {images.dtype}")
        if depths.shape != (images.shape[0], FRAME_WIDTH, FRAME_HEIGHT):
            raise DataError(
                self.mat_path,
                f"{self.depth_field} must be ({images.shape[0]}, {FRAME_WIDTH}, {FRAME_HEIGHT}), got {depths.shape}",
            )
        return int(images.shape[0])

    def _file(self) -> h5py.File:
        """The HDF5 handle, opened on first use in each process (DataLoader workers fork)."""
        if self._handle is None or self._handle_pid != os.getpid():
            self._handle = open_mat_v73(self.mat_path, ["images", self.depth_field])
            self._handle_pid = os.getpid()
        return self._handle

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_handle"] = None
        state["_handle_pid"] = None
        return state

    def load(self, index: int) -> Sample:
        handle = self._file()
        mat_index = self.mat_indices[index]
        if self.wants("image"):
            image = np.asarray(handle["images"][mat_index - 1]).transpose(2, 1, 0)
        else:  # with_fields without "image": nothing read
            image = np.zeros((0, 0, 3), np.uint8)
        depth = np.asarray(handle[self.depth_field][mat_index - 1], dtype=np.float32).T
        meta = {
            "dataset": self.name,
            "id": self.ids[index],
            "mat_index": mat_index,
            "source": str(self.mat_path),
            "depth_field": self.depth_field,
            "depth_kind": self.depth_variant,
        }
        return sample_from_numpy(image, depth, nyu_rgb_intrinsics(), meta=meta)
