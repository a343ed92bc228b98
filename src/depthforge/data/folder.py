"""The depthforge folder format: users' own RGB-D data and the synthetic world's exports.

Layout (only ``images/`` is required)::

    ROOT/
      depthforge.json        {"depth_format": "png16" | "npy", "depth_scale": 1000.0,
                              "K": [[fx, 0, cx], [0, fy, cy], [0, 0, 1]], "baseline": 0.1}
      images/<id>.png|.jpg   RGB (any of depthforge.io.IMAGE_SUFFIXES); <id> may contain '/' (e.g. "scene_000/000004")
      depth/<id>.png|.npy    16-bit PNG storing depth_m · depth_scale, or float32 metres; 0 = invalid
      intrinsics/<id>.json   per-sample {"K": [[...]]} or {"fx", "fy", "cx", "cy"}; overrides the root K
      poses/<id>.txt         4×4 camera-to-world, row-major, metres
      normals/<id>.npy       (3, H, W) float32 unit normals, camera frame
      labels/<id>.png        8/16-bit semantic label map
      right/<id>.png         right view of a rectified stereo pair (needs "baseline")
      splits/<name>.txt      one id per line; without a split every id is used, sorted
      relative_depth.csv     ordinal pairs in the DIW CSV format (read by the ``diw`` reader)

Neighbouring frames for video supervision are the ids at ``neighbour_offsets`` within the same
sub-folder (a sequence), in sorted order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from depthforge.data.base import DepthDataset
from depthforge.errors import DataError
from depthforge.io.depth import read_depth, save_depth_npy, save_depth_png16
from depthforge.io.image import (
    IMAGE_SUFFIXES,
    open_image,
    read_rgb,
    save_array,
    save_rgb,
    write_atomic,
)
from depthforge.io.structured import parse_intrinsics, read_array, read_json, read_pose
from depthforge.types import Sample, Stereo, image_to_tensor, sample_from_numpy

META_FILE = "depthforge.json"
DEFAULT_DEPTH_SCALE = 1000.0
"""png16 units per metre when ``depthforge.json`` names none (millimetres)."""


class FolderDataset(DepthDataset):
    """Reader of the folder format above.

    Args:
        root: the folder.
        split: name of ``splits/<split>.txt``, or ``None`` for every image.
        neighbour_offsets: frame offsets of source views to load as ``neighbours`` (e.g. ``(-1, 1)``);
            samples without both neighbours in their sequence are left out.
    """

    name = "folder"

    def __init__(
        self, root: str | Path, split: str | None = None, neighbour_offsets: Sequence[int] = ()
    ):
        self.root = Path(root)
        if not (self.root / "images").is_dir():
            raise DataError(self.root, "no images/ folder (see the folder format in the README)")
        meta_path = self.root / META_FILE
        self.meta = read_json(meta_path) if meta_path.is_file() else {}
        self.depth_scale = float(self.meta.get("depth_scale", DEFAULT_DEPTH_SCALE))
        self._images = {
            p.relative_to(self.root / "images").with_suffix("").as_posix(): p
            for p in sorted((self.root / "images").rglob("*"))
            if p.suffix.lower() in IMAGE_SUFFIXES
        }
        if split is None:
            ids = sorted(self._images)
        else:
            split_file = self.root / "splits" / f"{split}.txt"
            if not split_file.is_file():
                raise DataError(split_file, f"split {split!r} not found")
            ids = [line.strip() for line in split_file.read_text().splitlines() if line.strip()]
            unknown = [i for i in ids if i not in self._images]
            if unknown:
                raise DataError(
                    split_file, f"{len(unknown)} ids without an image, e.g. {unknown[0]!r}"
                )
        self._sequences: dict[str, list[str]] = {}
        self._position: dict[str, int] = {}
        for image_id in self._images:  # sorted, so each sequence is in frame order
            frames = self._sequences.setdefault(self._sequence_of(image_id), [])
            self._position[image_id] = len(frames)
            frames.append(image_id)
        self.neighbour_offsets = tuple(int(o) for o in neighbour_offsets)
        if self.neighbour_offsets:
            ids = [i for i in ids if all(self._neighbour_id(i, o) for o in self.neighbour_offsets)]
        if not ids:
            raise DataError(self.root, "no samples found")
        self.ids = ids

    @staticmethod
    def _sequence_of(sample_id: str) -> str:
        return sample_id.rsplit("/", 1)[0] if "/" in sample_id else ""

    def _neighbour_id(self, sample_id: str, offset: int) -> str | None:
        seq = self._sequences[self._sequence_of(sample_id)]
        k = self._position[sample_id] + offset
        return seq[k] if 0 <= k < len(seq) else None

    def _find(self, folder: str, sample_id: str, suffixes: Sequence[str]) -> Path | None:
        for suffix in suffixes:
            p = self.root / folder / f"{sample_id}{suffix}"
            if p.is_file():
                return p
        return None

    def intrinsics(self, sample_id: str) -> np.ndarray | None:
        """K for ``sample_id`` (per-sample file first, then the root ``depthforge.json``)."""
        path = self._find("intrinsics", sample_id, (".json",))
        if path is not None:
            return parse_intrinsics(read_json(path), path)
        if "K" in self.meta or "fx" in self.meta:
            return parse_intrinsics(self.meta, self.root / META_FILE)
        return None

    def depth_file(self, sample_id: str) -> Path | None:
        """The depth file of ``sample_id`` (``.npy`` first), or ``None``."""
        return self._find("depth", sample_id, (".npy", ".png"))

    def depth(self, sample_id: str) -> np.ndarray | None:
        """``(H, W)`` metres, or ``None`` when the sample has no depth file."""
        path = self.depth_file(sample_id)
        if path is None:
            return None
        if path.suffix == ".npy":
            return read_depth(path, "npy")
        return read_depth(path, "png16", self.depth_scale)

    def load(self, index: int) -> Sample:
        sid = self.ids[index]
        image_path = self._images[sid]
        # without the image (with_fields), its size comes from the file header alone
        image = read_rgb(image_path) if self.wants("image") else None
        if image is not None:
            h, w = image.shape[:2]
        else:
            w, h = _image_size(image_path)
        depth_path = self.depth_file(sid)
        depth = self.depth(sid)
        if depth is None:
            depth = np.zeros((h, w), np.float32)
        elif depth.shape != (h, w):
            raise DataError(
                self.root / "depth" / sid,
                f"depth is {depth.shape[1]}×{depth.shape[0]} but the image is {w}×{h}",
            )
        extra: dict[str, Any] = {}
        pose_path = self._find("poses", sid, (".txt",)) if self.wants("pose") else None
        if pose_path is not None:
            extra["pose"] = read_pose(pose_path).astype(np.float32)
        normals_path = self._find("normals", sid, (".npy",)) if self.wants("normals") else None
        if normals_path is not None:
            extra["normals"] = read_array(normals_path, (3, h, w)).astype(np.float32)
        labels_path = self._find("labels", sid, (".png",)) if self.wants("labels") else None
        if labels_path is not None:
            labels = np.asarray(open_image(labels_path)).astype(np.int64)
            if labels.shape != (h, w):
                raise DataError(labels_path, f"label map is {labels.shape}, expected {(h, w)}")
            extra["labels"] = labels
        if self.neighbour_offsets and self.wants("neighbours"):
            nbr_ids = [self._neighbour_id(sid, o) for o in self.neighbour_offsets]
            frames = [read_rgb(self._images[n]) for n in nbr_ids]
            for n, frame in zip(nbr_ids, frames, strict=True):
                if frame.shape != image.shape:
                    raise DataError(
                        self._images[n],
                        f"neighbour frame is {frame.shape[:2]}, the target {(h, w)}",
                    )
            extra["neighbours"] = image_to_tensor(np.stack(frames))
            poses = [self._find("poses", n, (".txt",)) for n in nbr_ids]
            if all(p is not None for p in poses):
                extra["neighbour_poses"] = np.stack([read_pose(p) for p in poses]).astype(
                    np.float32
                )
        right_path = self._find("right", sid, IMAGE_SUFFIXES) if self.wants("stereo") else None
        if right_path is not None:
            if "baseline" not in self.meta:
                raise DataError(self.root / META_FILE, "right/ views need a 'baseline' in metres")
            right = image_to_tensor(read_rgb(right_path))
            extra["stereo"] = Stereo(image=right, baseline=float(self.meta["baseline"]))
        meta = {
            "dataset": self.name,
            "id": sid,
            "image_path": str(image_path),
            "depth_kind": "folder",
        }
        if depth_path is not None:
            meta["depth_path"] = str(depth_path)
        if image is None:
            image = np.zeros((0, 0, 3), np.uint8)
        K = self.intrinsics(sid) if self.wants("K") else None
        return sample_from_numpy(image, depth, K, meta=meta, **extra)


def _image_size(path: Path) -> tuple[int, int]:
    """``(width, height)`` from the image file's header (no decoding)."""
    try:
        with Image.open(path) as img:
            return img.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(path, f"corrupt or truncated image ({exc})") from exc


