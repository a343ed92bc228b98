"""Frames per second of the synthetic world's renderer on ONE core, against a naive baseline.

Measured: ``render`` (the vectorised, screen-space-culled ray caster) for indoor and outdoor
worlds at 128×96 and 320×240, and ``SynthDataset[i]`` (render + validity + 100 ordinal pairs +
tensors). Baseline, measured in the same run: the naive per-pixel loop — the same primitives'
intersection code called one ray at a time through every primitive (``trace`` on a single ray),
timed on a 32×24 image and scaled by pixel count. The baseline does intersection only (no
texturing or shading), so the reported speed-ups are, if anything, understated.

Usage::

    python benchmarks/synth_speed.py [--seeds 3] [--frames 20] [--no-write]

Writes the table to ``benchmarks/RESULTS.md`` under "## Synthetic world" (other sections are kept).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before NumPy loads BLAS: one core

import argparse  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from depthforge.geometry.camera import intrinsics_from_fov  # noqa: E402
from depthforge.synth.dataset import DEFAULT_FOV, SynthDataset  # noqa: E402
from depthforge.synth.render import render, trace  # noqa: E402
from depthforge.synth.scene import World, generate_world  # noqa: E402

SIZES = ((128, 96), (320, 240))
BASELINE_SIZE = (32, 24)
RESULTS = Path(__file__).with_name("RESULTS.md")
SECTION = "## Synthetic world"


def worlds(kind: str, seeds: int, frames: int) -> list[World]:
    return [generate_world(kind, np.random.default_rng(s), frames) for s in range(seeds)]


def render_fps(kind: str, size: tuple[int, int], scenes: list[World], frames: int) -> float:
    width, height = size
    K = intrinsics_from_fov(width, height, DEFAULT_FOV[kind], dtype=torch.float64).numpy()
    render(scenes[0].scene, K, scenes[0].trajectory.pose(0.0), width, height)  # warm-up
    start = time.perf_counter()
    for world in scenes:
        for t in range(frames):
            render(world.scene, K, world.trajectory.pose(float(t)), width, height)
    return len(scenes) * frames / (time.perf_counter() - start)


def naive_seconds_per_pixel(kind: str, scenes: list[World], frames: int) -> float:
    """The per-pixel loop: every ray alone through every primitive (no culling, no batching)."""
    width, height = BASELINE_SIZE
    K = intrinsics_from_fov(width, height, DEFAULT_FOV[kind], dtype=torch.float64).numpy()
    k_inv = np.linalg.inv(K)
    start, pixels = time.perf_counter(), 0
    for world in scenes:
        for t in range(frames):
            pose = world.trajectory.pose(float(t))
            for v in range(height):
                for u in range(width):
                    ray = (pose[:3, :3] @ (k_inv @ [u, v, 1.0])).astype(np.float32)
                    trace(world.scene, pose[:3, 3], ray[None])
                    pixels += 1
    return (time.perf_counter() - start) / pixels


def sample_fps(kind: str, size: tuple[int, int], samples: int) -> float:
    data = SynthDataset(scenes=max(1, samples // 10), frames=10, size=size, kind=kind)
    data[0]  # warm-up (also generates the first world)
    start = time.perf_counter()
    for i in range(len(data)):
        data[i]
    return len(data) / (time.perf_counter() - start)


def write_section(text: str) -> None:
    """Replace (or append) the "Synthetic world" section of RESULTS.md, keeping the others."""
    old = RESULTS.read_text() if RESULTS.is_file() else "# Benchmark results\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.M | re.S)
    new = pattern.sub(lambda _: text, old) if pattern.search(old) else old.rstrip() + "\n\n" + text
    RESULTS.write_text(new)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="worlds per kind")
    parser.add_argument("--frames", type=int, default=20, help="frames rendered per world")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args()
    torch.set_num_threads(1)
    load = os.getloadavg()[0]

    rows = []
    for kind in ("indoor", "outdoor"):
        scenes = worlds(kind, args.seeds, args.frames)
        per_pixel = naive_seconds_per_pixel(kind, scenes, frames=1)
        for size in SIZES:
            fps = render_fps(kind, size, scenes, args.frames)
            naive_fps = 1.0 / (per_pixel * size[0] * size[1])
            dataset_fps = sample_fps(kind, size, samples=20)
            rows.append((kind, size, fps, dataset_fps, naive_fps, fps / naive_fps))
            print(
                f"{kind:8s} {size[0]}×{size[1]}: render {fps:7.1f} frames/s, "
                f"SynthDataset {dataset_fps:6.1f} samples/s, naive per-pixel loop "
                f"{naive_fps:7.3f} frames/s → speed-up ×{fps / naive_fps:,.0f}"
            )

    lines = [
        SECTION,
        "",
        "`python benchmarks/synth_speed.py` (one core: `torch.set_num_threads(1)`, BLAS threads 1;",
        f"{args.seeds} worlds × {args.frames} frames per kind; {os.cpu_count()}-core machine with",
        f"load average {load:.1f} at the start (other jobs share the cores, so these are lower",
        f"bounds); Python {platform.python_version()}, NumPy {np.__version__}).",
        "Baseline, same run: the naive per-pixel loop (each ray alone through every primitive,",
        f"intersection only, timed at {BASELINE_SIZE[0]}×{BASELINE_SIZE[1]} and scaled by pixel "
        "count).",
        "",
        "| kind | size | render frames/s | SynthDataset samples/s | naive loop frames/s | speed-up |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for kind, (w, h), fps, dataset_fps, naive_fps, ratio in rows:
        lines.append(
            f"| {kind} | {w}×{h} | {fps:.1f} | {dataset_fps:.1f} | {naive_fps:.3f} | ×{ratio:,.0f} |"
        )
    lines += [
        "",
        "Targets: ≥ 100 frames/s at 128×96 and ≥ 20 frames/s at 320×240 (render, one core).",
        "SynthDataset samples include validity, 100 ordinal pairs and the tensor conversion.",
        "",
    ]
    if not args.no_write:
        write_section("\n".join(lines) + "\n")
        print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
