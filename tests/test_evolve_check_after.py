"""``migrate``'s fixed cost and its check after, on both backends (docs/evolving.md, "How it is applied").

* the catalogue (``information_schema`` or ``sqlite_master``) is read once before the plan and
  once after, and the statements after the change name only the table the plan changed;
* ``diff(only=...)`` compares only the named tables, including a table only in the database;
* the check after still catches a changed table that does not match the schema.
"""

from __future__ import annotations

from typing import Any

import pytest
from runtime_support import open_pipeline
from test_evolve import BASE, base_db, changed, extra

from relflow_gen.runtime import evolve
from relflow_gen.runtime.errors import MigrateError

ADDED = changed("    legacy = null: int32\n", "    legacy = null: int32\n    note = null: varchar(5)\n")
NEW_TABLE = BASE + "\nmanual Extra {\n    extra_id: int32\n    ---\n    label = null: varchar(8)\n}\n"


class Recording:
    """A cursor that records each statement (and its parameters) before running it."""

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor
        self.sent: list[tuple[str, Any]] = []

    def execute(self, sql: str, *args: Any) -> Any:
        self.sent.append((sql, args[0] if args else None))
        return self.cursor.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cursor, name)


def catalogue_reads(sent: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [(sql, params) for sql, params in sent if "information_schema" in sql or "sqlite_master" in sql]


def mentioned(sent: list[tuple[str, Any]]) -> set[str]:
    """The table names statements name: their parameters, and the argument of a PRAGMA."""
    out = {str(v) for _, params in sent for v in params or ()}
    out |= {sql[sql.index("(") + 1 : sql.rindex(")")] for sql, _ in sent if sql.startswith("PRAGMA") and "(" in sql}
    return out


def test_migrate_reads_the_catalogue_once_before_and_only_the_changed_table_after(db_url: str) -> None:
    base_db(db_url).close()
    db = open_pipeline(ADDED, db_url, declare=False)
    conn = db.connection
    recording = Recording(conn._cursor)
    conn._cursor = recording
    try:
        p = evolve.migrate(db, extra(db))
    finally:
        conn._cursor = recording.cursor
    assert [c.code for c in p.applied] == ["add_column"]
    reads = catalogue_reads(recording.sent)
    assert len(reads) == 2, reads
    alter = next(i for i, (sql, _) in enumerate(recording.sent) if sql.startswith("ALTER TABLE"))
    after = mentioned(recording.sent[alter + 1 :])
    subject = db.meta.by_name["evo.Subject"].sql_name
    others = {t.sql_name for t in list(db.meta.tables) + extra(db)} - {subject}
    assert any(subject in name for name in after), after
    assert not any(o in name for o in others for name in after), after
    assert not evolve.diff(db, extra(db))
    assert [(r["subject_id"], r["name"], r["note"]) for r in db.table("Subject").fetch(order_by="subject_id")] == [
        (1, "short", None),
        (2, "a much longer name", None),
    ]
    db.close()


def test_diff_only_compares_the_named_tables(db_url: str) -> None:
    base_db(db_url).close()
    db = open_pipeline(changed("computed Stat", "computed Gone", ADDED), db_url, declare=False)
    full = evolve.diff(db, extra(db))
    dropped = next(c.table for c in full.changes if c.code == "drop_table")
    assert set(full.tables()) == {"evo.Subject", "evo.Gone", dropped}
    only_subject = evolve.diff(db, extra(db), only={"evo.Subject"})
    assert [(c.table, c.code, c.column) for c in only_subject.changes] == [("evo.Subject", "add_column", "note")]
    assert [c.code for c in evolve.diff(db, extra(db), only={dropped}).changes] == ["drop_table"]
    assert [c.code for c in evolve.diff(db, extra(db), only={"evo.Gone"}).changes] == ["new_table"]
    assert not evolve.diff(db, extra(db), only={"evo.Kind", "evo.~jobs"})
    assert not evolve.diff(db, extra(db), only=set())
    evolve.migrate(db, extra(db), allow_drop=True)
    assert not evolve.diff(db, extra(db))
    assert not evolve.diff(db, extra(db), only={dropped, "evo.Gone", "evo.Subject"})
    db.close()


def test_the_check_after_catches_a_changed_table_that_still_differs(db_url: str) -> None:
    base_db(db_url).close()
    db = open_pipeline(NEW_TABLE.replace(BASE, ADDED), db_url, declare=False)
    p = evolve.plan(db, extra(db))
    assert {c.code for c in p.applied} == {"add_column", "new_table"}
    # the plan without its ALTER TABLE: the new table is made, Subject keeps its old columns
    p.statements = [s for s in p.statements if not s.startswith("ALTER TABLE")]
    with pytest.raises(MigrateError, match=r"still differs from the schema:\nevo.Subject:\n  SAFE  new attribute `note`"):
        evolve.apply(db, p, extra(db))
    assert [c.table for c in evolve.diff(db, extra(db)).changes] == ["evo.Subject"]
    db.close()


def test_a_catalogue_read_of_named_tables_across_schemas(db_url: str) -> None:
    db = base_db(db_url)
    conn = db.connection
    b = conn.backend
    subject, stat = (db.meta.by_name[n] for n in ("evo.Subject", "evo.Stat"))
    named = [("evo", subject.sql_name), ("evo", stat.sql_name), ("nowhere", "nothing")]
    with b.introspecting(conn._cursor, [], named):
        assert b.table_names(conn._cursor, "evo") == {subject.sql_name, stat.sql_name}
        assert b.table_names(conn._cursor, "nowhere") == set()
        columns = b.existing_columns(conn._cursor, subject)
        assert columns is not None and [c.name for c in columns][:2] == ["subject_id", "name"]
        assert [f.columns for f in b.existing_foreign_keys(conn._cursor, subject)] == [("kind",)]
    with b.introspecting(conn._cursor, [], named[:1]):
        assert b.table_names(conn._cursor, "evo") == {subject.sql_name}
        assert b.existing_columns(conn._cursor, stat) is not None  # not read in the block: asked directly
    db.close()
