"""Huge pages for PyTorch's large CPU tensors: one page fault per 2 MiB of fresh memory, not 512.

PyTorch's CPU allocator takes every tensor from the C library and gives it back when the tensor
dies; the C library maps large blocks (above its mmap threshold, 32 MiB at most) from the kernel
and unmaps them when freed. Every large layer output of a network at batch 8 then lands in memory
the kernel has to fault in and zero, 4 KiB page after 4 KiB page: one forward of
``diw_hourglass`` at batch 8 took 758,270 minor page faults (3 GB). With huge pages it took
33,376, a concatenation of four of its branch maps ran 4.3× faster, and the batch-8 forwards
of the networks with many faults 1.07–1.43× faster in the script's medians (single pairs of
processes spread more: 0.97–1.21× for ``diw_hourglass``; ``fcrn_resnet18``, with few faults,
measured 0.86–1.21×); at batch 1 there are no faults and no change
(``benchmarks/huge_pages_speed.py``, ``benchmarks/RESULTS.md``). ONNX Runtime keeps its own
arena and pays none of this.

PyTorch (≥ 2.2) asks the kernel for transparent huge pages on buffers of 2 MiB and more when
the environment variable ``THP_MEM_ALLOC_ENABLE`` is set (``madvise(MADV_HUGEPAGE)`` in its CPU
allocator, Linux only; elsewhere the variable is ignored). It reads the variable once, at its
first CPU allocation, which happens while PyTorch and the libraries built on it are imported;
so :func:`request_huge_pages` must run before that. The command line calls it at start-up
(it imports no PyTorch there); a script that wants the same sets the variable before its first
``import torch``.
"""

from __future__ import annotations

import os
import sys

HUGE_PAGES_ENV = "THP_MEM_ALLOC_ENABLE"
"""PyTorch's switch for huge pages on its large CPU buffers (any non-empty value but ``0``)."""


def request_huge_pages() -> bool:
    """Set ``THP_MEM_ALLOC_ENABLE=1`` for this process unless the user set it already, and say
    whether PyTorch will use huge pages: ``False`` when the user set ``0`` or when PyTorch was
    imported before this call (it may have read the variable already)."""
    value = os.environ.setdefault(HUGE_PAGES_ENV, "1")
    return value.strip() not in ("", "0") and "torch" not in sys.modules
