"""The difference between a live database and the schema metadata, change by change.

:func:`diff` introspects every table of the schema (and the extra tables the
caller names, such as the jobs tables) and lists each difference with its
class:

* ``SAFE``: applied by ``migrate`` without asking (new table, new nullable or
  defaulted attribute, new index, a unique index the rows satisfy, a widened
  type, a NOT NULL column made nullable, new lookup rows, a dropped index);
* ``DATA``: applied only when the user says how (``--allow-drop`` for dropped
  attributes and tables, ``--fill`` for a new NOT NULL attribute without
  default or for NULLs, ``--update-contents`` for changed lookup rows); a
  narrowed type or a removed enum value is applied only when every current
  value fits, else the rows that do not fit are named;
* ``KEY``: primary-key, foreign-key and tier changes, never made in place.

The database is the only record: ``migrate`` recomputes the diff each time, so
a rerun after an interruption does what is left.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from relflow_gen.core.meta import REQUIRED, Attr, TableMeta
from relflow_gen.core.types import TYPES, TypeSpec, sql_string
from relflow_gen.runtime.backends.base import Backend, ForeignKeyInfo, IndexInfo, table_columns
from relflow_gen.runtime.tables.host import TableHost

SAFE, DATA, KEY = "SAFE", "DATA", "KEY"
#: rows named when a check fails
SAMPLE_ROWS = 5


@dataclass
class Change:
    """One difference between the database and the schema."""

    table: str  # full name (tables only in the database: schema.sql_name)
    kind: str  # SAFE, DATA or KEY
    code: str  # new_table, drop_table, add_column, drop_column, widen, narrow, retype, nullable,
    #            not_null, add_index, drop_index, primary_key, foreign_key, tier, contents_new, contents_changed
    message: str
    column: str | None = None
    #: rows that would be lost (drops) or that do not fit (checks); None when not counted
    rows: int | None = None
    #: keys of the rows that do not fit (at most SAMPLE_ROWS)
    sample: list[dict[str, Any]] = field(default_factory=list)
    #: the columns of an index change, and whether it is unique
    index: tuple[str, ...] = ()
    unique: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "kind": self.kind,
            "change": self.code,
            "column": self.column,
            "message": self.message,
            "rows": self.rows,
            "sample": [{k: _jsonable(v) for k, v in r.items()} for r in self.sample],
            "index": list(self.index) if self.index else None,
        }


@dataclass
class TableState:
    """What the database holds for one table of the schema."""

    meta: TableMeta
    exists: bool
    types: dict[str, str] = field(default_factory=dict)
    nullable: dict[str, bool] = field(default_factory=dict)
    key: list[str] = field(default_factory=list)
    indexes: list[IndexInfo] = field(default_factory=list)
    foreign_keys: list[ForeignKeyInfo] = field(default_factory=list)
    comments: dict[str, str] | None = None


@dataclass
class SchemaDiff:
    changes: list[Change]
    states: dict[str, TableState]
    #: (schema, sql name) of tables the database holds and the schema does not
    extra_tables: list[tuple[str, str]]

    def __bool__(self) -> bool:
        return bool(self.changes)

    def tables(self) -> list[str]:
        return list(dict.fromkeys(c.table for c in self.changes))

    def text(self) -> str:
        """Per table, one line per change: ``SAFE  add_column `x` ...``."""
        lines = []
        for table in self.tables():
            lines.append(f"{table}:")
            for c in self.changes:
                if c.table == table:
                    lines.append(f"  {c.kind:4s}  {c.message}")
        return "\n".join(lines)

    def summary(self) -> str:
        counts = {k: sum(1 for c in self.changes if c.kind == k) for k in (SAFE, DATA, KEY)}
        parts = [f"{n} {k}" for k, n in counts.items() if n]
        return f"{len(self.changes)} difference(s) in {len(self.tables())} table(s): " + ", ".join(parts)


def tier_free(sql_name: str) -> str:
    """A table's sql name without its tier prefix (``#``, ``_``, ``__``)."""
    return sql_name.lstrip("#_")


