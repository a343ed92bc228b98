"""The registered model names as plain data: name → architecture, config and output space.

This table imports no PyTorch, so that ``depthforge models`` lists it at once;
:mod:`depthforge.models.registry` builds the models from it. Adding a variant is one line here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from depthforge.types import OutputSpace


class ModelName(NamedTuple):
    """One registered variant.

    Attributes:
        module: the module that defines the architecture (``"depthforge.models.fcrn"``).
        architecture: the architecture's class name in that module (``"FCRN"``).
        config: fields of the architecture's config that differ from the config's defaults.
        output_space: what the depth output means (the class's ``output_space``), or ``None``
            for the pose network.
    """

    module: str
    architecture: str
    config: Mapping[str, Any]
    output_space: OutputSpace | None


def _entry(module: str, architecture: str, space: OutputSpace | None, **config) -> ModelName:
    return ModelName(f"depthforge.models.{module}", architecture, config, space)


METRIC, LOG, ORDINAL = OutputSpace.METRIC_DEPTH, OutputSpace.LOG_DEPTH, OutputSpace.ORDINAL
SCALE_FREE = OutputSpace.SCALE_INVARIANT_DEPTH

MODEL_NAMES: dict[str, ModelName] = {
    "eigen2014_coarse": _entry("eigen2014", "Eigen2014", LOG, stage="coarse"),
    "eigen2014_fine": _entry("eigen2014", "Eigen2014", LOG, stage="fine", freeze_coarse=True),
    "eigen2015_vgg16": _entry("eigen2015", "Eigen2015", LOG, trunk="vgg16"),
    "eigen2015_alexnet": _entry("eigen2015", "Eigen2015", LOG, trunk="alexnet"),
    "fcrn_resnet50": _entry("fcrn", "FCRN", METRIC, encoder="resnet50"),
    "fcrn_resnet50_slow": _entry("fcrn", "FCRN", METRIC, encoder="resnet50", upsample="slow"),
    "fcrn_resnet50_tf": _entry(
        "fcrn", "FCRN", METRIC, padding="tf", encoder_style="tf_release", input_range="raw255"
    ),
    "fcrn_resnet34": _entry("fcrn", "FCRN", METRIC, encoder="resnet34"),
    "fcrn_resnet18": _entry("fcrn", "FCRN", METRIC, encoder="resnet18"),
    "fcrn_resnet18_slow": _entry("fcrn", "FCRN", METRIC, encoder="resnet18", upsample="slow"),
    "sparse_to_dense_resnet50": _entry(
        "sparse_to_dense", "SparseToDense", METRIC, encoder="resnet50"
    ),
    "sparse_to_dense_resnet18": _entry(
        "sparse_to_dense", "SparseToDense", METRIC, encoder="resnet18"
    ),
    "two_stream": _entry("two_stream", "TwoStream", METRIC),
    "two_stream_learned": _entry("two_stream", "TwoStream", METRIC, fusion="learned"),
    "monodepth2_resnet18": _entry("monodepth2", "Monodepth2", SCALE_FREE, encoder="resnet18"),
    "monodepth2_resnet50": _entry("monodepth2", "Monodepth2", SCALE_FREE, encoder="resnet50"),
    "posenet": _entry("posenet", "PoseNet", None, num_frames=2),
    "posenet_3frames": _entry("posenet", "PoseNet", None, num_frames=3),
    "resflownet": _entry("resflow", "ResFlowNet", None),
    "diw_hourglass": _entry("hourglass", "DIWHourglass", ORDINAL),
    "megadepth_hourglass": _entry(
        "hourglass", "MegaDepthHourglass", SCALE_FREE, input_size=(384, 512)
    ),
    "sfmlearner_dispnet": _entry("sfmlearner", "SfMLearnerDispNet", SCALE_FREE),
    "ddvo_vgg": _entry("ddvo", "DDVODepthNet", SCALE_FREE),
}
