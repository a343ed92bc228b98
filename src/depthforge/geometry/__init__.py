"""Cameras, back-projection, projection, warping, normals, gradients, the fusion solver and
direct pose refinement."""

from depthforge.lazy import lazy_package

# public name -> the module that defines it, imported on first use (depthforge.lazy): the
# NumPy parts (grid_normals) are then importable without PyTorch
_EXPORTS = {
    "axis_angle_to_matrix": "depthforge.geometry.se3",
    "backproject": "depthforge.geometry.camera",
    "crop_intrinsics": "depthforge.geometry.camera",
    "DepthGradientFusion": "depthforge.geometry.fusion",
    "flip_intrinsics": "depthforge.geometry.camera",
    "fuse_depth_gradients": "depthforge.geometry.fusion",
    "fuse_depth_gradients_robust": "depthforge.geometry.fusion",
    "intrinsics_from_fov": "depthforge.geometry.camera",
    "normal_map": "depthforge.geometry.grid_normals",
    "normals_from_depth": "depthforge.geometry.normals",
    "pixel_grid": "depthforge.geometry.camera",
    "pixels_to_grid": "depthforge.geometry.warp",
    "pose_vec_to_matrix": "depthforge.geometry.se3",
    "project": "depthforge.geometry.camera",
    "refine_pose": "depthforge.geometry.direct",
    "reproject": "depthforge.geometry.warp",
    "sample_image": "depthforge.geometry.warp",
    "scale_intrinsics": "depthforge.geometry.camera",
    "se3_exp": "depthforge.geometry.se3",
    "synthesize_view": "depthforge.geometry.warp",
    "warp_by_disparity": "depthforge.geometry.warp",
}
lazy_package(__name__, _EXPORTS)

__all__ = list(_EXPORTS)
