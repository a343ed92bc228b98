"""Where an application's depth comes from, resolved in one place for every command
(``depthforge pointcloud``, ``parallax``, ``complete`` and ``dof``).

The contract: exactly one of a depth file registered to the photo (decoded into metres by
:func:`depthforge.io.read_depth` with its ``kind`` and, for ``png16``, ``scale`` stored units per
metre) or a saved model (its prediction, with the output space it declares); and the camera as
an intrinsics JSON file or a horizontal field of view.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from depthforge.errors import DataError
from depthforge.io import read_depth
from depthforge.io.structured import load_npy, read_intrinsics
from depthforge.types import OutputSpace, image_to_tensor


def check_depth_source(depth: str | Path | None, model: str | Path | None) -> None:
    """Raise ``ValueError`` unless exactly one of ``depth`` and ``model`` is given."""
    if (depth is None) == (model is None):
        raise ValueError(
            "give exactly one of a depth file (--depth FILE) and a model (--model PATH)"
        )


def infer_depth_kind(path: Path) -> str:
    """``npy`` for ``.npy`` files; any other file needs an explicit ``--depth-kind`` (the one
    depth-source contract of every command: a PNG's units are never guessed)."""
    if path.suffix.lower() == ".npy":
        return "npy"
    raise DataError(
        path,
        "cannot tell how this depth file stores depth: pass --depth-kind (png16 with "
        "--depth-scale S stored units per metre, e.g. 1000 for millimetres; kitti, tum, sun, "
        "nyu_raw, make3d, npy)",
    )


def read_registered_depth(
    path: str | Path,
    image: str | Path,
    image_shape: tuple[int, ...],
    kind: str | None = None,
    scale: float | None = None,
) -> np.ndarray:
    """Decode ``path`` into metres ``(H, W)`` float32 (0 = no depth) and check that it has the
    size of ``image`` (whose array shape is ``image_shape``); a mismatch names both sizes.
    ``kind`` defaults to :func:`infer_depth_kind`."""
    path = Path(path)
    kind = kind or infer_depth_kind(path)
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


def predict_depth(image: np.ndarray, model_path: str | Path) -> tuple[np.ndarray, OutputSpace]:
    """A saved model's (or a pretrained name's) depth-like map ``(H, W)`` float32 for an
    ``(H, W, 3)`` uint8 image, and the output space it is in (:class:`~depthforge.types.OutputSpace`)."""
    from depthforge.models.predict import predict
    from depthforge.models.pretrained.load import resolve_model

    model = resolve_model(model_path)
    prediction = predict(model, image_to_tensor(image)[None])
    return prediction.depth[0, 0].numpy().astype(np.float32), prediction.output_space


def depth_for_photo(
    rgb: np.ndarray,
    image: str | Path,
    *,
    depth: str | Path | None = None,
    depth_kind: str | None = None,
    depth_scale: float | None = None,
    model: str | Path | None = None,
) -> tuple[np.ndarray, OutputSpace, Path]:
    """``(depth (H, W), output space, source file)`` for the photo ``rgb`` read from ``image``:
    exactly one of a depth file (decoded into metres and size-checked by
    :func:`read_registered_depth`) or a saved model."""
    check_depth_source(depth, model)
    if depth is not None:  # read_depth decodes every kind into metres
        z = read_registered_depth(
            depth,
            image,
            rgb.shape,
            depth_kind,
            depth_scale,
        )
        return z, OutputSpace.METRIC_DEPTH, Path(depth)
    z, space = predict_depth(rgb, model)
    return z, space, Path(model)


def resolve_intrinsics(
    width: int,
    height: int,
    *,
    intrinsics: str | Path | None = None,
    fov: float | None = None,
) -> np.ndarray:
    """``(3, 3)`` K from an intrinsics JSON file or a horizontal field of view (exactly one).

    Args:
        width, height: the image size in pixels (for ``fov``).
        intrinsics: a JSON file ``{"K": [[fx, 0, cx], [0, fy, cy], [0, 0, 1]]}`` or
            ``{"fx", "fy", "cx", "cy"}`` (:func:`depthforge.io.structured.read_intrinsics`).
        fov: horizontal field of view in degrees
            (:func:`depthforge.geometry.camera.intrinsics_from_fov`: square pixels, centred).

    Raises:
        DataError: an unreadable file or one without K. ValueError: neither or both given.
    """
    if (intrinsics is None) == (fov is None):
        raise ValueError(
            "give exactly one of --intrinsics and --fov (intrinsics=FILE: JSON with K or "
            "fx, fy, cx, cy; fov=DEG: the horizontal field of view, about 60 for a phone photo)"
        )
    if fov is not None:
        import torch

        from depthforge.geometry.camera import intrinsics_from_fov

        return intrinsics_from_fov(width, height, float(fov), dtype=torch.float64).numpy()
    return read_intrinsics(intrinsics)
