"""Shared timing helper of the benchmark scripts (run them as ``python benchmarks/NAME.py``)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

SPIN = "import time\nend = time.time() + {seconds}\nwhile time.time() < end:\n    pass\n"


def best_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Fastest of ``repeats`` runs after one warm-up: the least disturbed on a shared machine."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def median_seconds_interleaved(
    fns: list[Callable[[], object]],
    repeats: int,
    clock: Callable[[], float] = time.perf_counter,
) -> list[float]:
    """Median of ``repeats`` runs of each function after one warm-up each, the functions
    alternating run by run (a, b, c, a, b, c, …) so that all see the same machine load;
    ``clock`` e.g. ``time.thread_time`` for the calling thread's CPU time."""
    for fn in fns:
        fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, bucket in zip(fns, times, strict=True):
            start = clock()
            fn()
            bucket.append(clock() - start)
    return [statistics.median(t) for t in times]


@contextmanager
def busy_loops(count: int, seconds: float, settle: float) -> Iterator[None]:
    """``count`` busy-loop processes for the body (each ends by itself after ``seconds`` if the
    script is killed; terminated by their pid at the end), after ``settle`` seconds for the load
    average to see them."""
    spin = SPIN.format(seconds=seconds)
    spinners = [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(count)]
    try:
        time.sleep(settle)
        yield
    finally:
        for proc in spinners:
            proc.terminate()
        for proc in spinners:
            proc.wait()
