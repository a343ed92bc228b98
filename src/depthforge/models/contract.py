"""The contract of an exported depth model: what goes in, what comes out, in plain key/value text.

:func:`export_contract` gives the entries that :func:`~depthforge.models.export.export_onnx`
writes into the ONNX file's ``metadata_props`` (readable with ``onnx.load(path).metadata_props``
or ONNX Runtime's ``session.get_modelmeta().custom_metadata_map``). Every value is a string:

* ``depthforge_version``, ``model_name`` (the registered name, or ``custom`` when the
  architecture and config match no registered variant), ``architecture``, ``model_config``
  (the config record as JSON);
* input: ``input`` (layout and dtype; with the ``sparse`` input of a depth-completion model),
  ``input_range`` (``[0, 1]``: the graph normalises
  itself), ``input_normalization`` (what the graph does to the ``[0, 1]`` input before its first
  layer) with ``input_mean`` / ``input_std`` (JSON lists, per RGB channel: the first layer sees
  ``(x − mean) / std``), ``input_size`` (``HxW``, the size the network was made for),
  ``input_dynamic_size``, ``input_size_multiple`` (height and width must be multiples of it),
  ``input_size_policy`` (how an image of another size is brought to ``input_size``);
* output: ``output`` (layout), ``output_size`` (``HxW`` for an input of ``input_size``, or
  ``input`` when the resize is inside the graph), ``output_space`` (an
  :class:`~depthforge.types.OutputSpace` value), ``output_units``, ``alignment`` (what a
  comparison with metric ground truth needs: nothing, per-image median scaling, …),
  ``resize_space`` (where the output is bilinearly resized to the image size: ``1 / resize(1 /
  d)`` for ``disparity``, ``exp(resize(ln d))`` for ``log_depth``), ``resize_in_graph``.
"""

from __future__ import annotations

import json
from typing import NamedTuple

from depthforge.models.backbones import IMAGENET_MEAN, IMAGENET_STD
from depthforge.models.base import DepthModel
from depthforge.models.ddvo import DDVODepthNet
from depthforge.models.eigen2014 import Eigen2014
from depthforge.models.eigen2015 import Eigen2015
from depthforge.models.fcrn import FCRN
from depthforge.models.hourglass import DIWHourglass
from depthforge.models.monodepth2 import INPUT_MEAN, INPUT_STD, Monodepth2
from depthforge.models.registry import MODELS
from depthforge.models.sfmlearner import SfMLearnerDispNet
from depthforge.models.sparse_to_dense import SparseToDense
from depthforge.models.two_stream import TwoStream
from depthforge.types import OutputSpace

SPARSE_INPUT = (
    "; sparse: float32 (batch, 1, height, width), sparse depth in metres at the images' size, "
    "0 = no sample (the library moves samples to another size without blending them: "
    "depthforge.models.sparse_to_dense.resize_sparse)"
)
"""The second input of a depth-completion graph, as the ``input`` entry describes it."""


