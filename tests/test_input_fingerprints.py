"""Input fingerprints on both backends: what the commit records is exactly what outdated() computes
later, different inputs never share a fingerprint, and rows recorded in an older encoding are
checked in it (an encoding change does not make every row look outdated)."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from runtime_fixtures import pipeline_from

from relflow_gen.runtime import Maker
from relflow_gen.runtime.pipeline import Pipeline
from relflow_gen.runtime.populate import inputs
from relflow_gen.runtime.populate.inputs import INPUT_HASH, InputStamp, input_fingerprint_sql

SRC = """
schema fp

manual Subject {
    subject_id: int32
    ---
    name: varchar(32)
    note = null: varchar(32)
    weight = null: float64
    ratio = null: float32
    born = null: date
    seen = null: datetime
    price = null: decimal(10, 3)
    tag = null: uuid
    raw = null: bytes
    samples = null: blob
    doc = null: attach
    flag = null: bool
    kind = null: enum("a", "b")
    info = null: json
}

lookup Site {
    site_id: int32
    ---
    place: varchar(16)
    contents {
        (1, "north")
        (2, "south")
    }
}

computed Score {
    -> Subject
    -> Site
    ---
    value: float64
}

computed Trial {
    -> Subject
    trial: int32
    ---
    -> [nullable] Site
    n: int32
    part Step {
        step: int32
        ---
        t: float64
    }
}
"""


class MakeScore(Maker[Any, Any]):
    __table__ = "fp.Score"

    def make(self, key: Any) -> None:
        self.insert1({**key, "value": float(key["subject_id"] * 10 + key["site_id"])})


class MakeTrial(Maker[Any, Any]):
    __table__ = "fp.Trial"
    __parts__ = (("Step", "fp.Trial.Step"),)

    def make(self, key: Any) -> None:
        sid = key["subject_id"]
        for trial in range(3):  # several master rows per make key
            row = {**key, "trial": trial, "n": trial}
            if sid % 2 == 0:
                row["site_id"] = 1 + trial % 2  # odd subjects leave the nullable reference out
            self.insert1(row)
            self.Step.insert([{**key, "trial": trial, "step": s, "t": s / 3} for s in range(2)])


def subjects(tmp_path: Path) -> list[dict[str, Any]]:
    doc = tmp_path / "doc.bin"
    doc.write_bytes(bytes(range(256)))  # not UTF-8: enters by its digest
    return [
        {"subject_id": 0, "name": "plain"},
        {
            "subject_id": 1,
            "name": "it's, (quoted)",
            "note": "NULL",
            "weight": 0.30000000000000004,
            "ratio": 0.1,
            "born": dt.date(2024, 2, 29),
            "seen": dt.datetime(2024, 1, 2, 3, 4, 5, 678901),
            "price": decimal.Decimal("12.340"),
            "tag": uuid.UUID(int=7),
            "raw": b"\x00\xff'",
            "samples": np.arange(5.0),
            "doc": doc,
            "flag": True,
            "kind": "b",
            "info": {"a": [1, 2]},
        },
        {"subject_id": 2, "name": "", "note": "", "weight": -1e300, "ratio": -2.5, "raw": b"", "flag": False},
        {"subject_id": 3, "name": "ünïcødé 🧪", "weight": 1e-300, "price": decimal.Decimal("-0.001")},
    ]


@pytest.fixture
def db(db_url: str, tmp_path: Path) -> Pipeline:
    db = pipeline_from(SRC, db_url)
    db.register(MakeScore, MakeTrial)
    db.table("Subject").insert(subjects(tmp_path))
    db.populate_all()
    return db


def recorded_and_now(db: Pipeline, name: str, version: int | None = None) -> list[tuple[Any, Any]]:
    """(recorded fingerprint, fingerprint computed now by the checking expression) of every row."""
    conn = db.connection
    backend = conn.backend
    meta = db.meta.by_name[name]
    ref = backend.table_ref(meta.schema, meta.sql_name)
    now = input_fingerprint_sql(backend, db.meta, meta, "t", version)
    return [(r, n) for r, n in conn.query(f"SELECT t.{backend.quote(INPUT_HASH)}, {now} FROM {ref} AS t")]


def test_the_commit_records_what_outdated_computes(db: Pipeline) -> None:
    for name, rows in (("fp.Score", 8), ("fp.Trial", 12)):
        pairs = recorded_and_now(db, name)
        assert len(pairs) == rows
        assert all(recorded is not None and recorded == now for recorded, now in pairs), (name, pairs)
        assert all(len(recorded) == 32 for recorded, _ in pairs)
    assert all(not o.keys for o in db.outdated().values())


def test_the_insert_and_the_update_record_the_same_fingerprints(db: Pipeline) -> None:
    """The INSERT computes it where the backend can; the UPDATE (the other path) agrees row by row."""
    conn = db.connection
    for name in ("fp.Score", "fp.Trial"):
        meta = db.meta.by_name[name]
        before = provenance(db, name)
        assert len(before) in (8, 12) and all(dict(r)["input_hash"] for r in before)
        names = ["subject_id", "site_id"] if name == "fp.Score" else ["subject_id"]
        keys = db.table(name).proj(*names).fetch()
        with conn.transaction():
            conn.execute(f"UPDATE {backend_ref(db, name)} SET {conn.backend.quote(INPUT_HASH)} = NULL")
            InputStamp(conn, db.meta, meta, names)(keys)  # one UPDATE per chunk, recomputing every row
        assert provenance(db, name) == before


def provenance(db: Pipeline, name: str) -> list[list[tuple[str, Any]]]:
    return sorted((sorted(r.items()) for r in db.table(name).provenance()), key=repr)


def backend_ref(db: Pipeline, name: str) -> str:
    meta = db.meta.by_name[name]
    return db.connection.backend.table_ref(meta.schema, meta.sql_name)


def test_where_the_insert_computes_the_fingerprint_no_update_runs(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite: each row is written once, with its fingerprint; MariaDB: one UPDATE per commit."""
    calls: list[int] = []
    update = InputStamp.__call__

    def counted(self: InputStamp, keys: Any) -> None:
        calls.append(len(keys))
        update(self, keys)

    monkeypatch.setattr(InputStamp, "__call__", counted)
    db = pipeline_from(SRC, db_url)
    db.register(MakeScore, MakeTrial)
    db.table("Subject").insert(subjects(tmp_path))
    db.populate_all()
    assert sum(calls) == (0 if db.connection.backend.insert_computes else 8 + 4)
    assert all(r == n for name in ("fp.Score", "fp.Trial") for r, n in recorded_and_now(db, name))
    stamp = InputStamp(db.connection, db.meta, db.meta.by_name["fp.Trial"], ["subject_id"])
    columns = ("subject_id", "trial", "site_id", "n")
    assert (stamp.computed(columns) is not None) == db.connection.backend.insert_computes
    assert stamp.computed(columns[:2] + columns[3:]) is None  # a reference left to its default: the UPDATE sets it


