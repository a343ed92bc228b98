"""Set loss of Li, Klein & Yao, ICCV 2017 ("A Two-Streamed Network for Estimating
Fine-Scaled Depth Maps from Single RGB Images"; arXiv 1607.00730).

What was verified from the paper text (abstract, reachable through the search tool): the set
loss is defined "over multiple images"; "by regularizing the estimation between a common set
of images, the network is less prone to over-fitting". The loss section itself could **not**
be read, so the formula below is our reading, **not verified**: the images of a set are
versions of one scene that must have the same depth (e.g. photometric variants of one frame,
or geometric variants mapped back to a common frame by the caller), and

    L_set = (1/S) Σ_s ℓ(D_s, D*) + λ · (2 / (S(S − 1))) Σ_{i<j} mean_M (D_i − D_j)²

i.e. the mean per-image data loss ``ℓ`` plus λ times the mean squared disagreement between
every pair of the set's predictions (over the consistency mask ``M``, which needs no ground
truth). The weight λ and the paper's choice of ``ℓ`` are unverified; ``ℓ`` defaults to the
masked mean squared depth error and can be any depthforge loss with the
``(pred, gt, mask)`` signature.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from depthforge.losses._common import (
    check_map,
    empty_loss,
    float32_loss,
    reduce_masked,
    resolve_mask,
)

DataLoss = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def masked_mse(pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``(pred − gt)²`` over the valid pixels of the batch (metres², depth space)."""
    return reduce_masked((pred - gt) ** 2, mask, "batch", "masked_mse")


@float32_loss
def set_loss(
    predictions: Sequence[torch.Tensor],
    gt: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    lam: float = 1.0,
    data_loss: DataLoss = masked_mse,
    consistency_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Li, Klein & Yao 2017 set loss (our unverified reading, see module docstring).

    Args:
        predictions: ``S ≥ 2`` tensors ``(B, 1, H, W)``, the set's predictions already
            expressed in the frame of ``gt`` (e.g. a flipped copy flipped back).
        gt: ``(B, 1, H, W)`` depth in metres, shared by the set.
        mask: ``(B, 1, H, W)`` bool valid ground truth.
        lam: weight λ of the consistency term (unverified; 1 by default).
        data_loss: per-member loss ``(pred, gt, mask) → scalar``.
        consistency_mask: ``(B, 1, H, W)`` bool where the members must agree (default: all
            pixels, since agreement needs no ground truth).

    Returns:
        Scalar loss.
    """
    if len(predictions) < 2:
        raise ValueError(f"a set needs at least 2 predictions, got {len(predictions)}")
    for index, pred in enumerate(predictions):
        check_map(f"predictions[{index}]", pred)
        if pred.shape != gt.shape:
            raise ValueError(
                f"predictions[{index}] has shape {tuple(pred.shape)}, gt has {tuple(gt.shape)}"
            )
    mask = resolve_mask(mask, gt)
    agree = resolve_mask(consistency_mask, gt)
    stacked = torch.stack(list(predictions))  # (S, B, 1, H, W)
    if not bool(mask.any()) and not bool(agree.any()):
        return empty_loss(stacked, "set_loss")
    count = len(predictions)
    data = sum(data_loss(p, gt, mask) for p in predictions) / count
    first, second = torch.triu_indices(count, count, offset=1, device=gt.device)
    disagreement = (stacked[first] - stacked[second]) ** 2  # (pairs, B, 1, H, W)
    pair_mask = agree.expand_as(disagreement)
    consistency = reduce_masked(disagreement, pair_mask, "batch", "set_loss consistency")
    return data + lam * consistency


class SetLoss(nn.Module):
    """Module form of :func:`set_loss`."""

    def __init__(self, lam: float = 1.0, data_loss: DataLoss = masked_mse) -> None:
        super().__init__()
        self.lam, self.data_loss = lam, data_loss

    def forward(self, predictions, gt, mask=None, consistency_mask=None):
        return set_loss(
            predictions,
            gt,
            mask,
            lam=self.lam,
            data_loss=self.data_loss,
            consistency_mask=consistency_mask,
        )
