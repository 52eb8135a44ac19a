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
        for name, keys in lifted.items():
            conds.setdefault(name, []).append(keys)
        queries: dict[str, Query[Any]] = {}
        levels: dict[str, list[list[dict[str, Any]]]] = {}
        new_lift = False
        for t in meta.tables:
            name = t.full_name
            if name not in conds:
                continue
            base = pipeline.table(name)
            q: Query[Any] = base & conds[name]
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
                Step(t, queries[t.full_name], levels.get(t.full_name, []), pipeline.table(t.full_name))
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
    counts: dict[str, int] = {}
    with conn.transaction():
        for step in plan.steps:
            if step.levels and step.base is not None:
                n = 0
                for level in reversed(step.levels):  # deepest rows first
                    for chunk in _chunks(level, KEY_CHUNK):
                        n += delete_rows(conn, step.meta, (step.base & chunk)._select)
                counts[step.meta.full_name] = n
            else:
                n = delete_rows(conn, step.meta, step.query._select)
                counts[step.meta.full_name] = n
    return {k: v for k, v in counts.items() if v}


def delete_rows(conn: Connection, meta: TableMeta, select: Select) -> int:
    """DELETE the rows of ``meta`` whose key is in ``select`` (no cascade)."""
    backend = conn.backend
    ref = backend.table_ref(meta.schema, meta.sql_name)
    pk = meta.primary_key
    q = backend.quote
    if not select.where and len(select.sources) == 1 and select.sources[0].sql == ref:
        conn.execute(f"DELETE FROM {ref}", ())
        return conn.rowcount()
    inner, params = compile_select(backend, select, cols=[select.col(k) for k in pk], decorate=False)
    lhs = q(pk[0]) if len(pk) == 1 else "(" + ", ".join(q(k) for k in pk) + ")"
    alias = fresh_alias("d")
    conn.execute(f"DELETE FROM {ref} WHERE {lhs} IN (SELECT * FROM ({inner}) AS {alias})", params)
    return conn.rowcount()