def test_different_inputs_never_share_a_fingerprint(db_url: str) -> None:
    """Values that would run together if fields were merely concatenated, doubles that differ only
    beyond 15 significant digits and float32 values that differ beyond 6."""
    src = """
    schema fpd

    manual P {
        p_id: int32
        ---
        a = null: varchar(16)
        b = null: varchar(16)
        x: float64
        r = null: float32
    }

    computed C {
        -> P
        ---
        done: bool
    }
    """

    class MakeC(Maker[Any, Any]):
        __table__ = "fpd.C"

        def make(self, key: Any) -> None:
            self.insert1({**key, "done": True})

    values = [
        ("ab", "c", 1.0), ("a", "bc", 1.0), ("a,", "bc", 1.0), ("a", ",bc", 1.0), ("a'", "'bc", 1.0),
        ("a", None, 1.0), (None, "a", 1.0), ("NULL", None, 1.0), (None, "NULL", 1.0), ("", None, 1.0),
        (None, "", 1.0), ("", "", 1.0), ("1:a", "", 1.0), ("", "1:a", 1.0), ("a)(", "b", 1.0), ("a", ")(b", 1.0),
        ("a", "b", 0.3), ("a", "b", 0.30000000000000004), ("a", "b", 1e16), ("a", "b", 1e16 + 2),
    ]
    rows = [(a, b, x, None) for a, b, x in values] + [("a", "b", 1.0, 0.1), ("a", "b", 1.0, 0.1000001)]
    db = pipeline_from(src, db_url)
    db.register(MakeC)
    a, b, x, r = rows[0]
    db.table("P").insert1({"p_id": 7, "a": a, "b": b, "x": x, "r": r})
    db.populate_all()
    seen: dict[str, Any] = {}
    for i, (a, b, x, r) in enumerate(rows):
        if i:
            db.table("P").update1({"p_id": 7, "a": a, "b": b, "x": x, "r": r})
            assert len(db.table("C").outdated()) == 1, (rows[i - 1], rows[i])
            db.refresh()
        assert not db.table("C").outdated()
        fp = db.table("C").provenance()[0]["input_hash"]
        assert fp is not None and fp not in seen, (rows[i], seen.get(fp))
        seen[fp] = rows[i]


