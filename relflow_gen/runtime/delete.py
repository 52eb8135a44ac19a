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
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .meta import FK, TableMeta
from .query.api import Query
from .query.expr import Select, compile_select, fresh_alias

if TYPE_CHECKING:
    from .connection import Connection
    from .pipeline import Pipeline
    from .table import Table

MAX_ROUNDS = 100


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


def plan_delete(pipeline: Pipeline, target: Table[Any, Any, Any]) -> DeletePlan:
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


def _hierarchy_levels(base: Table[Any, Any, Any], q: Query[Any], fks: list[FK]) -> list[list[dict[str, Any]]]:
    """Keys of ``q`` and, level by level, the rows that reference them."""
    pk = base.meta.primary_key
    seen: set[tuple[Any, ...]] = set()
    frontier = q.keys()
    for k in frontier:
        seen.add(tuple(k[a] for a in pk))
    levels = [frontier]
    while frontier:
        conds = [{c: key[p] for c, p in fk.attrs} for fk in fks for key in frontier]
        children = []
        for chunk in _chunks(conds, 500):
            for k in (base & chunk).keys():
                t = tuple(k[a] for a in pk)
                if t not in seen:
                    seen.add(t)
                    children.append(k)
        if children:
            levels.append(children)
        frontier = children
    return levels


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
                    for chunk in _chunks(level, 500):
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
