"""The user-facing query expression: operators, fetch and preview.

``Query[R]`` is closed under the algebra: ``q & cond``, ``q - cond``,
``a * b``, ``q.proj(...)``, ``a.aggr(b, ...)``, ``a + b``, ``U(...)``.
Restrictions keep the row type ``R`` (a table restricted is still that
table); joins, projections and aggregations give plain ``dict`` rows.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, Literal, Self, TypeVar, overload

from relflow_gen.core.lazy import lazy_module
from relflow_gen.core.types import TypeSpec
from relflow_gen.runtime.errors import FetchOneError, QueryError, StoredValueError
from relflow_gen.runtime.query import expr
from relflow_gen.runtime.query.condition import (
    Not,
    RowKey,
    attribute_resolver,
    compile_condition,
    fast_restrict,
    refuse_stored,
    refuse_stored_order,
)
from relflow_gen.runtime.query.expr import Col, Select

if TYPE_CHECKING:
    import html
    import pathlib
    from pathlib import Path

    from numpy.typing import NDArray

    from relflow_gen.runtime.backends.base import Backend, Decoder
    from relflow_gen.runtime.engine import codec
    from relflow_gen.runtime.engine.connection import Connection
    from relflow_gen.runtime.query import sqltext
    from relflow_gen.runtime.stores import refs, registry
else:  # loaded when first used (relflow_gen/core/lazy.py): the notebook preview needs html, a fetch
    # the codec (json, uuid, datetime), stored values the stores; defining a table class needs none
    codec = lazy_module("relflow_gen.runtime.engine.codec")
    html = lazy_module("html")
    pathlib = lazy_module("pathlib")
    refs = lazy_module("relflow_gen.runtime.stores.refs")
    registry = lazy_module("relflow_gen.runtime.stores.registry")
    sqltext = lazy_module("relflow_gen.runtime.query.sqltext")  # SQL fragments: its regexes compile on first use

R = TypeVar("R")
Row = dict[str, Any]

PREVIEW_ROWS = 12


class Query(Generic[R]):
    """A query expression bound to a connection."""

    __slots__ = ("_conn", "_select")

    def __init__(self, conn: Connection, select: Select) -> None:
        self._conn = conn
        self._select = select

    # -- plumbing -----------------------------------------------------------
    @property
    def _query_select(self) -> Select:
        return self._select

    @property
    def _query_backend_id(self) -> int:
        return id(self._conn)

    def _derive(self, select: Select) -> Self:
        new = object.__new__(type(self))
        state = getattr(self, "__dict__", None)
        if state is not None:
            new.__dict__.update(state)
        new._conn = self._conn
        new._select = select
        return new

    def _plain(self, select: Select) -> Query[Row]:
        return Query(self._conn, select)

    def _other_select(self, other: object, op: str) -> Select:
        if isinstance(other, U):
            raise QueryError(f"use U(...) on the left of {op}")
        if not isinstance(other, Query):
            raise QueryError(f"cannot {op} a query with a {type(other).__name__}")
        if other._conn is not self._conn:
            raise QueryError(f"cannot {op} queries of different connections")
        return other._select

    @property
    def connection(self) -> Connection:
        return self._conn

    @property
    def heading(self) -> tuple[str, ...]:
        """Attribute names, in order."""
        return self._select.names

    @property
    def primary_key(self) -> tuple[str, ...]:
        return self._select.primary_key

    # -- restriction ----------------------------------------------------------
    def restrict(self, cond: object, *, ignore_extra_fields: bool = False) -> Self:
        """Rows that satisfy ``cond`` (see :mod:`.condition`)."""
        backend = self._conn.backend
        sel = self._select
        universal = cond.condition if isinstance(cond, Not) else cond
        if isinstance(universal, U):
            # the universal set restricts nothing (``q - U(...)`` is empty), as in DataJoint
            for n in universal.names:
                sel.col(n)  # an unknown attribute is still an error
            return self._derive(sel) if universal is cond else self._derive(expr.restrict(backend, sel, "1=0", ()))
        if type(cond) is dict or type(cond) is RowKey:
            fast = fast_restrict(backend, sel, cond, ignore_extra_fields)
            if fast is not None:
                return self._derive(fast)
        sql, params = compile_condition(
            backend, sel, cond, ignore_extra=ignore_extra_fields, connection=id(self._conn)
        )
        if sql == "1=1" and not params:
            return self._derive(sel)
        return self._derive(expr.restrict(backend, sel, sql, params))

    def __and__(self, cond: object) -> Self:
        return self.restrict(cond)

    def __sub__(self, cond: object) -> Self:
        return self.restrict(Not(cond))

    # -- join, projection, aggregation, union -------------------------------
    def __mul__(self, other: Query[Any] | U) -> Query[Row]:
        if isinstance(other, U):
            return self._plain(expr.promote(self._select, other.names))
        return self._plain(expr.join(self._conn.backend, self._select, self._other_select(other, "join")))

    def join(self, other: Query[Any], *, left: bool = False) -> Query[Row]:
        """Join on shared attributes; ``left=True`` keeps rows of self without a match."""
        return self._plain(expr.join(self._conn.backend, self._select, self._other_select(other, "join"), left=left))

    def proj(self, *attributes: Any, **named: str) -> Query[Row]:
        """Keep, rename or compute attributes; the primary key is always kept.

        ``proj("a", "b")`` keeps secondary ``a`` and ``b``; ``proj(...)`` keeps all;
        ``proj(..., "-c")`` keeps all but ``c``; ``proj(new="old")`` renames;
        ``proj(total="price * qty")`` computes from an SQL expression.
        """
        keep, keep_all, exclude = _split_attributes(attributes)
        sel = self._select
        renames: dict[str, str] = {}
        computed: dict[str, str] = {}
        types: dict[str, TypeSpec | None] = {}
        resolve = attribute_resolver(sel)
        backend = self._conn.backend
        for new, spec in named.items():
            _check_new_name(new)
            if isinstance(spec, str) and sel.find(spec) is not None:
                renames[new] = spec
            elif isinstance(spec, str):
                computed[new] = sqltext.fragment(spec, resolve, backend)
                types[new] = sqltext.infer_type(spec, _type_lookup(sel.cols))
            else:
                raise QueryError(f"proj({new}=...) takes an attribute name or an SQL expression string")
        return self._plain(
            expr.project(sel, keep, renames, computed, keep_all=keep_all, exclude=exclude, types=types)
        )

    def aggr(self, other: Query[Any], *attributes: Any, keep_all_rows: bool = True, **exprs: str) -> Query[Row]:
        """Group ``other`` by this query's key: ``Session.aggr(Trial, n="count(*)")``.

        Rows of self without matches are kept (``count(*)`` gives 0 for them)
        unless ``keep_all_rows=False``.  ``attributes`` keep secondary
        attributes of self (``...`` for all).
        """
        backend = self._conn.backend
        a, b, shared = expr.aggregate_plan(backend, self._select, self._other_select(other, "aggregate"), keep_all_rows=keep_all_rows)
        keep, keep_all, exclude = _split_attributes(attributes)
        keep_set = set(keep)
        for n in keep:
            a.col(n)
        keep_cols = [c for c in a.cols if c.in_key or c.name in keep_set or (keep_all and c.name not in exclude)]
        merged: dict[str, str] = {c.name.lower(): c.sql for c in b.cols}
        merged.update({c.name.lower(): c.sql for c in a.cols})
        marker = _count_marker(b, shared)
        rewritten: dict[str, str] = {}
        types: dict[str, TypeSpec | None] = {}
        lookup = _type_lookup(list(b.cols) + list(a.cols))
        for name, text in exprs.items():
            _check_new_name(name)
            if not isinstance(text, str):
                raise QueryError(f"aggr({name}=...) takes an SQL expression string")
            if name in keep_set or a.find(name) is not None and a.col(name).in_key:
                raise QueryError(f"aggr() attribute `{name}` clashes with an attribute of the grouped query")
            rewritten[name] = sqltext.fragment(
                text, lambda n: merged.get(n.lower()), backend, special=sqltext.count_star(marker)
            )
            types[name] = sqltext.infer_type(text, lookup)
        return self._plain(
            expr.finish_aggregate(a, b, shared, keep_cols, rewritten, keep_all_rows=keep_all_rows, types=types)
        )

    def __add__(self, other: Query[Any]) -> Query[Row]:
        return self._plain(expr.union(self._conn.backend, self._select, self._other_select(other, "unite")))

    # -- SQL -------------------------------------------------------------------
    def sql(self) -> str:
        """The SELECT statement (with placeholders) this query runs."""
        return expr.compile_select(self._conn.backend, self._select)[0]

    def _order(self, order_by: str | Sequence[str] | None) -> list[str]:
        if order_by is None:
            return []
        items = [order_by] if isinstance(order_by, str) else list(order_by)
        backend = self._conn.backend
        resolve = attribute_resolver(self._select)
        out: list[str] = []
        for item in items:
            for part in _split_commas(item):
                words = part.split()
                if not words:
                    continue
                direction = ""
                if len(words) >= 2 and words[-1].upper() in ("ASC", "DESC"):
                    direction = " " + words[-1].upper()
                    words = words[:-1]
                target = " ".join(words)
                if target.upper() == "KEY":
                    out += [backend.order_expr(c.type, c.sql) + direction for c in self._select.cols if c.in_key]
                    continue
                col = self._select.find(target)
                if col is not None:
                    refuse_stored_order(col)
                    out.append(backend.order_expr(col.type, col.sql) + direction)
                elif sqltext.is_identifier(target):
                    self._select.col(target)  # raises: not an attribute
                else:
                    refuse_stored(self._select, target, backend, "order by")
                    out.append(sqltext.fragment(target, resolve, backend) + direction)
        return out

    # -- fetch -----------------------------------------------------------------
    def _run(
        self,
        attrs: Sequence[str],
        order_by: str | Sequence[str] | None,
        limit: int | None,
        offset: int | None,
    ) -> tuple[list[str], list[tuple[Any, ...]], list[Col]]:
        sel = self._select
        backend = self._conn.backend
        if attrs:
            cols: Sequence[Col] = [sel.col(a) for a in attrs]
            chosen: Sequence[Col] | None = cols
        else:
            cols, chosen = sel.cols, None  # the select's own columns: SQL and plan are cached
        sql, params = expr.compile_select(
            backend, sel, cols=chosen, order_by=self._order(order_by) if order_by else (), limit=limit, offset=offset
        )
        rows = self._conn.query(sql, params)
        return _plan(backend, cols)[0], rows, list(cols) if attrs else cols  # type: ignore[return-value]

    def _decode(
        self,
        names: list[str],
        rows: list[tuple[Any, ...]],
        cols: Sequence[Col],
        download_path: str | Path | None = None,
        *,
        materialize: bool = True,
    ) -> list[dict[str, Any]]:
        if not rows:
            return []
        try:
            out = codec.decode_rows(names, rows, _plan(self._conn.backend, cols)[1])
        except StoredValueError as exc:
            raise self._located(exc) from None
        if materialize:
            files = [c for c in cols if c.type is not None and c.type.kind in _FILE_KINDS]
            if files:
                self._materialize(out, files, download_path)
        return out

    def _value_of(self, col: Col, v: Any, row: Mapping[str, Any], download_path: str | Path | None) -> Any:
        """The fetched value of a store or attachment column: an array, a local path, a StoreRef."""
        if v is None:
            return None
        assert col.type is not None
        folder = pathlib.Path(download_path) if download_path is not None else pathlib.Path.cwd()
        if col.type.kind == "attach":
            return registry.write_attachment(v, folder)
        key = {k: row[k] for k in self._select.primary_key if k in row}
        return self._conn.stores.materialize(
            col.type, v, folder, f"row {key} attribute {col.name}", download=download_path is not None
        )

    def _located(self, exc: StoredValueError) -> StoredValueError:
        """``exc`` with the table(s) of the query and the row's key in its message."""
        row = exc.row or {}
        key = ", ".join(f"{n}={row[n]!r}" for n in self._select.primary_key if n in row)
        tables = ", ".join(sorted(self._select.tables)) or "a query"
        where = tables + (f": attribute `{exc.attribute}`" if exc.attribute else ": a value")
        where += f" of the row {key}" if key else ""
        return StoredValueError(f"{where} {exc}", attribute=exc.attribute, row=exc.row)

    def _materialize(self, rows: list[dict[str, Any]], cols: Sequence[Col], download_path: str | Path | None) -> None:
        """Stored references and in-table attachments become values: arrays, local paths, StoreRefs."""
        for row in rows:
            for c in cols:
                row[c.name] = self._value_of(c, row[c.name], row, download_path)

    def fetch_raw(self, *attrs: str, order_by: str | Sequence[str] | None = None) -> list[Row]:
        """Rows with store attributes as their references (JSON text) and attachments as bytes: nothing is read
        from a store (``stores verify`` and ``gc`` use it)."""
        names, rows, cols = self._run(attrs, order_by, None, None)
        return self._decode(names, rows, cols, materialize=False)

    @overload
    def fetch(
        self,
        *,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        as_frame: Literal[False] = False,
        format: Literal["dict"] = "dict",
        download_path: str | Path | None = None,
    ) -> list[R]: ...

    @overload
    def fetch(
        self,
        attr: str,
        /,
        *attrs: str,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        as_frame: Literal[False] = False,
        format: Literal["dict"] = "dict",
        download_path: str | Path | None = None,
    ) -> list[Row]: ...

    @overload
    def fetch(
        self,
        *attrs: str,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        as_frame: Literal[False] = False,
        format: Literal["array"],
        download_path: str | Path | None = None,
    ) -> NDArray[Any]: ...

    @overload
    def fetch(
        self,
        *attrs: str,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        as_frame: Literal[True],
        format: Literal["dict"] = "dict",
        download_path: str | Path | None = None,
    ) -> Any: ...

    def fetch(
        self,
        *attrs: str,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        as_frame: bool = False,
        format: Literal["dict", "array"] = "dict",
        download_path: str | Path | None = None,
    ) -> Any:
        """All rows as dicts (the table's row type); ``as_frame=True`` gives a pandas DataFrame,
        ``format="array"`` a numpy structured array (one field per attribute).

        ``order_by``: attribute names with optional ``ASC``/``DESC``, or ``"KEY"``.
        ``download_path``: the folder ``attach`` files are written to (default: the current directory);
        when given, ``filepath@`` files are copied there too (``StoreRef.local``).
        """
        if format not in ("dict", "array"):
            raise QueryError(f'fetch(format={format!r}): the formats are "dict" and "array"')
        if format == "array" and as_frame:
            raise QueryError('fetch(): choose as_frame=True or format="array", not both')
        names, rows, cols = self._run(attrs, order_by, limit, offset)
        if format == "array":
            try:
                out_array = _structured_array(self._conn.backend, names, rows, cols)
            except StoredValueError as exc:
                raise self._located(exc) from None
            files = [c for c in cols if c.type is not None and c.type.kind in _FILE_KINDS]
            if files and len(out_array):
                # object fields holding what fetch() gives: arrays, local paths, StoreRefs
                pk = [n for n in self._select.primary_key if n in names]
                for i, record in enumerate(out_array):
                    row = {n: _plain_scalar(record[n]) for n in pk}
                    for c in files:
                        out_array[c.name][i] = self._value_of(c, record[c.name], row, download_path)
            return out_array
        out = self._decode(names, rows, cols, download_path)
        if as_frame:
            import pandas as pd

            frame = pd.DataFrame.from_records(out, columns=names)
            pk = [n for n in self._select.primary_key if n in names]
            return frame.set_index(pk) if pk else frame
        return out

    def fetch1(self, *, download_path: str | Path | None = None) -> R:
        """The one row of this query; an error when there are none or several."""
        names, rows, cols = self._run((), None, 2, None)
        if len(rows) != 1:
            raise FetchOneError(
                f"fetch1() expects exactly one row, found {'none' if not rows else 'more than one'}"
            )
        return self._decode(names, rows, cols, download_path)[0]  # type: ignore[return-value]

    def column(self, attr: str, *, order_by: str | Sequence[str] | None = None) -> list[Any]:
        """The values of one attribute."""
        names, rows, cols = self._run((attr,), order_by, None, None)
        return [r[attr] for r in self._decode(names, rows, cols)]

    def keys(self, *, order_by: str | Sequence[str] | None = None) -> list[dict[str, Any]]:
        """The primary keys of the rows."""
        pk = self._select.primary_key
        if not pk:
            return [{} for _ in range(len(self))]
        names, rows, cols = self._run(pk, order_by, None, None)
        return [RowKey(r) for r in self._decode(names, rows, cols)]

    def __iter__(self) -> Iterator[R]:
        return iter(self.fetch())

    def __len__(self) -> int:
        sql, params = expr.count_sql(self._conn.backend, self._select)
        return int(self._conn.scalar(sql, params) or 0)

    def __bool__(self) -> bool:
        sql, params = expr.exists_sql(self._conn.backend, self._select)
        return bool(self._conn.scalar(sql, params))

    def __contains__(self, item: object) -> bool:
        return bool(self.restrict(item))

    # -- preview -----------------------------------------------------------------
    def _preview(self) -> tuple[list[str], list[list[str]], int]:
        names, rows, cols = self._run((), None, PREVIEW_ROWS + 1, None)
        decoded = self._decode(names, rows, cols, materialize=False)  # size and store, never the bytes
        kinds = [c.type.kind if c.type is not None else "" for c in cols]
        shown = [[_short(r[n], k) for n, k in zip(names, kinds)] for r in decoded[:PREVIEW_ROWS]]
        total = len(self) if len(decoded) > PREVIEW_ROWS else len(decoded)
        return names, shown, total

    def __repr__(self) -> str:
        try:
            names, shown, total = self._preview()
        except Exception as exc:  # noqa: BLE001 - a repr must not raise
            return f"<{type(self).__name__}: {exc}>"
        pk = set(self._select.primary_key)
        header = [f"*{n}" if n in pk else n for n in names]
        widths = [max(len(h), *(len(r[i]) for r in shown)) if shown else len(h) for i, h in enumerate(header)]
        lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths))]
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in shown]
        if total > len(shown):
            lines.append("...")
        lines.append(f" ({total} row{'s' if total != 1 else ''})")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        names, shown, total = self._preview()
        pk = set(self._select.primary_key)
        head = "".join(
            f"<th>{'<u>' if n in pk else ''}{html.escape(n)}{'</u>' if n in pk else ''}</th>" for n in names
        )
        body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in r) + "</tr>" for r in shown)
        more = "<p>...</p>" if total > len(shown) else ""
        caption = self._caption()
        caption = f"<caption>{html.escape(caption)}</caption>" if caption else ""
        return (
            f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}<p>{total} rows</p>"
        )

    def _caption(self) -> str:
        """A title for previews (a table's name and comment); a derived query has none."""
        return ""


