"""Tables: typed query expressions with insert, update, delete and drop.

A generated package subclasses the tier classes here once per table, binding
the row types: ``class SubjectTable(ManualTable[SubjectRow, SubjectKey,
SubjectInsert])``.  A restricted table (``db.Subject & key``) is the same
class; it fetches and deletes, but inserts and updates go to the whole table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import nullcontext
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from relflow_gen.core.lazy import lazy_module
from relflow_gen.core.meta import FK, REQUIRED, SqlDefault, TableMeta
from relflow_gen.core.types import quote
from relflow_gen.runtime.errors import (
    DatabaseError,
    DuplicateError,
    InsertError,
    MissingParentError,
    QueryError,
    TierError,
)
from relflow_gen.runtime.query.api import Query
from relflow_gen.runtime.query.expr import Select, table_select
from relflow_gen.runtime.stores.errors import StoreError
from relflow_gen.runtime.tables.parents import missing_parents

if TYPE_CHECKING:
    import datetime
    import logging

    from relflow_gen.runtime.backends.base import Computed
    from relflow_gen.runtime.engine import codec
    from relflow_gen.runtime.engine.connection import Connection
    from relflow_gen.runtime.tables import delete as deleting
    from relflow_gen.runtime.tables.host import TableHost
else:  # loaded when first used (relflow_gen/core/lazy.py): inserted values are checked by the
    # codec (json, uuid, datetime); defining a table class needs none of them
    codec = lazy_module("relflow_gen.runtime.engine.codec")
    datetime = lazy_module("datetime")
    deleting = lazy_module("relflow_gen.runtime.tables.delete")
    logging = lazy_module("logging")

R = TypeVar("R")
K = TypeVar("K")
I = TypeVar("I")  # noqa: E741 - the insert row type


#: the descriptor of Query's ``_select`` slot (Table builds its whole-table Select on first use)
_SELECT_SLOT: Any = Query.__dict__["_select"]


class Table(Query[R], Generic[R, K, I]):
    """A table of a pipeline (restricted or not)."""

    _tier: str = ""
    _base: Select  # the whole table's Select (``_select`` is this one unless restricted)

    if not TYPE_CHECKING:

        def __class_getitem__(cls, params: object) -> type:
            """``ManualTable[Row, Key, Insert]`` is for type checkers; at run time it is the class itself.

            A generated package subclasses a table class once per table; typing's generic
            machinery would build (and cache) a parameterised alias for each of them at import.
            """
            return cls

    def __init__(self, pipeline: TableHost, meta: TableMeta) -> None:
        # the Select of the whole table is built when first used (``__getattr__``): connecting
        # binds every table of the pipeline, and most programs use a few of them
        self._conn = pipeline.connection
        self._meta = meta
        self._pipeline = pipeline

    if not TYPE_CHECKING:  # for type checkers a Table has no attributes beyond those it declares

        def __getattr__(self, name: str) -> Any:
            if name not in ("_select", "_base"):
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            meta = self._meta
            backend = self._conn.backend
            select = table_select(
                backend,
                backend.table_ref(meta.schema, meta.sql_name),
                meta.full_name,
                [(a.name, a.type, a.nullable, a.in_key, a.lineage) for a in meta.attributes],
            )
            base = self.__dict__.setdefault("_base", select)  # one Select even if threads race here
            try:  # read the slot itself: a restricted copy keeps its own Select
                current = _SELECT_SLOT.__get__(self, type(self))
            except AttributeError:
                self._select = current = base
            return current if name == "_select" else base

    # -- description -----------------------------------------------------------
    @property
    def meta(self) -> TableMeta:
        return self._meta

    @property
    def full_name(self) -> str:
        return self._meta.full_name

    @property
    def sql_ref(self) -> str:
        return self._conn.backend.table_ref(self._meta.schema, self._meta.sql_name)

    @property
    def is_restricted(self) -> bool:
        return self._select is not self._base

    def describe(self) -> str:
        """The table's definition in `.rf` syntax, rebuilt from the generated metadata.

        It holds the table comment, references, attributes with their
        defaults and comments, indexes, and (for a master) its part tables as
        nested blocks, so the text compiles back to the same table.
        """
        return "\n".join(_describe_block(self._meta, self._pipeline.meta.by_name, ""))

    def _caption(self) -> str:
        m = self._meta
        return f"{m.full_name}: {m.doc}" if m.doc else m.full_name

    # -- insert ------------------------------------------------------------------
    def _check_insert_allowed(self, allow_direct_insert: bool) -> None:
        if self.is_restricted:
            raise TierError(f"insert into {self.full_name} itself, not into a restricted view of it")
        m = self._meta
        auto = m.is_auto or (m.is_part and self._pipeline.meta.by_name[m.master or ""].is_auto)
        if auto and not allow_direct_insert:
            raise TierError(
                f"{m.full_name} is populated by its make(); insert there, or pass allow_direct_insert=True"
            )

    def insert(
        self,
        rows: Iterable[I],
        *,
        skip_duplicates: bool = False,
        ignore_extra_fields: bool = False,
        allow_direct_insert: bool = False,
    ) -> int:
        """Insert rows atomically: every row is checked first; one bad row inserts nothing.

        Returns the number of rows given (with ``skip_duplicates``, existing
        rows are left unchanged).
        """
        self._check_insert_allowed(allow_direct_insert)
        batch = _materialize(rows, self._meta)
        if not batch:
            return 0
        conn = self._conn
        try:
            columns, params = prepare_rows(self._meta, conn, batch, ignore_extra_fields=ignore_extra_fields)
            with conn.transaction():
                write_rows(
                    conn,
                    self._meta,
                    columns,
                    params,
                    skip_duplicates=skip_duplicates,
                    parents=self._pipeline.meta.by_name,
                )
        except BaseException:
            if self._meta.external:
                conn.stores.forget()  # objects already written are orphans for `stores gc`
            raise
        if self._meta.external:
            conn.stores.confirm()  # a racing gc never leaves a committed row without its object
        return len(batch)

    def insert1(
        self,
        row: I,
        *,
        skip_duplicates: bool = False,
        ignore_extra_fields: bool = False,
        allow_direct_insert: bool = False,
    ) -> None:
        """Insert one row."""
        self.insert(
            [row],
            skip_duplicates=skip_duplicates,
            ignore_extra_fields=ignore_extra_fields,
            allow_direct_insert=allow_direct_insert,
        )

    # -- update ------------------------------------------------------------------
    def update1(self, row: Mapping[str, Any]) -> None:
        """Change secondary attributes of one existing row (manual and lookup tables).

        Results of imported/computed tables are never updated: delete them and
        populate again, so that they stay consistent with their inputs.
        """
        m = self._meta
        master_tier = self._pipeline.meta.by_name[m.master].tier if m.master else m.tier
        if m.is_auto or master_tier in ("imported", "computed"):
            raise TierError(
                f"{m.full_name} holds computed results; delete the rows and populate again instead of updating"
            )
        if self.is_restricted:
            raise TierError("update1() works on the table itself with a full row key")
        pk = m.primary_key
        missing = [k for k in pk if k not in row]
        if missing:
            raise InsertError(m.full_name, None, missing[0], "update1() needs the full primary key")
        unknown = [k for k in row if k not in m.by_name]
        if unknown:
            raise InsertError(m.full_name, None, unknown[0], "is not an attribute of the table")
        changes = [k for k in row if k not in pk]
        if not changes:
            raise InsertError(m.full_name, None, None, "update1() needs at least one secondary attribute to change")
        backend = self._conn.backend
        values: list[Any] = []
        for name in changes + list(pk):
            attr = m.by_name[name]
            try:
                value = codec.column_checker(attr.type, attr.nullable and not attr.in_key)([row[name]])[0]
            except codec.ValueProblem as exc:
                raise InsertError(m.full_name, None, name, exc.message) from None
            enc = backend.encoder(attr.type)
            values.append(enc(value) if enc is not None and value is not None else value)
        q, ph = backend.quote, backend.placeholder
        sets = ", ".join(f"{q(c)} = {ph}" for c in changes)
        where = " AND ".join(f"{q(c)} = {ph}" for c in pk)
        with self._conn.transaction():
            self._conn.execute(f"UPDATE {self.sql_ref} SET {sets} WHERE {where}", values)
            if self._conn.rowcount() == 0:
                raise QueryError(f"update1(): no row of {m.full_name} has the key {dict((k, row[k]) for k in pk)}")

    # -- delete ------------------------------------------------------------------
    def delete(self, *, dry_run: bool = False, force: bool = False) -> dict[str, int]:
        """Delete these rows and everything computed from them, in one transaction.

        Cascades through every dependent table (renamed foreign keys included);
        part rows go with their master.  Deleting from a part table alone is
        refused unless ``force=True``.  ``dry_run=True`` changes nothing and
        returns the counts it would delete.  Returns ``{table: rows deleted}``.
        """
        if self._meta.is_part and not force:
            raise TierError(
                f"{self.full_name} is a part table: delete from its master {self._meta.master} "
                "(or pass force=True to break the master's group)"
            )
        counts = deleting.delete_cascade(self._pipeline, self, dry_run=dry_run)
        if counts and not dry_run:
            logging.getLogger("relflow_gen").info("deleted %s", ", ".join(f"{n}: {c}" for n, c in counts.items()))
        return counts

    def delete_quick(self) -> int:
        """Delete these rows only, without cascading (fails if other rows depend on them)."""
        with self._conn.transaction():
            return deleting.delete_rows(self._conn, self._meta, self._select)

    def drop(self, *, dry_run: bool = False, force: bool = False) -> list[str]:
        """Drop this table and every table that depends on it (data included).

        Parts go with their master: a part reached through another foreign
        key takes its master (and what depends on it) along.  Dropping a part
        table alone is refused unless ``force=True``.  ``dry_run=True`` only
        returns the names.  Returns the full names of the dropped tables, in
        dependency order.  On MySQL a DROP commits, so drop() refuses to run
        inside a transaction there; on SQLite it is one transaction.
        """
        if self.is_restricted:
            raise TierError("drop() works on a whole table, not a restricted view")
        m = self._meta
        if m.is_part and not force:
            raise TierError(
                f"{m.full_name} is a part table: drop its master {m.master} (or pass force=True)"
            )
        pipeline_meta = self._pipeline.meta
        names = {m.full_name} | {t.full_name for t in pipeline_meta.descendants(m.full_name)}
        while True:  # masters of the parts reached, and what depends on them
            masters = {
                t.master
                for t in pipeline_meta.tables
                if t.full_name in names and t.master and t.master not in names and t.full_name != m.full_name
            }
            if not masters:
                break
            for master in masters:
                names |= {master} | {t.full_name for t in pipeline_meta.descendants(master)}
        doomed = [t for t in pipeline_meta.tables if t.full_name in names]
        ordered = [t.full_name for t in doomed]
        if dry_run:
            return ordered
        conn = self._conn
        backend = conn.backend
        if conn.in_transaction and not backend.transactional_ddl:
            raise TierError(f"drop() cannot run inside a transaction on {backend.name}: a DROP TABLE commits it")
        with conn.transaction() if backend.transactional_ddl else nullcontext(conn):
            for t in reversed(doomed):
                if any(fk.parent == t.full_name for fk in t.foreign_keys):
                    # SQLite deletes the rows of a dropped table one by one, checking each
                    # reference: a hierarchy must go deepest rows first
                    deleting.empty_hierarchy(self._pipeline, t)
                conn.execute(backend.drop_table(t))
        logging.getLogger("relflow_gen").info("dropped %s", ", ".join(ordered))
        return ordered


class LookupTable(Table[R, K, I]):
    """Reference data declared with the schema (``contents``)."""

    _tier = "lookup"


class ManualTable(Table[R, K, I]):
    """Rows entered by people or external systems with insert()."""

    _tier = "manual"


class PartTable(Table[R, K, I]):
    """Rows that belong to one master row, inserted and deleted with it."""

    _tier = "part"

    @property
    def master(self) -> Table[Any, Any, Any]:
        return self._pipeline.table(self._meta.master or "")


# ------------------------------------------------------------------ helpers


def _describe_block(m: TableMeta, tables: Mapping[str, TableMeta], indent: str) -> list[str]:
    doc = f" {quote(m.doc)}" if m.doc else ""
    lines = [f"{indent}{m.tier} {m.name.rsplit('.', 1)[-1]}{doc} {{"]
    inner = indent + "    "
    fk_attrs = {c for fk in m.foreign_keys for c, _ in fk.attrs}
    key = set(m.primary_key)
    emitted: set[int] = set()
    divider = False
    for a in m.attributes:
        if not a.in_key and not divider:
            lines.append(inner + "---")
            divider = True
            # secondary references whose attributes are all in the key come first
            for i, fk in enumerate(m.foreign_keys):
                if not fk.in_key and all(c in key for c, _ in fk.attrs):
                    emitted.add(i)
                    lines.append(inner + _describe_fk(m, fk))
        # a reference stands where its first attribute stands in the heading
        for i, fk in enumerate(m.foreign_keys):
            if i not in emitted and fk.in_key == a.in_key and any(c == a.name for c, _ in fk.attrs):
                emitted.add(i)
                lines.append(inner + _describe_fk(m, fk))
        if a.name in fk_attrs:
            continue
        default = "" if a.default is REQUIRED else f" = {_describe_value(a.default)}"
        lines.append(f"{inner}{a.name}{default}: {a.type.render()}" + (f"  # {a.comment}" if a.comment else ""))
    for idx in m.indexes:
        lines.append(f"{inner}{'unique ' if idx.unique else ''}index({', '.join(idx.attrs)})")
    for part in m.parts:
        part_meta = tables.get(part)
        if part_meta is not None:
            lines.append("")
            lines += _describe_block(part_meta, tables, inner)
    lines.append(indent + "}")
    return lines


def _describe_fk(meta: TableMeta, fk: FK) -> str:
    if fk.is_master:
        return "-> master"
    schema, _, name = fk.parent.partition(".")
    target = name if schema == meta.schema else fk.parent
    options = [o for o, on in (("nullable", fk.nullable), ("unique", fk.unique)) if on]
    renames = ", ".join(f"{c}={quote(p)}" for c, p in fk.attrs if c != p)
    return (
        "-> "
        + (f"[{', '.join(options)}] " if options else "")
        + target
        + (f".proj({renames})" if renames else "")
    )


def _describe_value(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, SqlDefault):
        return value.keyword
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return quote(value.isoformat(sep=" ") if isinstance(value, datetime.datetime) else value.isoformat())
    return quote(str(value))


def _materialize(rows: Iterable[Any], meta: TableMeta | None = None) -> list[Mapping[str, Any]]:
    if hasattr(rows, "to_dict") and hasattr(rows, "columns"):  # pandas DataFrame
        return _frame_rows(rows, meta)
    if isinstance(rows, Mapping):
        raise InsertError("insert", None, None, "insert() takes a list of rows; use insert1() for one row")
    dtype = getattr(rows, "dtype", None)
    if dtype is not None and getattr(dtype, "names", None):  # numpy structured array
        names = dtype.names
        fields = [dtype.fields[n][0] for n in names]
        if getattr(rows, "ndim", 1) == 1 and all(f.kind in "biufUS" and f.shape == () for f in fields):
            # plain scalar fields: tolist() gives Python values at C speed
            return [dict(zip(names, rec)) for rec in rows.tolist()]  # type: ignore[attr-defined]
        return [{n: rec[n] for n in names} for rec in rows]
    out = rows if isinstance(rows, list) else list(rows)
    if set(map(type, out)) <= {dict}:  # the common case, checked at C speed
        return out
    for i, r in enumerate(out):
        if not isinstance(r, Mapping):
            raise InsertError("insert", i, None, f"rows are dicts (mappings), not {type(r).__name__}")
    return out


def _frame_rows(frame: Any, meta: TableMeta | None) -> list[Mapping[str, Any]]:
    """Rows of a pandas DataFrame (a named index becomes attributes).

    Missing values (NaN, None, NaT, pd.NA) become None, and a float column of an
    integer attribute (pandas turns integers with missing values into floats) gives
    its integral values back as ints, so ``insert(fetch(as_frame=True))`` works.
    """
    if any(name is not None for name in getattr(frame.index, "names", [None])):
        frame = frame.reset_index()
    names = [str(c) for c in frame.columns]
    columns: list[list[Any]] = []
    for name, label in zip(names, frame.columns):
        series = frame[label]
        values = series.tolist()
        if series.hasnans:
            values = [None if missing else v for v, missing in zip(values, series.isna().tolist())]
        attr = meta.by_name.get(name) if meta is not None else None
        if attr is not None and attr.type.kind == "int" and series.dtype.kind == "f":
            values = [int(v) if isinstance(v, float) and v.is_integer() else v for v in values]
        columns.append(values)
    return [dict(zip(names, vals)) for vals in zip(*columns)] if columns else [{} for _ in range(len(frame))]


def prepare_rows(
    meta: TableMeta,
    conn: Connection,
    batch: Sequence[Mapping[str, Any]],
    *,
    ignore_extra_fields: bool = False,
    extra_columns: Sequence[str] = (),
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Validate a batch of rows; return (columns, parameter rows) ready for INSERT.

    Raises :class:`InsertError` naming the table, row index and attribute.
    ``extra_columns`` are hidden columns (provenance) passed through unchecked.
    """
    known = meta.by_name
    first = batch[0]
    keyset = set(first.keys())
    if len(batch) == 1:
        uniform = True
    elif set(map(type, batch)) == {dict}:
        uniform = all(map(first.keys().__eq__, map(dict.keys, cast("list[dict[str, Any]]", batch))))
    else:
        uniform = all(r.keys() == keyset for r in batch)
    if not uniform:
        given = _sql_defaults_given(meta, batch)
        batch = [_fill_row(meta, i, r, ignore_extra_fields, extra_columns, given) for i, r in enumerate(batch)]
        keyset = set(batch[0].keys())
    extra = [k for k in first.keys() if k not in known and k not in extra_columns]
    if extra and not ignore_extra_fields:
        raise InsertError(meta.full_name, 0, str(extra[0]), "is not an attribute of the table")
    if meta.external:
        batch = upload_values(meta, conn, batch)
    backend = conn.backend
    columns: list[str] = []
    param_cols: list[list[Any]] = []
    n = len(batch)
    for attr in meta.attributes:
        name = attr.name
        if name in keyset:
            values = list(map(itemgetter(name), batch))
        elif attr.default is REQUIRED and not attr.nullable:
            raise InsertError(meta.full_name, 0, name, "is required (no default) but missing")
        elif isinstance(attr.default, SqlDefault):
            continue  # the database fills it in
        else:
            values = [None if attr.default is REQUIRED else attr.default] * n
        nullable = attr.nullable and not attr.in_key
        try:
            canon = codec.column_checker(attr.type, nullable)(values)
        except codec.ValueProblem as exc:
            raise InsertError(meta.full_name, exc.index, name, exc.message) from None
        enc = backend.encoder(attr.type)
        if enc is not None:
            # a checked column of a non-nullable attribute holds no None
            canon = [None if v is None else enc(v) for v in canon] if nullable else list(map(enc, canon))
        columns.append(name)
        param_cols.append(canon)
    for name in extra_columns:
        columns.append(name)
        param_cols.append([r.get(name) for r in batch])
    return columns, list(zip(*param_cols))


