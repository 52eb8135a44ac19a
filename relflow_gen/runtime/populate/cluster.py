"""``populate(executor=...)``: makes run as tasks of a Dask cluster (or any executor).

The database stays the single source of truth.  Each task is a worker like
``populate(reserve_jobs=True)`` on another machine: it opens its own
connection from the pipeline's URL, takes the key list (each task starts with
its own share of it, then goes on through the others' shares, skipping the
keys made meanwhile a block at a time: :class:`StealingFeed`), reserves keys in
the jobs table, makes them, commits the results and records errors there.  A task lost with its Dask worker leaves
reservations that are reclaimed like those of any dead worker (its connection
id is gone, its heartbeat stops); the Dask scheduler may also run the task
again elsewhere, which then reclaims them itself.

``executor`` is anything with ``submit(fn, *args)`` returning futures with
``result()``: a ``dask.distributed.Client`` (the number of tasks defaults to
its number of worker threads), or a ``concurrent.futures`` executor.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from relflow_gen.runtime.errors import PopulateError
from relflow_gen.runtime.populate.runner import MAX_REPORTED_ERRORS, ListFeed, Runner, RunOptions, Tally
from relflow_gen.runtime.populate.write import KeyLookup

if TYPE_CHECKING:
    from relflow_gen.core.meta import TableMeta
    from relflow_gen.runtime.populate.host import PopulateHost
    from relflow_gen.runtime.populate.make import Maker

log = logging.getLogger("relflow_gen")

#: tasks when the executor does not say how many workers it has
DEFAULT_TASKS = 4
#: keys of the other tasks' shares checked per query, once a task has made its own share
STEAL_BLOCK = 500


class StealingFeed(ListFeed):
    """The keys of one task: its own share first, then the other tasks' shares, from which the keys
    made meanwhile are dropped a block at a time (one SELECT per :data:`STEAL_BLOCK` keys), so that
    a task that finished its share does not reserve, check and release every key the others made.

    What it hands out is still reserved and checked by the runner: the filter only saves round
    trips (and commits) on keys that are done."""

    def __init__(
        self,
        keys: Sequence[dict[str, Any]],
        own: int,
        existing: Callable[[Sequence[Mapping[str, Any]]], list[bool]],
        block: int = STEAL_BLOCK,
    ) -> None:
        super().__init__(keys)
        self.own = own
        self.existing = existing
        self.block = block
        self.ready: list[dict[str, Any]] = []

    def take(self, n: int) -> list[dict[str, Any]]:
        with self.lock:
            out, self.back = self.back[:n], self.back[n:]
        if len(out) < n and self.pos < self.own:
            mine = list(self.keys[self.pos : min(self.own, self.pos + n - len(out))])
            self.pos += len(mine)
            out += mine
        while len(out) < n and (self.ready or self.pos < len(self.keys)):
            if not self.ready:
                chunk = list(self.keys[self.pos : self.pos + self.block])
                self.pos += len(chunk)
                made = self.existing(chunk)
                self.ready = [k for k, done in zip(chunk, made) if not done]
            wanted = n - len(out)
            out += self.ready[:wanted]
            self.ready = self.ready[wanted:]
        return out


def executor_tasks(executor: Any) -> int:
    """How many tasks to submit: the worker threads of a Dask client, else the executor's max_workers."""
    info = getattr(executor, "scheduler_info", None)
    if callable(info):
        try:
            workers = info().get("workers", {})
            threads = sum(int(w.get("nthreads", 1)) for w in workers.values())
            if threads:
                return threads
        except Exception:  # noqa: BLE001 - fall back to the default
            pass
    n = getattr(executor, "_max_workers", None)
    return n if isinstance(n, int) and n > 0 else DEFAULT_TASKS


def run_on_executor(
    executor: Any,
    pipeline: PopulateHost,
    meta: TableMeta,
    maker_cls: type[Maker[Any, Any]],
    keys: list[dict[str, Any]],
    key_names: list[str],
    options: RunOptions,
    code_hash: str,
    tasks: int | None = None,
) -> Tally:
    n = max(1, min(tasks or executor_tasks(executor), len(keys)))
    reopen = pipeline.reopener()
    dask = callable(getattr(executor, "scheduler_info", None))
    futures = []
    for i in range(n):
        start, end = i * len(keys) // n, (i + 1) * len(keys) // n
        mine = keys[start:] + keys[:start]
        args = (reopen, meta.full_name, maker_cls, mine, end - start, key_names, options, code_hash)
        futures.append(executor.submit(_task, *args, pure=False) if dask else executor.submit(_task, *args))
    tally = Tally()
    first: str | None = None
    for f in futures:
        try:
            report: dict[str, Any] = f.result()
        except Exception as exc:  # noqa: BLE001 - a task lost with its worker, or failed to start
            first = first or f"{type(exc).__name__}: {exc}"
            continue
        for name in ("made", "failed", "skipped", "busy", "blocked", "vanished", "calls"):
            setattr(tally, name, getattr(tally, name) + int(report[name]))
        tally.errors += report["errors"][: max(0, MAX_REPORTED_ERRORS - len(tally.errors))]
        if report["error"] is not None and first is None:
            first = f"{report['error']}\n{report['traceback']}"
    if first is not None:
        if not options.suppress_errors:
            raise PopulateError(f"a populate task on the executor failed: {first}")
        log.warning("a populate task on the executor failed (its keys are reclaimed later): %s", first)
    return tally


def _task(
    reopen: Callable[[], PopulateHost],
    table: str,
    maker_cls: type[Maker[Any, Any]],
    keys: list[dict[str, Any]],
    own: int,
    key_names: list[str],
    options: RunOptions,
    code_hash: str,
) -> dict[str, Any]:
    """One worker on an executor: its own connection, reservations in the jobs table; ``keys``
    starts with the ``own`` keys that are this task's share."""
    tally = Tally()
    error: str | None = None
    stack = ""
    db: PopulateHost | None = None
    try:
        db = reopen()
        meta = db.meta.by_name[table]
        lookup = KeyLookup(db.connection, meta, key_names)
        feed = StealingFeed(keys, own, lookup.existing)
        Runner(db, meta, maker_cls, key_names, options, code_hash, tally).run(feed)
    except Exception as exc:  # noqa: BLE001 - reported to the caller
        error = f"{type(exc).__name__}: {exc}"
        stack = traceback.format_exc()
    finally:
        if db is not None:
            db.close()
    return {
        "made": tally.made,
        "failed": tally.failed,
        "skipped": tally.skipped,
        "busy": tally.busy,
        "blocked": tally.blocked,
        "vanished": tally.vanished,
        "calls": tally.calls,
        "errors": tally.errors,
        "error": error,
        "traceback": stack,
    }
