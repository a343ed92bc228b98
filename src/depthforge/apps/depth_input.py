"""Where an application's depth comes from, resolved in one place for every command
(``depthforge pointcloud``, ``parallax``, ``complete`` and ``dof``).

The contract: exactly one of a depth file registered to the photo (decoded into metres by
:func:`depthforge.io.read_depth` with its ``kind`` and, for ``png16``, ``scale`` stored units per
metre; or a KITTI velodyne ``.bin`` scan projected into the photo with its calibration,
:func:`read_velodyne_depth`) or a saved model (its prediction, with the output space it
declares); and the camera as an intrinsics JSON file or a horizontal field of view.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from depthforge.data.kitti_calib import (
    find_calibration,
    read_calibration,
    read_velodyne_points,
    velodyne_depth_map,
)
from depthforge.errors import DataError
from depthforge.geometry.pinhole import fov_intrinsics
from depthforge.io import read_depth
from depthforge.io.structured import load_npy, read_intrinsics
from depthforge.types import OutputSpace, image_to_tensor

if TYPE_CHECKING:
    import torch

DEFAULT_FOV = 60.0
"""Horizontal field of view (degrees) assumed when neither ``--fov`` nor ``--intrinsics`` is
given: about a phone's main camera."""


VELODYNE = "velodyne"
"""The depth kind of a KITTI velodyne scan (``.bin``), read by :func:`read_velodyne_depth`."""
VELODYNE_CAMERA = 2
"""The camera a scan is projected into by default: KITTI's left colour camera (``image_02``)."""
VELODYNE_DEPTH = "camera_z"
"""A projected scan's depth is the rectified camera's z (distance along the optical axis, what
a depth map registered to the photo holds; :data:`depthforge.data.kitti_calib.DEPTH_SOURCES`)."""


def infer_depth_kind(path: Path) -> str:
    """``npy`` for ``.npy`` files, ``velodyne`` for ``.bin`` scans; any other file needs an
    explicit ``--depth-kind`` (the one depth-source contract of every command: a PNG's units are
    never guessed)."""
    suffix = path.suffix.lower()
    if suffix in (".npy", ".bin"):
        return "npy" if suffix == ".npy" else VELODYNE
    raise DataError(
        path,
        "cannot tell how this depth file stores depth: pass --depth-kind (png16 with "
        "--depth-scale S stored units per metre, e.g. 1000 for millimetres; kitti, tum, sun, "
        "nyu_raw, make3d, npy, velodyne)",
    )


def read_velodyne_depth(
    path: str | Path,
    image: str | Path,
    image_shape: tuple[int, ...],
    calib: str | Path | None = None,
    camera: int = VELODYNE_CAMERA,
) -> np.ndarray:
    """A KITTI velodyne scan as sparse depth registered to the photo of camera ``camera``.

    The scan is projected by :func:`depthforge.data.kitti_calib.velodyne_depth_map` (the KITTI
    reader's projection, rasterised as monodepth2's ``generate_depth_map``) with
    ``P_rect_0c · R_rect_00 · [R|T]`` into an image of the photo's size; the depth is the
    rectified camera's z (:data:`VELODYNE_DEPTH`).

    Args:
        path: ``.bin`` scan, little-endian float32 ``x, y, z, reflectance`` per point (metres).
        image, image_shape: the photo's path (for messages) and array shape ``(H, W, 3)``.
        calib: a KITTI raw recording day's folder (``calib_cam_to_cam.txt`` and
            ``calib_velo_to_cam.txt``) or an object-benchmark calib ``.txt``; default: found
            beside the scan in either KITTI layout
            (:func:`depthforge.data.kitti_calib.find_calibration`).
        camera: 0–3 (2, the left colour camera, by default).

    Returns:
        ``(H, W)`` float32 metres, 0 where no point lands.

    Raises:
        DataError: no calibration, a scan whose size is not a multiple of 16 bytes, a photo
            whose size differs from the calibration's rectified image, no point in the photo.
    """
    path = Path(path)
    points = read_velodyne_points(path)
    if calib is None:
        calib = find_calibration(path)
        if calib is None:
            raise DataError(
                path,
                "a velodyne scan needs its calibration: pass --calib (the KITTI raw date folder "
                "with calib_cam_to_cam.txt and calib_velo_to_cam.txt, or an object calib .txt)",
            )
    if camera not in range(4):
        raise DataError(path, f"camera must be 0, 1, 2 or 3 (KITTI image_0c), got {camera}")
    calibration = read_calibration(calib)
    size = (int(image_shape[0]), int(image_shape[1]))
    expected = calibration.image_sizes.get(camera, size)
    if expected != size:
        raise DataError(
            calibration.sources[0],
            f"camera {camera}'s rectified images are {expected[1]}×{expected[0]} (W×H) but the "
            f"image {image} is {size[1]}×{size[0]}: give this camera's photo at its rectified size",
        )
    depth = velodyne_depth_map(points, calibration.velo_to_image(camera), size, VELODYNE_DEPTH)
    if not depth.any():
        raise DataError(
            path,
            f"none of the scan's {len(points):,} points lands in camera {camera}'s "
            f"{size[1]}×{size[0]} image with the calibration {calibration.sources[0]}",
        )
    return depth


