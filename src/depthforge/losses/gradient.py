"""Eigen & Fergus 2015 depth loss: scale-invariant term plus log-gradient matching.

``L = (1/n)Σd² − (1/(2n²))(Σd)² + (1/n)Σ[(∇x d)² + (∇y d)²]`` with ``d = log pred − ln gt``
(Eigen & Fergus, ICCV 2015, §3.2 "Depth"). The paper does not pin down the stencil; we take
**forward neighbour differences over pairs whose two pixels are both valid**, normalised by
``n`` = the number of valid pixels of the image (Eigen & Fergus 2015, §3.2, as the known implementations read it; unverified against the
text).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from depthforge.losses._common import (
    check_map,
    check_same_shape,
    finish_grouped,
    float32_loss,
    log_difference,
    masked_differences,
    reduction_dims,
    resolve_mask,
)
from depthforge.losses.scale_invariant import InputSpace, scale_invariant_terms


@float32_loss
def eigen_gradient_loss(
    pred: torch.Tensor,
    gt: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    lam: float = 0.5,
    input_space: InputSpace = "log_depth",
    reduction: Literal["image", "batch"] = "image",
) -> torch.Tensor:
    """Eigen & Fergus 2015 depth loss (SI term with λ = 0.5 + squared log-difference gradients).

    Args:
        pred: ``(B, 1, H, W)`` log depth (default) or depth in metres (``input_space="depth"``).
        gt: ``(B, 1, H, W)`` depth in metres.
        mask: ``(B, 1, H, W)`` bool valid pixels.
        lam: weight of the ``(Σd)²/n²`` term (0.5 in the paper).
        input_space: the space of ``pred``.
        reduction: ``"image"`` (n per image, mean over images with valid pixels) or
            ``"batch"`` (n = all valid pixels of the batch).

    Returns:
        Scalar loss in squared log units.
    """
    check_map("pred", pred)
    check_map("gt", gt)
    check_same_shape(pred=pred, gt=gt)
    mask = resolve_mask(mask, gt)
    d = log_difference(pred, gt, mask, input_space)
    dx, mask_x, dy, mask_y = masked_differences(d, mask, step=1)
    dims = reduction_dims(reduction)
    loss, n = scale_invariant_terms(d, mask, lam, dims)
    gradient = ((dx**2) * mask_x).sum(dims) + ((dy**2) * mask_y).sum(dims)
    loss = loss + gradient / n.clamp(min=1)
    return finish_grouped(loss, n, reduction, pred, "eigen_gradient_loss")


class EigenGradientLoss(nn.Module):
    """Module form of :func:`eigen_gradient_loss`."""

    def __init__(
        self,
        lam: float = 0.5,
        input_space: InputSpace = "log_depth",
        reduction: Literal["image", "batch"] = "image",
    ) -> None:
        super().__init__()
        self.lam, self.input_space, self.reduction = lam, input_space, reduction

    def forward(self, pred, gt, mask=None):
        return eigen_gradient_loss(
            pred, gt, mask, lam=self.lam, input_space=self.input_space, reduction=self.reduction
        )
