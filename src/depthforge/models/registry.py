"""Model names → (architecture, frozen config) records; ``create_model(name, **overrides)``.

The names are plain data in :mod:`depthforge.models.names` (adding a variant is one line
there); this module imports their architectures and builds their configs.
"""

from __future__ import annotations

import dataclasses
from importlib import import_module
from typing import Any, NamedTuple

from depthforge.errors import UnknownNameError
from depthforge.models.base import DepthModel, ModelConfig
from depthforge.models.names import MODEL_NAMES, ModelName


class ModelSpec(NamedTuple):
    """One registered variant: the architecture class and its default config."""

    architecture: type[DepthModel]
    config: ModelConfig


def model_spec(entry: ModelName) -> ModelSpec:
    """The architecture class of ``entry`` (its module imported) and its config."""
    architecture = getattr(import_module(entry.module), entry.architecture)
    return ModelSpec(architecture, architecture.config_class(**entry.config))


MODELS: dict[str, ModelSpec] = {name: model_spec(entry) for name, entry in MODEL_NAMES.items()}

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
