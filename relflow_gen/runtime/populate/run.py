"""populate(): find the keys an imported/computed table is missing and make them.

* key source: the join of the table's primary-key parents (each projected to
  its key, renamed as the foreign key says), or what the maker's
  ``key_source()`` returns; minus the keys already in the table; restricted by
  the arguments of populate.  The key list is fetched once.
* each key: ``make(key)`` collects rows; they are checked (one master row at
  least, every row carrying the key) and committed all-or-nothing with
  provenance (:mod:`.worker_run`, :mod:`.worker_write`).
* ``reserve_jobs``: keys are reserved in the schema's jobs table first, so any
  number of processes on any number of machines share the work
  (:mod:`.jobs`); ``processes=N`` starts N local worker processes
  (:mod:`.worker_pool`).

See docs/populate.md for the whole story.
"""

from __future__ import annotations

import inspect
import logging
import random
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from relflow_gen.core.errors import ArgumentError
from relflow_gen.core.meta import PROVENANCE_COLUMNS, TableMeta
from relflow_gen.runtime.errors import MissingMakerError, PopulateError, TierError
from relflow_gen.runtime.populate import jobs
from relflow_gen.runtime.populate.cluster import run_on_executor
from relflow_gen.runtime.populate.fingerprint import code_fingerprint
from relflow_gen.runtime.populate.keysource import (
    default_key_source,
    key_source,
    parents_join,
    pending_keys,
    progress,
)
from relflow_gen.runtime.populate.pool import run_pool
from relflow_gen.runtime.populate.progress import progress_bar
from relflow_gen.runtime.populate.runner import RECONNECT_SECONDS, Failure, ListFeed, Runner, RunOptions, Tally
from relflow_gen.runtime.query.expr import Col, compile_select

if TYPE_CHECKING:
    from relflow_gen.runtime.populate.host import PopulateHost
    from relflow_gen.runtime.populate.make import Maker
    from relflow_gen.runtime.query.api import Query
    from relflow_gen.runtime.tables.table import Table

log = logging.getLogger("relflow_gen")

ORDERS = ("original", "reverse", "random")

__all__ = [
    "MissingMakerError",
    "PopulateError",
    "PopulateReport",
    "default_key_source",
    "key_source",
    "parents_join",
    "populate",
    "populate_all",
    "progress",
    "provenance",
]


@dataclass
class PopulateReport:
    """What a populate() (or populate_all(): ``tables``, ``no_maker``) did."""

    table: str
    made: int = 0
    failed: int = 0
    skipped: int = 0
    errors: list[Failure] = field(default_factory=list)
    elapsed: float = 0.0
    keys: int = 0  # keys to make when populate started (after restrictions)
    busy: int = 0  # of the skipped: held by another worker
    blocked: int = 0  # of the skipped: in error or ignore status in the jobs table
    vanished: int = 0  # of the skipped: no longer in the key source (inputs deleted meanwhile)
    tables: list[PopulateReport] = field(default_factory=list)
    no_maker: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def add(self, other: PopulateReport) -> None:
        self.tables.append(other)
        self.made += other.made
        self.failed += other.failed
        self.skipped += other.skipped
        self.busy += other.busy
        self.blocked += other.blocked
        self.vanished += other.vanished
        self.keys += other.keys
        self.errors += other.errors

    def __str__(self) -> str:
        text = f"{self.table}: {self.made} made, {self.failed} failed, {self.skipped} skipped in {self.elapsed:.2f} s"
        if self.no_maker:
            text += f"; no maker registered for {', '.join(self.no_maker)}"
        return text


# ------------------------------------------------------------------ makers


def maker_class(
    pipeline: PopulateHost, meta: TableMeta, maker: type[Maker[Any, Any]] | None = None
) -> type[Maker[Any, Any]]:
    """The maker for a table: the one given, or the one registered; a clear error when there is none."""
    if maker is not None:
        if getattr(maker, "__table__", meta.full_name) != meta.full_name:
            raise MissingMakerError(f"{maker.__name__} makes {maker.__table__}, not {meta.full_name}")
        return maker
    found = pipeline.maker_for(meta.full_name)
    if found is not None:
        return found
    raise MissingMakerError(
        f"no make() is registered for {meta.full_name}: subclass {generated_base(pipeline, meta)}, implement "
        "make(key), and register the class (db.register(MyMaker), populate(maker=MyMaker), "
        "or --makers MODULE on the command line)"
    )


def generated_base(pipeline: PopulateHost, meta: TableMeta) -> str:
    """The generated abstract maker class of a table (``lab_pipeline.RecordingMaker``), for messages."""
    module = sys.modules.get(type(pipeline).__module__)
    for obj in vars(module).values() if module is not None else ():
        if isinstance(obj, type) and getattr(obj, "__table__", None) == meta.full_name and inspect.isabstract(obj):
            return f"{obj.__module__.split('.')[0]}.{obj.__name__}"
    return f"relflow_gen.runtime.Maker (with __table__ = {meta.full_name!r})"


