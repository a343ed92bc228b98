"""``depthforge dof``: synthetic shallow depth of field of a photo, from a depth file or a
metric-depth model (the renderer is :mod:`depthforge.render.dof`)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from depthforge.apps.depth_input import DepthSource
from depthforge.errors import DataError, UnknownNameError, check_name
from depthforge.io import read_rgb, refuse_overwrite, save_rgb
from depthforge.render.depth import fill_depth_holes
from depthforge.render.dof import APERTURES, depth_at, render_dof
from depthforge.render.lens import PRESETS
from depthforge.types import OutputSpace


def dof_command(
    image_path: str | Path,
    source: DepthSource,
    *,
    focus: float | None = None,
    focus_at: tuple[int, int] | None = None,
    fnumber: float,
    focal_mm: float | None = None,
    preset: str = "phone",
    sensor_width_mm: float | None = None,
    aperture: str = "disc",
    layers: int | None = None,
    highlight_boost: float = 0.0,
    out: str | Path | None = None,
    overwrite: bool = False,
) -> Path:
    """Everything behind ``depthforge dof``: read, get depth, fill holes, focus, render, save.

    Args:
        image_path: the all-in-focus photo.
        source: a depth file registered to the photo (decoded into metres; 0 = hole) or a
            model, whose prediction must be metric depth.
        focus: focus distance in metres; or ``focus_at=(x, y)``: the median depth in a 5 × 5
            window around that pixel (column, row). Exactly one of the two.
        fnumber: f-number N > 0.
        focal_mm, sensor_width_mm: override the preset's (``"phone"`` or ``"dslr"``).
        out: output image (PNG/JPEG); default ``<image stem>_dof.png`` beside the image.
        overwrite: replace an existing ``out``.

    Returns:
        The path written (atomically).

    Raises:
        DataError: unreadable files, sizes that differ (both named), non-metric model output,
            an existing output without ``overwrite``, no valid depth.
        ValueError: bad arguments (f-number ≤ 0, unknown preset, both or neither of the options).
    """
    image_path = Path(image_path)
    if (focus is None) == (focus_at is None):
        raise ValueError("give exactly one of --focus METRES and --focus-at X,Y")
    if not fnumber > 0:
        raise ValueError(f"--fnumber must be > 0, got {fnumber}")
    if preset not in PRESETS:
        raise UnknownNameError("lens preset", preset, PRESETS)
    check_name("aperture", aperture, APERTURES)
    lens = PRESETS[preset]
    focal_mm = lens.focal_mm if focal_mm is None else focal_mm
    sensor_width_mm = lens.sensor_width_mm if sensor_width_mm is None else sensor_width_mm
    out = Path(out) if out is not None else image_path.with_name(f"{image_path.stem}_dof.png")
    refuse_overwrite(out, overwrite)

    image = read_rgb(image_path)
    depth, space, origin = source.read(image, image_path)
    if space is not OutputSpace.METRIC_DEPTH:
        raise DataError(origin, f"predicts {space.value}; depth of field needs metric depth")
    valid = np.isfinite(depth) & (depth > 0)
    if not valid.any():
        raise DataError(origin, "depth has no valid pixel")
    if focus_at is not None:
        focus = depth_at(depth, int(focus_at[0]), int(focus_at[1]))
    lo, hi = float(depth[valid].min()), float(depth[valid].max())
    if not lo <= focus <= hi:
        warnings.warn(
            f"focus distance {focus:.3g} m lies outside the scene's depth range "
            f"[{lo:.3g}, {hi:.3g}] m: nothing will be sharp",
            stacklevel=2,
        )
    result = render_dof(
        image,
        fill_depth_holes(depth),
        focus_m=focus,
        f_number=fnumber,
        focal_mm=focal_mm,
        sensor_width_mm=sensor_width_mm,
        aperture=aperture,
        layers=layers,
        highlight_boost=highlight_boost,
    )
    return save_rgb(out, result)
