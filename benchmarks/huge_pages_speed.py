"""Huge pages for PyTorch's large CPU buffers (:mod:`depthforge.huge_pages`, what the command line
asks for at start-up) against PyTorch's default 4 KiB pages: time, page faults and peak memory.

Usage::

    python benchmarks/huge_pages_speed.py [--cases fcrn_resnet18:1 diw_hourglass:8 ...]
                                          [--threads 1] [--forwards 3] [--processes 2]

Each case runs in fresh processes, alternately without (``THP_MEM_ALLOC_ENABLE=0``, which
:func:`~depthforge.huge_pages.request_huge_pages` respects) and with huge pages (the process calls
``request_huge_pages()`` before importing PyTorch, as ``depthforge`` does), ``--processes`` of
each. A process builds its workload, runs it once untimed, then ``--forwards`` times; it reports
the median time, the minor page faults per run and its peak RSS. The table gives the median over
the processes of each setting. Cases:

* ``MODEL:BATCH``: a prepared model's depth forward (``inference_model``, what ``depthforge
  predict`` runs) on random images at the model's paper size;
* ``cat:BATCH``: ``torch.cat`` of four ``(BATCH, 32, 120, 160)`` channels_last maps along the
  channels, a concatenation of the hourglass's inception modules;
* ``train:BATCH``: one training step of ``fcrn_resnet18`` at 228×304 (forward, L1 loss on the
  depth, backward, Adam).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

from depthforge.huge_pages import HUGE_PAGES_ENV

CHILD = """
import resource, statistics, sys, time
from depthforge.huge_pages import request_huge_pages
if sys.argv[1] == "on":
    assert request_huge_pages()
import torch
from depthforge.models import create_model
from depthforge.models.inference import inference_model, to_inference_layout
kind, batch, threads, runs = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
torch.set_num_threads(threads)
torch.manual_seed(0)
if kind == "cat":
    maps = [torch.rand(batch, 32, 120, 160).contiguous(memory_format=torch.channels_last)
            for _ in range(4)]
    def work():
        torch.cat(maps, 1)
elif kind == "train":
    model = create_model("fcrn_resnet18").train()
    optimizer = torch.optim.Adam(model.parameters(), 1e-4)
    images = torch.rand(batch, 3, *model.config.input_size)
    def work():
        depth = model.forward_depth(images)
        loss = (depth - 1.0).abs().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
else:
    model = inference_model(create_model(kind).eval())
    images = to_inference_layout(torch.rand(batch, 3, *model.config.input_size))
    def work():
        with torch.no_grad():
            model.forward_depth(images)
work()
times, faults = [], []
for _ in range(runs):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    start = time.perf_counter()
    work()
    times.append(time.perf_counter() - start)
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(statistics.median(times), statistics.median(faults), peak)
"""

DEFAULT_CASES = [
    "cat:8",
    "fcrn_resnet18:1",
    "fcrn_resnet18:8",
    "monodepth2_resnet18:8",
    "eigen2015_vgg16:8",
    "diw_hourglass:1",
    "diw_hourglass:8",
    "train:8",
]


def run_child(setting: str, kind: str, batch: int, threads: int, runs: int) -> list[float]:
    """``[seconds, faults per run, peak RSS KiB]`` of one fresh process."""
    env = dict(os.environ)
    env.pop(HUGE_PAGES_ENV, None)
    if setting == "off":
        env[HUGE_PAGES_ENV] = "0"
    args = [setting, kind, str(batch), str(threads), str(runs)]
    out = subprocess.run(
        [sys.executable, "-c", CHILD, *args], env=env, capture_output=True, text=True
    )
    if out.returncode:
        raise SystemExit(f"{kind}:{batch} ({setting}) failed:\n{out.stderr}")
    return [float(v) for v in out.stdout.split()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="*", default=DEFAULT_CASES)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--forwards", type=int, default=3, help="timed runs per process")
    parser.add_argument("--processes", type=int, default=2, help="processes per setting")
    args = parser.parse_args()
    print(f"threads {args.threads}, load average before: {os.getloadavg()}")
    print("| case | batch | 4 KiB pages ms | huge pages ms | ratio | faults per run, 4 KiB "
          "| faults per run, huge | peak RSS MiB, 4 KiB | peak RSS MiB, huge |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for case in args.cases:
        kind, batch = case.rsplit(":", 1)
        results: dict[str, list[list[float]]] = {"off": [], "on": []}
        for _ in range(args.processes):
            for setting in results:
                results[setting].append(
                    run_child(setting, kind, int(batch), args.threads, args.forwards)
                )
        off, on = (
            [statistics.median(column) for column in zip(*results[s], strict=True)]
            for s in ("off", "on")
        )
        print(f"| {kind} | {batch} | {1e3 * off[0]:.0f} | {1e3 * on[0]:.0f} | "
              f"{off[0] / on[0]:.2f} | {off[1]:.0f} | {on[1]:.0f} | {off[2] / 1024:.0f} | "
              f"{on[2] / 1024:.0f} |", flush=True)  # fmt: skip
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
