"""SfMLearner's depth network as released by its PyTorch port (ClementPinard/SfmLearner-Pytorch):
``dispnet_model_best.pth.tar``, a checkpoint dict ``{'epoch', 'state_dict'}`` whose state dict
keys (``conv1.0.weight``, ``upconv7.0.weight``, ``predict_disp1.0.bias``) are ours."""

from __future__ import annotations

from pathlib import Path

import torch

from depthforge.models.pretrained.converters.pth import read_state_dict


def convert_sfmlearner(path: Path) -> dict[str, torch.Tensor]:
    """State dict of :class:`~depthforge.models.sfmlearner.SfMLearnerDispNet` from the port's
    checkpoint (read with ``weights_only=True``; a ``module.`` prefix is stripped)."""
    return read_state_dict(Path(path), key="state_dict", prefix="module.")
