"""The pinhole camera in NumPy, for the commands that need no PyTorch: K from a field of view,
and the rays ``K⁻¹ [u, v, 1]ᵀ`` of a pixel grid (:mod:`depthforge.geometry.camera` has the PyTorch
forms)."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import DTypeLike


def fov_intrinsics(width: int, height: int, fov_x_deg: float) -> np.ndarray:
    """``(3, 3)`` float64 K for a ``width`` × ``height`` image with horizontal field of view
    ``fov_x_deg``: square pixels, ``f = (W / 2) / tan(fov / 2)``, principal point at the image
    centre ``((W − 1)/2, (H − 1)/2)`` under the integer-pixel-centre convention.

    Example:
        >>> fov_intrinsics(640, 480, 90.0)[0].round(9).tolist()
        [320.0, 0.0, 319.5]
    """
    if not 0.0 < fov_x_deg < 180.0:
        raise ValueError(f"field of view must be in (0, 180) degrees, got {fov_x_deg}")
    f = 0.5 * width / math.tan(math.radians(fov_x_deg) / 2.0)
    return np.array([[f, 0.0, (width - 1) / 2.0], [0.0, f, (height - 1) / 2.0], [0.0, 0.0, 1.0]])


def pinhole_rays(
    K: np.ndarray, height: int, width: int, dtype: DTypeLike = np.float32
) -> tuple[np.ndarray, ...]:
    """The rays ``K⁻¹ [u, v, 1]ᵀ`` of a pinhole ``K`` (``K[2] = [0, 0, 1]``, ``K[1, 0] = 0``,
    any skew) as three vectors of ``dtype``: ``x/z = a·u + (b·v + c)`` and ``y/z = d·v + e``
    with ``a..e`` the entries of ``K⁻¹`` (Hartley & Zisserman 2004, Eq. 6.5), computed in
    float64.

    Returns:
        ``(a·u (W,), b·v + c (H,), d·v + e (H,))``.
    """
    inverse = np.linalg.inv(K)
    column = (inverse[0, 0] * np.arange(width)).astype(dtype)
    row_x = (inverse[0, 1] * np.arange(height) + inverse[0, 2]).astype(dtype)
    row_y = (inverse[1, 1] * np.arange(height) + inverse[1, 2]).astype(dtype)
    return column, row_x, row_y
