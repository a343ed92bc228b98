"""Set supervision (Li, Klein & Yao 2017): the prediction of an image and of its mirrored copy,
mirrored back, form a set; :func:`depthforge.losses.set_loss` adds to their data losses a term
that makes them agree (see that function for what was and was not verified in the paper).

The set here is {image, horizontally flipped image}: a transformation that changes the input
but not the scene, so the two predictions must agree pixel by pixel once the flip is undone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from depthforge.data.collate import Batch
from depthforge.losses import set_loss
from depthforge.models.base import depth_output
from depthforge.train.strategies.common import convert_prediction, target_at
from depthforge.train.strategies.registry import register_strategy
from depthforge.types import OutputSpace


@dataclass
class SetSupervised:
    """``set_loss([f(x), flip(f(flip(x)))], gt, mask)`` on metric depth.

    Args:
        output_space: what the model outputs (converted to metric depth).
        loss_kwargs: keyword arguments of :func:`depthforge.losses.set_loss` (``lam``).
    """

    output_space: OutputSpace
    loss_kwargs: dict[str, Any] = field(default_factory=dict)

    def __call__(
        self, model: torch.nn.Module, batch: Batch
    ) -> tuple[torch.Tensor, dict[str, float]]:
        direct = depth_output(model(batch.image))
        mirrored = depth_output(model(batch.image.flip(-1))).flip(-1)
        gt, mask = target_at(batch.depth, batch.mask, tuple(direct.shape[-2:]))
        predictions = [
            convert_prediction(p, self.output_space, OutputSpace.METRIC_DEPTH)
            for p in (direct, mirrored)
        ]
        disagreement = float((predictions[0] - predictions[1]).detach().abs().mean())
        return set_loss(predictions, gt, mask, **self.loss_kwargs), {
            "set_disagreement": disagreement
        }


@register_strategy("set", losses=("set",))
def build_set(
    loss_name: str, loss_kwargs: dict[str, Any], output_space: OutputSpace
) -> SetSupervised:
    """The strategy for recipes with ``strategy: set`` (``loss.name: set``)."""
    return SetSupervised(output_space, dict(loss_kwargs))
