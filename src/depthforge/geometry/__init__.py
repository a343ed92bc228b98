"""Cameras, back-projection, projection, warping, normals, gradients and the fusion solver."""

from depthforge.geometry.camera import (
    backproject,
    crop_intrinsics,
    flip_intrinsics,
    intrinsics_from_fov,
    pixel_grid,
    project,
    scale_intrinsics,
)

__all__ = [
    "backproject",
    "crop_intrinsics",
    "flip_intrinsics",
    "intrinsics_from_fov",
    "pixel_grid",
    "project",
    "scale_intrinsics",
]
