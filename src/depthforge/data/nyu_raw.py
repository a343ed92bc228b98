"""NYU Depth v2 raw Kinect dumps: one scene folder of unregistered RGB and disparity frames.

Scene folder layout of the raw release (e.g. ``basement_0001a/``)::

    r-<timestamp>-<counter>.ppm   640×480 RGB from the Kinect colour camera (not undistorted)
    d-<timestamp>-<counter>.pgm   640×480 raw disparity from the depth camera (see ``nyu_raw`` in
                                  depthforge.io.depth); 2047 = no reading
    a-<timestamp>-<counter>.dump  accelerometer records (not read)

``<timestamp>`` is Unix time in seconds; the counter is the device's own frame counter.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from depthforge.data.base import DepthDataset
from depthforge.errors import DataError
from depthforge.io.depth import read_depth
from depthforge.io.image import read_rgb
from depthforge.types import Sample, sample_from_numpy

RGB_NAME = re.compile(r"^r-(\d+(?:\.\d+)?)-\d+\.ppm$")
DEPTH_NAME = re.compile(r"^d-(\d+(?:\.\d+)?)-\d+\.pgm$")
DEPTH_KIND = "nyu_raw_unregistered"


def nyu_depth_intrinsics() -> torch.Tensor:
    """``(3, 3)`` K of the NYU Kinect *depth* camera (640×480), 0-based pixel centres.

    NYU toolbox ``camera_params.m`` values fx_d, fy_d, cx_d, cy_d, with 1 subtracted from cx and cy
    because the toolbox applies them to 1-based pixel grids (``depth_plane2depth_world.m``:
    ``meshgrid(1:W, 1:H)``, ``X = (xx − cx_d)·z/fx_d``); see ``nyu_rgb_intrinsics`` for the same
    choice on the RGB camera.
    """
    return torch.tensor(
        [[582.624482, 0.0, 313.044759 - 1.0], [0.0, 582.691033, 238.443896 - 1.0], [0.0, 0.0, 1.0]],
        dtype=torch.float32,
    )


def nearest_later_on_tie(times: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Index into sorted ``times`` of the entry nearest each query, the later one on a tie.

    Same result as the NYU toolbox ``get_synched_frames.m`` walk, which advances its RGB pointer
    while the time difference does not grow.
    """
    if len(times) == 1:
        return np.zeros(len(queries), dtype=np.int64)
    right = np.clip(np.searchsorted(times, queries, side="left"), 1, len(times) - 1)
    left = right - 1
    take_left = np.abs(queries - times[left]) < np.abs(times[right] - queries)
    return np.where(take_left, left, right).astype(np.int64)


def timestamped_frames(folder: Path, pattern: re.Pattern[str]) -> list[tuple[float, Path]]:
    """``(timestamp, path)`` of the files in ``folder`` whose name matches ``pattern``, by time."""
    found = ((pattern.match(p.name), p) for p in folder.iterdir())
    return sorted((float(m.group(1)), p) for m, p in found if m)


class NYURawFrames(DepthDataset):
    """Raw NYU Depth v2 frames of one scene: every depth frame with the nearest-in-time RGB frame.

    As in the toolbox's ``get_synched_frames.m``, depth frames are primary: each one is kept and
    paired with the RGB frame whose timestamp is nearest (the later on a tie); ``meta["time_diff"]``
    holds the gap in seconds.

    **Not registered.** The depth map stays in the depth camera's frame and ``K`` is the depth camera's
    (:func:`nyu_depth_intrinsics`); the RGB image comes from a different camera ~2.5 cm away and is
    not undistorted, so image and depth do not correspond pixel for pixel (``depth_kind``
    ``"nyu_raw_unregistered"``). Register them with the toolbox (``project_depth_map.m``) first when
    pixel alignment matters; the labeled set (:class:`~depthforge.data.nyu.NYULabeled`) already is.

    Each sample: ``image`` ``(3, 480, 640)``, ``depth`` ``(1, 480, 640)`` metres, 0 = invalid.

    Args:
        root: one scene folder of the raw release.
        split: must be ``None`` (the raw release has no split of its frames).

    Raises:
        DataError: no depth or no RGB frames in ``root``, a split was asked for.
    """

    name = "nyu_raw"

    def __init__(self, root: str | Path, split: str | None = None):
        self.root = Path(root)
        if split is not None:
            raise DataError(
                self.root, f"unknown split {split!r}: NYU raw scenes have no splits, use None"
            )
        if not self.root.is_dir():
            raise DataError(self.root, "scene folder not found")
        depth_frames = timestamped_frames(self.root, DEPTH_NAME)
        rgb_frames = timestamped_frames(self.root, RGB_NAME)
        if not depth_frames:
            raise DataError(self.root, "no raw depth frames (d-<timestamp>-<n>.pgm)")
        if not rgb_frames:
            raise DataError(self.root, "no raw RGB frames (r-<timestamp>-<n>.ppm)")
        rgb_times = np.array([t for t, _ in rgb_frames])
        depth_times = np.array([t for t, _ in depth_frames])
        nearest = nearest_later_on_tie(rgb_times, depth_times)
        self.depth_paths = [p for _, p in depth_frames]
        self.rgb_paths = [rgb_frames[j][1] for j in nearest]
        self.time_diffs = np.abs(rgb_times[nearest] - depth_times).tolist()
        self.ids = [p.stem for p in self.depth_paths]

    def load(self, index: int) -> Sample:
        image = read_rgb(self.rgb_paths[index])
        depth = read_depth(self.depth_paths[index], "nyu_raw")
        if image.shape[:2] != depth.shape:
            raise DataError(
                self.rgb_paths[index],
                f"RGB is {image.shape[1]}×{image.shape[0]} but depth {self.depth_paths[index].name} "
                f"is {depth.shape[1]}×{depth.shape[0]}",
            )
        meta = {
            "dataset": self.name,
            "id": self.ids[index],
            "image_path": str(self.rgb_paths[index]),
            "depth_path": str(self.depth_paths[index]),
            "time_diff": self.time_diffs[index],
            "depth_kind": DEPTH_KIND,
        }
        return sample_from_numpy(image, depth, nyu_depth_intrinsics(), meta=meta)
