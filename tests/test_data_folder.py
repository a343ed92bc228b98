"""The depthforge folder format: write_folder_sample → FolderDataset round trips, and bad folders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from depthforge.data.folder import (
    FolderDataset,
    write_folder_meta,
    write_folder_sample,
    write_split,
)
from depthforge.data.registry import open_dataset
from depthforge.errors import DataError

H, W = 6, 8
K = np.array([[50.0, 0.0, 3.5], [0.0, 52.0, 2.5], [0.0, 0.0, 1.0]])


def rgb(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (H, W, 3), dtype=np.uint8)


def depth_mm_grid() -> np.ndarray:
    """Depths on the millimetre grid (exact at png16 scale 1000) with some invalid pixels."""
    d = (np.arange(H * W, dtype=np.float64).reshape(H, W) * 37 + 500) / 1000.0
    d[0, :3] = 0.0
    return d.astype(np.float32)


def pose(t: float) -> np.ndarray:
    c, s = np.cos(t), np.sin(t)
    return np.array([[c, -s, 0, t], [s, c, 0, 2 * t], [0, 0, 1, -t], [0, 0, 0, 1]])


def test_round_trip_of_every_field(tmp_path):
    normals = np.zeros((3, H, W), np.float32)
    normals[2] = -1.0
    labels = np.arange(H * W).reshape(H, W) % 7
    right = rgb(9)
    write_folder_meta(tmp_path, depth_format="png16", depth_scale=1000.0, baseline=0.12)
    write_folder_sample(
        tmp_path,
        "a",
        rgb(1),
        depth_mm_grid(),
        K=K,
        pose=pose(0.3),
        normals=normals,
        labels=labels,
        right=right,
    )
    s = FolderDataset(tmp_path)[0]
    assert s.id == "a" and s.meta["dataset"] == "folder"
    torch.testing.assert_close(s.image, torch.from_numpy(rgb(1)).permute(2, 0, 1).float() / 255)
    torch.testing.assert_close(s.depth[0], torch.from_numpy(depth_mm_grid()))
    assert s.mask[0].numpy().tolist() == (depth_mm_grid() > 0).tolist()
    torch.testing.assert_close(s.K, torch.from_numpy(K).float())
    torch.testing.assert_close(s.pose, torch.from_numpy(pose(0.3)).float())
    torch.testing.assert_close(s.normals, torch.from_numpy(normals))
    assert s.labels.tolist() == labels.tolist()
    assert s.stereo.baseline == pytest.approx(0.12)
    torch.testing.assert_close(
        s.stereo.image, torch.from_numpy(right).permute(2, 0, 1).float() / 255
    )


def test_png16_quantises_to_the_scale_and_npy_is_exact(tmp_path):
    depth = np.array([[1.23456, 0.0], [7.0001, 2.5]] * 3, np.float32)[:, [0, 1, 0, 1, 0, 1, 0, 1]]
    write_folder_sample(tmp_path / "png", "x", rgb(2), depth, depth_scale=1000.0)
    write_folder_sample(tmp_path / "npy", "x", rgb(2), depth, depth_format="npy")
    from_png = FolderDataset(tmp_path / "png")[0].depth[0].numpy()
    from_npy = FolderDataset(tmp_path / "npy")[0].depth[0].numpy()
    np.testing.assert_array_equal(from_npy, depth)
    np.testing.assert_allclose(from_png, np.round(depth * 1000) / 1000, rtol=1e-6)
    assert np.abs(from_png - depth).max() <= 0.0005


def test_root_depth_scale_is_used_when_reading(tmp_path):
    write_folder_meta(tmp_path, depth_scale=256.0)
    write_folder_sample(tmp_path, "x", rgb(3), np.full((H, W), 2.0, np.float32), depth_scale=256.0)
    assert torch.all(FolderDataset(tmp_path)[0].depth == 2.0)


def test_root_K_and_per_sample_override(tmp_path):
    write_folder_meta(tmp_path, fx=100.0, fy=101.0, cx=3.0, cy=2.0)
    write_folder_sample(tmp_path, "a", rgb(1))
    write_folder_sample(tmp_path, "b", rgb(2), K=K)
    ds = FolderDataset(tmp_path)
    torch.testing.assert_close(ds[0].K, torch.tensor([[100.0, 0, 3.0], [0, 101.0, 2.0], [0, 0, 1]]))
    torch.testing.assert_close(ds[1].K, torch.from_numpy(K).float())


def test_sample_without_depth_or_K_is_all_invalid(tmp_path):
    write_folder_sample(tmp_path, "a", rgb(1))
    s = FolderDataset(tmp_path)[0]
    assert s.K is None and not s.mask.any() and torch.all(s.depth == 0)


def test_split_files_keep_their_order(tmp_path):
    for name in ("a", "b", "c"):
        write_folder_sample(tmp_path, name, rgb(0))
    write_split(tmp_path, "val", ["c", "a"])
    assert FolderDataset(tmp_path).ids == ["a", "b", "c"]
    assert FolderDataset(tmp_path, split="val").ids == ["c", "a"]
    assert open_dataset("folder", str(tmp_path), split="val").ids == ["c", "a"]


def test_neighbours_stay_within_their_sequence(tmp_path):
    for seq in ("s0", "s1"):
        for k in range(3):
            write_folder_sample(tmp_path, f"{seq}/{k:06d}", rgb(k), pose=pose(0.1 * k))
    ds = FolderDataset(tmp_path, neighbour_offsets=(-1, 1))
    assert ds.ids == ["s0/000001", "s1/000001"]
    s = ds[0]
    assert s.neighbours.shape == (2, 3, H, W)
    torch.testing.assert_close(
        s.neighbours[0], torch.from_numpy(rgb(0)).permute(2, 0, 1).float() / 255
    )
    torch.testing.assert_close(
        s.neighbours[1], torch.from_numpy(rgb(2)).permute(2, 0, 1).float() / 255
    )
    torch.testing.assert_close(
        s.neighbour_poses, torch.from_numpy(np.stack([pose(0.0), pose(0.2)])).float()
    )


# ---- bad folders --------------------------------------------------------------------------------


def test_folder_without_images(tmp_path):
    with pytest.raises(DataError, match="no images/ folder"):
        FolderDataset(tmp_path)


def test_unknown_split_and_unknown_ids(tmp_path):
    write_folder_sample(tmp_path, "a", rgb(0))
    with pytest.raises(DataError, match=r"splits/test\.txt: split 'test' not found"):
        FolderDataset(tmp_path, split="test")
    write_split(tmp_path, "bad", ["a", "zz"])
    with pytest.raises(DataError, match="1 ids without an image, e.g. 'zz'"):
        FolderDataset(tmp_path, split="bad")


def test_depth_of_another_size(tmp_path):
    write_folder_sample(tmp_path, "a", rgb(0), np.ones((H + 1, W), np.float32))
    with pytest.raises(DataError, match=f"depth is {W}×{H + 1} but the image is {W}×{H}"):
        FolderDataset(tmp_path)[0]


def test_eight_bit_depth_png(tmp_path):
    from PIL import Image

    write_folder_sample(tmp_path, "a", rgb(0))
    (tmp_path / "depth").mkdir()
    Image.fromarray(np.full((H, W), 9, np.uint8)).save(tmp_path / "depth" / "a.png")
    with pytest.raises(DataError, match="8-bit PNG cannot hold depth"):
        FolderDataset(tmp_path)[0]


def test_right_view_needs_a_baseline(tmp_path):
    write_folder_sample(tmp_path, "a", rgb(0), right=rgb(1))
    with pytest.raises(DataError, match="right/ views need a 'baseline' in metres"):
        FolderDataset(tmp_path)[0]


def test_bad_intrinsics_and_meta(tmp_path):
    write_folder_sample(tmp_path, "a", rgb(0))
    (tmp_path / "intrinsics").mkdir()
    (tmp_path / "intrinsics" / "a.json").write_text(json.dumps({"fx": 1.0, "cx": 2.0}))
    with pytest.raises(DataError, match=r"a\.json: intrinsics lack fy, cy"):
        FolderDataset(tmp_path)[0]
    (tmp_path / "intrinsics" / "a.json").write_text(json.dumps({"K": [[1, 0], [0, 1]]}))
    with pytest.raises(DataError, match=r"K must be 3×3, got shape \(2, 2\)"):
        FolderDataset(tmp_path)[0]
    (tmp_path / "depthforge.json").write_text("{not json")
    with pytest.raises(DataError, match=r"depthforge\.json: not valid JSON"):
        FolderDataset(tmp_path)


def test_bad_pose_file(tmp_path):
    write_folder_sample(tmp_path, "a", rgb(0))
    (tmp_path / "poses").mkdir()
    Path(tmp_path / "poses" / "a.txt").write_text("1 2 3\n")
    with pytest.raises(DataError, match=r"a\.txt: expected a 4×4 pose matrix"):
        FolderDataset(tmp_path)[0]


def test_unknown_depth_format_is_refused_on_write(tmp_path):
    with pytest.raises(ValueError, match="depth_format must be 'png16' or 'npy', got 'exr'"):
        write_folder_sample(tmp_path, "a", rgb(0), np.ones((H, W), np.float32), depth_format="exr")
