"""Synthetic depth of field at 640×480 on the CPU: ``render_dof`` (batched FFT per layer, large
blurs at reduced resolution) vs the naive renderer that convolves every layer in space with
its own kernel (``conv2d``), same layers, same compositing, measured in the same run.

The scene is a frame of the synthetic indoor world (exact metric depth, about 2–6 m).

Usage::

    python benchmarks/dof_speed.py [--repeats 3] [--threads N]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch
import torch.nn.functional as F

from depthforge.render import dof
from depthforge.render.depth import fill_depth_holes
from depthforge.render.lens import PRESETS, signed_coc_px
from depthforge.synth import SynthDataset
from timing import best_seconds


def spatial_blur(stack: torch.Tensor, radii: torch.Tensor, aperture: str, *_: object):
    """The baseline blur: each layer convolved in space with its own kernel (replicated
    borders), one grouped ``conv2d`` per layer."""
    out = torch.empty_like(stack)
    for i, r in enumerate(radii.tolist()):
        half = int(math.ceil(r))
        kernel = dof.aperture_kernels(torch.tensor([r]), half, aperture, stack.dtype)[0]
        layer = F.pad(stack[:, i], (half,) * 4, mode="replicate")
        weight = kernel.flip(0, 1).expand(layer.shape[1], 1, *kernel.shape).contiguous()
        out[:, i] = F.conv2d(layer, weight, groups=layer.shape[1])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    sample = SynthDataset(split="val", scenes=1, frames=1, size=(640, 480), kind="indoor")[0]
    image = np.round(sample.image.permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    depth = fill_depth_holes(sample.depth[0].numpy())
    focus = float(np.median(depth))
    print(
        f"scene 640×480, depth {depth.min():.2f}–{depth.max():.2f} m, focus {focus:.2f} m "
        f"(median), torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    # (focus distance, lens keywords); the portrait lens is where the blur gets large
    configs = {
        "phone 4.25 mm f/1.8": (focus, dict(f_number=1.8, focal_mm=4.25, sensor_width_mm=5.6)),
        "dslr 50 mm f/1.8": (focus, dict(f_number=1.8, focal_mm=50.0, sensor_width_mm=36.0)),
        "dslr 85 mm f/1.2, focus 2 m": (
            2.0,
            dict(f_number=1.2, focal_mm=85.0, sensor_width_mm=36.0),
        ),
        "dslr 85 mm f/1.2, focus 2 m, hexagon + highlights": (
            2.0,
            dict(
                f_number=1.2,
                focal_mm=85.0,
                sensor_width_mm=36.0,
                aperture="hexagon",
                highlight_boost=2.0,
            ),
        ),
    }
    assert PRESETS["dslr"].sensor_width_mm == 36.0
    print("| lens | CoC diameter range (px) | layers | render_dof (s) |")
    print("|---|---:|---:|---:|")
    for name, (z_f, kw) in configs.items():
        coc = signed_coc_px(
            torch.from_numpy(depth).double(),
            focus_m=z_f,
            f_number=kw["f_number"],
            focal_mm=kw["focal_mm"],
            sensor_width_mm=kw["sensor_width_mm"],
            image_width_px=640,
        )
        layers = len(dof.layer_centres(float(coc.min()), float(coc.max()), None))
        seconds = best_seconds(
            lambda z_f=z_f, kw=kw: dof.render_dof(image, depth, focus_m=z_f, **kw), args.repeats
        )
        print(f"| {name} | {coc.min():.1f} … {coc.max():.1f} | {layers} | {seconds:.3f} |")

    # Baseline on the portrait lens: same layers and compositing, spatial convolution.
    z_f, kw = configs["dslr 85 mm f/1.2, focus 2 m"]

    def run(**extra: object) -> np.ndarray:
        return dof.render_dof(image, depth, focus_m=z_f, **kw, **extra)

    fast = run()
    exact = run(max_downsample=1)
    fft_blur = dof.fft_blur
    dof.fft_blur = spatial_blur  # every layer at full resolution, blurred in space
    try:
        start = time.perf_counter()
        naive = run(max_downsample=1)
        naive_s = time.perf_counter() - start
    finally:
        dof.fft_blur = fft_blur
    full_res = best_seconds(lambda: run(max_downsample=1), args.repeats)
    fast_s = best_seconds(run, args.repeats)
    diff_exact = np.abs(exact.astype(int) - naive.astype(int)).max()
    diff_fast = np.abs(fast.astype(float) - naive.astype(float)).mean()
    print()
    print("dslr 85 mm f/1.2 focused at 2 m, same layers and compositing:")
    print(f"  naive spatial conv2d per layer:  {naive_s:.3f} s (one run)")
    print(f"  FFT, full resolution:            {full_res:.3f} s ({naive_s / full_res:.1f}× faster)")
    print(f"  FFT, multi-resolution (default): {fast_s:.3f} s ({naive_s / fast_s:.1f}× faster)")
    print(f"  max |FFT full-res − naive| = {diff_exact} uint8 levels")
    print(f"  mean |multi-res − naive| = {diff_fast:.2f} uint8 levels")


if __name__ == "__main__":
    main()
