"""Wall time of the command line's quick commands, each in a fresh process, against two peers
measured in the same run: ``python -c pass`` (the interpreter alone) and ``python -c "import
torch"`` (what every command paid before the command line imported PyTorch lazily).

Usage::

    python benchmarks/cli_startup.py [--repeats 7]

Each command runs as ``python -m depthforge ARGS`` with its output discarded; the commands and
peers alternate run by run (one warm-up each) so that all see the same machine load, and the
median wall time is printed with its ratio to ``python -c pass`` and to ``import torch``, and
the median CPU time (user + system of the child process: what the start-up costs, much less
dependent on the load than the wall time on a shared machine). A last column says whether the
command imported PyTorch (checked in a separate run through ``sys.modules``).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -c pass": ["-c", "pass"],
    'python -c "import torch"': ["-c", "import torch"],
    "depthforge --help": ["-m", "depthforge", "--help"],
    "depthforge --version": ["-m", "depthforge", "--version"],
    "depthforge datasets": ["-m", "depthforge", "datasets"],
    "depthforge protocols": ["-m", "depthforge", "protocols"],
    "depthforge recipes": ["-m", "depthforge", "recipes"],
    "depthforge models": ["-m", "depthforge", "models"],
}

PROBE = (
    "import runpy, sys\n"
    "sys.argv = ['depthforge', *sys.argv[1:]]\n"
    "try:\n"
    "    runpy.run_module('depthforge', run_name='__main__')\n"
    "finally:\n"
    "    sys.stderr.write('TORCH=%s' % ('torch' in sys.modules))\n"
)


def run(args: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of ``python ARGS``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def imports_torch(args: list[str]) -> str:
    """"yes"/"no" for a depthforge command, "–" for a peer."""
    if args[:2] != ["-m", "depthforge"]:
        return "–"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args[2:]], capture_output=True, text=True
    )
    return "yes" if done.stderr.endswith("TORCH=True") else "no"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load before {os.getloadavg()}")
    for argv in COMMANDS.values():
        run(argv)  # warm-up
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in COMMANDS}
    for _ in range(args.repeats):
        for name, argv in COMMANDS.items():
            samples[name].append(run(argv))
    wall = {k: statistics.median(w for w, _ in v) for k, v in samples.items()}
    cpu = {k: statistics.median(c for _, c in v) for k, v in samples.items()}
    bare, torch_import = wall["python -c pass"], wall['python -c "import torch"']
    print("| command | median wall s | / python -c pass | / import torch | median CPU s "
          "| imports torch |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---|")
    for name, argv in COMMANDS.items():
        print(f"| `{name}` | {wall[name]:.3f} | {wall[name] / bare:.1f} | "
              f"{wall[name] / torch_import:.2f} | {cpu[name]:.3f} | {imports_torch(argv)} |")  # fmt: skip
    print(f"load after {os.getloadavg()}")


if __name__ == "__main__":
    main()
