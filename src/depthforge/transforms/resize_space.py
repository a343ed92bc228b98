"""Resize a depth-like prediction in a declared space (depth, disparity or log depth).

A network's output is usually smaller than the image it is scored on. Bilinear interpolation
does not commute with ``1/x`` or ``ln x``, so *where* the map is resized changes the numbers:
monodepth2's ``evaluate_depth.py`` resizes the disparity (``cv2.resize``, bilinear) and inverts
it afterwards; metric models (FCRN, BTS, AdaBins) resize depth. :func:`resize_prediction` takes
the map in its :class:`~depthforge.types.OutputSpace`, converts it into the requested
:class:`~depthforge.types.ResizeSpace`, resizes, and converts it back into the same output space.

Which combinations are allowed (anything else raises
:class:`~depthforge.errors.OutputSpaceError`):

* ``metric_depth``, ``scale_invariant_depth`` and ``log_depth``: any resize space (a positive
  scale is the same in every one of them, so the scale-invariant case stays scale-invariant);
* ``affine_invariant_depth`` and ``ordinal``: ``depth`` only (an unknown shift, or a mere order,
  has no meaningful inverse or logarithm);
* ``affine_invariant_disparity``: ``disparity`` only (the map *is* a disparity up to an affine
  map; its inverse is not a depth).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from depthforge.errors import OutputSpaceError, UnknownNameError
from depthforge.types import OutputSpace, ResizeSpace

ALLOWED_RESIZE: dict[OutputSpace, tuple[ResizeSpace, ...]] = {
    OutputSpace.METRIC_DEPTH: tuple(ResizeSpace),
    OutputSpace.SCALE_INVARIANT_DEPTH: tuple(ResizeSpace),
    OutputSpace.LOG_DEPTH: tuple(ResizeSpace),
    OutputSpace.AFFINE_INVARIANT_DEPTH: (ResizeSpace.DEPTH,),
    OutputSpace.ORDINAL: (ResizeSpace.DEPTH,),
    OutputSpace.AFFINE_INVARIANT_DISPARITY: (ResizeSpace.DISPARITY,),
}


def stored_resize_space(space: str | OutputSpace) -> ResizeSpace:
    """The resize space that leaves a map of ``space`` as stored (no conversion)."""
    space = OutputSpace(space)
    if space is OutputSpace.LOG_DEPTH:
        return ResizeSpace.LOG_DEPTH
    if space is OutputSpace.AFFINE_INVARIANT_DISPARITY:
        return ResizeSpace.DISPARITY
    return ResizeSpace.DEPTH


def check_resize_space(
    output_space: str | OutputSpace, resize_space: str | ResizeSpace
) -> tuple[OutputSpace, ResizeSpace]:
    """Parse both names and refuse a resize space that has no meaning for ``output_space``.

    Raises:
        ValueError: an unknown name.
        OutputSpaceError: e.g. an affine-invariant depth resized as a disparity.
    """
    space = OutputSpace(output_space)
    try:
        how = ResizeSpace(resize_space)
    except ValueError:
        raise UnknownNameError(
            "resize space", resize_space, [r.value for r in ResizeSpace]
        ) from None
    allowed = ALLOWED_RESIZE[space]
    if how not in allowed:
        raise OutputSpaceError(
            f"a {space.value!r} map cannot be resized in {how.value!r} space: resize it in "
            f"{' or '.join(repr(a.value) for a in allowed)} space"
        )
    return space, how


def bilinear_resize(x: torch.Tensor, size: tuple[int, int], antialias: bool = True) -> torch.Tensor:
    """Bilinear resize of ``(B, C, H, W)`` to ``size`` with half-pixel centres
    (``align_corners=False``, as ``cv2.resize``); antialiased when shrinking if ``antialias``;
    a no-op at equal size. While tracing for ONNX export the sizes are not known, so it always
    resizes, antialiased when ``antialias`` (which equals plain bilinear to float rounding when
    enlarging)."""
    if torch.onnx.is_in_onnx_export():
        return F.interpolate(
            x, size=size, mode="bilinear", align_corners=False, antialias=antialias
        )
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    shrink = antialias and (size[0] < x.shape[-2] or size[1] < x.shape[-1])
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=shrink)


def resize_prediction(
    pred: torch.Tensor,
    size: tuple[int, int],
    output_space: str | OutputSpace,
    resize_space: str | ResizeSpace,
    *,
    antialias: bool = True,
) -> torch.Tensor:
    """Resize ``pred`` to ``size`` bilinearly in ``resize_space``; the result stays in
    ``output_space``.

    For a depth map resized as a disparity this is ``1 / resize(1 / pred)`` (monodepth2
    ``evaluate_depth.py``: ``cv2.resize(pred_disp, (W, H))`` then ``1 / pred_disp``); as a log
    depth, ``exp(resize(ln pred))``. A ``log_depth`` map (values ``ln d``) resized as depth is
    ``ln(resize(exp pred))``.

    Args:
        pred: ``(B, 1, h, w)`` prediction in ``output_space``.
        size: target ``(H, W)``.
        output_space: what ``pred`` is.
        resize_space: where to interpolate (see the module docstring for the allowed pairs).
        antialias: antialias when shrinking (``torch`` ``antialias=True``); ``cv2.resize`` with
            ``INTER_LINEAR`` does not. Enlarging is unaffected.

    Returns:
        ``(B, 1, H, W)`` in ``output_space``.

    Raises:
        OutputSpaceError: ``resize_space`` has no meaning for ``output_space``.
        ValueError: a depth map with a value ≤ 0 or not finite, to be resized as a disparity or
            a log depth (its inverse or logarithm does not exist).

    Example:
        >>> depth = torch.tensor([[[[1.0, 4.0]]]])
        >>> out = resize_prediction(depth, (1, 4), "metric_depth", "disparity")
        >>> [round(v, 4) for v in out.flatten().tolist()]  # 1 / [1, 0.8125, 0.4375, 0.25]
        [1.0, 1.2308, 2.2857, 4.0]
    """
    space, how = check_resize_space(output_space, resize_space)
    stored = stored_resize_space(space)
    if how is stored:
        return bilinear_resize(pred, size, antialias)
    if stored is ResizeSpace.DEPTH and not bool(torch.isfinite(pred).all() and (pred > 0).all()):
        raise ValueError(
            f"a {space.value!r} map with values ≤ 0 or not finite cannot be resized in "
            f"{how.value!r} space (its {'inverse' if how is ResizeSpace.DISPARITY else 'log'} "
            "does not exist)"
        )
    if stored is ResizeSpace.DEPTH:  # depth → disparity or log depth, and back
        if how is ResizeSpace.DISPARITY:
            return 1.0 / bilinear_resize(1.0 / pred, size, antialias)
        return bilinear_resize(pred.log(), size, antialias).exp()
    # stored as log depth (values ln d): resized as depth or as disparity
    if how is ResizeSpace.DEPTH:
        return bilinear_resize(pred.exp(), size, antialias).log()
    return -bilinear_resize((-pred).exp(), size, antialias).log()