class Normalization(NamedTuple):
    """What a model does to its ``[0, 1]`` RGB input: ``(x − mean) / std`` per channel."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    description: str


IMAGENET = Normalization(IMAGENET_MEAN, IMAGENET_STD, "ImageNet per-channel mean and std")
NONE = Normalization((0.0, 0.0, 0.0), (1.0, 1.0, 1.0), "none: RGB in [0, 1] as it is")


def same(mean: float, std: float, description: str) -> Normalization:
    """One mean and one std for all three channels."""
    return Normalization((mean,) * 3, (std,) * 3, description)


def input_normalization(model: DepthModel) -> Normalization:
    """The normalisation ``model`` applies inside its forward (each architecture's module
    docstring gives the source).

    Raises:
        ValueError: an architecture this table does not know.
    """
    cfg = model.config
    if isinstance(model, Eigen2014 | Eigen2015 | TwoStream):
        return IMAGENET
    if isinstance(model, FCRN):
        if cfg.input_range == "raw255":
            return same(0.0, 1 / 255, "RGB × 255, no mean (the authors' TensorFlow release)")
        return IMAGENET
    if isinstance(model, SparseToDense):
        return NONE if cfg.variant == "reference" else IMAGENET
    if isinstance(model, Monodepth2):
        return same(INPUT_MEAN, INPUT_STD, "monodepth2: (x − 0.45) / 0.225 on every channel")
    if isinstance(model, DIWHourglass):
        return NONE
    if isinstance(model, SfMLearnerDispNet):
        return same(0.5, 0.5, "SfMLearner: (x − 0.5) / 0.5")
    if isinstance(model, DDVODepthNet):
        return same(127 / 255, 127 / 255, "DDVO: (255·x − 127) / 127")
    raise ValueError(f"no recorded input normalisation for {type(model).__name__}")


def input_size_multiple(model: DepthModel) -> int:
    """The number height and width must be multiples of (1: any size the layers accept)."""
    if isinstance(model, Monodepth2):
        return 32
    if isinstance(model, DIWHourglass | Eigen2015):
        return 16
    return 1


def registered_name(model: DepthModel) -> str:
    """The registry name whose architecture and config ``model`` has, else ``"custom"``."""
    for name, spec in MODELS.items():
        if type(model) is spec.architecture and model.config == spec.config:
            return name
    return "custom"


OUTPUT_MEANING: dict[OutputSpace, tuple[str, str]] = {
    OutputSpace.METRIC_DEPTH: ("metres (z-depth)", "none: metric"),
    OutputSpace.LOG_DEPTH: ("natural log of metres (z-depth)", "none: exp() gives metres"),
    OutputSpace.SCALE_INVARIANT_DEPTH: (
        "depth up to an unknown positive scale",
        "per-image median scaling (multiply by median(ground truth) / median(prediction))",
    ),
    OutputSpace.AFFINE_INVARIANT_DEPTH: (
        "depth up to an unknown scale and shift",
        "per-image least-squares scale and shift",
    ),
    OutputSpace.AFFINE_INVARIANT_DISPARITY: (
        "inverse depth up to an unknown scale and shift",
        "per-image least-squares scale and shift of the disparity",
    ),
    OutputSpace.ORDINAL: ("none: only the order is meaningful, larger = farther", "not metric"),
}


def hw(size: tuple[int, int]) -> str:
    """``"HxW"``."""
    return f"{size[0]}x{size[1]}"


def export_contract(
    model: DepthModel,
    input_size: tuple[int, int],
    output_size: tuple[int, int],
    *,
    resize_in_graph: bool,
    dynamic: bool,
) -> dict[str, str]:
    """The metadata entries of an exported ``model`` (module docstring).

    Args:
        model: the exported depth model.
        input_size: ``(H, W)`` the network runs at in the graph (``config.input_size`` unless
            the export chose another).
        output_size: ``(h, w)`` of the network output for an input of ``input_size``.
        resize_in_graph: whether the graph resizes any input to ``config.input_size`` and its
            output back to the input size (then the output is what
            :func:`~depthforge.models.predict.predict` returns: log depth exponentiated).
        dynamic: whether the exported graph has dynamic height and width.
    """
    from depthforge import __version__

    norm = input_normalization(model)
    size = tuple(input_size)
    space = model.output_space
    if resize_in_graph and space is OutputSpace.LOG_DEPTH:
        space = OutputSpace.METRIC_DEPTH
    units, alignment = OUTPUT_MEANING[space]
    multiple = input_size_multiple(model)
    resample = "bilinear, half-pixel centres, antialiased when shrinking"
    if model.config.resize == "stretch":
        fit = f"stretch the image to {hw(size)} ({resample})"
    else:
        fit = (
            f"scale the image uniformly to fit inside {hw(size)} ({resample}), pad it bottom and "
            "right by edge replication, and crop the padded part of the output"
        )
    if resize_in_graph:
        policy = f"any size: the graph stretches it to {hw(size)} ({resample})"
    elif dynamic:
        runs = f"multiples of {multiple}" if multiple > 1 else "any size the layers accept"
        policy = f"other sizes run as they are ({runs}); as the library: {fit}"
    else:
        policy = f"exactly {hw(size)}: {fit}"
    return {
        "depthforge_version": __version__,
        "model_name": registered_name(model),
        "architecture": type(model).__name__,
        "model_config": json.dumps(model.config.to_dict()),
        "input": "images: float32 (batch, 3, height, width), RGB"
        + (SPARSE_INPUT if model.takes_sparse else ""),
        "input_range": "[0, 1]",
        "input_normalization": f"inside the graph: {norm.description}",
        "input_mean": json.dumps(list(norm.mean)),
        "input_std": json.dumps(list(norm.std)),
        "input_size": hw(size),
        "input_dynamic_size": str(resize_in_graph or dynamic).lower(),
        "input_size_multiple": str(1 if resize_in_graph else multiple),
        "input_size_policy": policy,
        "output": "depth: float32 (batch, 1, h, w)",
        "output_size": "input" if resize_in_graph else hw(output_size),
        "output_space": space.value,
        "output_units": units,
        "alignment": alignment,
        "resize_space": model.resize_space.value,
        "resize_in_graph": str(resize_in_graph).lower(),
    }
