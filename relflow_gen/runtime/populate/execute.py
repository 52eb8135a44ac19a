"""Where make() runs: in this process, or in a child process that can be stopped.

With a ``make_timeout`` the makes of a worker run in one child process (forked
where the platform allows it, so makers defined anywhere work), which opens
its own connection to the database.  The worker sends a key, waits for the
collected rows, and when the make runs past its timeout kills the child
(SIGKILL: a make hung in a C extension cannot be interrupted any other way)
and starts a fresh one for the next key.  The key fails with
:class:`MakeTimeout`, which records how long the make ran.

Without a timeout make() runs in the worker's own process (no overhead).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import pickle
import signal
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from relflow_gen.runtime.errors import PopulateError
from relflow_gen.runtime.query.condition import RowKey

if TYPE_CHECKING:
    from relflow_gen.runtime.populate.host import PopulateHost
    from relflow_gen.runtime.populate.make import Maker

Collected = tuple[list[Mapping[str, Any]], list[tuple[str, list[Mapping[str, Any]]]]]

#: how long a fresh child may take to open its connection before its first make counts
START_GRACE_SECONDS = 30.0


class MakeTimeout(PopulateError, TimeoutError):
    """make() ran past the table's make_timeout and was stopped."""

    def __init__(self, table: str, key: Mapping[str, Any], timeout: float, seconds: float) -> None:
        shown = "{" + ", ".join(f"{k}={v!r}" for k, v in key.items()) + "}"
        super().__init__(
            f"make() for {table} {shown} ran past make_timeout={timeout:g} s and was stopped after {seconds:.1f} s"
        )
        self.timeout = timeout
        self.seconds = seconds


class RemoteMakeError(PopulateError):
    """An exception of make() in the child process that could not be sent back as itself."""

    def __init__(self, type_name: str, message: str) -> None:
        super().__init__(f"{type_name}: {message}")
        self.type_name = type_name


class ChildFailed(PopulateError):
    """Carries the child's exception and its formatted traceback to :meth:`ChildMaker.make`."""

    def __init__(self, error: BaseException, stack: str) -> None:
        super().__init__(str(error))
        self.error = error
        self.stack = stack


class InProcessMaker:
    """make() in this process."""

    def __init__(self, maker: Maker[Any, Any]) -> None:
        self.maker = maker

    def make(self, key: dict[str, Any]) -> tuple[Collected, float]:
        maker = self.maker
        start = time.perf_counter()
        try:
            maker.make(RowKey(key))
        except BaseException:
            maker._take()  # drop what the failed make collected
            raise
        return maker._take(), time.perf_counter() - start

    def close(self) -> None:
        pass


class ChildMaker:
    """make() in a child process, stopped after ``timeout`` seconds."""

    def __init__(
        self,
        reopen: Callable[[], PopulateHost],
        maker_cls: type[Maker[Any, Any]],
        table: str,
        timeout: float,
        fork_guard: Callable[[], AbstractContextManager[Any]] | None = None,
    ) -> None:
        methods = multiprocessing.get_all_start_methods()
        self.ctx: Any = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        self.reopen = reopen
        self.maker_cls = maker_cls
        self.table = table
        self.timeout = timeout
        self.proc: Any = None
        self.pipe: Any = None
        self.fresh = False
        self.fork_guard = fork_guard

    def _start(self) -> None:
        parent, child = self.ctx.Pipe()
        proc = self.ctx.Process(
            target=_serve,
            args=(child, parent, os.getpid(), self.reopen, self.maker_cls),
            name="relflow-make",
            daemon=True,
        )
        with self.fork_guard() if self.fork_guard is not None else nullcontext():
            proc.start()  # forks: no other thread of ours may be inside the database meanwhile
        child.close()
        self.proc, self.pipe, self.fresh = proc, parent, True

    def make(self, key: dict[str, Any]) -> tuple[Collected, float]:
        if self.proc is None or not self.proc.is_alive():
            self._start()
        if self.fresh:  # the child says when it is ready: its start-up is not the make's time
            self.fresh = False
            self._ready(key)
        start = time.perf_counter()
        self.pipe.send(key)
        if not self.pipe.poll(self.timeout):
            seconds = time.perf_counter() - start
            self.stop()
            raise MakeTimeout(self.table, key, self.timeout, seconds)
        try:
            status, payload = self.pipe.recv()
        except (EOFError, OSError):
            code = self.proc.exitcode if self.proc is not None else None
            self.stop()
            raise PopulateError(
                f"the make() process of {self.table} died (exit code {code}) while making {key}"
            ) from None
        if status == "ok":
            collected, seconds = payload
            return collected, seconds
        error, stack = payload
        raise ChildFailed(error, stack)

    def _ready(self, key: dict[str, Any]) -> None:
        """Wait for a new child to open its connection (up to START_GRACE_SECONDS)."""
        ready = self.pipe.poll(START_GRACE_SECONDS)
        try:
            message = self.pipe.recv() if ready else None
        except (EOFError, OSError):
            message = None
        if isinstance(message, tuple) and len(message) == 2 and message[0] == "error":
            self.stop()
            error, stack = message[1]
            raise ChildFailed(error, stack)
        if message != ("ready", None):
            code = self.proc.exitcode if self.proc is not None else None
            self.stop()
            why = "did not start in time" if not ready else f"died while starting (exit code {code})"
            raise PopulateError(f"the make() process of {self.table} {why}; it was to make {key}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if self.pipe is not None:
            self.pipe.close()
            self.pipe = None
        if proc is not None and proc.is_alive():
            proc.kill()
        if proc is not None:
            proc.join(timeout=10)

    def close(self) -> None:
        self.stop()


def _die_with_parent(parent_pid: int) -> None:
    """Linux: the kernel kills this process when the worker dies (even by SIGKILL)."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the worker died before prctl took effect
        os._exit(1)


def _serve(
    pipe: Any, other_end: Any, parent_pid: int, reopen: Callable[[], PopulateHost], maker_cls: type[Maker[Any, Any]]
) -> None:
    """The child: open the pipeline, then make the keys it is sent until the pipe closes."""
    other_end.close()  # the worker's end (inherited by fork): keep only ours, so that EOF arrives
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the worker, which stops us
    _die_with_parent(parent_pid)
    try:
        db = reopen()
        maker = maker_cls(db)
    except Exception as exc:  # noqa: BLE001 - sent to the worker, which records it against the key
        pipe.send(("error", (_portable(exc), traceback.format_exc())))
        return
    try:
        pipe.send(("ready", None))
        while True:
            try:
                while not pipe.poll(1.0):
                    if os.getppid() != parent_pid:
                        return
                key = pipe.recv()
            except (EOFError, OSError):
                return
            start = time.perf_counter()
            try:
                maker.make(RowKey(key))
                reply: tuple[str, Any] = ("ok", (maker._take(), time.perf_counter() - start))
            except Exception as exc:  # noqa: BLE001 - sent to the worker, which records it
                maker._take()
                reply = ("error", (_portable(exc), traceback.format_exc()))
            try:
                pipe.send(reply)
            except (pickle.PicklingError, TypeError, AttributeError) as exc:
                error = RemoteMakeError("PicklingError", f"the rows make() collected cannot be sent back: {exc}")
                pipe.send(("error", (error, traceback.format_exc())))
    finally:
        db.close()


def _portable(exc: BaseException) -> BaseException:
    """The exception itself when it survives pickling, else its type name and message."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001 - any pickling problem
        return RemoteMakeError(type(exc).__name__, str(exc))
