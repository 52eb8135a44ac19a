"""Issue 10 hardening of queries: items 7, 13 and 16 (run on both backends).

- a fetched row holding an array (blob) or json value restricts by its other attributes;
- the SQL-fragment guard tokenizes string literals as the backend does;
- keywords that are also attribute names (``interval 30 day``) stay keywords;
- a union unites same-named attributes of different origins;
- a DataFrame restricts by the OR of its rows, ``q & U("a")`` is a no-op.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from runtime_fixtures import pipeline_from

from relflow_gen.runtime import Not, QueryError, U
from relflow_gen.runtime.query.sqltext import keyword_positions, rewrite, tokenize

SCHEMA = """
schema hq

manual Scan {
    scan_id: int32
    ---
    label: varchar(32)
    gain: float64
    frames: blob
    meta = null: json
}

manual Trace {
    -> Scan
    trace_id: int32
    ---
    samples: blob
}

manual Log {
    log_id: int32
    ---
    day: date
    hour = 0: int32
    year = 2024: int32
    note = "": varchar(64)
}

manual A {
    i: int32
}

lookup IJ {
    i: int32
    j: int32
}

lookup JI {
    j: int32
    i: int32
}

manual B {
    i: int32
}
"""


@pytest.fixture
def db(db_url: str) -> Iterator[Any]:
    p = pipeline_from(SCHEMA, db_url)
    p.declare()
    p.Scan.insert(
        [
            {"scan_id": s, "label": f"s{s}", "gain": 0.5 * s, "frames": np.arange(s + 3.0), "meta": {"n": [s, s]}}
            for s in range(1, 4)
        ]
    )
    p.Trace.insert([{"scan_id": s, "trace_id": t, "samples": np.ones((2, t + 1))} for s in range(1, 4) for t in range(3)])
    yield p
    p.close()


# ---------------------------------------------------------------- item 7


def test_restrict_by_fetched_row_with_array(db: Any) -> None:
    row = (db.Scan & {"scan_id": 2}).fetch1()
    assert isinstance(row["frames"], np.ndarray)
    # the DataJoint idioms: a child restricted by a parent's row, a table by its own row
    assert sorted(r["trace_id"] for r in (db.Trace & db.Scan.restrict(row)).fetch()) == [0, 1, 2]
    assert len(db.Trace.restrict(row, ignore_extra_fields=True)) == 3
    assert len(db.Scan & row) == 1
    assert len(db.Scan - row) == 2
    trace = (db.Trace & {"scan_id": 3, "trace_id": 1}).fetch1()
    assert (db.Trace & trace).fetch1()["trace_id"] == 1
    assert len(db.Scan.restrict(trace, ignore_extra_fields=True)) == 1
    # rows as a list: an OR of rows, the blob values skipped
    rows = db.Scan.fetch(order_by="scan_id")
    assert len(db.Scan & rows[:2]) == 2
    assert len(db.Trace.restrict(rows[1:], ignore_extra_fields=True)) == 6
    # delete through a fetched row deletes exactly that row
    db.Trace.restrict(trace).delete(force=True)
    assert len(db.Trace) == 8


def test_restrict_by_blob_alone_is_an_error(db: Any) -> None:
    with pytest.raises(QueryError, match=r"`frames`.*never compared"):
        db.Scan & {"frames": np.arange(3.0)}
    with pytest.raises(QueryError, match=r"`meta`.*never compared"):
        db.Scan & {"meta": {"n": [1, 1]}}


# ---------------------------------------------------------------- item 13

INJECTION = "label = '\\') UNION SELECT count(*) FROM sqlite_master WHERE (1=1 --'\n"


def test_fragment_guard_tokenizes_per_backend(db: Any) -> None:
    name = db.connection.backend.name
    if name == "sqlite":
        # SQLite reads '\' as a complete literal: the rest is SQL, and the guard sees it
        with pytest.raises(QueryError, match="not allowed|unbalanced"):
            (db.Scan & INJECTION).fetch()
    else:
        # MySQL reads \' as an escaped quote: the whole thing is one literal, matching nothing
        assert (db.Scan & INJECTION).fetch() == []
    toks = tokenize("a = '\\'", backslash_escapes=False)
    assert [t.kind for t in toks if t.kind != "space"] == ["ident", "other", "squote"]
    assert tokenize("a = '\\''", backslash_escapes=True)[-1].kind == "squote"


@pytest.mark.parametrize("literal", ["'a\\'", "'it''s'", "'%'", "'\\\\'"])
def test_literals_compare_as_the_backend_reads_them(db: Any, literal: str) -> None:
    backslash = db.connection.backend.backslash_escapes
    text = {"'a\\'": "a\\" if not backslash else None, "'it''s'": "it's", "'%'": "%", "'\\\\'": "\\" if backslash else "\\\\"}[
        literal
    ]
    if text is None:  # 'a\' is unterminated on MySQL
        with pytest.raises(QueryError, match="unterminated"):
            (db.Scan & f"label = {literal}").fetch()
        return
    db.Scan.insert1({"scan_id": 9, "label": text, "gain": 0.0, "frames": np.zeros(1)})
    assert (db.Scan & f"label = {literal}").fetch1()["scan_id"] == 9


# ---------------------------------------------------------------- item 16: keywords


def test_keywords_that_are_attribute_names(db: Any) -> None:
    today = datetime.date.today()
    db.Log.insert(
        [
            {"log_id": 1, "day": today - datetime.timedelta(days=3), "hour": 5},
            {"log_id": 2, "day": today - datetime.timedelta(days=40), "hour": 7},
        ]
    )
    if db.connection.backend.name == "mysql":
        recent = "day between curdate() - interval 30 day and curdate()"
        cast = "cast(hour as signed) = 5 and extract(day from day) = extract(day from curdate() - interval 3 day)"
        shifted = "date_add(day, interval hour hour) > day"
    else:
        recent = "day between date('now', '-30 day') and date('now')"
        cast = "cast(hour as integer) = 5 and day = date('now', '-3 day')"
        shifted = "datetime(day, '+' || hour || ' hours') > day"
    assert (db.Log & recent).fetch1()["log_id"] == 1
    assert (db.Log & cast).fetch1()["log_id"] == 1
    assert len(db.Log & shifted) == 2


def test_keyword_positions() -> None:
    def rewritten(text: str) -> str:
        return rewrite(text, lambda n: f"T.{n}" if n in ("day", "hour", "year", "date", "interval", "signed") else None)

    assert rewritten("day between curdate() - interval 30 day and curdate()") == (
        "T.day between curdate() - interval 30 day and curdate()"
    )
    assert rewritten("date_add(day, interval hour hour)") == "date_add(T.day, interval T.hour hour)"
    assert rewritten("day < now() - interval (hour + 1) day") == "T.day < now() - interval (T.hour + 1) day"
    assert rewritten("extract(year from day) = year") == "extract(year from T.day) = T.year"
    assert rewritten("timestampdiff(day, day, now()) > hour") == "timestampdiff(day, T.day, now()) > T.hour"
    assert rewritten("cast(year as signed) + cast(day as date)") == "cast(T.year as signed) + cast(T.day as date)"
    assert rewritten("day = date '2024-01-01'") == "T.day = date '2024-01-01'"
    assert rewritten("interval > 3 and date = day") == "T.interval > 3 and T.date = T.day"
    assert keyword_positions(tokenize("year")) == set()


def test_a_fragment_parsed_before_rewrites_the_same_for_every_resolver_and_stays_checked() -> None:
    text = "a + b.c > count(d) and `e` = \"x\""
    first = rewrite(text, lambda n: f"T.{n}" if n in "acde" else None)
    again = rewrite(text, lambda n: f"U.{n}" if n in "acde" else None)  # the cached parse, another resolver
    assert first == "T.a + b.c > count(T.d) and T.e = 'x'"  # c is qualified: left alone
    assert again == first.replace("T.", "U.")
    long = " + ".join(["a"] * 1000)  # longer than the cache keeps: parsed each time, same result
    assert rewrite(long, lambda n: "Z") == " + ".join(["Z"] * 1000)
    for _ in range(2):  # a refused fragment is refused each time (errors are not cached)
        with pytest.raises(ValueError, match="not allowed in an SQL fragment"):
            rewrite("a; drop table x", lambda n: None)


# ---------------------------------------------------------------- item 16: union, DataFrame, U


def test_union_of_different_origins(db: Any) -> None:
    db.A.insert([{"i": i} for i in range(10)])
    db.B.insert([{"i": i} for i in range(6, 16)])
    both = db.A + db.B
    assert sorted(r["i"] for r in both.fetch()) == list(range(16))
    assert len(both) == 16
    # the united attribute has no single origin: joining it with either side is refused
    with pytest.raises(QueryError, match="different origins"):
        both * db.A
    assert len(both & "i > 12") == 3


def test_union_as_datajoint_test_union(db: Any) -> None:
    """DataJoint's test_union: IJ and JI (attributes in the other order, other origins) unite to 16 pairs."""
    db.IJ.insert([{"i": i, "j": j + 2} for i in range(3) for j in range(3)])
    db.JI.insert([{"i": i + 1, "j": j} for i in range(3) for j in range(3)])
    x = {(r["i"], r["j"]) for r in db.IJ.fetch()}
    y = {(r["i"], r["j"]) for r in db.JI.fetch()}
    z = {(r["i"], r["j"]) for r in (db.IJ + db.JI).fetch()}
    assert z == x | y and len(z) == 16
    assert len(db.IJ + db.JI) == 16
    assert len((db.IJ + db.JI) & {"i": 1}) == 5  # j in 2..4 and 0..2
    # a join of the two is still refused: same names, different origins
    with pytest.raises(QueryError, match="different origins"):
        db.IJ * db.JI


def test_restrict_by_dataframe(db: Any) -> None:
    frame = pd.DataFrame({"scan_id": [1, 3]})
    assert sorted(r["scan_id"] for r in (db.Scan & frame).fetch()) == [1, 3]
    assert [r["scan_id"] for r in (db.Scan - frame).fetch()] == [2]
    assert len(db.Scan & pd.DataFrame({"scan_id": []})) == 0
    fetched = db.Trace.fetch(as_frame=True)  # indexed by the primary key, with blob columns
    assert len(db.Trace & fetched.iloc[:4]) == 4
    assert len(db.Scan.restrict(fetched.iloc[:4], ignore_extra_fields=True)) == 2
    with pytest.raises(QueryError, match="`nope` is not an attribute"):
        db.Scan & pd.DataFrame({"nope": [1]})


def test_restrict_by_universal_set(db: Any) -> None:
    assert len(db.Scan & U("scan_id")) == 3
    assert len(db.Trace & U("scan_id", "trace_id")) == 9
    assert len(db.Scan & U()) == 3
    assert len(db.Scan - U("label")) == 0
    assert len(db.Scan & Not(U())) == 0
    with pytest.raises(QueryError, match="nope"):
        db.Scan & U("nope")
