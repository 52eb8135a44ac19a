"""``populate(executor=...)``: makes run as tasks of a Dask cluster (or any executor).

The database stays the single source of truth.  Each task is a worker like
``populate(reserve_jobs=True)`` on another machine: it opens its own
connection from the pipeline's URL, takes the key list (each task starts at
another place in it), reserves keys in the jobs table, makes them, commits the
results and records errors there.  A task lost with its Dask worker leaves
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
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from relflow_gen.runtime.errors import PopulateError
from relflow_gen.runtime.populate.runner import MAX_REPORTED_ERRORS, ListFeed, Runner, RunOptions, Tally

if TYPE_CHECKING:
    from relflow_gen.core.meta import TableMeta
    from relflow_gen.runtime.populate.host import PopulateHost
    from relflow_gen.runtime.populate.make import Maker

log = logging.getLogger("relflow_gen")

#: tasks when the executor does not say how many workers it has
DEFAULT_TASKS = 4


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
        start = i * len(keys) // n
        mine = keys[start:] + keys[:start]
        args = (reopen, meta.full_name, maker_cls, mine, key_names, options, code_hash)
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
    key_names: list[str],
    options: RunOptions,
    code_hash: str,
) -> dict[str, Any]:
    """One worker on an executor: its own connection, reservations in the jobs table."""
    tally = Tally()
    error: str | None = None
    stack = ""
    db: PopulateHost | None = None
    try:
        db = reopen()
        meta = db.meta.by_name[table]
        Runner(db, meta, maker_cls, key_names, options, code_hash, tally).run(ListFeed(keys))
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
