"""Cascading delete: a restriction and everything computed from it, in one transaction.

The plan walks the dependency DAG in topological order.  Every table reached
gets a restriction: the union of its parents' restricted keys, renamed
through the foreign key.  Two cases need keys fetched up front, before any row
is deleted:

* a part table reached through a foreign key other than its master's: its
  masters are deleted too (parts go with their master), and the walk restarts
  with those masters added;
* a table that references itself (a hierarchy): the rows below the restricted
  ones are found level by level and deleted deepest first.

Statements run children first, so a child's restriction (a semijoin on its
parent's restricted rows) is evaluated while those parent rows still exist.

A restriction of the target that reads a table the cascade deletes from (say
``Subject & (Placed & cond)``, where ``Placed`` depends on ``Subject``) would
change as the cascade goes; the target's keys are then fetched first and the
cascade runs for them, in chunks, all in the same transaction.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from relflow_gen.core.meta import FK, TableMeta
from relflow_gen.runtime.query.api import Query
from relflow_gen.runtime.query.expr import Select, compile_select, fresh_alias

if TYPE_CHECKING:
    from relflow_gen.runtime.engine.connection import Connection
    from relflow_gen.runtime.tables.host import TableHost
    from relflow_gen.runtime.tables.table import Table

MAX_ROUNDS = 100
#: keys per DELETE statement (a list of keys compiles to one IN list of bound parameters)
KEY_CHUNK = 100


@dataclass
class Step:
    meta: TableMeta
    query: Query[Any]
    levels: list[list[dict[str, Any]]] = field(default_factory=list)  # self-referencing tables
    base: Table[Any, Any, Any] | None = None
    #: the union ``query`` is made of, deleted one by one (a semijoin each: ORed ones are not planned as joins)
    parts: list[Query[Any]] = field(default_factory=list)
    #: for each part reached through a foreign key: (parent, ((column, parent column), ...)); else None
    edges: list[tuple[str, tuple[tuple[str, str], ...]] | None] = field(default_factory=list)


@dataclass
class DeletePlan:
    steps: list[Step]  # execution order: children first

    def counts(self) -> Iterator[tuple[str, Query[Any]]]:
        for step in self.steps:
            yield step.meta.full_name, step.query


def plan_delete(pipeline: TableHost, target: Table[Any, Any, Any]) -> DeletePlan:
    meta = pipeline.meta
    lifted: dict[str, list[dict[str, Any]]] = {}
    for _ in range(MAX_ROUNDS):
        conds: dict[str, list[object]] = {target.full_name: [target.proj()]}
        edges: dict[str, list[tuple[str, tuple[tuple[str, str], ...]] | None]] = {target.full_name: [None]}
        for name, keys in lifted.items():
            conds.setdefault(name, []).append(keys)
            edges.setdefault(name, []).append(None)
        queries: dict[str, Query[Any]] = {}
        parts: dict[str, list[Query[Any]]] = {}
        levels: dict[str, list[list[dict[str, Any]]]] = {}
        new_lift = False
        for t in meta.tables:
            name = t.full_name
            if name not in conds:
                continue
            base = pipeline.table(name)
            restrictions = conds[name]
            q: Query[Any]
            if name == target.full_name and len(restrictions) == 1 and _in_place(target._select, base._select.sources[0].sql):
                q = target  # restricted in place: no semijoin of the table on itself
            else:
                q = base & restrictions
            parts[name] = [q] if len(restrictions) == 1 else [base & r for r in restrictions]
            self_fks = [fk for fk in t.foreign_keys if fk.parent == name]
            if self_fks:
                lv = _hierarchy_levels(base, q, self_fks)
                levels[name] = lv
                all_keys = [k for level in lv for k in level]
                q = base & all_keys
            queries[name] = q
            for child, fk in meta.children.get(name, ()):
                if child.full_name == name:
                    continue
                renames = {c: p for c, p in fk.attrs if c != p}
                cond = q.proj(**renames)
                conds.setdefault(child.full_name, []).append(cond)
                edges.setdefault(child.full_name, []).append((name, tuple(fk.attrs)))
                if child.is_part and not fk.is_master and child.master:
                    master = pipeline.table(child.master)
                    child_rows = pipeline.table(child.full_name) & cond
                    keys = (master & child_rows.proj()).keys()
                    known = lifted.setdefault(child.master, [])
                    fresh = [k for k in keys if k not in known]
                    if fresh:
                        known.extend(fresh)
                        new_lift = True
        if not new_lift:
            order = [t for t in meta.tables if t.full_name in queries]
            steps = [
                Step(
                    t,
                    queries[t.full_name],
                    levels.get(t.full_name, []),
                    pipeline.table(t.full_name),
                    parts[t.full_name],
                    edges[t.full_name] if len(conds[t.full_name]) > 1 else [edges[t.full_name][0]],
                )
                for t in reversed(order)
            ]
            return DeletePlan(steps)
    raise RuntimeError("delete plan did not converge")  # pragma: no cover - bounded by the DAG


def delete_cascade(pipeline: TableHost, target: Table[Any, Any, Any], *, dry_run: bool = False) -> dict[str, int]:
    """Delete ``target``'s rows and everything that depends on them, in one transaction.

    Returns ``{table: rows}`` for the tables with rows to delete, in execution
    order (children first).  ``dry_run`` counts without deleting.
    """
    conn = pipeline.connection
    with conn.transaction(immediate=not dry_run):
        plan = plan_delete(pipeline, target)
        if not _reads_cascade(conn, target, plan):
            if dry_run:
                counts = {name: len(q) for name, q in plan.counts()}
                return {name: n for name, n in counts.items() if n}
            return run_delete(conn, plan)
        # the restriction reads tables the cascade deletes from: fix the target's keys first
        keys = target.keys()
        base = pipeline.table(target.full_name)
        seen: dict[str, set[tuple[Any, ...]]] = {}
        total: dict[str, int] = {}
        for chunk in _chunks(keys, KEY_CHUNK):
            plan = plan_delete(pipeline, base & chunk)
            if dry_run:
                for step in plan.steps:
                    step_pk = step.meta.primary_key
                    found = seen.setdefault(step.meta.full_name, set())
                    found.update(tuple(k[a] for a in step_pk) for k in step.query.keys())
                continue
            for name, n in run_delete(conn, plan).items():
                total[name] = total.get(name, 0) + n
        if dry_run:
            return {name: len(found) for name, found in seen.items() if found}
        return total


def _reads_cascade(conn: Connection, target: Table[Any, Any, Any], plan: DeletePlan) -> bool:
    """Whether the target's query reads (in a join or a subquery) a table the plan deletes from."""
    backend = conn.backend
    sql = compile_select(backend, target._select, decorate=False)[0]
    return any(
        backend.table_ref(step.meta.schema, step.meta.sql_name) in sql
        for step in plan.steps
        if step.meta.full_name != target.full_name
    )


