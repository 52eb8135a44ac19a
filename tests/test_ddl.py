"""The DDL files of every example execute on SQLite and MariaDB and create what the IR says.

For every example (and golden case): ``sql/sqlite.sql`` runs on a fresh SQLite
database and ``sql/mysql.sql`` on the throwaway MariaDB server (under a fresh
database-name prefix, ``?prefix=``); introspection then finds every table of
the IR under its DataJoint-style name, with the IR's columns (plus the hidden
provenance columns of imported/computed tables), primary key and foreign keys,
and the ``~jobs`` table of every schema.  The files hold exactly what the
runtime's ``declare()`` creates: the same statements, and the same tables when
declared through the runtime.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlparse

import pymysql
import pytest
from golden.cases import CASE_IDS, CASES, Case, generated

from relflow_gen.compiler.ir import Project
from relflow_gen.compiler.metadata import schema_meta
from relflow_gen.compiler.naming import sql_table_name
from relflow_gen.core.meta import PROVENANCE_COLUMNS, SchemaMeta
from relflow_gen.emit.sql import DIALECTS, SEPARATOR, Dialect, ddl_statements
from relflow_gen.runtime.dynamic import pipeline_class
from relflow_gen.runtime.tables.storage import store_uses


def _stores(meta: SchemaMeta, folder: Path) -> dict[str, str]:
    """A local folder for every object store the schema uses (docs/stores.md)."""
    return {name: (folder / "objects" / name).as_uri() for name in store_uses(meta)}

# table -> (columns in order, primary key in order, foreign keys)
Fk = tuple[str, tuple[str, ...], tuple[str, ...]]  # (parent table, child columns, parent columns)
Shape = dict[str, tuple[tuple[str, ...], tuple[str, ...], frozenset[Fk]]]

JOBS_PK = ("table_name", "key_hash")


def project_of(case: Case) -> Project:
    project = generated(case).project
    assert project is not None
    return project


def expected_shape(project: Project, name: Callable[[str, str], str]) -> Shape:
    """What the IR says the database holds; ``name(schema, sql_name)`` spells a table's name."""
    by_name = {t.full_name: t for t in project.tables()}
    shape: Shape = {}
    for t in project.tables():
        columns = tuple(a.name for a in t.attributes)
        if t.tier.is_auto:
            columns += tuple(c for c, _ in PROVENANCE_COLUMNS)
        fks = frozenset(
            (
                name(by_name[fk.parent].schema, sql_table_name(by_name[fk.parent], by_name)),
                tuple(c for c, _ in fk.attr_map),
                tuple(p for _, p in fk.attr_map),
            )
            for fk in t.foreign_keys
        )
        shape[name(t.schema, sql_table_name(t, by_name))] = (columns, t.primary_key, fks)
    for s in project.schemas:
        shape[name(s.name, "~jobs")] = (_jobs_columns(), JOBS_PK, frozenset())
    return shape


def _jobs_columns() -> tuple[str, ...]:
    from relflow_gen.runtime.populate.jobs import jobs_table_meta

    return jobs_table_meta("x").names


def file_statements(text: str) -> list[str]:
    """The statements of a DDL file: header comment dropped, split on the separator."""
    body = text.split("\n\n", 1)[1]
    assert body.endswith(";\n")
    return body[: -len(";\n")].split(SEPARATOR)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("dialect", DIALECTS)
def test_file_holds_exactly_the_statements_declare_runs(case: Case, dialect: Dialect) -> None:
    meta = schema_meta(project_of(case))
    text = generated(case).files[f"sql/{dialect}.sql"]
    assert file_statements(text) == ddl_statements(meta, dialect)


# ----------------------------------------------------------------------- SQLite


def sqlite_shape(conn: sqlite3.Connection) -> Shape:
    shape: Shape = {}
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    for name in names:
        info = conn.execute(f'PRAGMA table_info("{name}")').fetchall()
        columns = tuple(r[1] for r in info)
        pk = tuple(r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5]))
        groups: dict[int, list[tuple[int, str, str, str]]] = {}
        for r in conn.execute(f'PRAGMA foreign_key_list("{name}")'):
            groups.setdefault(r[0], []).append((r[1], r[2], r[3], r[4]))
        fks = frozenset(
            (rows[0][1], tuple(r[2] for r in rows), tuple(r[3] for r in rows))
            for rows in (sorted(g) for g in groups.values())
        )
        shape[name] = (columns, pk, fks)
    return shape


