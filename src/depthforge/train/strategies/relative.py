"""Relative depth from annotated point pairs: Chen et al. 2016, "Single-Image Depth Perception in
the Wild" (NIPS), trained with the ranking loss of Eq. 1–2 and validated with WHDR.

Batches carry ``pairs`` ``(B, N, 4)`` 0-based ``(y_a, x_a, y_b, x_b)`` in **image** pixels,
``relations`` ``(B, N)`` in {−1, 0, +1} (+1 = A farther) and ``pair_mask`` ``(B, N)`` (False on
padding), see :class:`~depthforge.data.collate.Batch`. The model's raw output is resampled to the
image size (bilinear, ``align_corners=False``: the convention of every depthforge resize) so the
pairs index it directly; the pairs themselves are never rescaled.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils.data import Dataset

from depthforge.data.collate import Batch
from depthforge.errors import DepthforgeError
from depthforge.models.base import depth_output
from depthforge.train.strategies.common import prediction_at_image_size
from depthforge.train.strategies.registry import register_strategy
from depthforge.types import OutputSpace, Sample

RELATIVE_LOSSES = ("ranking",)
"""Loss names a relative recipe may use (``loss.name``)."""


@dataclass
class RelativeDepth:
    """Ranking loss on point pairs (Chen et al. 2016, Eq. 1–2).

    Per pair, with ``z`` the depth-like prediction (larger = farther) and ``r`` the relation:
    ``log(1 + exp(−r (z_A − z_B)))`` for ``r ≠ 0`` and ``(z_A − z_B)²`` for ``r = 0``
    (:func:`depthforge.losses.ranking_loss`). The raw network output is ranked in its own space
    (log depth, metres, ...: any monotone depth-like map); a disparity-like output
    (``output_space.is_disparity_like``, larger = nearer) has its sign flipped.

    Args:
        output_space: what the model outputs.
        loss_kwargs: extra keyword arguments of :func:`~depthforge.losses.ranking_loss`
            (e.g. ``reduction: image``).
    """

    output_space: OutputSpace
    loss_kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def disparity_like(self) -> bool:
        """True when larger outputs mean nearer (the ranking loss then uses ``−pred``)."""
        return self.output_space.is_disparity_like

    def __call__(
        self, model: torch.nn.Module, batch: Batch
    ) -> tuple[torch.Tensor, dict[str, float]]:
        from depthforge.losses import ranking_loss

        if batch.pairs is None or batch.relations is None:
            raise DepthforgeError(
                "the relative strategy needs samples with ordinal pairs "
                "(e.g. dataset diw, or synth with options pairs: N)"
            )
        pred = depth_output(model(batch.image))
        pred = prediction_at_image_size(pred, tuple(batch.image.shape[-2:]))
        loss = ranking_loss(
            pred,
            batch.pairs,
            batch.relations,
            batch.pair_mask,
            disparity_like=self.disparity_like,
            **self.loss_kwargs,
        )
        real = batch.pair_mask if batch.pair_mask is not None else batch.relations
        n_pairs = float(real.count_nonzero()) if batch.pair_mask is not None else real.numel()
        return loss, {"pairs": n_pairs}


@register_strategy("relative", losses=RELATIVE_LOSSES)
def build_relative(
    loss_name: str, loss_kwargs: dict[str, Any], output_space: OutputSpace
) -> RelativeDepth:
    """The relative-depth strategy (``strategy: relative``; ``loss.name`` must be ``ranking``)."""
    return RelativeDepth(output_space, dict(loss_kwargs))


def ordered_pairs_only(sample: Sample) -> Sample | None:
    """``sample`` with its '=' pairs dropped (WHDR scores ordered pairs only, as DIW has no '='
    pairs); ``None`` when no ordered pair is left."""
    if sample.pairs is None or sample.relations is None:
        return None
    keep = sample.relations != 0
    if not bool(keep.any()):
        return None
    return dataclasses.replace(sample, pairs=sample.pairs[keep], relations=sample.relations[keep])


def make_ordinal_validator(
    dataset: Dataset,
    protocol: str = "diw",
    *,
    size: tuple[int, int] | None = None,
) -> Callable[[torch.nn.Module], dict[str, float]]:
    """``model -> {"whdr": ...}`` over ``dataset`` under an ordinal protocol (``diw``).

    Each sample is predicted on its own (DIW images differ in size) with
    :func:`~depthforge.models.predict.predict`, which returns the map at the image resolution,
    where the pairs live, and passed to :class:`~depthforge.eval.Evaluator` with ``sample=``.
    WHDR (Chen et al. 2016) pools wrong / all over the ordered pairs of every image; '=' pairs
    (the synthetic world has some) are left out, as WHDR does not define them.

    Args:
        dataset: map-style dataset of samples with ``pairs`` / ``relations``.
        protocol: an ordinal protocol name.
        size: network input ``(H, W)``; default the model's ``config.input_size``.

    Raises:
        DepthforgeError: (when called) no sample of ``dataset`` has an ordered pair.
    """
    from depthforge.eval import Evaluator
    from depthforge.models.predict import predict

    def validate(model: torch.nn.Module) -> dict[str, float]:
        device = next(model.parameters()).device
        evaluator: Evaluator | None = None
        for index in range(len(dataset)):
            sample = ordered_pairs_only(dataset[index])
            if sample is None:
                continue
            prediction = predict(model, sample.image[None].to(device), size=size)
            if evaluator is None:
                evaluator = Evaluator(protocol, output_space=prediction.output_space)
            evaluator.add(prediction.depth[0].cpu(), sample=sample)
        if evaluator is None:
            raise DepthforgeError(f"no ordered point pairs to score {protocol!r} on")
        return evaluator.result().metrics

    return validate
