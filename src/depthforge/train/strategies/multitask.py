"""Depth, surface normals and semantic labels from one network: Eigen & Fergus 2015 (ICCV),
"Predicting Depth, Surface Normals and Semantic Labels with a Common Multi-Scale Convolutional
Architecture", §3.2–3.4.

The model returns a :class:`~depthforge.models.eigen2015.MultiTaskOutput` (each head at its own
resolution, half the input for Eigen 2015). Every target is resampled to its head's size by
nearest pixel centre (values and validity are never interpolated), and the loss is the weighted
sum of the per-task terms

* depth (§3.2): :func:`~depthforge.losses.eigen_gradient_loss`, scale-invariant term (λ = 0.5)
  plus log-gradient matching, on log depth;
* normals (§3.3): ``(1/n) Σ_i (1 − N_i · N*_i)`` over the ``n`` pixels with a ground-truth normal,
  both unit length. The paper writes ``−(1/n) Σ N·N*``; the constant 1 changes no gradient and
  makes the term 0 for a perfect prediction and 2 for an opposite one;
* labels (§3.4): pixelwise cross-entropy ``−(1/n) Σ_i log softmax(z_i)[c*_i]`` over the ``n``
  pixels with a valid label.

Task weights are fixed numbers from ``loss.kwargs`` (1 each by default): the "PAD-Net style"
weighting of a multi-task sum with constant per-task weights (Xu et al. 2018), not learned ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from depthforge.data.collate import Batch
from depthforge.errors import DepthforgeError
from depthforge.models.predict import resize
from depthforge.train.strategies.common import convert_prediction, target_at
from depthforge.train.strategies.registry import register_strategy
from depthforge.types import OutputSpace

TASKS = ("depth", "normals", "labels")
MULTITASK_LOSSES = ("eigen2015",)
"""Loss names a multi-task recipe may use (``loss.name``)."""
IGNORE_INDEX = -100
"""Label value ignored by the cross-entropy (torch's default ``ignore_index``)."""


def nearest_at(target: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``(B, C, H, W)`` map (float or integer) resampled to ``(h, w)`` by nearest pixel centre
    (``nearest-exact``, as :func:`~depthforge.train.strategies.supervised.target_at`); the dtype
    is kept (integer labels up to 2²⁴ are exact through float32)."""
    if tuple(target.shape[-2:]) == tuple(size):
        return target
    out = F.interpolate(target.float(), size=size, mode="nearest-exact")
    return out.round().to(target.dtype) if not target.is_floating_point() else out


def network_input(model: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    """``images`` stretched to the input size of a fixed-size model (fully connected layers, as
    Eigen 2015's scale 1), as :func:`~depthforge.models.predict.predict` does; unchanged for any
    other model. The targets keep their resolution and are resampled to each head's output."""
    bare = getattr(model, "module", model)  # DistributedDataParallel wraps the model
    if not getattr(bare, "fixed_input_size", False):
        return images
    return resize(images, tuple(bare.config.input_size))


def normals_loss(
    pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor | None = None
) -> torch.Tensor:
    """Eigen & Fergus 2015, §3.3 normals loss (shifted by 1): ``(1/n) Σ_i (1 − N_i · N*_i)``.

    Args:
        pred: ``(B, 3, H, W)`` predicted normals; normalised to unit length here.
        target: ``(B, 3, H, W)`` ground-truth unit normals (a zero vector = no normal).
        valid: ``(B, 1, H, W)`` or ``(B, H, W)`` bool; default: pixels whose target has length
            > 0.5. The given mask is combined with that test.

    Returns:
        Scalar in [0, 2]: n pooled over the batch; 0 (with a graph) when no pixel is valid.
    """
    pred = F.normalize(pred.float(), dim=1)
    target = target.float()
    has_normal = target.norm(dim=1) > 0.5
    if valid is not None:
        has_normal = has_normal & (valid[:, 0] if valid.ndim == 4 else valid)
    n = has_normal.sum()
    if n == 0:
        return pred.sum() * 0.0
    cosine = (pred * target).sum(dim=1)
    return ((1.0 - cosine) * has_normal).sum() / n


def labels_loss(
    logits: torch.Tensor, labels: torch.Tensor, ignore_label: int | None = None
) -> torch.Tensor:
    """Eigen & Fergus 2015, §3.4: pixelwise cross-entropy averaged over the valid pixels.

    Args:
        logits: ``(B, C, H, W)`` class scores.
        labels: ``(B, H, W)`` integer classes; values outside ``[0, C)`` and ``ignore_label``
            are ignored.
        ignore_label: a class id to ignore (e.g. 0 = "unlabeled" in NYU's 40-class maps).

    Returns:
        Scalar (torch's ``cross_entropy`` with ``ignore_index``); 0 when nothing is valid.
    """
    labels = labels.long()
    invalid = (labels < 0) | (labels >= logits.shape[1])
    if ignore_label is not None:
        invalid |= labels == ignore_label
    if bool(invalid.all()):
        return logits.sum() * 0.0
    target = labels.masked_fill(invalid, IGNORE_INDEX)
    return F.cross_entropy(logits.float(), target, ignore_index=IGNORE_INDEX)


@dataclass
class MultiTask:
    """Weighted sum of the Eigen & Fergus 2015 depth, normals and labels losses.

    A task enters the loss when the model outputs it and its weight is non-zero; its target must
    then be in the batch (``depth``/``mask``, ``normals``, ``labels``), otherwise the call fails
    naming the task (a head is never left untrained silently).

    Args:
        output_space: the space of the depth head (``LOG_DEPTH`` for Eigen 2015).
        weights: ``{task: weight}`` for depth, normals, labels.
        lam: λ of the depth loss's scale-invariant term (0.5 in the paper).
        ignore_label: a label id excluded from the cross-entropy (None: only out-of-range ids).
    """

    output_space: OutputSpace
    weights: dict[str, float] = field(default_factory=lambda: dict.fromkeys(TASKS, 1.0))
    lam: float = 0.5
    ignore_label: int | None = None

    def task_loss(self, task: str, pred: torch.Tensor, batch: Batch) -> torch.Tensor:
        """The unweighted loss of one task with its target at ``pred``'s resolution."""
        from depthforge.losses import eigen_gradient_loss

        size = tuple(pred.shape[-2:])
        if task == "depth":
            gt, mask = target_at(batch.depth, batch.mask, size)
            log_pred = convert_prediction(pred, self.output_space, OutputSpace.LOG_DEPTH)
            return eigen_gradient_loss(log_pred, gt, mask, lam=self.lam, input_space="log_depth")
        target = getattr(batch, task)
        if target is None:
            raise DepthforgeError(
                f"the model predicts {task} but the batch has no {task}; give the data {task} "
                f"or set loss.kwargs.weights.{task}: 0"
            )
        if task == "normals":
            return normals_loss(pred, nearest_at(target, size))
        return labels_loss(pred, nearest_at(target[:, None], size)[:, 0], self.ignore_label)

    def __call__(
        self, model: torch.nn.Module, batch: Batch
    ) -> tuple[torch.Tensor, dict[str, float]]:
        output = model(network_input(model, batch.image))
        total: torch.Tensor | None = None
        logs: dict[str, float] = {}
        for task in TASKS:
            pred = getattr(output, task, None)
            weight = float(self.weights.get(task, 0.0))
            if pred is None or weight == 0.0:
                continue
            term = self.task_loss(task, pred, batch)
            logs[f"loss_{task}"] = float(term.detach())
            total = weight * term if total is None else total + weight * term
        if total is None:
            raise DepthforgeError(
                f"no task to train: the model outputs none of {TASKS} with a non-zero weight"
            )
        return total, logs


@register_strategy("multitask", losses=MULTITASK_LOSSES, label="multi-task")
def build_multitask(
    loss_name: str, loss_kwargs: dict[str, Any], output_space: OutputSpace
) -> MultiTask:
    """The multi-task strategy (``strategy: multitask``, ``loss.name: eigen2015``).

    ``loss_kwargs``: ``weights`` (``{depth, normals, labels}``, missing ones 1), ``lam`` (0.5),
    ``ignore_label`` (None).
    """
    kwargs = dict(loss_kwargs)
    weights = dict.fromkeys(TASKS, 1.0)
    given = kwargs.pop("weights", None) or {}
    unknown = set(given) - set(TASKS)
    if unknown:
        raise DepthforgeError(f"unknown task weights {sorted(unknown)}; tasks: {', '.join(TASKS)}")
    weights.update({k: float(v) for k, v in given.items()})
    known = {"lam", "ignore_label"}
    if set(kwargs) - known:
        raise DepthforgeError(
            f"unknown multi-task loss kwargs {sorted(set(kwargs) - known)}; "
            f"known: weights, {', '.join(sorted(known))}"
        )
    return MultiTask(output_space, weights, **kwargs)
