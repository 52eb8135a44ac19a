"""The progress bar of populate: tqdm on a terminal, tqdm's widget in a Jupyter notebook.

``lab.Recording:  42%|████▏     | 840/2000 [00:03<00:04, 250.3keys/s, 2 failed]``

Populate reports absolute counts (made + failed + skipped so far, and failed);
:class:`ProgressBar` turns them into tqdm's increments.  With worker processes
the parent process draws the bar from the counters the workers share.

tqdm is imported when a bar is first drawn, not with the runtime: its import
pulls ``importlib.metadata``, ``email`` and ``csv`` into every process that
merely imports a generated package.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

#: how often the bar is redrawn at most (seconds)
MIN_INTERVAL = 0.1


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where tqdm draws a widget instead of a text line)."""
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    if not callable(get_ipython):
        return False
    try:
        shell = get_ipython()
        return shell is not None and "IPKernelApp" in shell.config
    except Exception:  # noqa: BLE001 - an unusual IPython: no widget
        return False


def _notebook_bar(label: str, total: int) -> Any | None:
    """tqdm's notebook widget, or None when ipywidgets is missing."""
    try:
        from tqdm.notebook import tqdm as notebook_tqdm  # deferred: tqdm (and ipywidgets) only when drawn

        return notebook_tqdm(total=total, desc=label, unit="keys", mininterval=MIN_INTERVAL)
    except ImportError:  # tqdm.notebook needs ipywidgets
        return None


def _text_bar(label: str, total: int, stream: TextIO) -> Any:
    from tqdm import tqdm  # deferred: see the module docstring

    return tqdm(
        total=total, desc=label, unit="keys", file=stream, mininterval=MIN_INTERVAL, dynamic_ncols=True, leave=True
    )


class ProgressBar:
    """Counts of one populate call drawn by a tqdm bar; :meth:`close` ends it."""

    def __init__(self, bar: Any) -> None:
        self.bar = bar
        self._failed = 0

    def update(self, done: int, failed: int = 0, *, force: bool = False) -> None:
        bar = self.bar
        if failed != self._failed:
            self._failed = failed
            bar.set_postfix_str(f"{failed} failed", refresh=False)
        step = done - bar.n
        if step > 0:
            bar.update(step)  # tqdm redraws at most every MIN_INTERVAL
        if force:
            bar.refresh()

    def close(self, done: int, failed: int = 0) -> None:
        self.update(done, failed, force=True)
        self.bar.close()


def progress_bar(label: str, total: int, display: bool, stream: TextIO | None = None) -> ProgressBar | None:
    """A bar when asked for, in a notebook or on a terminal; None otherwise (a log file stays clean)."""
    if not display or total <= 0:
        return None
    if stream is None and in_notebook():
        widget = _notebook_bar(label, total)
        if widget is not None:
            return ProgressBar(widget)
    out = stream if stream is not None else sys.stderr
    isatty = getattr(out, "isatty", None)
    if not in_notebook() and (not callable(isatty) or not isatty()):
        return None
    return ProgressBar(_text_bar(label, total, out))