class U:
    """The universal set of the named attributes.

    ``U("a", "b") & q`` gives the distinct (a, b) of q; ``U("a").aggr(q, n="count(*)")``
    groups q by ``a``; ``q * U("a")`` adds ``a`` to q's primary key;
    ``U().aggr(q, n="count(*)")`` aggregates all of q into one row.
    """

    __slots__ = ("names",)

    def __init__(self, *names: str) -> None:
        self.names = tuple(names)

    def __repr__(self) -> str:
        return f"U({', '.join(map(repr, self.names))})"

    def __and__(self, q: Query[Any]) -> Query[Row]:
        if not isinstance(q, Query):
            raise QueryError("U(...) & q needs a query on the right")
        return q._plain(expr.distinct_of(q.connection.backend, q._select, self.names))

    def __mul__(self, q: Query[Any]) -> Query[Row]:
        return q * self

    def aggr(self, q: Query[Any], **exprs: str) -> Query[Row]:
        backend = q.connection.backend
        sel = q._select
        if sel.sealed:
            sel = expr.wrap(backend, sel)
        for n in self.names:
            sel.col(n)
        for name in exprs:
            _check_new_name(name)
            if name in self.names:
                raise QueryError(f"aggr() attribute `{name}` clashes with a grouping attribute")
        resolve = attribute_resolver(sel)
        rewritten = {name: sqltext.fragment(text, resolve, backend) for name, text in exprs.items()}
        lookup = _type_lookup(sel.cols)
        types = {name: sqltext.infer_type(text, lookup) for name, text in exprs.items()}
        return q._plain(expr.group_by_names(backend, sel, self.names, rewritten, types))


