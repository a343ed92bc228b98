"""Errors that carry the file and the problem, so the CLI can print one line and exit 2."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
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


class UnknownNameError(DepthforgeError, KeyError, ValueError):
    """A name that no registry knows (a model, dataset, protocol, strategy, loss, transform...).

    Args:
        what: what the name should name, e.g. ``"model"`` or ``"web_stereo loss"``.
        name: the name given.
        known: the names the registry knows.
        hint: what to say instead of the default "known: ... (did you mean ...?)".
    """

    def __init__(self, what: str, name: object, known: Iterable[str], hint: str | None = None):
        self.what, self.name, self.known = what, name, list(known)
        if hint is None:
            near = difflib.get_close_matches(str(name), self.known, n=1)
            hint = f"known: {', '.join(self.known)}" + (f" (did you mean {near[0]!r}?)" if near else "")
        super().__init__(f"unknown {what} {name!r}; {hint}")

    def __str__(self) -> str:  # a KeyError would quote its message
        return str(self.args[0])


def import_extra(module: str, extra: str, purpose: str):
    """``import module``, or :class:`DepthforgeError` naming the extra to install: the one check
    of every optional dependency (e.g. ``plyfile`` for PLY output, extra ``mesh``)."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise DepthforgeError(
            f"{purpose} needs the {module} package: pip install 'depthforge[{extra}]'"
        ) from None


def check_name(what: str, name: str, known: Iterable[str]) -> str:
    """``name`` when it is one of ``known``; else :class:`UnknownNameError` ("did you mean ...").

    The one check of every name a user types (a choice, a preset, a reader option, a kind)."""
    known = list(known)
    if name not in known:
        raise UnknownNameError(what, name, known)
    return name
