"""Memory layout of feature maps in a prepared model, whose maps are channels_last.

A ``(B, C, H, W)`` map is channels_last when its memory order is ``(B, H, W, C)``, as in a model
prepared for inference (:func:`~depthforge.models.inference.to_inference_layout`). Operations that
combine several maps keep that order only if every map they read has it; PyTorch otherwise falls
back to an NCHW output, which the next convolution copies back to channels_last. These helpers
combine maps in the memory order of the channels_last ones and leave NCHW maps (supervised
training, ONNX export) as they are; networks that train on channels_last maps (the
self-supervised strategy) take the channels_last paths, gradients included.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def channels_innermost(x: torch.Tensor) -> bool:
    """Whether neighbouring channels of a ``(B, C, H, W)`` map (C > 1) are adjacent in memory:
    channels_last, or a channel slice of a channels_last map."""
    return x.dim() == 4 and x.shape[1] > 1 and x.stride(1) == 1


def cat_channels(maps: Sequence[torch.Tensor]) -> torch.Tensor:
    """``torch.cat(maps, dim=1)`` of ``(B, Cᵢ, H, W)`` maps → ``(B, ΣCᵢ, H, W)``.

    When any map has its channels innermost, the maps are concatenated as ``(B, H, W, Cᵢ)`` views
    and the output is channels_last. ``torch.cat`` gives an NCHW output as soon as one map looks
    NCHW, e.g. a one-channel disparity upsampled by ``F.interpolate``: the concatenation of
    SfMLearner's decoder and the 3×3 convolution after it took 14.7 against 8.0 ms of CPU time
    for ``(1, 32 + 32 + 1, 64, 208)`` on one thread (``benchmarks/layout_speed.py``,
    ``benchmarks/RESULTS.md``).
    """
    if any(channels_innermost(m) for m in maps):
        return torch.cat([m.permute(0, 2, 3, 1) for m in maps], dim=3).permute(0, 3, 1, 2)
    return torch.cat(list(maps), dim=1)
