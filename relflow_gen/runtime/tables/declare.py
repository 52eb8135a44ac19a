"""Declare: make the database match the generated schema, or say exactly how it differs.

1. Create the schema's databases (MySQL).
2. Compare every existing table with the generated heading; on any mismatch
   raise :class:`DeclareError` listing each difference, having changed nothing.
3. Create missing tables in dependency order (and the jobs tables).
4. Insert lookup contents that are missing; rows that exist with other values
   are reported (``update_contents=True`` updates them).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from relflow_gen.core.lazy import lazy_module
from relflow_gen.core.meta import TableMeta
from relflow_gen.runtime.errors import DeclareError

if TYPE_CHECKING:
    import logging

    from relflow_gen.runtime.backends import base
    from relflow_gen.runtime.backends.base import Backend, ColumnInfo
    from relflow_gen.runtime.tables.host import TableHost
else:  # loaded when first used (relflow_gen/core/lazy.py): declaring reads the catalogue through
    # the backend (its module is loaded by then), logging when something is logged
    base = lazy_module("relflow_gen.runtime.backends.base")
    logging = lazy_module("logging")


@dataclass
class DeclareReport:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    contents_inserted: dict[str, int] = field(default_factory=dict)
    contents_changed: dict[str, list[str]] = field(default_factory=dict)


def compare(backend: Backend, meta: TableMeta, actual: list[ColumnInfo]) -> list[str]:
    """Differences between the generated heading and an existing table."""
    expected = backend.expected_columns(meta)
    exp = {c.name: c for c in expected}
    act = {c.name: c for c in actual}
    out = []
    for c in expected:
        a = act.get(c.name)
        if a is None:
            out.append(f"missing column `{c.name}` ({c.type})")
            continue
        if a.type != c.type:
            out.append(f"column `{c.name}` is {a.type} in the database, the schema says {c.type}")
        if a.nullable != c.nullable:
            out.append(
                f"column `{c.name}` is {'nullable' if a.nullable else 'NOT NULL'} in the database, "
                f"the schema says {'nullable' if c.nullable else 'NOT NULL'}"
            )
    for a in actual:
        if a.name not in exp:
            out.append(f"column `{a.name}` exists in the database but not in the schema")
    pk_exp = [c.name for c in expected if c.in_key]
    pk_act = [c.name for c in actual if c.in_key]
    if sorted(pk_exp) != sorted(pk_act):
        out.append(f"primary key is ({', '.join(pk_act)}) in the database, the schema says ({', '.join(pk_exp)})")
    return out


def declare(
    pipeline: TableHost, *, update_contents: bool = False, extra: Sequence[TableMeta] = ()
) -> DeclareReport:
    """Create the missing tables of the pipeline (and ``extra`` tables such as the jobs
    tables), check the existing ones, and insert the lookup contents."""
    conn = pipeline.connection
    backend = conn.backend
    meta = pipeline.meta
    report = DeclareReport()
    cursor = conn._cursor
    tables = list(meta.tables) + list(extra)
    problems: list[str] = []
    missing: list[TableMeta] = []
    by_name = {t.full_name: t for t in tables}
    with backend.introspecting(cursor, sorted({t.schema for t in tables})):  # one catalogue read (MySQL)
        for t in tables:
            if backend.unchanged(cursor, t, by_name):  # the text it was created with: nothing to compare
                report.existing.append(t.full_name)
                continue
            actual = backend.existing_columns(cursor, t)
            if actual is None:
                missing.append(t)
                continue
            report.existing.append(t.full_name)
            diffs = compare(backend, t, actual)
            if not diffs:  # what the column list does not show (SQLite: an enum's CHECK)
                stored = backend.existing_types(cursor, t)
                diffs = [
                    f"column `{a.name}` is {stored[a.name]} in the database, the schema says {a.type.render()}"
                    for a in base.table_columns(t)
                    if a.name in stored and stored[a.name] != backend.expected_type(a)
                ]
            for diff in diffs:
                problems.append(f"{t.full_name} ({backend.table_ref(t.schema, t.sql_name)}): {diff}")
    if problems:
        raise DeclareError(
            "the database does not match the schema; nothing was changed:\n  "
            + "\n  ".join(problems)
            + "\n(the `diff` command lists the differences and `migrate` applies them: see docs/evolving.md)"
        )
    if missing and conn.in_transaction and not backend.transactional_ddl:
        raise DeclareError(f"declare() cannot create tables inside a transaction on {backend.name} (DDL commits it)")
    if missing:
        for schema in meta.schemas:  # only now: a mismatch must leave the server untouched
            for stmt in backend.create_database(schema):
                conn.execute(stmt)
    # on SQLite one transaction: a failure leaves no table behind (MySQL commits each CREATE)
    # tables created in this transaction are empty when their contents go in (SQLite: the
    # transaction holds the write lock; MySQL commits each CREATE, so there they are read first)
    created = {t.full_name for t in missing} if backend.transactional_ddl else set()
    with conn.transaction() if backend.transactional_ddl else nullcontext(conn):
        for t in missing:
            for stmt in backend.create_table(t, by_name):
                conn.execute(stmt)
            report.created.append(t.full_name)
        for t in meta.tables:
            if t.tier == "lookup" and t.contents:
                _sync_contents(pipeline, t, report, update_contents, created=t.full_name in created)
    if report.created:
        logging.getLogger("relflow_gen").info(
            "declared %d table(s): %s", len(report.created), ", ".join(report.created)
        )
    return report


def _sync_contents(
    pipeline: TableHost, meta: TableMeta, report: DeclareReport, update: bool, *, created: bool = False
) -> None:
    table = pipeline.table(meta.full_name)
    names = meta.names
    rows = [dict(zip(names, r)) for r in meta.contents]
    pk = meta.primary_key
    existing = {} if created else {tuple(r[k] for k in pk): r for r in table.fetch()}
    fresh = [r for r in rows if tuple(r[k] for k in pk) not in existing]
    if fresh:
        table.insert(fresh, skip_duplicates=True)  # another process may be declaring at the same time
        report.contents_inserted[meta.full_name] = len(fresh)
    changed = []
    for r in rows:
        cur = existing.get(tuple(r[k] for k in pk))
        if cur is not None and any(_differs(cur[n], r[n]) for n in names if n not in pk):
            changed.append(r)
    if changed:
        keys = [str({k: r[k] for k in pk}) for r in changed]
        report.contents_changed[meta.full_name] = keys
        if update:
            for r in changed:
                table.update1(r)
        else:
            logging.getLogger("relflow_gen").warning(
                "%s: %d lookup row(s) differ from the declared contents (declare(update_contents=True) updates them): %s",
                meta.full_name,
                len(changed),
                ", ".join(keys[:5]),
            )


def _differs(a: Any, b: Any) -> bool:
    try:
        return bool(a != b)
    except Exception:  # noqa: BLE001 - arrays compare elementwise
        return True
