"""TUM RGB-D benchmark (Sturm et al., IROS 2012) sequences in their release layout.

Sequence folder (e.g. ``rgbd_dataset_freiburg1_xyz/``)::

    rgb.txt           '# ...' comments, then 'timestamp rgb/<timestamp>.png' lines
    depth.txt         the same for depth/<timestamp>.png (16-bit, 5000 units per metre)
    groundtruth.txt   'timestamp tx ty tz qx qy qz qw': pose of the colour camera's optical centre
                      in the motion-capture world frame (T_world_camera), metres, unit quaternion

Colour and depth come from two unsynchronised streams; frames are paired the way TUM's
``associate.py`` does it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from depthforge.data.base import DepthDataset
from depthforge.errors import DataError
from depthforge.io.depth import read_depth
from depthforge.io.image import read_rgb
from depthforge.types import Sample, sample_from_numpy

TUM_CAMERAS: dict[str, tuple[float, float, float, float]] = {
    "fr1": (517.3, 516.5, 318.6, 255.3),
    "fr2": (520.9, 521.0, 325.1, 249.7),
    "fr3": (535.4, 539.2, 320.1, 247.6),
}
"""(fx, fy, cx, cy) of the colour cameras as published on the TUM RGB-D "file formats" page (a
ROS/OpenCV calibration, so 0-based pixel centres), taken from secondary sources that cite that page,
not from the page itself. Not applied: TUM's distortion coefficients, and the depth scale correction
(ds = 1.035 for fr1) the same page reports."""
SEQUENCE_CAMERA = re.compile(r"freiburg([123])")
MAX_DIFFERENCE_S = 0.02
"""associate.py's default ``--max_difference``: pairs further apart in time are not matched."""


def read_tum_list(path: Path, columns: int) -> tuple[np.ndarray, list[list[str]]]:
    """Parse a TUM text list: ``(timestamps (N,) float64, the fields of each line as written)``.

    Lines starting with ``#`` and blank lines are skipped; separators may be spaces, tabs or commas
    (as ``associate.py::read_file_list`` allows).
    """
    if not path.is_file():
        raise DataError(path, "file not found")
    times, rest = [], []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        fields = line.replace(",", " ").split()
        if not fields or fields[0].startswith("#"):
            continue
        if len(fields) != columns:
            raise DataError(path, f"line {number}: expected {columns} columns, got {len(fields)}")
        try:
            times.append(float(fields[0]))
        except ValueError:
            raise DataError(
                path, f"line {number}: timestamp {fields[0]!r} is not a number"
            ) from None
        rest.append(fields)
    return np.asarray(times, dtype=np.float64), rest


def associate(
    first: np.ndarray, second: np.ndarray, max_difference: float = MAX_DIFFERENCE_S
) -> list[tuple[int, int]]:
    """Pair two timestamp lists as TUM's ``associate.py::associate`` does (with offset 0).

    Every pair closer than ``max_difference`` seconds is a candidate; candidates are taken greedily
    by increasing time difference, each timestamp used at most once. Returns ``(i, j)`` index pairs
    into ``first`` and ``second``, sorted by ``first[i]``.
    """
    order = np.argsort(second, kind="stable")
    second_sorted = second[order]
    # A closed search window, then the strict test: rounding cannot drop a candidate.
    lo = np.searchsorted(second_sorted, first - max_difference, side="left")
    hi = np.searchsorted(second_sorted, first + max_difference, side="right")
    counts = hi - lo
    cand_i = np.repeat(np.arange(len(first)), counts)
    offset_in_window = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    cand_j = order[np.repeat(lo, counts) + offset_in_window]
    diff = np.abs(first[cand_i] - second[cand_j])
    keep = diff < max_difference
    cand_i, cand_j, diff = cand_i[keep], cand_j[keep], diff[keep]
    # associate.py sorts (diff, a, b) tuples: by difference, then by the timestamps themselves.
    ranked = np.lexsort((second[cand_j], first[cand_i], diff))
    used_i, used_j = set(), set()
    pairs = []
    for k in ranked:  # greedy and sequential by nature; runs over candidate pairs, not pixels
        i, j = int(cand_i[k]), int(cand_j[k])
        if i not in used_i and j not in used_j:
            used_i.add(i)
            used_j.add(j)
            pairs.append((i, j))
    return sorted(pairs, key=lambda p: (first[p[0]], p[0]))


def poses_from_tum(translation: np.ndarray, quaternion_xyzw: np.ndarray) -> np.ndarray:
    """``(N, 4, 4)`` rigid transforms from ``(N, 3)`` translations and ``(N, 4)`` quaternions ``qx qy qz qw``.

    The quaternion is normalised first (the files hold |q| ≈ 1 ± 1e-4); rotation matrix of a unit
    Hamilton quaternion (x, y, z, w): R = I + 2w[v]ₓ + 2[v]ₓ², v = (x, y, z).
    """
    q = np.asarray(quaternion_xyzw, dtype=np.float64)
    norm = np.linalg.norm(q, axis=-1, keepdims=True)
    if np.any(norm < 1e-8):
        raise ValueError("a pose quaternion has zero norm")
    x, y, z, w = np.moveaxis(q / norm, -1, 0)
    R = np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
            np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
            np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
        ],
        -2,
    )
    T = np.zeros(q.shape[:-1] + (4, 4))
    T[..., :3, :3] = R
    T[..., :3, 3] = translation
    T[..., 3, 3] = 1.0
    return T


