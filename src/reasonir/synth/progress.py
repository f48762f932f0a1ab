"""Progress of a synthesis run as plain lines, for output that is not a terminal.

A tqdm bar redraws one line with carriage returns: in a piped log (``make demo > log``, a CI job, ``nohup``) it
either prints nothing useful or floods the file. When the output is not a terminal the runner prints a line like

    synthesizing: 12/80 seeds, 9 rows kept, 2.4 rows/min, about 28 min left

at most every :data:`EVERY_S` seconds (and once at the end), from counts it keeps as each seed chain finishes. The
rate counts only this run's seeds and rows, so a resumed job does not claim the earlier run's rows as its speed.
The clock is a parameter: tests drive it by hand instead of sleeping.

    >>> t = [0.0]
    >>> lines = []
    >>> p = ProgressLine(total=4, write=lines.append, clock=lambda: t[0])
    >>> t[0] = 40.0; p.seed_done(kept=2)
    >>> lines
    ['synthesizing: 1/4 seeds, 2 rows kept, 3.0 rows/min, about 2 min left']
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

EVERY_S = 30.0  # a log line at most this often: a few lines a minute stay readable over a 10-minute stage


def now() -> float:
    """The clock a line's times come from (a module function, so a test can replace it for the whole run)."""
    return time.monotonic()


def is_terminal(stream: TextIO | None = None) -> bool:
    """Whether ``stream`` (default stderr, where tqdm draws) is a terminal a bar can redraw in."""
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or replaced by an object without isatty
        return False


def _minutes(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


class ProgressLine:
    """Counts finished seed chains and kept rows; ``write`` gets a line when :data:`EVERY_S` has passed since the
    last one (the first after ``every_s`` from the start) and from :meth:`close`. ``done`` is the chains finished by
    an earlier run of a resumed job (shown in the count, left out of the rate)."""

    def __init__(self, total: int, write: Callable[[str], None], *, done: int = 0, every_s: float = EVERY_S,
                 clock: Callable[[], float] | None = None, label: str = "synthesizing") -> None:
        self.total, self.write, self.every_s, self.label = total, write, every_s, label
        self.clock = clock if clock is not None else now
        self.earlier = done
        self.done = 0  # chains finished in this run
        self.kept = 0  # rows kept in this run
        self.start = self.clock()
        self.last = self.start
        self.closed = False

    def seed_done(self, kept: int = 0) -> None:
        """One (seed, kind) chain finished with ``kept`` training rows; writes a line when one is due."""
        self.done += 1
        self.kept += kept
        now = self.clock()
        if now - self.last >= self.every_s:
            self.last = now
            self.write(self.line(now))

    def line(self, now: float | None = None) -> str:
        elapsed = max((self.clock() if now is None else now) - self.start, 1e-9)
        finished = self.earlier + self.done
        text = (f"{self.label}: {finished}/{self.total} seeds, {self.kept} rows kept, "
                f"{self.kept / (elapsed / 60):.1f} rows/min")
        left = self.total - finished
        if left <= 0:
            return text + f", done in {_minutes(elapsed)}"
        if self.done == 0:
            return text + ", time left not known yet"
        return text + f", about {_minutes(left * elapsed / self.done)} left"

    def close(self) -> None:
        """The closing line (once), whatever the time since the last one."""
        if not self.closed:
            self.closed = True
            self.write(self.line())
