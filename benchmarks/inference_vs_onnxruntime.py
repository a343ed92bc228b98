"""Eager PyTorch vs ONNX Runtime on the same exported graph: time ratio per depth model at its
paper size, per batch size and thread count (CPU, random weights).

Usage::

    python benchmarks/inference_vs_onnxruntime.py [--models ... | --all] [--batches 1 8]
        [--threads 1 2] [--repeats 3] [--clock wall|cpu]

``--all``: every registered depth model except the ``*_slow`` FCRN variants (the reference
formulation of the same network); about an hour on 2 cores. A depth-completion model gets random
sparse depth (5 % of the pixels) as its second input.

For each model: ``export_onnx`` (opset 17; the depth head only), then for each thread count and
batch, run interleaved: the plain eager ``forward_depth`` (no autograd), the prepared model that
``predict`` runs (:func:`depthforge.models.inference.inference_model`: BatchNorm folded, ELU
through ``exp``, channels_last) and the ONNX Runtime session (CPU provider, same thread count,
spinning off). Each time is the median of ``--repeats``. ``--clock cpu`` times the calling
thread's CPU time instead of the wall clock (one thread only; ONNX Runtime then runs on the
calling thread): on a shared machine it does not count the time other processes hold the core.
Printed ratios are eager / ORT (1.0 = ORT's pace; above = slower). ``peak`` is the model's
convolution and linear-layer arithmetic (2 flops per multiply-add) per second of the prepared
model, as a fraction of the same clock's float32 matmul rate (2048×2048, best of 3) at that
thread count. The arithmetic counted is the direct convolution's, so where the prepared model
runs Winograd's F(2×2, 3×3) (fewer multiplies) ``peak`` is an effective rate. PyTorch gets
huge pages for its large buffers, as under ``depthforge predict``
(:mod:`depthforge.huge_pages`; ``THP_MEM_ALLOC_ENABLE=0`` turns them off).
"""

from __future__ import annotations

from depthforge.huge_pages import request_huge_pages

request_huge_pages()  # before PyTorch's first allocation, as the command line does

import argparse  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from functools import partial  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402
from torch import nn  # noqa: E402

from depthforge.models import create_model, export_onnx  # noqa: E402
from depthforge.models.inference import inference_model, to_inference_layout  # noqa: E402
from depthforge.models.names import MODEL_NAMES  # noqa: E402
from timing import median_seconds_interleaved  # noqa: E402

DEFAULT_MODELS = [
    "eigen2014_fine",
    "eigen2015_alexnet",
    "eigen2015_vgg16",
    "fcrn_resnet18",
    "fcrn_resnet50",
    "monodepth2_resnet18",
    "two_stream",
]


def layer_flops(model: nn.Module, *inputs: torch.Tensor) -> int:
    """Floating-point operations of the convolutions and linear layers of one forward."""
    total = 0

    def count(module: nn.Module, args: tuple, out: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            per_output = module.in_channels // module.groups * module.weight[0, 0].numel()
            total += 2 * out.numel() * per_output
        elif isinstance(module, nn.ConvTranspose2d):
            per_input = module.out_channels // module.groups * module.weight[0, 0].numel()
            total += 2 * args[0].numel() * per_input
        elif isinstance(module, nn.Linear):
            total += 2 * out.numel() * module.in_features

    hooks = [m.register_forward_hook(count) for m in model.modules()]
    with torch.no_grad():
        model.forward_depth(*inputs)
    for hook in hooks:
        hook.remove()
    return total


def example_inputs(model: nn.Module, batch: int, h: int, w: int) -> list[torch.Tensor]:
    """Random images, and for a depth-completion model sparse depth (5 % of the pixels, 1–5 m)."""
    inputs = [torch.rand(batch, 3, h, w)]
    if model.takes_sparse:
        depth = 1.0 + 4.0 * torch.rand(batch, 1, h, w)
        inputs.append(torch.where(torch.rand(batch, 1, h, w) < 0.05, depth, 0.0))
    return inputs


def matmul_rate(clock) -> float:
    """float32 matmul flops per second (2048², best of 3) at the current thread count."""
    a, b = torch.rand(2048, 2048), torch.rand(2048, 2048)
    a @ b
    best = float("inf")
    for _ in range(3):
        start = clock()
        a @ b
        best = min(best, clock() - start)
    return 2 * 2048**3 / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=DEFAULT_MODELS)
    parser.add_argument("--all", action="store_true", help="every registered depth model")
    parser.add_argument("--batches", nargs="*", type=int, default=[1, 8])
    parser.add_argument("--threads", nargs="*", type=int, default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    args = parser.parse_args()
    if args.all:
        args.models = [
            name
            for name, entry in MODEL_NAMES.items()
            if entry.output_space is not None and not name.endswith("_slow")
        ]
    if args.clock == "cpu" and args.threads != [1]:
        parser.error("--clock cpu needs --threads 1")
    clock = time.thread_time if args.clock == "cpu" else time.perf_counter
    import onnxruntime as ort

    print(f"torch {torch.__version__}, onnxruntime {ort.__version__}, clock {args.clock}, "
          f"load {os.getloadavg()}")  # fmt: skip
    print("| model | H×W | threads | batch | eager ms | prepared ms | ORT ms "
          "| eager / ORT | prepared / ORT | peak |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in args.models:
        torch.manual_seed(0)
        model = create_model(name).eval()
        prepared = inference_model(model)
        h, w = model.config.input_size
        flops = layer_flops(model, *example_inputs(model, 1, h, w))
        with tempfile.TemporaryDirectory() as tmp:
            path = export_onnx(model, Path(tmp) / f"{name}.onnx")
            for threads in args.threads:
                torch.set_num_threads(threads)
                peak = matmul_rate(clock)
                options = ort.SessionOptions()
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                options.intra_op_num_threads = threads
                session = ort.InferenceSession(
                    str(path), options, providers=["CPUExecutionProvider"]
                )
                for batch in args.batches:
                    inputs = example_inputs(model, batch, h, w)
                    in_layout = [to_inference_layout(t) for t in inputs]
                    feed = {
                        i.name: t.numpy() for i, t in zip(session.get_inputs(), inputs, strict=True)
                    }
                    with torch.no_grad():
                        eager_out = model.forward_depth(*inputs)
                        err = (prepared.forward_depth(*in_layout) - eager_out).abs().max()
                        assert err <= 1e-4 * eager_out.abs().max(), f"{name}: prepared differs"
                        times = median_seconds_interleaved(
                            [
                                partial(model.forward_depth, *inputs),
                                partial(prepared.forward_depth, *in_layout),
                                partial(session.run, None, feed),
                            ],
                            args.repeats,
                            clock,
                        )
                    t_eager, t_prep, t_ort = times
                    frac = batch * flops / t_prep / peak
                    print(f"| {name} | {h}×{w} | {threads} | {batch} | {1e3 * t_eager:.0f} | "
                          f"{1e3 * t_prep:.0f} | {1e3 * t_ort:.0f} | {t_eager / t_ort:.2f} | "
                          f"{t_prep / t_ort:.2f} | {frac:.2f} |", flush=True)  # fmt: skip
                del session
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
