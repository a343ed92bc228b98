"""COLMAP dense workspaces (MegaDepth-style data): files written here byte by byte in COLMAP's
formats, read back and checked against hand computation."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import torch
from PIL import Image

from depthforge.data.collate import collate_samples
from depthforge.data.colmap import ColmapMVS, filter_depth, read_dense_map
from depthforge.errors import DataError
from depthforge.losses import megadepth_loss
from depthforge.train.strategies.megadepth import MegaDepthMixed, pairs_at
from depthforge.types import OutputSpace

H, W = 6, 8


def write_dense_map(path, depth: np.ndarray) -> None:
    """COLMAP ``write_array``: header ``W&H&1&`` then float32 in Fortran order of (W, H, 1)."""
    header = f"{depth.shape[1]}&{depth.shape[0]}&1&".encode()
    path.write_bytes(header + depth.T.astype("<f4").tobytes(order="F"))


def write_workspace(root, depth: np.ndarray, model_id=1, params=(10.0, 11.0, 4.0, 3.0)):
    (root / "sparse").mkdir(parents=True)
    (root / "images").mkdir()
    (root / "stereo" / "depth_maps").mkdir(parents=True)
    with open(root / "sparse" / "cameras.bin", "wb") as fh:
        fh.write(struct.pack("<Q", 1))
        fh.write(struct.pack("<iiQQ", 7, model_id, W, H))
        fh.write(struct.pack(f"<{len(params)}d", *params))
    # world-to-camera: rotation of 90° about z (q = (cos 45°, 0, 0, sin 45°)), t = (1, 2, 3)
    q = (np.cos(np.pi / 4), 0.0, 0.0, np.sin(np.pi / 4))
    with open(root / "sparse" / "images.bin", "wb") as fh:
        fh.write(struct.pack("<Q", 1))
        fh.write(struct.pack("<idddddddi", 3, *q, 1.0, 2.0, 3.0, 7))
        fh.write(b"frame.png\x00")
        fh.write(struct.pack("<Q", 1) + struct.pack("<ddq", 1.5, 2.5, -1))
    Image.fromarray(np.full((H, W, 3), 90, np.uint8)).save(root / "images" / "frame.png")
    write_dense_map(root / "stereo" / "depth_maps" / "frame.png.geometric.bin", depth)


def test_dense_map_layout_is_column_major(tmp_path):
    depth = np.arange(H * W, dtype=np.float32).reshape(H, W) + 1.0
    write_dense_map(tmp_path / "d.bin", depth)
    np.testing.assert_array_equal(read_dense_map(tmp_path / "d.bin"), depth)
    (tmp_path / "bad.bin").write_bytes(b"8&6&1&" + b"\x00" * 10)
    with pytest.raises(DataError, match="expected 8×6×1 floats"):
        read_dense_map(tmp_path / "bad.bin")


def test_workspace_sample_has_intrinsics_pose_and_filtered_depth(tmp_path):
    depth = np.full((H, W), 4.0, np.float32)
    depth[2, 3] = 40.0  # an isolated MVS outlier
    depth[0, :] = 0.0  # no depth on the first row
    write_workspace(tmp_path, depth)
    sample = ColmapMVS(tmp_path)[0]
    # COLMAP's principal point is measured from the pixel corner: −0.5 for integer centres
    torch.testing.assert_close(sample.K, torch.tensor([[10.0, 0, 3.5], [0, 11.0, 2.5], [0, 0, 1]]))
    # camera centre = −Rᵀt with R a 90° turn about z: Rᵀ(1, 2, 3) = (2, −1, 3)
    torch.testing.assert_close(sample.pose[:3, 3], torch.tensor([-2.0, 1.0, -3.0]))
    assert not sample.mask[0, 2, 3] and not sample.mask[0, 0].any()
    assert int(sample.mask.sum()) == H * W - W - 1 and sample.meta["euclidean"]


def test_distorted_cameras_are_refused_with_the_fix(tmp_path):
    write_workspace(tmp_path, np.ones((H, W), np.float32), model_id=2, params=(10.0, 4.0, 3.0, 0.1))
    with pytest.raises(DataError, match="image_undistorter"):
        ColmapMVS(tmp_path)[0]


def test_filter_keeps_smooth_slopes_and_drops_spikes():
    slope = np.tile(np.linspace(2.0, 3.0, W, dtype=np.float32), (H, 1))
    assert (filter_depth(slope) > 0).all()
    spiky = slope.copy()
    spiky[3, 4] = 0.5
    kept = filter_depth(spiky) > 0
    assert not kept[3, 4] and kept.sum() == H * W - 1


def test_ordinal_pairs_put_background_behind_foreground(tmp_path):
    depth = np.full((H, W), 5.0, np.float32)
    depth[:, :6] = 0.0  # a large transient object without MVS depth: 25 % of pixels keep depth
    write_workspace(tmp_path, depth)
    labels = np.zeros((H, W), np.uint8)
    labels[:, :6] = 9
    (tmp_path / "labels").mkdir()
    Image.fromarray(labels).save(tmp_path / "labels" / "frame.png")
    sample = ColmapMVS(tmp_path, foreground_labels=[9], pairs=20)[0]
    assert sample.pairs.shape == (20, 4)
    assert (sample.pairs[:, 1] >= 6).all() and (sample.pairs[:, 3] < 6).all()
    assert (sample.relations == 1).all()  # +1: A (background) is farther
    assert not sample.meta["euclidean"]  # 25 % < 30 %: an ordinal image


def test_pairs_move_to_the_prediction_grid_by_pixel_centres():
    pairs = torch.tensor([[[0, 0, 5, 7], [3, 4, 2, 1]]])
    # 6×8 → 3×4: y' = floor((y + ½)/2), x' = floor((x + ½)/2)
    assert pairs_at(pairs, (6, 8), (3, 4)).tolist() == [[[0, 0, 2, 3], [1, 2, 1, 0]]]


class Constant(torch.nn.Module):
    """Predicts one learnable log depth everywhere, at half resolution."""

    def __init__(self):
        super().__init__()
        self.value = torch.nn.Parameter(torch.tensor(1.0))

    def forward(self, images):
        return self.value * torch.ones_like(images[:, :1, ::2, ::2])


def test_strategy_supervises_each_image_one_way(tmp_path):
    dense = np.full((H, W), 5.0, np.float32)
    ordinal = dense.copy()
    ordinal[:, :6] = 0.0
    samples = []
    for name, depth in (("dense", dense), ("ordinal", ordinal)):
        write_workspace(tmp_path / name, depth)
        labels = np.zeros((H, W), np.uint8)
        labels[:, :6] = 9
        (tmp_path / name / "labels").mkdir()
        Image.fromarray(labels).save(tmp_path / name / "labels" / "frame.png")
        samples.append(ColmapMVS(tmp_path / name, foreground_labels=[9], pairs=4)[0])
    batch = collate_samples(samples)
    strategy = MegaDepthMixed(OutputSpace.LOG_DEPTH)
    loss, logs = strategy(Constant(), batch)
    assert logs["euclidean_share"] == 0.5
    # Independent of the strategy: the loss called on hand-resampled inputs.
    pred = torch.ones(2, 1, 3, 4)
    gt = batch.depth[:, :, ::2, ::2]
    mask = batch.mask[:, :, ::2, ::2]
    pairs = torch.div(batch.pairs, 2, rounding_mode="floor")
    want = megadepth_loss(
        pred,
        gt,
        mask,
        pairs,
        batch.relations,
        batch.pair_mask,
        euclidean=torch.tensor([True, False]),
    )
    torch.testing.assert_close(loss, want)
