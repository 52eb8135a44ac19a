"""Input fingerprints: a digest of the rows a computed row was made from, in SQL.

The fingerprint of a row of an imported/computed table is the digest of the
rows of its direct parents that its foreign keys reference: every attribute,
in heading order; blobs, bytes and uuids by their own digest. Fields are
length-prefixed (``<length>:<text>``, ``-`` for NULL) and each parent row is
marked present (``R``) or missing (``-``), so different inputs never
concatenate to the same text. The same SQL expression computes it when a
result is committed (:class:`InputStamp`, in the commit's transaction) and
when rows are checked (:mod:`.staleness`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from relflow_gen.core.meta import SchemaMeta, TableMeta

if TYPE_CHECKING:
    from relflow_gen.runtime.backends.base import Backend
    from relflow_gen.runtime.engine.connection import Connection

INPUT_HASH = "_input_hash"


def input_fingerprint_sql(backend: Backend, schema: SchemaMeta, meta: TableMeta, outer: str) -> str:
    """SQL for the input fingerprint of the row of ``meta`` whose columns are qualified by ``outer``.

    A foreign key to the table itself is not an input (a hierarchy inside one table).
    """
    q = backend.quote
    rows: list[str] = []
    for i, fk in enumerate(meta.foreign_keys):
        if fk.parent == meta.full_name:
            continue
        parent = schema.by_name[fk.parent]
        alias = f"rf_in{i}"
        fields = [backend.fingerprint_field(a.type, f"{alias}.{q(a.name)}") for a in parent.attributes]
        body = backend.concat_sql(["'R'", *fields])
        on = " AND ".join(f"{alias}.{q(par)} = {outer}.{q(child)}" for child, par in fk.attrs)
        ref = backend.table_ref(parent.schema, parent.sql_name)
        rows.append(f"COALESCE((SELECT {body} FROM {ref} AS {alias} WHERE {on}), '-')")
    return backend.digest_sql(backend.concat_sql(rows)) if rows else "NULL"


class InputStamp:
    """Records the input fingerprint of the rows just written for some make keys (same transaction)."""

    def __init__(self, conn: Connection, schema: SchemaMeta, meta: TableMeta, key_names: Sequence[str]) -> None:
        backend = conn.backend
        q = backend.quote
        ref = backend.table_ref(meta.schema, meta.sql_name)
        self.conn = conn
        self.head = f"UPDATE {ref} SET {q(INPUT_HASH)} = {input_fingerprint_sql(backend, schema, meta, ref)} WHERE "
        self.encoders = [(n, backend.encoder(meta.by_name[n].type)) for n in key_names]
        self.cols = [f"{ref}.{q(n)}" for n in key_names]
        self.per_statement = max(1, min(512, backend.max_params // max(1, len(key_names))))
        self.texts: dict[int, str] = {}

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