def _check_new_name(name: str) -> None:
    if not sqltext.is_identifier(name):
        raise QueryError(f"`{name}` is not a valid attribute name (letters, digits and _)")


def _split_attributes(attributes: Sequence[Any]) -> tuple[list[str], bool, list[str]]:
    keep: list[str] = []
    exclude: list[str] = []
    keep_all = False
    for a in attributes:
        if a is Ellipsis:
            keep_all = True
        elif isinstance(a, str) and a.startswith("-"):
            exclude.append(a[1:].strip())
        elif isinstance(a, str):
            keep.append(a)
        else:
            raise QueryError(f"attribute names are strings, not {type(a).__name__}")
    if exclude and not keep_all:
        keep_all = True
    return keep, keep_all, exclude


def _count_marker(b: Select, shared: Sequence[str]) -> str:
    """A column of ``b`` that is NULL exactly when a left-joined row has no match."""
    for c in b.cols:
        if c.in_key and c.name not in shared and not c.nullable:
            return c.sql
    for c in b.cols:
        if c.in_key and not c.nullable:
            return c.sql
    return "*"


def _type_lookup(cols: Sequence[Col]) -> Callable[[str], TypeSpec | None]:
    """Name -> type over ``cols`` (the last column of a name wins), case-insensitive like SQL."""
    types = {c.name.lower(): c.type for c in cols}

    def lookup(name: str) -> TypeSpec | None:
        return types.get(name.lower())

    return lookup


