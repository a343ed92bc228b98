"""Scale-invariant log losses: Eigen et al. 2014 and the BTS / AdaBins "SILog" variants.

Five quantities share the name "SILog"; with ``g = ln p − ln y*`` over the valid pixels:

| name                     | formula (g over the valid pixels)           | pooling   | function here                     |
|--------------------------|---------------------------------------------|-----------|-----------------------------------|
| Eigen 2014 training loss | (1/n)Σg² − (0.5/n²)(Σg)²  (Eq. 4, λ = 0.5)  | per image | ``scale_invariant_loss(lam=0.5)`` |
| Eigen 2014 SI error      | (1/n)Σg² − (1/n²)(Σg)² (λ = 1: Var(g))      | per image | ``scale_invariant_loss(lam=1)``   |
| SILog metric (KITTI)     | 100·sqrt((1/n)Σg² − (1/n²)(Σg)²)            | per image | an eval metric, not a loss        |
| BTS loss                 | 10·sqrt(mean g² − 0.85·(mean g)²)           | batch     | ``bts_silog_loss``                |
| AdaBins loss             | 10·sqrt(Var_unbiased(g) + 0.15·(mean g)²)   | batch     | ``adabins_silog_loss``            |

For λ = 1 the Eigen form equals the pairwise form (1/(2n²))Σ_ij[(ln y_i − ln y_j) −
(ln y*_i − ln y*_j)]² (Eigen et al. 2014, §3.2): it compares depth *ratios* between pixels.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from depthforge.losses._common import (
    check_map,
    check_same_shape,
    empty_loss,
    finish_grouped,
    float32_loss,
    log_difference,
    reduction_dims,
    resolve_mask,
    safe_sqrt,
)

InputSpace = Literal["log_depth", "depth"]


def _prepare(pred, gt, mask, input_space):
    check_map("pred", pred)
    check_map("gt", gt)
    check_same_shape(pred=pred, gt=gt)
    mask = resolve_mask(mask, gt)
    return log_difference(pred, gt, mask, input_space), mask


@float32_loss
def scale_invariant_loss(
    pred: torch.Tensor,
    gt: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    lam: float = 0.5,
    input_space: InputSpace = "log_depth",
    reduction: Literal["image", "batch"] = "image",
) -> torch.Tensor:
    """Eigen et al. 2014, Eq. 4: ``(1/n)Σd² − (λ/n²)(Σd)²`` with ``d = log pred − ln gt``.

    λ = 0.5 is the paper's training loss; λ = 1 is its scale-invariant error (the variance of
    ``d``, unchanged when ``pred`` is multiplied by any positive constant). No square root.

    Args:
        pred: ``(B, 1, H, W)`` natural-log depth (``input_space="log_depth"``, the paper's
            network output) or depth in metres (``input_space="depth"``, must be > 0 where valid).
        gt: ``(B, 1, H, W)`` depth in metres (> 0 where valid).
        mask: ``(B, 1, H, W)`` bool valid pixels (default: all).
        lam: λ in ``[0, 1]``.
        input_space: the space of ``pred``.
        reduction: ``"image"``: n counts each image's valid pixels and the per-image losses are
            averaged over the images that have any; ``"batch"``: n counts all valid pixels of
            the batch (one joint loss).

    Returns:
        Scalar loss in squared log units.

    Example:
        >>> gt = torch.ones(1, 1, 2, 2)
        >>> pred_log = torch.tensor([[[[0.1, 0.3], [-0.2, 0.4]]]])
        >>> round(scale_invariant_loss(pred_log, gt).item(), 5)
        0.06375
    """
    dims = reduction_dims(reduction)
    d, mask = _prepare(pred, gt, mask, input_space)
    loss, n = scale_invariant_terms(d, mask, lam, dims)
    return finish_grouped(loss, n, reduction, pred, "scale_invariant_loss")


def scale_invariant_terms(
    d: torch.Tensor, mask: torch.Tensor, lam: float, dims: tuple[int, ...]
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(1/n)Σd² − (λ/n²)(Σd)²`` summed over ``dims``, and ``n`` (0 where nothing is valid).

    ``d`` must already be 0 on invalid pixels.
    """
    n = mask.sum(dims).to(d.dtype)
    n_safe = n.clamp(min=1)
    return (d**2).sum(dims) / n_safe - lam * d.sum(dims) ** 2 / n_safe**2, n