def _hierarchy_levels(base: Table[Any, Any, Any], q: Query[Any], fks: list[FK]) -> list[list[dict[str, Any]]]:
    """Keys of ``q`` and of the rows below them, grouped by depth: parents before children.

    The depth of a row counts its ancestors within the set, so deleting the
    levels deepest first never deletes a row another row of the set still
    references (SQLite checks ON DELETE RESTRICT row by row, even within one
    statement), also when ``q`` holds several levels itself (a whole table).
    """
    pk = base.meta.primary_key
    fk_cols = [c for fk in fks for c, _ in fk.attrs]
    wanted = list(dict.fromkeys([*pk, *fk_cols]))
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    frontier = q.fetch(*wanted)
    for r in frontier:
        rows[tuple(r[a] for a in pk)] = r
    while frontier:
        conds = [{c: r[p] for c, p in fk.attrs} for fk in fks for r in frontier]
        children = []
        for chunk in _chunks(conds, KEY_CHUNK):
            for r in (base & chunk).fetch(*wanted):
                t = tuple(r[a] for a in pk)
                if t not in rows:
                    rows[t] = r
                    children.append(r)
        frontier = children

    # peel the set from the leaves: a level is the rows no remaining row references
    ups: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
    referenced = dict.fromkeys(rows, 0)
    for key, r in rows.items():
        parents = []
        for fk in fks:
            ref = {p: r[c] for c, p in fk.attrs}
            parent = tuple(ref[a] for a in pk)
            if parent != key and parent in rows:
                parents.append(parent)
                referenced[parent] += 1
        ups[key] = parents
    peeled: list[list[tuple[Any, ...]]] = []
    current = [k for k, n in referenced.items() if n == 0]
    done: set[tuple[Any, ...]] = set()
    while current:
        peeled.append(current)
        done.update(current)
        nxt = []
        for key in current:
            for parent in ups[key]:
                referenced[parent] -= 1
                if referenced[parent] == 0:
                    nxt.append(parent)
        current = nxt
    rest = [k for k in rows if k not in done]  # a reference cycle: the database decides
    if rest:
        peeled.append(rest)
    return [[dict(zip(pk, key)) for key in level] for level in reversed(peeled)]


