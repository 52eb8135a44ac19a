"""insert / insert1 / fetch / update1 of the runtime core, on SQLite and on the throwaway MariaDB.

Validation happens before any SQL and names the table, the row and the attribute; a batch is
atomic whether a row is refused by validation or by the database; previews, frames and the
fetch options behave the same on both backends.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from runtime_support import open_pipeline

from relflow_gen.runtime import (
    DuplicateError,
    FetchOneError,
    InsertError,
    MissingParentError,
    QueryError,
    TierError,
)
from relflow_gen.runtime.pipeline import Pipeline

SRC = """
schema core

lookup Kind {
    kind: varchar(8)
    ---
    label = "": varchar(32)
    contents {
        ("a", "first kind")
        ("b", "second kind")
    }
}

manual Item {
    item_id: int16
    ---
    -> Kind
    name: varchar(5)
    grade = "x": enum("x", "y")
    weight: float64
    born = null: date
    note = null: varchar(20)
    made = CURRENT_TIMESTAMP: timestamp
}

manual Doc {
    doc_id: int32
    ---
    body: text
}

manual Box {
    box_id: int32
    ---
    label: varchar(10)
    part Slot {
        slot_id: int32
        ---
        content = null: varchar(10)
    }
}

imported Measured {
    -> Item
    ---
    value: float64
    part Sample {
        sample_id: int32
        ---
        x: float32
    }
}

