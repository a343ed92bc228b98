"""Peak memory (RSS) of ``write_synth_folder`` (what ``depthforge synth`` runs) against the
number of frames: it should stay flat.

Usage::

    python benchmarks/synth_memory.py [--size 640x480] [--frames 50 200 500] [--tmp /dev/shm]

Each frame count runs in its own fresh process (one scene, default options, a temporary output
folder, huge pages requested first as the command line does); the parent reads the child's peak
RSS (``ru_maxrss``) and prints it with its ratio to the smallest frame count's. The runs go in
parallel (they share the cores, which changes the times, not the memory).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

CHILD = """
import resource, sys, tempfile, time
from depthforge.huge_pages import request_huge_pages
request_huge_pages()  # as `depthforge synth` does at start-up
from depthforge.synth import write_synth_folder
frames, width, height = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
with tempfile.TemporaryDirectory(dir=sys.argv[4] or None) as tmp:
    start = time.perf_counter()
    write_synth_folder(tmp, scenes=1, frames=frames, size=(width, height))
    seconds = time.perf_counter() - start
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, seconds)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--frames", nargs="*", type=int, default=[50, 200, 500])
    parser.add_argument("--tmp", default="", help="where the output folders go (default: TMPDIR)")
    args = parser.parse_args()
    width, height = (int(n) for n in args.size.split("x"))
    print(f"{width}×{height}, load average before: {os.getloadavg()}")
    children = {
        n: subprocess.Popen(
            [sys.executable, "-c", CHILD, str(n), str(width), str(height), args.tmp],
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in args.frames
    }
    results = {}
    for n, proc in children.items():
        out, _ = proc.communicate()
        if proc.returncode:
            raise SystemExit(f"the {n}-frame run failed (exit {proc.returncode})")
        kib, seconds = out.split()
        results[n] = (int(kib) / 1024, float(seconds))
    base = results[min(results)][0]
    print("| frames | peak RSS MiB | / smallest | seconds |")
    print("|---:|---:|---:|---:|")
    for n, (mib, seconds) in sorted(results.items()):
        print(f"| {n} | {mib:.0f} | {mib / base:.3f} | {seconds:.0f} |")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
