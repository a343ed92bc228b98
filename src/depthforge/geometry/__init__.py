"""Cameras, back-projection, projection, warping, normals, gradients, the fusion solver and
direct pose refinement."""

from depthforge.geometry.camera import (
    backproject,
    crop_intrinsics,
    flip_intrinsics,
    intrinsics_from_fov,
    pixel_grid,
    project,
    scale_intrinsics,
)
from depthforge.geometry.direct import refine_pose
from depthforge.geometry.fusion import (
    DepthGradientFusion,
    fuse_depth_gradients,
    fuse_depth_gradients_robust,
)
from depthforge.geometry.normals import normals_from_depth
from depthforge.geometry.se3 import axis_angle_to_matrix, pose_vec_to_matrix, se3_exp
from depthforge.geometry.warp import (
    pixels_to_grid,
    reproject,
    sample_image,
    synthesize_view,
    warp_by_disparity,
)

__all__ = [
    "DepthGradientFusion",
    "axis_angle_to_matrix",
    "fuse_depth_gradients",
    "fuse_depth_gradients_robust",
    "pose_vec_to_matrix",
    "refine_pose",
    "se3_exp",
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
