"""The internal form of a query and its compilation to SQL.

A :class:`Select` is ``SELECT cols FROM sources WHERE conds [GROUP BY]``:
every column carries the SQL that computes it in the scope of the sources
(alias-qualified), its type, nullability, key membership and lineage.
Operators build new Selects and keep the statement flat; only what SQL cannot
express flat becomes a derived table (:func:`wrap`): restricting or joining an
aggregation or a DISTINCT projection, joining an expression with itself, and
unions.  All values travel as bound parameters.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from relflow_gen.core.lazy import lazy_module
from relflow_gen.core.types import TypeSpec
from relflow_gen.runtime.errors import QueryError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import hashlib

    from relflow_gen.runtime.backends.base import Backend
else:  # only a derived table's alias needs it (relflow_gen/core/lazy.py): _hashlib costs 3 ms to import
    hashlib = lazy_module("hashlib")

_alias_counter = itertools.count()


def fresh_alias(prefix: str = "t") -> str:
    return f"{prefix}{next(_alias_counter)}"


def derived_alias(prefix: str, sql: str) -> str:
    """The alias of a derived table, from its SQL text: the same query always reads the same.

    Equal texts in one statement would collide, but an operator that puts two
    derived tables side by side wraps one side again when their aliases meet.
    """
    return f"{prefix}{hashlib.blake2s(sql.encode(), digest_size=4).hexdigest()}"


Params = tuple[Any, ...]


@dataclass(frozen=True)
class Col:
    name: str
    sql: str
    type: TypeSpec | None  # None: a computed expression
    nullable: bool
    in_key: bool
    lineage: str | None  # None: computed, no lineage


@dataclass(frozen=True)
class Source:
    sql: str  # quoted table reference or "(SELECT ...)"
    params: Params
    alias: str
    kind: Literal["from", "inner", "left"] = "from"
    on: str = ""
    on_params: Params = ()


@dataclass(frozen=True)
class Select:
    sources: tuple[Source, ...]
    cols: tuple[Col, ...]
    where: tuple[tuple[str, Params], ...] = ()
    group_by: tuple[str, ...] = ()
    having: tuple[tuple[str, Params], ...] = ()
    aggregated: bool = False
    distinct: bool = False
    tables: frozenset[str] = field(default_factory=frozenset)  # full names of base tables used

    @property
    def sealed(self) -> bool:
        """Cannot take more WHERE conditions or joins without becoming a derived table."""
        return self.aggregated or self.distinct

    @property
    def aliases(self) -> frozenset[str]:
        return frozenset(s.alias for s in self.sources)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.cols)

    @property
    def primary_key(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.cols if c.in_key)

    def col(self, name: str) -> Col:
        for c in self.cols:
            if c.name == name:
                return c
        raise QueryError(f"unknown attribute `{name}`; the heading is ({', '.join(self.names)})")

    def find(self, name: str) -> Col | None:
        for c in self.cols:
            if c.name == name:
                return c
        return None


def computed_col(name: str, sql: str, types: Mapping[str, TypeSpec | None] | None) -> Col:
    """A computed attribute: no lineage, nullable, typed when the type could be inferred."""
    return Col(name, f"({sql})", (types or {}).get(name), True, False, None)


def table_select(backend: Backend, ref: str, full_name: str, cols: Sequence[tuple[str, TypeSpec, bool, bool, str]]) -> Select:
    """The Select of a base table: ``cols`` are (name, type, nullable, in_key, lineage)."""
    alias = fresh_alias()
    q = backend.quote
    return Select(
        sources=(Source(ref, (), alias),),
        cols=tuple(Col(n, f"{alias}.{q(n)}", t, nl, k, lin) for n, t, nl, k, lin in cols),
        tables=frozenset({full_name}),
    )


# ------------------------------------------------------------------ compile


def compile_select(
    backend: Backend,
    sel: Select,
    *,
    cols: Sequence[Col] | None = None,
    order_by: Sequence[str] = (),
    limit: int | None = None,
    offset: int | None = None,
    decorate: bool = True,
) -> tuple[str, Params]:
    """SQL text and parameters.  ``decorate`` applies the backend's select expressions.

    Selects made by :func:`restrict_fast` share their SQL text with every
    restriction of the same shape: the text is compiled once per shape and
    cached on the restricted base, only the parameters are gathered per call.
    """
    shape = sel.__dict__.get("_shape")
    if shape is not None:
        base, key = shape
        ck = (key, None if cols is None else tuple(id(c) for c in cols), tuple(order_by), limit, offset, decorate)
        cache = shape_cache(base)
        sql = cache.get(ck)
        if sql is None:
            sql = _compile(backend, sel, cols, order_by, limit, offset, decorate)[0]
            cache[ck] = sql
        return sql, _params(sel)
    return _compile(backend, sel, cols, order_by, limit, offset, decorate)


def shape_cache(sel: Select) -> dict[Any, Any]:
    cache: dict[Any, Any] | None = sel.__dict__.get("_fast")
    if cache is None or len(cache) > 512:
        cache = {}
        sel.__dict__["_fast"] = cache
    return cache


def _params(sel: Select) -> Params:
    params: list[Any] = []
    for s in sel.sources:
        params.extend(s.params)
        params.extend(s.on_params)
    for _, p in sel.where:
        params.extend(p)
    for _, p in sel.having:
        params.extend(p)
    return tuple(params)


def with_condition(sel: Select, key: Any, where_sql: str, params: Params) -> Select:
    """``sel`` with one more WHERE condition whose SQL depends only on ``key``.

    The result remembers its shape, so :func:`compile_select` compiles the
    text once per (``sel``, ``key``) and only gathers parameters afterwards.
    """
    # a copy of the frozen value with one more condition, without the dataclass __init__
    new = object.__new__(Select)
    state = new.__dict__
    state.update(sel.__dict__)
    state.pop("_fast", None)
    state["where"] = sel.where + ((where_sql, params),)
    state["_shape"] = (sel, key)
    return new


def _compile(
    backend: Backend,
    sel: Select,
    cols: Sequence[Col] | None,
    order_by: Sequence[str],
    limit: int | None,
    offset: int | None,
    decorate: bool,
) -> tuple[str, Params]:
    chosen = sel.cols if cols is None else tuple(cols)
    q = backend.quote
    if chosen:
        items = ", ".join(
            f"{backend.select_expr(c.type, c.sql) if decorate else c.sql} AS {q(c.name)}" for c in chosen
        )
    else:
        items = "1 AS " + q("_one")
    params: list[Any] = []
    parts = [f"SELECT {'DISTINCT ' if sel.distinct else ''}{items}", _from_clause(sel, params)]
    if sel.where:
        parts.append("WHERE " + " AND ".join(f"({w})" for w, _ in sel.where))
        for _, p in sel.where:
            params.extend(p)
    if sel.group_by:
        parts.append("GROUP BY " + ", ".join(sel.group_by))
    if sel.having:
        parts.append("HAVING " + " AND ".join(f"({h})" for h, _ in sel.having))
        for _, p in sel.having:
            params.extend(p)
    if order_by:
        parts.append("ORDER BY " + ", ".join(order_by))
    if limit is not None:
        parts.append(f"LIMIT {int(limit)}")
        if offset:
            parts.append(f"OFFSET {int(offset)}")
    elif offset:
        parts.append(f"LIMIT {2**62} OFFSET {int(offset)}")
    return " ".join(parts), tuple(params)


def _from_clause(sel: Select, params: list[Any]) -> str:
    out = []
    for s in sel.sources:
        params.extend(s.params)
        if s.kind == "from":
            out.append(f"FROM {s.sql} AS {s.alias}")
        else:
            join = "LEFT JOIN" if s.kind == "left" else "JOIN"
            out.append(f"{join} {s.sql} AS {s.alias} ON ({s.on or '1=1'})")
            params.extend(s.on_params)
    return " ".join(out)


def wrap(backend: Backend, sel: Select) -> Select:
    """Turn a Select into a derived table: ``(SELECT ...) AS tN``."""
    sql, params = compile_select(backend, sel, decorate=False)
    alias = derived_alias("q", sql)
    q = backend.quote
    return Select(
        sources=(Source(f"({sql})", params, alias),),
        cols=tuple(replace(c, sql=f"{alias}.{q(c.name)}") for c in sel.cols),
        tables=sel.tables,
    )


def separate(backend: Backend, a: Select, b: Select) -> Select:
    """``b``, wrapped (again) until none of its aliases is one of ``a``'s."""
    while a.aliases & b.aliases:
        b = wrap(backend, b)
    return b


