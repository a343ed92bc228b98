"""KITTI: calibration parsing, velodyne → depth as monodepth2, split files, the raw reader."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from depthforge.data.kitti import KittiRaw
from depthforge.data.kitti_calib import (
    object_frame_depth_map,
    project_velodyne,
    rasterize_sparse_depth,
    read_calib_file,
    read_object_calibration,
    read_raw_calibration,
    read_velodyne_points,
    velodyne_depth_map,
)
from depthforge.data.registry import open_dataset
from depthforge.data.splits import read_kitti_split
from depthforge.errors import DataError

DATE = "2011_09_26"
DRIVE = "2011_09_26_drive_0001_sync"
FRAMES = ("000000", "000001", "000002")


def object_dir(shared_data: Path) -> Path:
    return shared_data / "kitti_object_samples" / "training"


def raw_calib_dir(shared_data: Path) -> Path:
    return shared_data / "kitti_raw_calib_2011_09_26" / DATE


def monodepth2_reference(points, P, shape, vel_depth):
    """Per-point transcription of monodepth2 ``generate_depth_map`` (REFERENCE.md §9)."""
    h, w = shape
    kept = []
    for x, y, z, _ in points.tolist():
        if x < 0:
            continue
        a, b, c = (P @ np.array([x, y, z, 1.0])).tolist()
        u, v = round(a / c) - 1, round(b / c) - 1  # Python round: half to even, like np.round
        if 0 <= u < w and 0 <= v < h:
            kept.append((u, v, x if vel_depth else c))
    depth = np.zeros(shape)
    groups: dict[int, list[int]] = {}
    for k, (u, v, d) in enumerate(kept):
        depth[v, u] = d  # last point wins
        groups.setdefault(v * (w - 1) + u - 1, []).append(k)  # sub2ind with the (W - 1) quirk
    for members in groups.values():
        if len(members) > 1:
            u, v, _ = kept[members[0]]
            depth[v, u] = min(kept[k][2] for k in members)
    depth[depth < 0] = 0
    return depth


# ---------------------------------------------------------------- calibration files


def test_read_calib_file_numbers_text_and_missing_key(tmp_path):
    path = tmp_path / "calib.txt"
    path.write_text(
        "calib_time: 09-Jan-2012 13:57:47\nS_rect_02: 1.242e+03 3.75e+02\nR: 1 0 0 0 1 0 0 0 1\n"
    )
    calib = read_calib_file(path)
    assert calib.values["calib_time"] == "09-Jan-2012 13:57:47"
    np.testing.assert_array_equal(calib.values["S_rect_02"], [1242.0, 375.0])
    np.testing.assert_array_equal(calib.matrix("R", (3, 3)), np.eye(3))
    with pytest.raises(DataError, match="'P_rect_02' is missing") as err:
        calib.matrix("P_rect_02", (3, 4))
    assert err.value.path == path
    with pytest.raises(DataError, match="must hold 12 numbers"):
        calib.matrix("R", (3, 4))


def test_raw_calibration_missing_key_names_file_and_key(tmp_path, shared_data):
    text = (raw_calib_dir(shared_data) / "calib_cam_to_cam.txt").read_text()
    (tmp_path / "calib_cam_to_cam.txt").write_text(
        "\n".join(line for line in text.splitlines() if not line.startswith("P_rect_02"))
    )
    shutil.copy(raw_calib_dir(shared_data) / "calib_velo_to_cam.txt", tmp_path)
    with pytest.raises(DataError, match="'P_rect_02' is missing") as err:
        read_raw_calibration(tmp_path)
    assert err.value.path == tmp_path / "calib_cam_to_cam.txt"


def test_raw_and_object_calibration_agree_for_frame_000001(shared_data):
    raw = read_raw_calibration(raw_calib_dir(shared_data))
    obj = read_object_calibration(object_dir(shared_data) / "calib" / "000001.txt")
    np.testing.assert_allclose(raw.velo_to_image(2), obj.velo_to_image(2), rtol=0, atol=1e-12)
    assert raw.image_sizes[2] == (375, 1242)  # S_rect_02 = 1242 × 375, reversed
    K = raw.intrinsics(2)
    np.testing.assert_allclose(
        K[[0, 1, 0, 1], [0, 1, 2, 2]], [721.5377, 721.5377, 609.5593, 172.854]
    )
    assert raw.baseline(2, 3) == pytest.approx(0.5327, abs=5e-5)


def test_velodyne_bin_of_wrong_size_is_refused(tmp_path):
    path = tmp_path / "scan.bin"
    path.write_bytes(b"\0" * 20)
    with pytest.raises(DataError, match="multiple of 16"):
        read_velodyne_points(path)


# ---------------------------------------------------------------- velodyne -> depth map


def test_rasterize_hand_computed_last_wins_duplicates_quirk_and_rounding():
    # H = 3, W = 4; pixel = (round(raw) - 1) with half-to-even rounding.
    uvz = np.array(
        [
            [1.5, 1.0, 3.0],  # round(1.5)=2 -> u=1, v=0
            [2.5, 1.0, 5.0],  # round(2.5)=2 -> same pixel; last wins (5) then duplicate min (3)
            [1.0, 2.0, 7.0],  # (v=1, u=0): sub2ind 1·3 + 0 − 1 = 2
            [4.0, 1.0, 4.0],  # (v=0, u=3): sub2ind 0·3 + 3 − 1 = 2 -> quirk group with the above
            [0.4, 1.0, 8.0],  # round(0.4)=0 -> u=-1: outside
            [3.0, 3.0, -1.0],  # (v=2, u=2): negative depth -> 0
            [4.5, 3.0, 9.0],  # round(4.5)=4 -> u=3 inside (half-up would give u=4: outside)
            [3.5, 4.0, 6.0],  # round(3.5)=4 -> u=3, round(4.0)-1=3 -> v=3: outside
        ]
    )
    expected = np.zeros((3, 4))
    expected[0, 1] = 3.0
    expected[1, 0] = 4.0  # min(7, 4) written at the first point's pixel of the quirk group
    expected[0, 3] = 4.0  # the second point's own pixel keeps its value
    expected[2, 3] = 9.0
    np.testing.assert_array_equal(rasterize_sparse_depth(uvz, (3, 4)), expected)


def test_rasterize_matches_per_point_reference_on_hand_points():
    rng = np.random.default_rng(3)
    uvz = np.stack([rng.uniform(-1, 7, 400), rng.uniform(-1, 5, 400), rng.uniform(-1, 9, 400)], 1)
    uvz[:, :2] = np.round(uvz[:, :2] * 2) / 2  # many exact halves and many collisions
    P = np.array([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0]])
    # points with x = 1 (z_cam = 1), so u = y and v = z exactly: the reference sees the same uv
    points = np.stack([np.ones(400), uvz[:, 0], uvz[:, 1], np.zeros(400)], 1)
    expected = monodepth2_reference(points, P, (4, 6), vel_depth=True)
    uvz_ref = project_velodyne(points, P, "velodyne_x")
    np.testing.assert_array_equal(rasterize_sparse_depth(uvz_ref, (4, 6)), expected)


@pytest.mark.parametrize("frame", FRAMES)
def test_depth_map_equals_monodepth2_per_point_reference_on_real_scans(shared_data, frame):
    d = object_dir(shared_data)
    calib = read_object_calibration(d / "calib" / f"{frame}.txt")
    points = read_velodyne_points(d / "velodyne" / f"{frame}.bin")
    w, h = Image.open(d / "image_2" / f"{frame}.png").size
    P = calib.velo_to_image(2)
    for source, vel_depth in (("velodyne_x", True), ("camera_z", False)):
        ours = velodyne_depth_map(points, P, (h, w), source)
        ref = monodepth2_reference(points, P, (h, w), vel_depth)
        assert ours.dtype == np.float32 and ours.shape == (h, w)
        np.testing.assert_array_equal(ours > 0, ref > 0)
        np.testing.assert_allclose(ours, ref.astype(np.float32), rtol=1e-6, atol=0)


def test_projection_matches_source_md_numbers_for_000001(shared_data):
    d = object_dir(shared_data)
    points = read_velodyne_points(d / "velodyne" / "000001.bin")
    assert len(points) == 120268
    P = read_object_calibration(d / "calib" / "000001.txt").velo_to_image(2)
    u, v, z = project_velodyne(points, P, "camera_z").T
    inside = (u >= 0) & (u < 1242) & (v >= 0) & (v < 375)
    assert inside.sum() == 18630
    assert z[inside].min() == pytest.approx(4.77, abs=0.005)
    assert z[inside].max() == pytest.approx(76.73, abs=0.005)
    assert np.median(z[inside]) == pytest.approx(12.50, abs=0.005)
    # velodyne x vs camera z differ by the LiDAR-camera offset along the optical axis (≈0.27 m)
    x_velo = project_velodyne(points, P, "velodyne_x")[:, 2]
    assert np.median(x_velo[inside] - z[inside]) == pytest.approx(0.27, abs=0.02)


def test_invalid_depth_source_is_refused():
    with pytest.raises(ValueError, match="depth_source"):
        project_velodyne(np.zeros((1, 4)), np.eye(3, 4), "lidar_range")


# ---------------------------------------------------------------- split files


def test_monodepth2_and_bts_eigen_splits(shared_data):
    splits = shared_data / "kitti_splits"
    eigen = read_kitti_split(splits / "monodepth2_splits" / "eigen" / "test_files.txt")
    bench = read_kitti_split(splits / "monodepth2_splits" / "eigen_benchmark" / "test_files.txt")
    bts = read_kitti_split(splits / "bts_train_test_inputs" / "eigen_test_files_with_gt.txt")
    assert (len(eigen), len(bench), len(bts)) == (697, 652, 697)
    assert eigen[0].id == "2011_09_26/2011_09_26_drive_0002_sync 0000000069 l"
    assert bench[0].id == eigen[0].id  # plain "69" in eigen_benchmark -> zero-padded id
    assert eigen[0].cam == 2 and eigen[0].date == DATE
    assert [e.id for e in bts] == [e.id for e in eigen]  # same 697 rows, same order
    no_gt = [e for e in bts if e.gt_path is None]
    assert len(no_gt) == 45
    assert [e.id for e in bts if e.gt_path is not None] == [e.id for e in bench]
    ids = np.load(splits / "monodepth2_splits" / "benchmark" / "eigen_to_benchmark_ids.npy")
    assert [eigen[i].id for i in ids] == [e.id for e in bench]
    first = bts[0]
    assert first.gt_path == (
        "2011_09_26_drive_0002_sync/proj_depth/groundtruth/image_02/0000000069.png"
    )
    assert first.focal == pytest.approx(721.5377)


def test_split_right_side_and_bad_line(tmp_path):
    path = tmp_path / "split.txt"
    path.write_text("2011_09_26/2011_09_26_drive_0001_sync 5 r\n\nimage 3\n")
    with pytest.raises(DataError, match="line 3: expected") as err:
        read_kitti_split(path)
    assert err.value.path == path
    path.write_text("2011_09_26/2011_09_26_drive_0001_sync 5 r\n")
    (entry,) = read_kitti_split(path)
    assert (entry.cam, entry.frame, entry.side) == (3, 5, "r")


# ---------------------------------------------------------------- the raw reader


@pytest.fixture
def raw_tree(tmp_path, shared_data):
    """A KITTI raw tree holding object frame 000001 (same calibration) as frame 0 of a drive."""
    date_dir = tmp_path / DATE
    drive_dir = date_dir / DRIVE
    date_dir.mkdir()
    for name in ("calib_cam_to_cam.txt", "calib_velo_to_cam.txt"):
        shutil.copy(raw_calib_dir(shared_data) / name, date_dir / name)
    for sub, src, suffix in (
        ("image_02", "image_2", "png"),
        ("velodyne_points", "velodyne", "bin"),
    ):
        (drive_dir / sub / "data").mkdir(parents=True)
        shutil.copy(
            object_dir(shared_data) / src / f"000001.{suffix}",
            drive_dir / sub / "data" / f"0000000000.{suffix}",
        )
    return tmp_path


def test_raw_reader_equals_object_format_projection(raw_tree, shared_data):
    ds = open_dataset("kitti", str(raw_tree))
    assert isinstance(ds, KittiRaw) and ds.ids == [f"{DATE}/{DRIVE} 0000000000 l"]
    s = ds[0]
    d = object_dir(shared_data)
    expected = object_frame_depth_map(
        d / "calib" / "000001.txt", d / "velodyne" / "000001.bin", (375, 1242)
    )
    assert s.image.shape == (3, 375, 1242) and s.depth.shape == (1, 375, 1242)
    np.testing.assert_array_equal(s.depth[0].numpy(), expected)
    np.testing.assert_array_equal(s.mask[0].numpy(), expected > 0)
    np.testing.assert_allclose(s.K.numpy(), read_raw_calibration(raw_tree / DATE).intrinsics(2))
    assert s.meta["depth_kind"] == "velodyne_x"
    assert s.meta["baseline"] == pytest.approx(0.5327, abs=5e-5)
    assert s.meta["id"] == ds.ids[0]


def test_raw_reader_camera_z_option_and_split_file(raw_tree):
    split = raw_tree / "split.txt"
    split.write_text(f"{DATE}/{DRIVE} 0 l\n")
    s = KittiRaw(raw_tree, split=str(split), depth_source="camera_z")[0]
    assert s.meta["depth_kind"] == "camera_z"
    depth = s.depth[s.mask]
    assert depth.min() == pytest.approx(4.77, abs=0.005)


def _write_annotated(path: Path, depth_m: float, shape=(375, 1242)) -> None:
    arr = np.zeros(shape, np.uint16)
    arr[100:110, 200:220] = int(depth_m * 256)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


@pytest.mark.parametrize("sub", ["", "train", "val"])
def test_annotated_ground_truth_layouts(raw_tree, sub):
    _write_annotated(
        raw_tree / sub / DRIVE / "proj_depth" / "groundtruth" / "image_02" / "0000000000.png",
        12.5,
    )
    s = KittiRaw(raw_tree, gt="annotated")[0]
    assert s.meta["depth_kind"] == "annotated"
    assert int(s.mask.sum()) == 200
    assert float(s.depth[0, 105, 210]) == 12.5  # 3200 / 256


def test_annotated_bts_split_skips_none_rows_and_reports_missing(raw_tree):
    gt_rel = f"{DRIVE}/proj_depth/groundtruth/image_02/0000000000.png"
    split = raw_tree / "bts.txt"
    split.write_text(
        f"{DATE}/{DRIVE}/image_02/data/0000000000.png {gt_rel} 721.5377\n"
        f"{DATE}/{DRIVE}/image_02/data/0000000001.png None 721.5377\n"
    )
    ds = KittiRaw(raw_tree, split=str(split), gt="annotated")
    assert ds.ids == [f"{DATE}/{DRIVE} 0000000000 l"]
    assert ds.skipped_ids == [f"{DATE}/{DRIVE} 0000000001 l"]
    with pytest.raises(DataError, match="annotated depth of .* not found"):
        ds[0]
    _write_annotated(raw_tree / gt_rel, 3.0, shape=(370, 1224))
    with pytest.raises(DataError, match="ground truth is 1224×370 but image"):
        ds[0]


def test_raw_reader_stereo_view_and_right_side_rows(raw_tree):
    drive = raw_tree / DATE / DRIVE
    (drive / "image_03" / "data").mkdir(parents=True)
    right = np.zeros((375, 1242, 3), np.uint8)
    right[:, :, 1] = 255
    Image.fromarray(right).save(drive / "image_03" / "data" / "0000000000.png")
    s = KittiRaw(raw_tree, stereo=True)[0]
    assert s.stereo.baseline == pytest.approx(0.5327, abs=5e-5)
    assert s.stereo.image.shape == (3, 375, 1242) and float(s.stereo.image[1].min()) == 1.0
    split = raw_tree / "right.txt"
    split.write_text(f"{DATE}/{DRIVE} 0 r\n")
    r = KittiRaw(raw_tree, split=str(split))[0]
    raw = read_raw_calibration(raw_tree / DATE)
    np.testing.assert_allclose(r.K.numpy(), raw.intrinsics(3))  # K from P_rect_03
    expected = velodyne_depth_map(
        read_velodyne_points(drive / "velodyne_points" / "data" / "0000000000.bin"),
        raw.velo_to_image(3),
        (375, 1242),
    )
    np.testing.assert_array_equal(r.depth[0].numpy(), expected)  # projected into camera 3
    with pytest.raises(ValueError, match="left-side rows only"):
        KittiRaw(raw_tree, split=str(split), stereo=True)


def test_raw_reader_bad_options(raw_tree, tmp_path):
    with pytest.raises(ValueError, match="gt must be"):
        KittiRaw(raw_tree, gt="lidar")
    with pytest.raises(DataError, match="no frames found"):
        (tmp_path / "empty").mkdir()
        KittiRaw(tmp_path / "empty")
