"""Dense depth metrics: the Eigen-style set, the KITTI devkit set and KITTI depth completion.

The Eigen-style metrics (the evaluation metrics of Eigen et al. NIPS 2014, as implemented by
monodepth2 ``evaluate_depth.py::compute_errors``, BTS ``bts_main.py::compute_errors`` and AdaBins
``evaluate.py::compute_errors``) over the valid pixel set V of one image, N = |V|,
g = ground truth, p = prediction (metres):

=========  ===================================================================
abs_rel    mean |g − p| / g
sq_rel     mean (g − p)² / g                 (divides by g, not g²)
rmse       sqrt(mean (g − p)²)               (metres)
rmse_log   sqrt(mean (ln g − ln p)²)         (natural log)
log10      mean |log10 g − log10 p|           (computed as mean |ln g − ln p| / ln 10)
silog      100 · sqrt(mean e² − (mean e)²),  e = ln p − ln g   (BTS/AdaBins, λ = 1)
d1..d3     mean [max(g/p, p/g) < 1.25^k]     (strict ``<``; a fraction, not a percentage)
=========  ===================================================================

Everything is computed in float64 from the inputs' exact values (float32 inputs are widened
after the clamp, see :mod:`depthforge.eval.pixel_sums`) as per-image sufficient statistics (sums
over V), and both aggregations come from the same sums:
``reduction="image"`` averages per-image metrics over images (monodepth2, BTS, AdaBins);
``reduction="pixel"`` pools the sums of all images first (FCRN ``error_metrics.m``).
An image without a valid pixel is excluded from the mean and reported, never turned into NaN.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch

from depthforge.eval.pixel_sums import SUMS, batch_sums
from depthforge.eval.protocols import (
    DEPTH_METRICS,
    Protocol,
    Reduction,
    depth_valid_mask,
    get_protocol,
)
from depthforge.threads import choose_threads

# Columns of the per-image statistics table built by ``image_statistics``.
STATISTICS = SUMS
_COL = {name: i for i, name in enumerate(STATISTICS)}


class NoValidPixelError(ValueError):
    """No image of an evaluation has a ground-truth pixel inside the protocol's caps and crop."""


def as_depth_batch(x, name: str) -> torch.Tensor:
    """``(H, W)``, ``(1, H, W)`` or ``(B, 1, H, W)`` torch/NumPy → ``(B, 1, H, W)`` tensor (no copy).

    Raises:
        ValueError: any other shape, naming the argument.
    """
    t = torch.from_numpy(np.asarray(x)) if not isinstance(x, torch.Tensor) else x
    if t.ndim == 2:
        return t[None, None]
    if t.ndim == 3 and t.shape[0] == 1:
        return t[None]
    if t.ndim == 4 and t.shape[1] == 1:
        return t
    raise ValueError(
        f"{name} must be (H, W), (1, H, W) or (B, 1, H, W), got shape {tuple(t.shape)}"
    )


