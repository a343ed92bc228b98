"""``SynthDataset``: the procedural RGB-D world as a map-style dataset, rendered on the fly.

Sample ``i`` is frame ``i % frames`` of scene ``i // frames`` (id ``"scene_SSS/FFFFFF"``). Everything
about it is a pure function of ``(seed, split, scene, frame)``: the world from
``SeedSequence(seed, spawn_key=(split, scene))``, the sensor holes, LiDAR offsets and ordinal pairs
from ``SeedSequence(seed, spawn_key=(split, scene, frame, stream))``. So a sample is identical
whatever the access order, the worker or the process that renders it.

Sky (outdoor background) has no depth: ``depth = 0`` and ``mask = False`` there (like a LiDAR with
no return); its normals are 0 and its label is ``Label.SKY``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from depthforge.data.base import DepthDataset
from depthforge.geometry.camera import intrinsics_from_fov
from depthforge.synth.relative import EQUAL_RATIO, sample_ordinal_pairs
from depthforge.synth.render import Frame, render
from depthforge.synth.scene import KINDS, NEIGHBOUR_MARGIN, World, generate_world
from depthforge.synth.sensor import kinect_holes, lidar_rows
from depthforge.types import Sample, Stereo

SPLITS = {"train": 0, "val": 1, "test": 2}
"""Each split is its own set of worlds (its own seed stream)."""
DEFAULT_SIZE = (160, 120)
DEFAULT_FOV = {"indoor": 65.0, "outdoor": 80.0}
"""Horizontal field of view in degrees (NYU Kinect ≈ 58–63°, KITTI ≈ 81°)."""
DEFAULT_BASELINE = {"indoor": 0.1, "outdoor": 0.54}
"""Stereo baseline in metres (KITTI: 0.54 m)."""

_HOLES, _LIDAR, _PAIRS = 0, 1, 2  # per-frame random streams


def parse_size(text: str) -> tuple[int, int]:
    """``"160x120"`` → ``(160, 120)`` (width, height)."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"size must look like WIDTHxHEIGHT (e.g. 160x120), got {text!r}") from None
    return width, height


def stereo_right_pose(pose: np.ndarray, baseline: float) -> np.ndarray:
    """Camera-to-world pose of the right camera: ``+baseline`` along the left camera's x axis,
    same orientation (a rectified pair)."""
    offset = np.eye(4)
    offset[0, 3] = baseline
    return pose @ offset


