"""Colorization fill (NYU toolbox, :func:`depthforge.apps.completion.colorization_fill`) at
640×480 on Kinect-like holes and on a 5 % LiDAR-like pattern of a synthetic indoor frame.

Baselines, same run: the affinity built by a per-pixel Python loop (a literal port of the
toolbox's loops, what the common Python ports do) against the vectorised construction; the
toolbox system solved with SciPy's default ``spsolve`` (SuperLU, COLAMD ordering) against the
``MMD_AT_PLUS_A`` ordering used here, and against hard constraints (reduced system). Accuracy:
MAE on the missing pixels against the renderer's true depth, next to a nearest-sample fill.
The fill's solver (block Gauss–Seidel around a sparse LU of the hole pixels) is timed against
the direct sparse LU of the whole system (``MMD_AT_PLUS_A``, the solver it replaced), with the
largest difference between the two, wall-clock and CPU time of this process (the CPU time is
what a quiet machine's wall-clock would be; on a busy machine the wall-clock is longer).
``--nyu FOLDER`` adds the real NYU frame of ``nyu_labeled_sample_rcnn_depth`` (images.png,
rawdepth.png) at its own 560×425 and resized to 640×480 (RGB bilinear, depth nearest, so the
holes stay holes); ``--kitti FOLDER`` the real KITTI frame 000001 of ``kitti_object_samples/
training`` (image_2, its velodyne scan projected with calib/, 1242×375). Both solvers run
interleaved, best of ``--repeats``.

Usage::

    python benchmarks/completion_speed.py [--width 640] [--height 480] [--repeats 1]
        [--nyu FOLDER] [--kitti FOLDER] [--skip-loop] [--skip-synthetic]
"""

from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np
import scipy.sparse
from scipy.sparse.linalg import spsolve

from depthforge.apps.completion import (
    _lu_solve,
    colorization_fill,
    colorization_weights,
    to_gray,
)
from depthforge.render.depth import fill_depth_holes
from depthforge.synth import SynthDataset
from depthforge.synth.sensor import kinect_holes, lidar_rows
from timing import best_seconds


def loop_weights(gray: np.ndarray) -> scipy.sparse.csr_matrix:
    """The toolbox's affinity with its per-pixel loops (the construction baseline)."""
    h, w = gray.shape
    rows, cols, vals = [], [], []
    for i in range(h):
        for j in range(w):
            neighbours, values = [], []
            for ii in range(max(0, i - 1), min(i + 2, h)):
                for jj in range(max(0, j - 1), min(j + 2, w)):
                    if (ii, jj) != (i, j):
                        neighbours.append(ii * w + jj)
                        values.append(gray[ii, jj])
            values = np.array(values)
            window = np.append(values, gray[i, j])
            csig = max(
                0.6 * np.mean((window - window.mean()) ** 2),
                -np.min((values - gray[i, j]) ** 2) / math.log(0.01),
                2e-6,
            )
            weights = np.exp(-((values - gray[i, j]) ** 2) / csig)
            rows.extend([i * w + j] * len(neighbours))
            cols.extend(neighbours)
            vals.extend(weights / weights.sum())
    return scipy.sparse.csr_matrix((vals, (rows, cols)), shape=(h * w, h * w))


def default_spsolve_fill(image: np.ndarray, sparse: np.ndarray) -> np.ndarray:
    """The same toolbox system (α = 1) solved by ``spsolve`` with its defaults (the baseline)."""
    known = (sparse > 0).ravel().astype(np.float64)
    system = scipy.sparse.identity(sparse.size) - colorization_weights(to_gray(image))
    system = (system + scipy.sparse.diags(known)).tocsc()
    return spsolve(system, known * sparse.ravel()).reshape(sparse.shape)


def direct_lu_fill(image: np.ndarray, sparse: np.ndarray) -> np.ndarray:
    """The whole toolbox system (α = 1) by sparse LU with ``MMD_AT_PLUS_A`` (the old solver)."""
    known = (sparse > 0).ravel().astype(np.float64)
    system = scipy.sparse.identity(sparse.size) - colorization_weights(to_gray(image))
    system = system + scipy.sparse.diags(known)
    return _lu_solve(system, known * sparse.ravel(), "MMD_AT_PLUS_A").reshape(sparse.shape)


def solver_ratio(name: str, image: np.ndarray, sparse: np.ndarray, repeats: int) -> None:
    """Print the fill's time against the direct LU (interleaved, best of ``repeats``), wall and
    CPU seconds."""
    times: dict[str, list[tuple[float, float]]] = {"direct": [], "fill": []}
    for _ in range(repeats):
        for key, fn in (("direct", direct_lu_fill), ("fill", colorization_fill)):
            start, cpu = time.perf_counter(), time.process_time()
            out = fn(image, sparse)
            times[key].append((time.perf_counter() - start, time.process_time() - cpu))
            if key == "direct":
                direct = out
            else:
                fill = out
    (t_direct, c_direct), (t_fill, c_fill) = min(times["direct"]), min(times["fill"])
    diff = 1000 * np.abs(fill - direct).max()
    h, w = sparse.shape
    print(f"| {name} | {w}×{h} | {100 * (sparse > 0).mean():.1f} % | {t_direct:.2f} | "
          f"{c_direct:.2f} | {t_fill:.2f} | {c_fill:.2f} | ×{t_direct / t_fill:.1f} | "
          f"{diff:.4f} | {os.getloadavg()[0]:.1f} |", flush=True)  # fmt: skip


