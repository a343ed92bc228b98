"""Decode depth files of every supported kind into metres: the one place that gets units right.

``read_depth(path, kind, scale=None)`` returns ``(H, W)`` float32 metres with 0 = invalid.
Each kind is a small decoder function registered in ``DEPTH_KINDS``:

=========  ===========================================================================
kind       stored as
=========  ===========================================================================
png16      16-bit PNG of ``depth · scale`` (``scale`` stored units per metre)
npy        float ``.npy`` in metres
kitti      16-bit PNG of ``depth · 256`` (KITTI depth devkit ``io_depth.h``)
nyu_raw    NYU Depth v2 raw Kinect disparity, 16-bit P5 PGM with little-endian samples
sun        SUN RGB-D 16-bit PNG of millimetres, bits rotated right by 3
tum        16-bit PNG of ``depth · 5000`` (TUM RGB-D file formats page)
make3d     Make3D laser ``depth_sph_corr-*.mat``, ``Position3DGrid[:, :, 3]`` in metres
=========  ===========================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from depthforge.errors import DataError, UnknownNameError
from depthforge.io.image import open_image, save_array, write_atomic
from depthforge.io.structured import load_npy

DepthDecoder = Callable[[Path, "float | None"], np.ndarray]
DEPTH_KINDS: dict[str, DepthDecoder] = {}


def depth_kind(name: str) -> Callable[[DepthDecoder], DepthDecoder]:
    """Register a decoder under ``name``."""

    def register(fn: DepthDecoder) -> DepthDecoder:
        DEPTH_KINDS[name] = fn
        return fn

    return register


def read_uint16_png(path: Path) -> np.ndarray:
    """``(H, W)`` uint16 values of a 16-bit single-channel PNG; anything else raises DataError."""
    img = open_image(path)
    if img.mode in ("L", "P", "1"):
        raise DataError(path, f"8-bit PNG cannot hold depth (mode {img.mode}); expected 16-bit")
    if img.mode not in ("I;16", "I;16B", "I;16L", "I"):
        raise DataError(path, f"expected a 16-bit single-channel depth PNG, got mode {img.mode}")
    arr = np.asarray(img)
    if arr.dtype != np.uint16:
        if arr.min() < 0 or arr.max() > 65535:
            raise DataError(path, "16-bit depth PNG holds values outside 0..65535")
        arr = arr.astype(np.uint16)
    return arr


def clean_depth(depth: np.ndarray) -> np.ndarray:
    """float32 copy with non-finite and non-positive values set to 0 (invalid)."""
    d = np.asarray(depth, dtype=np.float32)
    return np.where(np.isfinite(d) & (d > 0), d, np.float32(0.0)).astype(np.float32)


@depth_kind("png16")
def _read_png16(path: Path, scale: float | None) -> np.ndarray:
    """16-bit PNG storing ``depth_m · scale`` (e.g. scale 1000 for millimetres); 0 = invalid."""
    if scale is None or scale <= 0:
        raise DataError(path, "png16 depth needs a positive scale (stored units per metre)")
    return clean_depth(read_uint16_png(path).astype(np.float32) / np.float32(scale))


@depth_kind("npy")
def _read_npy(path: Path, scale: float | None) -> np.ndarray:
    """``.npy`` float array in metres (``scale`` divides it when given); NaN/inf/≤0 = invalid."""
    arr = np.squeeze(load_npy(path))
    if arr.ndim != 2:
        raise DataError(path, f"expected a 2-D depth array, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.floating) and not np.issubdtype(arr.dtype, np.integer):
        raise DataError(path, f"expected a numeric depth array, got dtype {arr.dtype}")
    arr = arr.astype(np.float32)
    if scale is not None:
        arr = arr / np.float32(scale)
    return clean_depth(arr)


@depth_kind("kitti")
def _read_kitti(path: Path, scale: float | None) -> np.ndarray:
    """KITTI depth PNG: ``depth_m = value / 256``, 0 = invalid (devkit ``io_depth.h::readDepthMap``)."""
    return clean_depth(read_uint16_png(path).astype(np.float32) / np.float32(256.0))


# NYU Depth v2 toolbox camera_params.m: depthParam1, depthParam2 and maxDepth.
NYU_DEPTH_PARAM1 = 351.3
NYU_DEPTH_PARAM2 = 1092.5
NYU_MAX_DEPTH_M = 10.0
KINECT_NO_READING = 2047
"""The Kinect's 11-bit disparity saturates at 2047 where it measured nothing."""


