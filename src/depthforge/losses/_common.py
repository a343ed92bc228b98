"""Helpers shared by every loss: float32 computation, input checks, masking and reductions.

Conventions of the loss package:

* depth-like maps are ``(B, 1, H, W)``; masks are ``(B, 1, H, W)`` bool, True = valid;
* every loss is computed in float32 with autocast disabled (:func:`float32_loss`);
* a loss with no valid element warns and returns ``(pred * 0).sum()`` (zero, graph intact);
* ``reduction="image"`` averages per-image means over the images that have valid pixels;
  ``reduction="batch"`` pools all valid pixels of the batch into one mean (the MiDaS losses
  follow their reference gist instead, see :mod:`depthforge.losses.ssi`).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, Literal, TypeVar

import torch

from depthforge.types import check_map, check_same_shape  # noqa: F401  (the losses' checks)

F = TypeVar("F", bound=Callable[..., Any])


def float32_loss(fn: F) -> F:
    """Run ``fn`` with autocast disabled and every floating tensor argument cast to float32.

    Under ``torch.autocast`` a loss would otherwise be evaluated in bfloat16/float16, where
    ``(Σd)²/n²`` and ``log`` lose most of their digits. float64 inputs are kept as float64 (so
    gradchecks stay meaningful).
    """

    def cast(value):
        if isinstance(value, (list, tuple)):
            return type(value)(cast(v) for v in value)
        if isinstance(value, torch.Tensor) and value.is_floating_point():
            return value if value.dtype == torch.float64 else value.float()
        return value

    def first_device_type(values) -> str:
        for value in values:
            if isinstance(value, torch.Tensor):
                return value.device.type
            if isinstance(value, (list, tuple)) and value:
                return first_device_type(value)
        return "cpu"

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        device_type = first_device_type((*args, *kwargs.values()))
        with torch.autocast(device_type=device_type, enabled=False):
            args = tuple(cast(a) for a in args)
            kwargs = {k: cast(v) for k, v in kwargs.items()}
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def resolve_mask(mask: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    """``mask`` as a bool tensor shaped like ``like`` (all True when ``None``)."""
    if mask is None:
        return torch.ones_like(like, dtype=torch.bool)
    if mask.shape != like.shape:
        raise ValueError(f"mask must have shape {tuple(like.shape)}, got {tuple(mask.shape)}")
    if mask.dtype != torch.bool:
        raise TypeError(f"mask must be a bool tensor, got {mask.dtype}")
    return mask


def check_reduction(reduction: str) -> None:
    """Raise ``ValueError`` unless ``reduction`` is ``"image"`` or ``"batch"``."""
    if reduction not in ("image", "batch"):
        raise ValueError(f"reduction must be 'image' or 'batch', got {reduction!r}")


def empty_loss(pred: torch.Tensor, what: str) -> torch.Tensor:
    """Warn that ``what`` has no valid element and return a zero that keeps the graph of ``pred``."""
    warnings.warn(f"{what}: no valid pixels/pairs in the batch, loss is 0", stacklevel=3)
    return (pred * 0).sum()


def safe_log(name: str, values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``ln(values)`` on ``mask`` and 0 elsewhere; raises when a masked value is not positive.

    Invalid pixels are replaced by 1 *before* the log, so neither the value nor the gradient
    of the result is NaN there.
    """
    if bool(((values <= 0) & mask).any()):
        raise ValueError(f"{name} must be > 0 on every valid pixel to take its logarithm")
    return torch.where(mask, values, torch.ones_like(values)).log() * mask


def log_difference(
    pred: torch.Tensor,
    gt: torch.Tensor,
    mask: torch.Tensor,
    input_space: Literal["log_depth", "depth"],
) -> torch.Tensor:
    """``d = log pred − ln gt`` on valid pixels, 0 elsewhere (Eigen et al. 2014 notation).

    Args:
        pred: ``(B, 1, H, W)`` log depth (``input_space="log_depth"``) or depth in metres.
        gt: ``(B, 1, H, W)`` depth in metres.
        mask: ``(B, 1, H, W)`` bool.
    """
    if input_space == "log_depth":
        pred_log = pred * mask
    elif input_space == "depth":
        pred_log = safe_log("pred", pred, mask)
    else:
        raise ValueError(f"input_space must be 'log_depth' or 'depth', got {input_space!r}")
    return pred_log - safe_log("gt", gt, mask)


def reduction_dims(reduction: str) -> tuple[int, ...]:
    """Dimensions a ``(B, 1, H, W)`` map is summed over: per image or over the whole batch."""
    check_reduction(reduction)
    return (1, 2, 3) if reduction == "image" else (0, 1, 2, 3)


