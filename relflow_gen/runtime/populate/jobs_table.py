"""The definition of a schema's jobs table (``~jobs``), apart from the SQL that works on it.

``declare()`` creates the jobs tables with the pipeline's tables; this module is all it
needs, so connecting does not load the job store's machinery (:mod:`.jobs`: worker
identity, sockets, key hashing).
"""

from __future__ import annotations

from relflow_gen.core.meta import REQUIRED, Attr, TableMeta
from relflow_gen.core.types import TypeSpec

JOB_STATUSES = ("reserved", "error", "ignore")


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
        ),
        doc=f"jobs of schema {schema}",
    )