def read_registered_depth(
    path: str | Path,
    image: str | Path,
    image_shape: tuple[int, ...],
    kind: str | None = None,
    scale: float | None = None,
    *,
    calib: str | Path | None = None,
    camera: int = VELODYNE_CAMERA,
) -> np.ndarray:
    """Decode ``path`` into metres ``(H, W)`` float32 (0 = no depth) and check that it has the
    size of ``image`` (whose array shape is ``image_shape``); a mismatch names both sizes.
    ``kind`` defaults to :func:`infer_depth_kind`; a ``velodyne`` scan is projected with
    ``calib`` into ``camera`` (:func:`read_velodyne_depth`)."""
    path = Path(path)
    kind = kind or infer_depth_kind(path)
    if kind == VELODYNE:
        return read_velodyne_depth(path, image, image_shape, calib, camera)
    if calib is not None:
        raise DataError(
            Path(calib), f"a calibration applies to velodyne scans only, not to {kind} depth"
        )
    depth = read_depth(path, kind, scale)
    if not depth.any():  # the readers map NaN, inf and ≤ 0 to 0 (no measurement)
        raw = load_npy(path) if kind == "npy" else depth
        finite = np.isfinite(raw)
        what = (
            "0 or negative"
            if finite.all()
            else "not a number (NaN or inf)"
            if not finite.any()
            else "0, negative or NaN"
        )
        raise DataError(path, f"no valid depth: every one of the {raw.size:,} values is {what}")
    if depth.shape != tuple(image_shape[:2]):
        raise DataError(
            path,
            f"depth is {depth.shape[1]}×{depth.shape[0]} (W×H) but the image {image} is "
            f"{image_shape[1]}×{image_shape[0]}: give the depth registered to this image",
        )
    return depth


def predict_depth(
    image: np.ndarray, model_path: str | Path, device: str | torch.device = "cpu"
) -> tuple[np.ndarray, OutputSpace]:
    """A saved model's (or a pretrained name's) depth-like map ``(H, W)`` float32 for an
    ``(H, W, 3)`` uint8 image, and the output space it is in (:class:`~depthforge.types.OutputSpace`);
    the network runs on ``device``."""
    from depthforge.models.predict import predict
    from depthforge.models.pretrained.load import resolve_model

    model = resolve_model(model_path, device=device)
    prediction = predict(model, image_to_tensor(image)[None])
    return prediction.depth[0, 0].numpy().astype(np.float32), prediction.output_space


@dataclass(frozen=True)
class DepthSource:
    """Where a photo's depth comes from, as the applications' options say it: exactly one of a
    depth file registered to the photo and a model.

    Attributes:
        depth: a depth file registered to the photo, decoded into metres and size-checked by
            :func:`read_registered_depth`, or ``None``.
        kind: the depth file's :data:`depthforge.io.DEPTH_KINDS` key (default from its suffix,
            :func:`infer_depth_kind`).
        scale: stored units per metre of a ``png16`` file (default 1000, millimetres).
        model: a saved model folder or a pretrained name (:func:`predict_depth`), or ``None``.
        device: where ``model`` runs.
        calib, camera: the calibration and camera of a KITTI velodyne scan
            (:func:`read_velodyne_depth`).

    Raises:
        ValueError: on construction, unless exactly one of ``depth`` and ``model`` is given.
    """

    depth: str | Path | None = None
    kind: str | None = None
    scale: float | None = None
    model: str | Path | None = None
    device: str | torch.device = "cpu"
    calib: str | Path | None = None
    camera: int = VELODYNE_CAMERA

    def __post_init__(self) -> None:
        if (self.depth is None) == (self.model is None):
            raise ValueError(
                "give exactly one of a depth file (--depth FILE) and a model (--model PATH)"
            )

    def read(self, rgb: np.ndarray, image: str | Path) -> tuple[np.ndarray, OutputSpace, Path]:
        """``(depth (H, W), output space, source file)`` for the photo ``rgb`` read from
        ``image``: the depth file in metres (``metric_depth``), or the model's prediction in
        the output space it declares."""
        if self.depth is not None:  # read_depth decodes every kind into metres
            z = read_registered_depth(
                self.depth,
                image,
                rgb.shape,
                self.kind,
                self.scale,
                calib=self.calib,
                camera=self.camera,
            )
            return z, OutputSpace.METRIC_DEPTH, Path(self.depth)
        z, space = predict_depth(rgb, self.model, self.device)
        return z, space, Path(self.model)


def resolve_intrinsics(
    width: int,
    height: int,
    *,
    intrinsics: str | Path | None = None,
    fov: float | None = None,
) -> np.ndarray:
    """``(3, 3)`` K from an intrinsics JSON file or a horizontal field of view (at most one;
    neither: :data:`DEFAULT_FOV`).

    Args:
        width, height: the image size in pixels (for ``fov``).
        intrinsics: a JSON file ``{"K": [[fx, 0, cx], [0, fy, cy], [0, 0, 1]]}`` or
            ``{"fx", "fy", "cx", "cy"}`` (:func:`depthforge.io.structured.read_intrinsics`).
        fov: horizontal field of view in degrees
            (:func:`depthforge.geometry.pinhole.fov_intrinsics`: square pixels, centred).

    Raises:
        DataError: an unreadable file or one without K. ValueError: both given.
    """
    if intrinsics is not None and fov is not None:
        raise ValueError(
            "give --intrinsics or --fov, not both (intrinsics=FILE: JSON with K or fx, fy, cx, "
            "cy; fov=DEG: the horizontal field of view)"
        )
    if intrinsics is not None:
        return read_intrinsics(intrinsics)
    return fov_intrinsics(width, height, float(DEFAULT_FOV if fov is None else fov))