def nearest_index(times: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Index into sorted ``times`` of the entry nearest each query (the earlier one on a tie)."""
    right = np.clip(np.searchsorted(times, queries, side="left"), 0, len(times) - 1)
    left = np.clip(right - 1, 0, len(times) - 1)
    take_left = np.abs(queries - times[left]) <= np.abs(times[right] - queries)
    return np.where(take_left, left, right)


def tum_camera(root: Path, camera: str | None) -> str | None:
    """The camera name (``fr1``/``fr2``/``fr3``): given, or read from the folder name."""
    if camera is not None:
        if camera not in TUM_CAMERAS:
            raise DataError(None, f"camera must be one of {', '.join(TUM_CAMERAS)}, got {camera!r}")
        return camera
    match = SEQUENCE_CAMERA.search(root.resolve().name)
    return f"fr{match.group(1)}" if match else None


class TumRGBD(DepthDataset):
    """One TUM RGB-D sequence: each colour frame with its associated depth frame and pose.

    Each sample: ``image`` ``(3, 480, 640)``, ``depth`` ``(1, 480, 640)`` metres (PNG / 5000, 0 =
    invalid), ``K`` of the sequence's camera, ``pose`` ``(4, 4)`` camera-to-world from
    ``groundtruth.txt`` or ``None``. Ids are the colour timestamps as written in ``rgb.txt``.

    Pairing: colour↔depth by :func:`associate` (TUM's ``associate.py``, max 0.02 s); frames without a
    partner are dropped. Pose: the ground-truth entry with the *nearest* timestamp if it lies within
    ``max_difference`` of the colour timestamp (no interpolation; the motion capture runs at
    100 Hz, so the nearest entry is at most 5 ms away). A repeated ground-truth timestamp (fr2/desk
    has one) resolves to its first entry.

    Args:
        root: the sequence folder.
        split: must be ``None`` (TUM sequences are split by sequence, not by frame).
        camera: ``"fr1"``, ``"fr2"`` or ``"fr3"``; by default read from the folder name
            (``...freiburg2...`` → fr2). With neither, ``K`` is ``None``.
        K: ``(3, 3)`` intrinsics in pixels overriding ``camera``.
        max_difference: largest time gap in seconds for colour↔depth and colour↔pose matching.

    Raises:
        DataError: missing or malformed list files, unknown split or camera, nothing associated.
    """

    name = "tum"

    def __init__(
        self,
        root: str | Path,
        split: str | None = None,
        camera: str | None = None,
        K: Sequence[Sequence[float]] | np.ndarray | None = None,
        max_difference: float = MAX_DIFFERENCE_S,
    ):
        self.root = Path(root)
        if split is not None:
            raise DataError(
                self.root, f"unknown split {split!r}: TUM sequences have no splits, use None"
            )
        self.camera = tum_camera(self.root, camera)
        if K is not None:
            self.K = np.asarray(K, dtype=np.float64)
            if self.K.shape != (3, 3):
                raise DataError(None, f"K must be 3×3, got shape {self.K.shape}")
        elif self.camera is not None:
            fx, fy, cx, cy = TUM_CAMERAS[self.camera]
            self.K = np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
        else:
            self.K = None
        rgb_times, rgb_rows = read_tum_list(self.root / "rgb.txt", 2)
        depth_times, depth_rows = read_tum_list(self.root / "depth.txt", 2)
        pairs = associate(rgb_times, depth_times, max_difference)
        if not pairs:
            raise DataError(
                self.root, f"no colour and depth frames within {max_difference} s of each other"
            )
        self.ids = [rgb_rows[i][0] for i, _ in pairs]
        self.rgb_paths = [self.root / rgb_rows[i][1] for i, _ in pairs]
        self.depth_paths = [self.root / depth_rows[j][1] for _, j in pairs]
        self.poses = self._poses(rgb_times[[i for i, _ in pairs]], max_difference)

    def _poses(self, times: np.ndarray, max_difference: float) -> list[np.ndarray | None]:
        gt_path = self.root / "groundtruth.txt"
        if not gt_path.is_file():
            return [None] * len(times)
        gt_times, gt_rows = read_tum_list(gt_path, 8)
        if len(gt_times) == 0:
            return [None] * len(times)
        try:
            values = np.asarray([row[1:] for row in gt_rows], dtype=np.float64)
        except ValueError as exc:
            raise DataError(gt_path, f"pose values must be numbers ({exc})") from exc
        order = np.argsort(gt_times, kind="stable")
        gt_times, values = gt_times[order], values[order]
        near = nearest_index(gt_times, times)
        try:
            poses = poses_from_tum(values[near, :3], values[near, 3:])
        except ValueError as exc:
            raise DataError(gt_path, str(exc)) from exc
        close = np.abs(gt_times[near] - times) < max_difference
        return [pose if ok else None for pose, ok in zip(poses, close, strict=True)]

    def load(self, index: int) -> Sample:
        image = read_rgb(self.rgb_paths[index])
        depth = read_depth(self.depth_paths[index], "tum")
        if image.shape[:2] != depth.shape:
            raise DataError(
                self.depth_paths[index],
                f"depth is {depth.shape[1]}×{depth.shape[0]} but the image is {image.shape[1]}×{image.shape[0]}",
            )
        pose = self.poses[index]
        meta = {
            "dataset": self.name,
            "id": self.ids[index],
            "image_path": str(self.rgb_paths[index]),
            "depth_path": str(self.depth_paths[index]),
            "camera": self.camera,
            "depth_kind": "tum",
        }
        return sample_from_numpy(
            image,
            depth,
            self.K,
            pose=None if pose is None else torch.from_numpy(pose.astype(np.float32)),
            meta=meta,
        )
