"""KITTI calibration files and the velodyne → sparse depth map projection.

Two calibration formats hold the same matrices:

* KITTI raw, per recording day: ``calib_cam_to_cam.txt`` (``S_rect_0i``, ``R_rect_00``,
  ``P_rect_0i``, ...) and ``calib_velo_to_cam.txt`` (``R``, ``T``);
* KITTI object, per frame: ``P0..P3``, ``R0_rect``, ``Tr_velo_to_cam``.

Both give ``P_velo2im = P_rect_0c · R_rect_00 · [R|T]`` (3 × 4) mapping homogeneous velodyne points
to camera ``c``'s rectified image. :func:`velodyne_depth_map` rasterises a scan exactly as
monodepth2's ``kitti_utils.py::generate_depth_map`` does, vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from depthforge.errors import DataError

DEPTH_SOURCES = ("velodyne_x", "camera_z")
"""``velodyne_x``: the LiDAR forward coordinate (monodepth2 ``vel_depth=True``, its Eigen test GT);
``camera_z``: the rectified camera's z (monodepth2's training-time default)."""


@dataclass(frozen=True)
class CalibFile:
    """The ``key: v v v`` entries of one KITTI calibration text file.

    Values that parse as floats are float64 arrays; others (``calib_time``) stay text.
    """

    path: Path
    values: dict[str, np.ndarray | str]

    def matrix(self, key: str, shape: tuple[int, ...]) -> np.ndarray:
        """Entry ``key`` reshaped row-major to ``shape``; DataError names the file and the key."""
        if key not in self.values:
            raise DataError(self.path, f"calibration key {key!r} is missing")
        value = self.values[key]
        if isinstance(value, str) or value.size != int(np.prod(shape)):
            raise DataError(
                self.path,
                f"calibration key {key!r} must hold {int(np.prod(shape))} numbers for a "
                f"{'×'.join(map(str, shape))} matrix",
            )
        return value.reshape(shape)


def read_calib_file(path: str | Path) -> CalibFile:
    """Parse a KITTI calibration text file (raw or object format)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "calibration file not found")
    values: dict[str, np.ndarray | str] = {}
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, rest = line.partition(":")
        if not sep:
            raise DataError(path, f"line {n}: expected 'key: values', got {line.strip()!r}")
        try:
            values[key.strip()] = np.array([float(x) for x in rest.split()], dtype=np.float64)
        except ValueError:
            values[key.strip()] = rest.strip()
    return CalibFile(path, values)


def _homogeneous(m: np.ndarray) -> np.ndarray:
    """Embed a 3 × 3 or 3 × 4 matrix in a 4 × 4 identity."""
    out = np.eye(4)
    out[: m.shape[0], : m.shape[1]] = m
    return out


@dataclass(frozen=True)
class KittiCalibration:
    """Rectified stereo calibration of one KITTI recording.

    Attributes:
        P_rect: camera index → ``(3, 4)`` rectified projection matrix (pixels).
        R_rect_00: ``(3, 3)`` rectifying rotation of the reference camera 0.
        velo_to_cam: ``(4, 4)`` velodyne → (unrectified) camera-0 transform, metres.
        image_sizes: camera index → ``(H, W)`` rectified image size, when the calibration says
            (raw ``S_rect_0i``; the object format does not).
        sources: the files the values came from.
    """

    P_rect: dict[int, np.ndarray]
    R_rect_00: np.ndarray
    velo_to_cam: np.ndarray
    image_sizes: dict[int, tuple[int, int]]
    sources: tuple[Path, ...]

    def velo_to_image(self, cam: int) -> np.ndarray:
        """``(3, 4)`` ``P_rect_0c · R_rect_00 · [R|T]``: velodyne (homogeneous) → camera ``cam``."""
        return self.P_rect[cam] @ _homogeneous(self.R_rect_00) @ self.velo_to_cam

    def intrinsics(self, cam: int) -> np.ndarray:
        """``(3, 3)`` K of rectified camera ``cam``: the left 3 × 3 block of ``P_rect_0c``."""
        return self.P_rect[cam][:, :3].copy()

    def baseline(self, left: int = 2, right: int = 3) -> float:
        """Distance between the optical centres of two rectified cameras, metres.

        ``P_rect_0i = K [I | t_i]`` with ``P[0, 3] = fx · t_x``, so the baseline is
        ``(P_left[0, 3] − P_right[0, 3]) / fx`` (0.5327 m for cameras 2 and 3).
        """
        pl, pr = self.P_rect[left], self.P_rect[right]
        return float((pl[0, 3] - pr[0, 3]) / pl[0, 0])


