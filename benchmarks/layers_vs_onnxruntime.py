"""Where a prepared model loses to ONNX Runtime: its convolution layers, one by one, against the
same layers in ONNX Runtime's own profile (CPU, one thread, CPU time of the calling thread).

PyTorch: every ``nn.Conv2d`` (Winograd's included) and ``nn.ConvTranspose2d`` of the prepared
model (:func:`depthforge.models.inference.inference_model`) timed in place by forward hooks,
``time.thread_time`` around the call. ONNX Runtime: the same model exported (``export_onnx``),
one intra-op thread, its profiler's kernel times of the ``Conv``, ``FusedConv`` and
``ConvTranspose`` nodes. After one warm-up each, the two run ``--repeats`` times, interleaved
(a forward of one, then of the other), so that both see the same machine. Layers are matched by
(input shape, weight shape, output shape) and summed where several have the same shapes.
Unmatched stay: a one-channel output (ONNX Runtime pads it to its block of 8 channels) and the
transposed convolutions (its profile leaves out their prepacked weights). Printed per layer, largest PyTorch time first: both times per forward (ms), the
ratio PyTorch / ORT and the PyTorch module that ran it; then the totals of the matched layers,
and the median whole forward of each.

Usage::

    python benchmarks/layers_vs_onnxruntime.py [--model sfmlearner_dispnet] [--batch 1]
        [--repeats 5] [--top 15]
"""

from __future__ import annotations

from depthforge.huge_pages import request_huge_pages

request_huge_pages()  # before PyTorch's first allocation, as the command line does

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402
from torch import nn  # noqa: E402

from depthforge.models import create_model, export_onnx  # noqa: E402
from depthforge.models.inference import inference_model, to_inference_layout  # noqa: E402
from inference_vs_onnxruntime import example_inputs  # noqa: E402

CONV_NODES = {"Conv", "FusedConv", "ConvTranspose"}

Key = tuple[tuple[int, ...], ...]
"""A layer's (input shape, weight shape, output shape): the output tells strides apart."""


def attach_layer_timers(prepared: nn.Module) -> tuple[dict[Key, float], dict[Key, str], list]:
    """Forward hooks that add each convolution call's CPU seconds to a table by :data:`Key`;
    returns the table, the module class per key and the hook handles."""
    times: dict[Key, float] = defaultdict(float)
    kinds: dict[Key, str] = {}
    starts: dict[nn.Module, float] = {}

    def before(module: nn.Module, args: tuple) -> None:
        starts[module] = time.thread_time()

    def after(module: nn.Module, args: tuple, out: torch.Tensor) -> None:
        key = (tuple(args[0].shape), tuple(module.weight.shape), tuple(out.shape))
        times[key] += time.thread_time() - starts[module]
        kinds[key] = type(module).__name__

    layers = [m for m in prepared.modules() if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)]
    hooks = [m.register_forward_pre_hook(before) for m in layers]
    hooks += [m.register_forward_hook(after) for m in layers]
    return times, kinds, hooks


def ort_conv_times(events: list[dict], runs: int) -> dict[Key, float]:
    """Seconds per run of each convolution node by :data:`Key`, from ONNX Runtime's profile
    events of ``runs`` runs (a warm-up run before them is left out)."""
    nodes = [e for e in events if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")]
    per_run = len(nodes) // (runs + 1)
    times: dict[Key, float] = defaultdict(float)
    for event in nodes[per_run:]:
        args = event["args"]
        if args["op_name"] in CONV_NODES:
            shapes = [next(iter(s.values())) for s in args["input_type_shape"]]
            out = next(iter(args["output_type_shape"][0].values()))
            times[(tuple(shapes[0]), tuple(shapes[1]), tuple(out))] += event["dur"] * 1e-6 / runs
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="sfmlearner_dispnet")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--top", type=int, default=15, help="layers printed")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = create_model(args.model).eval()
    inputs = example_inputs(model, args.batch, *model.config.input_size)
    print(f"{args.model}, batch {args.batch}, one thread, load {os.getloadavg()}")
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.enable_profiling = True
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    prepared = inference_model(model)
    in_layout = [to_inference_layout(t) for t in inputs]
    pt_times, kinds, hooks = attach_layer_timers(prepared)
    whole: dict[str, list[float]] = {"PyTorch": [], "ORT": []}
    with tempfile.TemporaryDirectory() as tmp, torch.no_grad():
        path = export_onnx(model, Path(tmp) / f"{args.model}.onnx")
        options.profile_file_prefix = str(Path(tmp) / "profile")
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        feed = {i.name: t.numpy() for i, t in zip(session.get_inputs(), inputs, strict=True)}
        session.run(None, feed)  # warm-ups: the first run's node events are left out below
        prepared.forward_depth(*in_layout)
        pt_times.clear()
        for _ in range(args.repeats):  # interleaved, so that both see the same machine
            for name, run in (("ORT", lambda: session.run(None, feed)),
                              ("PyTorch", lambda: prepared.forward_depth(*in_layout))):  # fmt: skip
                start = time.thread_time()
                run()
                whole[name].append(time.thread_time() - start)
        events = json.loads(Path(session.end_profiling()).read_text())
    for hook in hooks:
        hook.remove()
    ort_times = ort_conv_times(events, args.repeats)
    pt_times = {k: v / args.repeats for k, v in pt_times.items()}
    print("| input | weight | output | PyTorch ms | ORT ms | PyTorch / ORT | module |")
    print("|---|---|---|---:|---:|---:|---|")
    for key in sorted(pt_times, key=pt_times.get, reverse=True)[: args.top]:
        ort_ms = f"{1e3 * ort_times[key]:.2f}" if key in ort_times else "unmatched"
        ratio = f"{pt_times[key] / ort_times[key]:.2f}" if key in ort_times else ""
        shapes = " | ".join(str(list(shape)) for shape in key)
        print(f"| {shapes} | {1e3 * pt_times[key]:.2f} | {ort_ms} | {ratio} | {kinds[key]} |")
    matched = [k for k in pt_times if k in ort_times]
    pt_sum = sum(pt_times[k] for k in matched)
    ort_sum = sum(ort_times[k] for k in matched)
    print(f"{len(matched)} of {len(pt_times)} layers matched: PyTorch {1e3 * pt_sum:.1f} ms, "
          f"ORT {1e3 * ort_sum:.1f} ms ({pt_sum / ort_sum:.2f}×)")  # fmt: skip
    pt_whole, ort_whole = (statistics.median(whole[name]) for name in ("PyTorch", "ORT"))
    print(f"whole forward, median: PyTorch {1e3 * pt_whole:.1f} ms (with the hooks), ORT "
          f"{1e3 * ort_whole:.1f} ms (profiling); load {os.getloadavg()}")  # fmt: skip


if __name__ == "__main__":
    main()
