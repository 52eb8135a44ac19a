"""Store maintenance: which tables use which store, garbage collection and verification.

``gc`` deletes the objects no row refers to, and only those older than a grace
period (objects of inserts and makes still running are young).  The columns
that refer to a store are recorded in the store itself when a pipeline declares
its tables (``PREFIX/.relflow/columns/``), so gc reads the references of every
table of the schema, including tables another package declared.  A candidate is
first moved aside, the references are read again, and what became referenced
meanwhile is moved back: with the inserter's own re-check after commit
(:meth:`Stores.confirm`), no committed row ever loses its object.

``verify`` re-reads every referenced object (exists, size, sha256) and reports
the rows whose objects are missing or corrupt.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from relflow_gen.core.lazy import lazy_module
from relflow_gen.core.meta import SchemaMeta, TableMeta
from relflow_gen.runtime.errors import MissingTableError
from relflow_gen.runtime.stores.errors import ObjectCorruptError, ObjectMissingError, StoreError

if TYPE_CHECKING:
    import uuid

    from relflow_gen.runtime.engine.connection import Connection
    from relflow_gen.runtime.stores import refs as stored_refs
    from relflow_gen.runtime.stores.store import Store
    from relflow_gen.runtime.tables.host import TableHost
else:  # loaded when first used (relflow_gen/core/lazy.py): only gc and verify read stored values
    stored_refs = lazy_module("relflow_gen.runtime.stores.refs")
    uuid = lazy_module("uuid")

#: default grace period of gc: objects younger than this are never collected
DEFAULT_GRACE_SECONDS = 24 * 3600.0
#: temporary files (writes in progress on a local store) are collected only when older than this,
#: whatever the grace period: a write that old was abandoned (its writer was killed)
TMP_MIN_AGE_SECONDS = 3600.0


def store_uses(meta: SchemaMeta) -> dict[str, list[str]]:
    """Store name -> tables (full names) with attributes in it."""
    uses: dict[str, list[str]] = defaultdict(list)
    for t in meta.tables:
        for a in t.external:
            name = a.type.store
            if name is not None and t.full_name not in uses[name]:
                uses[name].append(t.full_name)
    return dict(uses)


def _columns(meta: SchemaMeta, store: str) -> Iterable[tuple[TableMeta, str]]:
    for t in meta.tables:
        for a in t.external:
            if a.type.store == store:
                yield t, a.name


def database_identity(conn: Connection) -> str:
    """Which database this is, as gc tells two databases apart in one store root.

    SQLite: the database file's real path; MySQL/MariaDB: the server's host name, port and
    data directory (the database name is the store's folder).
    """
    if conn.backend.name == "sqlite":
        for row in conn.query("PRAGMA database_list", []):
            if str(row[1]) == "main":
                return f"sqlite {os.path.realpath(str(row[2]))}" if row[2] else f"sqlite in-memory {id(conn)}"
        return f"sqlite in-memory {id(conn)}"  # pragma: no cover - SQLite always lists main
    (host, port, datadir), *_ = conn.query("SELECT @@hostname, @@port, @@datadir", [])
    return f"mysql {host}:{port} {datadir}"


def mark_columns(conn: Connection, meta: SchemaMeta) -> None:
    """Record in each store the columns of this schema that refer to it (gc reads them), and
    which database the schema's folder belongs to (the first to declare claims it)."""
    identity = ""
    for name in store_uses(meta):
        store = conn.stores.get(name)
        prefixes = set()
        for t, col in _columns(meta, name):
            prefix = conn.backend.database_name(t.schema)
            store.mark_column(prefix, t.sql_name, col)
            prefixes.add(prefix)
        identity = identity or database_identity(conn)
        for prefix in sorted(prefixes):
            store.claim(prefix, identity)


def _check_owner(conn: Connection, store: Store, prefix: str) -> None:
    """gc of a folder another database claimed would delete that database's objects: refused."""
    owner = store.owner(prefix)
    mine = database_identity(conn)
    if owner is not None and owner != mine:
        raise StoreError(
            f"store {store.name}: the folder {prefix} belongs to another database ({owner}), not to this one "
            f"({mine}): two databases with the schema {prefix!r} share the store root, and gc of one would "
            "delete the other's objects. Give each database its own store root; if this database was only "
            f"moved, delete {store.url_of(store.owner_path(prefix))} and run gc again"
        )


def _prefixes(conn: Connection, meta: SchemaMeta, store: str) -> list[tuple[str, str]]:
    """(schema, prefix) of the schemas of this pipeline that use the store."""
    out = []
    for schema in meta.schemas:
        if any(t.schema == schema for t, _ in _columns(meta, store)):
            out.append((schema, conn.backend.database_name(schema)))
    return out


def _object_root(rel: str) -> str:
    """``PREFIX/object/TABLE/KEY/ATTR.TOKEN`` of a file inside an object@ tree."""
    return "/".join(rel.split("/")[:5])


def _referenced(conn: Connection, store: Store, schema: str, prefix: str) -> set[str]:
    """Paths (content objects and object roots) referred to by the rows of the schema's marked columns."""
    q = conn.backend.quote
    refs: set[str] = set()
    for table, column in store.marked_columns(prefix):
        sql = f"SELECT {q(column)} FROM {conn.backend.table_ref(schema, table)} WHERE {q(column)} IS NOT NULL"
        try:
            rows = conn.query(sql, [])
        except MissingTableError:
            continue  # the table was dropped: it refers to nothing
        for (text,) in rows:
            # every reference counts, whatever store name it gives: two names may be one root
            ref = stored_refs.Stored.from_json(str(text))
            if ref.kind in ("blob", "attach"):
                refs.add(ref.path)
            elif ref.kind == "object":
                refs.add(_object_root(ref.path))
    return refs


@dataclass
class GcReport:
    """What gc found (and, unless a dry run, deleted)."""

    store: str
    dry_run: bool
    referenced: int = 0
    collected: list[str] = field(default_factory=list)  # object paths (content objects and object roots)
    young: int = 0  # unreferenced but within the grace period
    bytes: int = 0

    def summary(self) -> str:
        verb = "would delete" if self.dry_run else "deleted"
        return (
            f"store {self.store}: {self.referenced} referenced, {verb} {len(self.collected)} unreferenced "
            f"({self.bytes} bytes), {self.young} unreferenced but younger than the grace period"
        )


def gc(
    host: TableHost,
    store_name: str,
    *,
    grace_seconds: float = DEFAULT_GRACE_SECONDS,
    dry_run: bool = False,
) -> GcReport:
    """Delete the objects of ``store_name`` that no row refers to and that are older than the grace period."""
    conn = host.connection
    store = conn.stores.get(store_name)
    if grace_seconds < 0:
        raise StoreError("the grace period cannot be negative")
    if not store.local and grace_seconds < store.config.refresh_seconds:
        raise StoreError(
            f"store {store_name}: the grace period ({grace_seconds:g} s) must be at least the store's "
            f"refresh_seconds ({store.config.refresh_seconds:g} s), or a deduplicated value could be collected"
        )
    mark_columns(conn, host.meta)
    report = GcReport(store_name, dry_run)
    cutoff = time.time() - grace_seconds
    for schema, prefix in _prefixes(conn, host.meta, store_name):
        _check_owner(conn, store, prefix)
        store.claim(prefix, database_identity(conn))
        refs = _referenced(conn, store, schema, prefix)
        report.referenced += len(refs)
        # candidates: unreferenced groups of files (a content object, an object@ tree, a stale temporary file)
        groups: dict[str, list[tuple[str, float, int]]] = defaultdict(list)
        for rel, mtime, size in store.list_files(f"{prefix}/hash"):
            groups[rel].append((rel, mtime, size))
        for rel, mtime, size in store.list_files(f"{prefix}/object"):
            groups[_object_root(rel)].append((rel, mtime, size))
        tmp_cutoff = min(cutoff, time.time() - TMP_MIN_AGE_SECONDS)
        for rel, mtime, size in store.list_files(f"{prefix}/.tmp"):
            groups["/".join(rel.split("/")[:3])].append((rel, mtime, size))  # PREFIX/.tmp/NAME
        candidates: dict[str, list[tuple[str, float, int]]] = {}
        for root, files in groups.items():
            if root in refs:
                continue
            if max(m for _, m, _ in files) > (tmp_cutoff if root.startswith(f"{prefix}/.tmp/") else cutoff):
                report.young += 1
                continue
            candidates[root] = files
        if dry_run:
            for root, files in sorted(candidates.items()):
                report.collected.append(root)
                report.bytes += sum(s for _, _, s in files)
            continue
        _collect(conn, store, schema, prefix, candidates, report)
    return report


def _collect(
    conn: Connection,
    store: Store,
    schema: str,
    prefix: str,
    candidates: dict[str, list[tuple[str, float, int]]],
    report: GcReport,
) -> None:
    """Move the candidates aside, read the references again, put back what became referenced, delete the rest."""
    if not candidates:
        return
    trash = f"{prefix}/.trash/{uuid.uuid4().hex}"
    moved: dict[str, list[str]] = {}
    for root, files in candidates.items():
        done: list[str] = []
        for rel, _, _ in files:
            try:
                store.move(rel, f"{trash}/{rel}")
                done.append(rel)
            except FileNotFoundError:
                continue  # gone meanwhile
        moved[root] = done
    refs = _referenced(conn, store, schema, prefix)
    doomed: list[str] = []
    for root, paths in moved.items():
        if root in refs:  # referenced since the first read: back where it was
            for rel in paths:
                if not store.exists(rel):
                    store.move(f"{trash}/{rel}", rel)
            continue
        report.collected.append(root)
        report.bytes += sum(s for _, _, s in candidates[root])
        doomed += [f"{trash}/{rel}" for rel in paths]
    leftovers = [f"{trash}/{rel}" for root in moved if root in refs for rel in moved[root]]
    for rel in leftovers:
        if store.exists(rel):
            doomed.append(rel)
    for i in range(0, len(doomed), 1000):
        store.delete(doomed[i : i + 1000])
    try:
        if store.exists(trash):
            store.fs.rm(store.full(trash), recursive=True)
    except FileNotFoundError:
        pass
    report.collected.sort()


@dataclass(frozen=True)
class Problem:
    """A row whose object is missing or corrupt."""

    table: str
    key: dict[str, Any]
    attribute: str
    kind: str  # "missing" | "corrupt"
    message: str


@dataclass
class VerifyReport:
    checked: int = 0
    problems: list[Problem] = field(default_factory=list)

    def summary(self) -> str:
        if not self.problems:
            return f"{self.checked} objects checked: all present and intact"
        return f"{self.checked} objects checked: {len(self.problems)} missing or corrupt"


def verify(host: TableHost, store_name: str | None = None) -> VerifyReport:
    """Re-read every object the rows refer to (exists, size, sha256); report the rows with problems."""
    conn = host.connection
    report = VerifyReport()
    for t in host.meta.tables:
        cols = [a for a in t.external if store_name is None or a.type.store == store_name]
        if not cols:
            continue
        table = host.table(t.full_name)
        names = [*t.primary_key, *(a.name for a in cols)]
        for row in table.fetch_raw(*names):
            key = {k: row[k] for k in t.primary_key}
            for a in cols:
                text = row[a.name]
                if text is None:
                    continue
                ref = stored_refs.Stored.from_json(str(text))
                report.checked += 1
                where = f"{t.full_name} {key} attribute {a.name}"
                try:
                    conn.stores.get(ref.store).verify_ref(ref, where)
                except ObjectMissingError as exc:
                    report.problems.append(Problem(t.full_name, key, a.name, "missing", str(exc)))
                except ObjectCorruptError as exc:
                    report.problems.append(Problem(t.full_name, key, a.name, "corrupt", str(exc)))
    return report
