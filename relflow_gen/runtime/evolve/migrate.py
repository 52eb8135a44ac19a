"""Plan and apply a migration: the SQL that makes the database match the schema.

:func:`plan` turns a :class:`~relflow_gen.runtime.evolve.diff.SchemaDiff` into
statements per backend (``ALTER TABLE``, one per table where the backend can;
SQLite's table rebuild otherwise) and refuses, as a whole, any migration with a
change it may not make: a DATA change the user did not say how to make, or a
KEY change (with the tables, row counts and commands to drop and recompute).
:func:`migrate` prints nothing itself; it applies the plan, inserts lookup
contents through :func:`declare`, and checks after that the tables the plan changed
now match the schema (the other tables matched when the plan was made).
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from relflow_gen.core.meta import TableMeta
from relflow_gen.core.types import TypeSpec
from relflow_gen.runtime.backends.base import TableAlter, table_columns
from relflow_gen.runtime.errors import MigrateError
from relflow_gen.runtime.evolve.diff import KEY, SAFE, Change, SchemaDiff, diff
from relflow_gen.runtime.tables.declare import declare
from relflow_gen.runtime.tables.host import TableHost

#: DATA changes applied without a flag once their check found no row that does not fit
_CHECKED = ("narrow", "enum_remove", "not_null")


@dataclass
class MigrationPlan:
    diff: SchemaDiff
    #: the statements as they run (SQLite: inside one transaction)
    statements: list[str]
    applied: list[Change] = field(default_factory=list)
    #: (change, why it is refused and what to do)
    refused: list[tuple[Change, str]] = field(default_factory=list)
    #: lookup tables whose declared contents are inserted (or updated) after the DDL
    contents: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.refused


def parse_fills(items: Sequence[str], host: TableHost, extra: Sequence[TableMeta] = ()) -> dict[tuple[str, str], Any]:
    """``attr=value`` or ``Table.attr=value`` -> {(table full name, attr): typed value}."""
    tables = list(host.meta.tables) + list(extra)
    out: dict[tuple[str, str], Any] = {}
    for item in items:
        target, sep, text = item.partition("=")
        if not sep or not target:
            raise MigrateError(f"--fill {item!r}: write ATTRIBUTE=VALUE or TABLE.ATTRIBUTE=VALUE")
        table_name, _, attr = target.rpartition(".")
        matches = [t for t in tables if attr in t.by_name and (not table_name or table_name in (t.name, t.full_name))]
        if not matches:
            raise MigrateError(f"--fill {item!r}: no table of the schema has an attribute `{attr}`")
        for t in matches:
            out[(t.full_name, attr)] = _typed(t.by_name[attr].type, text, item)
    return out


def _typed(spec: TypeSpec, text: str, item: str) -> Any:
    try:
        if spec.kind == "int":
            return int(text)
        if spec.kind == "float":
            return float(text)
        if spec.kind == "bool":
            if text.lower() not in ("0", "1", "true", "false"):
                raise MigrateError(f"--fill {item!r}: {text!r} is not a {spec.render()} value (0, 1, true, false)")
            return text.lower() in ("1", "true")
        if spec.kind == "decimal":
            return decimal.Decimal(text)
    except (ValueError, decimal.InvalidOperation):
        raise MigrateError(f"--fill {item!r}: {text!r} is not a {spec.render()} value") from None
    if spec.kind == "enum" and text not in spec.args:
        raise MigrateError(f"--fill {item!r}: {text!r} is not one of {spec.render()}")
    if spec.kind in ("blob", "bytes", "json", "uuid"):
        raise MigrateError(f"--fill {item!r}: {spec.render()} attributes cannot be filled from the command line")
    return text


def plan(
    host: TableHost,
    extra: Sequence[TableMeta] = (),
    *,
    allow_drop: bool = False,
    fills: Mapping[tuple[str, str], Any] | None = None,
    update_contents: bool = False,
    prog: str = "python -m PACKAGE --db URL",
) -> MigrationPlan:
    """What ``migrate`` would do now: the statements, or why it refuses."""
    fills = dict(fills or {})
    d = diff(host, extra)
    backend = host.connection.backend
    tables = list(host.meta.tables) + list(extra)
    by_name = {t.full_name: t for t in tables}
    result = MigrationPlan(d, [])
    key_tables = [t for t in d.tables() if any(c.kind == KEY and c.table == t for c in d.changes)]
    for table in key_tables:
        above = [k for k in key_tables if k != table and table in {t.full_name for t in host.meta.descendants(k)}]
        if above:
            advice = f"dropped and recomputed with {above[0]} (see there)"
        else:
            advice = _key_advice(host, d, table, prog)
        for c in d.changes:
            if c.table == table:
                result.refused.append((c, advice))
    for c in d.changes:
        if c.table in key_tables:
            continue
        why = _refusal(c, allow_drop, fills, update_contents)
        added = [a.column for a in d.changes if a.table == c.table and a.code == "add_column"]
        if why and c.code == "drop_column" and added:
            why += (
                f"; if `{c.column}` was renamed to `{added[0]}`: a rename is a drop plus an add, "
                f"so add `{added[0]}` first (nullable), copy the values, then drop `{c.column}`"
            )
        if why:
            result.refused.append((c, why))
        else:
            result.applied.append(c)
    if result.refused:
        return result
    statements: list[str] = []
    new_tables = [by_name[c.table] for c in result.applied if c.code == "new_table"]
    if new_tables:
        for schema in host.meta.schemas:
            statements += backend.create_database(schema)
        for t in new_tables:
            statements += backend.create_table(t, by_name)
    rebuilds = False
    for t in tables:
        changes = [c for c in result.applied if c.table == t.full_name and c.code not in ("new_table",)]
        alter = _alter(t, changes, d, fills)
        if alter is not None:
            statements += backend.alter_table_sql(t, by_name, alter)
            rebuilds = rebuilds or alter.rebuild
    drops = _drop_tables(host, [c for c in result.applied if c.code == "drop_table"], d)
    statements += drops
    result.statements = backend.migration_script(statements, rebuilds=rebuilds or bool(drops))
    result.contents = sorted(
        {c.table for c in result.applied if c.code.startswith("contents_")}
        | {t.full_name for t in new_tables if t.tier == "lookup" and t.contents}
    )
    return result


def _refusal(c: Change, allow_drop: bool, fills: Mapping[tuple[str, str], Any], update_contents: bool) -> str:
    if c.kind == SAFE:
        return ""
    if c.code in ("drop_table", "drop_column"):
        return "" if allow_drop else "give --allow-drop to drop it"
    if c.code == "add_column":
        if c.rows == 0 or (c.table, c.column) in fills:  # an empty table needs no value
            return ""
        return f"give --fill {c.column}=VALUE (or a default in the schema)"
    if c.code == "not_null" and (c.table, c.column) in fills:
        return ""
    if c.code in _CHECKED:
        if c.rows == 0:
            return ""
        keys = "; ".join(str(r) for r in c.sample)
        fix = f"--fill {c.column}=VALUE, or " if c.code == "not_null" else ""
        return f"rows that do not fit: {keys}; {fix}change or delete them first"
    if c.code == "contents_changed":
        return "" if update_contents else "give --update-contents to update them"
    if c.code == "retype":
        return "rename = drop + add: add the new attribute, copy the values, then drop the old one (--allow-drop)"
    return "change the rows first"


def _alter(
    t: TableMeta, changes: list[Change], d: SchemaDiff, fills: Mapping[tuple[str, str], Any]
) -> TableAlter | None:
    structural = [c for c in changes if not c.code.startswith("contents_")]
    if not structural:
        return None
    columns = {a.name: a for a in table_columns(t)}
    state = d.states[t.full_name]
    alter = TableAlter()
    for c in structural:
        col = c.column
        if c.code == "add_column" and col is not None:
            alter.add.append(columns[col])
        elif c.code == "doc":
            alter.comment = t.doc
        elif c.code in ("widen", "narrow", "enum_remove", "not_null", "nullable", "comment") and col is not None:
            if all(a.name != col for a in alter.modify):
                alter.modify.append(columns[col])
        elif c.code == "drop_column" and col is not None:
            alter.drop.append(col)
        elif c.code == "add_index":
            alter.add_indexes.append((c.index, c.unique))
        elif c.code == "drop_index":
            alter.drop_indexes += [i for i in state.indexes if (i.columns, i.unique) == (c.index, c.unique)]
        if col is not None and (t.full_name, col) in fills and c.code in ("add_column", "not_null"):
            alter.fills[col] = fills[(t.full_name, col)]
    return alter


def _drop_tables(host: TableHost, changes: list[Change], d: SchemaDiff) -> list[str]:
    """DROP TABLE statements, each table before the tables it references."""
    backend = host.connection.backend
    cursor = host.connection._cursor
    names = {c.table for c in changes}
    pending = {}
    for schema, sql_name in d.extra_tables:
        if f"{schema}.{sql_name}" in names:
            meta = TableMeta(schema, sql_name, "manual", sql_name, ())
            parents = {f.parent for f in backend.existing_foreign_keys(cursor, meta)}
            pending[backend.fk_parent_name(meta)] = (meta, parents)
    out = []
    while pending:
        referenced = {p for _, parents in pending.values() for p in parents}
        ready = [k for k in pending if k not in referenced] or list(pending)
        for k in sorted(ready):
            out.append(backend.drop_table(pending.pop(k)[0]).replace("DROP TABLE IF EXISTS", "DROP TABLE", 1))
    return out


def _key_advice(host: TableHost, d: SchemaDiff, table: str, prog: str) -> str:
    backend = host.connection.backend
    meta = host.meta.by_name.get(table)
    if meta is None:
        return "not migrated in place"
    state = d.states.get(table)
    affected = [meta, *host.meta.descendants(table)]
    counts: dict[str, int] = {}
    drops = []
    for t in affected:
        sql_name = t.sql_name
        if t is meta and state is not None and not state.exists:
            twin = next((c.message.split("`")[1] for c in d.changes if c.table == table and c.code == "tier"), None)
            sql_name = twin or sql_name
        if sql_name not in backend.table_names(host.connection._cursor, t.schema):
            continue
        ref = backend.table_ref(t.schema, sql_name)
        counts[t.full_name] = int(host.connection.scalar(f"SELECT COUNT(*) FROM {ref}"))
        drops.append(f"DROP TABLE {ref};")
    total = sum(counts.values())
    shown = ", ".join(f"{k}: {v}" for k, v in counts.items())
    pad = "\n        "
    return (
        f"not migrated in place: {total} row(s) would have to be dropped and recomputed ({shown}). To do it, "
        "keep what cannot be recomputed (manual and imported rows), then:"
        + pad
        + pad.join(reversed(drops))
        + pad
        + f"{prog} declare"
        + pad
        + f"{prog} populate"
    )


def migrate(
    host: TableHost,
    extra: Sequence[TableMeta] = (),
    *,
    dry_run: bool = False,
    allow_drop: bool = False,
    fills: Mapping[tuple[str, str], Any] | None = None,
    update_contents: bool = False,
    prog: str = "python -m PACKAGE --db URL",
) -> MigrationPlan:
    """Apply the SAFE changes (and the DATA changes the options allow); refuse everything when
    anything is refused.  Raises :class:`MigrateError` when the plan is refused."""
    p = plan(host, extra, allow_drop=allow_drop, fills=fills, update_contents=update_contents, prog=prog)
    if not dry_run:
        apply(host, p, extra, update_contents=update_contents)
    elif not p.ok:
        raise MigrateError(refusal_text(p))
    return p


def apply(host: TableHost, p: MigrationPlan, extra: Sequence[TableMeta] = (), *, update_contents: bool = False) -> None:
    """Run a plan made by :func:`plan` (the statements it shows are the ones that run), then
    insert lookup contents and check that nothing differs any more."""
    if not p.ok:
        raise MigrateError(refusal_text(p))
    if not p.diff:
        return
    conn = host.connection
    if conn.in_transaction:
        raise MigrateError("migrate cannot run inside a transaction")
    try:
        conn.backend.run_migration(conn._cursor, p.statements)
    except MigrateError:
        raise
    except Exception as exc:
        if conn.backend.is_driver_error(exc):
            raise MigrateError(
                f"the database refused the migration: {exc}. On SQLite nothing was changed; on MySQL "
                "the tables before it were migrated (each ALTER TABLE commits): fix the cause and "
                "run migrate again, it does what is left"
            ) from exc
        raise
    if p.contents:
        declare(host, update_contents=update_contents, extra=extra)
    # the tables the plan changed, read again: the others matched when the plan was made, and
    # no statement of the plan touches them
    after = diff(host, extra, contents=bool(p.contents), checks=False, only=set(p.diff.tables()))
    if after:
        raise MigrateError("after migrate the database still differs from the schema:\n" + after.text())


def refusal_text(p: MigrationPlan) -> str:
    lines = ["migrate refused; nothing was changed:"]
    said: set[str] = set()
    for c, why in p.refused:
        lines.append(f"  {c.table}: {c.kind} {c.message}")
        if c.kind == KEY and why in said:
            continue
        said.add(why)
        lines.append(f"      {why}")
    return "\n".join(lines)
