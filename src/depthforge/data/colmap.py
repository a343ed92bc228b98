"""Multi-view reconstructions from COLMAP as depth supervision (the MegaDepth recipe).

Reads a COLMAP *dense workspace* as ``colmap image_undistorter`` + ``patch_match_stereo``
leave it::

    ROOT/images/<name>                               undistorted images
    ROOT/sparse/cameras.bin|txt, images.bin|txt      undistorted (pinhole) cameras and poses
    ROOT/stereo/depth_maps/<name>.geometric.bin      MVS depth (or .photometric.bin)
    ROOT/labels/<stem>.png                           optional semantic labels (for ordinal pairs)

Formats follow COLMAP's ``scripts/python/read_write_model.py`` and ``read_write_dense.py``:
binary models are little-endian; a dense map is an ASCII header ``width&height&channels&``
followed by float32 values in column-major (Fortran) order of shape ``(width, height, channels)``.

Each image is classified as in MegaDepth (Li & Snavely 2018, §4): *Euclidean* (depth
supervised) when at least 30 % of its pixels keep a valid depth after filtering, otherwise
*ordinal*; ordinal pairs come from semantic labels: a background pixel with reconstructed depth
is farther than a foreground-object pixel (the paper's automatic ordinal labels). The depth
filter here is ours, not the paper's exact procedure (which also uses semantic masks and a
modified COLMAP): a depth is dropped when it is ≤ 0 or deviates from the median of its valid
3×3 neighbourhood by more than ``outlier_ratio`` (isolated MVS outliers at occlusion edges).
"""

from __future__ import annotations

import struct
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

from depthforge.data.base import DepthDataset
from depthforge.errors import DataError
from depthforge.io.image import open_image, read_rgb
from depthforge.types import Sample, sample_from_numpy

# COLMAP camera models: id -> (name, number of parameters).
CAMERA_MODELS = {
    0: ("SIMPLE_PINHOLE", 3),
    1: ("PINHOLE", 4),
    2: ("SIMPLE_RADIAL", 4),
    3: ("RADIAL", 5),
    4: ("OPENCV", 8),
    5: ("OPENCV_FISHEYE", 8),
    6: ("FULL_OPENCV", 12),
    7: ("FOV", 5),
    8: ("SIMPLE_RADIAL_FISHEYE", 4),
    9: ("RADIAL_FISHEYE", 5),
    10: ("THIN_PRISM_FISHEYE", 12),
}
MODEL_IDS = {name: model_id for model_id, (name, _) in CAMERA_MODELS.items()}
EUCLIDEAN_SHARE = 0.30
"""MegaDepth §4: an image is used for depth supervision when ≥ 30 % of its pixels have depth."""


@dataclass(frozen=True)
class Camera:
    """A COLMAP camera: model name, image size in pixels and the model's parameters."""

    model: str
    width: int
    height: int
    params: tuple[float, ...]

    def intrinsics(self, source: Path) -> np.ndarray:
        """``(3, 3)`` K; only distortion-free models (the undistorted workspace) are accepted.

        COLMAP puts pixel centres at ``+0.5`` (the top-left pixel spans [0, 1]), so the principal
        point is shifted by −0.5 into depthforge's integer-centre convention.
        """
        if self.model == "SIMPLE_PINHOLE":
            f, cx, cy = self.params
            fx = fy = f
        elif self.model == "PINHOLE":
            fx, fy, cx, cy = self.params
        else:
            raise DataError(
                source,
                f"camera model {self.model} has lens distortion; run `colmap image_undistorter` "
                "and point depthforge at the dense workspace",
            )
        return np.array([[fx, 0.0, cx - 0.5], [0.0, fy, cy - 0.5], [0.0, 0.0, 1.0]])


@dataclass(frozen=True)
class RegisteredImage:
    """A registered image: its name, camera and world-to-camera rotation (quaternion w, x, y, z)
    and translation, as COLMAP stores them."""

    name: str
    camera_id: int
    qvec: tuple[float, float, float, float]
    tvec: tuple[float, float, float]

    def camera_to_world(self) -> np.ndarray:
        """``(4, 4)`` camera-to-world pose (the inverse of COLMAP's world-to-camera [R | t])."""
        w, x, y, z = self.qvec
        rotation = np.array(
            [
                [1 - 2 * y * y - 2 * z * z, 2 * x * y - 2 * w * z, 2 * z * x + 2 * w * y],
                [2 * x * y + 2 * w * z, 1 - 2 * x * x - 2 * z * z, 2 * y * z - 2 * w * x],
                [2 * z * x - 2 * w * y, 2 * y * z + 2 * w * x, 1 - 2 * x * x - 2 * y * y],
            ]
        )
        pose = np.eye(4)
        pose[:3, :3] = rotation.T
        pose[:3, 3] = -rotation.T @ np.asarray(self.tvec)
        return pose


