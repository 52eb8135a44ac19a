"""declare(): creates what is missing in dependency order, inserts lookup contents, is
idempotent, and on a table that differs raises DeclareError listing exactly what differs,
having changed nothing.  Every test runs on SQLite and on the throwaway MariaDB."""

from __future__ import annotations

import dataclasses

import pytest
from runtime_support import compiled, databases, open_pipeline, table_names

from relflow_gen.core.meta import TableMeta
from relflow_gen.core.types import TypeSpec
from relflow_gen.runtime import DeclareError, TierError
from relflow_gen.runtime.engine.connection import Connection
from relflow_gen.runtime.pipeline import Pipeline

SRC = """
schema decl

lookup Species {
    species: varchar(32)
    ---
    common_name: varchar(64)
    contents {
        ("mouse", "House mouse")
        ("rat",   "Norway rat")
    }
}

manual Subject {
    subject_id: varchar(16)
    ---
    -> Species
    sex = "U": enum("M", "F", "U")
    weight = null: float64
}

manual Session {
    -> Subject
    session_id: int32
    ---
    session_date: date
    part Trial {
        trial_id: int32
        ---
        outcome: enum("hit", "miss")
    }
}

computed Summary {
    -> Session
    ---
    n_trials: int32
}
"""

META = compiled(SRC)


def ref(conn: Connection, name: str) -> str:
    t = META.by_name[f"decl.{name}"]
    return conn.backend.table_ref(t.schema, t.sql_name)


def col_type(conn: Connection, name: str) -> str:
    b = conn.backend
    return b.normalise_type(b.column_type(TypeSpec(name)))


def test_creates_tables_in_dependency_order(db_url: str) -> None:
    db = open_pipeline(SRC, db_url, declare=False, create=True)
    conn = db.connection
    assert table_names(conn, META) == set()
    report = db.declare()
    created = report.created
    expected = {t.full_name for t in META.tables} | {"decl.~jobs"}
    assert set(created) == expected
    position = {name: i for i, name in enumerate(created)}
    for t in META.tables:
        for fk in t.foreign_keys:
            assert position[fk.parent] < position[t.full_name], (fk.parent, t.full_name)
    assert table_names(conn, META) == {ref(conn, t.name) for t in META.tables} | {
        conn.backend.table_ref("decl", "~jobs")
    }
    assert report.contents_inserted == {"decl.Species": 2}
    assert db.table("Species").fetch(order_by="species") == [
        {"species": "mouse", "common_name": "House mouse"},
        {"species": "rat", "common_name": "Norway rat"},
    ]
    db.close()


def test_declare_is_idempotent(db_url: str) -> None:
    db = open_pipeline(SRC, db_url)
    db.table("Subject").insert1({"subject_id": "m1", "species": "mouse"})
    before = table_names(db.connection, META)
    for _ in range(2):
        report = db.declare()
        assert report.created == []
        assert report.contents_inserted == {}
        assert report.contents_changed == {}
        assert set(report.existing) == {t.full_name for t in META.tables} | {"decl.~jobs"}
    again = open_pipeline(SRC, db.connection.reopen())
    assert table_names(db.connection, META) == before
    assert len(again.table("Species")) == 2
    assert len(again.table("Subject")) == 1
    again.close()
    db.close()


def test_missing_lookup_rows_are_inserted_again(db_url: str) -> None:
    db = open_pipeline(SRC, db_url)
    (db.table("Species") & {"species": "rat"}).delete_quick()
    report = db.declare()
    assert report.contents_inserted == {"decl.Species": 1}
    assert len(db.table("Species")) == 2
    db.close()


