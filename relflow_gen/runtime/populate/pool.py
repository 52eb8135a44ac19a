"""``populate(processes=N)``: N worker processes on this machine share one key list.

The parent fetches the key list once; the children take keys from it through
a shared cursor (so they never collide with each other), reserve them in the
jobs table (so they never collide with workers on other machines), make and
write them with their own database connections, and send their tallies back.
Children are forked where the platform allows it (makers defined anywhere
work); elsewhere they are spawned and the pipeline and maker classes must be
importable.  A child that fails without ``suppress_errors`` asks the others
to stop after their current key; the parent then raises :class:`PopulateError`.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import signal
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from relflow_gen.runtime.errors import PopulateError
from relflow_gen.runtime.populate.interrupts import interrupt
from relflow_gen.runtime.populate.progress import ProgressBar
from relflow_gen.runtime.populate.runner import MAX_REPORTED_ERRORS, Failure, Runner, RunOptions, Tally

if TYPE_CHECKING:
    from relflow_gen.core.meta import TableMeta
    from relflow_gen.runtime.populate.host import PopulateHost
    from relflow_gen.runtime.populate.make import Maker

log = logging.getLogger("relflow_gen")

MADE, FAILED, SKIPPED, BUSY, CALLS = range(5)
#: at the end of the key list, how long a worker waits for keys another one may give back
HOLDER_WAIT_SECONDS = 10.0


@dataclass
class ChildReport:
    index: int
    made: int = 0
    failed: int = 0
    skipped: int = 0
    busy: int = 0
    blocked: int = 0
    vanished: int = 0
    calls: int = 0
    errors: list[Failure] = field(default_factory=list)
    error: str | None = None
    error_traceback: str = ""


@dataclass
class PoolTask:
    """Everything a child needs (inherited through fork, or pickled for spawn)."""

    reopen: Callable[[], PopulateHost]
    table: str
    maker_cls: type[Maker[Any, Any]]
    keys: list[dict[str, Any]]
    key_names: list[str]
    options: RunOptions
    code_hash: str


@dataclass
class SharedState:
    """What the worker processes share: the cursor in the key list, keys given back, holders."""

    cursor: Any  # Value: the next key to hand out
    back: Any  # Array: 1 for each key given back (released unmade during a long make)
    back_count: Any  # Value: how many flags are set
    holders: Any  # Value: workers holding taken keys they have not started


class SharedFeed:
    """The key list shared by the worker processes; keys given back are handed out first.

    When the list is used up but another worker still holds keys it has not
    started (it may give them back while one of its makes runs long), ``take``
    waits instead of reporting the end.
    """

    def __init__(self, keys: list[dict[str, Any]], state: SharedState, stopped: Callable[[], bool]) -> None:
        self.keys = keys
        self.state = state
        self.stopped = stopped
        self.index: dict[int, int] = {}
        self.lock = state.cursor.get_lock()

    def take(self, n: int) -> list[dict[str, Any]]:
        st = self.state
        deadline = time.monotonic() + HOLDER_WAIT_SECONDS
        while True:
            with self.lock:
                picked: list[int] = []
                if st.back_count.value:
                    for i in range(len(self.keys)):
                        if st.back[i]:
                            st.back[i] = 0
                            picked.append(i)
                            if len(picked) == n:
                                break
                    st.back_count.value -= len(picked)
                start = st.cursor.value
                end = min(start + n - len(picked), len(self.keys))
                st.cursor.value = end
                picked += range(start, end)
                if picked or st.holders.value <= 0:
                    for i in picked:
                        self.index[id(self.keys[i])] = i
                    return [self.keys[i] for i in picked]
            if self.stopped() or time.monotonic() > deadline:  # a holder that died never lets go
                return []
            time.sleep(0.02)

    def give_back(self, keys: Sequence[dict[str, Any]]) -> None:
        st = self.state
        with self.lock:
            for k in keys:
                i = self.index.get(id(k))
                if i is not None and not st.back[i]:
                    st.back[i] = 1
                    st.back_count.value += 1

    def holding(self, delta: int) -> None:
        with self.lock:
            self.state.holders.value += delta


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def run_pool(
    pipeline: PopulateHost,
    meta: TableMeta,
    maker_cls: type[Maker[Any, Any]],
    keys: list[dict[str, Any]],
    key_names: list[str],
    options: RunOptions,
    code_hash: str,
    processes: int,
    bar: ProgressBar | None,
) -> Tally:
    ctx = _context()
    n = max(1, min(processes, len(keys)))
    job = PoolTask(
        pipeline.reopener(),
        meta.full_name,
        maker_cls,
        keys,
        key_names,
        options,
        code_hash,
    )
    cursor = ctx.Value("q", 0)
    state = SharedState(
        cursor, ctx.Array("b", len(keys), lock=False), ctx.Value("q", 0, lock=False), ctx.Value("q", 0, lock=False)
    )
    counts = ctx.Array("q", 5)
    stop = ctx.Event()
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_child, args=(job, state, counts, stop, results, i), name=f"relflow-worker-{i}")
        for i in range(n)
    ]
    for p in procs:
        p.start()
    reports: list[ChildReport] = []
    try:
        _collect(procs, results, reports, counts, stop, options, bar)
    except KeyboardInterrupt:
        stop.set()
        raise
    finally:
        for p in procs:
            p.join(timeout=60)
            if p.is_alive():
                p.terminate()
                p.join()
    return _merge(procs, reports, options)


def _collect(
    procs: list[Any],
    results: Any,
    reports: list[ChildReport],
    counts: Any,
    stop: Any,
    options: RunOptions,
    bar: ProgressBar | None,
) -> None:
    while len(reports) < len(procs):
        try:
            report: ChildReport = results.get(timeout=0.1)
        except queue.Empty:
            if bar is not None:
                bar.update(counts[MADE] + counts[FAILED] + counts[SKIPPED], counts[FAILED])
            if not any(p.is_alive() for p in procs):
                try:  # a last report may still be in the pipe
                    reports.append(results.get(timeout=1.0))
                    continue
                except queue.Empty:
                    return
            continue
        reports.append(report)
        if report.error is not None and not options.suppress_errors:
            stop.set()


def _merge(procs: list[Any], reports: list[ChildReport], options: RunOptions) -> Tally:
    tally = Tally()
    reported = {r.index for r in reports}
    dead = [p for i, p in enumerate(procs) if i not in reported]
    for p in dead:
        log.warning("worker process %s died (exit code %s); the next populate reclaims its keys", p.pid, p.exitcode)
    first: ChildReport | None = None
    for r in sorted(reports, key=lambda r: r.index):
        tally.made += r.made
        tally.failed += r.failed
        tally.skipped += r.skipped
        tally.busy += r.busy
        tally.blocked += r.blocked
        tally.vanished += r.vanished
        tally.calls += r.calls
        tally.errors += r.errors[: max(0, MAX_REPORTED_ERRORS - len(tally.errors))]
        if r.error is not None and first is None:
            first = r
    if first is not None:
        raise PopulateError(f"a worker process failed: {first.error}\n{first.error_traceback}")
    if dead and not options.suppress_errors:
        codes = ", ".join(f"{p.pid} (exit code {p.exitcode})" for p in dead)
        raise PopulateError(f"worker process(es) died: {codes}; the next populate reclaims their keys")
    return tally


def _child(job: PoolTask, state: SharedState, counts: Any, stop: Any, results: Any, index: int) -> None:
    signal.signal(signal.SIGTERM, interrupt)
    report = ChildReport(index)
    sent = [0, 0, 0, 0]

    def listener(t: Tally) -> None:
        now = [t.made, t.failed, t.skipped, t.busy]
        with counts.get_lock():
            for i in range(4):
                counts[i] += now[i] - sent[i]
        sent[:] = now

    def take_call() -> bool:
        limit = job.options.max_calls
        with counts.get_lock():
            if limit is not None and counts[CALLS] >= limit:
                return False
            counts[CALLS] += 1
        return True

    tally = Tally(listener=listener)
    db: PopulateHost | None = None
    try:
        db = job.reopen()
        meta = db.meta.by_name[job.table]
        runner = Runner(
            db,
            meta,
            job.maker_cls,
            job.key_names,
            job.options,
            job.code_hash,
            tally,
            should_stop=stop.is_set,
            take_call=take_call,
        )
        feed = SharedFeed(job.keys, state, stop.is_set)
        runner.run(feed)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        report.error = f"{type(exc).__name__}: {exc}"
        report.error_traceback = traceback.format_exc()
    finally:
        if db is not None:
            db.close()
    report.made, report.failed, report.skipped, report.busy = tally.made, tally.failed, tally.skipped, tally.busy
    report.blocked, report.vanished = tally.blocked, tally.vanished
    report.calls = tally.calls
    report.errors = tally.errors
    results.put(report)
