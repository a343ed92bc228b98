"""A straightforward monodepth2 photometric loss for the tests, written from Godard et al. 2019
(Eq. 1, 4 and §3.3) and the structure of its ``layers.py::SSIM``: each image reflection-padded by
one pixel, five separate 3×3 average pools, one call per (image, target) pair, the target's
statistics recomputed every time. It shares no code with ``depthforge.losses``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

C1, C2 = 0.01**2, 0.03**2


def ssim_term(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``clamp((1 − SSIM)/2, 0, 1)`` per pixel and channel of two ``(B, C, H, W)`` images."""
    x, y = F.pad(x, (1, 1, 1, 1), mode="reflect"), F.pad(y, (1, 1, 1, 1), mode="reflect")
    mu_x, mu_y = F.avg_pool2d(x, 3, 1), F.avg_pool2d(y, 3, 1)
    sigma_x = F.avg_pool2d(x**2, 3, 1) - mu_x**2
    sigma_y = F.avg_pool2d(y**2, 3, 1) - mu_y**2
    sigma_xy = F.avg_pool2d(x * y, 3, 1) - mu_x * mu_y
    numerator = (2 * mu_x * mu_y + C1) * (2 * sigma_xy + C2)
    denominator = (mu_x**2 + mu_y**2 + C1) * (sigma_x + sigma_y + C2)
    return torch.clamp((1 - numerator / denominator) / 2, 0, 1)


def reprojection_error(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``(B, 1, H, W)``: ``0.85 · mean_c SSIM term + 0.15 · mean_c |target − pred|`` (Eq. 1)."""
    l1 = (target - pred).abs().mean(1, keepdim=True)
    return 0.85 * ssim_term(pred, target).mean(1, keepdim=True) + 0.15 * l1
