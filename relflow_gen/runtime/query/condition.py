"""Restriction conditions compiled against a :class:`~.expr.Select`.

A condition is one of: a mapping ``{attribute: value}`` (AND of equalities,
``None`` means IS NULL), an SQL string in terms of attribute names, another
query (semijoin on the shared attributes), a list/tuple/set (OR; empty is
false), an :class:`AndList` (AND), a :class:`Not` wrapper, or ``True`` /
``False``.  Values become bound parameters, checked and encoded by the
attribute's type, so no value can change the shape of a statement.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any, Protocol

from ..backends.base import Backend
from ..codec import ValueProblem, check_value
from ..errors import QueryError
from . import sqltext
from .expr import Params, Select, check_lineage, compile_select, shared_names, wrap

TRUE: tuple[str, Params] = ("1=1", ())
FALSE: tuple[str, Params] = ("1=0", ())


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


class AndList(list[Any]):
    """A list of conditions that must all hold (a plain list means OR)."""


def attribute_resolver(sel: Select) -> Any:
    lowered = {c.name.lower(): c.sql for c in sel.cols}

    def resolve(name: str) -> str | None:
        return lowered.get(name.lower())

    return resolve


def compile_condition(
    backend: Backend,
    sel: Select,
    cond: object,
    *,
    negate: bool = False,
    ignore_extra: bool = False,
    connection: int = 0,
) -> tuple[str, Params]:
    """Compile ``cond`` (negated if asked) to ``(sql, params)`` against ``sel``."""
    if isinstance(cond, Not):
        return compile_condition(
            backend, sel, cond.condition, negate=not negate, ignore_extra=ignore_extra, connection=connection
        )
    if isinstance(cond, bool):
        return FALSE if cond == negate else TRUE
    if hasattr(cond, "_query_select"):
        other: HasSelect = cond  # type: ignore[assignment]
        if connection and other._query_backend_id != connection:
            raise QueryError("cannot restrict by a query of another connection")
        return _semijoin(backend, sel, other._query_select, negate)
    if isinstance(cond, str):
        try:
            text = sqltext.rewrite(cond, attribute_resolver(sel), percent=backend.placeholder == "%s")
        except sqltext.UnterminatedString as exc:
            raise QueryError(str(exc)) from None
        return (f"NOT ({text})", ()) if negate else (text, ())
    if isinstance(cond, Mapping):
        sql, params = _mapping(backend, sel, cond, ignore_extra)
        return _negate(sql, params) if negate else (sql, params)
    if isinstance(cond, AndList):
        parts = [compile_condition(backend, sel, c, ignore_extra=ignore_extra, connection=connection) for c in cond]
        sql, params = _combine(parts, "AND")
        return _negate(sql, params) if negate else (sql, params)
    if isinstance(cond, (list, tuple, set, frozenset)) or _is_iterable_rows(cond):
        items = list(cond)  # type: ignore[call-overload]
        parts = [compile_condition(backend, sel, c, ignore_extra=ignore_extra, connection=connection) for c in items]
        sql, params = _combine(parts, "OR")
        return _negate(sql, params) if negate else (sql, params)
    raise QueryError(f"cannot restrict by a {type(cond).__name__}: use a dict, an SQL string, a query or a list")


def _is_iterable_rows(cond: object) -> bool:
    return hasattr(cond, "to_dict") and hasattr(cond, "columns")  # a pandas DataFrame


def _negate(sql: str, params: Params) -> tuple[str, Params]:
    if (sql, params) == TRUE:
        return FALSE
    if (sql, params) == FALSE:
        return TRUE
    return f"NOT ({sql})", params


def _combine(parts: Iterable[tuple[str, Params]], op: str) -> tuple[str, Params]:
    items = list(parts)
    if op == "OR":
        if any(p == TRUE for p in items):
            return TRUE
        items = [p for p in items if p != FALSE]
        if not items:
            return FALSE
    else:
        if any(p == FALSE for p in items):
            return FALSE
        items = [p for p in items if p != TRUE]
        if not items:
            return TRUE
    if len(items) == 1:
        return items[0]
    sql = f" {op} ".join(f"({s})" for s, _ in items)
    params = tuple(v for _, ps in items for v in ps)
    return sql, params


def _mapping(backend: Backend, sel: Select, cond: Mapping[Any, Any], ignore_extra: bool) -> tuple[str, Params]:
    if hasattr(cond, "to_dict") and hasattr(cond, "columns"):
        raise QueryError("restrict by a DataFrame's rows with df.to_dict('records')")
    parts: list[str] = []
    params: list[Any] = []
    ph = backend.placeholder
    for key, value in cond.items():
        col = sel.find(str(key))
        if col is None:
            if ignore_extra:
                continue
            raise QueryError(
                f"`{key}` is not an attribute of this query (its attributes: {', '.join(sel.names)}); "
                "restrict(cond, ignore_extra_fields=True) drops unknown keys"
            )
        if value is None:
            parts.append(f"{col.sql} IS NULL")
            continue
        if col.type is not None:
            if col.type.kind in ("blob", "json"):
                raise QueryError(f"cannot restrict by the {col.type.name} attribute `{col.name}`")
            try:
                value = check_value(col.type, True, value)
            except ValueProblem as exc:
                raise QueryError(f"restriction value for `{col.name}` {exc.message}") from None
            enc = backend.encoder(col.type)
            if enc is not None:
                value = enc(value)
        elif hasattr(value, "item") and callable(value.item):
            value = value.item()
        parts.append(f"{col.sql} = {ph}")
        params.append(value)
    if not parts:
        return TRUE
    return " AND ".join(parts), tuple(params)


def _semijoin(backend: Backend, sel: Select, other: Select, negate: bool) -> tuple[str, Params]:
    shared = shared_names(sel, other)
    check_lineage(sel, other, shared, "restrict")
    if not shared:
        inner, params = compile_select(backend, other, cols=(), decorate=False, limit=None)
        return (f"{'NOT ' if negate else ''}EXISTS ({inner})", params)
    if not negate:
        inner, params = compile_select(backend, other, cols=[other.col(n) for n in shared], decorate=False)
        lhs = sel.col(shared[0]).sql if len(shared) == 1 else "(" + ", ".join(sel.col(n).sql for n in shared) + ")"
        return f"{lhs} IN ({inner})", params
    if other.sealed or (other.aliases & sel.aliases):
        other = wrap(backend, other)
    corr = " AND ".join(f"{other.col(n).sql} = {sel.col(n).sql}" for n in shared)
    inner_sel = replace(other, where=other.where + ((corr, ()),))
    inner, params = compile_select(backend, inner_sel, cols=(), decorate=False)
    return f"NOT EXISTS ({inner})", params
