"""Errors that carry the file and the problem, so the CLI can print one line and exit 2."""

from __future__ import annotations

from pathlib import Path


class DepthforgeError(Exception):
    """Base class for every error depthforge raises on bad input.

    The CLI catches it, prints ``str(error)`` on one line and exits with status 2.
    """


class DataError(DepthforgeError, ValueError):
    """A file (or a set of files) could not be read or does not hold what it should.

    Args:
        path: the offending file or folder (``None`` when the problem is not tied to one).
        problem: what is wrong, in words a user can act on.
    """

    def __init__(self, path: str | Path | None, problem: str):
        self.path = None if path is None else Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path is not None else problem)


class OutputSpaceError(DepthforgeError, ValueError):
    """Two depth-like maps of different output spaces were mixed without an explicit conversion."""