def _sqlite_name(schema: str, sql_name: str) -> str:
    return f"{schema}.{sql_name}"


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_sqlite_ddl_creates_what_the_ir_says(case: Case, tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "ddl.db")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.executescript(generated(case).files["sql/sqlite.sql"])
    assert sqlite_shape(conn) == expected_shape(project_of(case), _sqlite_name)
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    by_file = set(conn.execute("SELECT type, name, sql FROM sqlite_master"))
    conn.close()

    meta = schema_meta(project_of(case))
    db = pipeline_class(meta)(f"sqlite:///{tmp_path / 'declared.db'}", stores=_stores(meta, tmp_path))
    db.close()
    declared = sqlite3.connect(tmp_path / "declared.db")
    assert set(declared.execute("SELECT type, name, sql FROM sqlite_master")) == by_file
    declared.close()


# ---------------------------------------------------------------------- MariaDB


@pytest.fixture
def mysql(mysql_server_url: str) -> Iterator[tuple[pymysql.connections.Connection, str, str]]:
    """A connection, the server URL and a fresh database-name prefix; its databases are dropped after."""
    u = urlparse(mysql_server_url)
    conn = pymysql.connect(host=u.hostname, port=u.port or 3306, user=u.username or "root", password="", autocommit=True)
    base = f"t{uuid.uuid4().hex[:10]}"
    try:
        yield conn, mysql_server_url, base
    finally:
        with conn.cursor() as cur:
            cur.execute("SET FOREIGN_KEY_CHECKS = 0")  # databases reference each other
            cur.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE %s", (base + "%",))
            for (name,) in cur.fetchall():
                cur.execute(f"DROP DATABASE `{name}`")
        conn.close()


def mysql_shape(conn: pymysql.connections.Connection, prefix: str) -> Shape:
    """Tables of the databases named ``prefix...``, by ``database.table`` without the prefix."""
    like = prefix.replace("_", "\\_") + "%"
    with conn.cursor() as cur:
        cur.execute(
            "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA LIKE %s ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION",
            (like,),
        )
        columns: dict[str, list[str]] = {}
        for db, table, column in cur.fetchall():
            columns.setdefault(f"{db.removeprefix(prefix)}.{table}", []).append(column)
        cur.execute(
            "SELECT TABLE_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_SCHEMA, "
            "REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE "
            "WHERE TABLE_SCHEMA LIKE %s ORDER BY TABLE_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION",
            (like,),
        )
        pks: dict[str, list[str]] = {}
        fk_cols: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
        for db, table, constraint, column, ref_db, ref_table, ref_column in cur.fetchall():
            key = f"{db.removeprefix(prefix)}.{table}"
            if constraint == "PRIMARY":
                pks.setdefault(key, []).append(column)
            elif ref_table is not None:
                parent = f"{ref_db.removeprefix(prefix)}.{ref_table}"
                fk_cols.setdefault((key, constraint), []).append((column, parent, ref_column))
    fks: dict[str, set[Fk]] = {}
    for (key, _), cols in fk_cols.items():
        fks.setdefault(key, set()).add((cols[0][1], tuple(c[0] for c in cols), tuple(c[2] for c in cols)))
    return {k: (tuple(v), tuple(pks.get(k, ())), frozenset(fks.get(k, set()))) for k, v in columns.items()}


@pytest.mark.mysql
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_mysql_ddl_creates_what_the_ir_says(
    case: Case, mysql: tuple[pymysql.connections.Connection, str, str], tmp_path: Path
) -> None:
    conn, url, base = mysql
    project = project_of(case)
    meta = schema_meta(project)
    with conn.cursor() as cur:
        for statement in ddl_statements(meta, "mysql", prefix=f"{base}f_"):
            cur.execute(statement)
    by_file = mysql_shape(conn, f"{base}f_")
    assert by_file == expected_shape(project, _sqlite_name)

    db = pipeline_class(meta)(f"{url}?prefix={base}d_", stores=_stores(meta, tmp_path))
    db.close()
    assert mysql_shape(conn, f"{base}d_") == by_file
