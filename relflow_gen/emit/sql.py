"""The DDL files of the generated package: ``sql/mysql.sql`` and ``sql/sqlite.sql``.

The statements come from the runtime backends themselves
(``Backend.create_database`` / ``Backend.create_table``), instantiated without a
connection, over the same :class:`~relflow_gen.core.meta.SchemaMeta` the
package carries, so the files hold exactly what ``declare()`` runs on an empty
database: the databases (MySQL), every table in dependency order, then the
``~jobs`` table of every schema.  Lookup contents are not part of the files
(``declare()`` inserts them with bound parameters).

Each statement ends with ``;`` and statements are separated by an empty line,
so ``text.split(";\\n\\n")`` splits a file into statements.
"""

from __future__ import annotations

from typing import Literal

from relflow_gen.core.meta import SchemaMeta
from relflow_gen.runtime.backends.base import Backend, ConnectionParams
from relflow_gen.runtime.backends.mysql import MySQLBackend
from relflow_gen.runtime.backends.sqlite import SQLiteBackend
from relflow_gen.runtime.populate.jobs import jobs_table_meta

Dialect = Literal["mysql", "sqlite"]
DIALECTS: tuple[Dialect, ...] = ("mysql", "sqlite")
SEPARATOR = ";\n\n"


def backend(dialect: Dialect, prefix: str = "") -> Backend:
    """A backend of ``dialect`` that spells DDL but never connects.

    ``prefix`` is the MySQL database-name prefix (the ``?prefix=`` URL option).
    """
    options = (("prefix", prefix),) if prefix else ()
    params = ConnectionParams(dialect, options=options)
    if dialect == "sqlite":
        return SQLiteBackend(params)
    return MySQLBackend(params)


def ddl_statements(meta: SchemaMeta, dialect: Dialect, prefix: str = "") -> list[str]:
    """Every statement ``declare()`` runs to create the schema on an empty database."""
    b = backend(dialect, prefix)
    tables = list(meta.tables) + [jobs_table_meta(s) for s in meta.schemas]
    by_name = {t.full_name: t for t in tables}
    out: list[str] = []
    for schema in meta.schemas:
        out.extend(b.create_database(schema))
    for t in tables:
        out.extend(b.create_table(t, by_name))
    return out


def ddl_text(meta: SchemaMeta, dialect: Dialect, header: str, prefix: str = "") -> str:
    """The text of ``sql/<dialect>.sql``: the header, then the statements."""
    head = f"-- {header}\n-- {_about(dialect)}\n\n"
    return head + SEPARATOR.join(ddl_statements(meta, dialect, prefix)) + ";\n"


def _about(dialect: Dialect) -> str:
    if dialect == "mysql":
        return "MySQL/MariaDB DDL: one database per schema; the statements declare() runs on an empty server."
    return "SQLite DDL: all schemas in one file; the statements declare() runs on an empty database."
