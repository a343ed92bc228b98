"""ONNX export of depth models (TorchScript-based exporter, opset 17; needs the ``onnx`` extra).

The graph takes ``images`` ``(B, 3, H, W)`` float32 RGB in ``[0, 1]`` (normalisation is inside
the model), and for a depth-completion model (``takes_sparse``) also ``sparse`` ``(B, 1, H, W)``
float32 sparse depth in metres (0 = no sample) at the same size, and returns ``depth``
``(B, 1, h, w)`` in the model's ``output_space`` (log depth stays log depth). Batch is always
dynamic; height and width are dynamic too unless the model says otherwise
(``onnx_dynamic_size``: False for the fully connected Eigen 2014/2015 and the two-stream solver
fusion). Uses the TorchScript-based exporter (``dynamo=False``), which needs no onnxscript;
its deprecation, tracer and constant-folding warnings are silenced here.

With ``resize_in_graph`` the graph is :func:`~depthforge.models.predict.predict` for the
``"stretch"`` policy: any ``(B, 3, H, W)`` in, depth ``(B, 1, H, W)`` out, resized inside the
graph as ``predict`` does (to the network size bilinearly, antialiased; back in the model's
``resize_space``; log depth exponentiated to metres). The antialiased resize needs opset 18
(``Resize`` with ``antialias=1``, ``exclude_outside=1``: PyTorch's antialiased bilinear
renormalises the filter at the borders, which is what ``exclude_outside`` does).

Every export carries its contract in ``metadata_props``
(:func:`~depthforge.models.contract.export_contract`).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

from depthforge.io import atomic_path
from depthforge.models.base import DepthModel
from depthforge.models.contract import export_contract
from depthforge.models.predict import network_size, to_image_size
from depthforge.transforms.resize_space import bilinear_resize

RESIZE_OPSET = 18
"""The first opset whose ``Resize`` antialiases."""


class DepthOnly(nn.Module):
    """Wraps a model so that its forward returns only the depth tensor (``forward_depth``: the
    other heads of a multi-task model are not in the graph)."""

    def __init__(self, model: DepthModel):
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor, *sparse: torch.Tensor) -> torch.Tensor:
        return self.model.forward_depth(images, *sparse)


class ResizedDepth(nn.Module):
    """``predict`` as one module: ``(B, 3, H, W)`` in ``[0, 1]`` → ``(B, 1, H, W)`` depth, the
    network run at ``size`` (``"stretch"`` policy only)."""

    def __init__(self, model: DepthModel, size: tuple[int, int]):
        super().__init__()
        self.model = model
        self.size = size

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        raw = self.model.forward_depth(bilinear_resize(images, self.size))
        return to_image_size(self.model, raw, images.shape[-2:])


def antialiased_bilinear(g, x, output_size, align_corners, scale_factors):
    """ONNX symbolic of ``aten::_upsample_bilinear2d_aa`` (half-pixel centres; opset 18)."""
    del align_corners, scale_factors  # always False / None as bilinear_resize calls it
    sizes = g.op(
        "Concat",
        g.op("Shape", x, start_i=0, end_i=2),
        g.op("Cast", output_size, to_i=7),  # INT64
        axis_i=0,
    )
    empty = g.op("Constant", value_t=torch.tensor([], dtype=torch.float32))
    return g.op(
        "Resize",
        x,
        empty,
        empty,
        sizes,
        mode_s="linear",
        coordinate_transformation_mode_s="half_pixel",
        antialias_i=1,
        exclude_outside_i=1,
    )


def write_metadata(path: Path, entries: dict[str, str]) -> None:
    """Set the ONNX file's ``metadata_props`` to ``entries`` (in place)."""
    import onnx

    proto = onnx.load(str(path))
    onnx.helper.set_model_props(proto, entries)
    onnx.save(proto, str(path))


def export_onnx(
    model: DepthModel,
    path: str | Path,
    dynamic: bool = True,
    size: tuple[int, int] | None = None,
    opset: int = 17,
    resize_in_graph: bool = False,
) -> Path:
    """Write ``model`` (in eval mode) as an ONNX file at ``path``, atomically, with its contract
    in the metadata (:mod:`depthforge.models.contract`).

    Args:
        model: a depth model (not the pose network).
        path: output ``.onnx`` file.
        dynamic: dynamic batch, and dynamic height/width where the architecture allows (always
            with ``resize_in_graph``).
        size: ``(H, W)`` of the example input used for tracing; default ``config.input_size``.
            With ``resize_in_graph``, the network size inside the graph (as ``predict``'s
            ``size``).
        opset: ONNX opset version (at least 18 with ``resize_in_graph``).
        resize_in_graph: the graph takes any size and returns depth at the input size, as
            :func:`~depthforge.models.predict.predict` does (module docstring).

    Returns:
        ``path``.

    Raises:
        ValueError: a model that predicts no depth, or (with ``resize_in_graph``) one that takes
            sparse depth, uses the ``"keep_aspect"`` policy or a size it cannot run at.
    """
    if model.output_space is None:
        raise ValueError(f"{type(model).__name__} does not predict depth; nothing to export")
    if model.takes_sparse and resize_in_graph:
        raise ValueError(
            f"{type(model).__name__} takes sparse depth, which the resize inside the graph does "
            "not handle: export without it (the graph then takes images and sparse depth at the "
            "network's size)"
        )
    if resize_in_graph and model.config.resize != "stretch":
        raise ValueError(
            f"{type(model).__name__} uses the {model.config.resize!r} resize policy; the resize "
            "inside the graph supports 'stretch' only: export without it"
        )
    height, width = (
        network_size(model, size) if resize_in_graph else (size or model.config.input_size)
    )
    device = next(model.parameters()).device
    example = (torch.rand(1, 3, height, width, device=device),)
    if model.takes_sparse:  # a few samples in metres, the rest 0
        depth = 1.0 + 4.0 * torch.rand(1, 1, height, width, device=device)
        example += (torch.where(torch.rand_like(depth) < 0.05, depth, 0.0),)
    inputs = ["images", "sparse"][: len(example)]
    dynamic_size = resize_in_graph or model.onnx_dynamic_size
    axes = {0: "batch", 2: "height", 3: "width"} if dynamic_size else {0: "batch"}
    graph = ResizedDepth(model, (height, width)) if resize_in_graph else DepthOnly(model)
    if resize_in_graph:
        opset = max(opset, RESIZE_OPSET)
        torch.onnx.register_custom_op_symbolic(
            "aten::_upsample_bilinear2d_aa", antialiased_bilinear, RESIZE_OPSET
        )
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out_size = tuple(model.forward_depth(*example).shape[-2:])
        contract = export_contract(
            model,
            (height, width),
            out_size,
            resize_in_graph=resize_in_graph,
            dynamic=dynamic and dynamic_size,
        )
        with atomic_path(path) as tmp, warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            warnings.filterwarnings("ignore", message="Constant folding")
            warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
            torch.onnx.export(
                graph,
                example,
                str(tmp),
                input_names=inputs,
                output_names=["depth"],
                dynamic_axes=dict.fromkeys([*inputs, "depth"], axes) if dynamic else None,
                opset_version=opset,
                dynamo=False,
            )
            write_metadata(tmp, contract)
    finally:
        model.train(was_training)
    return Path(path)
