"""``inspect``: statistics that match the files, and warnings for the usual unit mistakes."""

from __future__ import annotations

import numpy as np
import pytest

from depthforge.data.folder import FolderDataset, write_folder_meta, write_folder_sample
from depthforge.data.inspect import inspect_dataset


def make_folder(root, depth_m, *, scale_on_disk=1000.0, declared_scale=1000.0, fx=50.0):
    write_folder_meta(root, depth_scale=scale_on_disk, K=[[fx, 0, 15.5], [0, fx, 11.5], [0, 0, 1]])
    rng = np.random.default_rng(0)
    for i, d in enumerate(depth_m):
        write_folder_sample(root, f"{i:03d}", rng.integers(0, 255, (24, 32, 3), dtype=np.uint8), d)
    if declared_scale != scale_on_disk:  # the user declares the wrong units afterwards
        (root / "depthforge.json").write_text(
            f'{{"depth_scale": {declared_scale}, "K": [[{fx}, 0, 15.5], [0, {fx}, 11.5], [0, 0, 1]]}}'
        )
    return FolderDataset(root)


def test_statistics_match_the_depth_written(tmp_path):
    depths = [np.full((24, 32), 2.0, np.float32), np.full((24, 32), 4.0, np.float32)]
    depths[1][:12] = 0.0  # half of the second image has no depth
    stats = inspect_dataset(make_folder(tmp_path, depths))
    assert (stats.count, stats.inspected) == (2, 2)
    assert stats.valid_fraction == pytest.approx(0.75)
    assert (stats.depth_min, stats.depth_max) == (2.0, 4.0)
    assert stats.image_sizes == {"32x24": 2}
    assert stats.warnings == []


def test_millimetres_read_as_metres_is_flagged(tmp_path):
    depths = [np.full((24, 32), 2.5, np.float32)]
    stats = inspect_dataset(make_folder(tmp_path, depths, declared_scale=1.0))
    assert stats.depth_percentiles[50] == pytest.approx(2500.0)
    assert any("millimetres read as metres" in w for w in stats.warnings)


def test_intrinsics_for_another_image_size_are_flagged(tmp_path):
    # fx = 525 px (a 640×480 Kinect) on a 32 px wide image is a 3.5° field of view: K was not
    # scaled with the image
    stats = inspect_dataset(make_folder(tmp_path, [np.full((24, 32), 2.0, np.float32)], fx=525.0))
    assert any("field of view" in w for w in stats.warnings)


def test_samples_without_depth_are_counted(tmp_path):
    stats = inspect_dataset(
        make_folder(tmp_path, [np.zeros((24, 32), np.float32), np.ones((24, 32), np.float32)])
    )
    assert stats.empty_ids == ["000"]
    assert any("1 inspected samples have no valid depth" in w for w in stats.warnings)