def write_folder_sample(
    root: str | Path,
    sample_id: str,
    image: np.ndarray,
    depth: np.ndarray | None = None,
    *,
    K: np.ndarray | None = None,
    pose: np.ndarray | None = None,
    normals: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    right: np.ndarray | None = None,
    depth_format: str = "png16",
    depth_scale: float | None = None,
) -> None:
    """Write one sample in the folder format (every file atomically).

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        depth: ``(H, W)`` metres, 0 = invalid.
        K: per-sample ``(3, 3)`` intrinsics (omit when the root ``depthforge.json`` holds K).
        pose: ``(4, 4)`` camera-to-world.
        normals: ``(3, H, W)`` float32 unit normals.
        labels: ``(H, W)`` integer labels < 65536.
        right: ``(H, W, 3)`` uint8 right view.
        depth_format: ``"png16"`` or ``"npy"``.
        depth_scale: png16 units per metre. It must agree with the folder's ``depthforge.json``
            (which is created holding it when absent), so a reader can never apply another scale.
    """
    root = Path(root)
    if depth is not None and depth_format == "png16":
        depth_scale = _folder_depth_scale(root, depth_scale)
    save_rgb(root / "images" / f"{sample_id}.png", image)
    if depth is not None:
        if depth_format == "png16":
            save_depth_png16(root / "depth" / f"{sample_id}.png", depth, depth_scale)
        elif depth_format == "npy":
            save_depth_npy(root / "depth" / f"{sample_id}.npy", depth)
        else:
            raise ValueError(f"depth_format must be 'png16' or 'npy', got {depth_format!r}")
    if K is not None:
        k_text = json.dumps({"K": np.asarray(K, dtype=float).tolist()})
        write_atomic(root / "intrinsics" / f"{sample_id}.json", lambda tmp: tmp.write_text(k_text))
    if pose is not None:
        write_atomic(
            root / "poses" / f"{sample_id}.txt", lambda tmp: np.savetxt(tmp, np.asarray(pose))
        )
    if normals is not None:
        save_array(root / "normals" / f"{sample_id}.npy", np.asarray(normals, dtype=np.float32))
    if labels is not None:
        lab = np.asarray(labels)
        lab = lab.astype(np.uint8) if lab.max(initial=0) < 256 else lab.astype(np.uint16)
        write_atomic(
            root / "labels" / f"{sample_id}.png",
            lambda tmp: Image.fromarray(lab).save(tmp, format="PNG"),
        )
    if right is not None:
        save_rgb(root / "right" / f"{sample_id}.png", right)


