"""Staleness: rows made by other code, or from other inputs, than the current ones.

Every imported/computed row records, in hidden provenance columns, the code
fingerprint of the maker that made it (``_make_hash``, :mod:`.fingerprint`)
and the fingerprint of its inputs when it was committed (``_input_hash``): a
digest of the rows of its direct parents that its foreign keys reference
(every attribute, in heading order; blobs and bytes by their own digest).
Fields are self-delimiting and each parent row is marked present or missing,
so different inputs never concatenate to the same text. The digest is
computed in SQL, by the same expression at commit time and when checking
(each row in the encoding it was written in: :mod:`.inputs`), so checking
100k rows is one statement per table, not one per row.

A row is outdated when

* ``code``: its maker's fingerprint differs from the registered maker's;
* ``inputs``: the digest of its parents' rows now differs from the recorded
  one (rows made before input fingerprints were recorded have none and are
  not reported for this reason);
* ``upstream``: a row it was made from (through a foreign key, or its master
  for a part) is outdated.

:func:`outdated` gives, per table, a query of the outdated rows (composable
with the algebra) and the reasons; :func:`refresh` deletes them with their
dependents and makes them again.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from relflow_gen.core.meta import SchemaMeta
from relflow_gen.runtime.errors import TierError
from relflow_gen.runtime.populate.fingerprint import code_fingerprint
from relflow_gen.runtime.populate.inputs import inputs_changed_sql
from relflow_gen.runtime.populate.jobs import make_key_names
from relflow_gen.runtime.populate.run import PopulateReport, populate
from relflow_gen.runtime.query import expr

if TYPE_CHECKING:
    from relflow_gen.runtime.populate.host import PopulateHost
    from relflow_gen.runtime.tables.table import Table

MAKE_HASH = "_make_hash"


# ------------------------------------------------------------------ outdated rows


Key = tuple[Any, ...]  # primary-key values in primary-key order


@dataclass
class Outdated:
    """The outdated rows of one table: their keys by reason, and a query of them."""

    table: Table[Any, Any, Any]
    reasons: dict[str, set[Key]] = field(default_factory=dict)

    @property
    def keys(self) -> set[Key]:
        out: set[Key] = set()
        for keys in self.reasons.values():
            out |= keys
        return out

    @property
    def query(self) -> Table[Any, Any, Any]:
        """The outdated rows as a restriction of the table (composes with the algebra)."""
        pk = self.table.primary_key
        return self.table & [dict(zip(pk, k)) for k in sorted(self.keys, key=repr)]

    def counts(self) -> dict[str, int]:
        return {reason: len(keys) for reason, keys in self.reasons.items()}

    def rows(self) -> list[dict[str, Any]]:
        """The primary key of each outdated row with the list of its reasons."""
        pk = self.table.primary_key
        out = []
        for key in sorted(self.keys, key=repr):
            reasons = [reason for reason, keys in self.reasons.items() if key in keys]
            out.append({**dict(zip(pk, key)), "reasons": reasons})
        return out


def _base_alias(table: Table[Any, Any, Any]) -> str:
    return table._base.sources[0].alias


def code_outdated(table: Table[Any, Any, Any], fingerprint: str) -> Table[Any, Any, Any]:
    """Rows of ``table`` made by code whose fingerprint is not ``fingerprint``."""
    backend = table.connection.backend
    col = f"{_base_alias(table)}.{backend.quote(MAKE_HASH)}"
    cond = f"({col} IS NULL OR {col} <> {backend.placeholder})"
    return table._derive(expr.restrict(backend, table._select, cond, (fingerprint,)))


def inputs_outdated(table: Table[Any, Any, Any], schema: SchemaMeta) -> Table[Any, Any, Any]:
    """Rows of ``table`` whose parents' rows changed since they were made."""
    backend = table.connection.backend
    cond = inputs_changed_sql(backend, schema, table.meta, _base_alias(table))
    return table._derive(expr.restrict(backend, table._select, cond, ()))


def _keys(query: Table[Any, Any, Any]) -> set[Key]:
    pk = query.primary_key
    return {tuple(k[n] for n in pk) for k in query.keys()}


def _derived_from(table: Table[Any, Any, Any], attrs: Sequence[tuple[str, str]], parent_pk: Sequence[str], bad: set[Key]) -> set[Key]:
    """Keys of the rows of ``table`` whose foreign key (``attrs``: child, parent) points at a key in ``bad``."""
    child_of = dict((par, child) for child, par in attrs)
    cols = [child_of[n] for n in parent_pk]
    pk = table.primary_key
    extra = [c for c in cols if c not in pk]
    out: set[Key] = set()
    for row in (table.proj(*extra) if extra else table.proj()).fetch():
        if tuple(row[c] for c in cols) in bad:
            out.add(tuple(row[n] for n in pk))
    return out


