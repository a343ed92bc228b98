"""Winograd F(2×2, 3×3) against PyTorch's direct convolution on the CPU: single layers of the
shapes the registered models have, and whole prepared models with and without it.

Layers: for each channel pair, map size, batch and thread count, the channels_last
``F.conv2d`` (what a prepared model ran before) and :func:`winograd_conv3x3` on the same
input, interleaved, median of ``--repeats``; the ratio direct / Winograd (above 1 = Winograd
faster), whether :func:`prefers_winograd` takes that layer, and each one's largest error
against a float64 convolution (relative to the output's largest magnitude).

Models: ``prepare_for_inference(model)`` against ``prepare_for_inference(model,
winograd=False)`` and against the prepared model with Winograd on every map
(``WinogradConv2d.min_tiles = 0``, as before :data:`~depthforge.models.winograd.MIN_TILES`), at
the paper size, interleaved, and the largest difference between the outputs with and without.

Usage::

    python benchmarks/winograd_speed.py [--models ...] [--batches 1 8] [--threads 1 2]
        [--repeats 5] [--no-layers]
"""

from __future__ import annotations

import argparse
import os
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from depthforge.models import create_model
from depthforge.models.inference import prepare_for_inference, to_inference_layout
from depthforge.models.winograd import (
    MIN_TILES,
    WinogradConv2d,
    output_tiles,
    prefers_winograd,
    winograd_conv3x3,
    winograd_kernels,
)
from timing import median_seconds_interleaved

# (in, out, H, W): FCRN ResNet stages at 228×304, Eigen 2015 VGG at 240×320, monodepth2
# decoder at 192×640
LAYERS = [
    (128, 128, 29, 38),
    (128, 128, 60, 80),
    (128, 256, 60, 80),
    (256, 256, 15, 19),
    (256, 256, 60, 80),
    (256, 512, 30, 40),
    (512, 512, 8, 10),
    (512, 512, 15, 20),
    (512, 512, 16, 20),
    (256, 256, 12, 40),
    # small maps (MIN_TILES): SfMLearner's and DDVO's decoders at 128×416, Eigen 2014's coarse
    (1024, 512, 1, 4),
    (1024, 512, 2, 7),
    (1024, 512, 4, 13),
    (512, 512, 1, 4),
    (512, 512, 2, 7),
    (512, 512, 4, 13),
    (384, 384, 6, 8),
    (384, 256, 6, 8),
]
MODELS = [
    "ddvo_vgg",
    "eigen2014_fine",
    "eigen2015_vgg16",
    "fcrn_resnet18",
    "fcrn_resnet50",
    "monodepth2_resnet18",
    "sfmlearner_dispnet",
]


def layer_rows(batches: list[int], repeats: int) -> None:
    print("| in → out | H×W | threads | batch | direct ms | Winograd ms | direct / Winograd "
          "| taken | error direct | error Winograd |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|---|---:|---:|")
    generator = torch.Generator().manual_seed(0)
    for c, k, h, w in LAYERS:
        conv = nn.Conv2d(c, k, 3, padding=1)
        weight = torch.randn(k, c, 3, 3, generator=generator) / (3 * c**0.5)
        bias = torch.randn(k, generator=generator)
        kernels = winograd_kernels(weight)
        weight_cl = weight.contiguous(memory_format=torch.channels_last)
        for batch in batches:
            x = torch.randn(batch, c, h, w, generator=generator)
            x = x.contiguous(memory_format=torch.channels_last)
            exact = F.conv2d(x.double(), weight.double(), bias.double(), padding=1)
            scale = exact.abs().max()
            direct = partial(F.conv2d, x, weight_cl, bias, padding=1)
            fast = partial(winograd_conv3x3, x, kernels, bias)
            err_direct = float((direct().double() - exact).abs().max() / scale)
            err_fast = float((fast().double() - exact).abs().max() / scale)
            t_direct, t_fast = median_seconds_interleaved([direct, fast], repeats)
            taken = prefers_winograd(conv) and output_tiles(x.shape, 1) >= MIN_TILES
            print(f"| {c} → {k} | {h}×{w} | {torch.get_num_threads()} | {batch} | "
                  f"{1e3 * t_direct:.2f} | {1e3 * t_fast:.2f} | {t_direct / t_fast:.2f} | "
                  f"{'yes' if taken else 'no'} | {err_direct:.1e} | "
                  f"{err_fast:.1e} |", flush=True)  # fmt: skip


def model_rows(names: list[str], batches: list[int], repeats: int) -> None:
    print("| model | H×W | threads | batch | layers taken | without ms | with ms | every map ms "
          "| without / with | every map / with | max difference |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in names:
        torch.manual_seed(0)
        model = create_model(name).eval()
        taken = sum(prefers_winograd(m) for m in model.modules() if isinstance(m, nn.Conv2d))
        plain = prepare_for_inference(model, winograd=False)
        fast = prepare_for_inference(model)
        everywhere = prepare_for_inference(model)
        for module in everywhere.modules():
            if isinstance(module, WinogradConv2d):
                module.min_tiles = 0
        h, w = model.config.input_size
        for batch in batches:
            inputs = [torch.rand(batch, 3, h, w)]
            if model.takes_sparse:
                inputs.append(torch.where(torch.rand(batch, 1, h, w) < 0.05, 2.0, 0.0))
            inputs = [to_inference_layout(t) for t in inputs]
            with torch.no_grad():
                reference = plain.forward_depth(*inputs)
                diff = float((fast.forward_depth(*inputs) - reference).abs().max())
                diff /= float(reference.abs().max())
                runs = [partial(m.forward_depth, *inputs) for m in (plain, fast, everywhere)]
                t_plain, t_fast, t_every = median_seconds_interleaved(runs, repeats)
            print(f"| {name} | {h}×{w} | {torch.get_num_threads()} | {batch} | {taken} | "
                  f"{1e3 * t_plain:.0f} | {1e3 * t_fast:.0f} | {1e3 * t_every:.0f} | "
                  f"{t_plain / t_fast:.2f} | {t_every / t_fast:.2f} | {diff:.1e} |",
                  flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=MODELS)
    parser.add_argument("--batches", nargs="*", type=int, default=[1, 8])
    parser.add_argument("--threads", nargs="*", type=int, default=[1, 2])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-layers", action="store_true", help="whole models only")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, load before {os.getloadavg()}")
    for threads in args.threads:
        torch.set_num_threads(threads)
        if not args.no_layers:
            layer_rows(args.batches, args.repeats)
        model_rows(args.models, args.batches, args.repeats)
    print(f"load after {os.getloadavg()}")


if __name__ == "__main__":
    main()
