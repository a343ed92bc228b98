"""The depth a renderer needs: what a depth-like map means in metres (the output-space policy of
the applications), and holes filled from their nearest valid pixel."""

from __future__ import annotations

import math

import numpy as np

from depthforge.errors import OutputSpaceError
from depthforge.types import OutputSpace


def depth_in_metres(
    depth: np.ndarray,
    output_space: OutputSpace | str,
    *,
    scale: float | None = None,
    allow_unit_scale: bool = False,
) -> tuple[np.ndarray, str]:
    """Check what ``depth`` is and turn it into the depth the point cloud is built from.

    Args:
        depth: ``(H, W)`` depth-like map in ``output_space``.
        output_space: what ``depth`` means (:class:`~depthforge.types.OutputSpace`).
        scale: metres per unit of a ``scale_invariant_depth`` map (e.g. from a known distance).
        allow_unit_scale: write relative depth as it is, in arbitrary units.

    Returns:
        ``(depth, units)``: ``(H, W)`` float32 depth and ``"metres"`` or a note on the units.

    Raises:
        OutputSpaceError: relative depth without ``scale``/``allow_unit_scale``, ``scale`` for a
            space it cannot fix, log depth, or ordinal maps.
    """
    space = OutputSpace(output_space)
    depth = np.asarray(depth, dtype=np.float32)
    if scale is not None and not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive number of metres per unit, got {scale}")
    if space is OutputSpace.METRIC_DEPTH:
        if scale is not None:
            raise OutputSpaceError(
                "scale= converts relative depth to metres, but this depth is already "
                "metric_depth; drop scale (or declare the depth's real output space)"
            )
        return depth, "metres"
    if space is OutputSpace.LOG_DEPTH:
        raise OutputSpaceError(
            "log_depth cannot be lifted directly (0 would mean 1 m, not a hole): pass exp(depth) "
            "with output_space=metric_depth, as depthforge.models.predict does"
        )
    if space is OutputSpace.ORDINAL:
        raise OutputSpaceError(
            "ordinal depth holds only an order, no geometry: it cannot become a point cloud"
        )
    if space is OutputSpace.SCALE_INVARIANT_DEPTH and scale is not None:
        return depth * np.float32(scale), "metres"
    if scale is not None:
        raise OutputSpaceError(
            f"{space.value} is known only up to scale AND shift, so scale= alone cannot make it "
            "metric: align it to metric depth first (depthforge.eval.align.align, e.g. least "
            "squares on a few known depths) and pass output_space=metric_depth, or pass "
            "allow_unit_scale=True to write it in arbitrary units"
        )
    if not allow_unit_scale:
        fix = (
            "pass scale= (metres per unit, e.g. from one known distance) or "
            if space is OutputSpace.SCALE_INVARIANT_DEPTH
            else "align it to metric depth first (depthforge.eval.align.align) or "
        )
        raise OutputSpaceError(
            f"refusing to write {space.value} as a metric point cloud: its scale is unknown, so "
            f"the coordinates would not be metres; {fix}pass allow_unit_scale=True "
            "(--allow-unit-scale) to write it in arbitrary units"
        )
    if space is OutputSpace.AFFINE_INVARIANT_DISPARITY:
        valid = np.isfinite(depth) & (depth > 0)
        depth = np.where(valid, 1.0 / np.where(valid, depth, 1.0), 0.0).astype(np.float32)
        return depth, (
            "arbitrary units: 1 / affine_invariant_disparity, not metres "
            "(allow_unit_scale=True; unknown scale and shift distort the shape)"
        )
    shape_note = (
        ""
        if space is OutputSpace.SCALE_INVARIANT_DEPTH
        else "; an unknown shift distorts the shape"
    )
    return depth, f"arbitrary units: {space.value}, not metres (allow_unit_scale=True{shape_note})"


def fill_depth_holes(depth: np.ndarray) -> np.ndarray:
    """Fill invalid depth (0, non-finite) with the depth of the nearest valid pixel (Euclidean).

    Raises:
        ValueError: no valid pixel at all.
    """
    from scipy.ndimage import distance_transform_edt

    depth = np.asarray(depth, dtype=np.float32)
    valid = np.isfinite(depth) & (depth > 0)
    if not valid.any():
        raise ValueError("depth has no valid pixel")
    if valid.all():
        return depth
    _, (rows, cols) = distance_transform_edt(~valid, return_indices=True)
    return depth[rows, cols]
