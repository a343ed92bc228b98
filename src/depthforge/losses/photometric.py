"""Photometric reprojection losses for self-supervised depth (SfMLearner, monodepth2).

Images are ``(B, 3, H, W)`` in ``[0, 1]`` (the SSIM constants assume that range).

* :func:`ssim_dissimilarity`: ``clamp((1 − SSIM)/2, 0, 1)`` per pixel and channel, with 3×3
  mean filters (Godard et al. 2019, monodepth2 ``layers.py::SSIM``; with ``padding="valid"``
  the monodepth (2017) variant without padding).
* :func:`photometric_error`: ``pe = 0.85·mean_c SSIM-term + 0.15·mean_c |I_t − I_s→t|``
  (monodepth2, Eq. 1).
* :func:`min_reprojection_loss`: per-pixel minimum over source frames (monodepth2, Eq. 4)
  with optional auto-masking by the identity reprojection (§3.3, "auto-masking").
* :func:`explainability_regularizer`: SfMLearner's (Zhou et al. 2017, Eq. 3 ``L_reg``)
  cross-entropy pulling the explainability mask towards 1.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from depthforge.losses._common import check_map, check_same_shape, float32_loss

SSIM_C1 = 0.01**2
SSIM_C2 = 0.03**2


def box_mean_3x3(x: torch.Tensor) -> torch.Tensor:
    """``(B, C, H, W)`` → ``(B, C, H − 2, W − 2)``: the mean of each 3×3 window, per channel.

    The values of ``F.avg_pool2d(x, 3, 1)`` (to float rounding), computed as a depthwise
    convolution with a constant ``1/9`` kernel: 3× faster forward and backward on the CPU.
    """
    c = x.shape[1]
    return F.conv2d(x, x.new_full((c, 1, 3, 3), 1.0 / 9.0), groups=c)


@float32_loss
def ssim_dissimilarity(
    x: torch.Tensor, y: torch.Tensor, padding: Literal["reflect", "valid"] = "reflect"
) -> torch.Tensor:
    """Per-pixel, per-channel SSIM dissimilarity ``clamp((1 − SSIM)/2, 0, 1)``.

    ``μ``, ``σ²`` (biased: ``E[x²] − μ²``) and ``σ_xy`` come from 3×3 mean filters;
    ``SSIM = (2μ_xμ_y + C1)(2σ_xy + C2) / ((μ_x² + μ_y² + C1)(σ_x² + σ_y² + C2))`` with
    ``C1 = 0.01²``, ``C2 = 0.03²`` (Wang et al. 2004, Eq. 13, with a 3×3 box window).

    Args:
        x, y: ``(B, C, H, W)`` images in ``[0, 1]``.
        padding: ``"reflect"`` (monodepth2: reflection pad 1, output ``H × W``) or
            ``"valid"`` (monodepth 2017: no padding, output ``(H − 2) × (W − 2)``).

    Returns:
        ``(B, C, H, W)`` (or ``(B, C, H − 2, W − 2)``) values in ``[0, 1]``, 0 = identical.
    """
    check_map("x", x, channels=None)
    check_same_shape(x=x, y=y)
    if padding == "reflect":
        x, y = F.pad(x, (1, 1, 1, 1), mode="reflect"), F.pad(y, (1, 1, 1, 1), mode="reflect")
    elif padding != "valid":
        raise ValueError(f"padding must be 'reflect' or 'valid', got {padding!r}")
    c = x.shape[1]
    mu_x, mean_xx, mean_xy = box_mean_3x3(torch.cat([x, x * x, x * y], dim=1)).split(c, dim=1)
    mu_y, mean_yy = box_mean_3x3(torch.cat([y, y * y], dim=1)).split(c, dim=1)
    sigma_x = mean_xx - mu_x**2
    sigma_y = mean_yy - mu_y**2
    sigma_xy = mean_xy - mu_x * mu_y
    numerator = (2 * mu_x * mu_y + SSIM_C1) * (2 * sigma_xy + SSIM_C2)
    denominator = (mu_x**2 + mu_y**2 + SSIM_C1) * (sigma_x + sigma_y + SSIM_C2)
    return ((1 - numerator / denominator) / 2).clamp(0, 1)


@float32_loss
def photometric_error(
    pred: torch.Tensor, target: torch.Tensor, *, alpha: float = 0.85, use_ssim: bool = True
) -> torch.Tensor:
    """monodepth2 ``compute_reprojection_loss``: ``α·mean_c SSIM-term + (1 − α)·mean_c |·|``.

    Args:
        pred: ``(B, C, H, W)`` synthesised target view in ``[0, 1]``.
        target: ``(B, C, H, W)`` target image.
        alpha: SSIM weight (0.85).
        use_ssim: False gives the plain per-pixel L1 (monodepth2 ``--no_ssim``).

    Returns:
        ``(B, 1, H, W)`` per-pixel error.

    Example:
        >>> image = torch.rand(1, 3, 4, 4)
        >>> photometric_error(image, image).abs().max().item() < 1e-6
        True
    """
    check_map("pred", pred, channels=None)
    check_same_shape(pred=pred, target=target)
    l1 = (target - pred).abs().mean(1, keepdim=True)
    if not use_ssim:
        return l1
    ssim = ssim_dissimilarity(pred, target).mean(1, keepdim=True)
    return alpha * ssim + (1 - alpha) * l1


@float32_loss
def min_reprojection_loss(
    reprojection_errors: torch.Tensor,
    identity_errors: torch.Tensor | None = None,
    *,
    generator: torch.Generator | None = None,
    noise_std: float = 1e-5,
    reduce: Literal["min", "mean"] = "min",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """monodepth2 per-pixel minimum reprojection with auto-masking (``compute_losses``).

    The identity errors (source frames *not* warped) get ``noise_std · N(0, 1)`` noise to break
    ties, are concatenated before the reprojection errors, and the minimum over that channel
    axis is taken per pixel. Pixels where an identity error wins are "auto-masked" (static
    scene or object moving with the camera): they still enter the mean with the identity value,
    which carries no gradient to depth or pose (as in monodepth2).

    Args:
        reprojection_errors: ``(B, S, H, W)`` photometric error of each warped source.
        identity_errors: ``(B, S', H, W)`` photometric error of each unwarped source, or
            ``None`` to disable auto-masking.
        generator: random source for the tie-breaking noise.
        noise_std: standard deviation of that noise (1e-5).
        reduce: ``"min"`` (monodepth2) or ``"mean"`` over sources (``--avg_reprojection``;
            the identity errors are then also averaged before the minimum, as in monodepth2).

    Returns:
        ``(loss, per_pixel, automask)``: scalar mean of the per-pixel minimum, ``(B, 1, H, W)``
        per-pixel minimum, ``(B, 1, H, W)`` bool True where a reprojection won.
    """
    check_map("reprojection_errors", reprojection_errors, channels=None)
    if reduce == "mean":
        reprojection_errors = reprojection_errors.mean(1, keepdim=True)
    elif reduce != "min":
        raise ValueError(f"reduce must be 'min' or 'mean', got {reduce!r}")
    if identity_errors is None:
        per_pixel = reprojection_errors.min(1, keepdim=True).values
        return per_pixel.mean(), per_pixel, torch.ones_like(per_pixel, dtype=torch.bool)
    check_map("identity_errors", identity_errors, channels=None)
    if identity_errors.shape[2:] != reprojection_errors.shape[2:]:
        raise ValueError(
            f"identity_errors {tuple(identity_errors.shape)} and reprojection_errors "
            f"{tuple(reprojection_errors.shape)} must share B, H, W"
        )
    if reduce == "mean":
        identity_errors = identity_errors.mean(1, keepdim=True)
    noise = torch.randn(
        identity_errors.shape,
        generator=generator,
        device=identity_errors.device,
        dtype=identity_errors.dtype,
    )
    combined = torch.cat([identity_errors + noise_std * noise, reprojection_errors], dim=1)
    per_pixel, index = combined.min(1, keepdim=True)
    automask = index >= identity_errors.shape[1]
    return per_pixel.mean(), per_pixel, automask


@float32_loss
def explainability_regularizer(logits: torch.Tensor) -> torch.Tensor:
    """SfMLearner ``L_reg``: mean cross-entropy of the explainability mask towards 1.

    SfMLearner predicts two logits per pixel and source and applies softmax cross-entropy
    with the label "explainable"; that equals ``softplus(−(l₁ − l₀))``, so this function takes
    ``logits = l₁ − l₀`` (or any sigmoid logit of E) and returns ``mean(−log σ(logits))``,
    computed stably. SfMLearner weights it by 0.2 (``explain_reg_weight``).

    Args:
        logits: ``(B, S, H, W)`` logit of the explainability ``E = σ(logits)`` per source.

    Returns:
        Scalar, ≥ 0, → 0 as ``E → 1``.
    """
    check_map("logits", logits, channels=None)
    return F.softplus(-logits).mean()


class PhotometricError(nn.Module):
    """Module form of :func:`photometric_error`."""

    def __init__(self, alpha: float = 0.85, use_ssim: bool = True) -> None:
        super().__init__()
        self.alpha, self.use_ssim = alpha, use_ssim

    def forward(self, pred, target):
        return photometric_error(pred, target, alpha=self.alpha, use_ssim=self.use_ssim)


class MinReprojectionLoss(nn.Module):
    """Module form of :func:`min_reprojection_loss`; returns only the scalar loss."""

    def __init__(self, seed: int = 0, noise_std: float = 1e-5, reduce: str = "min") -> None:
        super().__init__()
        self.seed, self.noise_std, self.reduce = seed, noise_std, reduce
        self.generator: torch.Generator | None = None

    def forward(self, reprojection_errors, identity_errors=None):
        device = reprojection_errors.device
        if self.generator is None or self.generator.device != device:
            self.generator = torch.Generator(device=device).manual_seed(self.seed)
        loss, _, _ = min_reprojection_loss(
            reprojection_errors,
            identity_errors,
            generator=self.generator,
            noise_std=self.noise_std,
            reduce=self.reduce,
        )
        return loss
