"""``db.jobs``: list, clear, ignore, reclaim and retry the jobs of a pipeline."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from relflow_gen.core.errors import ArgumentError
from relflow_gen.runtime.populate.identity import ServerClock, WorkerIdentity
from relflow_gen.runtime.populate.jobs import STALE_SECONDS, Job, JobStore, hash_of_key, key_names_given
from relflow_gen.runtime.populate.keys import canonical_key, hash_json, key_json
from relflow_gen.runtime.populate.run import PopulateReport, populate_all

if TYPE_CHECKING:
    from relflow_gen.runtime.populate.host import PopulateHost


@dataclass
class ErrorGroup:
    """Recorded errors with the same exception type and message (first line)."""

    error_type: str
    message: str
    count: int = 0
    tables: list[str] = field(default_factory=list)
    first_key: dict[str, Any] = field(default_factory=dict)


def error_type(job: Job) -> str:
    """The exception type of a recorded error (``ValueError`` of ``ValueError: bad value``)."""
    text = (job.error_message or "").split(":", 1)[0].split(" (", 1)[0].strip()
    return text or "unknown"


def _error_text(job: Job) -> str:
    text = (job.error_message or "").splitlines()[0] if job.error_message else ""
    return text.split(": ", 1)[1] if ": " in text else ""


class Jobs:
    """The jobs of a pipeline (``db.jobs``): list, clear, ignore, reclaim, retry."""

    def __init__(self, pipeline: PopulateHost) -> None:
        self._pipeline = pipeline

    def _store(self, schema: str) -> JobStore:
        return JobStore(self._pipeline.connection, schema)

    def _tables(self, tables: str | Iterable[str] | None) -> list[str] | None:
        if tables is None:
            return None
        names = [tables] if isinstance(tables, str) else list(tables)
        return [self._pipeline.table(n).full_name for n in names]

    def _schemas(self, tables: Sequence[str] | None) -> list[str]:
        if tables is None:
            return list(self._pipeline.meta.schemas)
        by_name = self._pipeline.meta.by_name
        return sorted({by_name[t].schema for t in tables})

    def fetch(
        self, tables: str | Iterable[str] | None = None, status: str | Sequence[str] | None = None
    ) -> list[Job]:
        """Jobs rows, optionally of some tables and statuses."""
        names = self._tables(tables)
        statuses = [status] if isinstance(status, str) else (list(status) if status is not None else None)
        known = self._pipeline.meta.by_name
        out: list[Job] = []
        for schema in self._schemas(names):
            out += self._store(schema).rows(names, statuses, known)
        return out

    def errors(self, tables: str | Iterable[str] | None = None) -> list[Job]:
        return self.fetch(tables, "error")

    def reserved(self, tables: str | Iterable[str] | None = None) -> list[Job]:
        return self.fetch(tables, "reserved")

    def ignored(self, tables: str | Iterable[str] | None = None) -> list[Job]:
        return self.fetch(tables, "ignore")

    def counts(self) -> dict[str, dict[str, int]]:
        """table -> status -> number of rows."""
        out: dict[str, dict[str, int]] = {}
        for schema in self._pipeline.meta.schemas:
            for (table, status), n in self._store(schema).counts().items():
                out.setdefault(table, {})[status] = n
        return out

    def _clear(self, status: str, tables: str | Iterable[str] | None, key: Mapping[str, Any] | None) -> int:
        names = self._tables(tables)
        hashes: list[str] | None = None
        if key is not None:
            if names is None or len(names) != 1:
                raise ArgumentError("clearing by key needs exactly one table")
            hashes = [hash_of_key(self._pipeline.meta.by_name[names[0]], key)]
        return sum(self._store(s).delete(names, [status], hashes) for s in self._schemas(names))

    def clear_errors(
        self,
        tables: str | Iterable[str] | None = None,
        key: Mapping[str, Any] | None = None,
        *,
        error_type: str | None = None,
        older_than: float | None = None,
    ) -> int:
        """Forget recorded errors (all, of some tables, or of one key) so populate tries again.

        ``error_type`` keeps only errors of that exception type (``"OSError"``);
        ``older_than`` only errors recorded more than that many seconds ago.
        """
        if error_type is None and older_than is None:
            return self._clear("error", tables, key)
        names = self._tables(tables)
        chosen = self.errors(names)
        if key is not None:
            if names is None or len(names) != 1:
                raise ArgumentError("clearing by key needs exactly one table")
            wanted = hash_of_key(self._pipeline.meta.by_name[names[0]], key)
            chosen = [j for j in chosen if j.key_hash == wanted]
        if error_type is not None:
            chosen = [j for j in chosen if _type_matches(j, error_type)]
        if older_than is not None:
            limit = ServerClock(self._pipeline.connection).now() - dt.timedelta(seconds=older_than)
            chosen = [j for j in chosen if j.reserved_at is not None and j.reserved_at < limit]
        by_table: dict[str, list[str]] = {}
        for j in chosen:
            by_table.setdefault(j.table, []).append(j.key_hash)
        meta = self._pipeline.meta.by_name
        n = 0
        for table, hashes in sorted(by_table.items()):
            store = self._store(meta[table].schema) if table in meta else None
            if store is None:
                continue
            for start in range(0, len(hashes), 500):
                n += store.delete([table], ["error"], hashes[start : start + 500])
        return n

    def error_groups(self, tables: str | Iterable[str] | None = None) -> list[ErrorGroup]:
        """Recorded errors grouped by exception type and message, the largest group first."""
        groups: dict[tuple[str, str], ErrorGroup] = {}
        for j in self.errors(tables):
            kind = error_type(j)
            group = groups.get((kind, _error_text(j)))
            if group is None:
                group = groups[(kind, _error_text(j))] = ErrorGroup(kind, _error_text(j), first_key=dict(j.key))
            group.count += 1
            if j.table not in group.tables:
                group.tables.append(j.table)
        return sorted(groups.values(), key=lambda g: (-g.count, g.error_type, g.message))

    def clear_ignored(self, tables: str | Iterable[str] | None = None, key: Mapping[str, Any] | None = None) -> int:
        return self._clear("ignore", tables, key)

    def ignore(self, table: str, keys: Iterable[Mapping[str, Any]]) -> int:
        """Mark keys of a table as not to be made (populate skips them until cleared)."""
        meta = self._pipeline.table(table).meta
        conn = self._pipeline.connection
        store = self._store(meta.schema)
        me = WorkerIdentity.current(conn)
        now = ServerClock(conn).now()
        n = 0
        for k in keys:
            names = key_names_given(meta, k)
            text = key_json(canonical_key(meta, k, names), names)
            if store.record(meta.full_name, hash_json(text), text, "ignore", me, now):
                n += 1
        return n

    def reclaim(self, tables: str | Iterable[str] | None = None, stale_after: float = STALE_SECONDS) -> list[Job]:
        """Delete reservations of dead workers now (populate does this before it starts)."""
        names = self._tables(tables)
        conn = self._pipeline.connection
        me = WorkerIdentity.current(conn)
        now = ServerClock(conn).now()
        known = self._pipeline.meta.by_name
        out: list[Job] = []
        for schema in self._schemas(names):
            out += [j for j, _ in self._store(schema).reclaim(names, me, now, known, stale_after)]
        return out

    def retry(
        self,
        *tables: str,
        error_type: str | None = None,
        older_than: float | None = None,
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
        """Clear the errors of these tables (all when none given; only of ``error_type`` / older than
        ``older_than`` seconds when given) and populate them again (options as for populate())."""
        names = self._tables(tables) if tables else None
        self.clear_errors(names, error_type=error_type, older_than=older_than)
        return populate_all(
            self._pipeline,
            tables=names,
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


def _type_matches(job: Job, wanted: str) -> bool:
    kind = error_type(job)
    return kind == wanted or kind.rsplit(".", 1)[-1] == wanted
