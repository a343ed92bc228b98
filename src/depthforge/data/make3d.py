"""Make3D (Saxena, Sun & Ng, PAMI 2009) from its release archives.

Root layout after extracting the archives (any folder depth below ROOT)::

    Train400Img/img-<name>.jpg               400 training photos, 1704 wide × 2272 tall
    Train400Depth/depth_sph_corr-<name>.mat  their laser grids (``make3d`` in depthforge.io.depth)
    Test134/img-<name>.jpg                   134 test photos
    Gridlaserdata/depth_sph_corr-<name>.mat  (Test134Depth) their laser grids

A photo and its grid share ``<name>``. The grid is 55 rows × 305 columns spanning the whole photo:
grid rows follow image rows and grid columns follow image columns, as in the monodepth Make3D
evaluation, which crops the same central band of rows from the 2272-row image and the 55-row grid.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from depthforge.data.base import DepthDataset
from depthforge.errors import DataError
from depthforge.io.depth import read_depth
from depthforge.io.image import open_image
from depthforge.types import Sample, sample_from_numpy

IMAGE_PREFIX, IMAGE_SUFFIX = "img-", ".jpg"
DEPTH_PREFIX, DEPTH_SUFFIX = "depth_sph_corr-", ".mat"
SPLIT_FOLDER_PREFIX = {"train": "Train", "test": "Test"}
"""A split's photos are the ones in folders named like the archives (Train400Img, Test134)."""
DEFAULT_SIZE = (460, 345)
"""(H, W) the literature trains and predicts at (Liu et al. 2015; Laina et al. 2016: "345×460"),
the photo's 4:3 aspect."""


def resize_nearest(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of a ``(H, W)`` map to ``size = (H', W')``.

    Output pixel ``(r, c)`` takes the input pixel containing its centre: ``⌊(r + ½)·H/H'⌋``, the
    ``align_corners=False`` geometry (pixel centres at integer coordinates).
    """
    h, w = array.shape
    rows = np.minimum(((np.arange(size[0]) + 0.5) * h / size[0]).astype(np.int64), h - 1)
    cols = np.minimum(((np.arange(size[1]) + 0.5) * w / size[1]).astype(np.int64), w - 1)
    return array[rows[:, None], cols[None, :]]


def checked_size(size: object) -> tuple[int, int]:
    """``(H, W)`` as two positive ints; DataError naming the ``size`` argument otherwise."""
    try:
        h, w = size  # type: ignore[misc]
        valid = int(h) == h >= 1 and int(w) == w >= 1
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise DataError(None, f"size must be two positive integers (H, W), got {size!r}")
    return int(h), int(w)


def name_part(path: Path, prefix: str, suffix: str) -> str | None:
    """``<name>`` of ``<prefix><name><suffix>``, or ``None`` when ``path`` is not named so."""
    n = path.name
    if n.startswith(prefix) and n.lower().endswith(suffix) and len(n) > len(prefix) + len(suffix):
        return n[len(prefix) : len(n) - len(suffix)]
    return None


def read_upright_rgb(path: Path) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB with any EXIF orientation applied (a no-op without the tag)."""
    return np.asarray(ImageOps.exif_transpose(open_image(path)).convert("RGB"))


class Make3D(DepthDataset):
    """Make3D photos with their laser depth, resampled to one common size.

    A :class:`~depthforge.types.Sample` needs image and depth at one size, but the photo is 2272
    rows × 1704 columns and the laser grid 55 × 305 with non-square cells. We follow the training
    practice of the literature: the photo is resized (Pillow bilinear, antialiased) to ``size``
    (default 460 rows × 345 columns) and the grid is resized to the same size by **nearest
    neighbour**. Laina et al. resize the depth bilinearly; nearest is chosen here because bilinear
    blends foreground and background across occlusions into depths that were never measured.
    Evaluations that score at the native 55×305 grid (as monodepth's Make3D evaluation does, resizing
    the prediction to it) read the grid from ``meta["depth_path"]`` with
    ``read_depth(path, "make3d")``; ``meta["depth_grid_shape"]`` gives its shape.

    Photos are turned upright by their EXIF orientation tag when they have one, as ``cv2.imread``
    in monodepth's Make3D evaluation does (whether the release's JPEGs carry one was not checked).

    Depth values are as stored (far laser returns near 81.9 m included); the protocols' caps
    (C1: < 70 m, C2: < 80 m) are applied by evaluation, not here. ``K`` is ``None``: Make3D publishes
    no per-photo intrinsics.

    Each sample: ``image`` ``(3, H, W)``, ``depth`` ``(1, H, W)`` metres with ``(H, W) = size``.

    Args:
        root: folder holding the extracted archives.
        split: ``"train"``, ``"test"`` or ``None`` (every photo below ``root``).
        size: ``(H, W)`` of the samples, or ``None`` for the photo's own size.

    Raises:
        DataError: no photos, a photo without its ``depth_sph_corr-*.mat``, unknown split, bad size.
    """

    name = "make3d"

    def __init__(
        self,
        root: str | Path,
        split: str | None = None,
        size: tuple[int, int] | None = DEFAULT_SIZE,
    ):
        self.root = Path(root)
        if split is not None and split not in SPLIT_FOLDER_PREFIX:
            raise DataError(
                self.root,
                f"unknown split {split!r}; known: {', '.join(SPLIT_FOLDER_PREFIX)} or None",
            )
        self.size = None if size is None else checked_size(size)
        if not self.root.is_dir():
            raise DataError(self.root, "folder not found")
        images = {}
        depths = {}
        for path in sorted(self.root.rglob("*")):
            image_name = name_part(path, IMAGE_PREFIX, IMAGE_SUFFIX)
            if image_name is not None and self._in_split(path, split):
                images[image_name] = path
            depth_name = name_part(path, DEPTH_PREFIX, DEPTH_SUFFIX)
            if depth_name is not None:
                depths[depth_name] = path
        if not images:
            where = "" if split is None else f" in {SPLIT_FOLDER_PREFIX[split]}* folders"
            raise DataError(self.root, f"no Make3D photos ({IMAGE_PREFIX}*{IMAGE_SUFFIX}){where}")
        missing = sorted(set(images) - set(depths))
        if missing:
            raise DataError(
                images[missing[0]],
                f"no {DEPTH_PREFIX}{missing[0]}{DEPTH_SUFFIX} below {self.root} ({len(missing)} photos lack depth)",
            )
        self.ids = sorted(images)
        self.image_paths = [images[i] for i in self.ids]
        self.depth_paths = [depths[i] for i in self.ids]

    def _in_split(self, path: Path, split: str | None) -> bool:
        if split is None:
            return True
        parents = path.relative_to(self.root).parts[:-1]
        return any(part.startswith(SPLIT_FOLDER_PREFIX[split]) for part in parents)

    def load(self, index: int) -> Sample:
        image = read_upright_rgb(self.image_paths[index])
        grid = read_depth(self.depth_paths[index], "make3d")
        size = self.size or image.shape[:2]
        if image.shape[:2] != size:
            resized = Image.fromarray(image).resize((size[1], size[0]), Image.Resampling.BILINEAR)
            image = np.asarray(resized)
        meta = {
            "dataset": self.name,
            "id": self.ids[index],
            "image_path": str(self.image_paths[index]),
            "depth_path": str(self.depth_paths[index]),
            "depth_grid_shape": tuple(grid.shape),
            "depth_kind": "make3d",
        }
        return sample_from_numpy(image, resize_nearest(grid, size), None, meta=meta)
