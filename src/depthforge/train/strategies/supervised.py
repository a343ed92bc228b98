"""Supervised metric depth: a dense loss between the prediction and the ground truth."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import torch

from depthforge.data.collate import Batch
from depthforge.models.base import depth_output
from depthforge.train.strategies.common import convert_prediction, target_at
from depthforge.train.strategies.registry import register_strategy
from depthforge.types import OutputSpace


@dataclass(frozen=True)
class LossSpec:
    """A supervised loss ``fn(pred, gt, mask) -> scalar`` and the space it wants ``pred`` in."""

    fn: Callable[..., torch.Tensor]
    pred_space: OutputSpace


def supervised_losses() -> dict[str, LossSpec]:
    """Loss names a supervised recipe may use (``loss.name`` in a config)."""
    from depthforge import losses as L

    metric, log = OutputSpace.METRIC_DEPTH, OutputSpace.LOG_DEPTH
    return {
        "berhu": LossSpec(L.berhu_loss, metric),
        "scale_invariant": LossSpec(partial(L.scale_invariant_loss, input_space="log_depth"), log),
        "eigen_gradient": LossSpec(partial(L.eigen_gradient_loss, input_space="log_depth"), log),
        "bts_silog": LossSpec(L.bts_silog_loss, metric),
        "adabins_silog": LossSpec(L.adabins_silog_loss, metric),
    }


@dataclass
class SupervisedDepth:
    """Supervised metric depth: the loss compares the prediction with the dense ground truth.

    The ground truth is resampled to the prediction's resolution (as Eigen et al. 2014 and
    Laina et al. 2016 train: targets at the output size) and the prediction is moved into the
    space the loss expects (log depth for the scale-invariant family, metres for berHu).

    Args:
        loss: the :class:`LossSpec` (see :func:`supervised_losses`).
        output_space: what the model outputs.
        loss_kwargs: extra keyword arguments of the loss.
    """

    loss: LossSpec
    output_space: OutputSpace
    loss_kwargs: dict[str, Any] = field(default_factory=dict)

    def __call__(
        self, model: torch.nn.Module, batch: Batch
    ) -> tuple[torch.Tensor, dict[str, float]]:
        pred = depth_output(model(batch.image))
        gt, mask = target_at(batch.depth, batch.mask, tuple(pred.shape[-2:]))
        pred = convert_prediction(pred, self.output_space, self.loss.pred_space)
        return self.loss.fn(pred, gt, mask, **self.loss_kwargs), {}


@register_strategy("supervised", losses=lambda: sorted(supervised_losses()))
def build_supervised(
    loss_name: str, loss_kwargs: dict[str, Any], output_space: OutputSpace
) -> SupervisedDepth:
    """The supervised strategy for a loss name of :func:`supervised_losses`."""
    return SupervisedDepth(supervised_losses()[loss_name], output_space, dict(loss_kwargs))
