"""Whole commands on a busy machine: the thread policy (``depthforge.threads``) against one
thread forced and against PyTorch's default (one thread per core), each command run as a user
runs it, in a fresh process.

Usage::

    python benchmarks/commands_under_load.py [--busy N] [--repeats 3] [--settle 20]

Commands (inputs made once in a temporary folder by the command line itself):

* ``eval``: constant-depth predictions (``depthforge baseline``) of 20 synthetic 320×240 frames
  scored under the ``dense`` protocol;
* ``pointcloud``: one 640×480 synthetic RGB-D frame to PLY;
* ``synth``: 8 frames of 160×120;
* ``predict``: 4 images of 160×120 through a randomly initialised ``fcrn_resnet18``.

Each runs with ``DEPTHFORGE_THREADS`` unset (the policy), ``=1`` and ``=CORES``; the three
alternate run by run, the median of ``--repeats`` (after one warm-up each) is printed with the
ratios policy / 1 thread (issue goal under load: ≤ 1.3) and cores / 1 thread. First on the
machine as it is, then with ``--busy`` busy-loop processes added (default 2 × the cores, so the
load is at least twice the cores; ``--busy 0`` skips this second pass); they end by themselves after ``--seconds`` and are terminated
by their pid when the measurement is done.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from timing import busy_loops, median_seconds_interleaved

MAKE_MODEL = (
    "import sys\nfrom depthforge.models import create_model, save_model\n"
    "save_model(create_model('fcrn_resnet18'), sys.argv[1])\n"
)


def depthforge(*args: str, threads: str | None = None) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DEPTHFORGE_THREADS"}
    if threads is not None:
        env["DEPTHFORGE_THREADS"] = threads
    subprocess.run(
        [sys.executable, "-m", "depthforge", *map(str, args)],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def prepare(tmp: Path) -> dict[str, list[str]]:
    """Make the inputs; returns each command's arguments."""
    depthforge("synth", tmp / "set", "--scenes", "2", "--frames", "10", "--size", "320x240")
    depthforge("baseline", tmp / "constant", "-d", "folder", "-r", tmp / "set")
    depthforge("synth", tmp / "frame", "--scenes", "1", "--frames", "1", "--size", "640x480")
    depthforge("synth", tmp / "small", "--scenes", "1", "--frames", "4", "--size", "160x120")
    subprocess.run([sys.executable, "-c", MAKE_MODEL, tmp / "model"], check=True)
    frame = tmp / "frame"
    meta = json.loads((frame / "depthforge.json").read_text())
    (tmp / "K.json").write_text(json.dumps({"K": meta["K"]}))
    image = next((frame / "images").rglob("*.png"))
    small = next((tmp / "small" / "images").rglob("*.png")).parent  # predict reads no sub-folder
    depth = next((frame / "depth").rglob("*.*"))
    kind = ["--depth-kind", "png16", "--depth-scale", str(meta.get("depth_scale", 1000.0))]
    return {
        "eval": ["eval", tmp / "constant", "-d", "folder", "-r", tmp / "set"],
        "pointcloud": [
            "pointcloud",
            image,
            "--depth",
            depth,
            *(kind if depth.suffix == ".png" else []),
            "--intrinsics",
            tmp / "K.json",
            "--out",
            tmp / "cloud.ply",
            "--overwrite",
        ],  # fmt: skip
        "synth": [
            "synth",
            tmp / "synth_out",
            "--scenes",
            "1",
            "--frames",
            "8",
            "--size",
            "160x120",
            "--overwrite",
        ],  # fmt: skip
        "predict": [
            "predict",
            small,
            "--model",
            tmp / "model",
            "--out",
            tmp / "pred_out",
            "--overwrite",
        ],  # fmt: skip
    }


def measure(label: str, commands: dict[str, list[str]], repeats: int, cores: int) -> None:
    for name, args in commands.items():
        variants = [None, "1", str(cores)]
        fns = [lambda a=args, t=t: depthforge(*a, threads=t) for t in variants]
        policy, one, all_cores = median_seconds_interleaved(fns, repeats)
        load = os.getloadavg()[0]
        print(f"| {label} | {load:.1f} | `{name}` | {policy:.2f} | {one:.2f} | {all_cores:.2f} | "
              f"{policy / one:.2f} | {all_cores / one:.2f} |", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    parser.add_argument("--busy", type=int, default=2 * cores, help="busy-loop processes to add")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="measure only these commands")
    parser.add_argument("--seconds", type=float, default=900.0, help="each spinner's lifetime")
    parser.add_argument("--settle", type=float, default=20.0, help="seconds before measuring")
    args = parser.parse_args()
    print(f"{cores} cores, load {os.getloadavg()}")
    print(f"| machine | load (1 min) | command | policy s | 1 thread s | {cores} threads s "
          f"| policy / 1 | {cores} / 1 |")  # fmt: skip
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="depthforge-load-") as tmp:
        commands = prepare(Path(tmp))
        if args.only:
            commands = {k: v for k, v in commands.items() if k in args.only}
        measure("as it is", commands, args.repeats, cores)
        if args.busy == 0:  # the machine is busy enough as it is (see the load column)
            return
        with busy_loops(args.busy, args.seconds, args.settle):
            measure(f"+ {args.busy} busy loops", commands, args.repeats, cores)


if __name__ == "__main__":
    main()