def prepare(pred, gt, mask=None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Check and reshape ``pred``, ``gt`` and ``mask`` to matching ``(B, 1, H, W)`` tensors."""
    p = as_depth_batch(pred, "pred")
    g = as_depth_batch(gt, "gt")
    if p.shape != g.shape:
        raise ValueError(f"pred {tuple(p.shape)} and gt {tuple(g.shape)} differ in shape")
    m = None
    if mask is not None:
        m = as_depth_batch(mask, "mask")
        if m.shape != g.shape:
            raise ValueError(f"mask {tuple(m.shape)} and gt {tuple(g.shape)} differ in shape")
        m = m.to(torch.bool)
    return p, g, m


def _raise_on_bad_prediction(pred: torch.Tensor, valid: torch.Tensor) -> None:
    bad = valid & ~(torch.isfinite(pred) & (pred > 0))
    if not bool(bad.any()):
        raise ValueError("metric sums overflowed: predictions or ground truth are too large")
    raise ValueError(
        f"{int(bad.sum())} predicted depths inside the valid set are ≤ 0 or not finite; "
        "their log is undefined. Score under a protocol that clamps predictions "
        "(e.g. protocol='nyu_eigen') or clamp them yourself"
    )


def _as_arrays(pred: torch.Tensor, gt: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """``(B, H, W)`` NumPy views of ``pred`` and ``gt``: both float32 when both are float32,
    float16 or bfloat16 (exact), otherwise both float64 (copies)."""
    p, g = pred.detach().cpu()[:, 0], gt.detach().cpu()[:, 0]
    narrow = (torch.float32, torch.float16, torch.bfloat16)
    dtype = torch.float32 if p.dtype in narrow and g.dtype in narrow else torch.float64
    return p.to(dtype).numpy(), g.to(dtype).numpy()


def image_statistics(
    pred: torch.Tensor,
    gt: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    min_depth: float | None = None,
    max_depth: float | None = None,
    clamp: tuple[float, float] | None = None,
) -> torch.Tensor:
    """Per-image sufficient statistics of the Eigen-style metrics, in float64.

    The valid set is ``mask ∧ finite(g) ∧ g > 0 ∧ min_depth < g < max_depth``
    (:func:`~depthforge.eval.protocols.depth_valid_mask`).

    Each image is scored in blocks of whole rows by :func:`~depthforge.eval.pixel_sums.batch_sums`
    (single-threaded NumPy operations on at most 2¹⁶ pixels), and one Python thread per
    available core (``DEPTHFORGE_THREADS`` when set) scores its share of the images (NumPy
    releases the GIL inside each operation), whatever ``torch.get_num_threads()`` is. Per-op OpenMP parallelism stalls badly
    when other processes hold the cores; independent images do not
    (``benchmarks/threads_under_load.py``, ``benchmarks/RESULTS.md``). Tensors on another
    device are copied to the CPU.

    Args:
        pred: ``(B, 1, H, W)`` predicted metric depth, metres (any float dtype; may be a view).
        gt: ``(B, 1, H, W)`` ground-truth depth, metres.
        mask: optional ``(B, 1, H, W)`` bool.
        min_depth, max_depth: strict GT caps in metres (``None`` = none).
        clamp: optional ``(lo, hi)`` applied to ``pred`` first (NaN → lo, ±inf → hi/lo), in the
            prediction's own precision as the references clamp their arrays (float32 lo = 1e-3
            is 1.00000005e-3).

    Returns:
        ``(B, len(STATISTICS))`` float64: per image the valid count and the sums of
        |g−p|/g, (g−p)²/g, (g−p)², e², e, |e| (e = ln p − ln g) and the δ-hit counts.

    Raises:
        ValueError: a prediction inside the valid set is ≤ 0 or not finite (after ``clamp``).
    """
    shapes = [tuple(t.shape) for t in (pred, gt) + (() if mask is None else (mask,))]
    if len(set(shapes)) != 1 or pred.ndim != 4 or pred.shape[1] != 1:
        raise ValueError(f"pred, gt (and mask) must share a (B, 1, H, W) shape, got {shapes}")
    batch = pred.shape[0]
    if batch == 0:
        return torch.zeros((0, len(STATISTICS)), dtype=torch.float64, device=pred.device)
    p, g = _as_arrays(pred, gt)
    m = None if mask is None else mask.detach().cpu()[:, 0].to(torch.bool).numpy()
    real = p.dtype.type
    caps = (real(max(0.0, min_depth or 0.0)), real(math.inf if max_depth is None else max_depth))
    bounds = None if clamp is None else (real(clamp[0]), real(clamp[1]))
    # one worker per core, or DEPTHFORGE_THREADS; not fewer under load (independent images
    # do not wait for each other as an op's threads do)
    workers = min(batch, choose_threads(load=0.0))

    def score(first: int) -> np.ndarray:
        return batch_sums(p, g, m, caps, bounds, range(first, batch, workers))

    if workers == 1:
        parts = [score(0)]
    else:
        with ThreadPoolExecutor(workers) as pool:
            parts = list(pool.map(score, range(workers)))
    stats = np.empty((batch, len(STATISTICS)))
    for first, part in enumerate(parts):
        stats[first::workers] = part
    # p ≤ 0, NaN or inf inside the valid set makes a log or a square non-finite: check the sums
    # rather than every pixel, and find the culprits only on that slow path.
    finite = np.isfinite(stats).all(1)
    if not finite.all():
        i = int(np.flatnonzero(~finite)[0])
        bad = pred[i] if clamp is None else torch.nan_to_num(pred[i], nan=clamp[0]).clamp(*clamp)
        m_i = None if mask is None else mask[i]
        _raise_on_bad_prediction(bad, depth_valid_mask(gt[i], m_i, min_depth, max_depth))
    return torch.from_numpy(stats).to(pred.device)


def metrics_from_statistics(stats: torch.Tensor) -> dict[str, torch.Tensor]:
    """Metric values ``(M,)`` from statistics rows ``(M, len(STATISTICS))`` with count > 0."""
    n = stats[:, _COL["count"]]
    mean_log = stats[:, _COL["log_sum"]] / n
    log_var = (stats[:, _COL["log_sq"]] / n - mean_log * mean_log).clamp_min(0.0)
    return {
        "abs_rel": stats[:, _COL["abs_rel"]] / n,
        "sq_rel": stats[:, _COL["sq_rel"]] / n,
        "rmse": torch.sqrt(stats[:, _COL["sq_err"]] / n),
        "rmse_log": torch.sqrt(stats[:, _COL["log_sq"]] / n),
        # |log10 g − log10 p| = |ln g − ln p| / ln 10
        "log10": stats[:, _COL["log_abs"]] / n / math.log(10.0),
        # BTS / AdaBins: 100·sqrt(mean e² − (mean e)²); clamp guards a −1e−17 rounding residue.
        "silog": 100.0 * torch.sqrt(log_var),
        "d1": stats[:, _COL["d1"]] / n,
        "d2": stats[:, _COL["d2"]] / n,
        "d3": stats[:, _COL["d3"]] / n,
    }


@dataclass(frozen=True)
class MetricSummary:
    """Aggregated metrics of a set of images.

    Attributes:
        metrics: metric name → value (float).
        n_images: images that contributed (had at least one valid pixel).
        excluded: indices (into the statistics rows) of images without a valid pixel.
    """

    metrics: dict[str, float]
    n_images: int
    excluded: tuple[int, ...]


def summarise(
    stats: torch.Tensor, reduction: Reduction = "image", keys: tuple[str, ...] = DEPTH_METRICS
) -> MetricSummary:
    """Aggregate per-image statistics (from :func:`image_statistics`) into metrics.

    Args:
        stats: ``(B, len(STATISTICS))`` float64.
        reduction: ``"image"``: mean over images of per-image metrics; ``"pixel"``: metrics of
            the pooled sums (every valid pixel of every image weighs the same).
        keys: metric names to report.

    Raises:
        ValueError: no image has a valid pixel, or an unknown reduction / key.
    """
    unknown = [k for k in keys if k not in DEPTH_METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; known: {', '.join(DEPTH_METRICS)}")
    has_pixels = stats[:, _COL["count"]] > 0
    excluded = tuple(int(i) for i in torch.nonzero(~has_pixels).flatten())
    kept = stats[has_pixels]
    if kept.shape[0] == 0:
        raise NoValidPixelError(f"no valid ground-truth pixel in any of the {stats.shape[0]} images")
    if reduction == "image":
        per_image = metrics_from_statistics(kept)
        values = {k: float(per_image[k].mean()) for k in keys}
    elif reduction == "pixel":
        pooled = metrics_from_statistics(kept.sum(0, keepdim=True))
        values = {k: float(pooled[k][0]) for k in keys}
    else:
        raise ValueError(f"reduction must be 'image' or 'pixel', got {reduction!r}")
    return MetricSummary(values, int(kept.shape[0]), excluded)


def compute_metrics(
    pred,
    gt,
    mask=None,
    *,
    protocol: str | Protocol | None = None,
    reduction: Reduction | None = None,
) -> dict[str, float]:
    """Eigen-style depth metrics of metric-depth predictions (see the module docstring).

    Args:
        pred: predicted metric depth in metres, torch or NumPy, ``(H, W)``, ``(1, H, W)`` or
            ``(B, 1, H, W)``. Align relative predictions first (:mod:`depthforge.eval.align`).
        gt: ground-truth depth in metres, same shape; ``0``/non-finite = invalid.
        mask: optional boolean validity, same shape.
        protocol: a protocol (or its name) whose crop, depth caps, prediction clamp, metric set
            and reduction apply. Without one the valid set is ``mask ∧ g > 0 ∧ finite(g)``,
            nothing is clamped and all nine metrics are returned.
        reduction: ``"image"`` (mean of per-image metrics, the default without a protocol) or
            ``"pixel"`` (pooled, FCRN style); overrides the protocol's.

    Returns:
        ``{"abs_rel", "sq_rel", "rmse", "rmse_log", "log10", "silog", "d1", "d2", "d3"}``
        (or the protocol's subset) → float. Images without a valid pixel are left out of the
        mean; :class:`~depthforge.eval.evaluator.Evaluator` reports them.

    Raises:
        ValueError: mismatched shapes; no valid pixel at all; a prediction ≤ 0 or non-finite in
            the valid set while no protocol clamp applies.

    Example:
        >>> compute_metrics([[1.0, 2.0]], [[1.0, 2.5]])["abs_rel"]  # (0 + 0.5/2.5) / 2
        0.1
    """
    p, g, m = prepare(pred, gt, mask)
    if protocol is None:
        return summarise(image_statistics(p, g, m), reduction or "image").metrics
    proto = get_protocol(protocol)
    if proto.task != "depth":
        raise ValueError(f"protocol {proto.name!r} scores ordinal pairs; use depthforge.eval.whdr")
    p, g = proto.crop_tensor(p), proto.crop_tensor(g)
    m = None if m is None else proto.crop_tensor(m)
    stats = image_statistics(
        p, g, m, min_depth=proto.min_depth, max_depth=proto.max_depth, clamp=proto.clamp
    )
    return summarise(stats, reduction or proto.reduction, proto.metrics).metrics


def _valid_pairs(pred, gt, mask) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Float64 ``(B, 1, H, W)`` pred and gt with invalid pixels set to 1, and the valid mask."""
    p, g, m = prepare(pred, gt, mask)
    valid = depth_valid_mask(g, m)
    p = p.to(torch.float64)
    g = g.to(torch.float64)
    bad = valid & ~(torch.isfinite(p) & (p > 0))
    if bool(bad.any()):
        raise ValueError(
            f"{int(bad.sum())} predicted depths inside the valid set are ≤ 0 or not finite "
            "(the KITTI devkit requires dense positive predictions)"
        )
    one = torch.ones((), dtype=torch.float64, device=p.device)
    return torch.where(valid, p, one), torch.where(valid, g, one), valid


def _per_image_mean(values: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """``(B,)`` mean of ``values`` over each image's valid pixels (NaN-free: needs count > 0)."""
    return values.sum((1, 2, 3)) / valid.sum((1, 2, 3))


def _mean_over_images(per_image: dict[str, torch.Tensor], valid: torch.Tensor) -> dict[str, float]:
    has = valid.flatten(1).any(1)
    if not bool(has.any()):
        raise NoValidPixelError("no valid ground-truth pixel in any image")
    return {k: float(v[has].mean()) for k, v in per_image.items()}


def compute_kitti_devkit_metrics(pred, gt, mask=None) -> dict[str, float]:
    """The KITTI depth-prediction devkit metrics (``evaluate_depth.cpp::depthError``).

    Computed per image over the valid GT pixels (no crop, no cap, no δ), then averaged over
    images (the devkit's ``statMean``). Values are scaled as the leaderboard prints them:

    ==========  ============================================================  ========
    mae         mean |g − p|                                                  m
    rmse        sqrt(mean (g − p)²)                                           m
    imae        mean |1/g − 1/p| · 1000                                       1/km
    irmse       sqrt(mean (1/g − 1/p)²) · 1000                                1/km
    log_mae     mean |ln g − ln p|
    log_rmse    sqrt(mean (ln g − ln p)²)
    silog       sqrt(mean d² − (mean d)²) · 100, d = ln g − ln p              log(m)·100
    abs_rel     mean |g − p| / g · 100                                        %
    sq_rel      mean (g − p)² / g² · 100  (divides by g², unlike Eigen)       %
    ==========  ============================================================  ========

    Deviations: float64 instead of the devkit's single-precision accumulators; predictions
    must already be dense (the devkit fills gaps with ``interpolateBackground``).

    Args:
        pred, gt, mask: as :func:`compute_metrics` (metres).
    """
    p, g, valid = _valid_pairs(pred, gt, mask)
    err = (g - p).abs()
    inv_err = (1.0 / g - 1.0 / p).abs()
    log_err = torch.log(g) - torch.log(p)
    mean_log = _per_image_mean(log_err, valid)
    per_image = {
        "mae": _per_image_mean(err, valid),
        "rmse": _per_image_mean(err * err, valid).sqrt(),
        "imae": _per_image_mean(inv_err, valid) * 1000.0,
        "irmse": _per_image_mean(inv_err * inv_err, valid).sqrt() * 1000.0,
        "log_mae": _per_image_mean(log_err.abs(), valid),
        "log_rmse": _per_image_mean(log_err * log_err, valid).sqrt(),
        "silog": (_per_image_mean(log_err * log_err, valid) - mean_log**2).clamp_min(0).sqrt()
        * 100.0,
        "abs_rel": _per_image_mean(err / g, valid) * 100.0,
        "sq_rel": _per_image_mean(err * err / (g * g), valid) * 100.0,
    }
    return _mean_over_images(per_image, valid)


def compute_completion_metrics(pred, gt, mask=None) -> dict[str, float]:
    """KITTI depth-completion benchmark metrics (Uhrig et al. 3DV 2017), per image then mean.

    ``rmse``/``mae`` in millimetres, ``irmse``/``imae`` in 1/km, over the valid GT pixels.

    Args:
        pred, gt, mask: as :func:`compute_metrics` (metres; predictions dense and positive).
    """
    p, g, valid = _valid_pairs(pred, gt, mask)
    err = (g - p).abs()
    inv_err = (1.0 / g - 1.0 / p).abs()
    per_image = {
        "rmse": _per_image_mean(err * err, valid).sqrt() * 1000.0,
        "mae": _per_image_mean(err, valid) * 1000.0,
        "irmse": _per_image_mean(inv_err * inv_err, valid).sqrt() * 1000.0,
        "imae": _per_image_mean(inv_err, valid) * 1000.0,
    }
    return _mean_over_images(per_image, valid)
