"""SUN RGB-D (Song et al., CVPR 2015) from its per-frame release folders.

Frame folder layout of the release (e.g. ``SUNRGBD/kv1/NYUdata/NYU0001/``)::

    <frame>/image/<name>.jpg       RGB
    <frame>/depth/<name>.png       16-bit depth, bit-rotated millimetres (``sun`` in depthforge.io.depth)
    <frame>/depth_bfx/<name>.png   the same after the release's multi-frame refinement (some sensors)
    <frame>/intrinsics.txt         3×3 K, row-major, 9 numbers
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from depthforge.data.base import DepthDataset
from depthforge.errors import DataError
from depthforge.io.depth import read_depth
from depthforge.io.image import read_rgb
from depthforge.types import Sample, sample_from_numpy

DEPTH_FOLDERS = {"raw": "depth", "bfx": "depth_bfx"}
INTRINSICS_FILE = "intrinsics.txt"
MISSING_INTRINSICS = "intrinsics file not found (every SUN RGB-D frame folder has one)"


def read_sun_intrinsics(path: Path) -> np.ndarray:
    """``(3, 3)`` K in pixels, 0-based pixel centres, from a SUN RGB-D ``intrinsics.txt``.

    The file holds K row-major. The SUN RGB-D toolbox (``read3dPoints.m``) applies it to 1-based
    pixel grids (``meshgrid(1:W, 1:H)``, ``x = (u − K(1,3))·z/K(1,1)``), so 1 is subtracted from cx
    and cy for depthforge's 0-based convention.
    """
    if not path.is_file():
        raise DataError(path, MISSING_INTRINSICS)
    try:
        values = np.loadtxt(path, dtype=np.float64).reshape(-1)
    except ValueError as exc:
        raise DataError(path, f"intrinsics must be 9 numbers ({exc})") from exc
    if values.size != 9:
        raise DataError(path, f"intrinsics must be 9 numbers (3×3 row-major), got {values.size}")
    K = values.reshape(3, 3)
    if not (K[0, 0] > 0 and K[1, 1] > 0 and np.allclose(K[2], [0.0, 0.0, 1.0])):
        raise DataError(path, "not a pinhole K: need fx, fy > 0 and last row 0 0 1")
    K[0, 2] -= 1.0
    K[1, 2] -= 1.0
    return K


def single_file(folder: Path, suffixes: tuple[str, ...]) -> Path:
    """The one file in ``folder`` with one of ``suffixes``; DataError when there is none or several."""
    files = (
        sorted(p for p in folder.glob("*") if p.suffix.lower() in suffixes)
        if folder.is_dir()
        else []
    )
    if len(files) != 1:
        found = "none" if not files else f"{len(files)}"
        raise DataError(folder, f"expected exactly one {'/'.join(suffixes)} file, found {found}")
    return files[0]


class SunRGBD(DepthDataset):
    """SUN RGB-D frames found below ``root``: every folder holding ``image/`` and ``depth/``.

    Each sample: ``image`` ``(3, H, W)`` (the size depends on the sensor: Kinect v1, v2, Xtion,
    RealSense), ``depth`` ``(1, H, W)`` metres, 0 = invalid, ``K`` from the frame's intrinsics.

    Args:
        root: the SUN RGB-D folder, or any folder below it.
        split: ``None`` for every frame (sorted by path), or the name of a text file
            ``ROOT/<split>.txt`` listing frame folders relative to ``root``, one per line.
        depth_variant: ``"raw"`` (``depth/``) or ``"bfx"`` (``depth_bfx/``, refined).

    Raises:
        DataError: no frames, a frame without ``intrinsics.txt``, unknown split or variant.
    """

    name = "sunrgbd"

    def __init__(self, root: str | Path, split: str | None = None, depth_variant: str = "raw"):
        self.root = Path(root)
        if depth_variant not in DEPTH_FOLDERS:
            raise DataError(
                None,
                f"depth_variant must be one of {', '.join(DEPTH_FOLDERS)}, got {depth_variant!r}",
            )
        self.depth_variant = depth_variant
        if not self.root.is_dir():
            raise DataError(self.root, "folder not found")
        frames = sorted(
            d.parent.relative_to(self.root).as_posix()
            for d in self.root.rglob("image")
            if d.is_dir() and (d.parent / "depth").is_dir()
        )
        if split is not None:
            split_file = self.root / f"{split}.txt"
            if not split_file.is_file():
                raise DataError(split_file, f"unknown split {split!r}: no such split file")
            listed = [line.strip().strip("/") for line in split_file.read_text().splitlines()]
            listed = [line for line in listed if line]
            unknown = sorted(set(listed) - set(frames))
            if unknown:
                raise DataError(
                    split_file, f"{len(unknown)} listed frames not found, e.g. {unknown[0]!r}"
                )
            frames = listed
        if not frames:
            raise DataError(self.root, "no SUN RGB-D frames (folders with image/ and depth/) found")
        for frame in frames:
            intrinsics = self.root / frame / INTRINSICS_FILE
            if not intrinsics.is_file():
                raise DataError(intrinsics, MISSING_INTRINSICS)
        self.ids = frames

    def load(self, index: int) -> Sample:
        frame = self.root / self.ids[index]
        image_path = single_file(frame / "image", (".jpg", ".jpeg", ".png"))
        depth_path = single_file(frame / DEPTH_FOLDERS[self.depth_variant], (".png",))
        image = read_rgb(image_path)
        depth = read_depth(depth_path, "sun")
        if image.shape[:2] != depth.shape:
            raise DataError(
                depth_path,
                f"depth is {depth.shape[1]}×{depth.shape[0]} but the image is {image.shape[1]}×{image.shape[0]}",
            )
        meta = {
            "dataset": self.name,
            "id": self.ids[index],
            "image_path": str(image_path),
            "depth_path": str(depth_path),
            "depth_kind": f"sun_{self.depth_variant}",
        }
        return sample_from_numpy(
            image, depth, read_sun_intrinsics(frame / INTRINSICS_FILE), meta=meta
        )
