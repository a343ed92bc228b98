"""Per-row fits of one set of values to another on a validity mask: the NumPy-style median and
the least-squares scale (and shift) of the MiDaS normal equations. Alignment before scoring
(:mod:`depthforge.eval.align`), the scale-and-shift-invariant loss
(:mod:`depthforge.losses.ssi`) and depth completion share them."""

from __future__ import annotations

import torch


def masked_median(values: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """``(B,)`` median of each row's valid entries, NumPy-style (mean of the two middle values).

    Args:
        values: ``(B, N)`` float.
        valid: ``(B, N)`` bool.

    Returns:
        ``(B,)``; NaN for a row without a valid entry.
    """
    n = valid.sum(1)
    ordered = torch.where(valid, values, torch.inf).sort(dim=1).values
    lo = ((n - 1).clamp_min(0) // 2).unsqueeze(1)
    hi = (n // 2).clamp_max(values.shape[1] - 1).unsqueeze(1)
    median = 0.5 * (ordered.gather(1, lo) + ordered.gather(1, hi)).squeeze(1)
    return torch.where(n > 0, median, torch.nan)


def least_squares_scale_shift(
    x: torch.Tensor, y: torch.Tensor, valid: torch.Tensor, with_shift: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-row ``argmin_{s,t} Σ_V (s·x + t − y)²`` (or ``t = 0``), MiDaS normal equations.

    Args:
        x, y: ``(B, N)`` float64.
        valid: ``(B, N)`` bool.
        with_shift: fit ``t`` too.

    Returns:
        ``(scale, shift)``, each ``(B,)``; both 0 where the system is singular (det ≤ 0).
    """
    w = valid.to(x.dtype)
    x = torch.where(valid, x, 0.0)
    y = torch.where(valid, y, 0.0)
    a00 = (x * x).sum(1)
    b0 = (x * y).sum(1)
    if not with_shift:
        scale = torch.where(a00 > 0, b0 / a00.clamp_min(torch.finfo(x.dtype).tiny), 0.0)
        return scale, torch.zeros_like(scale)
    a01 = x.sum(1)
    a11 = w.sum(1)
    b1 = y.sum(1)
    det = a00 * a11 - a01 * a01
    ok = det > 0
    safe = torch.where(ok, det, 1.0)
    scale = torch.where(ok, (a11 * b0 - a01 * b1) / safe, 0.0)
    shift = torch.where(ok, (-a01 * b0 + a00 * b1) / safe, 0.0)
    return scale, shift
