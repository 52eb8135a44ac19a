"""A tiny progress bar for populate (stderr, only on a terminal).

``lab.Recording   42%|########            | 840/2000 [00:03<00:04, 250.3 keys/s, 2 failed]``
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 24


def _clock(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class ProgressBar:
    """Redraws one line at most ten times a second; :meth:`close` ends the line."""

    def __init__(self, label: str, total: int, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.start = time.monotonic()
        self._last = 0.0
        self._drawn = False

    def update(self, done: int, failed: int = 0, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        self.stream.write("\r" + self.render(done, failed, now - self.start))
        self.stream.flush()
        self._drawn = True

    def render(self, done: int, failed: int, elapsed: float) -> str:
        total = max(self.total, 1)
        frac = min(done / total, 1.0)
        filled = int(frac * WIDTH)
        bar = "#" * filled + " " * (WIDTH - filled)
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - done) / rate if rate > 0 else 0.0
        tail = f", {failed} failed" if failed else ""
        return (
            f"{self.label} {frac * 100:3.0f}%|{bar}| {done}/{self.total} "
            f"[{_clock(elapsed)}<{_clock(eta)}, {rate:.1f} keys/s{tail}]"
        )

    def close(self, done: int, failed: int = 0) -> None:
        if self._drawn or done:
            self.update(done, failed, force=True)
            self.stream.write("\n")
            self.stream.flush()


def progress_bar(label: str, total: int, display: bool, stream: TextIO | None = None) -> ProgressBar | None:
    """A bar when asked for and the stream is a terminal; None otherwise."""
    out = stream if stream is not None else sys.stderr
    if not display or total <= 0:
        return None
    isatty = getattr(out, "isatty", None)
    if not callable(isatty) or not isatty():
        return None
    return ProgressBar(label, total, out)