def empty_hierarchy(pipeline: TableHost, meta: TableMeta) -> int:
    """Delete every row of a self-referencing table, deepest rows first (no cascade)."""
    fks = [fk for fk in meta.foreign_keys if fk.parent == meta.full_name]
    base = pipeline.table(meta.full_name)
    n = 0
    for level in reversed(_hierarchy_levels(base, base, fks)):
        for chunk in _chunks(level, KEY_CHUNK):
            n += delete_rows(pipeline.connection, meta, (base & chunk)._select)
    return n


def _chunks(items: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def run_delete(conn: Connection, plan: DeletePlan) -> dict[str, int]:
    """Run ``plan``'s statements (inside the caller's transaction), children first."""
    pushed = _pushdown(conn, plan)
    if conn.backend.name == "mysql":
        return _run_delete_by_keys(conn, plan, pushed)
    counts: dict[str, int] = {}
    for step in plan.steps:
        name = step.meta.full_name
        if name in pushed:
            counts[name] = _delete_pushed(conn, step.meta, pushed[name])
        elif step.levels and step.base is not None:
            counts[name] = _delete_levels(conn, step)
        else:
            counts[name] = sum(delete_rows(conn, step.meta, p._select) for p in step.parts or [step.query])
    return {k: v for k, v in counts.items() if v}


#: a restriction that holds for a table's own columns: (SQL without table alias, parameters, columns read)
Pushed = tuple[str, tuple[Any, ...], frozenset[str]]

_WORDS = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


def _pushdown(conn: Connection, plan: DeletePlan) -> dict[str, Pushed]:
    """The tables whose doomed rows are the target's restriction applied to their own columns.

    When the target is restricted in place by conditions that read only its key attributes
    (``subject_id < 10``), a table below it whose foreign keys carry those attributes unchanged
    (same names, a chain of single foreign keys) holds a doomed row exactly when the row
    satisfies the same condition: the foreign key says the parent row exists and has those
    values.  Such a table is deleted with ``DELETE FROM t WHERE <condition>``: a key range, as
    a hand-written delete would do.  Conditions with subqueries or string literals are not
    rewritten (the text is only trusted when every name in it is a column of the target).
    """
    if not plan.steps:
        return {}
    backend = conn.backend
    target = plan.steps[-1]
    sel = target.query._select
    ref = backend.table_ref(target.meta.schema, target.meta.sql_name)
    if len(target.parts) != 1 or target.levels or not _in_place(sel, ref) or not sel.where:
        return {}
    alias = sel.sources[0].alias
    quote = backend.quote("x")[0]
    col_ref = re.compile(rf"\b{re.escape(alias)}\.{re.escape(quote)}([^{re.escape(quote)}]+){re.escape(quote)}")
    where = " AND ".join(f"({w})" for w, _ in sel.where)
    cols = frozenset(col_ref.findall(where))
    bare = col_ref.sub("", where)
    words = {w.lower() for w in _WORDS.findall(bare)}
    if any(ch in bare for ch in "'\"`") or alias.lower() in words or "select" in words:
        return {}
    if not cols <= set(target.meta.primary_key):
        return {}
    text = col_ref.sub(lambda m: backend.quote(m.group(1)), where)
    params = tuple(p for _, ps in sel.where for p in ps)
    pushed: dict[str, Pushed] = {target.meta.full_name: (text, params, cols)}
    for step in reversed(plan.steps[:-1]):  # parents first
        if len(step.edges) != 1 or step.edges[0] is None or step.levels:
            continue
        parent, attrs = step.edges[0]
        up = pushed.get(parent)
        if up is None:
            continue
        same = {c for c, p in attrs if c == p}
        if up[2] <= same:
            pushed[step.meta.full_name] = up
    return pushed


def _delete_pushed(conn: Connection, meta: TableMeta, pushed: Pushed) -> int:
    ref = conn.backend.table_ref(meta.schema, meta.sql_name)
    conn.execute(f"DELETE FROM {ref} WHERE {pushed[0]}", pushed[1])
    return conn.rowcount()


def _delete_levels(conn: Connection, step: Step, used: set[str] | None = None) -> int:
    assert step.base is not None
    n = 0
    for level in reversed(step.levels):  # deepest rows first
        for chunk in _chunks(level, KEY_CHUNK):
            n += delete_rows(conn, step.meta, (step.base & chunk)._select, used=used)
    return n


def _run_delete_by_keys(conn: Connection, plan: DeletePlan, pushed: dict[str, Pushed]) -> dict[str, int]:
    """MariaDB: fetch the keys of every table with dependents (parents first), delete by key lists.

    A single-table DELETE is not planned as a semijoin by MariaDB (it scans the table and runs
    the subquery per row), and the multi-table form buffers the rows it deletes; a DELETE whose
    condition is a list of key values (``(k1, k2) IN ((?, ?), ...)``, a prefix of the primary
    key or an indexed foreign key) is a set of index range scans, like a delete by key range.
    The keys are fetched with SELECTs (which are planned as semijoins), before anything is deleted.
    """
    backend = conn.backend
    needed = {e[0] for step in plan.steps if step.meta.full_name not in pushed for e in step.edges if e is not None}
    keys: dict[str, list[tuple[Any, ...]]] = {}
    for step in reversed(plan.steps):  # parents first
        name = step.meta.full_name
        if name in needed:
            sel = step.query._select
            sql, params = compile_select(backend, sel, cols=[sel.col(k) for k in step.meta.primary_key], decorate=False)
            keys[name] = conn.query(sql, params)
    counts: dict[str, int] = {}
    used: set[str] = set()
    for step in plan.steps:
        name = step.meta.full_name
        if name in pushed:
            counts[name] = _delete_pushed(conn, step.meta, pushed[name])
            continue
        if step.levels and step.base is not None:
            counts[name] = _delete_levels(conn, step, used)
            continue
        if name in keys and len(step.parts) == 1:  # its own keys are known
            pk = step.meta.primary_key
            counts[name] = _delete_key_list(conn, step.meta, pk, keys[name])
            continue
        n = 0
        for part, edge in zip(step.parts or [step.query], step.edges or [None]):
            if edge is None or edge[0] not in keys:
                n += delete_rows(conn, step.meta, part._select, used=used)
                continue
            parent, attrs = edge
            parent_pk = plan_meta(plan, parent).primary_key
            at = [parent_pk.index(p) for _, p in attrs]
            values = list(dict.fromkeys(tuple(k[i] for i in at) for k in keys[parent]))
            n += _delete_key_list(conn, step.meta, tuple(c for c, _ in attrs), values)
        counts[name] = n
    return {k: v for k, v in counts.items() if v}


def plan_meta(plan: DeletePlan, name: str) -> TableMeta:
    return next(step.meta for step in plan.steps if step.meta.full_name == name)


#: key values per DELETE statement in a key-list delete
KEY_LIST_CHUNK = 1000


def _delete_key_list(conn: Connection, meta: TableMeta, cols: tuple[str, ...], values: list[tuple[Any, ...]]) -> int:
    """DELETE the rows of ``meta`` whose ``cols`` are one of ``values``, in chunks."""
    backend = conn.backend
    ref = backend.table_ref(meta.schema, meta.sql_name)
    mark = backend.placeholder
    size = max(1, min(KEY_LIST_CHUNK, backend.max_params // len(cols)))
    lhs = backend.quote(cols[0]) if len(cols) == 1 else "(" + ", ".join(backend.quote(c) for c in cols) + ")"
    one = mark if len(cols) == 1 else "(" + ", ".join([mark] * len(cols)) + ")"
    n = 0
    for i in range(0, len(values), size):
        chunk = values[i : i + size]
        conn.execute(f"DELETE FROM {ref} WHERE {lhs} IN ({', '.join([one] * len(chunk))})", [v for k in chunk for v in k])
        n += conn.rowcount()
    return n


def delete_rows(conn: Connection, meta: TableMeta, select: Select, *, used: set[str] | None = None) -> int:
    """DELETE the rows of ``meta`` whose key is in ``select`` (no cascade).

    The statement is chosen so that its cost follows the rows deleted, not the size of the table:

    * a restriction of the table itself (one source: the table) is deleted in place,
      ``DELETE FROM t AS a WHERE <its conditions>``; a parent's restriction is then a semijoin
      (``(a.k1, a.k2) IN (SELECT ...)``) that both engines drive from the parent's rows through
      the key index.  MariaDB plans semijoins only in the multi-table form
      (``DELETE a FROM t AS a WHERE ...``), whose alias it resolves in the default database: the
      statement is preceded by ``USE`` of the table's database.  A condition that reads the
      table itself cannot be used there (MariaDB refuses it, error 1093);
    * anything else (joins, aggregation, a condition reading the table itself) is fetched as the
      key set first: ``DELETE t FROM t JOIN (SELECT DISTINCT pk ...) AS d ON pk`` on MariaDB (the
      derived table is materialized, then joined on the primary key), ``pk IN (SELECT ...)`` on
      SQLite (a list subquery, then primary-key lookups).

    ``used``: the databases already made the default by earlier statements of the same run.
    """
    backend = conn.backend
    ref = backend.table_ref(meta.schema, meta.sql_name)
    pk = meta.primary_key
    q = backend.quote
    mysql = backend.name == "mysql"
    if _in_place(select, ref):
        where = " AND ".join(f"({w})" for w, _ in select.where)
        params = [p for _, ps in select.where for p in ps]
        alias = select.sources[0].alias
        if not where:
            conn.execute(f"DELETE FROM {ref}", ())
            return conn.rowcount()
        if not mysql:
            conn.execute(f"DELETE FROM {ref} AS {alias} WHERE {where}", params)
            return conn.rowcount()
        if ref not in where:
            database = backend.database_name(meta.schema)
            if used is None or database not in used:
                if used is not None:
                    used.clear()
                    used.add(database)
                conn.execute(f"USE {q(database)}", ())
            conn.execute(f"DELETE {alias} FROM {ref} AS {alias} WHERE {where}", params)
            return conn.rowcount()
    inner, params_t = compile_select(backend, select, cols=[select.col(k) for k in pk], decorate=False)
    alias = fresh_alias("d")
    if mysql:
        on = " AND ".join(f"{ref}.{q(k)} = {alias}.{q(k)}" for k in pk)
        keys = ", ".join(q(k) for k in pk)
        conn.execute(f"DELETE {ref} FROM {ref} JOIN (SELECT DISTINCT {keys} FROM ({inner}) AS {alias}_k) AS {alias} ON {on}", params_t)
        return conn.rowcount()
    lhs = q(pk[0]) if len(pk) == 1 else "(" + ", ".join(q(k) for k in pk) + ")"
    conn.execute(f"DELETE FROM {ref} WHERE {lhs} IN (SELECT * FROM ({inner}) AS {alias})", params_t)
    return conn.rowcount()


def _in_place(select: Select, ref: str) -> bool:
    """Whether ``select`` restricts the table ``ref`` alone (its conditions can drive a DELETE)."""
    if len(select.sources) != 1 or select.group_by or select.having or select.aggregated or select.distinct:
        return False
    src = select.sources[0]
    return src.sql == ref and src.kind == "from" and not src.params
