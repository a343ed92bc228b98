"""Datasets asked for some fields only skip reading the others (what evaluation needs)."""

from __future__ import annotations

import numpy as np
import pytest

from depthforge.data.folder import FolderDataset, write_folder_sample
from depthforge.errors import DataError, UnknownNameError
from depthforge.eval import evaluate_predictions, save_prediction


@pytest.fixture
def folder(tmp_path):
    """Two samples with RGB, depth, K, pose, normals and labels."""
    rng = np.random.default_rng(0)
    root = tmp_path / "data"
    for sid in ("s/000", "s/001"):
        write_folder_sample(
            root,
            sid,
            rng.integers(0, 255, (6, 8, 3), dtype=np.uint8),
            rng.uniform(1.0, 3.0, (6, 8)).astype(np.float32),
            K=np.array([[5.0, 0, 4], [0, 5, 3], [0, 0, 1]]),
            pose=np.eye(4),
            normals=np.tile(np.array([0, 0, -1], np.float32)[:, None, None], (1, 6, 8)),
            labels=rng.integers(0, 5, (6, 8)),
        )
    return root


def test_depth_only_samples_carry_the_same_depth_and_nothing_else(folder):
    full = FolderDataset(folder)
    depth_only = full.with_fields("depth")
    a, b = full[1], depth_only[1]
    assert (a.depth == b.depth).all() and (a.mask == b.mask).all() and a.id == b.id
    assert a.normals is not None and a.labels is not None and a.pose is not None
    assert b.normals is None and b.labels is None and b.pose is None and b.K is None
    assert tuple(b.image.shape) == (3, 0, 0)
    assert full.fields is None and full[1].normals is not None  # the original is unchanged


def test_fields_not_asked_for_are_not_even_opened(folder):
    (folder / "normals" / "s" / "000.npy").write_bytes(b"broken")
    png = folder / "images" / "s" / "000.png"
    png.write_bytes(png.read_bytes()[:60])  # the header survives, the pixels do not
    with pytest.raises(DataError):
        FolderDataset(folder)[0]
    sample = FolderDataset(folder).with_fields("depth")[0]
    assert tuple(sample.depth.shape) == (1, 6, 8)


def test_evaluation_reads_only_the_depth(folder, tmp_path):
    ds = FolderDataset(folder)
    for i in range(len(ds)):
        save_prediction(tmp_path / "pred", ds.ids[i], ds[i].depth[0] * 1.1)
    (folder / "normals" / "s" / "001.npy").write_bytes(b"broken")
    (folder / "labels" / "s" / "000.png").write_bytes(b"broken")
    result = evaluate_predictions(tmp_path / "pred", ds, "dense")
    assert result.metrics["abs_rel"] == pytest.approx(0.1, rel=1e-6)


def test_an_unknown_field_is_refused_with_the_nearest_name(folder):
    with pytest.raises(UnknownNameError, match="normals"):
        FolderDataset(folder).with_fields("normal")
