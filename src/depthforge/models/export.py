"""ONNX export of depth models (TorchScript-based exporter, opset 17; needs the ``onnx`` extra).

The graph takes ``images`` ``(B, 3, H, W)`` float32 RGB in ``[0, 1]`` (normalisation is inside
the model) and returns ``depth`` ``(B, 1, h, w)`` in the model's ``output_space`` (log depth stays
log depth). Batch is always dynamic; height and width are dynamic too unless the model says
otherwise (``onnx_dynamic_size``: False for the fully connected Eigen 2014/2015 and the two-stream
solver fusion). Uses the TorchScript-based exporter (``dynamo=False``), which needs no onnxscript;
its deprecation, tracer and constant-folding warnings are silenced here.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

from depthforge.io import atomic_path
from depthforge.models.base import DepthModel


class DepthOnly(nn.Module):
    """Wraps a model so that its forward returns only the depth tensor (``forward_depth``: the
    other heads of a multi-task model are not in the graph)."""

    def __init__(self, model: DepthModel):
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model.forward_depth(images)


def export_onnx(
    model: DepthModel,
    path: str | Path,
    dynamic: bool = True,
    size: tuple[int, int] | None = None,
    opset: int = 17,
) -> Path:
    """Write ``model`` (in eval mode) as an ONNX file at ``path``, atomically.

    Args:
        model: a depth model (not the pose network).
        path: output ``.onnx`` file.
        dynamic: dynamic batch, and dynamic height/width where the architecture allows.
        size: ``(H, W)`` of the example input used for tracing; default ``config.input_size``.
        opset: ONNX opset version.

    Returns:
        ``path``.
    """
    if model.output_space is None:
        raise ValueError(f"{type(model).__name__} does not predict depth; nothing to export")
    if model.takes_sparse:
        raise ValueError(
            f"{type(model).__name__} takes RGB + sparse depth; ONNX export supports single-input "
            "models only"
        )
    height, width = size or model.config.input_size
    example = torch.rand(1, 3, height, width, device=next(model.parameters()).device)
    axes = {0: "batch", 2: "height", 3: "width"} if model.onnx_dynamic_size else {0: "batch"}
    was_training = model.training
    model.eval()
    try:
        with atomic_path(path) as tmp, warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            warnings.filterwarnings("ignore", message="Constant folding")
            warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
            torch.onnx.export(
                DepthOnly(model),
                (example,),
                str(tmp),
                input_names=["images"],
                output_names=["depth"],
                dynamic_axes={"images": axes, "depth": axes} if dynamic else None,
                opset_version=opset,
                dynamo=False,
            )
    finally:
        model.train(was_training)
    return Path(path)