def diff(
    host: TableHost,
    extra: Sequence[TableMeta] = (),
    *,
    contents: bool = True,
    checks: bool = True,
    only: Collection[str] | None = None,
) -> SchemaDiff:
    """Every difference between the database and ``host.meta`` (plus ``extra`` tables).

    ``contents``: compare lookup contents too; ``checks``: count the rows each DATA
    change concerns (the drift check before commands skips both). ``only``: compare only
    these tables (full names, as :attr:`Change.table` gives them; a table only in the
    database among them is reported if it is still there) -- ``migrate``'s check after,
    on the tables it changed.
    """
    conn = host.connection
    backend = conn.backend
    cursor = conn._cursor
    tables = list(host.meta.tables) + list(extra)
    by_name = {t.full_name: t for t in tables}
    counter = _Counter(host, checks)
    changes: list[Change] = []
    states: dict[str, TableState] = {}
    expected: dict[str, set[str]] = {}
    for t in tables:
        expected.setdefault(t.schema, set()).add(t.sql_name)
    read: list[tuple[str, str]] | None = None
    if only is not None:
        tables = [t for t in tables if t.full_name in only]
        read = [(t.schema, t.sql_name) for t in tables]
        for name in sorted(set(only) - set(by_name)):  # tables only in the database: still there?
            schema, _, sql_name = name.partition(".")
            if schema in expected:
                read.append((schema, sql_name))
        expected = {schema: names for schema, names in expected.items() if any(s == schema for s, _ in read)}
    with backend.introspecting(cursor, list(expected), read):
        present = {schema: backend.table_names(cursor, schema) for schema in expected}
        tables_state = {t.full_name: _introspect(backend, cursor, t) for t in tables}
    extra_tables = sorted(
        (schema, name)
        for schema, names in present.items()
        for name in names - expected[schema]
        if not name.startswith("~") and not name.endswith("~new")  # other hidden tables are not ours to judge
    )
    twins = {(schema, tier_free(name)): name for schema, name in extra_tables}
    for t in tables:
        state = tables_state[t.full_name]
        states[t.full_name] = state
        if not state.exists:
            twin = twins.get((t.schema, tier_free(t.sql_name)))
            if twin is not None:
                n = counter.rows(backend.table_ref(t.schema, twin))
                changes.append(
                    Change(
                        t.full_name,
                        KEY,
                        "tier",
                        f"tier changed: the database holds it as `{twin}`, the schema as {t.tier} `{t.sql_name}`"
                        + _rows_text(n),
                        rows=n,
                    )
                )
            else:
                changes.append(Change(t.full_name, SAFE, "new_table", f"new {t.tier} table `{t.sql_name}`"))
            continue
        changes += _table_changes(backend, t, state, by_name, counter)
        if contents and t.tier == "lookup" and t.contents and not any(c.table == t.full_name for c in changes):
            changes += _contents_changes(host, t)
    for schema, name in extra_tables:
        if (schema, tier_free(name)) in {(t.schema, tier_free(t.sql_name)) for t in tables}:
            continue  # reported as a tier change
        n = counter.rows(backend.table_ref(schema, name))
        changes.append(
            Change(
                f"{schema}.{name}",
                DATA,
                "drop_table",
                f"table `{name}` is not in the schema: dropping it (--allow-drop) loses it" + _rows_text(n),
                rows=n,
            )
        )
    return SchemaDiff(changes, states, [(s, n) for s, n in extra_tables])


def _introspect(backend: Backend, cursor: Any, t: TableMeta) -> TableState:
    cols = backend.existing_columns(cursor, t)
    if cols is None:
        return TableState(t, False)
    return TableState(
        t,
        True,
        backend.existing_types(cursor, t),
        {c.name: c.nullable for c in cols},
        [c.name for c in cols if c.in_key],
        backend.existing_indexes(cursor, t),
        backend.existing_foreign_keys(cursor, t),
        backend.existing_comments(cursor, t),
    )


def _rows_text(n: int | None) -> str:
    return "" if n is None else f" ({n} row{'s' if n != 1 else ''})"