_PLANS: dict[tuple[int, int], tuple[Sequence[Col], list[str], list[Decoder | None]]] = {}


def _plan(backend: Backend, cols: Sequence[Col]) -> tuple[list[str], list[Decoder | None]]:
    """Names and decoders of fetched columns (cached for a select's own column tuple)."""
    if isinstance(cols, tuple):
        key = (id(backend), id(cols))
        hit = _PLANS.get(key)
        if hit is not None and hit[0] is cols:
            return hit[1], hit[2]
        names, decoders = [c.name for c in cols], [_decoder(backend, c) for c in cols]
        if len(_PLANS) > 2048:
            _PLANS.clear()
        _PLANS[key] = (cols, names, decoders)
        return names, decoders
    return [c.name for c in cols], [_decoder(backend, c) for c in cols]


def _decoder(backend: Backend, col: Col) -> Decoder | None:
    """How a fetched value of ``col`` becomes its Python value."""
    spec = col.type
    if spec is None:
        return _computed_decoder
    if col.lineage is None:  # a computed attribute with an inferred type: drivers differ in what they return
        kind = spec.kind
        if kind == "int":
            return _as_int
        if kind == "float":
            return _as_float
        if kind == "decimal":
            quantum = decimal.Decimal(1).scaleb(-int(spec.args[1]))
            return lambda v: _as_decimal(v).quantize(quantum)
    return backend.decoder(spec)


