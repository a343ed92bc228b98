"""Supervised metric depth: a dense loss between the prediction and the ground truth."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F

from depthforge.data.collate import Batch
from depthforge.errors import OutputSpaceError
from depthforge.models.predict import depth_output
from depthforge.train.strategies.registry import register_strategy
from depthforge.types import OutputSpace

# Smallest depth (metres) whose log is taken when a metric prediction meets a log-space loss:
# a ReLU output of 0 would otherwise give log 0 = −inf.
MIN_DEPTH_FOR_LOG = 1e-3


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


def convert_prediction(
    pred: torch.Tensor, source: OutputSpace, target: OutputSpace
) -> torch.Tensor:
    """Move a prediction between metric depth and log depth; any other change is refused."""
    if source == target:
        return pred
    if source is OutputSpace.LOG_DEPTH and target is OutputSpace.METRIC_DEPTH:
        return pred.exp()
    if source is OutputSpace.METRIC_DEPTH and target is OutputSpace.LOG_DEPTH:
        return pred.clamp(min=MIN_DEPTH_FOR_LOG).log()
    raise OutputSpaceError(f"a {source.value} prediction cannot be supervised as {target.value}")


def target_at(
    depth: torch.Tensor, mask: torch.Tensor, size: tuple[int, int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Ground truth resampled to the prediction's ``(h, w)`` by nearest pixel centre.

    Depth is never interpolated across invalid pixels or depth edges: each output pixel takes the
    value and validity of the input pixel under its centre (``nearest-exact``).
    """
    if tuple(depth.shape[-2:]) == tuple(size):
        return depth, mask
    d = F.interpolate(depth, size=size, mode="nearest-exact")
    m = F.interpolate(mask.float(), size=size, mode="nearest-exact") > 0.5
    return d, m


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
