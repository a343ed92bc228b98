"""Depth decoders: every kind gives metres as float32 with 0 = invalid, and bad files name themselves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io
from PIL import Image

from depthforge.errors import DataError, UnknownNameError
from depthforge.io import DEPTH_KINDS, read_depth, save_depth_png16


def write_png16(path: Path, values) -> Path:
    Image.fromarray(np.asarray(values, dtype=np.uint16)).save(path)
    return path


def write_pgm(path: Path, values, header: bytes | None = None, byteorder: str = "<") -> Path:
    values = np.asarray(values)
    h, w = values.shape
    header = header if header is not None else b"P5\n# NYU raw dump\n%d %d\n65535\n" % (w, h)
    path.write_bytes(header + values.astype(f"{byteorder}u2").tobytes())
    return path


def stats(depth: np.ndarray) -> tuple[float, float, float, float]:
    """min, max, median of the valid depths, and the invalid fraction."""
    valid = depth[depth > 0]
    return (
        float(valid.min()),
        float(valid.max()),
        float(np.median(valid)),
        float(np.mean(depth == 0)),
    )


def test_every_documented_kind_is_registered():
    assert {"png16", "npy", "kitti", "nyu_raw", "sun", "tum", "make3d"} <= set(DEPTH_KINDS)


def test_png16_round_trip_at_millimetre_scale(tmp_path):
    depth = np.array([[0.0, 1.2345], [65.535, 0.001]], dtype=np.float32)
    path = save_depth_png16(tmp_path / "d.png", depth, scale=1000.0)
    out = read_depth(path, "png16", 1000.0)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.0, 1.2345], [65.535, 0.001]], atol=5e-4)


def test_kitti_divides_by_256_and_zero_is_invalid(tmp_path):
    path = write_png16(tmp_path / "k.png", [[0, 256, 512], [1, 65535, 25600]])
    out = read_depth(path, "kitti")
    np.testing.assert_allclose(out, [[0.0, 1.0, 2.0], [1 / 256, 65535 / 256, 100.0]], rtol=1e-6)
    assert out.dtype == np.float32


def test_tum_divides_by_5000(tmp_path):
    path = write_png16(tmp_path / "t.png", [[0, 5000, 12345]])
    np.testing.assert_allclose(read_depth(path, "tum"), [[0.0, 1.0, 2.469]], rtol=1e-6)


def test_sun_undoes_the_three_bit_rotation(tmp_path):
    # Stored = depth_mm rotated left by 3 bits in 16 bits, worked by hand:
    #   1000 mm  -> 1000·8 = 8000 (no bit wraps);
    #   57345 mm = 0xE001 -> (0xE001 << 3) & 0xFFFF = 0x0008, | (0xE001 >> 13) = 0x7 -> 0x000F.
    path = write_png16(tmp_path / "s.png", [[8000, 0x000F, 0]])
    np.testing.assert_allclose(read_depth(path, "sun"), [[1.0, 57.345, 0.0]], rtol=1e-6)


def test_nyu_raw_reads_little_endian_disparity_and_applies_the_toolbox_formula(tmp_path):
    raw = np.array([[2047, 1000, 0], [839, 1060, 1093]])
    out = read_depth(write_pgm(tmp_path / "d.pgm", raw), "nyu_raw")
    expected = [
        # 2047 = no reading; 351.3 / (1092.5 − 1000) = 3.797838; 351.3 / 1092.5 = 0.321556
        [0.0, 351.3 / 92.5, 351.3 / 1092.5],
        # 351.3 / 253.5 = 1.385799; 1060 -> 10.81 m beyond maxDepth 10; 1093 -> negative depth
        [351.3 / 253.5, 0.0, 0.0],
    ]
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    assert out.dtype == np.float32


def test_nyu_raw_header_may_use_any_whitespace(tmp_path):
    path = write_pgm(tmp_path / "d.pgm", [[1000, 2047]], header=b"P5 2 1 65535\n")
    np.testing.assert_allclose(read_depth(path, "nyu_raw"), [[351.3 / 92.5, 0.0]], rtol=1e-6)


def test_make3d_takes_the_fourth_channel_of_position3dgrid(tmp_path):
    grid = np.zeros((5, 7, 4))
    grid[..., 0] = -3.0  # Y, X and projective Z must not leak into the depth
    grid[..., 3] = np.arange(35).reshape(5, 7) + 0.5
    grid[0, 0, 3] = -1.0
    scipy.io.savemat(tmp_path / "depth_sph_corr-x.mat", {"Position3DGrid": grid})
    out = read_depth(tmp_path / "depth_sph_corr-x.mat", "make3d")
    expected = np.arange(35).reshape(5, 7) + 0.5
    expected[0, 0] = 0.0  # negative = invalid
    np.testing.assert_allclose(out, expected)
    assert out.dtype == np.float32


# ---- real samples (numbers from shared_data/open3d_rgbd_formats/SOURCE.md) ----------------------


@pytest.mark.parametrize(
    ("name", "kind", "lo", "hi", "median", "invalid"),
    [
        ("NYU_depth.pgm", "nyu_raw", 1.39, 6.69, 3.27, 0.072),
        ("SUN_depth.png", "sun", 1.06, 9.87, 2.72, 0.182),
        ("TUM_depth.png", "tum", 1.46, 9.33, 2.42, 0.192),
    ],
)
def test_real_samples_match_their_documented_statistics(
    shared_data, name, kind, lo, hi, median, invalid
):
    depth = read_depth(shared_data / "open3d_rgbd_formats" / name, kind)
    assert depth.shape == (480, 640)
    assert depth.dtype == np.float32
    assert np.isfinite(depth).all()
    d_lo, d_hi, d_median, d_invalid = stats(depth)
    # SOURCE.md rounds metres to 2 decimals and fractions to 3 (half a unit, plus float slack).
    assert d_lo == pytest.approx(lo, abs=0.0051)
    assert d_hi == pytest.approx(hi, abs=0.0051)
    assert d_median == pytest.approx(median, abs=0.0051)
    assert d_invalid == pytest.approx(invalid, abs=0.00051)


def test_nyu_raw_sample_read_big_endian_would_be_wrong(shared_data):
    data = (shared_data / "open3d_rgbd_formats" / "NYU_depth.pgm").read_bytes()
    header_end = len(b"P5 640 480 65535\n")
    as_little = np.frombuffer(data[header_end:], dtype="<u2")
    as_big = np.frombuffer(data[header_end:], dtype=">u2")
    assert (as_little.min(), as_little.max()) == (839, 2047)  # SOURCE.md
    assert as_big.max() > 2047  # what a spec-following PGM reader would see


# ---- bad inputs ---------------------------------------------------------------------------------


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(DataError, match="nope.png: file not found"):
        read_depth(tmp_path / "nope.png", "tum")


def test_unknown_kind_lists_the_known_ones(tmp_path):
    path = write_png16(tmp_path / "d.png", [[1]])
    with pytest.raises(UnknownNameError, match=r"unknown depth kind 'mm'.*kitti.*nyu_raw"):
        read_depth(path, "mm")


def test_truncated_png_is_reported_as_corrupt(tmp_path):
    path = write_png16(tmp_path / "d.png", np.arange(64 * 64).reshape(64, 64))
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(DataError, match=r"d\.png: corrupt or truncated"):
        read_depth(path, "kitti")


@pytest.mark.parametrize("kind", ["kitti", "sun", "tum"])
def test_eight_bit_png_cannot_hold_depth(tmp_path, kind):
    path = tmp_path / "d8.png"
    Image.fromarray(np.full((4, 4), 200, dtype=np.uint8)).save(path)
    with pytest.raises(DataError, match=r"d8\.png: 8-bit PNG cannot hold depth"):
        read_depth(path, kind)


def test_colour_png_is_not_depth(tmp_path):
    path = tmp_path / "rgb.png"
    Image.fromarray(np.zeros((4, 4, 3), dtype=np.uint8)).save(path)
    with pytest.raises(
        DataError, match=r"rgb\.png: expected a 16-bit single-channel depth PNG, got mode RGB"
    ):
        read_depth(path, "tum")


def test_truncated_pgm_says_how_many_bytes_are_missing(tmp_path):
    path = write_pgm(tmp_path / "d.pgm", np.full((4, 5), 1000))
    path.write_bytes(path.read_bytes()[:-6])
    with pytest.raises(DataError, match=r"d\.pgm: truncated PGM: 34 data bytes, expected 40"):
        read_depth(path, "nyu_raw")


def test_eight_bit_pgm_cannot_hold_disparity(tmp_path):
    path = tmp_path / "d.pgm"
    path.write_bytes(b"P5 2 1 255\n" + bytes([10, 20]))
    with pytest.raises(DataError, match="8-bit PGM"):
        read_depth(path, "nyu_raw")


@pytest.mark.parametrize(
    "content", [b"P6 2 1 65535\n" + bytes(12), b"not an image", b"P5 2 x 65535\n"]
)
def test_non_pgm_is_refused(tmp_path, content):
    path = tmp_path / "d.pgm"
    path.write_bytes(content)
    with pytest.raises(DataError, match=r"d\.pgm: (not a binary PGM|malformed PGM header)"):
        read_depth(path, "nyu_raw")


def test_make3d_without_position3dgrid_names_the_variable(tmp_path):
    path = tmp_path / "depth_sph_corr-x.mat"
    scipy.io.savemat(path, {"depthMap": np.ones((5, 7))})
    with pytest.raises(DataError, match="has no variable Position3DGrid"):
        read_depth(path, "make3d")


def test_make3d_with_wrong_layout_is_refused(tmp_path):
    path = tmp_path / "depth_sph_corr-x.mat"
    scipy.io.savemat(path, {"Position3DGrid": np.ones((5, 7, 3))})
    with pytest.raises(DataError, match=r"must be \(rows, cols, 4\), got shape \(5, 7, 3\)"):
        read_depth(path, "make3d")


def test_make3d_corrupt_mat_is_reported(tmp_path):
    path = tmp_path / "depth_sph_corr-x.mat"
    path.write_bytes(b"MATLAB 5.0 MAT-file" + bytes(20))
    with pytest.raises(DataError, match="depth_sph_corr-x.mat: not a readable MATLAB .mat file"):
        read_depth(path, "make3d")
