"""Point cloud of a 640×480 RGB-D frame to PLY: ``write_pointcloud`` against a per-pixel loop.

The baseline is the straightforward per-pixel Python loop (``x = (u − cx) z / fx``, ...,
``struct.pack`` of each vertex into a binary PLY, no normals: less work than ours), timed on a
crop and scaled by the pixel count. Both run in the same process on the same frame: two planes
(a wall and a nearer box face) with 30 % of the pixels holes, like a Kinect frame.

    python benchmarks/pointcloud_speed.py [--threads N]
"""

from __future__ import annotations

import argparse
import os
import struct
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from depthforge.apps.pointcloud import write_pointcloud
from timing import best_seconds

K = np.array([[518.0, 0.0, 325.5], [0.0, 519.0, 253.5], [0.0, 0.0, 1.0]])


def frame(height: int = 480, width: int = 640) -> tuple[np.ndarray, np.ndarray]:
    """``(rgb, depth)``: a slanted wall 2–4 m, a box face at 1.5 m, 30 % holes."""
    rng = np.random.default_rng(0)
    u = np.arange(width)[None, :].repeat(height, axis=0)
    depth = (2.0 + 2.0 * u / width).astype(np.float32)
    depth[150:330, 200:420] = 1.5
    depth[rng.random((height, width)) < 0.3] = 0.0
    rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    return rgb, depth


def loop_pointcloud(rgb: np.ndarray, depth: np.ndarray, K: np.ndarray, path: Path) -> int:
    """The per-pixel reference: one Python iteration per pixel, binary PLY via ``struct``."""
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    records = []
    for v in range(depth.shape[0]):
        for u in range(depth.shape[1]):
            z = float(depth[v, u])
            if z <= 0:
                continue
            r, g, b = (int(c) for c in rgb[v, u])
            records.append(struct.pack("<fffBBB", (u - cx) * z / fx, (v - cy) * z / fy, z, r, g, b))
    header = (
        "ply\nformat binary_little_endian 1.0\n"
        f"element vertex {len(records)}\n"
        "property float x\nproperty float y\nproperty float z\n"
        "property uchar red\nproperty uchar green\nproperty uchar blue\nend_header\n"
    )
    with open(path, "wb") as fh:
        fh.write(header.encode("ascii"))
        fh.write(b"".join(records))
    return len(records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's)"
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--crop", type=int, default=96, help="baseline crop side in pixels")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rgb, depth = frame()
    h, w = depth.shape
    tmp = Path(tempfile.mkdtemp())
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
        f"{w}×{h}, {int((depth > 0).sum())} points"
    )

    results = {}
    for name, kwargs, suffix in [
        ("point cloud → PLY", {}, ".ply"),
        ("mesh → PLY", {"mesh": True}, ".ply"),
        ("point cloud → GLB", {}, ".glb"),
        ("mesh → GLB", {"mesh": True}, ".glb"),
    ]:
        seconds = best_seconds(
            lambda kwargs=kwargs, suffix=suffix: write_pointcloud(
                rgb, depth, K, tmp / f"c{suffix}", output_space="metric_depth", **kwargs
            ),
            args.repeats,
        )
        results[name] = seconds

    c = args.crop
    crop_rgb, crop_depth = rgb[:c, :c], depth[:c, :c]
    start = time.perf_counter()
    loop_pointcloud(crop_rgb, crop_depth, K, tmp / "loop.ply")
    loop = (time.perf_counter() - start) * (h * w) / (c * c)

    print(f"per-pixel loop (on {c}×{c}, scaled to {w}×{h}), point cloud → PLY: {loop:.3f} s")
    for name, seconds in results.items():
        print(f"write_pointcloud, {name}: {seconds:.3f} s ({loop / seconds:.1f}× faster)")
    target = results["point cloud → PLY"]
    print(f"target 'under 0.2 s' for point cloud → PLY: {'met' if target < 0.2 else 'MISSED'}")


if __name__ == "__main__":
    main()
