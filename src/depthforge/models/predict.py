"""Run a depth model on images: the one place the resize policy and output spaces are applied.

``predict(model, images)`` takes ``(B, 3, H, W)`` RGB in ``[0, 1]`` at any size and returns
depth at the *input* resolution:

1. the batch is brought to the network size (``size`` or ``model.config.input_size``) by the
   model's policy ``config.resize``: ``"stretch"`` resizes both axes independently;
   ``"keep_aspect"`` scales uniformly to fit, then pads bottom/right by edge replication;
2. the network runs in eval mode without gradients, in chunks of ``batch_size``, as its copy
   prepared for inference (:func:`~depthforge.models.inference.inference_model`: BatchNorm
   folded, channels_last, on the CPU Winograd's F(2×2, 3×3) for the wide 3×3 convolutions; the
   same outputs to float rounding);
3. the output (after cropping the padded part for ``keep_aspect``) is resized back to
   ``(H, W)`` in the model's declared ``resize_space``
   (:func:`~depthforge.transforms.resize_space.resize_prediction`): monodepth2's disparity is
   resized and then inverted, as its ``evaluate_depth.py`` does; Eigen et al.'s log depth is
   resized as log depth; metric depth as depth;
4. ``LOG_DEPTH`` outputs are exponentiated to metric depth (the :class:`Prediction` records it).

All resizes are bilinear with ``align_corners=False``; downsizing uses antialiasing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from depthforge.models.base import DepthModel, depth_output
from depthforge.models.inference import inference_model, to_inference_layout
from depthforge.transforms.resize_space import bilinear_resize as resize
from depthforge.transforms.resize_space import resize_prediction
from depthforge.types import OutputSpace, ResizeSpace


@dataclass
class Prediction:
    """Depth predicted for a batch.

    Attributes:
        depth: ``(B, 1, H, W)`` float32 at the input resolution, in ``output_space``.
        output_space: what ``depth`` is (``METRIC_DEPTH`` after converting log depth).
        model_output_space: what the network itself outputs (e.g. ``LOG_DEPTH``).
    """

    depth: torch.Tensor
    output_space: OutputSpace
    model_output_space: OutputSpace

    @property
    def converted_from_log(self) -> bool:
        """True when the network's log depth was exponentiated."""
        return self.model_output_space is OutputSpace.LOG_DEPTH


def network_size(model: DepthModel, size: tuple[int, int] | None) -> tuple[int, int]:
    """The ``(H, W)`` the network runs at; a fixed-size model refuses any other ``size``."""
    native = tuple(model.config.input_size)
    if size is None:
        return native  # type: ignore[return-value]
    size = (int(size[0]), int(size[1]))
    if model.fixed_input_size and size != native:
        raise ValueError(
            f"{type(model).__name__} has fully connected layers and runs only at {native}, "
            f"not {size}"
        )
    return size


def fit_inside(height: int, width: int, target: tuple[int, int]) -> tuple[int, int]:
    """Largest ``(h, w)`` with the aspect of ``height × width`` inside ``target``."""
    scale = min(target[0] / height, target[1] / width)
    return max(1, min(target[0], round(height * scale))), max(
        1, min(target[1], round(width * scale))
    )


def to_image_size(model: DepthModel, raw: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Steps 3–4 of the module docstring: the network output ``raw`` ``(B, 1, h, w)`` resized to
    ``size`` in the model's ``resize_space``, log depth exponentiated (``(B, 1, H, W)``)."""
    space = model.output_space
    how = getattr(model, "resize_space", ResizeSpace.DEPTH)  # DepthModel default
    depth = resize_prediction(raw, size, space, how)
    return depth.exp() if space is OutputSpace.LOG_DEPTH else depth


@torch.no_grad()
def predict(
    model: DepthModel,
    images: torch.Tensor,
    batch_size: int = 8,
    size: tuple[int, int] | None = None,
    sparse: torch.Tensor | None = None,
) -> Prediction:
    """Predict depth for ``images`` at their own resolution (see the module docstring).

    Args:
        model: a depth model (``model.output_space`` not None).
        images: ``(B, 3, H, W)`` float RGB in ``[0, 1]``.
        batch_size: images per forward pass.
        size: network input ``(H, W)``; default ``model.config.input_size``. Fully convolutional
            models accept any size; fixed-size models only their own.
        sparse: ``(B, 1, H, W)`` sparse depth in metres (0 = no sample) for a model with
            ``takes_sparse`` (depth completion); moved to the network size by
            :func:`~depthforge.models.sparse_to_dense.resize_sparse`, zero-padded.

    Returns:
        :class:`Prediction` with ``depth`` ``(B, 1, H, W)`` on the images' device.
    """
    if model.output_space is None:
        raise ValueError(f"{type(model).__name__} does not predict depth")
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images must be (B, 3, H, W), got {tuple(images.shape)}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be ≥ 1, got {batch_size}")
    if getattr(model, "takes_sparse", False) != (sparse is not None):
        need = "needs sparse depth (sparse=...)" if sparse is None else "takes no sparse depth"
        raise ValueError(f"{type(model).__name__} {need}")
    if sparse is not None and sparse.shape != (images.shape[0], 1, *images.shape[-2:]):
        raise ValueError(
            f"sparse must be {(images.shape[0], 1, *images.shape[-2:])}, got {tuple(sparse.shape)}"
        )
    target = network_size(model, size)
    height, width = images.shape[-2:]
    fitted = target if model.config.resize == "stretch" else fit_inside(height, width, target)
    param = next(model.parameters())
    was_training = model.training
    model.eval()
    # forward_depth skips heads that inference does not need (Eigen 2015's normals and labels);
    # a depthforge model runs as its prepared copy (BatchNorm folded, channels_last).
    net = inference_model(model) if isinstance(model, DepthModel) else None

    def depth_of(*inputs: torch.Tensor) -> torch.Tensor:
        if net is None:
            return depth_output(model(*inputs))
        return net.forward_depth(*map(to_inference_layout, inputs))

    chunks = []
    try:
        for start in range(0, len(images), batch_size):
            chunk = images[start : start + batch_size]
            x = resize(chunk.to(device=param.device, dtype=param.dtype), fitted)
            pad = (0, target[1] - fitted[1], 0, target[0] - fitted[0])
            inputs = [F.pad(x, pad, mode="replicate") if any(pad) else x]
            if sparse is not None:
                from depthforge.models.sparse_to_dense import resize_sparse

                s = sparse[start : start + batch_size].to(device=param.device, dtype=param.dtype)
                inputs.append(F.pad(resize_sparse(s, fitted), pad))
            chunks.append(depth_of(*inputs).float())
    finally:
        model.train(was_training)
    raw = torch.cat(chunks)
    out_h, out_w = raw.shape[-2:]
    # Crop the part of the output that saw padding (keep_aspect); a no-op for "stretch".
    raw = raw[
        ..., : math.ceil(out_h * fitted[0] / target[0]), : math.ceil(out_w * fitted[1] / target[1])
    ]
    space = model.output_space
    depth = to_image_size(model, raw, (height, width)).to(images.device)
    final = OutputSpace.METRIC_DEPTH if space is OutputSpace.LOG_DEPTH else space
    return Prediction(depth=depth, output_space=final, model_output_space=space)