computed Derived {
    -> Measured
    ---
    total: float64
}
"""

OK: dict[str, Any] = {"item_id": 1, "kind": "a", "name": "n", "weight": 1.0}


@pytest.fixture
def db(db_url: str) -> Iterator[Pipeline]:
    pipeline = open_pipeline(SRC, db_url)
    yield pipeline
    pipeline.close()


def row(**changes: Any) -> dict[str, Any]:
    out = dict(OK)
    out.update(changes)
    return out


def without(name: str) -> dict[str, Any]:
    return {k: v for k, v in OK.items() if k != name}


# ------------------------------------------------------------------ validation before SQL

BAD_ROWS: dict[str, tuple[dict[str, Any], str, str]] = {
    "unknown field": (row(colour="red"), "colour", "is not an attribute of the table"),
    "missing required field": (without("name"), "name", "is required (no default) but missing"),
    "missing foreign key": (without("kind"), "kind", "is required"),
    "string for int": (row(item_id="7"), "item_id", "expected an integer for int16"),
    "float for int": (row(item_id=7.0), "item_id", "expected an integer"),
    "bool for int": (row(item_id=True), "item_id", "expected an integer"),
    "int out of range": (row(item_id=40000), "item_id", "out of range for int16 (-32768..32767)"),
    "int below range": (row(item_id=-32769), "item_id", "out of range"),
    "enum value not allowed": (row(grade="z"), "grade", "is not one of 'x', 'y'"),
    "enum wrong type": (row(grade=1), "grade", "expected one of 'x', 'y'"),
    "string too long": (row(name="toolong"), "name", "is 7 characters long; varchar(5) allows 5"),
    "string wrong type": (row(name=b"abc"), "name", "expected a string"),
    "None in non-nullable": (row(name=None), "name", "is None but the attribute is not nullable"),
    "NaN in non-nullable float": (row(weight=math.nan), "weight", "NaN is not allowed"),
    "infinite float": (row(weight=math.inf), "weight", "infinite values cannot be stored"),
    "string for float": (row(weight="1.5"), "weight", "expected a number"),
    "bad date string": (row(born="2020-13-01"), "born", "month must be in 1..12"),
    "not a date string": (row(born="yesterday"), "born", "Invalid isoformat"),
    "datetime for date": (row(born=dt.datetime(2020, 1, 1)), "born", "expected a date, not a datetime"),
    "int for date": (row(born=20200101), "born", "expected a datetime.date"),
    "timestamp out of range": (row(made=dt.datetime(1969, 12, 31)), "made", "outside the timestamp range"),
    "aware datetime": (row(made=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)), "made", "timezone-aware"),
}


@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_bad_row_is_refused_before_sql(db: Pipeline, case: str) -> None:
    bad, field, message = BAD_ROWS[case]
    items = db.table("Item")
    good = row(item_id=100)
    if "made" in bad:
        good["made"] = dt.datetime(2020, 1, 1)
    with pytest.raises(InsertError) as info:
        items.insert([good, bad])
    exc = info.value
    assert (exc.table, exc.index, exc.field) == ("core.Item", 1, field)
    assert message in str(exc)
    assert str(exc).startswith(f"core.Item, row 1, attribute `{field}`: ")
    assert len(items) == 0
    with pytest.raises(InsertError) as info:
        items.insert1(bad)
    assert (info.value.index, info.value.field) == (0, field)
    assert len(items) == 0


def test_database_refusal_in_the_middle_inserts_nothing(db: Pipeline) -> None:
    items = db.table("Item")
    items.insert1(row(item_id=5))
    with pytest.raises(MissingParentError, match="core.Item: a referenced row does not exist"):
        items.insert([row(item_id=10), row(item_id=11, kind="zzz"), row(item_id=12)])
    with pytest.raises(DuplicateError, match="core.Item: a row with this primary key already exists"):
        items.insert([row(item_id=10), row(item_id=5), row(item_id=12)])
    with pytest.raises(DuplicateError):  # duplicates within the batch
        items.insert([row(item_id=20), row(item_id=21), row(item_id=20)])
    assert items.fetch("item_id") == [{"item_id": 5}]


def test_large_batches_span_statements_atomically(db: Pipeline) -> None:
    docs = db.table("Doc")
    body = "é" * 200  # 400 bytes per row in UTF-8
    n = 20_000  # 40 000 parameters (> SQLite's 32 766) and ~8 MB of SQL (more than one MySQL statement)
    rows = [{"doc_id": i, "body": body} for i in range(n)]
    rows.append({"doc_id": 17, "body": "duplicate at the very end"})
    with pytest.raises(DuplicateError):
        docs.insert(rows)
    assert len(docs) == 0
    assert docs.insert(rows[:-1]) == n
    assert len(docs) == n
    assert (docs & {"doc_id": n - 1}).fetch1()["body"] == body


def test_insert_returns_the_number_of_rows_and_accepts_iterables(db: Pipeline) -> None:
    items = db.table("Item")
    assert items.insert([]) == 0
    assert items.insert(row(item_id=i) for i in range(3)) == 3
    assert len(items) == 3


def test_insert_refuses_a_single_dict_and_non_mappings(db: Pipeline) -> None:
    items = db.table("Item")
    with pytest.raises(InsertError, match="use insert1"):
        items.insert(row())
    with pytest.raises(InsertError, match="row 1.*rows are dicts"):
        items.insert([row(), (1, "a")])


def test_skip_duplicates_keeps_existing_rows(db: Pipeline) -> None:
    items = db.table("Item")
    items.insert1(row(item_id=1, name="old"))
    items.insert([row(item_id=1, name="new"), row(item_id=2, name="two")], skip_duplicates=True)
    assert items.fetch("item_id", "name", order_by="item_id") == [
        {"item_id": 1, "name": "old"},
        {"item_id": 2, "name": "two"},
    ]
    items.insert1(row(item_id=2, name="again"), skip_duplicates=True)
    assert (items & {"item_id": 2}).fetch1()["name"] == "two"


def test_skip_duplicates_in_big_batches(db: Pipeline) -> None:
    items = db.table("Item")
    items.insert([row(item_id=i, name="old") for i in range(0, 1000, 10)])
    rows = [row(item_id=i, name="new", weight=i / 7, born=dt.date(2020, 1, 1) + dt.timedelta(days=i)) for i in range(1000)]
    assert items.insert(rows, skip_duplicates=True) == 1000
    assert len(items) == 1000
    assert len(items & {"name": "old"}) == 100
    got = (items & {"item_id": 999}).fetch1()
    assert (got["weight"], got["born"]) == (999 / 7, dt.date(2020, 1, 1) + dt.timedelta(days=999))


def test_ignore_extra_fields(db: Pipeline) -> None:
    items = db.table("Item")
    items.insert1(row(item_id=1, colour="red"), ignore_extra_fields=True)
    items.insert([row(item_id=2, a=1), row(item_id=3, b=2)], ignore_extra_fields=True)
    assert [r["item_id"] for r in items.fetch(order_by="item_id")] == [1, 2, 3]


def test_defaults_and_null(db: Pipeline) -> None:
    items = db.table("Item")
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    items.insert1(row(item_id=1))
    items.insert1(row(item_id=2, grade="y", born=dt.date(2021, 3, 4), note=None))
    items.insert1(row(item_id=3, note="given", made=dt.datetime(2020, 5, 6, 7, 8, 9)))
    got = {r["item_id"]: r for r in items.fetch()}
    assert got[1]["grade"] == "x" and got[1]["born"] is None and got[1]["note"] is None
    assert before - dt.timedelta(seconds=5) <= got[1]["made"] <= before + dt.timedelta(minutes=5)  # UTC
    assert got[2]["grade"] == "y" and got[2]["born"] == dt.date(2021, 3, 4)
    assert got[3]["made"] == dt.datetime(2020, 5, 6, 7, 8, 9)
    assert (db.table("Kind") & {"kind": "a"}).fetch1()["label"] == "first kind"


def test_rows_of_a_batch_may_give_different_attributes(db: Pipeline) -> None:
    items = db.table("Item")
    items.insert([row(item_id=1), row(item_id=2, note="x", born="2020-02-03"), row(item_id=3, grade="y")])
    got = items.fetch("note", "born", "grade", order_by="item_id")
    assert [(r["note"], r["born"], r["grade"]) for r in got] == [
        (None, None, "x"),
        ("x", dt.date(2020, 2, 3), "x"),
        (None, None, "y"),
    ]
    with pytest.raises(InsertError, match=r"row 0, attribute `made`: other rows of the batch give it"):
        items.insert([row(item_id=4), row(item_id=5, made=dt.datetime(2020, 1, 1))])
    assert len(items) == 3


def test_auto_tables_refuse_direct_inserts(db: Pipeline) -> None:
    db.table("Item").insert1(row())
    measured, sample, derived = db.table("Measured"), db.table("Measured.Sample"), db.table("Derived")
    with pytest.raises(TierError, match="populated by its make"):
        measured.insert1({"item_id": 1, "value": 2.0})
    with pytest.raises(TierError, match="populated by its make"):
        sample.insert1({"item_id": 1, "sample_id": 1, "x": 0.5})
    with pytest.raises(TierError):
        derived.insert([{"item_id": 1, "total": 3.0}])
    measured.insert1({"item_id": 1, "value": 2.0}, allow_direct_insert=True)
    sample.insert1({"item_id": 1, "sample_id": 1, "x": 0.5}, allow_direct_insert=True)
    derived.insert1({"item_id": 1, "total": 3.0}, allow_direct_insert=True)
    assert (len(measured), len(sample), len(derived)) == (1, 1, 1)


def test_insert_into_a_restricted_table_is_refused(db: Pipeline) -> None:
    items = db.table("Item")
    with pytest.raises(TierError, match="restricted"):
        (items & {"item_id": 1}).insert1(row())


def test_dataframe_input(db: Pipeline) -> None:
    items = db.table("Item")
    frame = pd.DataFrame(
        {
            "item_id": [1, 2, 3],
            "kind": ["a", "b", "a"],
            "name": ["x", "y", "z"],
            "weight": [1.5, np.float64(2.5), 3.0],
            "note": ["n", None, np.nan],
            "born": [dt.date(2020, 1, 1), None, pd.NaT],
        }
    ).set_index("item_id")
    assert items.insert(frame) == 3
    got = items.fetch("item_id", "weight", "note", "born", order_by="item_id")
    assert got == [
        {"item_id": 1, "weight": 1.5, "note": "n", "born": dt.date(2020, 1, 1)},
        {"item_id": 2, "weight": 2.5, "note": None, "born": None},
        {"item_id": 3, "weight": 3.0, "note": None, "born": None},
    ]


def test_fetched_frame_inserts_back(db: Pipeline) -> None:
    items = db.table("Item")
    items.insert([row(item_id=1, born=dt.date(2020, 1, 2), note="n"), row(item_id=2)])
    before = items.fetch(order_by="item_id")
    frame = items.fetch(as_frame=True)
    items.delete_quick()
    assert items.insert(frame) == 2
    assert items.fetch(order_by="item_id") == before


def test_frame_with_missing_integers_becomes_floats_and_back(db: Pipeline) -> None:
    box = db.table("Box")
    box.insert([{"box_id": 1, "label": "a"}, {"box_id": 2, "label": "b"}])
    slots = pd.DataFrame({"box_id": [1.0, 2.0], "slot_id": [1, 2], "content": [None, "c"]})
    db.table("Box.Slot").insert(slots)
    assert db.table("Box.Slot").fetch(order_by="box_id") == [
        {"box_id": 1, "slot_id": 1, "content": None},
        {"box_id": 2, "slot_id": 2, "content": "c"},
    ]
    with pytest.raises(InsertError, match="row 0, attribute `box_id`"):
        db.table("Box.Slot").insert(pd.DataFrame({"box_id": [1.5], "slot_id": [3]}))


def test_numpy_structured_array_input(db: Pipeline) -> None:
    items = db.table("Item")
    arr = np.array(
        [(1, "a", "s", 1.5), (2, "b", "t", 2.5)],
        dtype=[("item_id", "<i4"), ("kind", "U8"), ("name", "U5"), ("weight", "<f8")],
    )
    assert items.insert(arr) == 2
    assert items.fetch("item_id", "kind", "name", "weight", order_by="item_id") == [
        {"item_id": 1, "kind": "a", "name": "s", "weight": 1.5},
        {"item_id": 2, "kind": "b", "name": "t", "weight": 2.5},
    ]
    dated = np.array([(3, "a", "u", 1.0, np.datetime64("2021-02-03"))],
                     dtype=[("item_id", "i2"), ("kind", "U1"), ("name", "U1"), ("weight", "f4"), ("born", "M8[D]")])
    items.insert(dated)
    assert (items & {"item_id": 3}).fetch1()["born"] == dt.date(2021, 2, 3)


def test_numpy_scalars_in_dicts(db: Pipeline) -> None:
    items = db.table("Item")
    items.insert1({"item_id": np.int64(9), "kind": np.str_("a"), "name": "n", "weight": np.float32(0.5)})
    assert (items & {"item_id": np.int16(9)}).fetch1()["weight"] == 0.5


# ------------------------------------------------------------------ fetch and previews


@pytest.fixture
def filled(db: Pipeline) -> Pipeline:
    db.table("Item").insert(
        [row(item_id=i, name=f"n{i}", weight=float(10 - i), kind="ab"[i % 2], grade="xy"[i // 5]) for i in range(10)]
    )
    return db


def test_fetch_options(filled: Pipeline) -> None:
    items = filled.table("Item")
    rows = items.fetch(order_by="item_id")
    assert [r["item_id"] for r in rows] == list(range(10))
    assert set(rows[0]) == {"item_id", "kind", "name", "grade", "weight", "born", "note", "made"}
    assert [r["item_id"] for r in items.fetch(order_by="weight DESC", limit=3)] == [0, 1, 2]
    assert [r["item_id"] for r in items.fetch(order_by="weight", limit=3, offset=2)] == [7, 6, 5]
    assert [r["item_id"] for r in items.fetch(order_by="KEY", offset=8)] == [8, 9]
    assert [r["item_id"] for r in items.fetch(order_by=["grade DESC", "item_id DESC"], limit=2)] == [9, 8]
    assert items.fetch("name", order_by="item_id", limit=1) == [{"name": "n0"}]
    assert items.fetch("item_id", "name", order_by="item_id", limit=1) == [{"item_id": 0, "name": "n0"}]
    assert items.fetch(order_by="item_id", limit=0) == []


def test_fetch1(filled: Pipeline) -> None:
    items = filled.table("Item")
    assert (items & {"item_id": 3}).fetch1()["name"] == "n3"
    with pytest.raises(FetchOneError, match="found none"):
        (items & {"item_id": 99}).fetch1()
    with pytest.raises(FetchOneError, match="more than one"):
        items.fetch1()


def test_len_bool_iteration_keys_contains(filled: Pipeline) -> None:
    items = filled.table("Item")
    assert len(items) == 10
    assert bool(items)
    assert not (items & {"item_id": 99})
    assert len(items & "weight > 5") == 5
    assert sorted(r["item_id"] for r in items) == list(range(10))
    assert items.keys(order_by="item_id")[:2] == [{"item_id": 0}, {"item_id": 1}]
    assert {"item_id": 4} in items
    assert {"item_id": 44} not in items
    empty = db_empty = filled.table("Doc")
    assert len(empty) == 0 and not db_empty and list(empty) == [] and empty.keys() == []


def test_as_frame(filled: Pipeline) -> None:
    items = filled.table("Item")
    frame = items.fetch(as_frame=True, order_by="item_id")
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.index.names) == ["item_id"]
    assert list(frame.index) == list(range(10))
    assert frame.loc[3, "name"] == "n3"
    empty = (items & {"item_id": 99}).fetch(as_frame=True)
    assert len(empty) == 0 and "name" in empty.columns


def test_text_preview(filled: Pipeline) -> None:
    text = repr(filled.table("Item"))
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["*item_id", "kind", "name"]
    assert set(lines[1]) <= {"-", " "}
    assert len(lines) == 2 + 10 + 1
    assert lines[-1].strip() == "(10 rows)"
    many = filled.table("Doc")
    many.insert([{"doc_id": i, "body": "x" * 100} for i in range(30)])
    text = repr(many)
    assert "..." in text.splitlines()[-2]
    assert text.splitlines()[-1].strip() == "(30 rows)"
    assert "x" * 41 not in text  # long values are shortened
    assert repr(filled.table("Item") & {"item_id": 99}).splitlines()[-1].strip() == "(0 rows)"


def test_html_preview(filled: Pipeline) -> None:
    items = filled.table("Item")
    items.update1({"item_id": 0, "note": "<b>&"})
    html = items._repr_html_()
    assert html.startswith("<table>")
    assert "<th><u>item_id</u></th>" in html
    assert "&lt;b&gt;&amp;" in html and "<b>&" not in html
    assert "<p>10 rows</p>" in html


# ------------------------------------------------------------------ update1


def test_update1_changes_secondary_attributes(filled: Pipeline) -> None:
    items = filled.table("Item")
    items.update1({"item_id": 3, "name": "new", "note": "a note", "born": "2022-02-02"})
    got = (items & {"item_id": 3}).fetch1()
    assert (got["name"], got["note"], got["born"]) == ("new", "a note", dt.date(2022, 2, 2))
    items.update1({"item_id": 3, "note": None})
    assert (items & {"item_id": 3}).fetch1()["note"] is None
    assert (items & {"item_id": 4}).fetch1()["name"] == "n4"  # other rows untouched
    items.update1({"item_id": 3, "name": "new"})  # same value: still one row found
    kind = filled.table("Kind")
    kind.update1({"kind": "a", "label": "changed"})
    assert (kind & {"kind": "a"}).fetch1()["label"] == "changed"
    filled.table("Box").insert1({"box_id": 1, "label": "b"})
    slot = filled.table("Box.Slot")
    slot.insert1({"box_id": 1, "slot_id": 1})
    slot.update1({"box_id": 1, "slot_id": 1, "content": "pen"})
    assert slot.fetch1()["content"] == "pen"


def test_update1_refusals(filled: Pipeline) -> None:
    items = filled.table("Item")
    with pytest.raises(QueryError, match="no row of core.Item has the key"):
        items.update1({"item_id": 99, "name": "x"})
    with pytest.raises(InsertError, match="needs at least one secondary attribute"):
        items.update1({"item_id": 3})
    with pytest.raises(InsertError, match="attribute `kind`.*needs the full primary key|needs the full primary key"):
        items.update1({"name": "x"})
    with pytest.raises(InsertError, match="attribute `colour`: is not an attribute"):
        items.update1({"item_id": 3, "colour": "red"})
    with pytest.raises(InsertError, match="attribute `name`: 'toolong'"):
        items.update1({"item_id": 3, "name": "toolong"})
    with pytest.raises(InsertError, match="attribute `name`: is None"):
        items.update1({"item_id": 3, "name": None})
    with pytest.raises(MissingParentError):
        items.update1({"item_id": 3, "kind": "zzz"})
    with pytest.raises(TierError, match="restricted|table itself"):
        (items & {"item_id": 3}).update1({"item_id": 3, "name": "x"})
    assert (items & {"item_id": 3}).fetch1()["name"] == "n3"


def test_update1_refused_on_computed_results(filled: Pipeline) -> None:
    filled.table("Measured").insert1({"item_id": 1, "value": 1.0}, allow_direct_insert=True)
    filled.table("Measured.Sample").insert1({"item_id": 1, "sample_id": 1, "x": 1.0}, allow_direct_insert=True)
    filled.table("Derived").insert1({"item_id": 1, "total": 1.0}, allow_direct_insert=True)
    for name, change in (
        ("Measured", {"item_id": 1, "value": 2.0}),
        ("Measured.Sample", {"item_id": 1, "sample_id": 1, "x": 2.0}),
        ("Derived", {"item_id": 1, "total": 2.0}),
    ):
        with pytest.raises(TierError, match="populate again"):
            filled.table(name).update1(change)
    assert filled.table("Derived").fetch1()["total"] == 1.0


BIG_SRC = """
schema bigval

