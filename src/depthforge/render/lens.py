"""Thin-lens circle of confusion in real units, and camera presets.

A thin lens of focal length ``f`` focused at distance ``z_f`` images a point at depth ``z`` as a
disc (the circle of confusion) of diameter, on the sensor,

    c = A · f · |z − z_f| / (z · (z_f − f)),      A = f / N   (aperture diameter, N = f-number)

(the thin-lens circle of confusion, Potmesil & Chakravarty 1981, "A Lens and Aperture Camera
Model for Synthetic Image Generation", SIGGRAPH 1981; also Hecht, *Optics*, thin-lens equation
1/f = 1/z + 1/z' and similar triangles at the aperture). Equivalently

    c = A · f · z_f / (z_f − f) · |1/z − 1/z_f|,

so the blur is linear in inverse depth: equal steps in ``1/z`` are equal steps in blur. The
diameter in pixels is ``c · image_width_px / sensor_width_mm`` (the image is assumed to span the
full sensor width, square pixels, no crop).

*Convention*: depths ``z`` and ``z_f`` in metres (z-depth along the optical axis, measured from
the lens), focal length and sensor width in millimetres. The *signed* CoC used for depth
ordering is positive behind the focal plane (``z > z_f``) and negative in front.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class LensPreset:
    """A camera: focal length (mm), default f-number, sensor width (mm), and where they come from."""

    focal_mm: float
    f_number: float
    sensor_width_mm: float
    source: str


# Typical values, not one specific device's datasheet:
# - phone: a 1/2.55" type sensor (e.g. the Sony IMX363 class used in several 2017–2019 phones) is
#   about 5.6 × 4.2 mm; main-camera focal lengths of that class are about 4.25 mm at f/1.8
#   (≈ 27 mm full-frame equivalent).
# - dslr: a full-frame (36 × 24 mm) body with the standard 50 mm f/1.8 prime.
PRESETS: dict[str, LensPreset] = {
    "phone": LensPreset(4.25, 1.8, 5.6, "typical 1/2.55-inch phone main camera (5.6 mm wide)"),
    "dslr": LensPreset(50.0, 1.8, 36.0, "typical full-frame body (36 mm wide) with a 50 mm f/1.8"),
}


def check_lens(focus_m: float, f_number: float, focal_mm: float, sensor_width_mm: float) -> None:
    """Raise ``ValueError`` naming the argument when a lens parameter is impossible."""
    if not f_number > 0:
        raise ValueError(f"f_number must be > 0, got {f_number}")
    if not focal_mm > 0:
        raise ValueError(f"focal_mm must be > 0, got {focal_mm}")
    if not sensor_width_mm > 0:
        raise ValueError(f"sensor_width_mm must be > 0, got {sensor_width_mm}")
    if not focus_m * 1000.0 > focal_mm:
        raise ValueError(
            f"focus_m must be beyond the focal length ({focal_mm} mm) to form an image, "
            f"got {focus_m} m"
        )


def signed_coc_mm(
    depth_m: torch.Tensor, *, focus_m: float, f_number: float, focal_mm: float
) -> torch.Tensor:
    """Signed circle-of-confusion diameter on the sensor, in millimetres.

    Thin lens (Potmesil & Chakravarty 1981): ``c = A·f·(z − z_f) / (z·(z_f − f))``,
    ``A = f/N``; positive behind the focal plane. Depths closer than ``2f`` are clamped to ``2f``
    (an object must lie beyond ``f`` to be imaged at all; closer than ``2f`` is macro range).

    Args:
        depth_m: depth in metres, any shape.
        focus_m: focus distance in metres (> focal length).
        f_number: N > 0.
        focal_mm: focal length in millimetres.

    Returns:
        Signed CoC diameter in mm, same shape, dtype and device as ``depth_m``.
    """
    check_lens(focus_m, f_number, focal_mm, 1.0)
    f = focal_mm
    aperture = f / f_number
    z = (depth_m * 1000.0).clamp_min(2.0 * f)
    zf = focus_m * 1000.0
    return aperture * f * (z - zf) / (z * (zf - f))


def signed_coc_px(
    depth_m: torch.Tensor,
    *,
    focus_m: float,
    f_number: float,
    focal_mm: float,
    sensor_width_mm: float,
    image_width_px: int,
) -> torch.Tensor:
    """Signed CoC diameter in pixels: :func:`signed_coc_mm` · ``image_width_px / sensor_width_mm``."""
    check_lens(focus_m, f_number, focal_mm, sensor_width_mm)
    coc = signed_coc_mm(depth_m, focus_m=focus_m, f_number=f_number, focal_mm=focal_mm)
    return coc * (image_width_px / sensor_width_mm)
