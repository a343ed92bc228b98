"""Latency of the annotation service under a crowd: "next pair" and "submit" over loopback HTTP.

Usage::

    python benchmarks/annotate_load.py [--annotators 20] [--per-annotator 100] [--think 0.5]
        [--db postgresql://...]

Builds a project on the synthetic world (4 images × 600 pairs, k = 3), starts
``depthforge annotate serve`` as a child process on 127.0.0.1 and measures, in the same run:

* ``solo``: one annotator alone (the baseline: no queueing);
* ``paced``: ``--annotators`` at once, each pausing ``--think`` seconds between answers (people
  take seconds per pair; this is the service's working load);
* ``flat out``: the same crowd with no pause at all (the server's capacity).

Prints one JSON record: p50 / p95 in milliseconds, answers per second, the ratio of each p95 to
the solo p95, and ``uptime`` before and after (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from depthforge.annotate.crowd import ServerProcess, run_crowd
from depthforge.annotate.project import init_project
from depthforge.synth.export import write_synth_folder


def percentiles(seconds: list[float]) -> dict[str, float]:
    ms = 1000 * np.asarray(seconds)
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2),
    }


def measure(server, tokens, per_annotator, think) -> dict:
    start = time.perf_counter()
    result = run_crowd(
        server.url, tokens, lambda t: "AB="[t["task_id"] % 3], per_annotator, think=think
    )
    wall = time.perf_counter() - start
    return {
        "annotators": len(tokens),
        "answers": len(result.acknowledged),
        "answers_per_s": round(len(result.acknowledged) / wall, 1),
        "next": percentiles(result.latency["next"]),
        "submit": percentiles(result.latency["submit"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--annotators", type=int, default=20)
    parser.add_argument("--per-annotator", type=int, default=100)
    parser.add_argument("--think", type=float, default=0.5)
    parser.add_argument("--db", default=None, help="a PostgreSQL URL instead of SQLite")
    args = parser.parse_args()
    uptime_before = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        world = write_synth_folder(Path(tmp) / "world", scenes=2, frames=2, size=(64, 48), pairs=0)
        project = init_project(
            Path(tmp) / "p", world, pairs_per_image=600, k=3, gold_rate=0.05, db=args.db
        )
        runs = [
            ("solo", 1, 0.0),
            ("paced", args.annotators, args.think),
            ("flat out", args.annotators, 0.0),
        ]
        tokens = {
            name: [project.store.add_annotator(f"{name}{i}")[1] for i in range(n)]
            for name, n, _ in runs
        }
        server = ServerProcess(project.root, args.db).start()
        try:
            record = {
                name: measure(server, tokens[name], args.per_annotator, think)
                for name, _, think in runs
            }
        finally:
            server.stop()
    for name in ("paced", "flat out"):
        for kind in ("next", "submit"):
            record[name][kind]["p95_vs_solo"] = round(
                record[name][kind]["p95_ms"] / record["solo"][kind]["p95_ms"], 2
            )
    record["backend"] = "postgresql" if args.db else "sqlite"
    record["uptime_before"] = uptime_before
    record["uptime_after"] = subprocess.run(
        ["uptime"], capture_output=True, text=True
    ).stdout.strip()
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
