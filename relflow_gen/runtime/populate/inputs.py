"""Input fingerprints: a digest of the rows a computed row was made from, in SQL.

The fingerprint of a row of an imported/computed table is the digest of the
rows of its direct parents that its foreign keys reference: every attribute,
in heading order; blobs and bytes by their own digest. Each field is
self-delimiting and each parent row is marked present or missing (``-``), so
different inputs never concatenate to the same text. The same SQL expression
computes it when a result is committed (:class:`InputStamp`, in the commit's
transaction: inside the INSERT where the backend can, else one UPDATE per
commit) and when rows are checked (:mod:`.staleness`).

Encodings are numbered per backend (its ``input_fingerprint_version`` is the
one written now). Encoding 1 (both backends): per parent row ``R`` then
``<length>:<text>`` per field (``-`` for NULL), digested to 32 hex digits
(sha256). SQLite's encoding 2: per parent row its fields as ``quote()`` writes
them (exact for REAL, which a cast to text rounds to 15 digits; text quoted
with ``''`` inside; ``NULL``) separated by ``,``, parent rows separated by
``;``; stored as ``v2`` and 30 hex digits (BLAKE2b). MariaDB's encoding 2:
encoding 1 with float32 values widened to double (a float is written with 6
digits); ``v2`` and 30 hex digits (sha256). A fingerprint of encoding n >= 2
begins with ``v<n>``, so every row is checked in the encoding it was written
in: rows written before a new encoding are not reported as outdated for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from relflow_gen.core.meta import SchemaMeta, TableMeta

if TYPE_CHECKING:
    from relflow_gen.runtime.backends.base import Backend, Computed
    from relflow_gen.runtime.engine.connection import Connection

INPUT_HASH = "_input_hash"


def _inputs(schema: SchemaMeta, meta: TableMeta) -> list[tuple[int, TableMeta, list[tuple[str, str]]]]:
    """The foreign keys that are inputs: (index, parent, (child column, parent column) pairs).

    A foreign key to the table itself is not an input (a hierarchy inside one table).
    """
    return [
        (i, schema.by_name[fk.parent], list(fk.attrs))
        for i, fk in enumerate(meta.foreign_keys)
        if fk.parent != meta.full_name
    ]


def input_fingerprint_sql(
    backend: Backend,
    schema: SchemaMeta,
    meta: TableMeta,
    outer: str | Callable[[str], str],
    version: int | None = None,
) -> str:
    """SQL for the input fingerprint of a row of ``meta``, in encoding ``version`` (the backend's current one).

    ``outer`` qualifies the row's columns (``outer.column``), or gives the SQL of a column by its name.
    """
    q = backend.quote
    version = backend.input_fingerprint_version if version is None else version
    column = outer if callable(outer) else (lambda name: f"{outer}.{q(name)}")
    rows: list[str] = []
    for i, parent, attrs in _inputs(schema, meta):
        alias = f"rf_in{i}"
        body = backend.fingerprint_row([(a.type, f"{alias}.{q(a.name)}") for a in parent.attributes], version)
        on = " AND ".join(f"{alias}.{q(par)} = {column(child)}" for child, par in attrs)
        ref = backend.table_ref(parent.schema, parent.sql_name)
        rows.append(f"COALESCE((SELECT {body} FROM {ref} AS {alias} WHERE {on}), '-')")
    return backend.fingerprint_digest(rows, version) if rows else "NULL"


def version_marker(version: int) -> str:
    """How a stored fingerprint of encoding ``version`` (>= 2) begins."""
    return f"v{version}"


def inputs_changed_sql(backend: Backend, schema: SchemaMeta, meta: TableMeta, outer: str) -> str:
    """A condition true for the rows (columns qualified by ``outer``) whose recorded input fingerprint
    differs from their inputs now, each compared in the encoding it was written in; rows without one
    are never true."""
    col = f"{outer}.{backend.quote(INPUT_HASH)}"
    now = input_fingerprint_sql(backend, schema, meta, outer, 1)
    newer = range(2, backend.input_fingerprint_version + 1)
    if newer:
        whens = []
        for v in reversed(newer):
            marker = version_marker(v)
            when = f"SUBSTR({col}, 1, {len(marker)}) = '{marker}'"
            whens.append(f"WHEN {when} THEN {input_fingerprint_sql(backend, schema, meta, outer, v)}")
        now = f"CASE {' '.join(whens)} ELSE {now} END"
    return f"({col} IS NOT NULL AND {col} <> {now})"


class InputStamp:
    """Records the input fingerprint of the rows of one table written for some make keys (same transaction).

    Where the backend can, the INSERT of the rows computes it (:meth:`computed`): each row is
    written once. Otherwise (or when the rows lack a foreign-key column) one UPDATE per commit
    sets it for the rows of the keys just written (:meth:`__call__`).
    """

    def __init__(self, conn: Connection, schema: SchemaMeta, meta: TableMeta, key_names: Sequence[str]) -> None:
        backend = conn.backend
        q = backend.quote
        ref = backend.table_ref(meta.schema, meta.sql_name)
        self.conn = conn
        self.schema = schema
        self.meta = meta
        self.head = f"UPDATE {ref} SET {q(INPUT_HASH)} = {input_fingerprint_sql(backend, schema, meta, ref)} WHERE "
        self.encoders = [(n, backend.encoder(meta.by_name[n].type)) for n in key_names]
        self.cols = [f"{ref}.{q(n)}" for n in key_names]
        self.per_statement = max(1, min(512, backend.max_params // max(1, len(key_names))))
        self.texts: dict[int, str] = {}
        self.inserts: dict[tuple[str, ...], tuple[Computed, ...] | None] = {}

    def computed(self, columns: Sequence[str]) -> tuple[Computed, ...] | None:
        """The fingerprint as a column the INSERT of rows with ``columns`` computes from each row's
        own values; None when it cannot (then call the stamp once the rows are written)."""
        key = tuple(columns)
        if key not in self.inserts:
            self.inserts[key] = self._computed(key)
        return self.inserts[key]

    def _computed(self, columns: tuple[str, ...]) -> tuple[Computed, ...] | None:
        backend = self.conn.backend
        if not backend.insert_computes:
            return None
        position = {c: i for i, c in enumerate(columns)}
        needed = {child for _, _, attrs in _inputs(self.schema, self.meta) for child, _ in attrs}
        if not needed <= position.keys() or INPUT_HASH in position:
            return None  # a column left to its default: its value is known only once written
        # the SQL with a mark around each reference to the row's values, then cut at the marks
        sql = input_fingerprint_sql(backend, self.schema, self.meta, lambda name: f"\0{position[name]}\0")
        pieces: list[str | int] = [int(p) if i % 2 else p for i, p in enumerate(sql.split("\0"))]
        return ((INPUT_HASH, tuple(p for p in pieces if p != "")),)

    def __call__(self, keys: Sequence[Mapping[str, Any]]) -> None:
        for start in range(0, len(keys), self.per_statement):
            chunk = list(keys[start : start + self.per_statement])
            # pad to a power of two (repeating the last key) so that few statement texts exist:
            # the driver's statement cache then prepares each of them once
            size = min(self.per_statement, 1 << (len(chunk) - 1).bit_length())
            chunk += [chunk[-1]] * (size - len(chunk))
            sql = self.texts.get(size)
            if sql is None:
                sql = self.texts[size] = self.head + self.conn.backend.keys_in_sql(self.cols, size)
            params = [k[n] if enc is None else enc(k[n]) for k in chunk for n, enc in self.encoders]
            self.conn.execute(sql, params)
