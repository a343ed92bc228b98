"""Fast up-convolution (four small convs, interleaved) vs unpool + 5×5 conv (Laina et al. 2016)
on the four FCRN ResNet-50 decoder shapes at the paper's 228×304 input (CPU).

Usage::

    python benchmarks/upconv_speed.py [--batch 8] [--repeats 10] [--threads 0]

The slow form zero-inserts (unpools) and runs a 5×5 conv at the high resolution: 4× the MACs of
the fast form (25·4 vs 9 + 6 + 6 + 4 = 25 taps per low-res pixel per phase group).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial

import torch

from depthforge.models.upprojection import FastUpConv, UnpoolConv

# (in_channels, out_channels, H, W) of the up-projections' up-convolutions for a 228×304 input.
DECODER_SHAPES = [(1024, 512, 8, 10), (512, 256, 16, 20), (256, 128, 32, 40), (128, 64, 64, 80)]


def best_ms_interleaved(
    fn_a: Callable[[], object], fn_b: Callable[[], object], repeats: int
) -> tuple[float, float]:
    """Fastest of ``repeats`` runs of each, alternating a and b so both see the same machine load
    (the minimum is the least disturbed run on a shared machine)."""
    fn_a(), fn_b()  # warm-up
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for fn, bucket in ((fn_a, times[0]), (fn_b, times[1])):
            start = time.perf_counter()
            fn()
            bucket.append(time.perf_counter() - start)
    return 1e3 * min(times[0]), 1e3 * min(times[1])


def forward(module: torch.nn.Module, x: torch.Tensor) -> None:
    with torch.no_grad():
        module(x)


def forward_backward(module: torch.nn.Module, x: torch.Tensor) -> None:
    module(x.detach().requires_grad_(True)).sum().backward()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}")
    print("| shape (Cin→Cout, H×W) | pass | slow ms | fast ms | slow/fast |")
    print("|---|---|---|---|---|")
    totals = {"forward": [0.0, 0.0], "forward+backward": [0.0, 0.0]}
    for cin, cout, h, w in DECODER_SHAPES:
        slow = UnpoolConv(cin, cout)
        fast = FastUpConv(cin, cout).load_from_unpool_conv(slow)
        x = torch.randn(args.batch, cin, h, w)
        with torch.no_grad():
            err = (fast(x) - slow(x)).abs().max().item()
        for name, run in (("forward", forward), ("forward+backward", forward_backward)):
            t_slow, t_fast = best_ms_interleaved(
                partial(run, slow, x), partial(run, fast, x), args.repeats
            )
            totals[name][0] += t_slow
            totals[name][1] += t_fast
            shape = f"{cin}→{cout}, {h}×{w}"
            print(f"| {shape} | {name} | {t_slow:.2f} | {t_fast:.2f} | {t_slow / t_fast:.2f} |")
        print(f"|  | max abs(fast − slow) | {err:.1e} |  |  |")
    for name, (t_slow, t_fast) in totals.items():
        print(f"| all four | {name} | {t_slow:.2f} | {t_fast:.2f} | {t_slow / t_fast:.2f} |")


if __name__ == "__main__":
    main()