def test_rows_recorded_in_an_older_encoding_are_checked_in_it(db: Pipeline) -> None:
    """A database written before the current encoding: its rows are not outdated until their inputs
    change, then exactly those are; refresh records them in the current encoding."""
    conn = db.connection
    backend = conn.backend
    current = backend.input_fingerprint_version
    if current == 1:
        pytest.skip(f"{backend.name} writes the first encoding: no older one to check")
    meta = db.meta.by_name["fp.Score"]
    ref = backend.table_ref(meta.schema, meta.sql_name)
    old = input_fingerprint_sql(backend, db.meta, meta, ref, 1)
    q = backend.quote
    with conn.transaction():  # what an older relflow recorded (subject 1's attach is not UTF-8: new rows only)
        conn.execute(f"UPDATE {ref} SET {q(INPUT_HASH)} = {old} WHERE {q('site_id')} = 1 AND {q('subject_id')} <> 1")
    recorded = [r for (r,) in conn.query(f"SELECT {q(INPUT_HASH)} FROM {ref}")]
    assert sum(1 for r in recorded if r.startswith(inputs.version_marker(current))) == 5
    assert all(not o.keys for o in db.outdated().values())
    db.table("Subject").update1({"subject_id": 3, "name": "renamed"})
    assert db.outdated()["fp.Score"].reasons["inputs"] == {(3, 1), (3, 2)}  # one old, one new
    db.table("Site").update1({"site_id": 1, "place": "east"})
    found = db.outdated()["fp.Score"].reasons["inputs"]
    assert found == {(0, 1), (1, 1), (2, 1), (3, 1), (3, 2)}
    db.refresh()
    assert all(not o.keys for o in db.outdated().values())
    assert all(r == n and r.startswith(inputs.version_marker(current)) for r, n in recorded_and_now(db, "fp.Score"))


def test_many_rows_per_commit_take_the_multi_row_insert(db_url: str) -> None:
    """Hundreds of master rows in one commit go in multi-row INSERTs (SQLite): each row's
    fingerprint is computed from its own values, not a neighbour's."""
    src = """
    schema fpm

    manual P {
        p_id: int32
        ---
        x: float64
    }

    manual Q {
        q_id: int32
        ---
        y: varchar(8)
    }

    computed M {
        -> P
        i: int32
        ---
        -> Q
    }
    """

    class MakeM(Maker[Any, Any]):
        __table__ = "fpm.M"

        def make(self, key: Any) -> None:
            self.insert({**key, "i": i, "q_id": (i * 7 + key["p_id"]) % 5} for i in range(250))

    db = pipeline_from(src, db_url)
    db.register(MakeM)
    db.table("P").insert([{"p_id": p, "x": p / 3} for p in range(3)])
    db.table("Q").insert([{"q_id": q, "y": f"q{q}"} for q in range(5)])
    db.populate_all()
    pairs = recorded_and_now(db, "fpm.M")
    assert len(pairs) == 750 and all(r is not None and r == n for r, n in pairs)
    assert len({r for r, _ in pairs}) == 15  # 3 P rows x 5 Q rows
    db.table("Q").update1({"q_id": 4, "y": "changed"})
    assert len(db.table("M").outdated()) == 150
