"""Scale-and-shift-invariant losses of MiDaS (Ranftl et al., TPAMI 2020).

Everything is in **disparity (inverse-depth) space**: ``pred`` is the network output and
``target`` the ground-truth disparity, both ``(B, 1, H, W)``, with a ``(B, 1, H, W)`` bool mask.

* :func:`scale_and_shift_invariant_loss` (Eq. 4–6 with the least-squares alignment, and the
  reference gist linked from isl-org/MiDaS#2): per image
  ``(ŝ, t̂) = argmin Σ M (s·p + t − d*)²`` (normal equations; ``s = t = 0`` when the
  determinant is not positive), data term ``Σ M (ŝp + t̂ − d*)² / (2 ΣM)``, plus
  ``α = 0.5`` × the 4-scale gradient-matching term (Eq. 11).
* :func:`robust_scale_and_shift_invariant_loss` (gist from isl-org/MiDaS#33): prediction and
  target each normalised by median and mean absolute deviation (Eq. 5–6), trimmed MAE with
  20 % trimming (Eq. 7), plus the same gradient term. **Deviation**: the median is taken over
  the valid pixels only; the gist takes it over ``mask * target``, which counts invalid pixels
  as zeros (a quirk raised in #33).

Reductions follow the gist: ``"batch"`` divides batch sums by the batch's ``ΣM``;
``"image"`` divides each image by its own ``ΣM`` and averages over **all** images (an image
without valid pixels contributes 0, as in ``reduction_image_based``).

MiDaS issue #28: nothing forces ``ŝ > 0``; MiDaS relies on the network's final ReLU.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from depthforge.geometry.fit import least_squares_scale_shift
from depthforge.losses._common import (
    check_map,
    check_reduction,
    check_same_shape,
    empty_loss,
    float32_loss,
    masked_differences,
    resolve_mask,
)

MidasReduction = Literal["batch", "image"]


def _prepare(pred, target, mask):
    check_map("pred", pred)
    check_map("target", target)
    check_same_shape(pred=pred, target=target)
    return resolve_mask(mask, target)


def _reduce(per_image: torch.Tensor, divisor: torch.Tensor, reduction: str) -> torch.Tensor:
    """The gist's ``reduction_batch_based`` / ``reduction_image_based``."""
    if reduction == "batch":
        total = divisor.sum()
        return per_image.sum() / total if total > 0 else per_image.sum() * 0
    return torch.where(divisor > 0, per_image / divisor.clamp(min=1e-30), 0 * per_image).mean()


