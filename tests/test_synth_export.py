"""Specification of ``write_synth_folder``: the folder format round trip, splits, sequences with
neighbours, stereo, the DIW CSV and the progress callback."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from depthforge.data.diw import read_diw_csv
from depthforge.data.folder import FolderDataset
from depthforge.synth.dataset import SynthDataset
from depthforge.synth.export import write_synth_folder

OPTIONS = {"scenes": 2, "size": (32, 24), "frames": 3, "seed": 3}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    calls = []
    root = write_synth_folder(
        out, **OPTIONS, stereo=True, kind="outdoor", pairs=4, progress=lambda *a: calls.append(a)
    )
    return root, calls


def test_progress_counts_every_frame(exported):
    _, calls = exported
    assert calls == [(i, 6) for i in range(1, 7)]


def test_folder_round_trip_reproduces_the_samples(exported):
    root, _ = exported
    source = SynthDataset(**OPTIONS, stereo=True, kind="outdoor", pairs=4)
    folder = FolderDataset(root)
    assert list(folder.ids) == list(source.ids)
    meta = json.loads((root / "depthforge.json").read_text())
    assert meta["depth_scale"] == 256.0 and meta["baseline"] == pytest.approx(0.54)
    assert meta["labels"]["0"] == "sky" and meta["synth"]["kind"] == "outdoor"
    for index in range(len(source)):
        want, got = source[index], folder[index]
        # 8-bit RGB: at most half a quantisation step away.
        assert (got.image - want.image).abs().max() <= 0.5 / 255 + 1e-6
        # 16-bit depth at 1/256 m: at most half a step away; the same pixels are valid.
        assert torch.equal(got.mask, want.mask)
        assert (got.depth - want.depth).abs().max() <= 0.5 / 256 + 1e-5
        assert torch.allclose(got.K, want.K) and torch.allclose(got.pose, want.pose, atol=1e-6)
        assert torch.equal(got.normals, want.normals) and torch.equal(got.labels, want.labels)
        assert (got.stereo.image - want.stereo.image).abs().max() <= 0.5 / 255 + 1e-6


def test_sequences_give_neighbours_to_the_folder_reader(exported):
    root, _ = exported
    video = FolderDataset(root, neighbour_offsets=(-1, 1))
    assert list(video.ids) == ["scene_000/000001", "scene_001/000001"]  # interior frames only
    sample = video[0]
    assert sample.neighbours.shape == (2, 3, 24, 32) and sample.neighbour_poses.shape == (2, 4, 4)


def test_splits_hold_out_the_last_scene(exported):
    root, _ = exported
    assert FolderDataset(root, "train").ids == [f"scene_000/{f:06d}" for f in range(3)]
    assert FolderDataset(root, "val").ids == [f"scene_001/{f:06d}" for f in range(3)]


def test_diw_csv_holds_the_ordinal_pairs(exported):
    root, _ = exported
    source = SynthDataset(**OPTIONS, kind="outdoor", pairs=4)
    records = read_diw_csv(root / "relative_depth.csv")
    assert [r.image_path for r in records] == [f"images/{i}.png" for i in source.ids]
    first = records[0]
    np.testing.assert_array_equal(first.pairs, source[0].pairs.numpy())
    np.testing.assert_array_equal(first.relations, source[0].relations.numpy())
    assert (first.width, first.height) == (32, 24)
    assert all((root / r.image_path).is_file() for r in records)


def test_indoor_export_uses_millimetres_and_a_single_scene_has_no_val_split(tmp_path):
    root = write_synth_folder(tmp_path, scenes=1, size=(16, 12), frames=2, pairs=0)
    meta = json.loads((root / "depthforge.json").read_text())
    assert meta["depth_scale"] == 1000.0 and "baseline" not in meta
    assert (root / "splits" / "train.txt").is_file() and not (root / "splits" / "val.txt").exists()
    assert not (root / "relative_depth.csv").exists() and not (root / "right").exists()
