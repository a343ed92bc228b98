"""CPU inference throughput (images/s) of each depth architecture at its paper resolution,
eager PyTorch vs ONNX Runtime (random weights; speed does not depend on them).

Usage::

    python benchmarks/inference_speed.py [--batch 1] [--repeats 5] [--threads 1] [--models ...]

One thread by default: on a shared machine, multi-threaded timings swing with the load.
"""

from __future__ import annotations

import argparse
import tempfile
from functools import partial
from pathlib import Path

import torch

from depthforge.models import create_model, export_onnx
from timing import best_seconds

DEFAULT_MODELS = [
    "eigen2014_fine",
    "eigen2015_alexnet",
    "eigen2015_vgg16",
    "fcrn_resnet18",
    "fcrn_resnet50",
    "fcrn_resnet50_slow",
    "two_stream",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--models", nargs="*", default=DEFAULT_MODELS)
    parser.add_argument(
        "--threads", type=int, default=1, help="threads for PyTorch and ONNX Runtime alike"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    try:
        import onnxruntime as ort
    except ImportError:
        ort = None
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}")
    print("| model | input H×W | output H×W | params (M) | eager img/s | ONNX Runtime img/s |")
    print("|---|---|---|---|---|---|")
    for name in args.models:
        torch.manual_seed(0)
        model = create_model(name).eval()
        h, w = model.config.input_size
        x = torch.rand(args.batch, 3, h, w)
        with torch.no_grad():
            out = model(x)
        depth = out if isinstance(out, torch.Tensor) else out.depth
        params = sum(p.numel() for p in model.parameters()) / 1e6
        with torch.no_grad():
            eager = args.batch / best_seconds(partial(model, x), args.repeats)
        onnx_rate = "n/a (onnxruntime missing)"
        if ort is not None:
            with tempfile.TemporaryDirectory() as tmp:
                path = export_onnx(model, Path(tmp) / f"{name}.onnx")
                options = ort.SessionOptions()
                # Idle ORT threads spin by default and would steal the CPU from the next model.
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                options.intra_op_num_threads = args.threads
                session = ort.InferenceSession(
                    str(path), options, providers=["CPUExecutionProvider"]
                )
                run = partial(session.run, None, {"images": x.numpy()})
                rate = args.batch / best_seconds(run, args.repeats)
                del run, session
                onnx_rate = f"{rate:.2f}"
        size = f"{depth.shape[-2]}×{depth.shape[-1]}"
        print(f"| {name} | {h}×{w} | {size} | {params:.1f} | {eager:.2f} | {onnx_rate} |")


if __name__ == "__main__":
    main()
