"""Time ``compute_metrics`` under ``nyu_eigen`` on an NYU-test-sized batch against a plain loop.

Peers, measured in the same run on the same data, interleaved (median of ``--repeats``): the
memory-read floor (one pass summing both arrays) and the obvious per-image NumPy loop
(boolean-index each image, compute each metric); the script checks both give the same numbers.

Usage::

    python benchmarks/eval_speed.py [--images 654] [--repeats 3] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import torch

from depthforge.eval import compute_metrics

KEYS = ("abs_rel", "sq_rel", "rmse", "rmse_log", "log10", "silog", "d1", "d2", "d3")


def make_pairs(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` random 480×640 float32 GT/prediction pairs with Kinect-like holes and far pixels."""
    gen = torch.Generator().manual_seed(seed)
    gt = torch.rand(n, 1, 480, 640, generator=gen) * 11.0 + 0.2  # some beyond the 10 m cap
    gt[torch.rand(gt.shape, generator=gen) < 0.1] = 0.0  # 10 % holes
    pred = gt * (0.7 + 0.6 * torch.rand(gt.shape, generator=gen)) + 0.05
    return pred, gt


def numpy_loop(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """The straightforward reference: per image, crop, mask, clamp, then each metric in turn."""
    rows = []
    for p_img, g_img in zip(pred[:, 0], gt[:, 0], strict=True):
        g = g_img[45:471, 41:601].astype(np.float64)
        p = p_img[45:471, 41:601].astype(np.float64)
        valid = (g > 1e-3) & (g < 10.0)
        g = g[valid]
        p = np.clip(p[valid], 1e-3, 10.0)
        thresh = np.maximum(g / p, p / g)
        e = np.log(p) - np.log(g)
        rows.append(
            [
                np.mean(np.abs(g - p) / g),
                np.mean((g - p) ** 2 / g),
                np.sqrt(np.mean((g - p) ** 2)),
                np.sqrt(np.mean((np.log(g) - np.log(p)) ** 2)),
                np.mean(np.abs(np.log10(g) - np.log10(p))),
                100 * np.sqrt(np.mean(e**2) - np.mean(e) ** 2),
                np.mean(thresh < 1.25),
                np.mean(thresh < 1.25**2),
                np.mean(thresh < 1.25**3),
            ]
        )
    return dict(zip(KEYS, np.mean(rows, axis=0).tolist(), strict=True))


def read_floor(pred: torch.Tensor, gt: torch.Tensor) -> float:
    """The memory-read floor: one pass reading both arrays (a sum of each)."""
    return float(pred.sum()) + float(gt.sum())


def interleaved(fns: dict[str, object], repeats: int) -> tuple[dict, dict, dict]:
    """Median wall and CPU seconds of each function over ``repeats`` rounds, the functions
    alternating within a round (same machine load for all), and each one's last result."""
    walls: dict[str, list[float]] = {k: [] for k in fns}
    cpus: dict[str, list[float]] = {k: [] for k in fns}
    out = {}
    for _ in range(repeats):
        for name, fn in fns.items():
            wall, cpu = time.perf_counter(), time.process_time()
            out[name] = fn()
            walls[name].append(time.perf_counter() - wall)
            cpus[name].append(time.process_time() - cpu)
    median = statistics.median
    return {k: median(v) for k, v in walls.items()}, {k: median(v) for k, v in cpus.items()}, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=654)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    pred, gt = make_pairs(args.images, args.seed)
    pred_np, gt_np = pred.numpy(), gt.numpy()
    print(f"{args.images} pairs of 480×640, nyu_eigen, torch threads: {torch.get_num_threads()}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    wall, cpu, out = interleaved(
        {
            "floor": lambda: read_floor(pred, gt),
            "compute_metrics": lambda: compute_metrics(pred, gt, protocol="nyu_eigen"),
            "numpy": lambda: numpy_loop(pred_np, gt_np),
        },
        args.repeats,
    )
    fast, loop = out["compute_metrics"], out["numpy"]
    worst = max(abs(fast[k] - loop[k]) / max(abs(loop[k]), 1e-12) for k in KEYS)
    for name, label in (("floor", "read both arrays"), ("compute_metrics", "compute_metrics"),
                        ("numpy", "NumPy per-image")):  # fmt: skip
        print(f"{label:17s} : {wall[name]:7.3f} s wall, {cpu[name]:7.3f} s CPU "
              f"(median of {args.repeats})")  # fmt: skip
    print(f"compute_metrics / floor : {wall['compute_metrics'] / wall['floor']:7.1f}×")
    print(f"NumPy / compute_metrics : {wall['numpy'] / wall['compute_metrics']:7.2f}×")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"max relative diff : {worst:.2e}")
    for k in KEYS:
        print(f"  {k:8s} {fast[k]:.10f}  {loop[k]:.10f}")
    if worst > 1e-9:
        raise SystemExit(f"results differ (max relative difference {worst:.2e})")


if __name__ == "__main__":
    main()