def _sql_defaults_given(meta: TableMeta, batch: Sequence[Mapping[str, Any]]) -> frozenset[str]:
    """Attributes with a database default (CURRENT_TIMESTAMP) that the rows give a value for."""
    return frozenset(
        a.name for a in meta.attributes if isinstance(a.default, SqlDefault) and any(a.name in r for r in batch)
    )


def _fill_row(
    meta: TableMeta,
    index: int,
    row: Mapping[str, Any],
    ignore_extra: bool,
    extra_columns: Sequence[str],
    sql_defaults_given: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k in row:
        if k not in meta.by_name and k not in extra_columns and not ignore_extra:
            raise InsertError(meta.full_name, index, str(k), "is not an attribute of the table")
    for attr in meta.attributes:
        if attr.name in row:
            out[attr.name] = row[attr.name]
        elif attr.default is REQUIRED and not attr.nullable:
            raise InsertError(meta.full_name, index, attr.name, "is required (no default) but missing")
        elif isinstance(attr.default, SqlDefault):
            if attr.name in sql_defaults_given:  # other rows give it: the database cannot fill in only some
                raise InsertError(
                    meta.full_name,
                    index,
                    attr.name,
                    f"other rows of the batch give it; give it in every row or in none (default {attr.default.keyword})",
                )
        else:
            out[attr.name] = None if attr.default is REQUIRED else attr.default
    for name in extra_columns:
        out[name] = row.get(name)
    return out


def write_rows(
    conn: Connection,
    meta: TableMeta,
    columns: Sequence[str],
    params: Sequence[tuple[Any, ...]],
    *,
    skip_duplicates: bool,
    parents: Mapping[str, TableMeta] | None = None,
    computed: Sequence[Computed] = (),
) -> None:
    """Execute the INSERT for prepared rows (inside the caller's transaction).

    ``parents`` (full name -> metadata) lets a foreign-key error name the
    parent tables whose rows are missing and the values. ``computed``: columns
    the INSERT computes from each row's values (where the backend's ``insert_computes``).
    """
    backend = conn.backend
    ref = backend.table_ref(meta.schema, meta.sql_name)
    try:
        conn.insert_rows(ref, columns, params, skip_duplicates=skip_duplicates, computed=computed)
    except DuplicateError as exc:
        raise DuplicateError(f"{meta.full_name}: a row with this primary key already exists: {exc}") from None
    except MissingParentError as exc:
        found = missing_parents(conn, meta, parents, columns, params) if parents is not None else None
        if found is not None:
            raise MissingParentError(f"{meta.full_name}: a referenced row does not exist: " + "; ".join(found)) from None
        names = ", ".join(fk.parent for fk in meta.foreign_keys) or "a parent table"
        raise MissingParentError(
            f"{meta.full_name}: a referenced row does not exist in {names}: {exc}"
        ) from None
    except DatabaseError as exc:
        problem = _text_problem(conn, meta, columns, params, str(exc))
        if problem is None:
            raise
        raise problem from None


# Python codecs for MySQL character sets that cannot hold every character
_CHARSET_CODECS = {
    "latin1": "cp1252",  # MySQL's latin1 is Windows-1252
    "ascii": "ascii",
    "latin2": "iso8859_2",
    "greek": "iso8859_7",
    "hebrew": "iso8859_8",
    "cp1250": "cp1250",
    "cp1251": "cp1251",
    "koi8r": "koi8_r",
}


def _fits(text: str, charset: str) -> bool:
    if charset in ("utf8", "utf8mb3"):
        return all(ord(ch) <= 0xFFFF for ch in text)  # no characters outside the BMP (emoji)
    encoding = _CHARSET_CODECS.get(charset)
    if encoding is None:
        return True  # unknown: cannot tell which row
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def _text_problem(
    conn: Connection, meta: TableMeta, columns: Sequence[str], params: Sequence[tuple[Any, ...]], message: str
) -> InsertError | None:
    """An InsertError for text the column's character set cannot hold (a database made by another tool)."""
    backend = conn.backend
    column = backend.bad_text_column(message)
    if column is None:
        return None
    try:
        charset = backend.column_charset(conn.query, meta, column) or "unknown"
    except DatabaseError:
        charset = "unknown"
    row: int | None = None
    if column in columns:
        i = list(columns).index(column)
        row = next((r for r, p in enumerate(params) if isinstance(p[i], str) and not _fits(p[i], charset)), None)
    return InsertError(
        meta.full_name,
        row,
        column,
        f"the text holds characters the column's character set {charset} cannot store "
        "(the database was not created by relflow-gen; convert the column to utf8mb4 to store any text)",
    )


def upload_values(meta: TableMeta, conn: Connection, batch: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Write the objects of the batch's store attributes (before any row is inserted).

    Returns the rows with references in place of the values.  A value that cannot
    be stored is an :class:`InsertError` naming the row and attribute; objects
    written before it stay as orphans for ``stores gc``.
    """
    stores = conn.stores
    prefix = conn.backend.database_name(meta.schema)
    key_names = meta.primary_key
    out: list[dict[str, Any]] = []
    for i, row in enumerate(batch):
        new = dict(row)
        for attr in meta.external:
            value = new.get(attr.name)
            if value is None:
                continue
            key = {k: new[k] for k in key_names if k in new}
            try:
                new[attr.name] = stores.upload(
                    attr.type, value, prefix=prefix, table=meta.sql_name, key=key, attr=attr.name
                )
            except StoreError as exc:
                raise InsertError(meta.full_name, i, attr.name, str(exc)) from None
        out.append(new)
    return out
