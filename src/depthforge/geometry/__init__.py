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
from depthforge.geometry.normals import normals_from_depth
from depthforge.geometry.warp import (
    pixels_to_grid,
    reproject,
    sample_image,
    synthesize_view,
    warp_by_disparity,
)

__all__ = [
    "backproject",
    "crop_intrinsics",
    "flip_intrinsics",
    "intrinsics_from_fov",
    "normals_from_depth",
    "pixel_grid",
    "pixels_to_grid",
    "reproject",
    "sample_image",
    "synthesize_view",
    "warp_by_disparity",
    "project",
    "scale_intrinsics",
]