def _folder_depth_scale(root: Path, requested: float | None) -> float:
    """The png16 scale of ``root``: the one its metadata records (created when absent)."""
    meta_path = root / META_FILE
    if meta_path.is_file():
        recorded = float(read_json(meta_path).get("depth_scale", DEFAULT_DEPTH_SCALE))
        if requested is not None and requested != recorded:
            raise ValueError(f"{meta_path} records depth_scale {recorded}, not {requested}")
        return recorded
    scale = DEFAULT_DEPTH_SCALE if requested is None else float(requested)
    write_folder_meta(root, depth_format="png16", depth_scale=scale)
    return scale


def write_folder_meta(root: str | Path, **meta: Any) -> Path:
    """Create or update ``depthforge.json`` (``depth_format``, ``depth_scale``, ``K``, ``baseline``, ...).

    Keys already recorded and not given are kept. Changing ``depth_scale`` once depth files
    exist is refused: they were written at the old scale.
    """
    root = Path(root)
    meta_path = root / META_FILE
    current = read_json(meta_path) if meta_path.is_file() else {}
    if (
        "depth_scale" in meta
        and "depth_scale" in current
        and float(meta["depth_scale"]) != float(current["depth_scale"])
        and (root / "depth").is_dir()
        and any((root / "depth").iterdir())
    ):
        raise ValueError(
            f"{meta_path}: depth files were written at depth_scale {current['depth_scale']}; "
            f"refusing to record {meta['depth_scale']}"
        )
    clean = {
        k: (np.asarray(v).tolist() if isinstance(v, np.ndarray) else v) for k, v in meta.items()
    }
    text = json.dumps({**current, **clean}, indent=2)
    return write_atomic(meta_path, lambda tmp: tmp.write_text(text))


def write_split(root: str | Path, split: str, ids: Sequence[str]) -> Path:
    """Write ``splits/<split>.txt``."""
    text = "".join(f"{i}\n" for i in ids)
    return write_atomic(Path(root) / "splits" / f"{split}.txt", lambda tmp: tmp.write_text(text))