def compute_scale_and_shift(
    pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image least-squares ``(s, t)`` minimising ``Σ M (s·pred + t − target)²``.

    Normal equations ``[[ΣMp², ΣMp], [ΣMp, ΣM]]·[s, t] = [ΣMp d*, ΣM d*]``; where the
    determinant is ≤ 0 (fewer than two distinct valid values) ``s = t = 0``.

    Args:
        pred, target: ``(B, 1, H, W)``; mask: ``(B, 1, H, W)`` bool.

    Returns:
        ``(s, t)``, each ``(B,)``.
    """
    # One solver (depthforge.geometry.fit) serves the loss and the evaluation's alignment.
    return least_squares_scale_shift(
        pred.flatten(1), target.flatten(1), mask.flatten(1), with_shift=True
    )


def gradient_matching_term(
    pred: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    *,
    scales: int = 4,
    reduction: MidasReduction = "batch",
) -> torch.Tensor:
    """MiDaS multi-scale gradient matching (Eq. 11; gist ``GradientLoss``), summed over scales.

    At scale ``k`` (``[::2^k, ::2^k]``): ``R = M·(pred − target)``,
    ``Σ|R[x+1] − R[x]|·M_x + Σ|R[y+1] − R[y]|·M_y`` (neighbour differences, pairs of valid
    pixels), divided by ``ΣM`` at that scale (valid pixels, not pairs).

    Args:
        pred: ``(B, 1, H, W)`` aligned/normalised prediction; target: same;
            mask: ``(B, 1, H, W)`` bool.
        scales: number of scales (4).
        reduction: see module docstring.
    """
    total = pred.new_zeros(())
    for k in range(scales):
        step = 2**k
        m = mask[..., ::step, ::step]
        residual = (pred[..., ::step, ::step] - target[..., ::step, ::step]) * m
        dx, mask_x, dy, mask_y = masked_differences(residual, m, step=1)
        per_image = (dx.abs() * mask_x).sum((1, 2, 3)) + (dy.abs() * mask_y).sum((1, 2, 3))
        total = total + _reduce(per_image, m.sum((1, 2, 3)).to(pred.dtype), reduction)
    return total


@float32_loss
def scale_and_shift_invariant_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    alpha: float = 0.5,
    scales: int = 4,
    reduction: MidasReduction = "batch",
) -> torch.Tensor:
    """MiDaS scale-and-shift-invariant MSE + α·gradient matching, in disparity space.

    ``L = Σ M (ŝp + t̂ − d*)² / (2ΣM) + α Σ_k L_grad,k`` (Ranftl et al. 2020, Eq. 4–6, 11).

    Args:
        pred: ``(B, 1, H, W)`` predicted (affine-invariant) disparity.
        target: ``(B, 1, H, W)`` ground-truth disparity.
        mask: ``(B, 1, H, W)`` bool valid pixels.
        alpha: gradient-term weight (0.5); 0 disables it.
        scales: gradient scales (4).
        reduction: ``"batch"`` (gist default) or ``"image"``.

    Returns:
        Scalar loss in squared disparity units (invariant to ``pred → s·pred + t``, ``s > 0``).

    Example:
        >>> target = torch.rand(1, 1, 8, 8)
        >>> scale_and_shift_invariant_loss(3 * target + 1, target).item() < 1e-5  # float32
        True
    """
    check_reduction(reduction)
    mask = _prepare(pred, target, mask)
    if not bool(mask.any()):
        return empty_loss(pred, "scale_and_shift_invariant_loss")
    scale, shift = compute_scale_and_shift(pred, target, mask)
    aligned = scale.view(-1, 1, 1, 1) * pred + shift.view(-1, 1, 1, 1)
    squared = ((aligned - target) ** 2 * mask).sum((1, 2, 3))
    loss = _reduce(squared, 2 * mask.sum((1, 2, 3)).to(pred.dtype), reduction)
    if alpha > 0:
        loss = loss + alpha * gradient_matching_term(
            aligned, target, mask, scales=scales, reduction=reduction
        )
    return loss


def normalize_robust(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per image ``(x − median) / max(mean|x − median|, 1e-6)`` over valid pixels (Eq. 5–6).

    The median is the lower median (``torch.median``'s convention) of the **valid pixels
    only**; images without valid pixels are returned unchanged.

    Args:
        values: ``(B, 1, H, W)``; mask: ``(B, 1, H, W)`` bool.

    Returns:
        ``(B, 1, H, W)`` normalised values.
    """
    b = values.shape[0]
    flat = values.reshape(b, -1)
    valid = mask.reshape(b, -1)
    counts = valid.sum(1)
    ordered = torch.where(valid, flat, torch.full_like(flat, torch.inf)).sort(dim=1).values
    median_index = ((counts - 1).clamp(min=0) // 2)[:, None]
    median = torch.where(counts > 0, ordered.gather(1, median_index)[:, 0], 0 * counts)
    centred = flat - median[:, None]
    deviation = (centred.abs() * valid).sum(1) / counts.clamp(min=1)
    spread = torch.where(counts > 0, deviation.clamp(min=1e-6), torch.ones_like(deviation))
    return (centred / spread[:, None]).reshape(values.shape)


def trimmed_mae(
    pred: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    *,
    trim: float = 0.2,
    reduction: MidasReduction = "batch",
) -> torch.Tensor:
    """MiDaS trimmed MAE (Eq. 7): drop the largest ``trim`` share of |residuals|, ``Σ / (2ΣM)``.

    ``"batch"``: the valid residuals of the whole batch are sorted together and the smallest
    ``⌊n(1 − trim)⌋`` kept (the gist); ``"image"``: the same per image, averaged over images.
    """
    if not 0.0 <= trim < 1.0:
        raise ValueError(f"trim must be in [0, 1), got {trim}")
    rows = 1 if reduction == "batch" else pred.shape[0]
    residual = (pred - target).abs().reshape(rows, -1)
    valid = mask.reshape(rows, -1)
    counts = valid.sum(1)
    ordered = torch.where(valid, residual, torch.full_like(residual, torch.inf)).sort(dim=1).values
    keep = torch.floor(counts.double() * (1.0 - trim)).long()
    kept = torch.arange(ordered.shape[1], device=pred.device)[None, :] < keep[:, None]
    per_row = torch.where(kept, ordered, 0 * residual).sum(1)
    return _reduce(per_row, 2 * counts.to(pred.dtype), reduction)


@float32_loss
def robust_scale_and_shift_invariant_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    alpha: float = 0.5,
    scales: int = 4,
    trim: float = 0.2,
    reduction: MidasReduction = "batch",
) -> torch.Tensor:
    """MiDaS robust loss: median/MAD normalisation, trimmed MAE and α·gradient matching.

    Args:
        pred: ``(B, 1, H, W)`` predicted disparity; target: ``(B, 1, H, W)`` disparity.
        mask: ``(B, 1, H, W)`` bool valid pixels.
        alpha: gradient-term weight (0.5).
        scales: gradient scales (4).
        trim: share of the largest residuals dropped (0.2).
        reduction: ``"batch"`` (gist default) or ``"image"``.

    Returns:
        Scalar loss (invariant to ``pred → s·pred + t`` for ``s > 0``).
    """
    check_reduction(reduction)
    mask = _prepare(pred, target, mask)
    if not bool(mask.any()):
        return empty_loss(pred, "robust_scale_and_shift_invariant_loss")
    pred_n = normalize_robust(pred, mask)
    target_n = normalize_robust(target, mask)
    loss = trimmed_mae(pred_n, target_n, mask, trim=trim, reduction=reduction)
    if alpha > 0:
        loss = loss + alpha * gradient_matching_term(
            pred_n, target_n, mask, scales=scales, reduction=reduction
        )
    return loss


class ScaleAndShiftInvariantLoss(nn.Module):
    """Module form of :func:`scale_and_shift_invariant_loss`."""

    def __init__(self, alpha: float = 0.5, scales: int = 4, reduction: MidasReduction = "batch"):
        super().__init__()
        self.alpha, self.scales, self.reduction = alpha, scales, reduction

    def forward(self, pred, target, mask=None):
        return scale_and_shift_invariant_loss(
            pred, target, mask, alpha=self.alpha, scales=self.scales, reduction=self.reduction
        )


class RobustScaleAndShiftInvariantLoss(nn.Module):
    """Module form of :func:`robust_scale_and_shift_invariant_loss`."""

    def __init__(
        self,
        alpha: float = 0.5,
        scales: int = 4,
        trim: float = 0.2,
        reduction: MidasReduction = "batch",
    ):
        super().__init__()
        self.alpha, self.scales, self.trim, self.reduction = alpha, scales, trim, reduction

    def forward(self, pred, target, mask=None):
        return robust_scale_and_shift_invariant_loss(
            pred,
            target,
            mask,
            alpha=self.alpha,
            scales=self.scales,
            trim=self.trim,
            reduction=self.reduction,
        )
