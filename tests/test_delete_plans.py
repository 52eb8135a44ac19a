"""Cascade delete plans: their cost follows the rows deleted, and they delete exactly the cascade.

On MariaDB every statement a cascade sends is EXPLAINed: no child table is scanned whole when
the restriction is on a key prefix.  On both backends the rows left are compared with the rows
computed in Python, for restrictions the delete pushes down to the children's own key columns
(``subject_id < 3``), for ones it cannot (a non-key attribute, another query, renamed and
nullable foreign keys, a table reached through two parents), and with key lists split in chunks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from runtime_support import open_pipeline

from relflow_gen.runtime.pipeline import Pipeline
from relflow_gen.runtime.tables import delete as delete_mod

SRC = """
schema plans

manual Subject {
    subject_id: int32
    ---
    name: varchar(16)
}

manual Session {
    -> Subject
    session_id: int32
}

manual Trial {
    -> Session
    trial_id: int32
    ---
    value: float64
}

manual Pair "renamed foreign keys: not pushed down" {
    -> Subject.proj(left_id="subject_id")
    -> Subject.proj(right_id="subject_id")
}

manual Tag "a nullable foreign key" {
    tag_id: int32
    ---
    -> [nullable] Subject
}

manual Joint "two parents: deleted once per parent" {
    -> Session
    -> Pair
}
"""

SUBJECTS, SESSIONS, TRIALS = 30, 20, 10


@pytest.fixture
def db(db_url: str) -> Iterator[Pipeline]:
    pipeline = open_pipeline(SRC, db_url)
    fill(pipeline)
    yield pipeline
    pipeline.close()


def fill(db: Pipeline) -> None:
    t = db.table
    t("Subject").insert([{"subject_id": s, "name": f"n{s % 10}"} for s in range(SUBJECTS)], skip_duplicates=True)
    ses = [{"subject_id": s, "session_id": j} for s in range(SUBJECTS) for j in range(SESSIONS)]
    t("Session").insert(ses, skip_duplicates=True)
    t("Trial").insert(
        [dict(k, trial_id=i, value=0.5) for k in ses for i in range(TRIALS)], skip_duplicates=True
    )
    pairs = [{"left_id": s, "right_id": (s * 7 + 3) % SUBJECTS} for s in range(SUBJECTS)]
    t("Pair").insert(pairs, skip_duplicates=True)
    t("Tag").insert(
        [{"tag_id": i, "subject_id": None if i % 3 == 0 else i % SUBJECTS} for i in range(40)], skip_duplicates=True
    )
    t("Joint").insert(
        [dict(subject_id=p["left_id"], session_id=0, **p) for p in pairs], skip_duplicates=True
    )


def snapshot(db: Pipeline) -> dict[str, set[tuple[Any, ...]]]:
    out = {}
    for name in ("Subject", "Session", "Trial", "Pair", "Tag", "Joint"):
        table = db.table(name)
        out[name] = {tuple(sorted(r.items())) for r in table.fetch()}
    return out


def expected_after(before: dict[str, set[tuple[Any, ...]]], doomed_subjects: set[int]) -> dict[str, set[tuple[Any, ...]]]:
    """The cascade computed in Python from the rows."""

    def keep(name: str, test: Any) -> set[tuple[Any, ...]]:
        return {r for r in before[name] if test(dict(r))}

    pair_gone = {
        (r["left_id"], r["right_id"])
        for r in map(dict, before["Pair"])
        if r["left_id"] in doomed_subjects or r["right_id"] in doomed_subjects
    }
    return {
        "Subject": keep("Subject", lambda r: r["subject_id"] not in doomed_subjects),
        "Session": keep("Session", lambda r: r["subject_id"] not in doomed_subjects),
        "Trial": keep("Trial", lambda r: r["subject_id"] not in doomed_subjects),
        "Pair": keep("Pair", lambda r: (r["left_id"], r["right_id"]) not in pair_gone),
        "Tag": keep("Tag", lambda r: r["subject_id"] is None or r["subject_id"] not in doomed_subjects),
        "Joint": keep(
            "Joint",
            lambda r: r["subject_id"] not in doomed_subjects and (r["left_id"], r["right_id"]) not in pair_gone,
        ),
    }


RESTRICTIONS: list[tuple[str, Any, set[int]]] = [
    ("key range", "subject_id < 3", {0, 1, 2}),
    ("key value", {"subject_id": 5}, {5}),
    ("key list", [{"subject_id": 7}, {"subject_id": 9}], {7, 9}),
    ("key expression", "subject_id % 10 = 4 AND subject_id > 10", {14, 24}),
    ("non-key attribute", {"name": "n1"}, {s for s in range(SUBJECTS) if s % 10 == 1}),
    ("SQL with a string", "name = 'n2'", {s for s in range(SUBJECTS) if s % 10 == 2}),
]


@pytest.mark.parametrize(("label", "cond", "doomed"), RESTRICTIONS, ids=[r[0] for r in RESTRICTIONS])
def test_cascade_deletes_exactly_the_dependents(db: Pipeline, label: str, cond: Any, doomed: set[int]) -> None:
    before = snapshot(db)
    target = db.table("Subject") & cond
    dry = target.delete(dry_run=True)
    assert snapshot(db) == before
    counts = target.delete()
    after = snapshot(db)
    want = expected_after(before, doomed)
    assert after == want
    gone = {name: len(before[name]) - len(want[name]) for name in before}
    assert counts == dry
    assert {name.split(".", 1)[1]: c for name, c in counts.items()} == {n: c for n, c in gone.items() if c}


def test_restriction_by_another_query(db: Pipeline) -> None:
    before = snapshot(db)
    target = db.table("Subject") & (db.table("Pair") & "right_id < 4").proj(subject_id="left_id")
    doomed = {dict(r)["left_id"] for r in before["Pair"] if dict(r)["right_id"] < 4}
    target.delete()
    assert snapshot(db) == expected_after(before, doomed)


def test_key_lists_split_in_chunks(db: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delete_mod, "KEY_LIST_CHUNK", 7)
    before = snapshot(db)
    doomed = {s for s in range(SUBJECTS) if s % 10 == 3}
    counts = (db.table("Subject") & {"name": "n3"}).delete()
    assert snapshot(db) == expected_after(before, doomed)
    assert counts["plans.Trial"] == len(doomed) * SESSIONS * TRIALS


def test_pushdown_reaches_only_same_named_key_chains(db: Pipeline) -> None:
    plan = delete_mod.plan_delete(db, db.table("Subject") & "subject_id < 3")
    pushed = delete_mod._pushdown(db.connection, plan)
    assert set(pushed) == {"plans.Subject", "plans.Session", "plans.Trial", "plans.Tag"}
    plan = delete_mod.plan_delete(db, db.table("Subject") & {"name": "n1"})
    assert delete_mod._pushdown(db.connection, plan) == {}


# ---------------------------------------------------------------------------- EXPLAIN on MariaDB


def recorded_statements(db: Pipeline, monkeypatch: pytest.MonkeyPatch, run: Any) -> list[tuple[str, tuple[Any, ...]]]:
    conn = db.connection
    seen: list[tuple[str, tuple[Any, ...]]] = []
    original = conn.execute

    def execute(sql: str, params: Any = None) -> Any:
        seen.append((sql, tuple(params or ())))
        return original(sql, params)

    monkeypatch.setattr(conn, "execute", execute)
    run()
    monkeypatch.undo()
    return seen


@pytest.mark.parametrize(("label", "cond", "doomed"), RESTRICTIONS, ids=[r[0] for r in RESTRICTIONS])
def test_mariadb_plans_scan_no_child_table(
    db: Pipeline, monkeypatch: pytest.MonkeyPatch, label: str, cond: Any, doomed: set[int]
) -> None:
    conn = db.connection
    if conn.backend.name != "mysql":
        pytest.skip("EXPLAIN plans are checked on MariaDB")
    refs = {n: db.table(n)._query_select.sources[0].sql for n in ("Subject", "Session", "Trial")}
    conn.query("ANALYZE TABLE " + ", ".join(refs.values()))
    statements = recorded_statements(db, monkeypatch, lambda: (db.table("Subject") & cond).delete())
    fill(db)  # the plans are explained on the full tables
    conn.query("ANALYZE TABLE " + ", ".join(refs.values()))
    children = {"session", "trial"}
    explained = 0
    for sql, params in statements:
        if sql.startswith("USE "):
            conn.execute(sql, ())
            continue
        if not sql.startswith(("DELETE", "SELECT")):
            continue
        aliases = {a: t for t, a in re.findall(r"`[^`]+`\.`([^`]+)` AS (\w+)", sql)}
        rows = conn.query("EXPLAIN " + sql, params)
        explained += 1
        for row in rows:
            table = aliases.get(str(row[2]), str(row[2]))
            if row[3] != "ALL":
                continue
            assert table not in children, f"full scan of {table}: {sql} -> {rows}"
            assert not label.startswith("key") or table != "subject", f"full scan of {table}: {sql} -> {rows}"
    assert explained >= 3
