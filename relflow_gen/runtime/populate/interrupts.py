"""Stopping a worker (SIGTERM, Ctrl-C) without losing count of what it committed.

A worker stops by raising :class:`KeyboardInterrupt` from its signal handler, which
ends a make() wherever it is (its transaction rolls back).  Between the commit of a
group of results and the update of the worker's tally, an interrupt would leave rows
committed but not counted; :func:`shielded` holds it back until the block ends.
Signal handlers run in the main thread, so the shield covers commits made there
(the worker command's case).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_depth = 0
_pending = False


@contextmanager
def shielded() -> Iterator[None]:
    """An interrupt that arrives inside the block is raised when the block ends."""
    global _depth, _pending
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0 and _pending:
            _pending = False
            raise KeyboardInterrupt


def interrupt(signum: int, frame: Any) -> None:
    """Signal handler: stop now, or at the end of the shielded block that is running."""
    global _pending
    if _depth:
        _pending = True
        return
    raise KeyboardInterrupt
