"""Which referenced rows are missing, after the database refused an insert for a foreign key.

The driver's message names a constraint at best (SQLite's says only
``FOREIGN KEY constraint failed``).  :func:`missing_parents` asks the parent
tables, inside the same transaction, which of the referenced rows do not
exist, so the error names the parent table(s) actually at fault and the values.
It bisects with ``COUNT(*)`` over ``IN`` lists: a handful of queries finds the
bad rows of a batch of thousands.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from relflow_gen.core.meta import FK, TableMeta
from relflow_gen.runtime.errors import DatabaseError

if TYPE_CHECKING:
    from relflow_gen.runtime.engine.connection import Connection

#: the missing references reported per foreign key
SHOWN = 3


def missing_parents(
    conn: Connection,
    meta: TableMeta,
    parents: Mapping[str, TableMeta],
    columns: Sequence[str],
    params: Sequence[tuple[Any, ...]],
) -> list[str] | None:
    """One line per foreign key with missing referenced rows; None when it cannot tell."""
    position = {c: i for i, c in enumerate(columns)}
    lines: list[str] = []
    try:
        for fk in meta.foreign_keys:
            parent = parents.get(fk.parent)
            if parent is None or any(c not in position for c, _ in fk.attrs):
                continue
            first_row: dict[tuple[Any, ...], int] = {}
            idx = [position[c] for c, _ in fk.attrs]
            for row, values in enumerate(params):
                ref = tuple(values[i] for i in idx)
                if any(v is None for v in ref):
                    continue  # a null reference refers to nothing
                try:
                    first_row.setdefault(ref, row)
                except TypeError:  # an unhashable value: cannot tell
                    return None
            absent = _absent(conn, parent, fk, list(first_row))
            if absent:
                lines.append(_describe(fk, absent, first_row, more=len(absent) >= SHOWN))
    except DatabaseError:
        return None
    return lines or None


def _absent(conn: Connection, parent: TableMeta, fk: FK, refs: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Up to SHOWN of ``refs`` (distinct value tuples) that match no row of ``parent``, in order."""
    backend = conn.backend
    table = backend.table_ref(parent.schema, parent.sql_name)
    cols = [backend.quote(p) for _, p in fk.attrs]
    ph = backend.placeholder
    lhs = cols[0] if len(cols) == 1 else "(" + ", ".join(cols) + ")"
    one = ph if len(cols) == 1 else "(" + ", ".join([ph] * len(cols)) + ")"
    step = max(1, backend.max_params // len(cols))
    stack = [refs[i : i + step] for i in range(0, len(refs), step)][::-1]
    found: list[tuple[Any, ...]] = []
    while stack and len(found) < SHOWN:
        chunk = stack.pop()
        sql = f"SELECT COUNT(*) FROM {table} WHERE {lhs} IN ({', '.join([one] * len(chunk))})"
        count = int(conn.scalar(sql, [v for ref in chunk for v in ref]) or 0)
        if count >= len(chunk):  # each reference names one row (a parent's primary key)
            continue
        if len(chunk) == 1:
            found.append(chunk[0])
            continue
        mid = len(chunk) // 2
        stack += [chunk[mid:], chunk[:mid]]
    return found


def _describe(fk: FK, absent: list[tuple[Any, ...]], first_row: Mapping[tuple[Any, ...], int], *, more: bool) -> str:
    shown = [
        f"row {first_row[ref]} ({', '.join(f'{child}={value!r}' for (child, _), value in zip(fk.attrs, ref))})"
        for ref in absent
    ]
    tail = ", ..." if more else ""
    return f"no such row in {fk.parent}: {'; '.join(shown)}{tail}"