def count_sql(backend: Backend, sel: Select) -> tuple[str, Params]:
    if sel.sealed:
        inner, params = compile_select(backend, sel, decorate=False)
        return f"SELECT COUNT(*) FROM ({inner}) AS {backend.quote('counted')}", params
    sql, params = compile_select(backend, replace(sel, cols=()), decorate=False)
    return "SELECT COUNT(*) " + sql[sql.index(" FROM ") + 1 :], params


def exists_sql(backend: Backend, sel: Select) -> tuple[str, Params]:
    inner, params = compile_select(backend, sel, cols=sel.cols[:1] if sel.sealed else (), decorate=False, limit=1)
    return f"SELECT EXISTS({inner})", params


# ------------------------------------------------------------------ operators


def restrict(backend: Backend, sel: Select, sql: str, params: Params) -> Select:
    """Add a condition compiled against ``sel``'s columns.

    The statement stays flat: an aggregation takes it as HAVING (its columns'
    SQL is valid after GROUP BY), a DISTINCT projection as WHERE (restricting
    the rows before DISTINCT keeps exactly the combinations that satisfy it,
    since the condition can only name the projected columns).
    """
    if sel.aggregated:
        return replace(sel, having=sel.having + ((sql, params),))
    return replace(sel, where=sel.where + ((sql, params),))