class _Counter:
    """Row counts and samples for the checks (nothing when checks are off)."""

    def __init__(self, host: TableHost, enabled: bool) -> None:
        self.conn = host.connection
        self.enabled = enabled

    def rows(self, ref: str, where: str = "") -> int | None:
        if not self.enabled:
            return None
        sql = f"SELECT COUNT(*) FROM {ref}" + (f" WHERE {where}" if where else "")
        return int(self.conn.scalar(sql))

    def sample(self, ref: str, key: Sequence[str], where: str) -> list[dict[str, Any]]:
        if not self.enabled or not key:
            return []
        q = self.conn.backend.quote
        cols = ", ".join(q(k) for k in key)
        rows = self.conn.query(f"SELECT {cols} FROM {ref} WHERE {where} ORDER BY {cols} LIMIT {SAMPLE_ROWS}")
        return [dict(zip(key, r)) for r in rows]


def _table_changes(
    backend: Backend, t: TableMeta, state: TableState, by_name: dict[str, TableMeta], counter: _Counter
) -> list[Change]:
    out: list[Change] = []
    ref = backend.table_ref(t.schema, t.sql_name)
    q = backend.quote
    name = t.full_name
    columns = table_columns(t)
    expected_key = [a.name for a in t.attributes if a.in_key]
    total = counter.rows(ref) if sorted(expected_key) != sorted(state.key) else None
    if sorted(expected_key) != sorted(state.key):
        out.append(
            Change(
                name,
                KEY,
                "primary_key",
                f"primary key is ({', '.join(state.key)}) in the database, the schema says "
                f"({', '.join(expected_key)})" + _rows_text(total),
                rows=total,
            )
        )
    fk_columns = {c for fk in t.foreign_keys for c, _ in fk.attrs}
    for a in columns:
        col = q(a.name)
        if a.name not in state.types:
            if a.in_key:
                continue  # the primary key change says it
            if a.nullable or a.default is not REQUIRED:
                out.append(Change(name, SAFE, "add_column", f"new attribute `{a.name}` ({a.type.render()})", a.name))
            else:
                n = counter.rows(ref)
                out.append(
                    Change(
                        name,
                        DATA,
                        "add_column",
                        f"new attribute `{a.name}` ({a.type.render()}) is NOT NULL without default: "
                        f"give --fill {a.name}=VALUE for the existing rows" + _rows_text(n),
                        a.name,
                        rows=n,
                    )
                )
            if a.name in fk_columns:
                pass  # the foreign key change below makes it KEY
            continue
        stored = state.types[a.name]
        wanted = backend.expected_type(a)
        if stored != wanted:
            out.append(_type_change(backend, t, a, stored, counter))
        if not a.in_key and state.nullable.get(a.name) and not a.nullable:
            where = f"{col} IS NULL"
            n = counter.rows(ref, where)
            sample = counter.sample(ref, state.key, where) if n else []
            how = f": give --fill {a.name}=VALUE for them" if n else ""
            out.append(
                Change(
                    name,
                    DATA,
                    "not_null",
                    f"`{a.name}` becomes NOT NULL{_rows_text(n).replace(' row', ' NULL row')}{how}",
                    a.name,
                    rows=n,
                    sample=sample,
                )
            )
        elif not a.in_key and not state.nullable.get(a.name, True) and a.nullable:
            out.append(Change(name, SAFE, "nullable", f"`{a.name}` becomes nullable", a.name))
    wanted_names = {a.name for a in columns}
    for c in state.types:
        if c not in wanted_names:
            n = counter.rows(ref, f"{q(c)} IS NOT NULL")
            out.append(
                Change(
                    name,
                    DATA,
                    "drop_column",
                    f"attribute `{c}` is not in the schema: dropping it (--allow-drop) loses its values"
                    + _rows_text(n),
                    c,
                    rows=n,
                )
            )
    if state.comments is not None:  # comments and docs, where the backend stores them
        wanted_comments = backend.expected_comments(t)
        for key, text in wanted_comments.items():
            have = state.comments.get(key)
            if have is None or have == text:
                continue
            if key:
                out.append(Change(name, SAFE, "comment", f"comment of `{key}` changed: {text!r}", key))
            else:
                out.append(Change(name, SAFE, "doc", f"table comment changed: {text!r}"))
    out += _index_changes(backend, t, state, counter)
    out += _fk_changes(backend, t, state, by_name, counter)
    return out