class SynthDataset(DepthDataset):
    """Synthetic RGB-D sequences rendered on demand.

    Args:
        root: ignored (the world is code); accepted so that ``open_dataset("synth", root)`` works.
        split: ``"train"`` (default), ``"val"`` or ``"test"``: disjoint sets of worlds.
        scenes: number of worlds (sequences).
        size: ``(width, height)`` in pixels.
        frames: frames per sequence.
        kind: ``"indoor"`` (rooms, hand-held camera) or ``"outdoor"`` (streets, car camera).
        stereo: add the right view of a rectified pair as ``Sample.stereo``.
        seed: the world seed.
        fov: horizontal field of view in degrees (default 65° indoor, 80° outdoor).
        sparse_points: keep only LiDAR-like returns in ``depth``/``mask`` (see
            :mod:`depthforge.synth.sensor`).
        holes: punch Kinect-like holes into ``depth``/``mask`` (see :mod:`depthforge.synth.sensor`).
        neighbour_offsets: frame offsets of the source views for video supervision, e.g.
            ``(-1, 1)``; every frame has them (the camera path extends beyond the sequence),
            ``|offset| ≤ 3``.
        pairs: number of ordinal point pairs per sample (0: none), labelled from the full depth
            with the ratio threshold ``equal_ratio``.
        baseline: stereo baseline in metres (default 0.1 indoor, 0.54 outdoor).

    ``__getitem__`` returns a :class:`~depthforge.types.Sample` with ``image`` ``(3, H, W)``,
    metric z-depth ``depth`` and ``mask`` ``(1, H, W)``, ``K`` ``(3, 3)``, ``pose`` ``(4, 4)``
    camera-to-world, analytic ``normals`` ``(3, H, W)`` (camera frame, facing the camera),
    ``labels`` ``(H, W)`` (:class:`~depthforge.synth.scene.Label`), and optionally
    ``neighbours``/``neighbour_poses``, ``stereo``, ``pairs``/``relations``.
    """

    name = "synth"

    def __init__(
        self,
        root: str | Path | None = None,
        split: str | None = None,
        *,
        scenes: int = 8,
        size: tuple[int, int] = DEFAULT_SIZE,
        frames: int = 10,
        kind: str = "indoor",
        stereo: bool = False,
        seed: int = 0,
        fov: float | None = None,
        sparse_points: bool = False,
        holes: bool = False,
        neighbour_offsets: Sequence[int] = (),
        pairs: int = 100,
        equal_ratio: float = EQUAL_RATIO,
        baseline: float | None = None,
    ):
        split = "train" if split is None else split
        if split not in SPLITS:
            raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        width, height = (int(s) for s in size)
        if width < 2 or height < 2:
            raise ValueError(f"size must be (width, height) with both ≥ 2, got {tuple(size)}")
        if scenes < 1 or frames < 1:
            raise ValueError(f"scenes and frames must be ≥ 1, got {scenes} and {frames}")
        offsets = tuple(int(o) for o in neighbour_offsets)
        if any(o == 0 or abs(o) > NEIGHBOUR_MARGIN for o in offsets):
            raise ValueError(
                f"neighbour_offsets must be non-zero and within ±{NEIGHBOUR_MARGIN}, got {offsets}"
            )
        if pairs < 0:
            raise ValueError(f"pairs must be ≥ 0, got {pairs}")
        self.split, self.kind, self.seed = split, kind, int(seed)
        self.scenes, self.frames = int(scenes), int(frames)
        self.width, self.height = width, height
        self.fov = DEFAULT_FOV[kind] if fov is None else float(fov)
        self.K = intrinsics_from_fov(width, height, self.fov, dtype=torch.float64).numpy()
        self.stereo = bool(stereo)
        self.baseline = DEFAULT_BASELINE[kind] if baseline is None else float(baseline)
        if self.baseline <= 0.0:
            raise ValueError(f"baseline must be positive metres, got {self.baseline}")
        self.sparse_points, self.holes = bool(sparse_points), bool(holes)
        self.neighbour_offsets = offsets
        self.pairs, self.equal_ratio = int(pairs), float(equal_ratio)
        self.ids = [
            f"scene_{s:03d}/{f:06d}" for s in range(self.scenes) for f in range(self.frames)
        ]
        self._worlds: dict[int, World] = {}

    def _rng(self, *key: int) -> np.random.Generator:
        spawn_key = (SPLITS[self.split], *key)
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=spawn_key))

    def world(self, scene: int) -> World:
        """The world (scene + camera path) of sequence ``scene``, generated once and cached."""
        if scene not in self._worlds:
            self._worlds[scene] = generate_world(self.kind, self._rng(scene), self.frames)
        return self._worlds[scene]

    def pose(self, scene: int, frame: float) -> np.ndarray:
        """``(4, 4)`` float64 camera-to-world pose of ``frame`` (any real time) of ``scene``."""
        return self.world(scene).trajectory.pose(frame)

    def render_view(self, scene: int, pose: np.ndarray) -> Frame:
        """Render ``scene`` from camera-to-world ``pose`` with this dataset's K and size."""
        return render(self.world(scene).scene, self.K, pose, self.width, self.height)

    def valid_mask(self, scene: int, frame: int, view: Frame) -> np.ndarray:
        """``(H, W)`` validity of ``view`` (frame ``frame`` of ``scene``) under the sensor model."""
        valid = view.depth > 0.0
        if self.holes:
            valid &= kinect_holes(view.depth, view.image, self._rng(scene, frame, _HOLES))
        if self.sparse_points:
            pattern = lidar_rows(self.K, self.width, self.height, self._rng(scene, frame, _LIDAR))
            valid &= pattern
        return valid

    def load(self, index: int) -> Sample:
        scene, frame = divmod(index, self.frames)
        pose = self.pose(scene, frame)
        view = self.render_view(scene, pose)
        valid = self.valid_mask(scene, frame, view)
        extra: dict[str, Any] = {}
        if self.neighbour_offsets:
            poses = [self.pose(scene, frame + o) for o in self.neighbour_offsets]
            images = [self.render_view(scene, p).image for p in poses]
            extra["neighbours"] = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)
            extra["neighbour_poses"] = torch.from_numpy(np.stack(poses).astype(np.float32))
        if self.stereo:
            right = self.render_view(scene, stereo_right_pose(pose, self.baseline)).image
            extra["stereo"] = Stereo(torch.from_numpy(right).permute(2, 0, 1), self.baseline)
        if self.pairs:
            rng = self._rng(scene, frame, _PAIRS)
            pairs, relations = sample_ordinal_pairs(
                view.depth, view.depth > 0.0, self.pairs, rng, self.equal_ratio
            )
            extra["pairs"] = torch.from_numpy(pairs)
            extra["relations"] = torch.from_numpy(relations)
        depth = np.where(valid, view.depth, 0.0).astype(np.float32)
        depth_kind = "lidar" if self.sparse_points else "kinect_holes" if self.holes else "dense"
        meta = {
            "dataset": self.name,
            "id": self.ids[index],
            "split": self.split,
            "kind": self.kind,
            "seed": self.seed,
            "scene": scene,
            "frame": frame,
            "depth_kind": depth_kind,
        }
        return Sample(
            image=torch.from_numpy(view.image).permute(2, 0, 1).contiguous(),
            depth=torch.from_numpy(depth)[None],
            mask=torch.from_numpy(valid)[None],
            K=torch.from_numpy(self.K.astype(np.float32)),
            pose=torch.from_numpy(pose.astype(np.float32)),
            normals=torch.from_numpy(view.normals).permute(2, 0, 1).contiguous(),
            labels=torch.from_numpy(view.labels),
            meta=meta,
            **extra,
        )
