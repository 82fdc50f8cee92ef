"""Progress on stderr, so stdout carries only the JSON document.

On a terminal one line per stage is rewritten in place; otherwise (CI logs, ``make bench``
piped to a file) a line is printed when a stage ends and at most every few seconds.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.tty = self.stream.isatty()
        self._last: dict[str, float] = {}
        self._open_line = False
        self.prefix = ""

    def note(self, message: str) -> None:
        """A one-off line (a step starting, a result worth seeing while waiting)."""
        if self.quiet:
            return
        self._end_line()
        self.stream.write(f"{self.prefix}{message}\n")
        self.stream.flush()

    def warn(self, message: str) -> None:
        """A line shown even with ``--quiet``: failures and warnings."""
        self._end_line()
        self.stream.write(f"{message}\n")
        self.stream.flush()

    def __call__(self, stage: str, done: int, total: int) -> None:
        """The ``progress(stage, done, total)`` callback ``seed_synthetic`` expects."""
        if self.quiet:
            return
        now = time.monotonic()
        finished = done >= total
        interval = 0.2 if self.tty else 5.0
        key = self.prefix + stage
        if not finished and now - self._last.get(key, 0.0) < interval:
            return
        if key not in self._last and not finished and not self.tty:
            # Non-terminal output: do not print a line for the very first step.
            self._last[key] = now
            return
        self._last[key] = now
        pct = 100 * done // total if total else 100
        line = f"{self.prefix}  {stage:<24} {done:>9,}/{total:,} ({pct:3d}%)"
        if self.tty:
            self.stream.write("\r\x1b[2K" + line)
            self._open_line = True
            if finished:
                self._end_line()
        else:
            self.stream.write(line + "\n")
        if finished:
            self._last.pop(key, None)
        self.stream.flush()

    def _end_line(self) -> None:
        if self._open_line:
            self.stream.write("\n")
            self._open_line = False
