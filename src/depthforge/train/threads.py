"""The number of CPU threads, pinned for the length of a run so that its numbers do not depend on
the machine's core count.

PyTorch splits convolutions and reductions on the CPU across its intra-op threads, and each
thread count sums in a different order: with the same seed, a forward pass of ``fcrn_resnet18``
already differs in the last bits between 1 and 2 threads (and its gradients between 2 and 4),
and over hundreds of steps those bits grow into different metrics. With the thread count fixed,
a run is bit-identical from run to run on the same PyTorch build and CPU instruction set (oneDNN
picks different kernels for, e.g., AVX2 and AVX-512).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def cpu_threads(count: int | None) -> Iterator[int]:
    """Run the body with ``count`` intra-op threads (``None``: leave PyTorch's default, the
    number of cores), then restore the previous count. Yields the count in effect."""
    previous = torch.get_num_threads()
    if count is not None:
        if count < 1:
            raise ValueError(f"loop.threads must be ≥ 1 or null, got {count}")
        torch.set_num_threads(count)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(previous)
