"""Eager PyTorch vs ONNX Runtime on the same exported graph: time ratio per depth model at its
paper size, per batch size and thread count (CPU, random weights).

Usage::

    python benchmarks/inference_vs_onnxruntime.py [--models ...] [--batches 1 8]
        [--threads 1 2] [--repeats 3]

For each model: ``export_onnx`` (opset 17; the depth head only), then for each thread count and
batch the eager ``forward_depth`` (no autograd), the same with BatchNorm folded into the
preceding convolutions (``torch.fx`` ``fuse``: conv → BN pairs only; where the model traces) and the ONNX Runtime
session (CPU provider, same thread count, spinning off) run interleaved; each time is the
median of ``--repeats``. Printed ratios are eager / ORT (1.0 = ORT's pace; above = slower).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from functools import partial
from pathlib import Path

import torch
from torch.fx.experimental.optimization import fuse

from depthforge.models import create_model, export_onnx
from timing import median_seconds_interleaved

DEFAULT_MODELS = [
    "eigen2014_fine",
    "eigen2015_alexnet",
    "eigen2015_vgg16",
    "fcrn_resnet18",
    "fcrn_resnet50",
    "monodepth2_resnet18",
    "two_stream",
]


def folded(model: torch.nn.Module) -> torch.nn.Module | None:
    """BatchNorm folded into the convolutions right before it (``torch.fx`` ``fuse``), or None
    when fx cannot trace the model (Python control flow on tensors)."""
    try:
        return fuse(model)
    except Exception:  # noqa: BLE001 - any tracing failure means "not foldable this way"
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=DEFAULT_MODELS)
    parser.add_argument("--batches", nargs="*", type=int, default=[1, 8])
    parser.add_argument("--threads", nargs="*", type=int, default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import onnxruntime as ort

    print(f"torch {torch.__version__}, onnxruntime {ort.__version__}, load {os.getloadavg()}")
    print("| model | H×W | threads | batch | eager ms | BN-folded ms | ORT ms "
          "| eager / ORT | folded / ORT |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in args.models:
        torch.manual_seed(0)
        model = create_model(name).eval()
        h, w = model.config.input_size
        fused = folded(model)
        with tempfile.TemporaryDirectory() as tmp:
            path = export_onnx(model, Path(tmp) / f"{name}.onnx")
            for threads in args.threads:
                torch.set_num_threads(threads)
                options = ort.SessionOptions()
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                options.intra_op_num_threads = threads
                session = ort.InferenceSession(
                    str(path), options, providers=["CPUExecutionProvider"]
                )
                for batch in args.batches:
                    x = torch.rand(batch, 3, h, w)
                    with torch.no_grad():
                        eager_out = model.forward_depth(x)
                        fns = [partial(model.forward_depth, x)]
                        if fused is not None:
                            err = (fused(x) - eager_out).abs().max() / eager_out.abs().max()
                            assert err < 1e-4, f"{name}: folded model differs by {err:.1e}"
                            fns.append(partial(fused, x))
                        fns.append(partial(session.run, None, {"images": x.numpy()}))
                        times = median_seconds_interleaved(fns, args.repeats)
                    t_eager, t_ort = times[0], times[-1]
                    t_fold = f"{1e3 * times[1]:.0f}" if fused is not None else "n/a"
                    r_fold = f"{times[1] / t_ort:.2f}" if fused is not None else "n/a"
                    print(f"| {name} | {h}×{w} | {threads} | {batch} | {1e3 * t_eager:.0f} | "
                          f"{t_fold} | {1e3 * t_ort:.0f} | {t_eager / t_ort:.2f} | {r_fold} |",
                          flush=True)  # fmt: skip
                del session
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
