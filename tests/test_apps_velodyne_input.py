"""KITTI velodyne scans as a depth source: projection into the photo, calibration lookup, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from depthforge.apps.completion import complete_command
from depthforge.apps.depth_input import DepthSource, read_registered_depth
from depthforge.errors import DataError
from depthforge.io import read_rgb, save_rgb

DATE = "2011_09_26"
W, H = 8, 6
F, CX, CY, TX = 2.0, 4.0, 3.0, 4.0
"""The hand calibration: every camera P = [[F, 0, CX, TX], [0, F, CY, 0], [0, 0, 1, 0]],
R_rect_00 = I, velodyne → camera ``R`` the axis swap (x fwd, y left, z up → x right, y down,
z fwd) and ``T = (0, 0, −0.5)``: velodyne (x, y, z) → camera (−y, −z, x − 0.5)."""
P = np.array([[F, 0, CX, TX], [0, F, CY, 0], [0, 0, 1, 0]])
R = np.array([[0, -1, 0], [0, 0, -1], [1, 0, 0]], dtype=float)
T = np.array([0, 0, -0.5])
POINTS = np.array(
    [
        [4.5, 0, 0, 0.1],  # camera (0, 0, 4):  u = (0 + 16 + 4) / 4 = 5, v = 3  → pixel (2, 4)
        [2.5, -1, 1, 0.2],  # camera (1, −1, 2): u = (2 + 8 + 4) / 2 = 7, v = 2 → pixel (1, 6)
        [-3, 0, 0, 0.3],  # behind the LiDAR (x < 0): dropped
        [1.5, -10, 0, 0.4],  # camera (10, 0, 1): u = 24 ≥ W: outside
    ],
    dtype="<f4",
)
"""Expected map (monodepth2's rasterisation: pixel = round(u, v) − 1; depth = camera z)."""
EXPECTED = {(2, 4): 4.0, (1, 6): 2.0}


def numbers(a) -> str:
    return " ".join(f"{v:.6e}" for v in np.ravel(a))


def write_raw_calibration(date_dir: Path) -> Path:
    date_dir.mkdir(parents=True, exist_ok=True)
    cam = [f"R_rect_00: {numbers(np.eye(3))}"]
    for c in range(4):
        cam += [f"S_rect_0{c}: {W:.6e} {H:.6e}", f"P_rect_0{c}: {numbers(P)}"]
    (date_dir / "calib_cam_to_cam.txt").write_text("calib_time: hand\n" + "\n".join(cam) + "\n")
    velo = f"calib_time: hand\nR: {numbers(R)}\nT: {numbers(T)}\n"
    (date_dir / "calib_velo_to_cam.txt").write_text(velo)
    return date_dir


def write_object_calibration(path: Path) -> Path:
    rt = np.concatenate([R, T[:, None]], axis=1)
    lines = [f"P{c}: {numbers(P)}" for c in range(4)]
    lines += [f"R0_rect: {numbers(np.eye(3))}", f"Tr_velo_to_cam: {numbers(rt)}"]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def scene(tmp_path):
    """A hand KITTI raw tree: calibration, one scan and one 8 × 6 photo of camera 2."""
    date_dir = write_raw_calibration(tmp_path / DATE)
    drive = date_dir / f"{DATE}_drive_0001_sync"
    scan = drive / "velodyne_points" / "data" / "0000000000.bin"
    image = drive / "image_02" / "data" / "0000000000.png"
    scan.parent.mkdir(parents=True)
    POINTS.tofile(scan)
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[:, W // 2 :] = 200
    save_rgb(image, rgb)
    return date_dir, scan, image, rgb


def expected_map() -> np.ndarray:
    depth = np.zeros((H, W), np.float32)
    for (v, u), z in EXPECTED.items():
        depth[v, u] = z
    return depth


def test_hand_projection_raw_and_object_calibration_and_layout_lookup(scene, tmp_path):
    date_dir, scan, image, rgb = scene
    by_folder = read_registered_depth(scan, image, rgb.shape, calib=date_dir)
    np.testing.assert_array_equal(by_folder, expected_map())
    # the same matrices in the object format; one of the raw files names its folder
    obj = write_object_calibration(tmp_path / "000000.txt")
    np.testing.assert_array_equal(
        read_registered_depth(scan, image, rgb.shape, calib=obj), by_folder
    )
    file_in_folder = date_dir / "calib_velo_to_cam.txt"
    np.testing.assert_array_equal(
        read_registered_depth(scan, image, rgb.shape, calib=file_in_folder), by_folder
    )
    # no calib: found from the raw layout (<date>/<drive>/velodyne_points/data/<frame>.bin)
    np.testing.assert_array_equal(read_registered_depth(scan, image, rgb.shape), by_folder)
    depth, space, source = DepthSource(scan).read(rgb, image)
    np.testing.assert_array_equal(depth, by_folder)
    assert source == scan and space.value == "metric_depth"


def test_complete_reads_a_scan_end_to_end(scene, tmp_path):
    date_dir, scan, image, _ = scene
    summary = complete_command(image, scan, tmp_path / "dense.npy", calib=date_dir)
    dense = np.load(tmp_path / "dense.npy")
    assert summary.samples == 2 and dense.shape == (H, W)
    assert dense.min() >= 2.0 - 1e-4 and dense.max() <= 4.0 + 1e-4 and (dense > 0).all()


def test_real_kitti_scan_matches_the_sample_description(shared_data):
    """``kitti_object_samples/SOURCE.md``: frame 000001 has 18,630 points in the image with
    camera-z depth 4.77 … 76.73 m, median 12.50 m; the raw 2011_09_26 calibration is the same."""
    d = shared_data / "kitti_object_samples" / "training"
    image = d / "image_2" / "000001.png"
    shape = read_rgb(image).shape
    scan = d / "velodyne" / "000001.bin"
    found = read_registered_depth(scan, image, shape)  # training/calib/000001.txt, by layout
    raw = read_registered_depth(
        scan, image, shape, calib=shared_data / "kitti_raw_calib_2011_09_26" / DATE
    )
    np.testing.assert_array_equal(found, raw)
    z = found[found > 0]
    assert abs(len(z) - 18630) < 0.01 * 18630  # collisions and the −1 shift move a few
    assert abs(np.median(z) - 12.50) < 0.005
    assert abs(z.min() - 4.77) < 0.005 and abs(z.max() - 76.73) < 0.005


def test_bad_scans_and_calibrations_name_the_file(scene, tmp_path):
    date_dir, scan, image, rgb = scene
    shape = rgb.shape
    short = tmp_path / "short.bin"
    short.write_bytes(b"\0" * 17)
    with pytest.raises(DataError, match="17 bytes is not a multiple of 16") as err:
        read_registered_depth(short, image, shape, calib=date_dir)
    assert "short.bin" in str(err.value)
    with pytest.raises(DataError, match="17 bytes"):  # the scan itself first, then its calibration
        read_registered_depth(short, image, shape)
    loose = tmp_path / "loose.bin"
    POINTS.tofile(loose)
    with pytest.raises(DataError, match="needs its calibration: pass --calib"):
        read_registered_depth(loose, image, shape)
    with pytest.raises(DataError, match="calibration not found"):
        read_registered_depth(loose, image, shape, calib=tmp_path / "nowhere.txt")
    half = tmp_path / "half"
    half.mkdir()
    (half / "calib_cam_to_cam.txt").write_text((date_dir / "calib_cam_to_cam.txt").read_text())
    with pytest.raises(DataError, match="calib_velo_to_cam.txt.*not found"):
        read_registered_depth(loose, image, shape, calib=half)
    with pytest.raises(DataError, match=r"8×6 \(W×H\) but the image .* is 4×3"):
        read_registered_depth(scan, image, (3, 4, 3), calib=date_dir)
    with pytest.raises(DataError, match="camera must be 0, 1, 2 or 3"):
        read_registered_depth(scan, image, shape, calib=date_dir, camera=5)
    behind = tmp_path / "behind.bin"
    POINTS[2:3].tofile(behind)
    with pytest.raises(DataError, match="none of the scan's 1 points lands in camera 2"):
        read_registered_depth(behind, image, shape, calib=date_dir)
    png = tmp_path / "d.png"
    png.write_bytes(b"")
    with pytest.raises(DataError, match="applies to velodyne scans only"):
        read_registered_depth(png, image, shape, "kitti", calib=date_dir)


def test_cli_complete_with_a_scan(monkeypatch, capsys, scene, tmp_path):
    from tests.cli_runner import run_cli

    date_dir, scan, image, _ = scene
    out = tmp_path / "dense.npy"
    code, stdout, err = run_cli(
        monkeypatch, capsys, "complete", str(image), "--sparse", str(scan), "--out", str(out)
    )
    assert code == 0, err
    assert "from 2 samples" in stdout and np.load(out).shape == (H, W)
    loose = tmp_path / "loose.bin"
    POINTS.tofile(loose)
    args = ["complete", str(image), "--sparse", str(loose), "--out", str(tmp_path / "b.npy")]
    code, _, err = run_cli(monkeypatch, capsys, *args)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--calib" in err
    code, _, err = run_cli(monkeypatch, capsys, *args, "--calib", str(date_dir))
    assert code == 0, err
    np.testing.assert_array_equal(np.load(tmp_path / "b.npy"), np.load(out))
