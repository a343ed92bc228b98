"""How many threads PyTorch's intra-op pool gets: fewer when other processes hold the cores.

PyTorch splits an op over its intra-op threads and waits for the slowest one. When other
processes keep the cores busy, a helper thread is often not scheduled for a whole time slice,
and every op of a command waits for it: small-tensor work (metrics, point clouds, the synthetic
renderer) then runs several times slower on two threads than on one
(``benchmarks/threads_under_load.py``). The policy here:

* ``DEPTHFORGE_THREADS=N`` (a positive integer) is honoured as it is;
* otherwise the threads are the cores this process may run on minus the load already on the
  machine (the one-minute load average), rounded to the nearest integer and kept between 1 and
  the core count: on an idle 2-core machine 2 threads, at load ≥ 1.5 one thread.

The load average lags by about a minute; a command that starts on a machine that becomes busy
later keeps its choice. Work split into independent items below the grain size (the metrics
score images in parallel Python threads, one per core) does not stall this way and does not
follow the load, only ``DEPTHFORGE_THREADS``.
"""

from __future__ import annotations

import os

from depthforge.errors import DepthforgeError

THREADS_ENV = "DEPTHFORGE_THREADS"
"""Environment variable that fixes the thread count (a positive integer)."""


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS reports one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def choose_threads(cores: int | None = None, load: float | None = None) -> int:
    """The intra-op thread count for this process (module docstring).

    Args:
        cores: usable cores (default :func:`available_cores`).
        load: machine load, runnable processes (default: the one-minute load average, or 0
            where the OS has none).

    Raises:
        DepthforgeError: ``DEPTHFORGE_THREADS`` is set but not a positive integer.
    """
    text = os.environ.get(THREADS_ENV, "").strip()
    if text:
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value < 1:
            raise DepthforgeError(f"{THREADS_ENV} must be a positive integer, got {text!r}")
        return value
    cores = available_cores() if cores is None else cores
    if load is None:
        try:
            load = os.getloadavg()[0]
        except (AttributeError, OSError):
            load = 0.0
    return max(1, min(cores, round(cores - load)))


def apply_thread_policy() -> int:
    """Set ``torch.set_num_threads(choose_threads())`` and return the count.

    Call it once at the start of a command that computes with torch (before its first op).
    """
    import torch

    threads = choose_threads()
    torch.set_num_threads(threads)
    return threads
