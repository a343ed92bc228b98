"""MegaDepth training loss, Li & Snavely, CVPR 2018, §4.

``L = L_data + α·L_grad + β·L_ord`` with α = 0.5 and β = 0.1, all on **natural-log depth**:

* ``L_data``: scale-invariant MSE (Eigen λ = 1, no square root), per image;
* ``L_grad``: multi-scale scale-invariant gradient matching on ``R = L − ln y*``: at 4 scales
  (subsampling ``[::2, ::2]``), ``Σ(|∇x R| + |∇y R|)`` over pairs of valid pixels, normalised.
  The reference training code (author's ``JointLoss``, unofficial copy
  ArnaudFickinger/MegaDepth-Training) takes differences **2 pixels apart** and divides by the
  number of **valid pixels**; the successor code (google/mannequinchallenge) divides by valid
  pairs. Both choices are arguments here (``step``, ``normalization``);
* ``L_ord``: robust ordinal loss on automatically derived pairs, with
  ``P = −r·(L_A − L_B)``: ``log(1 + exp(P))`` for ``P ≤ τ`` and ``log(1 + exp(√P)) + c`` above,
  τ = 0.25 and ``c = log(1 + exp(τ)) − log(1 + exp(√τ))`` so the two pieces meet at ``P = τ``.

Each image is supervised either with depth (``L_data + α L_grad``, "Euclidean") or with
ordinal pairs: the paper uses an image as Euclidean data when at least 30 % of its pixels
have valid depth (:func:`is_euclidean_image`).

Verification status: α = 0.5 and the gradient term match the reference code; β = 0.1,
τ = 0.25 and the 30 % rule are from the paper (Li & Snavely 2018, CVPR) as recalled and could
not be checked against its text here (only its abstract was reachable).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from depthforge.losses._common import (
    check_map,
    check_pairs,
    check_relations,
    check_same_shape,
    empty_loss,
    float32_loss,
    gather_pair_values,
    log_difference,
    masked_differences,
    resolve_mask,
)
from depthforge.losses.scale_invariant import scale_invariant_loss

Normalization = Literal["valid_pixels", "valid_pairs"]


def is_euclidean_image(mask: torch.Tensor, threshold: float = 0.30) -> torch.Tensor:
    """Whether each image has enough valid depth to be supervised with depth (MegaDepth §4).

    Args:
        mask: ``(B, 1, H, W)`` bool valid depth.
        threshold: minimum share of valid pixels (0.30 in the paper, as recalled).

    Returns:
        ``(B,)`` bool, True where ``valid pixels / all pixels ≥ threshold``.
    """
    check_map("mask", mask)
    return mask.flatten(1).float().mean(1) >= threshold


@float32_loss
def megadepth_gradient_loss(
    pred: torch.Tensor,
    gt: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    scales: int = 4,
    step: int = 2,
    normalization: Normalization = "valid_pixels",
) -> torch.Tensor:
    """Multi-scale scale-invariant gradient matching (MegaDepth ``L_grad``), per image.

    For each image and scale ``k = 0..scales−1`` (``[::2^k, ::2^k]`` of ``pred``, ``gt`` and
    ``mask``): ``R = pred − ln gt`` on valid pixels,
    ``term_k = (Σ|R[y, x+s] − R[y, x]| + Σ|R[y+s, x] − R[y, x]|) / N_k`` over pairs whose two
    pixels are valid, with ``N_k`` the valid pixels (or valid pairs) of that image at that
    scale; a scale with ``N_k = 0`` contributes 0. The loss is ``Σ_k term_k`` averaged over
    images that have valid pixels. (The reference loader precomputes ``gt_k``/``mask_k``; here
    they are subsampled the same way as the prediction.)

    Args:
        pred: ``(B, 1, H, W)`` natural-log depth.
        gt: ``(B, 1, H, W)`` depth in metres.
        mask: ``(B, 1, H, W)`` bool.
        scales: number of scales (4).
        step: pixel distance of a difference (2 as in the reference code; 1 = neighbours).
        normalization: ``"valid_pixels"`` (reference) or ``"valid_pairs"`` (mannequinchallenge).

    Returns:
        Scalar loss in log units.
    """
    check_map("pred", pred)
    check_map("gt", gt)
    check_same_shape(pred=pred, gt=gt)
    if normalization not in ("valid_pixels", "valid_pairs"):
        raise ValueError(
            f"normalization must be 'valid_pixels' or 'valid_pairs', got {normalization!r}"
        )
    mask = resolve_mask(mask, gt)
    residual = log_difference(pred, gt, mask, "log_depth")
    has_valid = mask.flatten(1).any(1)
    if not bool(has_valid.any()):
        return empty_loss(pred, "megadepth_gradient_loss")
    total = pred.new_zeros(pred.shape[0])
    for k in range(scales):
        r = residual[..., :: 2**k, :: 2**k]
        m = mask[..., :: 2**k, :: 2**k]
        dx, mask_x, dy, mask_y = masked_differences(r, m, step)
        summed = (dx.abs() * mask_x).sum((1, 2, 3)) + (dy.abs() * mask_y).sum((1, 2, 3))
        if normalization == "valid_pixels":
            count = m.sum((1, 2, 3))
        else:
            count = mask_x.sum((1, 2, 3)) + mask_y.sum((1, 2, 3))
        total = total + summed / count.clamp(min=1)
    return total[has_valid].mean()


@float32_loss
def megadepth_ordinal_loss(
    pred: torch.Tensor,
    pairs: torch.Tensor,
    relations: torch.Tensor,
    pair_mask: torch.Tensor | None = None,
    *,
    tau: float = 0.25,
) -> torch.Tensor:
    """MegaDepth robust ordinal loss on log depth, mean over valid pairs of the batch.

    ``P = −r·(L_A − L_B)``; ``log(1+exp(P))`` for ``P ≤ τ``, ``log(1+exp(√P)) + c`` for
    ``P > τ`` with ``c = log(1+exp(τ)) − log(1+exp(√τ))`` (continuity at ``P = τ``).

    Args:
        pred: ``(B, 1, H, W)`` natural-log depth ``L``.
        pairs: ``(B, N, 4)`` int64 0-based ``(y_a, x_a, y_b, x_b)``.
        relations: ``(B, N)`` in {−1, +1} (+1 = A farther); pairs with 0 are ignored
            (MegaDepth's automatic pairs are never equal).
        pair_mask: ``(B, N)`` bool, False for padding.
        tau: switch point τ (0.25).

    Returns:
        Scalar loss.
    """
    check_map("pred", pred)
    check_pairs(pairs, pred)
    check_relations(relations, pairs)
    valid = resolve_mask(pair_mask, relations) & (relations != 0)
    if not bool(valid.any()):
        return empty_loss(pred, "megadepth_ordinal_loss")
    z_a, z_b = gather_pair_values(pred, pairs)
    p = -relations.to(pred.dtype) * (z_a - z_b)
    c = math.log1p(math.exp(tau)) - math.log1p(math.exp(math.sqrt(tau)))
    # sqrt of max(P, τ): the unselected branch stays finite (no NaN gradient for P < 0).
    robust = F.softplus(p.clamp(min=tau).sqrt()) + c
    penalty = torch.where(p <= tau, F.softplus(p), robust)
    return (penalty * valid).sum() / valid.sum()


def megadepth_loss(
    pred: torch.Tensor,
    gt: torch.Tensor,
    mask: torch.Tensor | None = None,
    pairs: torch.Tensor | None = None,
    relations: torch.Tensor | None = None,
    pair_mask: torch.Tensor | None = None,
    *,
    euclidean: torch.Tensor | None = None,
    alpha: float = 0.5,
    beta: float = 0.1,
    scales: int = 4,
    step: int = 2,
    normalization: Normalization = "valid_pixels",
    tau: float = 0.25,
) -> torch.Tensor:
    """MegaDepth ``L = L_data + α L_grad + β L_ord``, each image supervised one way.

    Euclidean images get ``L_data + α·L_grad`` (averaged over those images); the others get
    ``β·L_ord`` on their pairs (averaged over their valid pairs). The two parts are added.

    Args:
        pred: ``(B, 1, H, W)`` natural-log depth.
        gt: ``(B, 1, H, W)`` depth in metres (ignored for ordinal images).
        mask: ``(B, 1, H, W)`` bool valid depth.
        pairs, relations, pair_mask: ordinal pairs ``(B, N, 4)``, ``(B, N)``, ``(B, N)``, or
            ``None`` when no image is ordinal.
        euclidean: ``(B,)`` bool choice per image (default :func:`is_euclidean_image`).
        alpha, beta: weights of the gradient and ordinal terms (0.5, 0.1).
        scales, step, normalization: see :func:`megadepth_gradient_loss`.
        tau: see :func:`megadepth_ordinal_loss`.

    Returns:
        Scalar loss.
    """
    check_map("pred", pred)
    mask = resolve_mask(mask, gt)
    euclidean = is_euclidean_image(mask) if euclidean is None else euclidean.bool()
    if euclidean.shape != (pred.shape[0],):
        raise ValueError(f"euclidean must be ({pred.shape[0]},), got {tuple(euclidean.shape)}")
    parts = []
    if bool(euclidean.any()):
        p, g, m = pred[euclidean], gt[euclidean], mask[euclidean]
        data = scale_invariant_loss(p, g, m, lam=1.0, input_space="log_depth", reduction="image")
        gradient = megadepth_gradient_loss(
            p, g, m, scales=scales, step=step, normalization=normalization
        )
        parts.append(data + alpha * gradient)
    ordinal = ~euclidean
    if bool(ordinal.any()) and pairs is not None and relations is not None:
        pm = None if pair_mask is None else pair_mask[ordinal]
        parts.append(
            beta
            * megadepth_ordinal_loss(pred[ordinal], pairs[ordinal], relations[ordinal], pm, tau=tau)
        )
    if not parts:
        return empty_loss(pred, "megadepth_loss")
    return sum(parts[1:], parts[0])


class MegaDepthLoss(nn.Module):
    """Module form of :func:`megadepth_loss`."""

    def __init__(
        self,
        alpha: float = 0.5,
        beta: float = 0.1,
        scales: int = 4,
        step: int = 2,
        normalization: Normalization = "valid_pixels",
        tau: float = 0.25,
    ) -> None:
        super().__init__()
        self.alpha, self.beta, self.scales = alpha, beta, scales
        self.step, self.normalization, self.tau = step, normalization, tau

    def forward(
        self, pred, gt, mask=None, pairs=None, relations=None, pair_mask=None, euclidean=None
    ):
        return megadepth_loss(
            pred,
            gt,
            mask,
            pairs,
            relations,
            pair_mask,
            euclidean=euclidean,
            alpha=self.alpha,
            beta=self.beta,
            scales=self.scales,
            step=self.step,
            normalization=self.normalization,
            tau=self.tau,
        )