def outdated(
    host: PopulateHost,
    tables: Sequence[str] | None = None,
    *,
    code: bool = True,
    inputs: bool = True,
) -> dict[str, Outdated]:
    """The outdated rows of every imported/computed table (and their parts), in dependency order.

    ``tables`` limits the result to these tables (the reasons still come from
    upstream); ``code`` / ``inputs`` choose the reasons checked (``upstream``
    follows from them). Code is compared for tables with a registered maker.
    The rows outdated for their own reasons are found in SQL, one statement per
    table and reason; the rows made from them are found table by table
    downstream, only where there is something to follow.
    """
    schema = host.meta
    found: dict[str, Outdated] = {}
    for meta in schema.tables:
        if not (meta.is_auto or (meta.is_part and meta.master and schema.by_name[meta.master].is_auto)):
            continue
        table = host.table(meta.full_name)
        entry = Outdated(table)
        if meta.is_auto:
            maker = host.maker_for(meta.full_name)
            if code and maker is not None:
                entry.reasons["code"] = _keys(code_outdated(table, code_fingerprint(maker)))
            if inputs:
                entry.reasons["inputs"] = _keys(inputs_outdated(table, schema))
        for fk in meta.foreign_keys:
            parent = found.get(fk.parent)
            if parent is None or fk.parent == meta.full_name:
                continue
            bad = parent.keys
            name = "master" if fk.is_master else f"upstream {fk.parent}"
            entry.reasons[name] = _derived_from(table, fk.attrs, schema.by_name[fk.parent].primary_key, bad) if bad else set()
        if entry.reasons:
            found[meta.full_name] = entry
    if tables is None:
        return found
    wanted = {host.table(t).full_name for t in tables}
    for name in wanted:
        if not schema.by_name[name].is_auto:
            raise TierError(f"{name} is a {schema.by_name[name].tier} table; only imported and computed rows go out of date")
    return {name: o for name, o in found.items() if name in wanted}


# ------------------------------------------------------------------ refresh


@dataclass
class RefreshPlan:
    """What refresh deletes (outdated rows and their dependents) and makes again."""

    counts: dict[str, int] = field(default_factory=dict)  # table -> rows to delete (cascade included)
    keys: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # auto table -> make keys to make again


def refresh_plan(
    host: PopulateHost,
    found: Mapping[str, Outdated],
    *,
    delete_from: Collection[str] | None = None,
    make_again: Collection[str] | None = None,
) -> RefreshPlan:
    """What refresh would do: the rows deleted from ``delete_from`` with their dependents (dry-run
    counts of the cascade) and the keys made again in ``make_again`` (all outdated tables by default)."""
    plan = RefreshPlan()
    deleting = set(found if delete_from is None else delete_from)
    making = set(found if make_again is None else make_again)
    for name, out in found.items():
        meta = host.meta.by_name[name]
        if not meta.is_auto or name not in making:
            continue
        names = make_key_names(meta) or list(meta.primary_key)
        pk = out.table.primary_key
        keys = {}
        for key in out.keys:
            row = dict(zip(pk, key))
            keys[tuple(row[n] for n in names)] = {n: row[n] for n in names}
        if keys:
            plan.keys[name] = list(keys.values())
    counts: dict[str, int] = {}
    for name, out in found.items():
        if name in deleting and host.meta.by_name[name].is_auto and out.keys:
            for table, n in out.query.delete(dry_run=True).items():
                counts[table] = max(counts.get(table, 0), n)
    plan.counts = {t.full_name: counts[t.full_name] for t in host.meta.tables if counts.get(t.full_name)}
    return plan


def refresh(
    host: PopulateHost,
    tables: Sequence[str] | None = None,
    *,
    code: bool = True,
    inputs: bool = True,
    dry_run: bool = False,
    reserve_jobs: bool = False,
    processes: int = 1,
    suppress_errors: bool = False,
    display_progress: bool = False,
) -> tuple[RefreshPlan, PopulateReport | None]:
    """Delete the outdated rows of ``tables`` (all when None) with their dependents, then make them again.

    Returns the plan (rows deleted per table, keys made again per table) and the
    populate report (None with ``dry_run``, which changes nothing).
    """
    found = outdated(host, code=code, inputs=inputs)
    schema = host.meta
    if tables is None:
        chosen = [name for name in found if schema.by_name[name].is_auto]  # parts go with their masters
    else:
        chosen = [host.table(t).full_name for t in tables]
    for name in chosen:
        if not schema.by_name[name].is_auto:
            raise TierError(f"{name} is a {schema.by_name[name].tier} table; only imported and computed rows are refreshed")
    affected = set(chosen)
    for name in chosen:
        affected |= {t.full_name for t in schema.descendants(name) if t.is_auto}
    plan = refresh_plan(host, found, delete_from=chosen, make_again=affected)
    if dry_run:
        return plan, None
    for meta in schema.tables:  # upstream first: its cascade takes the rows downstream along
        if meta.full_name in chosen and meta.full_name in found and found[meta.full_name].keys:
            found[meta.full_name].query.delete()
    report = PopulateReport("refresh")
    for meta in schema.tables:
        keys = plan.keys.get(meta.full_name)
        if not keys or meta.full_name not in affected:
            continue
        if host.maker_for(meta.full_name) is None:
            report.no_maker.append(meta.full_name)
            continue
        report.add(
            populate(
                host,
                meta.full_name,
                keys,
                reserve_jobs=reserve_jobs,
                processes=processes,
                suppress_errors=suppress_errors,
                display_progress=display_progress,
            )
        )
    return plan, report
