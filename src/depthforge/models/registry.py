"""Model names → (architecture, frozen config) records; ``create_model(name, **overrides)``.

Adding a variant is one line in ``MODELS``: a name, the architecture class and its config.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

from depthforge.errors import UnknownNameError
from depthforge.models.base import DepthModel, ModelConfig
from depthforge.models.ddvo import DDVOConfig, DDVODepthNet
from depthforge.models.eigen2014 import Eigen2014, Eigen2014Config
from depthforge.models.eigen2015 import Eigen2015, Eigen2015Config
from depthforge.models.fcrn import FCRN, FCRNConfig
from depthforge.models.hourglass import DIWHourglass, HourglassConfig, MegaDepthHourglass
from depthforge.models.monodepth2 import Monodepth2, Monodepth2Config
from depthforge.models.posenet import PoseNet, PoseNetConfig
from depthforge.models.resflow import ResFlowNet, ResFlowNetConfig
from depthforge.models.sfmlearner import SfMLearnerConfig, SfMLearnerDispNet
from depthforge.models.sparse_to_dense import SparseToDense, SparseToDenseConfig
from depthforge.models.two_stream import TwoStream, TwoStreamConfig


class ModelSpec(NamedTuple):
    """One registered variant: the architecture class and its default config."""

    architecture: type[DepthModel]
    config: ModelConfig


MODELS: dict[str, ModelSpec] = {
    "eigen2014_coarse": ModelSpec(Eigen2014, Eigen2014Config(stage="coarse")),
    "eigen2014_fine": ModelSpec(Eigen2014, Eigen2014Config(stage="fine", freeze_coarse=True)),
    "eigen2015_vgg16": ModelSpec(Eigen2015, Eigen2015Config(trunk="vgg16")),
    "eigen2015_alexnet": ModelSpec(Eigen2015, Eigen2015Config(trunk="alexnet")),
    "fcrn_resnet50": ModelSpec(FCRN, FCRNConfig(encoder="resnet50")),
    "fcrn_resnet50_slow": ModelSpec(FCRN, FCRNConfig(encoder="resnet50", upsample="slow")),
    "fcrn_resnet50_tf": ModelSpec(
        FCRN, FCRNConfig(padding="tf", encoder_style="tf_release", input_range="raw255")
    ),
    "fcrn_resnet34": ModelSpec(FCRN, FCRNConfig(encoder="resnet34")),
    "fcrn_resnet18": ModelSpec(FCRN, FCRNConfig(encoder="resnet18")),
    "fcrn_resnet18_slow": ModelSpec(FCRN, FCRNConfig(encoder="resnet18", upsample="slow")),
    "sparse_to_dense_resnet50": ModelSpec(SparseToDense, SparseToDenseConfig(encoder="resnet50")),
    "sparse_to_dense_resnet18": ModelSpec(SparseToDense, SparseToDenseConfig(encoder="resnet18")),
    "two_stream": ModelSpec(TwoStream, TwoStreamConfig()),
    "two_stream_learned": ModelSpec(TwoStream, TwoStreamConfig(fusion="learned")),
    "monodepth2_resnet18": ModelSpec(Monodepth2, Monodepth2Config(encoder="resnet18")),
    "monodepth2_resnet50": ModelSpec(Monodepth2, Monodepth2Config(encoder="resnet50")),
    "posenet": ModelSpec(PoseNet, PoseNetConfig(num_frames=2)),
    "posenet_3frames": ModelSpec(PoseNet, PoseNetConfig(num_frames=3)),
    "resflownet": ModelSpec(ResFlowNet, ResFlowNetConfig()),
    "diw_hourglass": ModelSpec(DIWHourglass, HourglassConfig()),
    "megadepth_hourglass": ModelSpec(MegaDepthHourglass, HourglassConfig(input_size=(384, 512))),
    "sfmlearner_dispnet": ModelSpec(SfMLearnerDispNet, SfMLearnerConfig()),
    "ddvo_vgg": ModelSpec(DDVODepthNet, DDVOConfig()),
}

ARCHITECTURES: dict[str, type[DepthModel]] = {
    spec.architecture.__name__: spec.architecture for spec in MODELS.values()
}


def list_models() -> list[str]:
    """Names accepted by :func:`create_model`, sorted."""
    return sorted(MODELS)


def build_config(config_class: type[ModelConfig], base: ModelConfig | None, overrides: dict):
    """``base`` (or the class defaults) with ``overrides``; an unknown key raises TypeError."""
    known = {f.name for f in dataclasses.fields(config_class)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise TypeError(
            f"{config_class.__name__} has no field(s) {', '.join(unknown)}; "
            f"fields: {', '.join(sorted(known))}"
        )
    return dataclasses.replace(base or config_class(), **overrides)


def create_model(name: str, **overrides: Any) -> DepthModel:
    """Build the registered model ``name`` with its config fields replaced by ``overrides``.

    Example:
        >>> create_model("fcrn_resnet18", upsample="slow").config.upsample
        'slow'

    Raises:
        UnknownNameError: unknown name (a KeyError; the message lists the known ones).
        TypeError: an override that is not a field of the model's config.
    """
    if name not in MODELS:
        raise UnknownNameError("model", name, list_models())
    spec = MODELS[name]
    return spec.architecture(build_config(type(spec.config), spec.config, overrides))
