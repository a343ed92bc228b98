"""Point cloud of a 640×480 RGB-D frame: ``rgbd_to_pointcloud`` against Open3D, same process.

    pip install open3d      # not a depthforge dependency; this script only imports it
    python benchmarks/pointcloud_vs_open3d.py [--repeats 30] [--threads 1]

Frame: the one of ``pointcloud_speed.py`` (a slanted wall 2–4 m, a box face at 1.5 m, 30 %
holes), float32 depth in metres, so Open3D runs with ``depth_scale=1`` and no truncation
(``depth_trunc`` far beyond the scene), the conventions of ``rgbd_to_pointcloud``. Pairs timed:

* normals off: ``rgbd_to_pointcloud(..., normals=False)`` against the legacy
  ``RGBDImage.create_from_color_and_depth`` + ``PointCloud.create_from_rgbd_image`` (points and
  colours, no normals), each from the NumPy arrays;
* normals on: ``rgbd_to_pointcloud(...)`` (normals of the depth grid) against Open3D's tensor
  API doing the same job: ``Image.create_vertex_map`` + ``create_normal_map`` (normals of the
  depth grid too), then the valid pixels' points, colours and normals gathered.

Before timing, the points of the normals-off pair are checked equal (same count and order,
largest difference printed; the script fails above 1e-6 m), and the colours too. Timing: after
one warm-up each, the functions alternate run by run; the median of ``--repeats`` is reported,
with the ratio ours / Open3D (below 1: faster than Open3D).
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import torch

from depthforge.apps.pointcloud import rgbd_to_pointcloud
from pointcloud_speed import K, frame
from timing import median_seconds_interleaved

TOLERANCE_M = 1e-6


def open3d_legacy(o3d, rgb: np.ndarray, depth: np.ndarray):
    """Open3D's usual script: RGBDImage from the arrays, then ``create_from_rgbd_image``."""
    h, w = depth.shape
    intrinsic = o3d.camera.PinholeCameraIntrinsic(w, h, K[0, 0], K[1, 1], K[0, 2], K[1, 2])
    rgbd = o3d.geometry.RGBDImage.create_from_color_and_depth(
        o3d.geometry.Image(rgb),
        o3d.geometry.Image(depth),
        depth_scale=1.0,
        depth_trunc=1e9,
        convert_rgb_to_intensity=False,
    )
    return o3d.geometry.PointCloud.create_from_rgbd_image(rgbd, intrinsic)


def open3d_tensor_normals(o3d, rgb: np.ndarray, depth: np.ndarray):
    """Tensor API: vertex and normal maps of the depth grid, then the valid pixels gathered."""
    intrinsic = o3d.core.Tensor(K)
    vertices = o3d.t.geometry.Image(o3d.core.Tensor(depth)).create_vertex_map(intrinsic, 0.0)
    normals = vertices.create_normal_map(0.0)
    valid = o3d.core.Tensor(depth.reshape(-1) > 0)
    colors = o3d.core.Tensor(rgb).reshape((-1, 3))
    return (
        vertices.as_tensor().reshape((-1, 3))[valid],
        colors[valid],
        normals.as_tensor().reshape((-1, 3))[valid],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: shared machine)")
    args = parser.parse_args()
    import open3d as o3d

    torch.set_num_threads(args.threads)
    rgb, depth = frame()
    h, w = depth.shape
    print(
        f"open3d {o3d.__version__}, torch {torch.__version__}, {torch.get_num_threads()} "
        f"thread(s), load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
        f"{w}×{h}, {int((depth > 0).sum())} points"
    )

    ours = rgbd_to_pointcloud(rgb, depth, K, output_space="metric_depth", normals=False)
    theirs = open3d_legacy(o3d, rgb, depth)
    points = np.asarray(theirs.points)
    if points.shape != ours.points.shape:
        raise SystemExit(f"point counts differ: Open3D {len(points)}, ours {len(ours.points)}")
    gap = float(np.abs(points - ours.points).max())
    colors_equal = np.array_equal(np.rint(np.asarray(theirs.colors) * 255), ours.colors)
    print(f"points equal to Open3D's within {gap:.2e} m; colours equal: {colors_equal}")
    if gap > TOLERANCE_M or not colors_equal:
        raise SystemExit(f"points differ by more than {TOLERANCE_M} m or colours differ")

    pairs = {
        "normals off (Open3D legacy create_from_rgbd_image)": (
            lambda: rgbd_to_pointcloud(rgb, depth, K, output_space="metric_depth", normals=False),
            lambda: open3d_legacy(o3d, rgb, depth),
        ),
        "normals on (Open3D tensor vertex + normal map)": (
            lambda: rgbd_to_pointcloud(rgb, depth, K, output_space="metric_depth"),
            lambda: open3d_tensor_normals(o3d, rgb, depth),
        ),
    }
    functions = [f for pair in pairs.values() for f in pair]
    seconds = median_seconds_interleaved(functions, args.repeats)
    print("| pair | depthforge ms | Open3D ms | ratio depthforge / Open3D |")
    print("|---|---:|---:|---:|")
    for i, name in enumerate(pairs):
        ours_s, theirs_s = seconds[2 * i], seconds[2 * i + 1]
        print(f"| {name} | {ours_s * 1e3:.2f} | {theirs_s * 1e3:.2f} | {ours_s / theirs_s:.2f}× |")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