def read_pgm16_little_endian(path: Path) -> np.ndarray:
    """``(H, W)`` uint16 samples of a binary 16-bit PGM (P5, maxval > 255) stored little-endian.

    The PGM spec says 16-bit samples are big-endian; the NYU Depth v2 raw dumps write them
    little-endian, which is why the NYU toolbox calls ``swapbytes(imread(f))``.
    """
    data = path.read_bytes()
    tokens: list[bytes] = []
    pos = 0
    while len(tokens) < 4:  # magic, width, height, maxval; '#' comments may sit between them
        while pos < len(data) and data[pos : pos + 1].isspace():
            pos += 1
        if data[pos : pos + 1] == b"#":
            pos = data.find(b"\n", pos)
            if pos < 0:
                break
            continue
        end = pos
        while end < len(data) and not data[end : end + 1].isspace():
            end += 1
        if end == pos:
            break
        tokens.append(data[pos:end])
        pos = end
    if len(tokens) < 4 or tokens[0] != b"P5":
        raise DataError(path, "not a binary PGM (expected a 'P5 width height maxval' header)")
    try:
        width, height, maxval = (int(t) for t in tokens[1:])
    except ValueError:
        raise DataError(
            path, f"malformed PGM header {b' '.join(tokens).decode(errors='replace')!r}"
        ) from None
    if maxval <= 255:
        raise DataError(
            path, f"8-bit PGM (maxval {maxval}) cannot hold Kinect disparity; expected 16-bit"
        )
    pos += 1  # exactly one whitespace byte separates the header from the samples
    expected = width * height * 2
    if len(data) - pos < expected:
        raise DataError(path, f"truncated PGM: {len(data) - pos} data bytes, expected {expected}")
    return np.frombuffer(data, dtype="<u2", count=width * height, offset=pos).reshape(height, width)


def nyu_disparity_to_depth(raw: np.ndarray) -> np.ndarray:
    """Kinect raw disparity → metres, NYU toolbox ``depth_rel2depth_abs``: ``351.3 / (1092.5 − raw)``.

    Invalid (0): the no-reading value 2047, and values giving a non-positive depth or one beyond the
    toolbox's ``maxDepth`` of 10 m. The toolbox clamps those to 0 and 10 m; we mark them invalid
    instead, because a clamped value is not a measurement.
    """
    raw = np.asarray(raw, dtype=np.float64)
    with np.errstate(divide="ignore"):
        depth = NYU_DEPTH_PARAM1 / (NYU_DEPTH_PARAM2 - raw)
    valid = (raw < KINECT_NO_READING) & (depth > 0) & (depth <= NYU_MAX_DEPTH_M)
    return np.where(valid, depth, 0.0).astype(np.float32)


@depth_kind("nyu_raw")
def _read_nyu_raw(path: Path, scale: float | None) -> np.ndarray:
    """NYU Depth v2 raw ``d-*.pgm``: little-endian 16-bit disparity → metres (see above)."""
    return nyu_disparity_to_depth(read_pgm16_little_endian(path))


def sun_rotate_bits(stored: np.ndarray) -> np.ndarray:
    """Undo SUN RGB-D's storage: ``(v >> 3) | (v << 13)`` in 16 bits (toolbox ``depthRead.m``)."""
    v = np.asarray(stored, dtype=np.uint16)
    return (v >> np.uint16(3)) | (v << np.uint16(13))


