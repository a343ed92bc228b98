"""Accumulate metrics over a dataset under one protocol, one alignment and one output space."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from depthforge.eval.align import Alignment, align, check_alignment
from depthforge.eval.metrics import image_statistics, prepare, summarise
from depthforge.eval.ordinal import PairCounts, whdr_counts
from depthforge.eval.protocols import Protocol, Reduction, get_protocol
from depthforge.eval.report import EvalResult
from depthforge.geometry.fit import masked_median
from depthforge.types import OutputSpace, Sample


class Evaluator:
    """Scores predictions image by image (or batch by batch) and reports the protocol's metrics.

    Per added batch the pipeline is: crop the GT and the prediction (protocol), build the valid
    set (mask ∧ GT caps), align the prediction on that set (per image, see
    :mod:`depthforge.eval.align`), clamp it (protocol), and keep per-image sufficient statistics.
    :meth:`result` aggregates them per image or pixel-pooled. Under an ordinal protocol
    (``diw``) the annotated pairs of each sample are scored with WHDR instead.

    Args:
        protocol: a :class:`~depthforge.eval.protocols.Protocol` or its name.
        align: alignment mode; ``None`` takes the protocol's default (``"none"``).
        output_space: what the predictions are; a relative space needs an alignment
            (:class:`~depthforge.errors.OutputSpaceError` at construction otherwise).
        reduction: ``"image"`` or ``"pixel"``; ``None`` takes the protocol's.

    Example:
        >>> ev = Evaluator("nyu_eigen")
        >>> gt = torch.full((1, 1, 480, 640), 2.0)
        >>> ev.add(gt * 1.1, gt, ids=["a"])
        >>> round(ev.result().metrics["abs_rel"], 6)
        0.1
    """

    def __init__(
        self,
        protocol: str | Protocol = "nyu_eigen",
        *,
        align: str | Alignment | None = None,
        output_space: str | OutputSpace = OutputSpace.METRIC_DEPTH,
        reduction: Reduction | None = None,
    ):
        self.protocol = get_protocol(protocol)
        self.output_space = OutputSpace(output_space)
        self.reduction: Reduction = reduction or self.protocol.reduction
        if self.reduction not in ("image", "pixel"):
            raise ValueError(f"reduction must be 'image' or 'pixel', got {self.reduction!r}")
        if self.protocol.task == "depth":
            self.alignment, _ = check_alignment(align or self.protocol.alignment, output_space)
        else:
            # Ordinal scoring needs only the order, which any space carries (disparity reversed).
            self.alignment = Alignment.NONE
        self._stats: list[torch.Tensor] = []
        self._scales: list[torch.Tensor] = []
        self._ids: list[str] = []
        self._pairs = PairCounts()

    def __len__(self) -> int:
        """Images added so far."""
        return len(self._ids)

    def add(
        self,
        pred,
        gt=None,
        mask=None,
        *,
        sample: Sample | None = None,
        ids: Sequence[str] | None = None,
    ) -> None:
        """Score one image or a batch.

        Args:
            pred: ``(H, W)``, ``(1, H, W)`` or ``(B, 1, H, W)`` prediction in ``output_space``,
                at the GT resolution.
            gt: ground-truth depth in metres, same shape (or give ``sample``).
            mask: optional boolean validity, same shape.
            sample: a :class:`~depthforge.types.Sample` supplying ``depth``, ``mask``, the id and,
                for ordinal protocols, ``pairs`` and ``relations``.
            ids: one id per image (default: the running index).
        """
        if sample is not None:
            gt, mask, ids = sample.depth, sample.mask, [sample.id]
        if self.protocol.task == "ordinal":
            counts = self._score_pairs(pred, sample)
            self._check_ids(ids, 1)
            self._pairs = self._pairs + counts
            batch = 1
        else:
            if gt is None:
                raise ValueError("give gt (and optionally mask) or a sample")
            stats, scales = self._score_depth(pred, gt, mask)
            batch = stats.shape[0]
            self._check_ids(ids, batch)
            self._stats.append(stats)
            if scales is not None:
                self._scales.append(scales)
        start = len(self._ids)
        self._ids += (
            [str(i) for i in ids] if ids is not None else [str(start + i) for i in range(batch)]
        )

    @staticmethod
    def _check_ids(ids: Sequence[str] | None, batch: int) -> None:
        if ids is not None and len(ids) != batch:
            raise ValueError(f"got {len(ids)} ids for {batch} images")

    def _score_depth(self, pred, gt, mask) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Per-image statistics ``(B, K)`` and, when aligning, the scales of scored images."""
        p, g, m = prepare(pred, gt, mask)
        proto = self.protocol
        p, g = proto.crop_tensor(p), proto.crop_tensor(g)
        m = None if m is None else proto.crop_tensor(m)
        if self.alignment is Alignment.NONE and self.output_space is OutputSpace.METRIC_DEPTH:
            # the caps are applied block by block inside image_statistics: no full-size torch
            # op, whose threads stall on a busy machine
            stats = image_statistics(
                p, g, m, min_depth=proto.min_depth, max_depth=proto.max_depth, clamp=proto.clamp
            )
            return stats, None
        valid = proto.valid_mask(g, m)
        depth, fit = align(p, g, valid, self.alignment, self.output_space)
        scales = None
        if self.alignment is not Alignment.NONE:
            scales = fit.scale[valid.flatten(1).any(1)]
        return image_statistics(depth, g, valid, clamp=proto.clamp), scales

    def _score_pairs(self, pred, sample: Sample | None) -> PairCounts:
        if sample is None or sample.pairs is None or sample.relations is None:
            raise ValueError(f"protocol {self.protocol.name!r} needs samples with pairs/relations")
        return whdr_counts(
            pred, sample.pairs, sample.relations, disparity=self.output_space.is_disparity_like
        )

    def settings(self) -> dict[str, Any]:
        """The run settings recorded with the result."""
        return {
            "alignment": self.alignment.value,
            "output_space": self.output_space.value,
            "reduction": self.reduction,
        }

    def result(self, **settings: Any) -> EvalResult:
        """Aggregate what was added.

        Args:
            **settings: further settings to record (prediction folder, resizing, ...).

        Raises:
            ValueError: nothing was added, or no image had a valid pixel (or pair).
        """
        if not self._ids:
            raise ValueError("no images were added")
        all_settings = self.settings() | settings
        if self.protocol.task == "ordinal":
            if self._pairs.total == 0:
                raise ValueError("no annotated pairs were scored")
            metrics = {"whdr": self._pairs.wrong / self._pairs.total}
            extras = {"n_pairs": float(self._pairs.total)}
            return EvalResult(
                self.protocol, metrics, len(self._ids), settings=all_settings, extras=extras
            )
        summary = summarise(torch.cat(self._stats), self.reduction, self.protocol.metrics)
        extras: dict[str, float] = {}
        if self._scales:
            # monodepth2 prints median(ratios) and std(ratios / median) as a scale diagnostic.
            scales = torch.cat(self._scales)[None]
            median = masked_median(scales, torch.ones_like(scales, dtype=torch.bool))
            spread = (scales / median[:, None]).std(correction=0)
            extras = {"scale_median": float(median[0]), "scale_std_rel": float(spread)}
        return EvalResult(
            self.protocol,
            summary.metrics,
            summary.n_images,
            excluded_ids=tuple(self._ids[i] for i in summary.excluded),
            settings=all_settings,
            extras=extras,
        )
