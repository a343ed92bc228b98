"""Huge pages for PyTorch's large CPU buffers (:mod:`depthforge.huge_pages`). PyTorch reads its
switch once, at its first CPU allocation, so every case that needs a PyTorch not yet imported
runs in a fresh interpreter."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch  # noqa: F401  (imported here: the in-process case must see it imported)

from depthforge.huge_pages import HUGE_PAGES_ENV, request_huge_pages

# 4 × 64 MiB of fresh tensors: with 4 KiB pages each one faults in 16,384 pages.
FRESH_TENSORS = """
import resource
from depthforge.huge_pages import request_huge_pages
granted = request_huge_pages()
import torch
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(4):
    torch.empty(16 << 20).fill_(1.0)
print(granted, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""

# The command line, then the switch as the command left it and whether it imported PyTorch.
CLI_PROBE = """
import os, sys
from depthforge.cli import main
try:
    main()
finally:
    print("switch", os.environ.get("THP_MEM_ALLOC_ENABLE"), "torch" in sys.modules)
"""


def run(code: str, *args: str, switch: str | None) -> str:
    """Stdout of ``python -c code args`` with ``THP_MEM_ALLOC_ENABLE`` unset or set."""
    env = {k: v for k, v in os.environ.items() if k != HUGE_PAGES_ENV}
    if switch is not None:
        env[HUGE_PAGES_ENV] = switch
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def transparent_huge_pages() -> bool:
    """The kernel hands out transparent huge pages on request (``madvise`` or ``always``)."""
    path = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    return path.exists() and "[never]" not in path.read_text()


def test_the_request_sets_the_switch_and_is_granted_before_torch():
    granted, _faults = run(FRESH_TENSORS, switch=None).split()
    assert granted == "True"


def test_a_switch_the_user_set_to_zero_is_kept():
    granted, _faults = run(FRESH_TENSORS, switch="0").split()
    assert granted == "False"


def test_the_request_is_not_granted_once_torch_is_imported(monkeypatch):
    monkeypatch.delenv(HUGE_PAGES_ENV, raising=False)
    assert request_huge_pages() is False  # this process imported torch above
    assert os.environ[HUGE_PAGES_ENV] == "1"


def test_the_command_line_sets_the_switch_before_importing_torch():
    out = run(CLI_PROBE, "version", switch=None)
    assert re.search(r"^switch 1 False$", out, re.M), out


@pytest.mark.skipif(not transparent_huge_pages(), reason="the kernel offers no huge pages")
def test_huge_pages_cut_the_page_faults_of_fresh_tensors():
    _, faults_small = run(FRESH_TENSORS, switch="0").split()
    _, faults_huge = run(FRESH_TENSORS, switch=None).split()
    assert int(faults_small) >= 4 * 16_384 * 0.9  # one fault per 4 KiB page
    assert int(faults_huge) * 20 < int(faults_small)  # one per 2 MiB, plus the edges