def check_lineage(a: Select, b: Select, names: Sequence[str], op: str) -> None:
    for name in names:
        ca, cb = a.col(name), b.col(name)
        if ca.lineage is None or cb.lineage is None or ca.lineage != cb.lineage:
            la = ca.lineage or "a computed attribute"
            lb = cb.lineage or "a computed attribute"
            raise QueryError(
                f"cannot {op} on `{name}`: the two sides' `{name}` have different origins ({la} vs {lb}); "
                f"rename one side with .proj({name}_2=\"{name}\") or project it away"
            )


def shared_names(a: Select, b: Select) -> list[str]:
    bnames = set(b.names)
    return [n for n in a.names if n in bnames]


def join(backend: Backend, a: Select, b: Select, *, left: bool = False) -> Select:
    shared = shared_names(a, b)
    check_lineage(a, b, shared, "join")
    if a.sealed:
        a = wrap(backend, a)
    if b.sealed or (a.aliases & b.aliases) or (left and (len(b.sources) > 1)):
        b = wrap(backend, b)
    b = separate(backend, a, b)
    conds = [f"{a.col(n).sql} = {b.col(n).sql}" for n in shared]
    b_sources = list(b.sources)
    where = list(a.where)
    if left:
        on_parts = conds + [w for w, _ in b.where]
        on_params: list[Any] = [p for _, ps in b.where for p in ps]
        first = b_sources[0]
        b_sources[0] = replace(first, kind="left", on=" AND ".join(on_parts) or "1=1", on_params=tuple(on_params))
    else:
        first = b_sources[0]
        b_sources[0] = replace(first, kind="inner", on=" AND ".join(conds) or "1=1", on_params=())
        where += list(b.where)
    pk = _join_key(a, b)
    cols = [replace(c, in_key=c.name in pk) for c in a.cols]
    for c in b.cols:
        if c.name not in shared:
            cols.append(replace(c, in_key=c.name in pk, nullable=c.nullable or left))
    return Select(
        sources=a.sources + tuple(b_sources),
        cols=tuple(cols),
        where=tuple(where),
        tables=a.tables | b.tables,
    )


def _join_key(a: Select, b: Select) -> set[str]:
    a_names, b_names = set(a.names), set(b.names)
    a_pk, b_pk = set(a.primary_key), set(b.primary_key)
    if b_pk <= a_names:
        return a_pk
    if a_pk <= b_names:
        return b_pk
    return a_pk | b_pk


def project(
    sel: Select,
    keep: Sequence[str],
    renames: dict[str, str],
    computed: dict[str, str],
    *,
    keep_all: bool = False,
    exclude: Sequence[str] = (),
    types: Mapping[str, TypeSpec | None] | None = None,
) -> Select:
    """``keep``: attribute names; ``renames``: new -> old; ``computed``: new -> SQL (already rewritten)."""
    for name in list(keep) + list(renames.values()) + list(exclude):
        sel.col(name)  # raises on unknown names
    excluded = set(exclude)
    for name in excluded:
        if sel.col(name).in_key:
            raise QueryError(f"cannot exclude primary-key attribute `{name}`")
    renamed_from = {old: new for new, old in renames.items()}
    if len(renamed_from) != len(renames):
        raise QueryError("an attribute is renamed twice in one proj()")
    out: list[Col] = []
    wanted = set(keep)
    for c in sel.cols:
        if c.name in renamed_from:
            out.append(replace(c, name=renamed_from[c.name]))
            if c.name in wanted:  # also keep the original name
                out.append(c)
        elif c.in_key or c.name in wanted or (keep_all and c.name not in excluded):
            out.append(c)
    for new, expr in computed.items():
        out.append(computed_col(new, expr, types))
    names = [c.name for c in out]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise QueryError(f"proj() would produce attribute(s) {sorted(dupes)} twice")
    return replace(sel, cols=tuple(out))


