"""Issue 10 hardening of inserts and fetches: items 8 and 11 (run on both backends).

- a foreign-key error names the parent(s) actually missing and the values;
- json values nested too deep, and bad json stored by someone else, give
  errors naming table, attribute and key instead of RecursionError / JSONDecodeError.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from runtime_fixtures import pipeline_from

from relflow_gen.core.errors import RelflowError
from relflow_gen.runtime import InsertError, MissingParentError

SCHEMA = """
schema imaging

manual Session {
    subject: varchar(16)
    session_id: int32
}

lookup Indicator {
    indicator: varchar(16)
    contents {
        ("GCaMP6f")
        ("GCaMP8m")
    }
}

manual Scan {
    -> Session
    scan_id: int32
    ---
    -> Indicator
    -> [nullable] Indicator.proj(backup="indicator")
    settings = null: json
}
"""


@pytest.fixture
def db(db_url: str) -> Iterator[Any]:
    p = pipeline_from(SCHEMA, db_url)
    p.Session.insert([{"subject": "m1", "session_id": i} for i in range(3)])
    yield p
    p.close()


# ---------------------------------------------------------------- item 8


def test_missing_parent_names_the_parent_and_values(db: Any) -> None:
    with pytest.raises(MissingParentError) as info:
        db.Scan.insert1({"subject": "m1", "session_id": 1, "scan_id": 1, "indicator": "GCaMP9"})
    text = str(info.value)
    assert "imaging.Indicator" in text and "indicator='GCaMP9'" in text
    assert "imaging.Session" not in text
    with pytest.raises(MissingParentError) as info:
        db.Scan.insert1({"subject": "m2", "session_id": 1, "scan_id": 1, "indicator": "GCaMP6f"})
    text = str(info.value)
    assert "imaging.Session" in text and "subject='m2', session_id=1" in text
    assert "imaging.Indicator" not in text
    # a renamed reference reports its own attribute
    with pytest.raises(MissingParentError, match=r"backup='nope'"):
        db.Scan.insert1({"subject": "m1", "session_id": 1, "scan_id": 1, "indicator": "GCaMP6f", "backup": "nope"})
    assert len(db.Scan) == 0


def test_missing_parent_in_a_large_batch(db: Any) -> None:
    rows = [
        {"subject": "m1", "session_id": i % 3, "scan_id": i, "indicator": "GCaMP6f" if i % 2 else "GCaMP8m"}
        for i in range(3000)
    ]
    rows[1234]["indicator"] = "bad1"
    rows[2345]["session_id"] = 7
    rows[2999]["indicator"] = "bad1"  # the same missing value: reported once, at its first row
    with pytest.raises(MissingParentError) as info:
        db.Scan.insert(rows)
    text = str(info.value)
    assert "no such row in imaging.Indicator: row 1234 (indicator='bad1')" in text
    assert "no such row in imaging.Session: row 2345 (subject='m1', session_id=7)" in text
    assert "row 2999" not in text
    assert len(db.Scan) == 0


# ---------------------------------------------------------------- item 11


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def test_json_nested_too_deep_is_an_insert_error(db: Any) -> None:
    row = {"subject": "m1", "session_id": 0, "scan_id": 1, "indicator": "GCaMP6f"}
    for depth in (5000, 32):
        with pytest.raises(InsertError, match=r"imaging.Scan, row 0, attribute `settings`.*nested") as info:
            db.Scan.insert1({**row, "settings": _nested(depth)})
        assert info.value.__cause__ is None
    # the deepest value MariaDB's json accepts, stored the same on both backends
    deep = {"k": _nested(30), "s": "[[[[" * 20}
    db.Scan.insert1({**row, "settings": deep})
    assert (db.Scan & {"scan_id": 1}).fetch1()["settings"] == deep


def _json_reads(text: str) -> bool:
    """Python 3.11's json gives up on deep nesting (RecursionError); 3.13's reads it."""
    try:
        json.loads(text)
    except RecursionError:
        return False
    return True


DEEP_JSON = "[" * 5000 + "]" * 5000


def test_deep_stored_json_is_read_or_named(db: Any) -> None:
    """JSON nested deeper than an insert accepts, written by another client."""
    db.Scan.insert1({"subject": "m1", "session_id": 0, "scan_id": 5, "indicator": "GCaMP6f", "settings": {"a": 1}})
    conn = db.connection
    ref = db.Scan.sql_ref
    if conn.backend.name == "mysql":
        conn.execute("SET SESSION sql_mode = ''")  # another client, no checks
        conn.execute(f"ALTER TABLE {ref} MODIFY `settings` longtext NULL")
    conn.execute(f"UPDATE {ref} SET {conn.backend.quote('settings')} = {conn.backend.placeholder}", [DEEP_JSON])
    if _json_reads(DEEP_JSON):
        assert json.dumps(db.Scan.fetch1()["settings"], separators=(",", ":")) == DEEP_JSON
    else:
        with pytest.raises(RelflowError, match=r"imaging.Scan.*`settings`.*scan_id=5.*nested too deeply") as info:
            db.Scan.fetch()
        assert not isinstance(info.value, (RecursionError, ValueError))


@pytest.mark.parametrize("stored", ["{not json", "", "NaN-ish"])
def test_bad_stored_json_names_table_attribute_and_key(db: Any, stored: str) -> None:
    db.Scan.insert1({"subject": "m1", "session_id": 0, "scan_id": 5, "indicator": "GCaMP6f", "settings": {"a": 1}})
    conn = db.connection
    backend = conn.backend
    ref = db.Scan.sql_ref
    if backend.name == "mysql":
        conn.execute("SET SESSION sql_mode = ''")  # another client, no checks
        conn.execute(f"ALTER TABLE {ref} MODIFY `settings` longtext NULL")
    conn.execute(f"UPDATE {ref} SET {backend.quote('settings')} = {backend.placeholder}", [stored])
    with pytest.raises(RelflowError, match=r"imaging.Scan.*`settings`.*scan_id=5.*not valid JSON") as info:
        db.Scan.fetch()
    assert not isinstance(info.value, (RecursionError, ValueError))
    with pytest.raises(RelflowError, match="`settings`.*not valid JSON"):
        (db.Scan & {"scan_id": 5}).column("settings")
    with pytest.raises(RelflowError, match="imaging.Scan.*not valid JSON"):
        db.Scan.fetch(format="array")
