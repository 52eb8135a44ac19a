"""``plan``: a whole-pipeline dry run. Nothing is written.

For every imported/computed table, in dependency order:

* ``ready``: keys whose inputs exist now (the key source minus what is done);
* ``future``: keys that will become ready once the tables upstream are
  populated, computed from what upstream *would* produce: the keys each
  upstream table has, plus the keys it would make (its own ready and future
  keys), joined as the default key source joins the primary-key parents;
* ``reserved``, ``error``, ``ignored``: from the jobs tables;
* ``outdated``: rows made by other code or from other inputs (:mod:`.staleness`);
* an estimate of the time: the median recorded make duration times the keys to make.

Keys made by a make() that cannot be foreseen (the rows of part tables, keys of
a custom ``key_source()``) are marked ``exact: false``: the future keys of the
tables that depend on them are a lower bound.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from relflow_gen.core.meta import PROVENANCE_COLUMNS, TableMeta
from relflow_gen.runtime.populate.keysource import key_source, maker_instance
from relflow_gen.runtime.populate.manage import Jobs
from relflow_gen.runtime.populate.staleness import outdated
from relflow_gen.runtime.query import expr

if TYPE_CHECKING:
    from relflow_gen.runtime.populate.host import PopulateHost

KeySet = set[tuple[tuple[str, Any], ...]]  # keys as sorted (name, value) pairs


@dataclass
class TablePlan:
    table: str
    tier: str
    done: int
    ready: int
    future: int
    reserved: int
    error: int
    ignored: int
    outdated: int
    median_seconds: float | None
    estimate_seconds: float | None
    exact: bool = True
    has_maker: bool = True


@dataclass
class Plan:
    tables: list[TablePlan] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, Any]:
        keys = ("done", "ready", "future", "reserved", "error", "ignored", "outdated")
        out: dict[str, Any] = {k: sum(getattr(t, k) for t in self.tables) for k in keys}
        estimates = [t.estimate_seconds for t in self.tables if t.estimate_seconds is not None]
        out["estimate_seconds"] = sum(estimates) if estimates else None
        return out

    def to_data(self) -> dict[str, Any]:
        return {"tables": [asdict(t) for t in self.tables], "totals": self.totals}


def _pk_set(rows: list[dict[str, Any]], names: tuple[str, ...]) -> KeySet:
    return {tuple(sorted((n, r[n]) for n in names)) for r in rows}


def _join(sets: list[KeySet]) -> KeySet:
    """Natural join of key sets on their shared attribute names."""
    result: KeySet = {()}
    for s in sets:
        if not s:
            return set()
        names = {n for n, _ in next(iter(s))}
        joined: KeySet = set()
        index: dict[tuple[tuple[str, Any], ...], list[tuple[tuple[str, Any], ...]]] = {}
        shared: list[str] | None = None
        for left in result:
            if shared is None:
                shared = sorted(n for n, _ in left if n in names)
            index.setdefault(tuple((n, v) for n, v in left if n in names), []).append(left)
        shared = shared or []
        for right in s:
            probe = tuple((n, v) for n, v in right if n in shared)
            for left in index.get(probe, ()):
                joined.add(tuple(sorted(dict(left + right).items())))
        result = joined
    return result


def _median_seconds(host: PopulateHost, meta: TableMeta) -> float | None:
    if not meta.has_provenance:
        return None
    table = host.table(meta.full_name)
    backend = host.connection.backend
    alias = table._base.sources[0].alias
    spec = dict(PROVENANCE_COLUMNS)["_make_seconds"]
    col = expr.Col("make_seconds", f"{alias}.{backend.quote('_make_seconds')}", spec, True, False, None)
    sql, params = expr.compile_select(backend, table._select, cols=[col])
    values = [float(r[0]) for r in host.connection.query(sql, params) if r[0] is not None]
    return statistics.median(values) if values else None


def plan(host: PopulateHost) -> Plan:
    """The dry run of populating the whole pipeline (see the module docstring)."""
    schema = host.meta
    counts = Jobs(host).counts()
    stale = outdated(host)
    would: dict[str, KeySet] = {}  # table -> keys it has or would have after a full populate
    exact: dict[str, bool] = {}
    result = Plan()
    for meta in schema.tables:
        table = host.table(meta.full_name)
        pk = meta.primary_key
        have = _pk_set(table.keys(), pk)
        if not meta.is_auto:
            would[meta.full_name] = have
            master = schema.by_name[meta.master] if meta.master else None
            # the future rows of a part of an auto table are made by make(): not foreseeable
            exact[meta.full_name] = not (master is not None and master.is_auto)
            continue
        ready_keys = key_source(host, meta).keys()
        ready = len(ready_keys)
        maker = maker_instance(host, meta)
        custom = maker is not None and maker.key_source() is not None
        parents: list[KeySet] = []
        is_exact = not custom
        for fk in meta.foreign_keys:
            if not fk.in_key:
                continue
            back = {par: child for child, par in fk.attrs}
            pset = {tuple(sorted((back.get(n, n), v) for n, v in k)) for k in would[fk.parent]}
            parent_pk = set(back.get(n, n) for n in schema.by_name[fk.parent].primary_key)
            pset = {tuple((n, v) for n, v in k if n in parent_pk) for k in pset}
            parents.append(pset)
            is_exact = is_exact and exact[fk.parent]
        make_names = {n for k in parents for key in k for n, _ in key}
        future_all = _join(parents) if parents else set()
        have_make = {tuple((n, v) for n, v in k if n in make_names) for k in have}
        ready_set = {tuple(sorted((n, k[n]) for n in k if n in make_names)) for k in ready_keys}
        future = set() if custom else future_all - have_make - ready_set
        if custom or not set(pk) <= make_names:  # rows whose full key only make() knows
            would[meta.full_name] = have
            exact[meta.full_name] = False
        else:
            would[meta.full_name] = have | future_all
            exact[meta.full_name] = is_exact
        c = counts.get(meta.full_name, {})
        median = _median_seconds(host, meta)
        todo = ready + len(future)
        found = stale.get(meta.full_name)
        result.tables.append(
            TablePlan(
                table=meta.full_name,
                tier=meta.tier,
                done=len(have),
                ready=ready,
                future=len(future),
                reserved=c.get("reserved", 0),
                error=c.get("error", 0),
                ignored=c.get("ignore", 0),
                outdated=len(found.keys) if found is not None else 0,
                median_seconds=median,
                estimate_seconds=None if median is None else median * todo,
                exact=is_exact,
                has_maker=maker is not None,
            )
        )
    return result
