"""Readers of RGB-D releases: NYU raw frames, SUN RGB-D, TUM RGB-D and Make3D.

Real frames are copied from ``shared_data`` into ``tmp_path`` at run time and renamed to the
release layouts; the expected numbers come from the SOURCE.md files beside them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch
from PIL import Image
from scipy.spatial.transform import Rotation

from depthforge.data.make3d import Make3D, resize_nearest
from depthforge.data.nyu_raw import NYURawFrames, nearest_later_on_tie, nyu_depth_intrinsics
from depthforge.data.registry import open_dataset
from depthforge.data.sunrgbd import SunRGBD
from depthforge.data.tum import TumRGBD, associate, poses_from_tum, read_tum_list
from depthforge.errors import DataError


def valid_stats(depth: torch.Tensor, mask: torch.Tensor) -> tuple[float, float, float, float]:
    """min, max, median of the valid depths and the invalid fraction, from a sample."""
    v = depth[mask].double()
    return v.min().item(), v.max().item(), v.median().item(), 1.0 - mask.double().mean().item()


# ---- NYU raw frames -----------------------------------------------------------------------------


@pytest.fixture
def nyu_scene(shared_data, tmp_path) -> Path:
    src = shared_data / "open3d_rgbd_formats"
    scene = tmp_path / "basement_0001a"
    scene.mkdir()
    shutil.copy(src / "NYU_color.ppm", scene / "r-1315403270.600000-10.ppm")
    shutil.copy(src / "NYU_color.ppm", scene / "r-1315403270.650000-11.ppm")
    shutil.copy(src / "NYU_depth.pgm", scene / "d-1315403270.630000-20.pgm")
    shutil.copy(src / "NYU_depth.pgm", scene / "d-1315403270.590000-19.pgm")
    (scene / "a-1315403270.600000-1.dump").write_bytes(b"accel")
    (scene / "INDEX.txt").write_text("not a frame\n")
    return scene


def test_nearest_in_time_takes_the_later_frame_on_a_tie():
    times = np.array([0.0, 1.0, 2.0])
    queries = np.array([0.5, 1.4, 1.6, 5.0, -1.0])
    assert nearest_later_on_tie(times, queries).tolist() == [1, 1, 2, 2, 0]
    assert nearest_later_on_tie(np.array([3.0]), queries).tolist() == [0] * 5


def test_nyu_raw_pairs_each_depth_frame_with_the_nearest_rgb(nyu_scene):
    ds = NYURawFrames(nyu_scene)
    assert ds.ids == ["d-1315403270.590000-19", "d-1315403270.630000-20"]
    assert [p.name for p in ds.rgb_paths] == [
        "r-1315403270.600000-10.ppm",  # 0.01 s away (the next RGB frame is 0.06 s away)
        "r-1315403270.650000-11.ppm",  # 0.02 s away, against 0.03 s for the earlier one
    ]
    assert ds.time_diffs == pytest.approx([0.01, 0.02])


def test_nyu_raw_sample_matches_source_md(nyu_scene):
    s = NYURawFrames(nyu_scene)[1]
    assert s.image.shape == (3, 480, 640) and s.depth.shape == (1, 480, 640)
    lo, hi, median, invalid = valid_stats(s.depth, s.mask)
    assert (lo, hi, median) == pytest.approx((1.39, 6.69, 3.27), abs=0.0051)
    assert invalid == pytest.approx(0.072, abs=0.00051)
    assert s.image.mean().item() * 255 == pytest.approx(90.9, abs=0.06)
    assert s.meta["depth_kind"] == "nyu_raw_unregistered"
    assert s.meta["time_diff"] == pytest.approx(0.02)
    expected_K = torch.tensor([[582.624482, 0, 312.044759], [0, 582.691033, 237.443896], [0, 0, 1]])
    torch.testing.assert_close(s.K, expected_K)
    torch.testing.assert_close(nyu_depth_intrinsics(), expected_K)


def test_nyu_raw_bad_inputs(tmp_path, nyu_scene):
    with pytest.raises(DataError, match=r"no raw depth frames \(d-<timestamp>-<n>\.pgm\)"):
        NYURawFrames(tmp_path / "basement_0001a" / "..")  # tmp_path: no frames at this level
    for p in nyu_scene.glob("r-*"):
        p.unlink()
    with pytest.raises(DataError, match="no raw RGB frames"):
        NYURawFrames(nyu_scene)
    with pytest.raises(DataError, match="unknown split 'train': NYU raw scenes have no splits"):
        NYURawFrames(nyu_scene, split="train")
    with pytest.raises(DataError, match="scene folder not found"):
        NYURawFrames(tmp_path / "missing")


def test_nyu_raw_truncated_depth_frame_names_the_file(nyu_scene):
    depth = nyu_scene / "d-1315403270.630000-20.pgm"
    depth.write_bytes(depth.read_bytes()[:1000])
    ds = NYURawFrames(nyu_scene)
    with pytest.raises(DataError, match=r"d-1315403270\.630000-20\.pgm: truncated PGM"):
        ds[1]


# ---- SUN RGB-D ----------------------------------------------------------------------------------


SUN_K_TEXT = (
    "529.500000 0.000000 365.000000\n0.000000 529.500000 265.000000\n0.000000 0.000000 1.000000\n"
)


def make_sun_frame(src: Path, frame: Path, intrinsics: str | None = SUN_K_TEXT) -> Path:
    (frame / "image").mkdir(parents=True)
    (frame / "depth").mkdir()
    shutil.copy(src / "SUN_color.jpg", frame / "image" / "0000103.jpg")
    shutil.copy(src / "SUN_depth.png", frame / "depth" / "0000103.png")
    if intrinsics is not None:
        (frame / "intrinsics.txt").write_text(intrinsics)
    return frame


@pytest.fixture
def sun_root(shared_data, tmp_path) -> Path:
    src = shared_data / "open3d_rgbd_formats"
    root = tmp_path / "SUNRGBD"
    make_sun_frame(src, root / "kv1" / "NYUdata" / "NYU0001")
    make_sun_frame(src, root / "xtion" / "sun_room" / "frame_a")
    return root


def test_sun_finds_frame_folders_recursively(sun_root):
    ds = SunRGBD(sun_root)
    assert ds.ids == ["kv1/NYUdata/NYU0001", "xtion/sun_room/frame_a"]
    assert open_dataset("sunrgbd", str(sun_root)).ids == ds.ids


def test_sun_sample_matches_source_md(sun_root):
    s = SunRGBD(sun_root)[0]
    assert s.image.shape == (3, 480, 640)
    lo, hi, median, invalid = valid_stats(s.depth, s.mask)
    assert (lo, hi, median) == pytest.approx((1.06, 9.87, 2.72), abs=0.0051)
    assert invalid == pytest.approx(0.182, abs=0.00051)
    # intrinsics.txt is row-major and 1-based (SUN toolbox read3dPoints): cx 365 -> 364
    expected = torch.tensor([[529.5, 0, 364.0], [0, 529.5, 264.0], [0, 0, 1]])
    torch.testing.assert_close(s.K, expected)
    assert s.meta["depth_kind"] == "sun_raw" and s.meta["id"] == "kv1/NYUdata/NYU0001"


def test_sun_refined_depth_variant(sun_root):
    frame = sun_root / "kv1" / "NYUdata" / "NYU0001"
    (frame / "depth_bfx").mkdir()
    depth = np.asarray(Image.open(frame / "depth" / "0000103.png"))
    Image.fromarray(np.full_like(depth, 8000)).save(frame / "depth_bfx" / "0000103.png")  # 1 m
    s = SunRGBD(sun_root, depth_variant="bfx")[0]
    assert s.meta["depth_kind"] == "sun_bfx"
    assert torch.all(s.depth == 1.0)
    with pytest.raises(DataError, match=r"depth_bfx: expected exactly one \.png file, found none"):
        SunRGBD(sun_root, depth_variant="bfx")[1]


def test_sun_split_file_lists_frames(sun_root):
    (sun_root / "mine.txt").write_text("xtion/sun_room/frame_a/\n\n")
    assert SunRGBD(sun_root, split="mine").ids == ["xtion/sun_room/frame_a"]
    (sun_root / "bad.txt").write_text("kv2/nowhere\n")
    with pytest.raises(DataError, match="1 listed frames not found, e.g. 'kv2/nowhere'"):
        SunRGBD(sun_root, split="bad")
    with pytest.raises(DataError, match="unknown split 'train': no such split file"):
        SunRGBD(sun_root, split="train")


def test_sun_missing_intrinsics_is_named(shared_data, tmp_path):
    make_sun_frame(shared_data / "open3d_rgbd_formats", tmp_path / "f", intrinsics=None)
    with pytest.raises(DataError, match=r"f/intrinsics\.txt: intrinsics file not found"):
        SunRGBD(tmp_path)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("1 2 3\n", "must be 9 numbers"),
        ("a b c\n", "must be 9 numbers"),
        ("1 0 0 0 1 0 0 0 5", "not a pinhole K"),
    ],
)
def test_sun_malformed_intrinsics(shared_data, tmp_path, text, problem):
    make_sun_frame(shared_data / "open3d_rgbd_formats", tmp_path / "f", intrinsics=text)
    with pytest.raises(DataError, match=problem):
        SunRGBD(tmp_path)[0]


def test_sun_eight_bit_depth_is_refused(shared_data, tmp_path):
    frame = make_sun_frame(shared_data / "open3d_rgbd_formats", tmp_path / "f")
    Image.fromarray(np.zeros((480, 640), np.uint8)).save(frame / "depth" / "0000103.png")
    with pytest.raises(DataError, match="8-bit PNG cannot hold depth"):
        SunRGBD(tmp_path)[0]


def test_sun_without_frames_or_with_bad_variant(tmp_path):
    with pytest.raises(DataError, match="no SUN RGB-D frames"):
        SunRGBD(tmp_path)
    with pytest.raises(DataError, match="depth_variant must be one of raw, bfx"):
        SunRGBD(tmp_path, depth_variant="filled")


# ---- TUM RGB-D ----------------------------------------------------------------------------------


def associate_reference(first: list[float], second: list[float], max_difference: float):
    """Brute force, written from the description of TUM's associate.py: every pair closer than
    max_difference, sorted by (difference, a, b), taken greedily, each timestamp once."""
    candidates = sorted(
        (abs(a - b), a, b, i, j)
        for i, a in enumerate(first)
        for j, b in enumerate(second)
        if abs(a - b) < max_difference
    )
    used_a, used_b, matches = set(), set(), []
    for _diff, a, _b, i, j in candidates:
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            matches.append((a, i, j))
    return [(i, j) for _, i, j in sorted(matches)]


def test_associate_by_hand():
    rgb = np.array([10.000, 10.033, 10.066, 10.200])
    depth = np.array([10.010, 10.030, 10.070, 10.500])
    # candidates < 0.02 s: (0,0) .010, (0,1) .030 no, (1,0) .023 no, (1,1) .003, (2,2) .004
    assert associate(rgb, depth, 0.02) == [(0, 0), (1, 1), (2, 2)]
    # with 0.025 s, (1,0) .023 also qualifies but (0,0) .010 and (1,1) .003 are taken first
    assert associate(rgb, depth, 0.025) == [(0, 0), (1, 1), (2, 2)]


def test_associate_uses_each_timestamp_once_greedily():
    # depth 1.0 is nearest to both rgb 0.995 (0.005) and rgb 1.001 (0.001): the closer wins it
    assert associate(np.array([0.995, 1.001]), np.array([1.0, 1.012]), 0.02) == [(0, 1), (1, 0)]


def test_associate_matches_brute_force_on_jittered_streams():
    rng = np.random.default_rng(0)
    rgb = np.sort(np.arange(200) / 30.0 + rng.normal(0, 0.004, 200))
    depth = np.sort(np.arange(195) / 30.0 + 0.011 + rng.normal(0, 0.006, 195))
    for max_difference in (0.005, 0.02, 0.05):
        expected = associate_reference(rgb.tolist(), depth.tolist(), max_difference)
        assert associate(rgb, depth, max_difference) == expected
    assert associate(rgb, np.array([]), 0.02) == []


def test_pose_rotation_by_hand_and_against_scipy():
    s = np.sqrt(0.5)  # 90° about z: x -> y
    T = poses_from_tum(np.array([[1.0, 2.0, 3.0]]), np.array([[0.0, 0.0, s, s]]))[0]
    np.testing.assert_allclose(
        T, [[0, -1, 0, 1], [1, 0, 0, 2], [0, 0, 1, 3], [0, 0, 0, 1]], atol=1e-12
    )
    q = np.random.default_rng(1).normal(size=(50, 4))
    R = poses_from_tum(np.zeros((50, 3)), q * 1.0001)[:, :3, :3]
    np.testing.assert_allclose(R, Rotation.from_quat(q).as_matrix(), atol=1e-12)  # scalar-last too
    with pytest.raises(ValueError, match="zero norm"):
        poses_from_tum(np.zeros((1, 3)), np.zeros((1, 4)))


def test_real_fr2_desk_groundtruth_parses_with_its_repeated_timestamp(shared_data):
    times, rows = read_tum_list(shared_data / "trajectories_gt" / "fr2_desk_groundtruth.txt", 8)
    assert len(times) == len(rows) == 20957
    assert int(np.sum(np.diff(times) == 0)) == 1
    assert rows[0] == [
        "1311868163.8697",
        "-0.1357",
        "-1.4217",
        "1.4764",
        "0.6453",
        "-0.5498",
        "0.3363",
        "-0.4101",
    ]


GT_LINES = """# ground truth trajectory
# timestamp tx ty tz qx qy qz qw
1311868163.8697 -0.1357 -1.4217 1.4764 0.6453 -0.5498 0.3363 -0.4101
1311868163.8731 -0.1357 -1.4218 1.4764 0.6454 -0.5497 0.3361 -0.4102
1311868229.5760 1.4054 0.9615 1.3677 -0.0136 0.8959 -0.4384 0.0707
1311868229.5760 1.4044 0.9614 1.3683 -0.0177 0.8973 -0.4353 0.0703
"""


@pytest.fixture
def tum_root(shared_data, tmp_path) -> Path:
    src = shared_data / "slambook2_tum_fr2_pair"
    root = tmp_path / "rgbd_dataset_freiburg2_desk"
    (root / "rgb").mkdir(parents=True)
    (root / "depth").mkdir()
    frames = {"1311868163.870000": "1", "1311868229.575900": "2", "1311868300.000000": "1"}
    for t, n in frames.items():
        shutil.copy(src / f"{n}.png", root / "rgb" / f"{t}.png")
    depth_times = ["1311868163.880000", "1311868229.580000", "1311868300.004000", "1311868400.0"]
    for t, n in zip(depth_times, ["1", "2", "1", "2"], strict=True):
        shutil.copy(src / f"{n}_depth.png", root / "depth" / f"{t}.png")
    header = "# color images\n# file: 'rgbd_dataset_freiburg2_desk.bag'\n# timestamp filename\n"
    (root / "rgb.txt").write_text(header + "".join(f"{t} rgb/{t}.png\n" for t in frames))
    (root / "depth.txt").write_text(header + "".join(f"{t} depth/{t}.png\n" for t in depth_times))
    (root / "groundtruth.txt").write_text(GT_LINES)
    return root


def test_tum_sequence_pairs_frames_and_poses(tum_root):
    ds = TumRGBD(tum_root)
    assert ds.ids == ["1311868163.870000", "1311868229.575900", "1311868300.000000"]
    assert [p.name for p in ds.depth_paths] == [
        "1311868163.880000.png",
        "1311868229.580000.png",
        "1311868300.004000.png",
    ]
    s0, s1, s2 = ds[0], ds[1], ds[2]
    # nearest ground truth: 163.8697 (0.3 ms) for frame 0; the repeated 229.5760 -> its first line
    expected0 = poses_from_tum(
        np.array([[-0.1357, -1.4217, 1.4764]]), np.array([[0.6453, -0.5498, 0.3363, -0.4101]])
    )
    expected1 = poses_from_tum(
        np.array([[1.4054, 0.9615, 1.3677]]), np.array([[-0.0136, 0.8959, -0.4384, 0.0707]])
    )
    torch.testing.assert_close(s0.pose, torch.from_numpy(expected0[0]).float())
    torch.testing.assert_close(s1.pose, torch.from_numpy(expected1[0]).float())
    assert s2.pose is None  # 70 s from any ground truth


def test_tum_sample_values(tum_root):
    s = TumRGBD(tum_root)[0]
    assert s.image.shape == (3, 480, 640)
    # slambook2_tum_fr2_pair/SOURCE.md: 1_depth.png 0.97..8.56 m, median 1.50 m, 66.7 % valid
    lo, hi, median, invalid = valid_stats(s.depth, s.mask)
    assert (lo, hi, median) == pytest.approx((0.97, 8.56, 1.50), abs=0.0051)
    assert 1 - invalid == pytest.approx(0.667, abs=0.00051)
    torch.testing.assert_close(s.K, torch.tensor([[520.9, 0, 325.1], [0, 521.0, 249.7], [0, 0, 1]]))
    assert s.meta["camera"] == "fr2" and s.meta["depth_kind"] == "tum"


def test_tum_camera_and_K_overrides(tum_root):
    K = TumRGBD(tum_root, camera="fr1")[0].K
    torch.testing.assert_close(K, torch.tensor([[517.3, 0, 318.6], [0, 516.5, 255.3], [0, 0, 1]]))
    mine = [[500.0, 0, 320.0], [0, 500.0, 240.0], [0, 0, 1]]
    torch.testing.assert_close(TumRGBD(tum_root, K=mine)[0].K, torch.tensor(mine))
    renamed = tum_root.rename(tum_root.parent / "my_sequence")
    assert TumRGBD(renamed)[0].K is None


def test_tum_without_groundtruth_has_no_poses(tum_root):
    (tum_root / "groundtruth.txt").unlink()
    assert all(TumRGBD(tum_root)[i].pose is None for i in range(3))


def test_tum_bad_inputs(tum_root):
    with pytest.raises(DataError, match="camera must be one of fr1, fr2, fr3, got 'fr4'"):
        TumRGBD(tum_root, camera="fr4")
    with pytest.raises(DataError, match=r"K must be 3×3, got shape \(2, 2\)"):
        TumRGBD(tum_root, K=[[1, 0], [0, 1]])
    with pytest.raises(DataError, match="unknown split 'test'"):
        TumRGBD(tum_root, split="test")
    with pytest.raises(DataError, match="no colour and depth frames within 1e-05 s"):
        TumRGBD(tum_root, max_difference=1e-5)
    (tum_root / "depth.txt").write_text("# header\n1311868163.88 depth/a.png extra\n")
    with pytest.raises(DataError, match=r"depth\.txt: line 2: expected 2 columns, got 3"):
        TumRGBD(tum_root)
    (tum_root / "depth.txt").write_text("noon depth/a.png\n")
    with pytest.raises(DataError, match=r"depth\.txt: line 1: timestamp 'noon' is not a number"):
        TumRGBD(tum_root)
    (tum_root / "depth.txt").unlink()
    with pytest.raises(DataError, match=r"depth\.txt: file not found"):
        TumRGBD(tum_root)


def test_tum_truncated_depth_png(tum_root):
    ds = TumRGBD(tum_root)
    ds.depth_paths[0].write_bytes(ds.depth_paths[0].read_bytes()[:5000])
    with pytest.raises(DataError, match=r"1311868163\.880000\.png: corrupt or truncated"):
        ds[0]


# ---- Make3D -------------------------------------------------------------------------------------


def write_make3d_pair(image_dir: Path, depth_dir: Path, name: str, grid_depth: np.ndarray) -> None:
    image_dir.mkdir(parents=True, exist_ok=True)
    depth_dir.mkdir(parents=True, exist_ok=True)
    rows, cols = np.meshgrid(np.arange(40), np.arange(30), indexing="ij")  # 40 tall, 30 wide
    image = np.stack([rows * 6, cols * 8, np.full_like(rows, 100)], -1).astype(np.uint8)
    Image.fromarray(image).save(image_dir / f"img-{name}.jpg", quality=95)
    grid = np.zeros(grid_depth.shape + (4,))
    grid[..., 2] = 99.0
    grid[..., 3] = grid_depth
    scipy.io.savemat(depth_dir / f"depth_sph_corr-{name}.mat", {"Position3DGrid": grid})


GRID = np.arange(1.0, 16.0).reshape(5, 3)


@pytest.fixture
def make3d_root(tmp_path) -> Path:
    write_make3d_pair(tmp_path / "Train400Img", tmp_path / "Train400Depth", "op1-p-108t000", GRID)
    write_make3d_pair(
        tmp_path / "Test134", tmp_path / "Gridlaserdata", "10.21op2-p-139t000", GRID + 20
    )
    return tmp_path


def test_make3d_splits_by_archive_folder(make3d_root):
    assert Make3D(make3d_root, split="train").ids == ["op1-p-108t000"]
    assert Make3D(make3d_root, split="test").ids == ["10.21op2-p-139t000"]
    assert Make3D(make3d_root).ids == ["10.21op2-p-139t000", "op1-p-108t000"]
    assert open_dataset("make3d", str(make3d_root), split="test", size=(10, 6)).size == (10, 6)


def test_make3d_grid_is_upsampled_by_nearest_to_the_sample_size(make3d_root):
    s = Make3D(make3d_root, split="train", size=(10, 6))[0]
    assert s.image.shape == (3, 10, 6) and s.depth.shape == (1, 10, 6)
    # 5×3 grid -> 10×6: every cell becomes a 2×2 block
    np.testing.assert_array_equal(s.depth[0].numpy(), np.kron(GRID, np.ones((2, 2))))
    assert s.mask.all() and s.K is None
    assert s.meta["depth_grid_shape"] == (5, 3) and s.meta["depth_kind"] == "make3d"
    assert s.meta["depth_path"].endswith("Train400Depth/depth_sph_corr-op1-p-108t000.mat")


def test_make3d_native_size_keeps_the_photo(make3d_root):
    s = Make3D(make3d_root, split="test", size=None)[0]
    assert s.image.shape == (3, 40, 30)
    assert s.depth[0, 0, 0].item() == 21.0 and s.depth[0, -1, -1].item() == 35.0
    # 40 rows over 5 grid rows: rows 0..7 take grid row 0, rows 8..15 grid row 1
    assert s.depth[0, 7, 0].item() == 21.0 and s.depth[0, 8, 0].item() == 24.0


def test_make3d_default_size_is_the_literature_460_by_345(make3d_root):
    assert Make3D(make3d_root).size == (460, 345)


def test_resize_nearest_matches_torch_nearest_exact():
    a = np.random.default_rng(2).random((55, 305)).astype(np.float32)
    for size in [(460, 345), (20, 700), (55, 305), (7, 3)]:
        expected = torch.nn.functional.interpolate(
            torch.from_numpy(a)[None, None], size=size, mode="nearest-exact"
        )
        np.testing.assert_array_equal(resize_nearest(a, size), expected[0, 0].numpy())


def test_make3d_bad_inputs(make3d_root, tmp_path):
    with pytest.raises(DataError, match="unknown split 'val'; known: train, test or None"):
        Make3D(make3d_root, split="val")
    for size in [(0, 5), (4.5, 5), (4, 5, 6), "460x345"]:
        with pytest.raises(DataError, match=r"size must be two positive integers \(H, W\), got"):
            Make3D(make3d_root, size=size)
    (make3d_root / "Gridlaserdata" / "depth_sph_corr-10.21op2-p-139t000.mat").unlink()
    with pytest.raises(
        DataError, match=r"img-10\.21op2-p-139t000\.jpg: no depth_sph_corr-10\.21op2-p-139t000\.mat"
    ):
        Make3D(make3d_root)
    assert Make3D(make3d_root, split="train").ids == [
        "op1-p-108t000"
    ]  # the other split is unaffected
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match=r"no Make3D photos \(img-\*\.jpg\) in Train\* folders"):
        Make3D(empty, split="train")


def test_make3d_mat_without_grid_names_the_field(make3d_root):
    path = make3d_root / "Train400Depth" / "depth_sph_corr-op1-p-108t000.mat"
    scipy.io.savemat(path, {"depthMap": GRID})
    with pytest.raises(DataError, match="has no variable Position3DGrid"):
        Make3D(make3d_root, split="train")[0]


def test_make3d_photo_is_turned_upright_by_its_exif_orientation(tmp_path):
    stored = np.zeros((30, 40, 3), np.uint8)  # landscape as stored: 30 rows × 40 columns
    stored[:, :20] = 255  # left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    (tmp_path / "Test134").mkdir()
    Image.fromarray(stored).save(tmp_path / "Test134" / "img-x.jpg", exif=exif, quality=95)
    write_make3d_pair(tmp_path / "unused", tmp_path / "Gridlaserdata", "x", GRID)
    s = Make3D(tmp_path, split="test", size=None)[0]
    assert s.image.shape == (3, 40, 30)
    # after a clockwise quarter turn the stored left half is the top half
    assert s.image[:, :18].mean() > 0.95 and s.image[:, 22:].mean() < 0.05