@depth_kind("sun")
def _read_sun(path: Path, scale: float | None) -> np.ndarray:
    """SUN RGB-D depth PNG: bit rotation, then millimetres → metres; 0 = invalid.

    Values are kept as measured: the toolbox's ``read3dPoints.m`` additionally clamps depth above
    8 m to 8 m for its point clouds, a display choice left to evaluation protocols here.
    """
    return clean_depth(
        sun_rotate_bits(read_uint16_png(path)).astype(np.float32) / np.float32(1000.0)
    )


@depth_kind("tum")
def _read_tum(path: Path, scale: float | None) -> np.ndarray:
    """TUM RGB-D depth PNG: ``depth_m = value / 5000``, 0 = invalid (TUM file-formats page)."""
    return clean_depth(read_uint16_png(path).astype(np.float32) / np.float32(5000.0))


@depth_kind("make3d")
def _read_make3d(path: Path, scale: float | None) -> np.ndarray:
    """Make3D laser grid ``depth_sph_corr-*.mat``: ``Position3DGrid[:, :, 3]`` in metres.

    The release readme gives ``Position3DGrid`` as 55×305×4 with channels Y (vertical), X
    (horizontal), projective depth Z and depth d, all metres; we return channel 4 (d), as Saxena's
    Make3D code and the monodepth Make3D evaluation do. The grid is ``(55, 305)`` = (rows, columns)
    aligned with the image's rows and columns (cells are not square). Far laser returns (~81.9 m)
    are kept: depth caps belong to the evaluation protocol (C1: < 70 m, C2: < 80 m).

    Convention caveat: by the readme's wording, d is the laser's range along each ray while Z is the
    z-depth that depthforge uses elsewhere. We still return d because every published Make3D number
    (C1/C2) is computed against it; how far d and Z differ was not checked on real files.
    """
    from depthforge.io.matlab import load_mat_v5

    grid = np.asarray(load_mat_v5(path, ["Position3DGrid"])["Position3DGrid"])
    if grid.ndim != 3 or grid.shape[2] != 4:
        raise DataError(path, f"Position3DGrid must be (rows, cols, 4), got shape {grid.shape}")
    if not np.issubdtype(grid.dtype, np.number):
        raise DataError(path, f"Position3DGrid must be numeric, got dtype {grid.dtype}")
    return clean_depth(grid[:, :, 3])


def read_depth(path: str | Path, kind: str, scale: float | None = None) -> np.ndarray:
    """Decode one depth file into metres.

    Args:
        path: the depth file.
        kind: one of ``DEPTH_KINDS`` (``png16``, ``npy``, ``kitti``, ``nyu_raw``, ``sun``, ``tum``,
            ``make3d``).
        scale: stored units per metre where the kind needs one (``png16``), otherwise ignored.

    Returns:
        ``(H, W)`` float32 depth in metres, 0 = invalid.

    Raises:
        DataError: missing/corrupt file, wrong dtype, unknown kind.
    """
    path = Path(path)
    if kind not in DEPTH_KINDS:
        raise UnknownNameError("depth kind", kind, sorted(DEPTH_KINDS))
    if not path.is_file():
        raise DataError(path, "file not found")
    return DEPTH_KINDS[kind](path, scale)


def save_depth_png16(path: str | Path, depth_m: np.ndarray, scale: float = 1000.0) -> Path:
    """Write metres as a 16-bit PNG of ``round(depth · scale)`` atomically (0 stays invalid).

    Raises ValueError when a depth would overflow 65535 at this scale.
    """
    d = clean_depth(depth_m)
    stored = np.round(d.astype(np.float64) * scale)
    if stored.max(initial=0) > 65535:
        raise ValueError(f"depth {d.max():.3f} m overflows uint16 at scale {scale}")
    arr = stored.astype(np.uint16)
    return write_atomic(path, lambda tmp: Image.fromarray(arr).save(tmp, format="PNG"))


def save_depth_npy(path: str | Path, depth_m: np.ndarray) -> Path:
    """Write metres as float32 ``.npy`` atomically."""
    return save_array(path, np.asarray(depth_m, dtype=np.float32))
