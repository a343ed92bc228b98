"""NYU Depth v2 labeled reader: MATLAB axis order, 1-based splits, 0-based ids, K, lazy HDF5."""

from __future__ import annotations

import pickle
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io
import torch

from depthforge.data.nyu import NYULabeled, nyu_rgb_intrinsics
from depthforge.data.registry import open_dataset
from depthforge.errors import DataError
from depthforge.io.matlab import load_mat_v5, one_based_indices

N, H, W = 3, 480, 640


def matlab_image(i: int) -> np.ndarray:
    """Frame i as MATLAB holds it, (H, W, 3): a value that encodes row, column, channel and frame."""
    r, c, ch = np.meshgrid(np.arange(H), np.arange(W), np.arange(3), indexing="ij")
    return ((r + 2 * c + 50 * ch + 7 * i) % 256).astype(np.uint8)


def matlab_depth(i: int) -> np.ndarray:
    """Depth of frame i as MATLAB holds it, (H, W), metres."""
    r, c = np.meshgrid(np.arange(H), np.arange(W), indexing="ij")
    return (1.0 + i + r / 1000.0 + c / 100000.0).astype(np.float32)


def write_labeled_mat(path: Path, fields=("images", "depths", "rawDepths"), transpose=True) -> Path:
    """A v7.3-like file: MATLAB's H×W×3×N array is seen by h5py with its axes reversed (N, 3, W, H)."""
    images = np.stack([matlab_image(i) for i in range(N)], axis=-1)  # (H, W, 3, N), MATLAB order
    depths = np.stack([matlab_depth(i) for i in range(N)], axis=-1)  # (H, W, N)
    raw = depths.copy()
    raw[:10, :20, :] = 0.0  # holes
    arrays = {"images": images, "depths": depths, "rawDepths": raw}
    with h5py.File(path, "w") as f:
        for name in fields:
            a = arrays[name]
            f.create_dataset(name, data=a.transpose(*reversed(range(a.ndim))) if transpose else a)
    return path


@pytest.fixture
def nyu_root(tmp_path: Path) -> Path:
    write_labeled_mat(tmp_path / "nyu_depth_v2_labeled.mat")
    scipy.io.savemat(
        tmp_path / "splits.mat",
        {"trainNdxs": np.array([[1], [3]], np.uint16), "testNdxs": np.array([[2]], np.uint16)},
    )
    return tmp_path


def test_frames_come_out_in_matlab_orientation(nyu_root):
    ds = NYULabeled(nyu_root)
    assert len(ds) == N
    assert ds.ids == ["00000", "00001", "00002"]
    for i in range(N):
        s = ds[i]
        assert s.image.shape == (3, H, W) and s.depth.shape == (1, H, W)
        expected = torch.from_numpy(matlab_image(i)).permute(2, 0, 1).float() / 255.0
        torch.testing.assert_close(s.image, expected)
        torch.testing.assert_close(s.depth[0], torch.from_numpy(matlab_depth(i)))
        assert s.mask.all()


def test_pixel_row_5_column_7_of_frame_1_by_hand(nyu_root):
    s = NYULabeled(nyu_root)[1]
    # (r + 2c + 50·ch + 7·i) % 256 at r=5, c=7, i=1: ch0 = 26, ch1 = 76, ch2 = 126
    assert (s.image[:, 5, 7] * 255).round().tolist() == [26.0, 76.0, 126.0]
    assert s.depth[0, 5, 7].item() == pytest.approx(1.0 + 1 + 0.005 + 0.00007)


def test_splits_are_one_based_and_ids_zero_based(nyu_root):
    train = NYULabeled(nyu_root, split="train")
    test = NYULabeled(nyu_root, split="test")
    assert train.ids == ["00000", "00002"] and test.ids == ["00001"]
    s = test[0]
    assert s.meta["mat_index"] == 2 and s.id == "00001"
    torch.testing.assert_close(s.depth[0], torch.from_numpy(matlab_depth(1)))


def test_raw_variant_keeps_holes_invalid(nyu_root):
    s = NYULabeled(nyu_root, depth_variant="raw")[0]
    assert s.meta["depth_kind"] == "raw" and s.meta["depth_field"] == "rawDepths"
    assert not s.mask[0, :10, :20].any() and (s.depth[0, :10, :20] == 0).all()
    assert s.mask[0, 10:, :].all()
    assert NYULabeled(nyu_root)[0].meta["depth_kind"] == "filled"


def test_meta_and_intrinsics(nyu_root):
    s = NYULabeled(nyu_root)[2]
    assert s.meta["dataset"] == "nyu" and s.meta["id"] == "00002" and s.meta["mat_index"] == 3
    assert s.meta["source"].endswith("nyu_depth_v2_labeled.mat")
    # camera_params.m values; cx, cy moved from MATLAB's 1-based grid to 0-based pixel centres.
    expected = torch.tensor(
        [[518.857901, 0, 324.582449], [0, 519.469611, 252.736166], [0, 0, 1]], dtype=torch.float32
    )
    torch.testing.assert_close(s.K, expected)
    torch.testing.assert_close(nyu_rgb_intrinsics(), expected)


def test_registry_opens_it(nyu_root):
    ds = open_dataset("nyu", str(nyu_root), split="test", depth_variant="raw")
    assert isinstance(ds, NYULabeled) and ds.ids == ["00001"]


