"""The definition of a schema's jobs table (``~jobs``), apart from the SQL that works on it.

``declare()`` creates the jobs tables with the pipeline's tables; this module is all it
needs, so connecting does not load the job store's machinery (:mod:`.jobs`: worker
identity, sockets, key hashing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from relflow_gen.core.lazy import lazy_module
from relflow_gen.core.meta import REQUIRED, Attr, TableMeta
from relflow_gen.core.types import TypeSpec
from relflow_gen.runtime.errors import DeclareError

if TYPE_CHECKING:
    import logging

    from relflow_gen.runtime.engine.connection import Connection
else:  # loaded when something is logged (relflow_gen/core/lazy.py)
    logging = lazy_module("logging")

JOB_STATUSES = ("reserved", "error", "ignore")
#: columns added to the jobs table after its first release: an older table gets them on declare()
ADDED_COLUMNS = ("attempts",)


def jobs_table_meta(schema: str) -> TableMeta:
    def a(name: str, spec: TypeSpec, key: bool = False, nullable: bool = False) -> Attr:
        return Attr(name, spec, key, nullable, None if nullable else REQUIRED, "", f"{schema}.~jobs.{name}")

    return TableMeta(
        schema=schema,
        name="~jobs",
        tier="jobs",
        sql_name="~jobs",
        attributes=(
            a("table_name", TypeSpec("varchar", (255,)), key=True),
            a("key_hash", TypeSpec("char", (32,)), key=True),
            a("status", TypeSpec("enum", JOB_STATUSES)),
            a("key_json", TypeSpec("text")),
            a("error_message", TypeSpec("varchar", (2047,)), nullable=True),
            a("error_stack", TypeSpec("text"), nullable=True),
            a("host", TypeSpec("varchar", (255,))),
            a("pid", TypeSpec("int64")),
            a("connection_id", TypeSpec("int64")),
            a("user", TypeSpec("varchar", (255,))),
            a("token", TypeSpec("char", (32,))),
            a("reserved_at", TypeSpec("datetime", (6,))),
            a("heartbeat", TypeSpec("datetime", (6,))),
            # make() calls of the key: an error's count, or the attempt a reservation is at (NULL: the first)
            a("attempts", TypeSpec("int32"), nullable=True),
        ),
        doc=f"jobs of schema {schema}",
    )


def upgrade_jobs_table(conn: Connection, schema: str) -> list[str]:
    """Add the columns a jobs table made by an older release lacks (:data:`ADDED_COLUMNS`);
    returns their names.  A missing table is left to declare() (it creates the whole table)."""
    meta = jobs_table_meta(schema)
    backend = conn.backend
    existing = backend.existing_columns(conn._cursor, meta)
    if existing is None:
        return []
    have = {c.name for c in existing}
    ref = backend.table_ref(schema, meta.sql_name)
    added: list[str] = []
    for name in ADDED_COLUMNS:
        if name not in have:
            if conn.in_transaction and not backend.transactional_ddl:
                raise DeclareError(
                    f"the jobs table of schema {schema} lacks column `{name}`, and adding it would commit "
                    f"the open transaction on {backend.name}: declare outside a transaction"
                )
            conn.execute(f"ALTER TABLE {ref} ADD COLUMN {backend.column_ddl(meta.by_name[name])}")
            added.append(name)
    if added:
        logging.getLogger("relflow_gen").info(
            "added column(s) %s to the jobs table of schema %s", ", ".join(added), schema
        )
    return added
