"""Reverse Huber (berHu) loss, Laina et al. 2016 (FCRN), Eq. 1.

``B(x) = |x|`` for ``|x| ≤ c`` and ``(x² + c²)/(2c)`` otherwise, continuous at ``|x| = c``,
with ``c = (1/5)·max_i |x_i|`` over **all valid pixels of the whole batch**, computed after
masking (so invalid pixels with ``gt = 0`` cannot set it) and detached (no gradient through
``c``, as in the implementations that match the paper, e.g. valeoai/DADA
``dada/utils/func.py::loss_calc_depth``). FCRN released no training code.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from depthforge.losses._common import (
    check_map,
    check_same_shape,
    empty_loss,
    float32_loss,
    reduce_masked,
    resolve_mask,
)


def berhu_penalty(
    residual: torch.Tensor, mask: torch.Tensor, threshold_fraction: float = 0.2
) -> torch.Tensor:
    """Per-element berHu of ``residual`` with the batch-wide, detached ``c``.

    Args:
        residual: ``(B, ...)`` prediction − target.
        mask: bool, same shape; only these elements set ``c``.
        threshold_fraction: ``c = threshold_fraction · max|residual[mask]|`` (1/5 in the paper).

    Returns:
        Same shape as ``residual``, 0 where ``mask`` is False. When ``c = 0`` (a perfect batch)
        every valid residual is 0 and so is the penalty, with a finite (zero) gradient.
    """
    magnitude = residual.abs() * mask
    c = threshold_fraction * magnitude.detach().max() if magnitude.numel() else magnitude.sum()
    # The quadratic branch is only selected where |x| > c ≥ 0, so clamping its denominator away
    # from 0 changes no selected value; it keeps the unselected branch (and its gradient) finite.
    quadratic = (magnitude**2 + c**2) / (2 * c).clamp(min=torch.finfo(residual.dtype).tiny)
    return torch.where(magnitude <= c, magnitude, quadratic) * mask


@float32_loss
def berhu_loss(
    pred: torch.Tensor,
    gt: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    threshold_fraction: float = 0.2,
    reduction: Literal["image", "batch"] = "batch",
) -> torch.Tensor:
    """Laina et al. 2016, Eq. 1: mean berHu of ``pred − gt`` on depth in metres.

    Args:
        pred: ``(B, 1, H, W)`` depth in metres.
        gt: ``(B, 1, H, W)`` depth in metres.
        mask: ``(B, 1, H, W)`` bool valid pixels.
        threshold_fraction: ``c`` as a fraction of the batch's largest valid |residual| (0.2).
        reduction: ``"batch"`` (mean over all valid pixels of the batch, the paper's reading)
            or ``"image"`` (mean of per-image means); ``c`` is batch-wide in both.

    Returns:
        Scalar loss in metres.

    Example:
        >>> gt = torch.full((1, 1, 1, 2), 2.0)
        >>> round(berhu_loss(gt + torch.tensor([0.1, 1.0]).view(1, 1, 1, 2), gt).item(), 4)
        1.35
    """
    check_map("pred", pred)
    check_map("gt", gt)
    check_same_shape(pred=pred, gt=gt)
    mask = resolve_mask(mask, gt)
    if not bool(mask.any()):
        return empty_loss(pred, "berhu_loss")
    penalty = berhu_penalty(pred - gt, mask, threshold_fraction)
    return reduce_masked(penalty, mask, reduction, "berhu_loss")


class BerHuLoss(nn.Module):
    """Module form of :func:`berhu_loss`."""

    def __init__(
        self, threshold_fraction: float = 0.2, reduction: Literal["image", "batch"] = "batch"
    ) -> None:
        super().__init__()
        self.threshold_fraction, self.reduction = threshold_fraction, reduction

    def forward(self, pred, gt, mask=None):
        return berhu_loss(
            pred, gt, mask, threshold_fraction=self.threshold_fraction, reduction=self.reduction
        )