def real_frames(nyu: str | None, kitti: str | None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The real frames asked for: name → (RGB, sparse depth in metres)."""
    from PIL import Image

    from depthforge.apps.depth_input import read_velodyne_depth
    from depthforge.io import read_depth, read_rgb

    frames = {}
    if nyu:
        rgb = read_rgb(f"{nyu}/images.png")
        raw = read_depth(f"{nyu}/rawdepth.png", "png16", 1000.0)
        frames["NYU frame (raw Kinect)"] = (rgb, raw.astype(np.float64))
        rgb = np.asarray(Image.fromarray(rgb).resize((640, 480), Image.Resampling.BILINEAR))
        raw = np.asarray(Image.fromarray(raw).resize((640, 480), Image.Resampling.NEAREST))
        frames["NYU frame resized"] = (rgb, raw.astype(np.float64))
    if kitti:
        image = f"{kitti}/image_2/000001.png"
        rgb = read_rgb(image)
        scan = read_velodyne_depth(f"{kitti}/velodyne/000001.bin", image, rgb.shape)
        frames["KITTI frame (velodyne, camera 2)"] = (rgb, scan.astype(np.float64))
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--nyu", help="folder with images.png and rawdepth.png (NYU, mm PNG)")
    parser.add_argument("--kitti", help="kitti_object_samples/training (frame 000001)")
    parser.add_argument("--skip-loop", action="store_true", help="skip the loop baselines")
    parser.add_argument(
        "--skip-synthetic", action="store_true", help="only the real frames of the solver table"
    )
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()}")
    print("| input | size | known | direct LU s | CPU s | fill s | CPU s | × | "
          "max |fill − direct| mm | load |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, (rgb, sparse) in real_frames(args.nyu, args.kitti).items():
        solver_ratio(name, rgb, sparse, args.repeats)
    if args.skip_synthetic:
        return
    data = SynthDataset(scenes=1, frames=1, size=(args.width, args.height), pairs=0)
    view = data.render_view(0, data.pose(0, 0))
    truth = view.depth.astype(np.float64)
    rng = np.random.default_rng(0)
    patterns = {
        "Kinect holes": kinect_holes(view.depth, view.image, rng),
        "LiDAR 5 %": lidar_rows(data.K, args.width, args.height, rng),
    }
    image = view.image
    gray = to_gray(image)
    for name, pattern in {
        "Kinect holes": kinect_holes(view.depth, view.image, np.random.default_rng(0)),
        "LiDAR 5 %": lidar_rows(data.K, args.width, args.height, np.random.default_rng(0)),
    }.items():
        solver_ratio(name, image, np.where(pattern & (truth > 0), truth, 0.0), args.repeats)
    if args.skip_loop:
        return

    start = time.perf_counter()
    loop = loop_weights(gray)
    t_loop = time.perf_counter() - start
    t_vec = best_seconds(lambda: colorization_weights(gray), max(args.repeats, 3))
    assert abs(loop - colorization_weights(gray)).max() < 1e-12
    print(f"## affinity construction, {args.width}×{args.height}")
    print(f"per-pixel loop {t_loop:.2f} s | vectorised {t_vec:.3f} s | ×{t_loop / t_vec:.0f}")

    print("\n| input | known | spsolve default (COLAMD) s | MMD_AT_PLUS_A s | ×"
          " | hard constraints s | × | MAE missing mm | nearest-fill MAE mm |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, pattern in patterns.items():
        known = pattern & (truth > 0)
        sparse = np.where(known, truth, 0.0)
        t_colamd = best_seconds(lambda d=sparse: default_spsolve_fill(image, d), args.repeats)
        t_ours = best_seconds(lambda d=sparse: colorization_fill(image, d), args.repeats)
        t_hard = best_seconds(
            lambda d=sparse: colorization_fill(image, d, data_weight=None), args.repeats
        )
        missing = ~known & (truth > 0)
        mae = np.abs(colorization_fill(image, sparse) - truth)[missing].mean() * 1000
        nearest = np.abs(fill_depth_holes(sparse) - truth)[missing].mean() * 1000
        print(
            f"| {name} | {100 * known.mean():.1f} % | {t_colamd:.2f} | {t_ours:.2f} | "
            f"×{t_colamd / t_ours:.2f} | {t_hard:.2f} | ×{t_colamd / t_hard:.2f} | {mae:.1f} | "
            f"{nearest:.1f} |"
        )


if __name__ == "__main__":
    main()