def read_raw_calibration(date_dir: str | Path) -> KittiCalibration:
    """Calibration of a KITTI raw recording day (``<date>/calib_{cam_to_cam,velo_to_cam}.txt``)."""
    date_dir = Path(date_dir)
    cam = read_calib_file(date_dir / "calib_cam_to_cam.txt")
    velo = read_calib_file(date_dir / "calib_velo_to_cam.txt")
    velo_to_cam = np.eye(4)
    velo_to_cam[:3, :3] = velo.matrix("R", (3, 3))
    velo_to_cam[:3, 3] = velo.matrix("T", (3,))
    p_rect = {c: cam.matrix(f"P_rect_0{c}", (3, 4)) for c in range(4)}
    # S_rect_0c is (W, H); reversed it is the image shape (H, W) (monodepth2 generate_depth_map).
    sizes = {c: tuple(int(s) for s in cam.matrix(f"S_rect_0{c}", (2,))[::-1]) for c in range(4)}
    return KittiCalibration(
        P_rect=p_rect,
        R_rect_00=cam.matrix("R_rect_00", (3, 3)),
        velo_to_cam=velo_to_cam,
        image_sizes=sizes,  # type: ignore[arg-type]
        sources=(cam.path, velo.path),
    )


def read_object_calibration(path: str | Path) -> KittiCalibration:
    """Calibration of a KITTI object-benchmark frame (``P0..P3``, ``R0_rect``, ``Tr_velo_to_cam``)."""
    calib = read_calib_file(path)
    return KittiCalibration(
        P_rect={c: calib.matrix(f"P{c}", (3, 4)) for c in range(4)},
        R_rect_00=calib.matrix("R0_rect", (3, 3)),
        velo_to_cam=_homogeneous(calib.matrix("Tr_velo_to_cam", (3, 4))),
        image_sizes={},
        sources=(calib.path,),
    )


RAW_CALIB_FILES = ("calib_cam_to_cam.txt", "calib_velo_to_cam.txt")
"""The two files of a KITTI raw recording day's calibration that the projection needs."""


def read_calibration(path: str | Path) -> KittiCalibration:
    """Calibration from either format: a raw recording day's folder (or one of its
    :data:`RAW_CALIB_FILES`; :func:`read_raw_calibration`), else an object-benchmark frame's file
    (:func:`read_object_calibration`)."""
    path = Path(path)
    if path.is_dir():
        return read_raw_calibration(path)
    if path.name in RAW_CALIB_FILES:
        return read_raw_calibration(path.parent)
    if not path.is_file():
        raise DataError(
            path,
            "calibration not found (give the raw date folder holding "
            f"{' and '.join(RAW_CALIB_FILES)}, or an object-benchmark calib .txt)",
        )
    return read_object_calibration(path)


def find_calibration(scan: str | Path) -> Path | None:
    """The calibration that the KITTI layouts put beside a velodyne scan, if it is there:
    raw ``<date>/<drive>/velodyne_points/data/<frame>.bin`` → the ``<date>`` folder;
    object ``<split>/velodyne/<frame>.bin`` → ``<split>/calib/<frame>.txt``."""
    scan = Path(scan)
    if len(scan.parents) > 3 and scan.parents[1].name == "velodyne_points":
        date_dir = scan.parents[3]
        if all((date_dir / name).is_file() for name in RAW_CALIB_FILES):
            return date_dir
    if scan.parent.name == "velodyne":
        frame_calib = scan.parents[1] / "calib" / f"{scan.stem}.txt"
        if frame_calib.is_file():
            return frame_calib
    return None