# ------------------------------------------------------------------ populate


def populate(
    pipeline: PopulateHost,
    table: Table[Any, Any, Any] | str,
    *restrictions: object,
    reserve_jobs: bool = False,
    processes: int = 1,
    max_calls: int | None = None,
    suppress_errors: bool = False,
    display_progress: bool = False,
    order: str = "original",
    maker: type[Maker[Any, Any]] | None = None,
    group_commit: bool = True,
    make_timeout: float | None = None,
    executor: object | None = None,
) -> PopulateReport:
    """Call make() for every missing key of an imported/computed table.

    ``restrictions`` restrict the key source (all must hold).  With
    ``reserve_jobs`` keys are reserved in the jobs table so that concurrent
    workers share them; ``processes > 1`` starts that many local worker
    processes (and implies ``reserve_jobs``).  ``max_calls`` bounds the make()
    calls.  Failed keys are recorded in the jobs table (with reserve_jobs or
    suppress_errors); without ``suppress_errors`` the first failure is raised.
    ``order``: "original" (key order), "reverse" or "random".
    ``group_commit``: commit the results of cheap makes several keys per
    transaction (each key stays all-or-nothing).  ``make_timeout``: stop a
    make() after this many seconds (default: the maker's ``make_timeout``);
    makes then run in a child process.  ``executor``: run the makes as tasks of
    a ``dask.distributed.Client`` (or any executor with ``submit``), each a
    worker with reservations (implies ``reserve_jobs``).
    """
    started = time.perf_counter()
    meta = _populated_table(pipeline, table)
    _check_options(pipeline, order, processes, make_timeout)
    maker_cls = maker_class(pipeline, meta, maker)
    conn = pipeline.connection
    saved, conn.reconnect_seconds = conn.reconnect_seconds, max(conn.reconnect_seconds, RECONNECT_SECONDS)
    try:
        keys, names = pending_keys(pipeline, meta, maker_cls(pipeline), restrictions)
    finally:
        conn.reconnect_seconds = saved
    _put_in_order(keys, order)
    options = RunOptions(
        reserve_jobs=reserve_jobs or processes > 1 or executor is not None,
        suppress_errors=suppress_errors,
        max_calls=max_calls,
        group_commit=group_commit,
        stale_after=jobs.STALE_SECONDS,
        heartbeat_seconds=jobs.HEARTBEAT_SECONDS,
        make_timeout=make_timeout,
    )
    tally = Tally()
    try:
        if executor is not None and keys:
            tally = run_on_executor(
                executor, pipeline, meta, maker_cls, keys, names, options, code_fingerprint(maker_cls)
            )
        else:
            tally = _make_keys(pipeline, meta, maker_cls, keys, names, options, processes, display_progress, tally)
    except KeyboardInterrupt as exc:  # stopped (Ctrl-C, SIGTERM): what was committed still counts
        exc.relflow_report = _report(meta, tally, keys, started)  # type: ignore[attr-defined]
        raise
    report = _report(meta, tally, keys, started)
    if keys:
        log.info("%s", report)
    return report


def _report(meta: TableMeta, tally: Tally, keys: Sequence[object], started: float) -> PopulateReport:
    return PopulateReport(
        meta.full_name,
        made=tally.made,
        failed=tally.failed,
        skipped=tally.skipped,
        errors=tally.errors,
        elapsed=time.perf_counter() - started,
        keys=len(keys),
        busy=tally.busy,
        blocked=tally.blocked,
        vanished=tally.vanished,
    )


def _populated_table(pipeline: PopulateHost, table: Table[Any, Any, Any] | str) -> TableMeta:
    """The meta of the table to populate: an imported/computed table, unrestricted."""
    t = pipeline.table(table) if isinstance(table, str) else table
    meta = t.meta
    if not meta.is_auto:
        raise TierError(f"{meta.full_name} is a {meta.tier} table; only imported and computed tables are populated")
    if t.is_restricted:
        raise TierError("populate the table itself and pass restrictions to populate(...)")
    return meta


def _check_options(pipeline: PopulateHost, order: str, processes: int, make_timeout: float | None) -> None:
    if order not in ORDERS:
        raise ArgumentError(f"order must be one of {', '.join(ORDERS)}, not {order!r}")
    if processes < 1:
        raise ArgumentError("processes must be at least 1")
    if make_timeout is not None and not make_timeout > 0:
        raise ArgumentError(f"make_timeout must be a positive number of seconds, not {make_timeout!r}")
    conn = pipeline.connection
    if conn.in_transaction:
        raise PopulateError("populate() cannot run inside a transaction: make() must not hold one open")
    if processes > 1 and conn.params.backend == "sqlite" and conn.params.database in ("", ":memory:"):
        raise PopulateError("populate(processes=N) needs a database file or server, not an in-memory SQLite database")


def _put_in_order(keys: list[dict[str, Any]], order: str) -> None:
    if order == "reverse":
        keys.reverse()
    elif order == "random":
        random.shuffle(keys)


