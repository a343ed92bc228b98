"""What several strategies share: moving a prediction between metric and log depth, ground
truth and predictions resampled to each other's size, and two regularisers' building blocks."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from depthforge.errors import OutputSpaceError
from depthforge.types import OutputSpace

# Smallest depth (metres) whose log is taken when a metric prediction meets a log-space loss:
# a ReLU output of 0 would otherwise give log 0 = −inf.
MIN_DEPTH_FOR_LOG = 1e-3


def convert_prediction(
    pred: torch.Tensor, source: OutputSpace, target: OutputSpace
) -> torch.Tensor:
    """Move a prediction between metric depth and log depth; any other change is refused."""
    if source == target:
        return pred
    if source is OutputSpace.LOG_DEPTH and target is OutputSpace.METRIC_DEPTH:
        return pred.exp()
    if source is OutputSpace.METRIC_DEPTH and target is OutputSpace.LOG_DEPTH:
        return pred.clamp(min=MIN_DEPTH_FOR_LOG).log()
    raise OutputSpaceError(f"a {source.value} prediction cannot be supervised as {target.value}")


def target_at(
    depth: torch.Tensor, mask: torch.Tensor, size: tuple[int, int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Ground truth resampled to the prediction's ``(h, w)`` by nearest pixel centre.

    Depth is never interpolated across invalid pixels or depth edges: each output pixel takes the
    value and validity of the input pixel under its centre (``nearest-exact``).
    """
    if tuple(depth.shape[-2:]) == tuple(size):
        return depth, mask
    d = F.interpolate(depth, size=size, mode="nearest-exact")
    m = F.interpolate(mask.float(), size=size, mode="nearest-exact") > 0.5
    return d, m


def prediction_at_image_size(pred: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``(B, 1, h, w)`` prediction resampled to the image's ``(H, W)`` (bilinear,
    ``align_corners=False``); a no-op at equal size. Resampling is monotone-safe for ranking:
    it only interpolates between neighbouring outputs."""
    if tuple(pred.shape[-2:]) == tuple(size):
        return pred
    return F.interpolate(pred, size=size, mode="bilinear", align_corners=False)


def straight_through_clamp(values: torch.Tensor, minimum: float) -> torch.Tensor:
    """``values`` clamped below at ``minimum`` in the forward pass, identity in the backward."""
    return values + (values.clamp(min=minimum) - values).detach()


def inverse_depth_smoothness(inverse_depth: torch.Tensor) -> torch.Tensor:
    """``mean|∂_x ρ| + mean|∂_y ρ|`` (forward differences): the ``L_R`` used here (Eq. 4)."""
    dx = (inverse_depth[..., :, 1:] - inverse_depth[..., :, :-1]).abs().mean()
    dy = (inverse_depth[..., 1:, :] - inverse_depth[..., :-1, :]).abs().mean()
    return dx + dy
