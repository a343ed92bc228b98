"""Shared fixtures: the real data samples beside the project (``../shared/data``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """``$DEPTHFORGE_SHARED_DATA`` or ``<project>/../shared/data``."""
    env = os.environ.get("DEPTHFORGE_SHARED_DATA")
    return Path(env) if env else PROJECT_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real samples; tests that need it skip, saying why, when it is absent."""
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"real data samples not found at {path} (set DEPTHFORGE_SHARED_DATA)")
    return path
