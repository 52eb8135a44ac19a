"""Key sources: which keys make() is called for.

The default key source of an imported/computed table is the join of its
primary-key parents (each projected to its key, renamed as the foreign key
says); a maker may return its own from ``key_source()``.  Populate subtracts
the keys already made.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from relflow_gen.core.meta import TableMeta
from relflow_gen.runtime.errors import QueryError

if TYPE_CHECKING:
    from relflow_gen.runtime.populate.host import PopulateHost
    from relflow_gen.runtime.populate.make import Maker
    from relflow_gen.runtime.query.api import Query



def parents_join(pipeline: PopulateHost, meta: TableMeta) -> Query[Any]:
    """The join of a table's primary-key parents, projected to the keys and renamed to the table's names."""
    parts: list[Query[Any]] = []
    for fk in meta.foreign_keys:
        if not fk.in_key:
            continue
        parent = pipeline.table(fk.parent)
        renames = {child: par for child, par in fk.attrs if child != par}
        parts.append(parent.proj(**renames))
    if not parts:
        raise QueryError(f"{meta.full_name} has no primary-key parent, so it has no key source")
    return functools.reduce(lambda a, b: a * b, parts)


def default_key_source(pipeline: PopulateHost, meta: TableMeta) -> Query[Any]:
    """The keys make() is called for: the join of the primary-key parents minus the keys present."""
    return parents_join(pipeline, meta) - pipeline.table(meta.full_name).proj()


def maker_source(pipeline: PopulateHost, meta: TableMeta, maker: Maker[Any, Any] | None) -> Query[Any]:
    custom = maker.key_source() if maker is not None else None
    source = custom if custom is not None else parents_join(pipeline, meta)
    extra = [n for n in source.primary_key if n not in meta.primary_key]
    if extra:
        raise QueryError(
            f"the key source of {meta.full_name} has key attribute(s) {', '.join(extra)} "
            f"that {meta.full_name} does not have in its primary key"
        )
    return source


def maker_instance(pipeline: PopulateHost, meta: TableMeta) -> Maker[Any, Any] | None:
    cls = pipeline.maker_for(meta.full_name)
    return cls(pipeline) if cls is not None else None


def key_source(pipeline: PopulateHost, meta: TableMeta) -> Query[Any]:
    """The keys still to make: the registered maker's key source (or the default) minus the keys done."""
    return maker_source(pipeline, meta, maker_instance(pipeline, meta)) - pipeline.table(meta.full_name).proj()


def progress(pipeline: PopulateHost, meta: TableMeta) -> tuple[int, int]:
    """(keys done, keys in the key source)."""
    source = maker_source(pipeline, meta, maker_instance(pipeline, meta))
    total = len(source)
    remaining = len(source - pipeline.table(meta.full_name).proj())
    return total - remaining, total


def pending_keys(
    pipeline: PopulateHost, meta: TableMeta, maker: Maker[Any, Any] | None, restrictions: Sequence[object]
) -> tuple[list[dict[str, Any]], list[str]]:
    """The keys still to make (in key order) and the names of their attributes (primary-key order)."""
    source = maker_source(pipeline, meta, maker)
    todo = source - pipeline.table(meta.full_name).proj()
    for r in restrictions:
        todo = todo & r
    names = [n for n in meta.primary_key if n in set(source.primary_key)]
    unique: dict[tuple[Any, ...], dict[str, Any]] = {}
    for k in todo.keys(order_by="KEY"):  # a custom key source may repeat keys
        unique.setdefault(tuple(k[n] for n in names), {n: k[n] for n in names})
    return list(unique.values()), names
