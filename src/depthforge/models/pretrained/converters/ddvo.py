"""DDVO's release (Wang et al. 2018, MightyChaos/LKVOLearner): a ``.pth`` state dict of
``VggDepthEstimator`` whose keys (``conv_layers.0.conv1.conv.weight``,
``upconv_layers.0.deconv.weight``, ``iconv_layers.0.conv.weight``,
``invdepth_layers.0.conv.weight``) are ours."""

from __future__ import annotations

from pathlib import Path

import torch

from depthforge.models.pretrained.converters.pth import read_state_dict


def convert_ddvo(path: Path) -> dict[str, torch.Tensor]:
    """State dict of :class:`~depthforge.models.ddvo.DDVODepthNet` from the release (read with
    ``weights_only=True``; a ``module.`` prefix is stripped)."""
    return read_state_dict(Path(path), prefix="module.")