def _pooled_log_differences(pred, gt, mask, min_count):
    """``g = ln pred − ln gt`` on all valid pixels of the batch, or None when too few."""
    d, mask = _prepare(pred, gt, mask, "depth")
    return d[mask] if mask.sum() >= min_count else None


@float32_loss
def bts_silog_loss(
    pred: torch.Tensor,
    gt: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    variance_focus: float = 0.85,
    scale: float = 10.0,
) -> torch.Tensor:
    """BTS (Lee et al. 2019, ``bts.py::silog_loss``): ``10·sqrt(mean g² − 0.85·(mean g)²)``.

    ``g = ln pred − ln gt`` pooled over **all valid pixels of the batch** (not per image).
    The square root is a safe sqrt (exact value, gradient 0 instead of NaN when its argument
    is 0); BTS itself has no epsilon.

    Args:
        pred: ``(B, 1, H, W)`` depth in metres (> 0 where valid).
        gt: ``(B, 1, H, W)`` depth in metres.
        mask: ``(B, 1, H, W)`` bool (BTS uses ``gt > 0.1`` on NYU, ``gt > 1.0`` on KITTI).
        variance_focus: λ_v of BTS (0.85).
        scale: multiplier (10).

    Returns:
        Scalar loss.
    """
    g = _pooled_log_differences(pred, gt, mask, 1)
    if g is None:
        return empty_loss(pred, "bts_silog_loss")
    return scale * safe_sqrt((g**2).mean() - variance_focus * g.mean() ** 2)


@float32_loss
def adabins_silog_loss(
    pred: torch.Tensor,
    gt: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    mean_weight: float = 0.15,
    scale: float = 10.0,
) -> torch.Tensor:
    """AdaBins (Bhat et al. 2021, ``loss.py::SILogLoss``): ``10·sqrt(Var(g) + 0.15·mean(g)²)``.

    ``Var`` is the **unbiased** variance (divides by n − 1) of ``g = ln pred − ln gt`` pooled
    over all valid pixels of the batch. AdaBins first resizes ``pred`` to the target size
    (bilinear, ``align_corners=True``); here ``pred`` must already have ``gt``'s size.
    Safe sqrt as in :func:`bts_silog_loss`.

    Args:
        pred: ``(B, 1, H, W)`` depth in metres (> 0 where valid).
        gt: ``(B, 1, H, W)`` depth in metres.
        mask: ``(B, 1, H, W)`` bool.
        mean_weight: weight of ``mean(g)²`` (0.15).
        scale: multiplier (10).

    Returns:
        Scalar loss; fewer than 2 valid pixels warn and give 0 (the variance is undefined).
    """
    g = _pooled_log_differences(pred, gt, mask, 2)
    if g is None:
        return empty_loss(pred, "adabins_silog_loss")
    return scale * safe_sqrt(torch.var(g, unbiased=True) + mean_weight * g.mean() ** 2)


class ScaleInvariantLoss(nn.Module):
    """Module form of :func:`scale_invariant_loss`."""

    def __init__(
        self,
        lam: float = 0.5,
        input_space: InputSpace = "log_depth",
        reduction: Literal["image", "batch"] = "image",
    ) -> None:
        super().__init__()
        self.lam, self.input_space, self.reduction = lam, input_space, reduction

    def forward(self, pred, gt, mask=None):
        return scale_invariant_loss(
            pred, gt, mask, lam=self.lam, input_space=self.input_space, reduction=self.reduction
        )


class BTSSILogLoss(nn.Module):
    """Module form of :func:`bts_silog_loss`."""

    def __init__(self, variance_focus: float = 0.85) -> None:
        super().__init__()
        self.variance_focus = variance_focus

    def forward(self, pred, gt, mask=None):
        return bts_silog_loss(pred, gt, mask, variance_focus=self.variance_focus)


class AdaBinsSILogLoss(nn.Module):
    """Module form of :func:`adabins_silog_loss`."""

    def forward(self, pred, gt, mask=None):
        return adabins_silog_loss(pred, gt, mask)
