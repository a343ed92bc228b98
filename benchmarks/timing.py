"""Shared timing helper of the benchmark scripts (run them as ``python benchmarks/NAME.py``)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


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
