"""Fast up-convolution (four true-shaped convs, interleaved) vs the same four sub-kernels fused
into one 3×3 convolution with 4·Cout outputs, and vs unpool + 5×5 conv (Laina et al. 2016), on
the four FCRN ResNet-50 decoder shapes at the paper's 228×304 input (CPU).

Usage::

    python benchmarks/upconv_speed.py [--batch 8] [--repeats 7] [--threads 0]

Taps per low-res pixel per phase group: four convs 9 + 6 + 6 + 4 = 25; fused 4 × 9 = 36; the
plain form 4 × 25 = 100 on the zero-inserted map. The three forms run interleaved (a, b, c, a,
b, c, …) and each time is the median of ``--repeats``, so all see the same machine load; the
ratios are what to read on a shared machine.
"""

from __future__ import annotations

import argparse
from functools import partial

import torch
import torch.nn.functional as F

from depthforge.models.upprojection import FastUpConv, UnpoolConv, interleave_phases
from timing import median_seconds_interleaved

# (in_channels, out_channels, H, W) of the up-projections' up-convolutions for a 228×304 input.
DECODER_SHAPES = [(1024, 512, 8, 10), (512, 256, 16, 20), (256, 128, 32, 40), (128, 64, 64, 80)]


class FusedUpConv(torch.nn.Module):
    """The peer: ``fast``'s four sub-kernels zero-padded to 3×3 at their offsets and run as one
    3×3 convolution with ``4·Cout`` outputs (the fused kernel rebuilt each call, as training
    must; at inference it could be cached, which the ``cached`` flag does)."""

    def __init__(self, fast: FastUpConv, cached: bool):
        super().__init__()
        self.fast = fast
        self.kernel = self.fused() if cached else None

    def fused(self) -> tuple[torch.Tensor, torch.Tensor]:
        # input pad (l, r, t, b) = 1 − kernel pad inside the 3×3 window
        kernel_pads = [tuple(1 - p for p in pads) for pads in self.fast.input_pads]
        weight = torch.cat(
            [F.pad(c.weight, p) for c, p in zip(self.fast.convs, kernel_pads, strict=True)]
        )
        return weight, torch.cat([c.bias for c in self.fast.convs])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight, bias = self.kernel if self.kernel is not None else self.fused()
        return interleave_phases(*F.conv2d(x, weight, bias, padding=1).chunk(4, dim=1))


def forward(module: torch.nn.Module, x: torch.Tensor) -> None:
    with torch.no_grad():
        module(x)


def forward_backward(module: torch.nn.Module, x: torch.Tensor) -> None:
    module(x.detach().requires_grad_(True)).sum().backward()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}, "
          f"median of {args.repeats}")  # fmt: skip
    print("| shape (Cin→Cout, H×W) | pass | slow ms | fused ms | four convs ms "
          "| fused / four | slow / four |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|")
    totals = {"forward": [0.0, 0.0, 0.0], "forward+backward": [0.0, 0.0, 0.0]}
    for cin, cout, h, w in DECODER_SHAPES:
        slow = UnpoolConv(cin, cout)
        fast = FastUpConv(cin, cout).load_from_unpool_conv(slow)
        x = torch.randn(args.batch, cin, h, w)
        with torch.no_grad():
            err_fast = (fast(x) - slow(x)).abs().max().item()
            err_fused = (FusedUpConv(fast, True)(x) - fast(x)).abs().max().item()
        for name, run in (("forward", forward), ("forward+backward", forward_backward)):
            fused = FusedUpConv(fast, cached=name == "forward")
            times = median_seconds_interleaved(
                [partial(run, slow, x), partial(run, fused, x), partial(run, fast, x)],
                args.repeats,
            )
            times = [1e3 * t for t in times]
            for i, t in enumerate(times):
                totals[name][i] += t
            t_slow, t_fused, t_four = times
            print(f"| {cin}→{cout}, {h}×{w} | {name} | {t_slow:.1f} | {t_fused:.1f} | "
                  f"{t_four:.1f} | {t_fused / t_four:.2f} | {t_slow / t_four:.2f} |")  # fmt: skip
        print(f"|  | max abs(four − slow) {err_fast:.1e}, (fused − four) {err_fused:.1e} "
              "| | | | | |")  # fmt: skip
    for name, (t_slow, t_fused, t_four) in totals.items():
        print(f"| all four | {name} | {t_slow:.1f} | {t_fused:.1f} | {t_four:.1f} | "
              f"{t_fused / t_four:.2f} | {t_slow / t_four:.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