#: numpy field types that the drivers' values convert to directly (no decoder needed)
_NUMPY_TYPES = {
    **{f"int{b}": f"i{b // 8}" for b in (8, 16, 32, 64)},
    **{f"uint{b}": f"u{b // 8}" for b in (8, 16, 32, 64)},
    "float32": "f4",
    "float64": "f8",
    "bool": "?",
    "date": "M8[D]",
    "datetime": "M8[us]",
    "timestamp": "M8[us]",
}
#: the ones whose field can hold NULL (as NaN / NaT)
_NULLABLE_NUMPY = {"float32", "float64", "date", "datetime", "timestamp"}


def _structured_array(backend: Backend, names: list[str], rows: list[tuple[Any, ...]], cols: Sequence[Col]) -> NDArray[Any]:
    """A numpy structured array of ``rows``: numbers, booleans and dates in numpy types, others as objects.

    A column of a numpy type takes the driver's values as they are (numpy converts them, as it
    would for a hand-written ``np.array(cursor.fetchall(), dtype)``); the other columns (strings,
    decimals, blobs, JSON, UUIDs, times, nullable integers) hold the same Python values as
    ``fetch()``.
    """
    import numpy as np

    decoders = _plan(backend, cols)[1]
    fields: list[tuple[str, str]] = []
    convert: list[tuple[int, Decoder]] = []
    for i, (name, col, decoder) in enumerate(zip(names, cols, decoders)):
        spec = col.type
        kind = spec.kind if spec is not None else ""
        if spec is not None and col.lineage is not None and spec.name in _NUMPY_TYPES and (
            not col.nullable or spec.name in _NULLABLE_NUMPY
        ):
            fields.append((name, _NUMPY_TYPES[spec.name]))
            if spec.name == "uint64" and decoder is not None:  # SQLite stores it as a signed integer
                convert.append((i, decoder))
            continue
        if col.lineage is None and kind in ("int", "float") and not col.nullable:
            fields.append((name, "i8" if kind == "int" else "f8"))
        else:
            fields.append((name, "O"))
        if decoder is not None:
            convert.append((i, decoder))
    dtype = np.dtype(fields)
    if not convert:
        return np.array(rows, dtype=dtype)
    out = np.empty(len(rows), dtype=dtype)
    columns: list[Sequence[Any]] = list(zip(*rows)) if rows else [() for _ in names]
    decode = dict(convert)
    for i, name in enumerate(names):
        values = columns[i]
        if i in decode:
            dec = decode[i]
            values = [None if v is None else dec(v) for v in values]
        if dtype[i].kind == "O":  # element by element: a value may itself be a sequence (JSON, tuples)
            field = out[name]
            for j, v in enumerate(values):
                field[j] = v
        else:
            out[name] = values
    return out