def finish_grouped(
    loss: torch.Tensor, n: torch.Tensor, reduction: str, pred: torch.Tensor, what: str
) -> torch.Tensor:
    """Average per-image losses over images with valid pixels (or pass the batch loss through)."""
    has_valid = n > 0
    if not bool(has_valid.any()):
        return empty_loss(pred, what)
    return loss[has_valid].mean() if reduction == "image" else loss


def reduce_masked(
    values: torch.Tensor, mask: torch.Tensor, reduction: str, what: str
) -> torch.Tensor:
    """Mean of ``values`` over ``mask``, per image then over images, or pooled over the batch.

    Args:
        values: ``(B, ...)`` per-element loss.
        mask: bool, same shape.
        reduction: ``"image"`` (mean over images that have valid elements of the per-image
            mean) or ``"batch"`` (sum over all valid elements / their count).
        what: the loss name for the all-invalid warning.
    """
    check_reduction(reduction)
    values = values * mask
    if reduction == "batch":
        count = mask.sum()
        if count == 0:
            return empty_loss(values, what)
        return values.sum() / count
    counts = mask.flatten(1).sum(1)
    has_valid = counts > 0
    if not bool(has_valid.any()):
        return empty_loss(values, what)
    per_image = values.flatten(1).sum(1) / counts.clamp(min=1)
    return per_image[has_valid].mean()


def masked_differences(
    values: torch.Tensor, mask: torch.Tensor, step: int = 1
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Forward differences ``x[i + step] − x[i]`` along width and height, with pair validity.

    Args:
        values: ``(B, C, H, W)``.
        mask: ``(B, C, H, W)`` bool.
        step: pixel distance between the two samples of a difference (1 for neighbours,
            2 for MegaDepth).

    Returns:
        ``(dx, mask_x, dy, mask_y)``: ``dx`` ``(B, C, H, W − step)``, ``dy`` ``(B, C, H − step, W)``;
        a difference is valid when both of its pixels are.
    """
    dx = values[..., :, step:] - values[..., :, :-step]
    dy = values[..., step:, :] - values[..., :-step, :]
    mask_x = mask[..., :, step:] & mask[..., :, :-step]
    mask_y = mask[..., step:, :] & mask[..., :-step, :]
    return dx, mask_x, dy, mask_y


def check_pairs(pairs: torch.Tensor, pred: torch.Tensor) -> None:
    """Raise unless ``pairs`` is ``(B, N, 4)`` integer 0-based ``(y_a, x_a, y_b, x_b)`` inside ``pred``."""
    b, _, h, w = pred.shape
    if pairs.ndim != 3 or pairs.shape[0] != b or pairs.shape[2] != 4:
        raise ValueError(f"pairs must be (B={b}, N, 4), got {tuple(pairs.shape)}")
    if pairs.dtype in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
        raise TypeError(f"pairs must be an integer tensor, got {pairs.dtype}")
    ys, xs = pairs[..., 0::2], pairs[..., 1::2]
    if bool((ys < 0).any() | (ys >= h).any() | (xs < 0).any() | (xs >= w).any()):
        raise ValueError(f"pairs hold coordinates outside the {h}×{w} prediction (0-based y, x)")


def gather_pair_values(values: torch.Tensor, pairs: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """``(z_A, z_B)``, each ``(B, N)``, read from ``values`` ``(B, 1, H, W)`` at ``pairs``."""
    w = values.shape[-1]
    flat = values.flatten(1)
    index_a = (pairs[..., 0] * w + pairs[..., 1]).long()
    index_b = (pairs[..., 2] * w + pairs[..., 3]).long()
    return flat.gather(1, index_a), flat.gather(1, index_b)


def check_relations(relations: torch.Tensor, pairs: torch.Tensor) -> None:
    """Raise unless ``relations`` is ``(B, N)`` with values in {−1, 0, +1}."""
    if relations.shape != pairs.shape[:2]:
        raise ValueError(
            f"relations must be (B, N) = {tuple(pairs.shape[:2])}, got {tuple(relations.shape)}"
        )
    if bool(((relations != -1) & (relations != 0) & (relations != 1)).any()):
        raise ValueError("relations must hold only -1, 0 and +1")


class _SafeSqrt(torch.autograd.Function):
    """``sqrt(max(x, 0))`` whose gradient is 0 (not inf/NaN) where ``x ≤ 0``."""

    @staticmethod
    def forward(ctx, x):
        root = x.clamp(min=0).sqrt()
        ctx.save_for_backward(root)
        return root

    @staticmethod
    def backward(ctx, grad):
        (root,) = ctx.saved_tensors
        positive = root > 0
        return torch.where(positive, grad / (2 * torch.where(positive, root, 1)), 0)


def safe_sqrt(x: torch.Tensor) -> torch.Tensor:
    """``sqrt(max(x, 0))`` with a finite gradient at 0 (taken as 0, its subgradient limit).

    The value is exact (no epsilon is added); only the derivative at ``x ≤ 0`` is defined.
    """
    return _SafeSqrt.apply(x)
