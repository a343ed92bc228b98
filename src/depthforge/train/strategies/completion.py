"""Depth completion: an RGB + sparse depth model supervised with the dense ground truth.

Ma & Karaman 2018 (ICRA, "Sparse-to-Dense", §IV-B) train on sparse inputs drawn at random from
the dense ground truth, a new draw for every batch, and supervise every valid GT pixel (their best
loss: L1). The sparse input is drawn here, in the strategy, from the batch's own depth: so any
dense data set (the synthetic world, NYU, ...) trains completion unchanged, and augmentations
(crops, flips, resizes) keep input and target registered. Two samplers:

* ``uniform`` (the paper's): each valid pixel is kept with probability ``samples / n_valid``
  (``samples`` expected per image; the paper's NYU setting is 200);
* ``lidar``: the KITTI-like scan-row pattern of :func:`depthforge.synth.sensor.lidar_rows`
  (``density`` of the pixels, with the batch's intrinsics K), intersected with the valid depth.

Validation (:meth:`CompletionStrategy.make_validator`) draws the sparse input with a fixed seed
and scores with the KITTI depth-completion metrics
(:func:`depthforge.eval.metrics.compute_completion_metrics`: RMSE/MAE in mm, iRMSE/iMAE in 1/km)
over the protocol's valid pixels; the best checkpoint is the lowest RMSE.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from depthforge.data.collate import Batch, collate_samples, same_size_runs
from depthforge.errors import DepthforgeError
from depthforge.losses import berhu_loss
from depthforge.losses._common import reduce_masked
from depthforge.models.base import depth_output
from depthforge.train.strategies.common import target_at
from depthforge.train.strategies.registry import register_strategy
from depthforge.types import OutputSpace

SAMPLERS = ("uniform", "lidar")
VALIDATION_SEED = 1234
"""Seed of the sparse inputs drawn for validation (the same draw at every validation)."""


def l1_loss(pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Ma & Karaman 2018 §IV-A: mean ``|pred − gt|`` over the valid pixels of the batch (metres)."""
    return reduce_masked((pred - gt).abs(), mask, "batch", "l1")


LOSSES: dict[str, Callable[..., torch.Tensor]] = {"l1": l1_loss, "berhu": berhu_loss}


@dataclass(frozen=True)
class SparseSampler:
    """Draws sparse depth ``(B, 1, H, W)`` (0 = no sample) from dense depth (module docstring).

    Attributes:
        pattern: ``"uniform"`` or ``"lidar"``.
        samples: expected samples per image for ``uniform``.
        density: fraction of pixels with a return for ``lidar`` (before holes in the GT).
    """

    pattern: str = "uniform"
    samples: int = 200
    density: float = 0.05

    def __post_init__(self) -> None:
        if self.pattern not in SAMPLERS:
            raise DepthforgeError(f"sampler must be one of {SAMPLERS}, got {self.pattern!r}")
        if self.samples < 1 or not 0.0 < self.density <= 1.0:
            raise DepthforgeError(
                f"need samples ≥ 1 and density in (0, 1], got {self.samples}, {self.density}"
            )

    def __call__(
        self,
        depth: torch.Tensor,
        mask: torch.Tensor,
        K: torch.Tensor | None,
        generator: torch.Generator,
    ) -> torch.Tensor:
        """Args: ``depth``/``mask`` ``(B, 1, H, W)`` metres / bool; ``K`` ``(B, 3, 3)`` (lidar
        only); ``generator`` a CPU generator. Returns ``(B, 1, H, W)`` sparse depth."""
        batch, _, height, width = depth.shape
        if self.pattern == "uniform":
            valid = mask.flatten(1).sum(1).clamp(min=1).float()
            keep_prob = (self.samples / valid).clamp(max=1.0).reshape(batch, 1, 1, 1)
            draw = torch.rand(depth.shape, generator=generator).to(depth.device)
            keep = mask & (draw < keep_prob.to(depth.device))
        else:
            from depthforge.synth.sensor import lidar_rows

            if K is None:
                raise DepthforgeError("the lidar sampler needs the intrinsics K of each sample")
            seeds = torch.randint(0, 2**31 - 1, (batch,), generator=generator).tolist()
            patterns = [
                lidar_rows(
                    k.double().cpu().numpy(),
                    width,
                    height,
                    np.random.default_rng(seed),
                    density=self.density,
                )
                for k, seed in zip(K, seeds, strict=True)
            ]
            keep = mask & torch.from_numpy(np.stack(patterns))[:, None].to(depth.device)
        return torch.where(keep, depth, torch.zeros_like(depth))


