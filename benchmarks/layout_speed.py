"""Channels_last kept where maps are combined: the prepared models before and after.

A prepared model runs on channels_last maps (:mod:`depthforge.models.inference`). Three places
lost that order: the fast up-convolution's interleave of its four phases, the concatenation of a
channels_last map with one that looks NCHW (a one-channel disparity, a reshaped coarse map), and
the NCHW weights of transposed convolutions, copied at every call.
:mod:`depthforge.models.layout` and the preparation now keep it.

Ops: each of the three on one thread, the old form against the new, same inputs, equal outputs.
Models: the prepared model as it is against the same model with the old behaviour restored
(``channels_innermost`` answering False, which sends the interleave and ``cat_channels`` down
their NCHW paths, and the transposed convolutions' weights made NCHW again), interleaved, and the
two outputs' largest difference (the same arithmetic: 0 expected).

``--clock cpu`` (default) times the calling thread's CPU time, which other processes on a busy
machine do not inflate; it needs one thread.

Usage::

    python benchmarks/layout_speed.py [--models fcrn_resnet18:1 ...] [--threads 1]
        [--repeats 15] [--model-repeats 9] [--clock cpu|wall] [--no-ops]
"""

from __future__ import annotations

from depthforge.huge_pages import request_huge_pages

request_huge_pages()  # before PyTorch's first allocation, as the command line does

import argparse  # noqa: E402
import copy  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from functools import partial  # noqa: E402

import torch  # noqa: E402
from torch import nn  # noqa: E402

import depthforge.models.layout as layout  # noqa: E402
import depthforge.models.upprojection as upprojection  # noqa: E402
from depthforge.models import create_model  # noqa: E402
from depthforge.models.inference import inference_model, to_inference_layout  # noqa: E402
from inference_vs_onnxruntime import example_inputs  # noqa: E402
from timing import median_seconds_interleaved  # noqa: E402

MODELS = [
    "fcrn_resnet18:1", "fcrn_resnet50:1", "two_stream:1", "sfmlearner_dispnet:1", "ddvo_vgg:1",
    "eigen2014_fine:1", "sparse_to_dense_resnet18:1", "fcrn_resnet18:8", "sfmlearner_dispnet:8",
]  # fmt: skip
CL = torch.channels_last


@contextmanager
def nchw_paths() -> Iterator[None]:
    """Send the interleave and ``cat_channels`` down their NCHW paths, as before."""
    saved = layout.channels_innermost, upprojection.channels_innermost
    layout.channels_innermost = upprojection.channels_innermost = lambda x: False
    try:
        yield
    finally:
        layout.channels_innermost, upprojection.channels_innermost = saved


def before(fn: Callable[[], object]) -> Callable[[], object]:
    """``fn`` run with :func:`nchw_paths`."""

    def run() -> object:
        with nchw_paths():
            return fn()

    return run


def op_rows(repeats: int, clock: Callable[[], float]) -> None:
    print("| op | shape | before ms | after ms | before / after | equal |")
    print("|---|---|---:|---:|---:|---|")
    torch.manual_seed(0)

    def row(op: str, shape: str, fn_before, fn_after) -> None:
        with torch.no_grad():
            equal = torch.equal(fn_before(), fn_after())
            t_before, t_after = median_seconds_interleaved([fn_before, fn_after], repeats, clock)
        print(f"| {op} | {shape} | {1e3 * t_before:.2f} | {1e3 * t_after:.2f} | "
              f"{t_before / t_after:.2f} | {equal} |", flush=True)  # fmt: skip

    for shape in [(1, 64, 64, 80), (1, 128, 32, 40), (8, 64, 64, 80)]:
        phases = [torch.randn(shape).contiguous(memory_format=CL) for _ in range(4)]
        interleave = lambda p=phases: upprojection.interleave_phases(*p)  # noqa: E731
        row("interleave of 4 phases", "×".join(map(str, shape)), before(interleave), interleave)
    for b, c, h, w in [(1, 32, 64, 208), (1, 16, 128, 416), (8, 32, 64, 208)]:
        maps = [torch.randn(b, c, h, w).contiguous(memory_format=CL) for _ in range(2)]
        maps.append(torch.randn(b, 1, h, w))  # an upsampled one-channel disparity
        conv = nn.Conv2d(2 * c + 1, c, 3, padding=1).to(memory_format=CL)
        cat_conv = lambda m=maps, f=conv: f(layout.cat_channels(m))  # noqa: E731
        shape = f"{b}×({c}+{c}+1)×{h}×{w}"
        row("concatenation + 3×3 conv", shape, before(cat_conv), cat_conv)
    for c_in, c_out, h, w in [(512, 512, 1, 4), (512, 512, 2, 7), (512, 256, 4, 13)]:
        up = nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1)
        up_cl = copy.deepcopy(up)
        up_cl.weight.data = up_cl.weight.data.contiguous(memory_format=CL)
        x = torch.randn(1, c_in, h, w).contiguous(memory_format=CL)
        shape = f"{c_in}→{c_out} at 1×{h}×{w}"
        row("transposed conv, NCHW → CL weights", shape, partial(up, x), partial(up_cl, x))


def model_rows(specs: list[str], repeats: int, clock: Callable[[], float]) -> None:
    print("| model | threads | batch | before ms | after ms | before / after | max diff |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for spec in specs:
        name, batch = spec.split(":")
        torch.manual_seed(0)
        model = create_model(name).eval()
        after = inference_model(model)
        old = copy.deepcopy(after)
        for module in old.modules():
            if isinstance(module, nn.ConvTranspose2d):
                module.weight.data = module.weight.data.contiguous()
        h, w = model.config.input_size
        inputs = [to_inference_layout(t) for t in example_inputs(model, int(batch), h, w)]
        run_before = before(lambda m=old, i=inputs: m.forward_depth(*i))
        run_after = lambda m=after, i=inputs: m.forward_depth(*i)  # noqa: E731
        with torch.no_grad():
            diff = (run_before() - run_after()).abs().max().item()
            t_before, t_after = median_seconds_interleaved([run_before, run_after], repeats, clock)
        print(f"| {name} | {torch.get_num_threads()} | {batch} | {1e3 * t_before:.1f} | "
              f"{1e3 * t_after:.1f} | {t_before / t_after:.3f} | {diff:.1e} |", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=MODELS, help="NAME:BATCH pairs")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=15, help="runs per op")
    parser.add_argument("--model-repeats", type=int, default=9, help="runs per model")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="cpu")
    parser.add_argument("--no-ops", action="store_true", help="whole models only")
    args = parser.parse_args()
    if args.clock == "cpu" and args.threads != 1:
        parser.error("--clock cpu needs --threads 1")
    torch.set_num_threads(args.threads)
    clock = time.thread_time if args.clock == "cpu" else time.perf_counter
    print(f"torch {torch.__version__}, clock {args.clock}, load {os.getloadavg()}")
    if not args.no_ops:
        op_rows(args.repeats, clock)
    model_rows(args.models, args.model_repeats, clock)
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