def test_changed_lookup_rows_are_reported_then_updated(db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    db = open_pipeline(SRC, db_url)
    db.table("Species").update1({"species": "rat", "common_name": "Brown rat"})
    report = db.declare()
    assert report.contents_changed == {"decl.Species": ["{'species': 'rat'}"]}
    assert "differ from the declared contents" in caplog.text
    assert (db.table("Species") & {"species": "rat"}).fetch1()["common_name"] == "Brown rat"
    db.declare(update_contents=True)
    assert (db.table("Species") & {"species": "rat"}).fetch1()["common_name"] == "Norway rat"
    assert db.declare().contents_changed == {}
    db.close()


# ------------------------------------------------------------------ mismatches


def _recreate(conn: Connection, meta: TableMeta) -> None:
    """Replace a (leaf) table by the table that ``meta`` describes."""
    backend = conn.backend
    conn.execute(backend.drop_table(meta))
    for stmt in backend.create_table(meta, META.by_name):
        conn.execute(stmt)


def _with_attr(meta: TableMeta, name: str, **changes: object) -> TableMeta:
    attrs = tuple(dataclasses.replace(a, **changes) if a.name == name else a for a in meta.attributes)  # type: ignore[arg-type]
    return dataclasses.replace(meta, attributes=attrs)


def _missing_column(conn: Connection) -> tuple[str, list[str]]:
    conn.execute(f"ALTER TABLE {ref(conn, 'Subject')} DROP COLUMN {conn.backend.quote('weight')}")
    return "Subject", [f"missing column `weight` ({col_type(conn, 'float64')})"]


def _extra_column(conn: Connection) -> tuple[str, list[str]]:
    conn.execute(f"ALTER TABLE {ref(conn, 'Subject')} ADD COLUMN {conn.backend.quote('notes')} INTEGER NULL")
    return "Subject", ["column `notes` exists in the database but not in the schema"]


def _other_type(conn: Connection) -> tuple[str, list[str]]:
    meta = META.by_name["decl.Summary"]
    _recreate(conn, _with_attr(meta, "n_trials", type=TypeSpec("float64")))
    return "Summary", [
        f"column `n_trials` is {col_type(conn, 'float64')} in the database, the schema says {col_type(conn, 'int32')}"
    ]


def _other_key(conn: Connection) -> tuple[str, list[str]]:
    meta = META.by_name["decl.Summary"]
    _recreate(conn, _with_attr(meta, "n_trials", in_key=True))
    return "Summary", ["primary key is (subject_id, session_id, n_trials) in the database, the schema says (subject_id, session_id)"]


def _nullability(conn: Connection) -> tuple[str, list[str]]:
    meta = META.by_name["decl.Summary"]
    _recreate(conn, _with_attr(meta, "n_trials", nullable=True, default=None))
    return "Summary", ["column `n_trials` is nullable in the database, the schema says NOT NULL"]


CASES = {
    "missing column": _missing_column,
    "extra column": _extra_column,
    "other type": _other_type,
    "other key": _other_key,
    "nullable": _nullability,
}


@pytest.mark.parametrize("case", list(CASES))
def test_mismatch_is_reported_and_nothing_changes(db_url: str, case: str) -> None:
    db = open_pipeline(SRC, db_url)
    conn = db.connection
    altered, expected = CASES[case](conn)
    # also: a table is missing (it must not be created) and a lookup row is missing (not inserted)
    leaf = "Session.Trial" if altered != "Session.Trial" else "Summary"
    conn.execute(conn.backend.drop_table(META.by_name[f"decl.{leaf}"]))
    (db.table("Species") & {"species": "rat"}).delete_quick()
    tables_before = table_names(conn, META)
    columns_before = conn.backend.existing_columns(conn._cursor, META.by_name[f"decl.{altered}"])

    with pytest.raises(DeclareError) as info:
        open_pipeline(SRC, conn.reopen())
    lines = str(info.value).splitlines()
    assert lines[0] == "the database does not match the schema; nothing was changed:"
    prefix = f"decl.{altered} ({ref(conn, altered)}): "
    assert [line.strip() for line in lines[1:-1]] == [prefix + e for e in expected]
    assert lines[-1] == "(the `diff` command lists the differences and `migrate` applies them: see docs/evolving.md)"

    assert table_names(conn, META) == tables_before
    assert ref(conn, leaf) not in tables_before
    assert conn.backend.existing_columns(conn._cursor, META.by_name[f"decl.{altered}"]) == columns_before
    assert db.table("Species").fetch("species") == [{"species": "mouse"}]
    db.close()


def test_every_difference_of_every_table_is_listed(db_url: str) -> None:
    db = open_pipeline(SRC, db_url)
    conn = db.connection
    _, missing = _missing_column(conn)
    _, extra = _extra_column(conn)
    _, other = _other_type(conn)
    with pytest.raises(DeclareError) as info:
        db.declare()
    text = str(info.value)
    for line in missing + extra + other:
        assert line in text
    assert len(text.splitlines()) == 1 + 3 + 1  # the heading, the differences, the diff/migrate hint
    db.close()


def test_declare_on_a_fresh_server_database(db_url: str) -> None:
    db = open_pipeline(SRC, db_url, declare=False, create=True)
    if db.connection.backend.name == "mysql":
        assert databases(db.connection, META) == set()
    db.declare()
    if db.connection.backend.name == "mysql":
        assert databases(db.connection, META) == {db.connection.backend.database_name("decl")}
    db.close()


def test_mysql_declare_refuses_to_create_inside_a_transaction(db_url: str) -> None:
    db: Pipeline = open_pipeline(SRC, db_url, declare=False, create=True)
    conn = db.connection
    with conn.transaction():
        if conn.backend.transactional_ddl:
            db.declare()  # SQLite: DDL is transactional, declare joins the transaction
        else:
            with pytest.raises(DeclareError, match="inside a transaction"):
                db.declare()
    if conn.backend.transactional_ddl:
        assert len(db.table("Species")) == 2
    db.close()


def test_drop_refuses_inside_a_mysql_transaction(db_url: str) -> None:
    db = open_pipeline(SRC, db_url)
    conn = db.connection
    if conn.backend.transactional_ddl:
        pytest.skip("SQLite drops tables inside transactions")
    with conn.transaction():
        with pytest.raises(TierError, match="inside a transaction"):
            db.table("Summary").drop()
    assert ref(conn, "Summary") in table_names(conn, META)
    db.close()


def test_a_table_written_otherwise_but_equal_is_compared_and_accepted(db_url: str) -> None:
    """SQLite skips the column comparison when a table's stored CREATE TABLE text is the one
    declare runs; a table created with other spacing (by hand, by an older relflow-gen) is
    compared column by column, and a difference there is still reported."""
    db = open_pipeline(SRC, db_url)
    conn = db.connection
    meta = META.by_name["decl.Summary"]
    conn.execute(conn.backend.drop_table(meta))
    for stmt in conn.backend.create_table(meta, META.by_name):
        conn.execute(_one_line(stmt))
    report = open_pipeline(SRC, conn.reopen()).declare()
    assert "decl.Summary" in report.existing and report.created == []

    conn.execute(conn.backend.drop_table(meta))
    for stmt in conn.backend.create_table(_with_attr(meta, "n_trials", nullable=True, default=None), META.by_name):
        conn.execute(_one_line(stmt))
    with pytest.raises(DeclareError, match="column `n_trials` is nullable in the database, the schema says NOT NULL"):
        open_pipeline(SRC, conn.reopen())
    db.close()


def _one_line(stmt: str) -> str:
    """The statement on one line, without its comment line."""
    return " ".join(" ".join(line for line in stmt.splitlines() if not line.startswith("--")).split())