@dataclass
class CompletionStrategy:
    """RGB + sparse depth → dense depth, supervised with the dense GT (module docstring).

    Attributes:
        loss: ``fn(pred, gt, mask) -> scalar`` in metres (:data:`LOSSES`).
        sampler: how the sparse input is drawn.
        seed: seed of the training draws.
    """

    loss: Callable[..., torch.Tensor]
    sampler: SparseSampler
    seed: int = 0
    generator: torch.Generator = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.generator = torch.Generator().manual_seed(self.seed)

    def __call__(
        self, model: torch.nn.Module, batch: Batch
    ) -> tuple[torch.Tensor, dict[str, float]]:
        sparse = self.sampler(batch.depth, batch.mask, batch.K, self.generator)
        pred = depth_output(model(batch.image, sparse))
        gt, mask = target_at(batch.depth, batch.mask, tuple(pred.shape[-2:]))
        samples = float((sparse > 0).sum()) / len(sparse)
        return self.loss(pred, gt, mask), {"samples_per_image": samples}

    def make_validator(
        self, dataset: Dataset, protocol: str, batch_size: int = 8
    ) -> tuple[Callable[[torch.nn.Module], dict[str, float]], str]:
        """``(validate, "rmse")``: ``validate(model)`` predicts every sample of ``dataset`` from
        sparse input drawn with :data:`VALIDATION_SEED` and returns the KITTI completion
        metrics (per image, then the mean over images) on the protocol's valid pixels."""
        from depthforge.eval.metrics import compute_completion_metrics
        from depthforge.eval.protocols import get_protocol
        from depthforge.models.predict import predict

        rules = get_protocol(protocol)

        def validate(model: torch.nn.Module) -> dict[str, float]:
            generator = torch.Generator().manual_seed(VALIDATION_SEED)
            device = next(model.parameters()).device
            totals: dict[str, float] = {}
            images = 0
            for run in same_size_runs(dataset, batch_size):
                batch = collate_samples(run)
                sparse = self.sampler(batch.depth, batch.mask, batch.K, generator)
                pred = predict(
                    model, batch.image.to(device), batch_size=batch_size, sparse=sparse.to(device)
                ).depth.cpu()
                valid = rules.valid_mask(batch.depth, batch.mask)
                pred = rules.clamp_prediction(pred).clamp_min(1e-3)  # iRMSE needs 1/pred
                metrics = compute_completion_metrics(pred, batch.depth, valid)
                for key, value in metrics.items():
                    totals[key] = totals.get(key, 0.0) + value * len(run)
                images += len(run)
            return {key: value / images for key, value in totals.items()}

        return validate, "rmse"


@register_strategy("completion", losses=LOSSES, output_spaces=(OutputSpace.METRIC_DEPTH,))
def build_completion(
    loss_name: str, loss_kwargs: dict[str, Any], output_space: OutputSpace
) -> CompletionStrategy:
    """The completion strategy. ``loss_kwargs``: ``sampler`` (``uniform``/``lidar``),
    ``samples``, ``density``, ``seed``."""
    kwargs = dict(loss_kwargs)
    sampler = SparseSampler(
        kwargs.pop("sampler", "uniform"),
        int(kwargs.pop("samples", 200)),
        float(kwargs.pop("density", 0.05)),
    )
    seed = int(kwargs.pop("seed", 0))
    if kwargs:
        raise DepthforgeError(f"unknown completion options {sorted(kwargs)}")
    return CompletionStrategy(LOSSES[loss_name], sampler, seed)
