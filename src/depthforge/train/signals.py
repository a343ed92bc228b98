"""Stopping a run cleanly on SIGINT (Ctrl-C) or SIGTERM (a scheduler's kill): the signal is noted,
the current step finishes, a checkpoint is written and the run ends; a second signal acts at once."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest:
    """Set by a stop signal; :attr:`signal_name` says which one arrived (``None``: none yet)."""

    def __init__(self) -> None:
        self.signal_name: str | None = None

    def __bool__(self) -> bool:
        return self.signal_name is not None


@contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    """While inside, SIGINT and SIGTERM set the yielded :class:`StopRequest` instead of killing the
    process; the first one also restores the previous handlers, so a second signal acts at once.
    Outside the main thread (where handlers cannot be installed) the request is never set."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    def note(signum: int, _frame) -> None:
        request.signal_name = signal.Signals(signum).name
        restore()

    for sig in STOP_SIGNALS:
        signal.signal(sig, note)
    try:
        yield request
    finally:
        restore()
