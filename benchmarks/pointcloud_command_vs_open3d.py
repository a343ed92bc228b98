"""The whole ``depthforge pointcloud`` command against an equivalent Open3D script, each a fresh
process reading the same 640×480 RGB-D frame from disk and writing a binary PLY.

    pip install open3d      # not a depthforge dependency; this script only runs it
    python benchmarks/pointcloud_command_vs_open3d.py [--repeats 7]

Inputs (written once to a temporary folder): the frame of ``pointcloud_speed.py`` (a slanted
wall 2–4 m, a box face at 1.5 m, 30 % holes) as an 8-bit RGB PNG and a 16-bit depth PNG in
millimetres, and its K as JSON. Processes timed (wall clock of the subprocess):

* ``depthforge pointcloud IMAGE --depth D --depth-kind png16 --depth-scale 1000
  --intrinsics K.json --out OUT.ply --no-normals --overwrite`` (points and colours);
* the same with normals (the command's default);
* the Open3D script: ``o3d.io.read_image`` ×2, ``RGBDImage.create_from_color_and_depth``
  (``depth_scale=1000``, no truncation), ``PointCloud.create_from_rgbd_image``,
  ``o3d.io.write_point_cloud`` (binary PLY), i.e. points and colours;
* the Open3D script with normals, in its tensor API (the same method as depthforge's: normals
  of neighbour differences on the pixel grid): ``o3d.t.io.read_image`` ×2, depth to metres,
  ``create_vertex_map``, ``create_normal_map``, the valid pixels gathered into a
  ``t.geometry.PointCloud`` with colours and normals, ``o3d.t.io.write_point_cloud``;
* peers: ``python -c pass`` and ``python -c "import open3d"``.

Before timing, the vertex counts of the PLYs are compared (equal, or the script fails). The runs
alternate, one warm-up each; medians of ``--repeats`` and the ratios to the Open3D script that
does the same job (issue goal: the command within 1.5×) are printed with the load.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from pointcloud_speed import K, frame
from timing import median_seconds_interleaved

OPEN3D_SCRIPT = """
import json, sys
import open3d as o3d
rgb_path, depth_path, k_path, out = sys.argv[1:]
color, depth = o3d.io.read_image(rgb_path), o3d.io.read_image(depth_path)
rgbd = o3d.geometry.RGBDImage.create_from_color_and_depth(
    color, depth, depth_scale=1000.0, depth_trunc=1e9, convert_rgb_to_intensity=False
)
(fx, _, cx), (_, fy, cy), _ = json.load(open(k_path))["K"]
camera = o3d.camera.PinholeCameraIntrinsic(
    color.get_max_bound()[0].astype(int), color.get_max_bound()[1].astype(int), fx, fy, cx, cy
)
cloud = o3d.geometry.PointCloud.create_from_rgbd_image(rgbd, camera)
o3d.io.write_point_cloud(out, cloud)
"""

OPEN3D_NORMALS_SCRIPT = """
import json, sys
import open3d as o3d
rgb_path, depth_path, k_path, out = sys.argv[1:]
K = o3d.core.Tensor(json.load(open(k_path))["K"])
color = o3d.t.io.read_image(rgb_path)
depth = o3d.t.io.read_image(depth_path).to(o3d.core.float32, scale=1.0 / 1000.0)
vertices = depth.create_vertex_map(K, 0.0)
normals = vertices.create_normal_map(0.0)
valid = depth.as_tensor().reshape((-1,)) > 0
cloud = o3d.t.geometry.PointCloud(vertices.as_tensor().reshape((-1, 3))[valid])
cloud.point.colors = color.as_tensor().reshape((-1, 3))[valid]
cloud.point.normals = normals.as_tensor().reshape((-1, 3))[valid]
o3d.t.io.write_point_cloud(out, cloud)
"""


def vertex_count(path: Path) -> int:
    """``element vertex N`` of a PLY header."""
    with open(path, "rb") as stream:
        for line in stream:
            if line.startswith(b"element vertex"):
                return int(line.split()[2])
            if line.strip() == b"end_header":
                break
    raise SystemExit(f"{path}: no vertex element")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="depthforge-pc-") as tmp:
        tmp = Path(tmp)
        rgb, depth = frame()
        Image.fromarray(rgb).save(tmp / "rgb.png")
        Image.fromarray(np.round(depth * 1000.0).astype(np.uint16)).save(tmp / "depth.png")
        (tmp / "K.json").write_text(json.dumps({"K": K.tolist()}))
        inputs = [tmp / "rgb.png", "--depth", tmp / "depth.png", "--depth-kind", "png16",
                  "--depth-scale", "1000", "--intrinsics", tmp / "K.json"]  # fmt: skip
        runs = {
            "python -c pass": ["-c", "pass"],
            'python -c "import open3d"': ["-c", "import open3d"],
            "Open3D script": [
                "-c",
                OPEN3D_SCRIPT,
                tmp / "rgb.png",
                tmp / "depth.png",
                tmp / "K.json",
                tmp / "o3d.ply",
            ],  # fmt: skip
            "Open3D script with normals": [
                "-c",
                OPEN3D_NORMALS_SCRIPT,
                tmp / "rgb.png",
                tmp / "depth.png",
                tmp / "K.json",
                tmp / "o3dn.ply",
            ],
            "depthforge pointcloud --no-normals": [
                "-m",
                "depthforge",
                "pointcloud",
                *inputs,
                "--out",
                tmp / "df.ply",
                "--no-normals",
                "--overwrite",
            ],  # fmt: skip
            "depthforge pointcloud (normals)": [
                "-m",
                "depthforge",
                "pointcloud",
                *inputs,
                "--out",
                tmp / "dfn.ply",
                "--overwrite",
            ],  # fmt: skip
        }

        def run(argv):
            subprocess.run([sys.executable, *map(str, argv)], check=True,
                           stdout=subprocess.DEVNULL)  # fmt: skip

        for argv in runs.values():
            run(argv)
        counts = {
            name: vertex_count(tmp / name) for name in ("df.ply", "dfn.ply", "o3d.ply", "o3dn.ply")
        }
        ours = counts["df.ply"]
        if len(set(counts.values())) != 1:
            raise SystemExit(f"different clouds: {counts}")
        print(f"{os.cpu_count()} CPUs, load before {os.getloadavg()}; {ours} points in both")
        times = median_seconds_interleaved([lambda a=a: run(a) for a in runs.values()],
                                           args.repeats)  # fmt: skip
        plain = times[list(runs).index("Open3D script")]
        with_normals = times[list(runs).index("Open3D script with normals")]
        print("| process | median s | / Open3D script | / Open3D script with normals |")
        print("|---|---:|---:|---:|")
        for name, t in zip(runs, times, strict=True):
            print(f"| `{name}` | {t:.3f} | {t / plain:.2f} | {t / with_normals:.2f} |")
        print(f"load after {os.getloadavg()}")


if __name__ == "__main__":
    main()