def read_velodyne_points(path: str | Path) -> np.ndarray:
    """``(N, 4)`` float32 ``x, y, z, reflectance`` of a velodyne ``.bin`` scan (metres; x forward)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "velodyne scan not found")
    data = path.read_bytes()
    if len(data) % 16:
        raise DataError(
            path, f"size {len(data)} bytes is not a multiple of 16 (4 float32 per point)"
        )
    return np.frombuffer(data, dtype="<f4").reshape(-1, 4).copy()


def project_velodyne(
    points: np.ndarray, P_velo2im: np.ndarray, depth_source: str = "velodyne_x"
) -> np.ndarray:
    """Project the points in front of the LiDAR (``x ≥ 0``) to the image, before rounding.

    Args:
        points: ``(N, 3+)`` velodyne points, metres (columns after the third are ignored).
        P_velo2im: ``(3, 4)`` velodyne → image projection (:meth:`KittiCalibration.velo_to_image`).
        depth_source: ``"velodyne_x"`` or ``"camera_z"`` (see :data:`DEPTH_SOURCES`).

    Returns:
        ``(M, 3)`` float64 ``u, v, depth``: pixel coordinates (monodepth2's, before its ``−1``)
        and depth in metres, for the ``M`` points with ``x ≥ 0``, in scan order.
    """
    if depth_source not in DEPTH_SOURCES:
        raise ValueError(f"depth_source must be one of {DEPTH_SOURCES}, got {depth_source!r}")
    points = np.asarray(points)
    if points.ndim != 2 or points.shape[1] < 3:
        raise ValueError(f"points must be (N, 3+), got {points.shape}")
    front = points[points[:, 0] >= 0]
    homogeneous = np.concatenate([front[:, :3], np.ones((len(front), 1), front.dtype)], axis=1)
    uvz = homogeneous @ np.asarray(P_velo2im, dtype=np.float64).T
    uvz[:, :2] /= uvz[:, 2:3]
    if depth_source == "velodyne_x":
        uvz[:, 2] = front[:, 0]
    return uvz


def rasterize_sparse_depth(uvz: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
    """Rasterise projected points into an ``(H, W)`` map exactly as monodepth2 does.

    Steps (monodepth2 ``kitti_utils.py::generate_depth_map``): ``u, v ← round(·) − 1`` with
    NumPy's round-half-to-even; keep ``0 ≤ u < W``, ``0 ≤ v < H``; write the depths in order so
    that the last point on a pixel wins; then for every ``sub2ind`` index shared by several points
    write the minimum of their depths at the *first* such point's pixel, where
    ``sub2ind = v·(W − 1) + u − 1`` (the reference's (W − 1) quirk: pixels ``(v, 0)`` and
    ``(v − 1, W − 1)`` share an index); finally negative depths become 0.

    Args:
        uvz: ``(N, 3)`` ``u, v, depth`` from :func:`project_velodyne`.
        image_size: ``(H, W)``.

    Returns:
        ``(H, W)`` float64 depth in metres, 0 = no return.
    """
    h, w = image_size
    u = np.round(uvz[:, 0]) - 1
    v = np.round(uvz[:, 1]) - 1
    inside = (u >= 0) & (v >= 0) & (u < w) & (v < h)
    u, v, z = u[inside].astype(np.int64), v[inside].astype(np.int64), uvz[inside, 2]
    depth = np.zeros((h, w))
    if len(z) == 0:
        return depth
    # last point wins: the first occurrence of each pixel in the reversed order
    pixel = v * w + u
    _, last_from_end = np.unique(pixel[::-1], return_index=True)
    last = len(pixel) - 1 - last_from_end
    depth[v[last], u[last]] = z[last]
    # duplicates by the quirky index: minimum depth at the first point's pixel
    quirk = v * (w - 1) + u - 1
    _, first, group, counts = np.unique(
        quirk, return_index=True, return_inverse=True, return_counts=True
    )
    minimum = np.full(len(first), np.inf)
    np.minimum.at(minimum, group, z)
    dup = counts > 1
    depth[v[first[dup]], u[first[dup]]] = minimum[dup]
    depth[depth < 0] = 0
    return depth


def velodyne_depth_map(
    points: np.ndarray,
    P_velo2im: np.ndarray,
    image_size: tuple[int, int],
    depth_source: str = "velodyne_x",
) -> np.ndarray:
    """Sparse ``(H, W)`` float32 depth (metres, 0 = invalid) of a velodyne scan, as monodepth2.

    ``depth_source="velodyne_x"`` reproduces monodepth2's ``export_gt_depth.py`` (Eigen 697 GT);
    ``"camera_z"`` its training-time ``get_depth``.
    """
    uvz = project_velodyne(points, P_velo2im, depth_source)
    return rasterize_sparse_depth(uvz, image_size).astype(np.float32)


def object_frame_depth_map(
    calib_path: str | Path,
    velodyne_path: str | Path,
    image_size: tuple[int, int],
    cam: int = 2,
    depth_source: str = "velodyne_x",
) -> np.ndarray:
    """Sparse depth of a KITTI object-benchmark frame (object-format calibration), as above.

    Args:
        image_size: ``(H, W)`` of the frame's image (the object calibration does not hold it).
    """
    P = read_object_calibration(calib_path).velo_to_image(cam)
    return velodyne_depth_map(read_velodyne_points(velodyne_path), P, image_size, depth_source)