def _read(fh: BinaryIO, fmt: str, path: Path):
    size = struct.calcsize("<" + fmt)
    data = fh.read(size)
    if len(data) != size:
        raise DataError(path, "truncated COLMAP model file")
    return struct.unpack("<" + fmt, data)


def read_cameras(sparse_dir: Path) -> dict[int, Camera]:
    """Cameras of ``sparse_dir/cameras.bin`` (or ``cameras.txt``)."""
    binary, text = sparse_dir / "cameras.bin", sparse_dir / "cameras.txt"
    cameras: dict[int, Camera] = {}
    if binary.is_file():
        with open(binary, "rb") as fh:
            (count,) = _read(fh, "Q", binary)
            for _ in range(count):
                camera_id, model_id, width, height = _read(fh, "iiQQ", binary)
                if model_id not in CAMERA_MODELS:
                    raise DataError(binary, f"unknown camera model id {model_id}")
                name, n_params = CAMERA_MODELS[model_id]
                cameras[camera_id] = Camera(name, width, height, _read(fh, "d" * n_params, binary))
        return cameras
    if text.is_file():
        for line in text.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                fields = line.split()
                cameras[int(fields[0])] = Camera(
                    fields[1], int(fields[2]), int(fields[3]), tuple(map(float, fields[4:]))
                )
        return cameras
    raise DataError(sparse_dir, "no cameras.bin or cameras.txt")


def read_images(sparse_dir: Path) -> dict[int, RegisteredImage]:
    """Registered images of ``sparse_dir/images.bin`` (or ``images.txt``)."""
    binary, text = sparse_dir / "images.bin", sparse_dir / "images.txt"
    images: dict[int, RegisteredImage] = {}
    if binary.is_file():
        with open(binary, "rb") as fh:
            (count,) = _read(fh, "Q", binary)
            for _ in range(count):
                image_id, *rest = _read(fh, "idddddddi", binary)
                qvec, tvec, camera_id = tuple(rest[:4]), tuple(rest[4:7]), rest[7]
                name = bytearray()
                while (char := fh.read(1)) != b"\x00":
                    if not char:
                        raise DataError(binary, "truncated image name")
                    name += char
                (n_points,) = _read(fh, "Q", binary)
                fh.seek(24 * n_points, 1)  # (x, y, point3D_id) per 2-D point: not needed here
                images[image_id] = RegisteredImage(name.decode(), camera_id, qvec, tvec)
        return images
    if text.is_file():
        lines = [ln for ln in text.read_text().splitlines() if not ln.startswith("#")]
        for line in lines[::2]:  # every image takes two lines; the second lists 2-D points
            f = line.split()
            images[int(f[0])] = RegisteredImage(
                f[9], int(f[8]), tuple(map(float, f[1:5])), tuple(map(float, f[5:8]))
            )
        return images
    raise DataError(sparse_dir, "no images.bin or images.txt")