manual Raw {
    raw_id: int32
    ---
    payload: bytes
    trace = null: blob
}
"""


def test_large_values_fit_the_packet_limit(mysql_server_url: str) -> None:
    """Bytes travel escaped, not as hex (twice the size): 14 MB of values fit a 16 MB packet."""
    import uuid as uuid_module

    from relflow_gen.runtime import Connection

    admin = Connection(mysql_server_url)
    old = admin.scalar("SELECT @@global.max_allowed_packet")
    admin.execute("SET GLOBAL max_allowed_packet = 16777216")
    prefix = f"t{uuid_module.uuid4().hex[:10]}_"
    try:
        db = open_pipeline(BIG_SRC, f"{mysql_server_url}?prefix={prefix}")
        payload = np.random.default_rng(5).integers(0, 256, 7_000_000, dtype=np.uint8).tobytes()
        trace = np.random.default_rng(6).normal(size=875_000)  # 7 MB of float64
        db.table("Raw").insert1({"raw_id": 1, "payload": payload, "trace": trace})
        back = db.table("Raw").fetch1()
        assert back["payload"] == payload
        assert np.array_equal(back["trace"], trace)
        db.close()
    finally:
        admin.execute(f"SET GLOBAL max_allowed_packet = {int(old)}")
        admin.execute(f"DROP DATABASE IF EXISTS `{prefix}bigval`")
        admin.close()
