"""What the self-supervised disparity networks of SfMLearner (Zhou et al. 2017) and DDVO (Wang et
al. 2018) share: a bounded disparity ``α·sigmoid(x) + β`` at several scales, depth ``1/disparity``
known only up to scale (monocular video)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import torch

from depthforge.models.base import DepthModel
from depthforge.types import OutputSpace, ResizeSpace

DISP_SCALE, MIN_DISP = 10.0, 0.01
"""SfMLearner ``nets.py`` ``DISP_SCALING = 10``, ``MIN_DISP = 0.01`` (DDVO ``networks.py`` too):
disparity ∈ (0.01, 10.01), depth ∈ (0.0999, 100)."""


def scale_sigmoid(sigmoid: torch.Tensor) -> torch.Tensor:
    """``DISP_SCALE · s + MIN_DISP`` of a sigmoid output ``s`` (SfMLearner ``nets.py``)."""
    return DISP_SCALE * sigmoid + MIN_DISP


def bounded_disparity(logits: torch.Tensor) -> torch.Tensor:
    """``DISP_SCALE · sigmoid(logits) + MIN_DISP``."""
    return scale_sigmoid(torch.sigmoid(logits))


@dataclasses.dataclass
class DisparityOutput:
    """What :class:`DisparityNet` models return.

    Attributes:
        depth: ``(B, 1, H, W)`` ``1 / disparities[0]``, depth up to an unknown scale.
        disparities: ``(B, 1, H/2^s, W/2^s)`` bounded disparities, finest (s = 0) first.
    """

    depth: torch.Tensor
    disparities: list[torch.Tensor]


class DisparityNet(DepthModel):
    """Base of the disparity networks: ``SCALE_INVARIANT_DEPTH`` output, depth = 1/disparity.
    Their predictions are best resized as disparity."""

    output_space: ClassVar[OutputSpace] = OutputSpace.SCALE_INVARIANT_DEPTH
    # SfMLearner's and DDVO's evaluation resize the predicted disparity, then invert it.
    resize_space: ClassVar[ResizeSpace] = ResizeSpace.DISPARITY

    def to_depth(self, disp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(disparity, depth)`` of a bounded disparity map, depth = ``1 / disp`` (the same
        interface as :meth:`~depthforge.models.monodepth2.Monodepth2.to_depth`)."""
        return disp, 1.0 / disp

    def output(self, disparities: list[torch.Tensor]) -> DisparityOutput:
        """The :class:`DisparityOutput` of ``disparities`` (finest first)."""
        return DisparityOutput(depth=1.0 / disparities[0], disparities=disparities)
