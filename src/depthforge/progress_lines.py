"""Progress as plain lines, for output that is not a terminal (a log file, a pipe, CI).

rich's live bars redraw in place; where the console is not a terminal they would appear only
when the command ends. :class:`PeriodicLines` prints one line each time another ``every_percent``
of the work is done, and at least every ``every_seconds`` while the total is unknown.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class PeriodicLines:
    """``update(done, total, status="")`` prints ``description: done/total (p %) status, ETA``
    through ``write`` at every ``every_percent`` step of progress and at the end.

    Args:
        write: prints one line (e.g. ``console.print``).
        description: what is progressing (``"training"``).
        every_percent: granularity of the lines while the total is known.
        every_seconds: the longest silence while the total is unknown.
        clock: seconds, monotonic (replaceable in tests).
    """

    def __init__(
        self,
        write: Callable[[str], None],
        description: str,
        *,
        every_percent: float = 5.0,
        every_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.write, self.description = write, description
        self.every_percent, self.every_seconds, self.clock = every_percent, every_seconds, clock
        self.started = clock()
        self.last_time = self.started
        self.last_slot = -1

    def __call__(self, done: int, total: int | None, status: str = "") -> None:
        now = self.clock()
        tail = f" {status}" if status else ""
        if not total:
            if now - self.last_time >= self.every_seconds:
                self.write(f"{self.description}: {done}{tail}")
                self.last_time = now
            return
        slot = int(100.0 * done / total // self.every_percent)
        if slot == self.last_slot and done < total:
            return
        self.last_slot, self.last_time = slot, now
        elapsed = now - self.started
        eta = f", {elapsed * (total - done) / done:.0f} s left" if 0 < done < total else ""
        self.write(f"{self.description}: {done}/{total} ({100 * done / total:.0f} %){tail}{eta}")