def _plain_scalar(v: Any) -> Any:
    """A numpy scalar of a structured array as the Python value (for messages)."""
    item = getattr(v, "item", None)
    return item() if callable(item) and getattr(v, "shape", None) == () else v


def _as_int(v: Any) -> int:
    return v if type(v) is int else int(v)


def _as_float(v: Any) -> float:
    return v if type(v) is float else float(v)


def _as_decimal(v: Any) -> decimal.Decimal:
    if isinstance(v, decimal.Decimal):
        return v
    return decimal.Decimal(repr(v) if isinstance(v, float) else str(v))


def _computed_decoder(v: Any) -> Any:
    if isinstance(v, decimal.Decimal):
        return int(v) if v == v.to_integral_value() and v.as_tuple().exponent == 0 else float(v)
    return v


def _split_commas(text: str) -> list[str]:
    parts: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts]


_FILE_KINDS = ("external", "attach")


def _short(v: Any, kind: str = "") -> str:
    if v is not None and kind == "external":
        return refs.Stored.from_json(str(v)).describe()
    if v is not None and kind == "attach":
        name = bytes(v).partition(b"\0")[0].decode("utf-8", "replace")
        return f"<attach {name} {len(v) - len(name.encode()) - 1} bytes>"
    if isinstance(v, float):
        return format(v, ".6g")  # a preview rounds floats (fetch gives them exactly)
    if isinstance(v, (bytes, bytearray)):
        return f"<{len(v)} bytes>"

    if hasattr(v, "shape") and hasattr(v, "dtype"):
        return f"<array {v.dtype} {tuple(v.shape)}>"
    text = str(v)
    return text if len(text) <= 40 else text[:37] + "..."
