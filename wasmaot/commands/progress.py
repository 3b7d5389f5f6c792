"""A build's progress on one line of a terminal: functions compiled and the
time left, for builds long enough to wonder about (issue 11, item 3).

Shown only on a terminal (never in a pipe or a log), only once the build has
taken DELAY seconds (a quick build prints nothing), and never with --quiet.
The line is rewritten in place and erased when the build ends, so what the
build prints otherwise (errors, one line each) is unchanged.
"""

from __future__ import annotations

import time

DELAY = 2.0  # seconds before the first line


def _clock(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    return f"{seconds // 60}:{seconds % 60:02d}"


class Progress:
    """`update` as compile_module reports it (functions compiled so far, of
    how many, and the share of the work); `close()` erases the line.  `stream` is written only
    if `enabled`.  As a context manager (`on_terminal`), it gives `update` and
    closes at the end."""

    def __init__(self, stream, enabled: bool, *, clock=time.monotonic) -> None:
        self.stream = stream
        self.enabled = enabled
        self.clock = clock
        self.start = clock()
        self.shown = False

    @classmethod
    def on_terminal(cls, stream, quiet: bool = False) -> "Progress":
        """Shown if `stream` is a terminal, unless `quiet` (--quiet)."""
        return cls(stream, stream.isatty() and not quiet)

    def __enter__(self):
        return self.update

    def __exit__(self, *exc) -> None:
        self.close()

    def update(self, done: int, total: int, fraction: float) -> None:
        """`fraction`: of the work done (the partitions finished, weighed by
        their estimated cost), from which the time left is estimated."""
        if not self.enabled or total <= 0:
            return
        elapsed = self.clock() - self.start
        if elapsed < DELAY:
            return
        line = f"compiling: {done:,}/{total:,} functions ({int(100 * fraction)}%)"
        if 0 < fraction < 1:
            line += f", about {_clock(elapsed * (1 - fraction) / fraction)} left"
        self.stream.write("\r" + line + "\x1b[K")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False
