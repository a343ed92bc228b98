"""Helpers of the ``validate_*_release.py`` scripts: import a module from a reference checkout,
give a network random weights and running statistics, save a release file and compare outputs.

Each script builds the authors' network from their code (imported from the checkout path given
on the command line, never copied), saves its random weights in the released format, converts
the file with depthforge's converter, and prints the largest output difference relative to the
output range (the criterion: ≤ 1e-5).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import torch
from torch import nn

from depthforge.models import create_model
from depthforge.models.base import DepthModel
from depthforge.models.io import load_checked_state
from depthforge.models.pretrained.converters import CONVERTERS

TOLERANCE = 1e-5


def import_reference(checkout: str | Path, relative: str, name: str) -> ModuleType:
    """The module at ``checkout/relative`` imported as ``name`` (its folder on ``sys.path``)."""
    path = Path(checkout) / relative
    if not path.is_file():
        raise SystemExit(f"{path}: not found; pass the reference checkout's folder")
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def randomize(module: nn.Module, seed: int = 0) -> None:
    """Random conv weights of the default scale, random BatchNorm statistics and affine
    parameters, so that every tensor of the release takes part in the comparison."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, nn.modules.batchnorm._BatchNorm):
                layer.running_mean.normal_(0.0, 0.2, generator=generator)
                layer.running_var.uniform_(0.5, 2.0, generator=generator)
                if layer.affine:
                    layer.weight.uniform_(0.5, 1.5, generator=generator)
                    layer.bias.normal_(0.0, 0.2, generator=generator)
            elif isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)) and layer.bias is not None:
                bound = 1.0 / layer.weight[0].numel() ** 0.5
                layer.bias.uniform_(-bound, bound, generator=generator)


def converted(model_name: str, release_format: str, path: Path, **config) -> DepthModel:
    """``model_name`` loaded, in eval mode, with the state dict converted from ``path``."""
    model = create_model(model_name, **config).eval()
    load_checked_state(model, CONVERTERS[release_format](path), path)
    return model


def report(what: str, reference: torch.Tensor, ours: torch.Tensor) -> bool:
    """Print the largest absolute difference and its ratio to the reference's range; True when
    it is within :data:`TOLERANCE`."""
    if reference.shape != ours.shape:
        print(
            f"{what}: shapes differ, reference {tuple(reference.shape)}, ours {tuple(ours.shape)}"
        )
        return False
    diff = (reference - ours).abs().max().item()
    span = (reference.max() - reference.min()).item()
    ratio = diff / span if span > 0 else diff
    verdict = "OK" if ratio <= TOLERANCE else "FAIL"
    print(
        f"{what}: shape {tuple(ours.shape)}, output range {span:.4g}, "
        f"max |diff| {diff:.3g} = {ratio:.3g} of the range  [{verdict}]"
    )
    return ratio <= TOLERANCE