def _make_keys(
    pipeline: PopulateHost,
    meta: TableMeta,
    maker_cls: type[Maker[Any, Any]],
    keys: list[dict[str, Any]],
    names: list[str],
    options: RunOptions,
    processes: int,
    display_progress: bool,
    tally: Tally,
) -> Tally:
    """Make the keys in this process or in a pool of worker processes, with a progress bar."""
    code_hash = code_fingerprint(maker_cls)
    bar = progress_bar(meta.full_name, len(keys), display_progress)
    try:
        if processes > 1 and len(keys) > 1:
            tally = run_pool(pipeline, meta, maker_cls, keys, names, options, code_hash, processes, bar)
        elif keys:
            if bar is not None:
                tally.listener = lambda s: bar.update(s.made + s.failed + s.skipped, s.failed)
            Runner(pipeline, meta, maker_cls, names, options, code_hash, tally).run(ListFeed(keys))
    finally:
        if bar is not None:
            bar.close(tally.made + tally.failed + tally.skipped, tally.failed)
    return tally


def populate_all(
    pipeline: PopulateHost,
    *restrictions: object,
    tables: Sequence[str] | None = None,
    reserve_jobs: bool = False,
    processes: int = 1,
    max_calls: int | None = None,
    suppress_errors: bool = False,
    display_progress: bool = False,
    order: str = "original",
    group_commit: bool = True,
    make_timeout: float | None = None,
    executor: object | None = None,
) -> PopulateReport:
    """Populate every imported/computed table (or those named) in dependency order.

    Tables without a registered maker are listed in the report's ``no_maker``.
    A dict restriction applies to the tables that have its attributes.  The
    options are those of :func:`populate` (the registered makers are used).
    """
    started = time.perf_counter()
    wanted = None if tables is None else {pipeline.table(t).full_name for t in tables}
    for name in sorted(wanted or ()):
        meta = pipeline.meta.by_name[name]
        if not meta.is_auto:
            raise TierError(f"{name} is a {meta.tier} table; only imported and computed tables are populated")
    total = PopulateReport("all tables" if wanted is None else ", ".join(sorted(wanted)))
    for meta in pipeline.meta.tables:
        if not meta.is_auto or (wanted is not None and meta.full_name not in wanted):
            continue
        if pipeline.maker_for(meta.full_name) is None:
            total.no_maker.append(meta.full_name)
            log.warning("%s has no registered maker; not populated", meta.full_name)
            continue
        own = [_fit(r, meta) for r in restrictions]
        try:
            report = populate(
                pipeline,
                meta.full_name,
                *[r for r in own if r is not None],
                reserve_jobs=reserve_jobs,
                processes=processes,
                max_calls=max_calls,
                suppress_errors=suppress_errors,
                display_progress=display_progress,
                order=order,
                group_commit=group_commit,
                make_timeout=make_timeout,
                executor=executor,
            )
        except KeyboardInterrupt as exc:
            partial = getattr(exc, "relflow_report", None)
            if isinstance(partial, PopulateReport):
                total.add(partial)
            total.elapsed = time.perf_counter() - started
            exc.relflow_report = total  # type: ignore[attr-defined]
            raise
        total.add(report)
    total.elapsed = time.perf_counter() - started
    return total


def _fit(restriction: object, meta: TableMeta) -> object | None:
    """A dict restriction narrowed to the table's key attributes (None: it does not apply)."""
    if isinstance(restriction, Mapping):
        narrowed = {k: v for k, v in restriction.items() if k in meta.primary_key}
        return narrowed or None
    return restriction


# ------------------------------------------------------------------ provenance

PROVENANCE_FIELDS = {name: name[1:] for name, _ in PROVENANCE_COLUMNS}  # _made_at -> made_at ...


def provenance(
    pipeline: PopulateHost, meta: TableMeta, *restrictions: object, base: Query[Any] | None = None
) -> list[dict[str, Any]]:
    """Primary key plus made_at, make_seconds, made_by (host:pid) and make_hash of each row."""
    if not meta.has_provenance:
        raise TierError(f"{meta.full_name} has no provenance (only imported/computed tables do)")
    query: Query[Any] = base if base is not None else pipeline.table(meta.full_name)
    for r in restrictions:
        query = query & r
    sel = query._select
    backend = pipeline.connection.backend
    alias = sel.sources[0].alias
    cols = [sel.col(n) for n in meta.primary_key]
    cols += [
        Col(PROVENANCE_FIELDS[name], f"{alias}.{backend.quote(name)}", spec, True, False, None)
        for name, spec in PROVENANCE_COLUMNS
    ]
    order = [backend.order_expr(c.type, c.sql) for c in cols[: len(meta.primary_key)]]
    sql, params = compile_select(backend, sel, cols=cols, order_by=order)
    decoders = [backend.decoder(c.type) if c.type is not None else None for c in cols]
    out = []
    for row in pipeline.connection.query(sql, params):
        out.append({c.name: (v if d is None or v is None else d(v)) for c, d, v in zip(cols, decoders, row)})
    return out
