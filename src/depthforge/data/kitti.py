"""KITTI raw (Geiger et al., IJRR 2013) with velodyne or annotated depth ground truth.

Raw layout (the release's ``<date>_drive_<n>_sync.zip`` + ``<date>_calib.zip`` unpacked)::

    ROOT/<date>/calib_cam_to_cam.txt, calib_velo_to_cam.txt
    ROOT/<date>/<drive>/image_02/data/<frame:010d>.png     left colour camera  (side "l")
    ROOT/<date>/<drive>/image_03/data/<frame:010d>.png     right colour camera (side "r")
    ROOT/<date>/<drive>/velodyne_points/data/<frame:010d>.bin

Annotated depth (KITTI depth benchmark, Uhrig et al. 3DV 2017; ``data_depth_annotated.zip``) is
looked up under ``annotated_root`` (default ``ROOT``) at, in order: the BTS split's GT path,
``<drive>/proj_depth/groundtruth/image_0c/<frame>.png``, the same under ``train/`` and ``val/``,
and under ``<date>/``. It is read as uint16 / 256 (``io.read_depth(path, "kitti")``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from depthforge.data.base import DepthDataset
from depthforge.data.kitti_calib import (
    DEPTH_SOURCES,
    KittiCalibration,
    read_raw_calibration,
    read_velodyne_points,
    velodyne_depth_map,
)
from depthforge.data.splits import KittiSplitEntry, read_kitti_split
from depthforge.errors import DataError
from depthforge.io.depth import read_depth
from depthforge.io.image import read_rgb
from depthforge.types import Sample, Stereo, image_to_tensor, sample_from_numpy

GT_KINDS = ("velodyne", "annotated")
ANNOTATED_SUBFOLDERS = ("", "train", "val")  # data_depth_annotated.zip holds train/ and val/


def image_path(root: Path, entry: KittiSplitEntry, cam: int | None = None) -> Path:
    """``ROOT/<date>/<drive>/image_0c/data/<frame:010d>.png`` (``cam`` defaults to the entry's)."""
    cam = entry.cam if cam is None else cam
    return root / entry.folder / f"image_0{cam}" / "data" / f"{entry.frame:010d}.png"


def velodyne_path(root: Path, entry: KittiSplitEntry) -> Path:
    """``ROOT/<date>/<drive>/velodyne_points/data/<frame:010d>.bin``."""
    return root / entry.folder / "velodyne_points" / "data" / f"{entry.frame:010d}.bin"


def annotated_candidates(annotated_root: Path, entry: KittiSplitEntry) -> list[Path]:
    """Where the annotated GT PNG of ``entry`` may live, in lookup order."""
    tail = Path(entry.drive) / "proj_depth" / "groundtruth" / f"image_0{entry.cam}"
    tail = tail / f"{entry.frame:010d}.png"
    found = [annotated_root / entry.gt_path] if entry.gt_path else []
    found += [annotated_root / sub / tail for sub in ANNOTATED_SUBFOLDERS]
    return found + [annotated_root / entry.date / tail]


def find_frames(root: Path) -> list[KittiSplitEntry]:
    """Every left-camera frame under ``ROOT/<date>/<drive>/image_02/data``, sorted."""
    entries = []
    for png in sorted(root.glob("*/*/image_02/data/*.png")):
        if png.stem.isdigit():
            drive_dir = png.parents[2]
            folder = f"{drive_dir.parent.name}/{drive_dir.name}"
            entries.append(KittiSplitEntry(folder, int(png.stem), "l"))
    return entries


class KittiRaw(DepthDataset):
    """KITTI raw frames with sparse depth ground truth.

    Args:
        root: the raw tree (see the module docstring).
        split: a split file (monodepth2 ``*_files.txt`` or BTS ``*_files_with_gt.txt``), or
            ``None`` for every left-camera frame found.
        gt: ``"velodyne"``: project the frame's scan (monodepth2 ``generate_depth_map``);
            ``"annotated"``: the KITTI depth-benchmark PNG. With ``"annotated"``, rows that a BTS
            split marks ``None`` are left out (as BTS's evaluation skips them) and listed in
            ``skipped_ids``.
        depth_source: for ``gt="velodyne"``: ``"velodyne_x"`` (default; the LiDAR forward
            distance, as monodepth2's Eigen 697-frame GT) or ``"camera_z"`` (rectified camera z,
            as its training loader).
        annotated_root: where the annotated PNGs live (default ``root``).
        stereo: also load the right view (image_03) into ``Sample.stereo``; left-side rows only.

    ``load(i)`` returns a :class:`~depthforge.types.Sample` at the image's native size: image,
    depth in metres (0 = no LiDAR return), ``K`` from ``P_rect_0c``; ``meta`` holds ``dataset``,
    ``id`` (canonical split line), ``image_path``, ``depth_path``, ``calib_paths``, ``depth_kind``
    (``velodyne_x`` / ``camera_z`` / ``annotated``), ``baseline`` (metres, from ``P_rect_02`` /
    ``P_rect_03``) and ``focal`` (pixels).
    """

    name = "kitti"

    def __init__(
        self,
        root: str | Path,
        split: str | Path | None = None,
        gt: str = "velodyne",
        depth_source: str = "velodyne_x",
        annotated_root: str | Path | None = None,
        stereo: bool = False,
    ):
        self.root = Path(root)
        if not self.root.is_dir():
            raise DataError(self.root, "KITTI raw root folder not found")
        if gt not in GT_KINDS:
            raise ValueError(f"gt must be one of {GT_KINDS}, got {gt!r}")
        if depth_source not in DEPTH_SOURCES:
            raise ValueError(f"depth_source must be one of {DEPTH_SOURCES}, got {depth_source!r}")
        self.gt = gt
        self.depth_source = depth_source
        self.annotated_root = self.root if annotated_root is None else Path(annotated_root)
        self.stereo = stereo
        entries = find_frames(self.root) if split is None else read_kitti_split(split)
        self.skipped_ids: list[str] = []
        if gt == "annotated":
            self.skipped_ids = [e.id for e in entries if e.has_gt_column and e.gt_path is None]
            entries = [e for e in entries if not (e.has_gt_column and e.gt_path is None)]
        if not entries:
            where = "under <date>/<drive>/image_02/data/" if split is None else f"in split {split}"
            raise DataError(self.root, f"no frames found {where}")
        if stereo and any(e.side != "l" for e in entries):
            raise ValueError("stereo=True needs left-side rows only (the right view is image_03)")
        self.entries = entries
        self.ids = [e.id for e in entries]
        self._calibrations: dict[str, KittiCalibration] = {}

    def calibration(self, index: int) -> KittiCalibration:
        """The raw calibration of sample ``index``'s recording day (cached per day)."""
        date = self.entries[index].date
        if date not in self._calibrations:
            self._calibrations[date] = read_raw_calibration(self.root / date)
        return self._calibrations[date]

    def depth_path(self, index: int) -> Path:
        """The file the ground truth of sample ``index`` comes from (scan or annotated PNG)."""
        entry = self.entries[index]
        if self.gt == "velodyne":
            return velodyne_path(self.root, entry)
        candidates = annotated_candidates(self.annotated_root, entry)
        for path in candidates:
            if path.is_file():
                return path
        raise DataError(candidates[0], f"annotated depth of {entry.id!r} not found")

    def depth(self, index: int, path: Path | None = None) -> np.ndarray:
        """``(H, W)`` float32 ground-truth depth of sample ``index``, metres, 0 = invalid.

        ``path`` is :meth:`depth_path` (looked up when not given).
        """
        entry = self.entries[index]
        path = self.depth_path(index) if path is None else path
        if self.gt == "annotated":
            return read_depth(path, "kitti")
        calib = self.calibration(index)
        return velodyne_depth_map(
            read_velodyne_points(path),
            calib.velo_to_image(entry.cam),
            calib.image_sizes[entry.cam],
            self.depth_source,
        )

    def load(self, index: int) -> Sample:
        entry = self.entries[index]
        calib = self.calibration(index)
        img_path = image_path(self.root, entry)
        image = read_rgb(img_path)
        depth_path = self.depth_path(index)
        depth = self.depth(index, depth_path)
        if depth.shape != image.shape[:2]:
            # the GT size comes from S_rect_0c (velodyne) or from the annotated PNG
            source = calib.sources[0] if self.gt == "velodyne" else depth_path
            raise DataError(
                source,
                f"ground truth is {depth.shape[1]}×{depth.shape[0]} but image "
                f"{img_path.name} of {entry.id!r} is {image.shape[1]}×{image.shape[0]}",
            )
        extra = {}
        if self.stereo:
            right = read_rgb(image_path(self.root, entry, cam=3))
            extra["stereo"] = Stereo(
                image=image_to_tensor(right),
                baseline=calib.baseline(2, 3),
            )
        meta = {
            "dataset": self.name,
            "id": entry.id,
            "image_path": str(img_path),
            "depth_path": str(depth_path),
            "calib_paths": [str(p) for p in calib.sources],
            "depth_kind": self.depth_source if self.gt == "velodyne" else "annotated",
            "baseline": calib.baseline(2, 3),
            "focal": float(calib.P_rect[entry.cam][0, 0]),
            "side": entry.side,
        }
        return sample_from_numpy(image, depth, calib.intrinsics(entry.cam), meta=meta, **extra)
