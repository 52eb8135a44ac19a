"""``db.jobs``: list, clear, ignore, reclaim and retry the jobs of a pipeline."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from relflow_gen.core.errors import ArgumentError
from relflow_gen.runtime.populate.identity import ServerClock, WorkerIdentity
from relflow_gen.runtime.populate.jobs import STALE_SECONDS, Job, JobStore, hash_of_key, key_names_given
from relflow_gen.runtime.populate.keys import canonical_key, hash_json, key_json
from relflow_gen.runtime.populate.run import PopulateReport, populate_all

if TYPE_CHECKING:
    from relflow_gen.runtime.populate.host import PopulateHost


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

    def clear_errors(self, tables: str | Iterable[str] | None = None, key: Mapping[str, Any] | None = None) -> int:
        """Forget recorded errors (all, of some tables, or of one key) so populate tries again."""
        return self._clear("error", tables, key)

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

    def retry(self, *tables: str, **options: Any) -> PopulateReport:
        """Clear the errors of these tables (all when none given) and populate them again."""
        names = self._tables(tables) if tables else None
        self.clear_errors(names)
        return populate_all(self._pipeline, tables=names, **options)
