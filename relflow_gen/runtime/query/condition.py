"""Restriction conditions compiled against a :class:`~.expr.Select`.

A condition is one of: a mapping ``{attribute: value}`` (AND of equalities,
``None`` means IS NULL), an SQL string in terms of attribute names, another
query (semijoin on the shared attributes), a list/tuple/set (OR; empty is
false), an :class:`AndList` (AND), a :class:`Not` wrapper, or ``True`` /
``False``.  Values become bound parameters, checked and encoded by the
attribute's type, so no value can change the shape of a statement.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

from relflow_gen.core.lazy import lazy_module
from relflow_gen.core.types import TypeSpec
from relflow_gen.runtime.errors import QueryError
from relflow_gen.runtime.query.expr import (
    Col,
    Params,
    Select,
    check_lineage,
    compile_select,
    separate,
    shape_cache,
    shared_names,
    with_condition,
    wrap,
)

if TYPE_CHECKING:
    from relflow_gen.runtime.backends.base import Backend
    from relflow_gen.runtime.engine import codec
    from relflow_gen.runtime.query import sqltext
else:  # loaded when first used: a condition's values are checked by the codec (json, uuid,
    # datetime), an SQL condition is read by sqltext (its regexes compile on import)
    codec = lazy_module("relflow_gen.runtime.engine.codec")
    sqltext = lazy_module("relflow_gen.runtime.query.sqltext")


class HasSelect(Protocol):
    @property
    def _query_select(self) -> Select: ...

    @property
    def _query_backend_id(self) -> int: ...


class Not:
    """Negation of a condition: ``q & Not(cond)`` is ``q - cond``."""

    __slots__ = ("condition",)

    def __init__(self, condition: object) -> None:
        self.condition = condition

    def __repr__(self) -> str:
        return f"Not({self.condition!r})"


class RowKey(dict[str, Any]):
    """A key that came from the database: populate's ``key`` and ``q.keys()`` rows.

    A literal dict with an attribute the query lacks is an error (it is
    usually a typo, and ignoring it would widen a delete).  A ``RowKey`` is the
    complete key of some row, so it restricts by the attributes it shares with
    the query — the make() idiom ``(db.Parent & key).fetch1()`` works although
    ``key`` also holds attributes of the child.
    """

    __slots__ = ()


class AndList(list[Any]):
    """A list of conditions that must all hold (a plain list means OR)."""


def attribute_resolver(sel: Select) -> Any:
    lowered = {c.name.lower(): c.sql for c in sel.cols}

    def resolve(name: str) -> str | None:
        return lowered.get(name.lower())

    return resolve


Compiled = tuple[str, Params, bool]  # sql, params, whether the condition can be NULL (unknown)

_TRUE: Compiled = ("1=1", (), False)
_FALSE: Compiled = ("1=0", (), False)


def fast_restrict(backend: Backend, sel: Select, cond: Mapping[Any, Any], ignore_extra: bool) -> Select | None:
    """``sel & cond`` for a plain dict/RowKey without None values, SQL compiled once per key set.

    Returns None when the fast path does not apply (the general compiler then
    handles it, including its errors).
    """
    if sel.aggregated or sel.distinct or any(v is None for v in cond.values()):
        return None  # (identity, not ==: a value may be a numpy array)
    ignore = ignore_extra or isinstance(cond, RowKey)
    key = (tuple(cond), ignore)
    cache = shape_cache(sel)
    entry = cache.get(key)
    if entry is None:
        entry = _where_shape(backend, sel, key[0], ignore)
        if entry is None:
            return None
        cache[key] = entry
    where_sql, binders = entry
    if not binders:
        return sel
    return with_condition(sel, key, where_sql, tuple([b(cond[k]) for k, b in binders]))


def _where_shape(
    backend: Backend, sel: Select, keys: tuple[Any, ...], ignore: bool
) -> tuple[str, list[tuple[Any, Callable[[object], object]]]] | None:
    parts: list[str] = []
    binders: list[tuple[Any, Callable[[object], object]]] = []
    ph = backend.placeholder
    for k in keys:
        col = sel.find(k) if isinstance(k, str) else None
        if col is None:
            if ignore:
                continue
            return None
        if col.type is not None and col.type.kind in ("attach", "external"):
            return None  # never compared: the slow path reports it
        if not comparable(col):
            continue  # a row's blob/json values are never compared
        parts.append(f"{col.sql} = {ph}")
        binders.append((k, binder(backend, col)))
    if not parts and len(keys) > 0 and any(sel.find(k) is not None for k in keys if isinstance(k, str)):
        return None  # only blob/json attributes: the general compiler reports it
    return " AND ".join(parts), binders


def _stored_kind(col: Col) -> str | None:
    """``blob@raw``, ``attach``, ...: the type of a store or attachment attribute, else None."""
    if col.type is None or col.type.kind not in ("attach", "external"):
        return None
    return col.type.render() if col.type.kind == "external" else col.type.name


def refuse_stored(sel: Select, text: str, backend: Backend, doing: str = "restrict by") -> None:
    """An SQL fragment (a restriction, an ``order_by`` expression) may test a store or attachment
    attribute for NULL, never compare its value."""
    stored = {c.name.lower(): c for c in sel.cols if _stored_kind(c) is not None}
    if not stored:
        return
    try:
        mentions = sqltext.attribute_mentions(text, backslash_escapes=backend.backslash_escapes)
    except (sqltext.UnterminatedString, sqltext.BadFragment):
        return  # the fragment compiler reports it
    for name, null_test in mentions:
        col = stored.get(name.lower())
        if col is not None and not null_test:
            raise QueryError(
                f"cannot {doing} the {_stored_kind(col)} attribute `{col.name}` in {text!r}: its values are kept "
                f"in a store or as a file and are never compared (only `{col.name} IS [NOT] NULL` is allowed)"
            )


def refuse_stored_order(col: Col) -> None:
    """Ordering by a store or attachment attribute would order by its reference: refused."""
    what = _stored_kind(col)
    if what is not None:
        raise QueryError(
            f"cannot order by the {what} attribute `{col.name}`: its values are kept in a store or as a "
            f"file and are never compared (`{col.name} IS NULL` orders rows without a value first)"
        )


def comparable(col: Col) -> bool:
    """Whether a dict restriction compares ``col`` (blob and json attributes are skipped)."""
    return col.type is None or col.type.kind not in ("blob", "json")


def compile_condition(
    backend: Backend,
    sel: Select,
    cond: object,
    *,
    negate: bool = False,
    ignore_extra: bool = False,
    connection: int = 0,
) -> tuple[str, Params]:
    """Compile ``cond`` (negated if asked) to ``(sql, params)`` against ``sel``.

    Negation is the complement: ``q - c`` holds exactly the rows of ``q`` that
    are not in ``q & c``, also where ``c`` compares a NULL (SQL's ``NOT`` of
    an unknown comparison would drop those rows from both sides).
    """
    sql, params, _ = _compile(backend, sel, cond, negate, ignore_extra, connection)
    return sql, params


def _compile(
    backend: Backend, sel: Select, cond: object, negate: bool, ignore_extra: bool, connection: int
) -> Compiled:
    if isinstance(cond, Not):
        return _compile(backend, sel, cond.condition, not negate, ignore_extra, connection)
    if isinstance(cond, bool):
        return _FALSE if cond == negate else _TRUE
    if hasattr(cond, "_query_select"):
        other: HasSelect = cond  # type: ignore[assignment]
        if connection and other._query_backend_id != connection:
            raise QueryError("cannot restrict by a query of another connection")
        return _semijoin(backend, sel, other._query_select, negate)
    if isinstance(cond, str):
        refuse_stored(sel, cond, backend)
        text = sqltext.fragment(cond, attribute_resolver(sel), backend)
        if not text.strip():
            raise QueryError("an empty string is not a condition")
        # any SQL expression may be unknown (NULL operands, functions, CASE without ELSE)
        return _negate((text, (), True)) if negate else (text, (), True)
    if isinstance(cond, Mapping):
        compiled = _mapping(backend, sel, cond, ignore_extra)
        return _negate(compiled) if negate else compiled
    if isinstance(cond, AndList):
        parts = [_compile(backend, sel, c, False, ignore_extra, connection) for c in cond]
        compiled = _combine(parts, "AND")
        return _negate(compiled) if negate else compiled
    if isinstance(cond, (list, tuple, set, frozenset)):
        as_in = _in_list(backend, sel, list(cond), ignore_extra)
        if as_in is not None:
            return _negate(as_in) if negate else as_in
        parts = [_compile(backend, sel, c, False, ignore_extra, connection) for c in cond]
        compiled = _combine(parts, "OR")
        return _negate(compiled) if negate else compiled
    if _is_frame(cond):
        rows = frame_records(cond)
        return _compile(backend, sel, rows, negate, ignore_extra, connection)
    raise QueryError(f"cannot restrict by a {type(cond).__name__}: use a dict, an SQL string, a query or a list")


def _is_frame(cond: object) -> bool:
    return hasattr(cond, "to_dict") and hasattr(cond, "columns")  # a pandas DataFrame


def frame_records(frame: Any) -> list[dict[str, Any]]:
    """A DataFrame's rows as dicts (a named index becomes attributes; missing values become None).

    Restricting by a DataFrame is restricting by the OR of its rows, as in DataJoint.
    """
    if any(name is not None for name in getattr(frame.index, "names", [None])):
        frame = frame.reset_index()
    names = [str(c) for c in frame.columns]
    columns: list[list[Any]] = []
    for label in frame.columns:
        series = frame[label]
        values = series.tolist()
        if series.hasnans:
            values = [None if missing else v for v, missing in zip(values, series.isna().tolist())]
        columns.append(values)
    return [dict(zip(names, vals)) for vals in zip(*columns)]


def _negate(c: Compiled) -> Compiled:
    if c == _TRUE:
        return _FALSE
    if c == _FALSE:
        return _TRUE
    sql, params, maybe_null = c
    if maybe_null:
        return f"({sql}) IS NOT TRUE", params, False
    return f"NOT ({sql})", params, False


def _combine(parts: Iterable[Compiled], op: str) -> Compiled:
    items = list(parts)
    if op == "OR":
        if any(p == _TRUE for p in items):
            return _TRUE
        items = [p for p in items if p != _FALSE]
        if not items:
            return _FALSE
    else:
        if any(p == _FALSE for p in items):
            return _FALSE
        items = [p for p in items if p != _TRUE]
        if not items:
            return _TRUE
    if len(items) == 1:
        return items[0]
    sql = f" {op} ".join(f"({s})" for s, _, _ in items)
    params = tuple(v for _, ps, _ in items for v in ps)
    return sql, params, any(n for _, _, n in items)


def _in_list(backend: Backend, sel: Select, items: list[object], ignore_extra: bool) -> Compiled | None:
    """A list of dicts over the same attributes, without None values, as one IN list.

    ``[{"a": 1}, {"a": 2}]`` becomes ``a IN (?, ?)`` and several attributes a
    row-value IN: short SQL however long the list (an OR chain of thousands of
    terms exceeds SQLite's expression depth).
    """
    if len(items) < 2 or not all(isinstance(i, Mapping) and not _is_frame(i) for i in items):
        return None
    cols: list[Col] | None = None
    rows: list[list[object]] = []
    maybe_null = False
    for item in items:
        assert isinstance(item, Mapping)
        extra_ok = ignore_extra or isinstance(item, RowKey)
        pairs = []
        for key, value in item.items():
            col = sel.find(key) if isinstance(key, str) else None
            if col is None:
                if extra_ok:
                    continue
                return None  # let the per-item path report the unknown attribute
            if not comparable(col):
                continue
            if value is None:
                return None
            pairs.append((col, value))
        if not pairs:
            return None
        these = [c for c, _ in pairs]
        if cols is None:
            cols = these
        elif [c.name for c in these] != [c.name for c in cols]:
            return None
        rows.append([_bind_value(backend, c, v) for c, v in pairs])
        maybe_null = maybe_null or any(c.nullable for c in these)
    assert cols is not None
    ph = backend.placeholder
    if len(cols) == 1:
        sql = f"{cols[0].sql} IN ({', '.join([ph] * len(rows))})"
    else:
        one = "(" + ", ".join([ph] * len(cols)) + ")"
        sql = "(" + ", ".join(c.sql for c in cols) + ") IN (" + ", ".join([one] * len(rows)) + ")"
    return sql, tuple(v for r in rows for v in r), maybe_null


def _mapping(backend: Backend, sel: Select, cond: Mapping[Any, Any], ignore_extra: bool) -> Compiled:
    ignore_extra = ignore_extra or isinstance(cond, RowKey)
    parts: list[str] = []
    params: list[Any] = []
    maybe_null = False
    skipped: list[str] = []
    ph = backend.placeholder
    for key, value in cond.items():
        col = sel.find(key) if isinstance(key, str) else None
        if col is None:
            if ignore_extra:
                continue
            raise QueryError(
                f"`{key}` is not an attribute of this query (its attributes: {', '.join(sel.names)}); "
                "restrict(cond, ignore_extra_fields=True) drops unknown keys"
            )
        if not comparable(col):
            skipped.append(col.name)
            continue
        if value is None:
            parts.append(f"{col.sql} IS NULL")
            continue
        maybe_null = maybe_null or col.nullable
        parts.append(f"{col.sql} = {ph}")
        params.append(_bind_value(backend, col, value))
    if not parts:
        if skipped:
            raise QueryError(
                f"cannot restrict by {', '.join(f'`{n}`' for n in skipped)} alone: blob and json attributes "
                "are never compared (a row restricts by its other attributes)"
            )
        return _TRUE
    return " AND ".join(parts), tuple(params), maybe_null


_BINDERS: dict[tuple[int, Col], Callable[[object], object]] = {}


def _bind_value(backend: Backend, col: Col, value: object) -> object:
    """The driver parameter for comparing ``col`` with ``value`` (checked by the attribute's type)."""
    return binder(backend, col)(value)


def binder(backend: Backend, col: Col) -> Callable[[object], object]:
    """A function turning a value into the parameter compared with ``col`` (cached per column)."""
    key = (id(backend), col)
    fn = _BINDERS.get(key)
    if fn is None:
        if len(_BINDERS) > 4096:
            _BINDERS.clear()
        fn = _BINDERS[key] = _make_binder(backend, col)
    return fn


def _make_binder(backend: Backend, col: Col) -> Callable[[object], object]:
    spec = col.type
    if spec is None:
        return lambda value: _bind_computed(col, value)
    if spec.kind in ("blob", "json", "attach", "external"):
        what = spec.render() if spec.kind == "external" else spec.name
        message = f"cannot restrict by the {what} attribute `{col.name}`: its values are not compared"

        def refuse(value: object) -> object:
            raise QueryError(message)

        return refuse
    if spec.kind == "str":
        # a string longer than the column cannot match, but it is still just a value to compare
        spec = TypeSpec(spec.name, ())
    check = codec.column_checker(spec, True)
    enc = backend.encoder(spec)

    def bind(value: object) -> object:
        try:
            canon = check([value])[0]
        except codec.ValueProblem as exc:
            raise QueryError(f"restriction value for `{col.name}` {exc.message}") from None
        return enc(canon) if enc is not None and canon is not None else canon

    return bind


def _bind_computed(col: Col, value: object) -> object:
    if hasattr(value, "item") and callable(value.item):
        return value.item()  # a numpy scalar
    if isinstance(value, (str, int, float, bytes, decimal.Decimal)) or value is None:
        return value
    raise QueryError(f"cannot compare the computed attribute `{col.name}` with a {type(value).__name__}")


def _semijoin(backend: Backend, sel: Select, other: Select, negate: bool) -> Compiled:
    """``sel & other`` (IN) or ``sel - other`` (NOT EXISTS, which keeps rows whose shared attributes are NULL)."""
    shared = shared_names(sel, other)
    check_lineage(sel, other, shared, "restrict")
    if not shared:
        inner, params = compile_select(backend, other, cols=(), decorate=False, limit=None)
        return (f"{'NOT ' if negate else ''}EXISTS ({inner})", params, False)
    if not negate:
        inner, params = compile_select(backend, other, cols=[other.col(n) for n in shared], decorate=False)
        lhs = sel.col(shared[0]).sql if len(shared) == 1 else "(" + ", ".join(sel.col(n).sql for n in shared) + ")"
        maybe_null = any(sel.col(n).nullable or other.col(n).nullable for n in shared)
        return f"{lhs} IN ({inner})", params, maybe_null
    if other.sealed or (other.aliases & sel.aliases):
        other = wrap(backend, other)
    other = separate(backend, sel, other)
    corr = " AND ".join(f"{other.col(n).sql} = {sel.col(n).sql}" for n in shared)
    inner_sel = replace(other, where=other.where + ((corr, ()),))
    inner, params = compile_select(backend, inner_sel, cols=(), decorate=False)
    return f"NOT EXISTS ({inner})", params, False