def read_dense_map(path: str | Path) -> np.ndarray:
    """A COLMAP dense map (``*.geometric.bin``): ``(H, W)`` or ``(H, W, C)`` float32."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "dense map not found")
    parts = path.read_bytes().split(b"&", 3)
    if len(parts) != 4:
        raise DataError(path, "not a COLMAP dense map (no width&height&channels& header)")
    try:
        width, height, channels = (int(p) for p in parts[:3])
    except ValueError as exc:
        raise DataError(path, f"bad COLMAP dense-map header ({exc})") from exc
    expected = width * height * channels
    if len(parts[3]) != 4 * expected:
        raise DataError(
            path, f"expected {width}×{height}×{channels} floats, found {len(parts[3]) / 4:g}"
        )
    values = np.frombuffer(parts[3], dtype="<f4")
    array = values.reshape((width, height, channels), order="F").transpose(1, 0, 2)
    return np.ascontiguousarray(array[..., 0] if channels == 1 else array, dtype=np.float32)


def filter_depth(depth: np.ndarray, outlier_ratio: float = 0.15) -> np.ndarray:
    """Drop non-positive depths and those deviating from their valid 3×3 median by more than
    ``outlier_ratio`` (relative). Returns a float32 copy with 0 = invalid."""
    d = np.where(np.isfinite(depth) & (depth > 0), depth, np.nan).astype(np.float32)
    padded = np.pad(d, 1, constant_values=np.nan)
    h, w = d.shape
    window = np.stack([padded[i : i + h, j : j + w] for i in range(3) for j in range(3)])
    with warnings.catch_warnings():  # windows without any depth give NaN, which is dropped
        warnings.simplefilter("ignore", RuntimeWarning)
        median = np.nanmedian(window, axis=0)
        keep = np.abs(d - median) <= outlier_ratio * median
    return np.where(keep, d, 0.0).astype(np.float32)


def ordinal_pairs_from_labels(
    labels: np.ndarray,
    valid_depth: np.ndarray,
    foreground: Sequence[int],
    count: int,
    generator: torch.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """MegaDepth's automatic ordinal labels: ``count`` pairs (A = background pixel with depth,
    B = foreground-object pixel), relation +1 (A farther).

    Returns:
        ``pairs (N, 4)`` int64 ``y_a, x_a, y_b, x_b`` and ``relations (N,)``; empty when either
        side has no pixel.
    """
    is_fg = np.isin(labels, np.asarray(foreground))
    bg = np.flatnonzero((~is_fg & valid_depth).ravel())
    fg = np.flatnonzero(is_fg.ravel())
    if bg.size == 0 or fg.size == 0 or count == 0:
        return np.zeros((0, 4), np.int64), np.zeros(0, np.int64)
    a = bg[torch.randint(bg.size, (count,), generator=generator).numpy()]
    b = fg[torch.randint(fg.size, (count,), generator=generator).numpy()]
    w = labels.shape[1]
    pairs = np.stack([a // w, a % w, b // w, b % w], axis=1).astype(np.int64)
    return pairs, np.ones(count, np.int64)


class ColmapMVS(DepthDataset):
    """A COLMAP dense workspace as training data (depth from MVS, poses, intrinsics).

    Args:
        root: the dense workspace (see the module docstring).
        split: an optional file ``ROOT/<split>.txt`` of image names.
        depth_type: ``"geometric"`` (default, the consistent maps) or ``"photometric"``.
        outlier_ratio: relative tolerance of :func:`filter_depth`.
        foreground_labels: label ids of transient foreground objects (people, cars, ...) for the
            ordinal pairs; without ``ROOT/labels`` or ids no pairs are made.
        pairs: ordinal pairs per image.
        seed: seed of the pair sampling (pairs of image ``i`` use ``seed + i``).

    ``meta["euclidean"]`` says whether the image has enough depth (≥ 30 %) for depth supervision.
    """

    name = "colmap"

    def __init__(
        self,
        root: str | Path,
        split: str | None = None,
        *,
        depth_type: str = "geometric",
        outlier_ratio: float = 0.15,
        foreground_labels: Sequence[int] = (),
        pairs: int = 100,
        seed: int = 0,
    ):
        self.root = Path(root)
        sparse = self.root / "sparse"
        if not sparse.is_dir():
            raise DataError(self.root, "no sparse/ folder: not a COLMAP dense workspace")
        self.cameras = read_cameras(sparse)
        self.images = {img.name: img for img in read_images(sparse).values()}
        self.depth_type, self.outlier_ratio = depth_type, outlier_ratio
        self.foreground, self.pairs, self.seed = tuple(foreground_labels), pairs, seed
        names = sorted(n for n in self.images if self._depth_path(n).is_file())
        if split is not None:
            split_file = self.root / f"{split}.txt"
            if not split_file.is_file():
                raise DataError(split_file, f"split {split!r} not found")
            wanted = [ln.strip() for ln in split_file.read_text().splitlines() if ln.strip()]
            missing = [n for n in wanted if n not in names]
            if missing:
                raise DataError(
                    split_file, f"{len(missing)} names without a depth map, e.g. {missing[0]!r}"
                )
            names = wanted
        if not names:
            raise DataError(
                self.root / "stereo" / "depth_maps", "no depth map of a registered image"
            )
        self.ids = names

    def _depth_path(self, name: str) -> Path:
        return self.root / "stereo" / "depth_maps" / f"{name}.{self.depth_type}.bin"

    def load(self, index: int) -> Sample:
        name = self.ids[index]
        registered = self.images[name]
        image_path = self.root / "images" / name
        image = read_rgb(image_path)
        depth = filter_depth(read_dense_map(self._depth_path(name)), self.outlier_ratio)
        if depth.shape != image.shape[:2]:
            raise DataError(
                self._depth_path(name),
                f"depth map is {depth.shape[1]}×{depth.shape[0]} but the image is "
                f"{image.shape[1]}×{image.shape[0]}",
            )
        K = self.cameras[registered.camera_id].intrinsics(self.root / "sparse")
        extra = {}
        labels_path = self.root / "labels" / f"{Path(name).stem}.png"
        if labels_path.is_file() and self.foreground:
            labels = np.asarray(open_image(labels_path)).astype(np.int64)
            generator = torch.Generator().manual_seed(self.seed + index)
            pairs, relations = ordinal_pairs_from_labels(
                labels, depth > 0, self.foreground, self.pairs, generator
            )
            extra.update(labels=labels, pairs=pairs, relations=relations)
        meta = {
            "dataset": self.name,
            "id": name,
            "image_path": str(image_path),
            "depth_path": str(self._depth_path(name)),
            "depth_kind": "mvs",
            "euclidean": bool((depth > 0).mean() >= EUCLIDEAN_SHARE),
        }
        return sample_from_numpy(
            image,
            depth,
            K,
            pose=registered.camera_to_world().astype(np.float32),
            meta=meta,
            **extra,
        )