def aggregate_plan(backend: Backend, a: Select, b: Select, *, keep_all_rows: bool) -> tuple[Select, Select, list[str]]:
    """Prepare the two sides of an aggregation: (a, b, shared names), wrapped as needed."""
    shared = shared_names(a, b)
    check_lineage(a, b, shared, "aggregate")
    if a.sealed:
        a = wrap(backend, a)
    if b.sealed or len(b.sources) > 1 or (a.aliases & b.aliases):
        b = wrap(backend, b)
    b = separate(backend, a, b)
    return a, b, shared


def finish_aggregate(
    a: Select,
    b: Select,
    shared: Sequence[str],
    keep_cols: Sequence[Col],
    exprs: dict[str, str],
    *,
    keep_all_rows: bool,
    types: Mapping[str, TypeSpec | None] | None = None,
) -> Select:
    conds = [f"{a.col(n).sql} = {b.col(n).sql}" for n in shared]
    first = b.sources[0]
    where = list(a.where)
    if keep_all_rows:
        on = conds + [w for w, _ in b.where]
        source = replace(first, kind="left", on=" AND ".join(on) or "1=1", on_params=tuple(p for _, ps in b.where for p in ps))
    else:
        source = replace(first, kind="inner", on=" AND ".join(conds) or "1=1")
        where += list(b.where)
    cols = list(keep_cols) + [computed_col(n, e, types) for n, e in exprs.items()]
    return Select(
        sources=a.sources + (source,),
        cols=tuple(cols),
        where=tuple(where),
        group_by=tuple(c.sql for c in a.cols if c.in_key),
        aggregated=True,
        tables=a.tables | b.tables,
    )


def union(backend: Backend, a: Select, b: Select) -> Select:
    if set(a.names) != set(b.names) or set(a.primary_key) != set(b.primary_key):
        raise QueryError(
            "union needs the same primary key and attributes on both sides: "
            f"({', '.join(a.names)}) vs ({', '.join(b.names)})"
        )
    # a union is not a join: same-named attributes of different origins are united
    # (DataJoint does the same); the result's attribute keeps an origin only when both agree
    b_cols = [b.col(n) for n in a.names]
    sa, pa = compile_select(backend, a, decorate=False)
    sb, pb = compile_select(backend, b, cols=b_cols, decorate=False)
    alias = derived_alias("u", f"{sa} UNION {sb}")
    q = backend.quote
    return Select(
        sources=(Source(f"({sa} UNION {sb})", pa + pb, alias),),
        cols=tuple(
            replace(
                c,
                sql=f"{alias}.{q(c.name)}",
                nullable=c.nullable or b.col(c.name).nullable,
                lineage=c.lineage if c.lineage == b.col(c.name).lineage else None,
            )
            for c in a.cols
        ),
        tables=a.tables | b.tables,
    )


def distinct_of(backend: Backend, sel: Select, names: Sequence[str]) -> Select:
    """``U(names) & sel``: the distinct combinations of ``names``."""
    if sel.sealed:
        sel = wrap(backend, sel)
    cols = tuple(replace(sel.col(n), in_key=True) for n in names)
    return replace(sel, cols=cols, distinct=True)


def group_by_names(
    backend: Backend,
    sel: Select,
    names: Sequence[str],
    exprs: dict[str, str],
    types: Mapping[str, TypeSpec | None] | None = None,
) -> Select:
    """``U(names).aggr(sel, **exprs)`` (``sel`` not sealed; exprs rewritten against it)."""
    assert not sel.sealed
    cols = [replace(sel.col(n), in_key=True) for n in names]
    cols += [computed_col(n, e, types) for n, e in exprs.items()]
    return replace(sel, cols=tuple(cols), group_by=tuple(sel.col(n).sql for n in names), aggregated=True)


def promote(sel: Select, names: Sequence[str]) -> Select:
    """``sel * U(names)``: make ``names`` part of the primary key."""
    for n in names:
        sel.col(n)
    wanted = set(names)
    return replace(sel, cols=tuple(replace(c, in_key=c.in_key or c.name in wanted) for c in sel.cols))