def _type_change(backend: Backend, t: TableMeta, a: Attr, stored: str, counter: _Counter) -> Change:
    old = backend.parse_type(stored)
    new = a.type
    ref = backend.table_ref(t.schema, t.sql_name)
    col = backend.quote(a.name)
    shown = old.render() if old is not None else stored
    head = f"`{a.name}` is {shown} in the database, the schema says {new.render()}"
    verdict = _compare_types(backend, old, new, col) if old is not None else None
    if verdict is None:
        return Change(
            t.full_name,
            DATA,
            "retype",
            head + ": not a widening; add a new attribute, copy the values, then drop the old one",
            a.name,
        )
    if verdict == "":
        return Change(t.full_name, SAFE, "widen", head + " (widening)", a.name)
    n = counter.rows(ref, verdict)
    sample = counter.sample(ref, [c.name for c in t.attributes if c.in_key], verdict) if n else []
    fits = "every value fits" if n == 0 else f"{n} row(s) do not fit"
    code = "enum_remove" if new.name == "enum" else "narrow"
    return Change(t.full_name, DATA, code, f"{head} (narrowing: {fits})", a.name, rows=n, sample=sample)


def _compare_types(backend: Backend, old: TypeSpec, new: TypeSpec, col: str) -> str | None:
    """ "" for a widening, an SQL condition selecting the rows that do not fit for a
    narrowing that can be checked, None for a change that is neither."""
    o, n = old.name, new.name
    strings = ("char", "varchar", "text")
    if o in strings and n in strings:
        if n == "text":
            return ""
        if o == "text" or int(new.args[0]) < int(old.args[0]):
            return f"{backend.char_length_sql(col)} > {int(new.args[0])}"
        return ""
    if old.kind == "int" and new.kind == "int":
        olo, ohi = TYPES[o].int_range or (0, 0)
        nlo, nhi = TYPES[n].int_range or (0, 0)
        if nlo <= olo and ohi <= nhi:
            return ""
        return f"({col} < {nlo} OR {col} > {nhi})"
    if o == "decimal" and n == "decimal":
        op, os_ = int(old.args[0]), int(old.args[1])
        np_, ns = int(new.args[0]), int(new.args[1])
        if np_ - ns >= op - os_ and ns >= os_:
            return ""
        return f"(ABS({col}) >= 1e{np_ - ns} OR {col} <> ROUND({col}, {ns}))"
    if o == "enum" and n == "enum":
        removed = [v for v in old.args if v not in new.args]
        if not removed:
            return ""
        return f"{col} IN ({', '.join(sql_string(str(v)) for v in removed)})"
    if o == "float32" and n == "float64":
        return ""
    if o == n and o in ("time", "datetime", "timestamp"):
        return "" if int(new.args[0]) >= int(old.args[0]) else None
    return None


