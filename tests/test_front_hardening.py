"""Front end and build hardening (issue 10, items 1-6): what `check` accepts, `build` emits and
the database stores as written."""

from __future__ import annotations

import pytest
from runtime_fixtures import pipeline_from

# ------------------------------------------------------------ string defaults in DDL

DEFAULTS_SRC = r"""schema lit
manual Note {
    note_id: int32
    ---
    backslash = "\\": varchar(20)
    mixed = "a\\'b\\\\c": varchar(20)
    quote = "it's": varchar(20)
    newline = "x\ny": varchar(20)
    kind = "c\\d": enum("a", "c\\d")
}
"""


def test_string_defaults_are_stored_as_written(db_url: str) -> None:
    """A default the database fills in (the column left out of a raw INSERT) reads back unchanged."""
    db = pipeline_from(DEFAULTS_SRC, db_url)
    try:
        table = db.table("lit.Note")
        db.connection.execute(f"INSERT INTO {table.sql_ref} ({db.connection.backend.quote('note_id')}) VALUES (1)")
        row = table.fetch1()
        assert row["backslash"] == "\\"
        assert row["mixed"] == "a\\'b\\\\c"
        assert row["quote"] == "it's"
        assert row["newline"] == "x\ny"
        assert row["kind"] == "c\\d"
        # the enum check accepts the value with its one backslash, inserted as a parameter
        table.insert1({"note_id": 2, "kind": "c\\d"})
        assert table.restrict({"note_id": 2}).fetch1()["kind"] == "c\\d"
    finally:
        db.close()
