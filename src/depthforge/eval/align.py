"""Aligning relative predictions to metric ground truth before scoring, per image.

Modes (solved over each image's valid set V, in float64):

* ``none``: no alignment; only metric predictions may be scored this way.
* ``median``: p ← p · median(g_V) / median(p_V), NumPy-style medians (monodepth2
  ``evaluate_depth.py``, Zhou et al. 2017).
* ``scale``: p ← s·p with s = argmin Σ_V (s·p − g)² = Σ p g / Σ p².
* ``scale_shift``: p ← s·p + t, least squares in depth space.
* ``scale_disparity``: 1/p ← s·x, least squares against 1/g.
* ``scale_shift_disparity``: 1/p ← s·x + t, least squares against 1/g (MiDaS, Ranftl et al.
  TPAMI 2020; closed form as in its ``compute_scale_and_shift``).

In the disparity modes ``x`` is the prediction itself when it is disparity-like
(``affine_invariant_disparity``) and ``1/p`` when it is depth-like. The least-squares problems
use the normal equations of MiDaS ``compute_scale_and_shift``; when their determinant is not
positive (fewer than two distinct values) s = t = 0, as MiDaS does. An aligned disparity that is
≤ 0 has no finite depth: it becomes ``+inf``, which a protocol clamp turns into its maximum depth
(and which is an error under a protocol without a clamp).

Which output spaces accept which modes (anything else raises
:class:`~depthforge.errors.OutputSpaceError` explaining the fix):

* ``metric_depth``, ``log_depth`` (exponentiated first): every mode, ``none`` by default;
* ``scale_invariant_depth``: every mode but ``none``;
* ``affine_invariant_depth``: ``scale_shift`` only (a scale alone cannot undo a shift);
* ``affine_invariant_disparity``: ``scale_shift_disparity`` only (the shift lives in disparity);
* ``ordinal``: none (score it with WHDR, :mod:`depthforge.eval.ordinal`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import torch

from depthforge.errors import OutputSpaceError, UnknownNameError
from depthforge.geometry.fit import least_squares_scale_shift, masked_median
from depthforge.types import OutputSpace


class Alignment(str, Enum):
    """How a prediction is fitted to the ground truth before scoring."""

    NONE = "none"
    MEDIAN = "median"
    SCALE = "scale"
    SCALE_SHIFT = "scale_shift"
    SCALE_DISPARITY = "scale_disparity"
    SCALE_SHIFT_DISPARITY = "scale_shift_disparity"

    @property
    def in_disparity(self) -> bool:
        """True when the fit is made in inverse-depth space."""
        return self in (Alignment.SCALE_DISPARITY, Alignment.SCALE_SHIFT_DISPARITY)


ALLOWED: dict[OutputSpace, tuple[Alignment, ...]] = {
    OutputSpace.METRIC_DEPTH: tuple(Alignment),
    OutputSpace.LOG_DEPTH: tuple(Alignment),
    OutputSpace.SCALE_INVARIANT_DEPTH: tuple(a for a in Alignment if a is not Alignment.NONE),
    OutputSpace.AFFINE_INVARIANT_DEPTH: (Alignment.SCALE_SHIFT,),
    OutputSpace.AFFINE_INVARIANT_DISPARITY: (Alignment.SCALE_SHIFT_DISPARITY,),
    OutputSpace.ORDINAL: (),
}


def check_alignment(
    mode: str | Alignment, space: str | OutputSpace
) -> tuple[Alignment, OutputSpace]:
    """Parse ``mode`` and ``space`` and refuse combinations that would mix spaces silently.

    Raises:
        ValueError: unknown mode or space name.
        OutputSpaceError: the mode cannot turn a ``space`` prediction into metric depth.
    """
    try:
        mode = Alignment(mode)
    except ValueError:
        raise UnknownNameError("alignment", mode, [a.value for a in Alignment]) from None
    try:
        space = OutputSpace(space)
    except ValueError:
        raise UnknownNameError("output space", space, [s.value for s in OutputSpace]) from None
    allowed = ALLOWED[space]
    if mode not in allowed:
        if not allowed:
            fix = "ordinal predictions carry only an order: score them with WHDR (protocol 'diw')"
        else:
            fix = f"align it with {' or '.join(repr(a.value) for a in allowed)}"
        raise OutputSpaceError(
            f"a {space.value!r} prediction cannot be scored against metric depth with "
            f"alignment {mode.value!r}: {fix}"
        )
    return mode, space


@dataclass(frozen=True)
class AlignmentFit:
    """The per-image parameters an alignment found.

    Attributes:
        scale: ``(B,)`` float64 (1 for ``none``).
        shift: ``(B,)`` float64 (0 for ``none``, ``median`` and ``scale``); in disparity units
            for the disparity modes, metres otherwise.
    """

    scale: torch.Tensor
    shift: torch.Tensor


def align(
    pred,
    gt,
    valid,
    mode: str | Alignment = Alignment.NONE,
    output_space: str | OutputSpace = OutputSpace.METRIC_DEPTH,
) -> tuple[torch.Tensor, AlignmentFit]:
    """Turn a prediction into metric depth by fitting it to ``gt`` on ``valid``, per image.

    Args:
        pred: ``(B, 1, H, W)`` prediction in ``output_space`` (depth, log depth or disparity).
        gt: ``(B, 1, H, W)`` metric ground-truth depth, metres.
        valid: ``(B, 1, H, W)`` bool, the pixels the fit uses (the protocol's valid set).
        mode: see the module docstring.
        output_space: what ``pred`` means.

    Returns:
        ``(depth, fit)``: ``(B, 1, H, W)`` float64 metric depth in metres (``+inf`` where an
        aligned disparity is ≤ 0), and the per-image parameters.

    Raises:
        OutputSpaceError: ``mode`` cannot make a metric prediction out of ``output_space``.

    Example:
        >>> gt = torch.tensor([[[[1.0, 2.0], [4.0, 8.0]]]])
        >>> depth, fit = align(gt / 4, gt, gt > 0, "median", "scale_invariant_depth")
        >>> float(fit.scale[0])
        4.0
    """
    mode, space = check_alignment(mode, output_space)
    shape = pred.shape
    batch = shape[0]
    x = pred.reshape(batch, -1).to(torch.float64)
    g = gt.reshape(batch, -1).to(torch.float64)
    v = valid.reshape(batch, -1).to(torch.bool)
    if space is OutputSpace.LOG_DEPTH:
        x = torch.exp(x)
    if mode is Alignment.NONE:
        ones = torch.ones(batch, dtype=torch.float64, device=x.device)
        return x.reshape(shape), AlignmentFit(ones, torch.zeros_like(ones))
    # Non-finite predictions (e.g. 1/0 of a zero depth in a disparity fit) stay out of the fit.
    if mode is Alignment.MEDIAN:
        v = v & torch.isfinite(x)
        ratio = masked_median(g, v) / masked_median(x, v)
        scale = torch.where(torch.isfinite(ratio), ratio, 1.0)
        return (x * scale[:, None]).reshape(shape), AlignmentFit(scale, torch.zeros_like(scale))
    with_shift = mode in (Alignment.SCALE_SHIFT, Alignment.SCALE_SHIFT_DISPARITY)
    if not mode.in_disparity:
        scale, shift = least_squares_scale_shift(x, g, v & torch.isfinite(x), with_shift)
        return (x * scale[:, None] + shift[:, None]).reshape(shape), AlignmentFit(scale, shift)
    disparity = x if space.is_disparity_like else 1.0 / x
    target = torch.where(v, 1.0 / g, 0.0)
    fit_set = v & torch.isfinite(disparity)
    scale, shift = least_squares_scale_shift(disparity, target, fit_set, with_shift)
    aligned = disparity * scale[:, None] + shift[:, None]
    depth = torch.where(aligned > 0, 1.0 / aligned, torch.inf)
    return depth.reshape(shape), AlignmentFit(scale, shift)
