"""MegaDepth-style mixed supervision (Li & Snavely 2018, §4): each image is supervised either
with its (multi-view) depth, ``L_data + α L_grad``, or with ordinal pairs, ``β L_ord``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from depthforge.data.collate import Batch
from depthforge.losses import is_euclidean_image, megadepth_loss
from depthforge.models.base import depth_output
from depthforge.train.strategies.common import convert_prediction, target_at
from depthforge.train.strategies.registry import register_strategy
from depthforge.types import OutputSpace


def pairs_at(pairs: torch.Tensor, source: tuple[int, int], target: tuple[int, int]) -> torch.Tensor:
    """Pixel pairs ``(B, N, 4)`` of a ``source`` (H, W) image moved to a ``target`` grid by pixel
    centres: ``y' = floor((y + ½)·h/H)``, clamped inside."""
    scale = torch.tensor([target[0] / source[0], target[1] / source[1]] * 2, device=pairs.device)
    limit = torch.tensor([target[0] - 1, target[1] - 1] * 2, device=pairs.device)
    moved = torch.floor((pairs.double() + 0.5) * scale).long()
    return torch.minimum(moved.clamp(min=0), limit)


@dataclass
class MegaDepthMixed:
    """The MegaDepth loss on a batch: Euclidean images (valid depth share ≥ ``threshold`` at the
    image's own resolution) get depth terms, the others their ordinal pairs.

    Args:
        output_space: what the model outputs (converted to log depth for the loss, unless the
            output carries ``log_depth``).
        threshold: the Euclidean share (0.30).
        loss_kwargs: ``alpha``, ``beta``, ``scales``, ``step``, ``normalization``, ``tau``.
    """

    output_space: OutputSpace
    threshold: float = 0.30
    loss_kwargs: dict[str, Any] = field(default_factory=dict)

    def __call__(
        self, model: torch.nn.Module, batch: Batch
    ) -> tuple[torch.Tensor, dict[str, float]]:
        output = model(batch.image)
        # A network that predicts log depth up to scale (MegaDepth's hourglass) hands it over
        # as ``log_depth``: every term of the loss is invariant to its additive constant.
        pred_log = getattr(output, "log_depth", None)
        if pred_log is None:
            pred_log = convert_prediction(
                depth_output(output), self.output_space, OutputSpace.LOG_DEPTH
            )
        size = tuple(pred_log.shape[-2:])
        euclidean = is_euclidean_image(batch.mask, self.threshold)
        gt, mask = target_at(batch.depth, batch.mask, size)
        pairs = None
        if batch.pairs is not None:
            pairs = pairs_at(batch.pairs, tuple(batch.image.shape[-2:]), size)
        loss = megadepth_loss(
            pred_log,
            gt,
            mask,
            pairs,
            batch.relations,
            batch.pair_mask,
            euclidean=euclidean,
            **self.loss_kwargs,
        )
        return loss, {"euclidean_share": float(euclidean.float().mean())}


@register_strategy("megadepth", losses=("megadepth",))
def build_megadepth(
    loss_name: str, loss_kwargs: dict[str, Any], output_space: OutputSpace
) -> MegaDepthMixed:
    """The strategy for recipes with ``strategy: megadepth`` (``loss.name: megadepth``)."""
    kwargs = dict(loss_kwargs)
    threshold = float(kwargs.pop("euclidean_share", 0.30))
    return MegaDepthMixed(output_space, threshold, kwargs)