def _index_changes(backend: Backend, t: TableMeta, state: TableState, counter: _Counter) -> list[Change]:
    fk_cols = {tuple(c for c, _ in fk.attrs) for fk in t.foreign_keys}
    fk_cols |= {fk.columns for fk in state.foreign_keys}

    def implicit(cols: tuple[str, ...], unique: bool) -> bool:
        return not unique and cols in fk_cols  # the index a foreign key needs (MySQL makes it itself)

    wanted = {(cols, True) for cols in backend.unique_indexes(t)}
    wanted |= {(cols, False) for cols in backend.plain_indexes(t) if (cols, True) not in wanted}
    wanted = {w for w in wanted if not implicit(*w)}
    have = {(i.columns, i.unique): i for i in state.indexes if not implicit(i.columns, i.unique)}
    out = []
    ref = backend.table_ref(t.schema, t.sql_name)
    q = backend.quote
    for cols, unique in sorted(wanted - set(have)):
        shown = ", ".join(cols)
        if not unique:
            out.append(Change(t.full_name, SAFE, "add_index", f"new index ({shown})", index=cols))
            continue
        if any(c not in state.types for c in cols):
            out.append(
                Change(
                    t.full_name,
                    SAFE,
                    "add_index",
                    f"new unique index ({shown}) on new attributes",
                    index=cols,
                    unique=True,
                )
            )
            continue
        group = ", ".join(q(c) for c in cols)
        dupes = None
        if counter.enabled:
            dupes = int(
                counter.conn.scalar(
                    f"SELECT COUNT(*) FROM (SELECT 1 AS one FROM {ref} WHERE "
                    + " AND ".join(f"{q(c)} IS NOT NULL" for c in cols)
                    + f" GROUP BY {group} HAVING COUNT(*) > 1) AS dupes"
                )
            )
        if dupes:
            out.append(
                Change(
                    t.full_name,
                    DATA,
                    "add_unique",
                    f"new unique index ({shown}): {dupes} value(s) occur in more than one row; "
                    "remove the duplicates first",
                    rows=dupes,
                    index=cols,
                    unique=True,
                )
            )
        else:
            out.append(
                Change(
                    t.full_name,
                    SAFE,
                    "add_index",
                    f"new unique index ({shown}) (the rows satisfy it)",
                    index=cols,
                    unique=True,
                )
            )
    for key in sorted(set(have) - wanted):
        cols, unique = key
        kind = "unique index" if unique else "index"
        out.append(
            Change(
                t.full_name,
                SAFE,
                "drop_index",
                f"{kind} ({', '.join(cols)}) is not in the schema",
                index=cols,
                unique=unique,
            )
        )
    return out


def _fk_changes(
    backend: Backend, t: TableMeta, state: TableState, by_name: dict[str, TableMeta], counter: _Counter
) -> list[Change]:
    wanted = {
        (backend.fk_parent_name(by_name[fk.parent]), tuple(c for c, _ in fk.attrs), tuple(p for _, p in fk.attrs))
        for fk in t.foreign_keys
        if fk.parent in by_name
    }
    have = {(f.parent, f.columns, f.parent_columns) for f in state.foreign_keys}
    if wanted == have:
        return []
    n = counter.rows(backend.table_ref(t.schema, t.sql_name))
    out = []
    for parent, cols, _ in sorted(wanted - have):
        out.append(
            Change(
                t.full_name,
                KEY,
                "foreign_key",
                f"new foreign key ({', '.join(cols)}) -> {parent}" + _rows_text(n),
                rows=n,
            )
        )
    for parent, cols, _ in sorted(have - wanted):
        out.append(
            Change(
                t.full_name,
                KEY,
                "foreign_key",
                f"foreign key ({', '.join(cols)}) -> {parent} is not in the schema" + _rows_text(n),
                rows=n,
            )
        )
    return out


def _contents_changes(host: TableHost, t: TableMeta) -> list[Change]:
    table = host.table(t.full_name)
    pk = t.primary_key
    existing = {tuple(r[k] for k in pk): r for r in table.fetch()}
    rows = [dict(zip(t.names, r)) for r in t.contents]
    fresh = [r for r in rows if tuple(r[k] for k in pk) not in existing]
    changed = [
        r
        for r in rows
        if (cur := existing.get(tuple(r[k] for k in pk))) is not None
        and any(_differs(cur[n], r[n]) for n in t.names if n not in pk)
    ]
    out = []
    if fresh:
        out.append(
            Change(
                t.full_name,
                SAFE,
                "contents_new",
                f"{len(fresh)} new lookup row(s)",
                rows=len(fresh),
                sample=[{k: r[k] for k in pk} for r in fresh[:SAMPLE_ROWS]],
            )
        )
    if changed:
        out.append(
            Change(
                t.full_name,
                DATA,
                "contents_changed",
                f"{len(changed)} lookup row(s) differ from the declared contents (--update-contents updates them)",
                rows=len(changed),
                sample=[{k: r[k] for k in pk} for r in changed[:SAMPLE_ROWS]],
            )
        )
    return out


def _differs(a: Any, b: Any) -> bool:
    try:
        return bool(a != b)
    except Exception:  # noqa: BLE001 - arrays compare elementwise
        return True


def _jsonable(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).hex()
    return str(v)
