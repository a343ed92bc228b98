"""Validation image panels for TensorBoard: RGB | prediction | ground truth | error map.

:func:`validation_panels` predicts a few validation samples and draws each as one ``(H, W, 3)``
uint8 picture with :mod:`depthforge.viz`; ``RunLogger.images`` writes them to TensorBoard. The
prediction and the ground truth share one display range (the ground truth's 2nd–98th
percentiles, :func:`depthforge.viz.depth_range`) so equal colours mean equal metres; the error
map is the absolute relative error ``|p − g| / g`` over ``[0, 0.5]``
(:func:`depthforge.viz.error_map`), dark grey where the ground truth is invalid.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from depthforge.types import OutputSpace
from depthforge.viz import depth_preview, depth_range, error_map, hstack

DEFAULT_ALIGN = {
    OutputSpace.METRIC_DEPTH: "none",
    OutputSpace.LOG_DEPTH: "none",
    OutputSpace.SCALE_INVARIANT_DEPTH: "median",
    OutputSpace.AFFINE_INVARIANT_DEPTH: "scale_shift",
    OutputSpace.AFFINE_INVARIANT_DISPARITY: "scale_shift_disparity",
}
"""How a prediction of each output space is made metric for display (per image, fitted on the
valid ground truth; see :func:`depthforge.eval.align.align`)."""

PANEL_PREFIX = "val_panels"
"""TensorBoard tag prefix of the panels."""


def panel_indices(length: int, count: int) -> list[int]:
    """``count`` sample indices spread evenly over ``range(length)`` (the same ones at every
    validation, so the panels of one tag show the same frame over training)."""
    count = min(max(count, 0), length)
    if count == 0:
        return []
    return sorted({int(i) for i in np.linspace(0, length - 1, count).round()})


def sample_panel(
    image: torch.Tensor, pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor
) -> np.ndarray:
    """One panel from ``image (3, H, W)`` in [0, 1], metric ``pred`` / ``gt`` ``(1, H, W)``
    (metres) and ``mask (1, H, W)``: ``(H, 4·W + 2·72 + 3·4, 3)`` uint8 (two depth previews carry
    a 72-pixel legend; 4-pixel white gaps)."""
    rgb = (image.detach().cpu().clamp(0, 1).permute(1, 2, 0).numpy() * 255).round()
    valid = mask[0].detach().cpu().numpy().astype(bool)
    g = np.where(valid, gt[0].detach().cpu().numpy().astype(np.float64), 0.0)
    p = pred[0].detach().cpu().numpy().astype(np.float64)
    near, far = depth_range(g, valid)
    return hstack(
        [
            rgb.astype(np.uint8),
            depth_preview(p, near, far),
            depth_preview(g, near, far),
            error_map(p, g, valid),
        ]
    )


@torch.no_grad()
def validation_panels(
    model: torch.nn.Module, dataset: Dataset, count: int = 4, align: str | None = None
) -> dict[str, np.ndarray]:
    """Panels of ``count`` validation samples: ``{"val_panels/<index>_<sample id>": panel}``.

    Args:
        model: a depth model (any output space; non-metric predictions are aligned to the
            ground truth per image for display, see :data:`DEFAULT_ALIGN`).
        dataset: map-style dataset of :class:`~depthforge.types.Sample` with dense depth.
        count: how many samples (spread evenly over the data set).
        align: alignment mode overriding :data:`DEFAULT_ALIGN`.

    Returns:
        One ``(H, 4·W + 156, 3)`` uint8 panel per sample (``H × W`` = the sample's size):
        RGB | prediction | ground truth | error map. The model's train/eval mode is restored.
    """
    from depthforge.eval.align import align as align_fn
    from depthforge.models.predict import predict

    space = model.output_space
    mode = align or DEFAULT_ALIGN[space]
    panels: dict[str, np.ndarray] = {}
    for i in panel_indices(len(dataset), count):
        sample = dataset[i]
        image = sample.image[None]
        pred = predict(model, image.to(next(model.parameters()).device)).depth.cpu()
        gt, mask = sample.depth[None].float(), sample.mask[None].bool()
        space_now = OutputSpace.METRIC_DEPTH if space is OutputSpace.LOG_DEPTH else space
        metric, _ = align_fn(pred, gt, mask, mode, space_now)
        metric = torch.nan_to_num(metric.float(), nan=0.0, posinf=0.0)
        panels[f"{PANEL_PREFIX}/{i}_{sample.id}"] = sample_panel(
            sample.image, metric[0], gt[0], mask[0]
        )
    return panels
