"""Time ``compute_metrics`` under ``nyu_eigen`` on an NYU-test-sized batch against a plain loop,
and what ``evaluate_predictions`` (``depthforge eval``) spends per image reading the dataset.

Metrics peers, measured in the same run on the same data, interleaved (median of
``--repeats``): the memory-read floor (one pass summing both arrays) and the obvious per-image
NumPy loop (boolean-index each image, compute each metric); the script checks both give the
same numbers. Ratios are printed in wall time and in CPU time (on a busy machine the wall
time says more about the scheduler than about the code).

Reading: ``--eval-images`` samples of 480×640 in the folder format as ``depthforge synth``
writes them (RGB PNG, 16-bit depth PNG, normals ``.npy``, label PNG), in a temporary folder;
per image: loading the whole sample vs loading only the depth (``with_fields("depth")``, what
``evaluate_predictions`` asks for), and ``evaluate_predictions`` itself.

Usage::

    python benchmarks/eval_speed.py [--images 654] [--repeats 3] [--seed 0] [--eval-images 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from depthforge.data.folder import FolderDataset, write_folder_sample
from depthforge.eval import compute_metrics, evaluate_predictions, save_prediction

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


class WholeSamples(FolderDataset):
    """The folder reader as it was: every field read whatever the caller asks for."""

    def with_fields(self, *names: str) -> FolderDataset:
        return self


def write_synth_like(root: Path, n: int, seed: int) -> None:
    """``n`` 480×640 samples with RGB, depth (16-bit PNG), normals and labels, and predictions."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:480, 0:640]
    for i in range(n):
        base = (xx + 2 * yy + 7 * i)[..., None] * np.array([1, 2, 3])
        image = ((base + rng.integers(0, 24, (480, 640, 3))) % 256).astype(np.uint8)
        depth = (1.0 + 4.0 * rng.random((480, 640))).astype(np.float32)
        normals = rng.normal(size=(3, 480, 640)).astype(np.float32)
        normals /= np.linalg.norm(normals, axis=0, keepdims=True)
        labels = ((xx // 40 + yy // 40 + i) % 12).astype(np.int64)
        sid = f"scene_000/{i:06d}"
        write_folder_sample(root / "data", sid, image, depth, normals=normals, labels=labels)
        save_prediction(root / "pred", sid, depth * 1.1)


def reading(n: int, seed: int, repeats: int) -> None:
    """Milliseconds per image: whole samples vs depth only, and evaluate_predictions."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_synth_like(root, n, seed)
        whole, ours = WholeSamples(root / "data"), FolderDataset(root / "data")
        depth_only = ours.with_fields("depth")

        def load_all(ds) -> None:
            for i in range(len(ds)):
                ds[i]

        wall, cpu, out = interleaved(
            {
                "load whole samples": lambda: load_all(whole),
                "load depth only": lambda: load_all(depth_only),
                "eval, reading everything": lambda: evaluate_predictions(
                    root / "pred", whole, "nyu_eigen"
                ),
                "eval (depth only)": lambda: evaluate_predictions(root / "pred", ours, "nyu_eigen"),
            },
            repeats,
        )
    assert out["eval, reading everything"].metrics == out["eval (depth only)"].metrics
    print(f"\nreading {n} synth-like 480×640 samples (median of {repeats}), per image:")
    for name in wall:
        print(
            f"  {name:26s}: {1e3 * wall[name] / n:7.1f} ms wall, {1e3 * cpu[name] / n:7.1f} ms CPU"
        )
    before, after = wall["eval, reading everything"], wall["eval (depth only)"]
    print(f"  eval reading everything / depth only: {before / after:.2f}× (wall)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=654)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-images", type=int, default=20)
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
    for kind, t in (("wall", wall), ("CPU", cpu)):
        print(f"compute_metrics / floor : {t['compute_metrics'] / t['floor']:7.1f}× ({kind})")
        print(f"NumPy / compute_metrics : {t['numpy'] / t['compute_metrics']:7.2f}× ({kind})")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"max relative diff : {worst:.2e}")
    for k in KEYS:
        print(f"  {k:8s} {fast[k]:.10f}  {loop[k]:.10f}")
    if worst > 1e-9:
        raise SystemExit(f"results differ (max relative difference {worst:.2e})")
    if args.eval_images:
        reading(args.eval_images, args.seed, args.repeats)


if __name__ == "__main__":
    main()
