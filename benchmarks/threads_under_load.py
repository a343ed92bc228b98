"""Small-tensor work at one vs two PyTorch threads, on the machine as it is and under artificial
load (busy-loop processes started and stopped by this script), and what
:func:`depthforge.threads.choose_threads` picks in each case.

Usage::

    python benchmarks/threads_under_load.py [--busy 4] [--repeats 5] [--seconds 120]

Work measured (each interleaved 1 thread / 2 threads, median of ``--repeats``):

* ``ops``: 200 rounds of log, divide and dot on 2¹⁶-element float64 vectors (above PyTorch's
  grain size, so two threads split each op), the per-op pattern of the metrics;
* ``metrics``: ``compute_metrics(..., protocol="nyu_eigen")`` on 16 pairs of 480×640; it
  scores images in one Python thread per core whatever the torch thread count, so here
  "1 thread" is ``DEPTHFORGE_THREADS=1`` and "2 threads" the default (the variable unset);
* ``eval``: ``evaluate_predictions`` (what ``depthforge eval`` runs) over 8 synth-like
  480×640 samples in the folder format (``eval_speed.py``), metric predictions, ``nyu_eigen``;
* ``eval median``: the same, predictions as ``scale_invariant_depth`` with per-image median
  scaling (the monodepth2 protocol), which aligns with full-image PyTorch operations.

``--busy`` processes each spin for at most ``--seconds`` (they end by themselves if this script
is killed) and are terminated by their pid when the loaded measurement is done.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from depthforge.data.folder import FolderDataset
from depthforge.eval import compute_metrics, evaluate_predictions
from depthforge.threads import THREADS_ENV, choose_threads
from eval_speed import write_synth_like
from timing import busy_loops


def small_ops(a: torch.Tensor, b: torch.Tensor) -> None:
    for _ in range(200):
        torch.dot(torch.log(a), a / b)


def set_threads(threads: int) -> None:
    """``threads`` torch threads; 1 also sets ``DEPTHFORGE_THREADS=1``, 2 leaves it unset."""
    torch.set_num_threads(threads)
    if threads == 1:
        os.environ[THREADS_ENV] = "1"
    else:
        os.environ.pop(THREADS_ENV, None)


def median_by_threads(fn: Callable[[], object], repeats: int) -> dict[int, float]:
    """Median seconds of ``fn`` at 1 and 2 threads, alternating the thread count run by run."""
    times: dict[int, list[float]] = {1: [], 2: []}
    for threads in (1, 2):
        set_threads(threads)
        fn()  # warm-up
    for _ in range(repeats):
        for threads in (1, 2):
            set_threads(threads)
            start = time.perf_counter()
            fn()
            times[threads].append(time.perf_counter() - start)
    os.environ.pop(THREADS_ENV, None)
    return {k: statistics.median(v) for k, v in times.items()}


def measure(label: str, repeats: int, folder: Path) -> None:
    gen = torch.Generator().manual_seed(0)
    a = torch.rand(1 << 16, dtype=torch.float64, generator=gen) + 0.5
    b = torch.rand(1 << 16, dtype=torch.float64, generator=gen) + 0.5
    gt = torch.rand(16, 1, 480, 640, generator=gen) * 9.0 + 0.5
    pred = gt * (0.8 + 0.4 * torch.rand(gt.shape, generator=gen))
    work = {
        "ops": lambda: small_ops(a, b),
        "metrics": lambda: compute_metrics(pred, gt, protocol="nyu_eigen"),
        "eval": lambda: evaluate_predictions(
            folder / "pred", FolderDataset(folder / "data"), "nyu_eigen"
        ),
        "eval median": lambda: evaluate_predictions(
            folder / "pred",
            FolderDataset(folder / "data"),
            "nyu_eigen",
            align="median",
            output_space="scale_invariant_depth",
        ),
    }
    load = os.getloadavg()[0]
    for name, fn in work.items():
        t = median_by_threads(fn, repeats)
        print(f"| {label} | {load:.1f} | {choose_threads()} | {name} | {1e3 * t[1]:.1f} | "
              f"{1e3 * t[2]:.1f} | {t[2] / t[1]:.2f} |", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--busy", type=int, default=4, help="busy-loop processes to start")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=120.0, help="each spinner's lifetime")
    parser.add_argument("--settle", type=float, default=20.0, help="seconds before measuring")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, load {os.getloadavg()}")
    print("| machine | load (1 min) | policy threads | work | 1 thread ms | 2 threads ms "
          "| 2 / 1 |")  # fmt: skip
    print("|---|---:|---:|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_synth_like(folder, 8, seed=0)
        measure("as it is", args.repeats, folder)
        with busy_loops(args.busy, args.seconds, args.settle):
            measure(f"+ {args.busy} busy loops", args.repeats, folder)


if __name__ == "__main__":
    main()