def test_dataset_pickles_without_its_file_handle_and_reads_after(nyu_root):
    ds = NYULabeled(nyu_root)
    first = ds[0]
    copy = pickle.loads(pickle.dumps(ds))
    assert copy._handle is None
    torch.testing.assert_close(copy[0].depth, first.depth)


# ---- bad inputs ---------------------------------------------------------------------------------


def test_unknown_split(nyu_root):
    with pytest.raises(DataError, match="unknown split 'val'; known: train, test or None"):
        NYULabeled(nyu_root, split="val")


def test_unknown_depth_variant(nyu_root):
    with pytest.raises(DataError, match="depth_variant must be one of filled, raw, got 'dense'"):
        NYULabeled(nyu_root, depth_variant="dense")


def test_missing_mat_file(tmp_path):
    with pytest.raises(DataError, match=r"nyu_depth_v2_labeled\.mat: file not found"):
        NYULabeled(tmp_path)


def test_missing_field_is_named(tmp_path):
    write_labeled_mat(tmp_path / "nyu_depth_v2_labeled.mat", fields=("images", "depths"))
    NYULabeled(tmp_path)  # the filled variant does not need rawDepths
    with pytest.raises(DataError, match=r"nyu_depth_v2_labeled\.mat: has no field rawDepths"):
        NYULabeled(tmp_path, depth_variant="raw")


def test_untransposed_layout_is_refused(tmp_path):
    write_labeled_mat(tmp_path / "nyu_depth_v2_labeled.mat", transpose=False)
    with pytest.raises(
        DataError, match=r"images must be \(N, 3, 640, 480\).*got \(480, 640, 3, 3\)"
    ):
        NYULabeled(tmp_path)


def test_not_hdf5(tmp_path):
    (tmp_path / "nyu_depth_v2_labeled.mat").write_bytes(
        b"MATLAB 5.0 MAT-file, not HDF5" + bytes(200)
    )
    with pytest.raises(DataError, match="not a MATLAB v7.3 \\(HDF5\\) file"):
        NYULabeled(tmp_path)


def test_missing_splits_file(tmp_path):
    write_labeled_mat(tmp_path / "nyu_depth_v2_labeled.mat")
    with pytest.raises(DataError, match=r"splits\.mat: file not found"):
        NYULabeled(tmp_path, split="train")


def test_split_without_its_field(nyu_root):
    scipy.io.savemat(nyu_root / "splits.mat", {"trainNdxs": np.array([[1]], np.uint16)})
    with pytest.raises(DataError, match=r"splits\.mat: has no variable testNdxs"):
        NYULabeled(nyu_root, split="test")


def test_split_index_out_of_range(nyu_root):
    scipy.io.savemat(
        nyu_root / "splits.mat", {"trainNdxs": np.array([[1], [4]]), "testNdxs": [[0]]}
    )
    with pytest.raises(DataError, match=r"trainNdxs must hold integers in 1\.\.3"):
        NYULabeled(nyu_root, split="train")
    with pytest.raises(DataError, match=r"testNdxs must hold integers in 1\.\.3"):
        NYULabeled(nyu_root, split="test")


def test_hdf5_splits_file_is_refused_with_the_reason(nyu_root):
    (nyu_root / "splits.mat").unlink()
    with h5py.File(nyu_root / "splits.mat", "w") as f:
        f.create_dataset("trainNdxs", data=np.array([[1, 3]]))
    with pytest.raises(DataError, match=r"is a MATLAB v7\.3 \(HDF5\) file; expected a v5 \.mat"):
        NYULabeled(nyu_root, split="train")


# ---- the real official split file (shared_data/nyu_splits/SOURCE.md) ---------------------------


def test_real_splits_mat_is_the_official_795_654_split(shared_data):
    path = shared_data / "nyu_splits" / "splits.mat"
    fields = load_mat_v5(path, ["trainNdxs", "testNdxs"])
    train = one_based_indices(fields["trainNdxs"], path, "trainNdxs", 1449)
    test = one_based_indices(fields["testNdxs"], path, "testNdxs", 1449)
    assert len(train) == 795 and len(test) == 654
    assert not set(train) & set(test)
    assert sorted(set(train) | set(test)) == list(range(1, 1450))
    assert test[:4].tolist() == [1, 2, 9, 14]
    assert train[:7].tolist() == [3, 4, 5, 6, 7, 8, 10]


def test_real_bts_test_list_uses_zero_based_numbers(shared_data):
    """BTS's file numbers + 1 are the testNdxs: the reason our ids are 0-based."""
    path = shared_data / "nyu_splits" / "splits.mat"
    test = set(load_mat_v5(path, ["testNdxs"])["testNdxs"].reshape(-1).tolist())
    lines = (
        (shared_data / "nyu_splits" / "nyudepthv2_test_files_with_gt.txt").read_text().split("\n")
    )
    numbers = [
        int(line.split()[0].rsplit("_", 1)[1].split(".")[0]) for line in lines if line.strip()
    ]
    assert len(numbers) == 654
    assert {n + 1 for n in numbers} == test


def test_depth_only_samples_skip_the_rgb_frames(nyu_root):
    full, depth_only = NYULabeled(nyu_root), NYULabeled(nyu_root).with_fields("depth")
    a, b = full[2], depth_only[2]
    torch.testing.assert_close(a.depth, b.depth)
    assert tuple(b.image.shape) == (3, 0, 0) and a.meta == b.meta
