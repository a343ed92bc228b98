"""Where an application's depth comes from: a depth file registered to the photo, or a saved
model's prediction. One place for the decoding policy, the size check and the prediction, shared
by ``depthforge pointcloud``, ``parallax``, ``complete`` and ``dof``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from depthforge.errors import DataError
from depthforge.types import OutputSpace


def infer_depth_kind(path: Path) -> str:
    """``npy`` for ``.npy`` files; anything else needs an explicit ``--depth-kind``."""
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
    size of ``image`` (whose array shape is ``image_shape``); a mismatch names both sizes."""
    from depthforge.io import read_depth

    path = Path(path)
    depth = read_depth(path, kind or infer_depth_kind(path), scale)
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
    tensor = torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].float() / 255.0
    prediction = predict(model, tensor)
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
    exactly one of a depth file (decoded into metres, size-checked) or a saved model."""
    if (depth is None) == (model is None):
        raise ValueError("give exactly one of depth (--depth FILE) and model (--model PATH)")
    if depth is not None:  # read_depth decodes every kind into metres
        z = read_registered_depth(depth, image, rgb.shape, depth_kind, depth_scale)
        return z, OutputSpace.METRIC_DEPTH, Path(depth)
    z, space = predict_depth(rgb, model)
    return z, space, Path(model)
