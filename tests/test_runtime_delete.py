"""Cascading delete, delete_quick and drop, on SQLite and on the throwaway MariaDB.

The schema has every shape a cascade meets: several levels, renamed foreign keys (twice to
the same parent), a diamond, a part reached through a foreign key other than its master's,
and a self-referencing hierarchy with a dependent table.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from runtime_support import counts, open_pipeline, table_names

from relflow_gen.runtime import MissingParentError, TierError
from relflow_gen.runtime.pipeline import Pipeline

SRC = """
schema casc

lookup BrainRegion {
    region_id: uint32
    ---
    acronym: varchar(32)
    -> [nullable] BrainRegion.proj(parent_id="region_id")
    contents {
        (1, "root", null)
        (2, "a", 1)
        (3, "b", 1)
        (4, "aa", 2)
        (5, "aaa", 4)
        (7, "aab", 4)
        (6, "c", null)
    }
}

manual Subject {
    subject_id: int32
}

manual Session {
    -> Subject
    session_id: int32
    part Trial {
        trial_id: int32
    }
}

manual Pair "two subjects: a renamed foreign key, twice" {
    -> Subject.proj(left_id="subject_id")
    -> Subject.proj(right_id="subject_id")
}

manual Stim {
    stim_id: int32
    part Use "reached through Session.Trial, not through its master" {
        -> Session.Trial
    }
}

manual A {
    -> Session
}

manual B {
    -> Session
}

manual D "a diamond: depends on Session through A and through B" {
    -> A
    -> B
}

manual Later "depends on D: a fourth level" {
    -> D
    note_id: int32
}

manual Placed {
    -> BrainRegion
    -> Subject
}
"""

SUBJECTS = (1, 2, 3)


@pytest.fixture
def db(db_url: str) -> Iterator[Pipeline]:
    pipeline = open_pipeline(SRC, db_url)
    t = pipeline.table
    t("Subject").insert([{"subject_id": s} for s in SUBJECTS])
    sessions = [{"subject_id": s, "session_id": j} for s in SUBJECTS for j in range(2)]
    t("Session").insert(sessions)
    t("Session.Trial").insert([dict(k, trial_id=i) for k in sessions for i in range(3)])
    t("Pair").insert([{"left_id": 1, "right_id": 2}, {"left_id": 3, "right_id": 1}, {"left_id": 2, "right_id": 3}])
    t("Stim").insert([{"stim_id": 1}, {"stim_id": 2}])
    t("Stim.Use").insert(
        [
            {"stim_id": 1, "subject_id": 1, "session_id": 0, "trial_id": 0},
            {"stim_id": 1, "subject_id": 2, "session_id": 1, "trial_id": 2},
            {"stim_id": 2, "subject_id": 2, "session_id": 0, "trial_id": 0},
        ]
    )
    for name in ("A", "B", "D"):
        t(name).insert(sessions)
    t("Later").insert([dict(k, note_id=1) for k in sessions])
    t("Placed").insert([{"region_id": 5, "subject_id": 2}, {"region_id": 3, "subject_id": 3}, {"region_id": 6, "subject_id": 1}])
    yield pipeline
    pipeline.close()


def test_cascade_through_every_dependent(db: Pipeline) -> None:
    before = counts(db)
    expected = {
        "casc.Subject": 1,
        "casc.Session": 2,
        "casc.Session.Trial": 6,
        "casc.Pair": 2,  # (1, 2) and (3, 1): both renamed references
        "casc.Stim": 1,  # stim 1 uses a trial of subject 1: the master goes ...
        "casc.Stim.Use": 2,  # ... with all its parts, also the one of subject 2
        "casc.A": 2,
        "casc.B": 2,
        "casc.D": 2,
        "casc.Later": 2,
        "casc.Placed": 1,
    }
    subject = db.table("Subject") & {"subject_id": 1}
    assert subject.delete(dry_run=True) == expected
    assert counts(db) == before  # a dry run changes nothing
    assert subject.delete() == expected
    after = counts(db)
    assert after == {name: n - expected.get(name, 0) for name, n in before.items()}
    assert db.table("Stim").fetch() == [{"stim_id": 2}]
    assert db.table("Pair").fetch() == [{"left_id": 2, "right_id": 3}]
    assert not (db.table("Session.Trial") & {"subject_id": 1})


def test_parts_go_with_their_master(db: Pipeline) -> None:
    session = db.table("Session") & {"subject_id": 3, "session_id": 1}
    deleted = session.delete()
    assert deleted == {
        "casc.Session": 1,
        "casc.Session.Trial": 3,
        "casc.A": 1,
        "casc.B": 1,
        "casc.D": 1,
        "casc.Later": 1,
    }
    assert len(db.table("Session.Trial") & {"subject_id": 3}) == 3


def test_deleting_from_a_part_alone_is_refused(db: Pipeline) -> None:
    trial = db.table("Session.Trial") & {"subject_id": 3, "session_id": 0, "trial_id": 1}
    with pytest.raises(TierError, match="part table: delete from its master casc.Session"):
        trial.delete()
    with pytest.raises(TierError):
        trial.delete(dry_run=True)
    assert len(trial) == 1
    assert trial.delete(force=True) == {"casc.Session.Trial": 1}
    assert len(db.table("Session") & {"subject_id": 3, "session_id": 0}) == 1


def test_forced_part_delete_still_cascades_to_dependents(db: Pipeline) -> None:
    trial = db.table("Session.Trial") & {"subject_id": 2, "session_id": 1, "trial_id": 2}
    # Stim.Use depends on this trial: stim 1 (and all of its parts) goes too
    assert trial.delete(force=True) == {"casc.Session.Trial": 1, "casc.Stim": 1, "casc.Stim.Use": 2}


def test_hierarchy_deletes_the_subtree(db: Pipeline) -> None:
    regions = db.table("BrainRegion")
    target = regions & {"region_id": 2}
    expected = {"casc.BrainRegion": 5 - 1, "casc.Placed": 1}  # 2, 4, 5, 7 and the subject placed in 5
    assert target.delete(dry_run=True) == expected
    assert target.delete() == expected
    assert sorted(r["region_id"] for r in regions.fetch()) == [1, 3, 6]
    assert sorted(r["region_id"] for r in db.table("Placed").fetch()) == [3, 6]


def test_hierarchy_from_the_root(db: Pipeline) -> None:
    deleted = (db.table("BrainRegion") & {"region_id": 1}).delete()
    assert deleted == {"casc.BrainRegion": 6, "casc.Placed": 2}
    assert db.table("BrainRegion").fetch() == [{"region_id": 6, "acronym": "c", "parent_id": None}]


def test_whole_table_and_sql_restrictions(db: Pipeline) -> None:
    assert (db.table("Subject") & "subject_id >= 2").delete()["casc.Subject"] == 2
    assert db.table("Subject").delete()["casc.Subject"] == 1
    assert counts(db)["casc.Session.Trial"] == 0
    assert db.table("Subject").delete() == {}


def test_restriction_by_another_query(db: Pipeline) -> None:
    placed = db.table("Placed") & {"region_id": 3}
    deleted = (db.table("Subject") & placed).delete()
    assert deleted["casc.Subject"] == 1
    assert [r["subject_id"] for r in db.table("Subject").fetch(order_by="subject_id")] == [1, 2]


def test_restriction_by_a_table_the_cascade_deletes_from(db: Pipeline) -> None:
    """The restriction reads Placed, which the cascade empties first: the keys are fixed up front."""
    target = db.table("Subject") & (db.table("Placed") & "region_id >= 5")  # subjects 2 and 1
    expected = {
        "casc.Subject": 2,
        "casc.Session": 4,
        "casc.Session.Trial": 12,
        "casc.Pair": 3,
        "casc.Stim": 2,
        "casc.Stim.Use": 3,
        "casc.A": 4,
        "casc.B": 4,
        "casc.D": 4,
        "casc.Later": 4,
        "casc.Placed": 2,
    }
    assert target.delete(dry_run=True) == expected
    assert target.delete() == expected
    assert db.table("Subject").fetch() == [{"subject_id": 3}]
    # an antijoin on a dependent table (subjects without sessions): nothing to delete
    assert (db.table("Subject") - db.table("Session")).delete() == {}


def test_hierarchy_with_several_levels_in_the_restriction(db: Pipeline) -> None:
    regions = db.table("BrainRegion")
    assert (regions & "region_id IN (2, 4, 5)").delete() == {"casc.BrainRegion": 4, "casc.Placed": 1}
    assert regions.delete() == {"casc.BrainRegion": 3, "casc.Placed": 2}
    assert len(regions) == 0


def test_delete_is_one_transaction(db: Pipeline) -> None:
    """A failure in the middle of a cascade leaves every row in place."""
    conn = db.connection
    backend = conn.backend
    session = db.meta.by_name["casc.Session"]
    outside = backend.table_ref("casc", "outside")
    q = backend.quote
    conn.execute(
        f"CREATE TABLE {outside} ({q('subject_id')} INTEGER NOT NULL, {q('session_id')} INTEGER NOT NULL, "
        f"FOREIGN KEY ({q('subject_id')}, {q('session_id')}) "
        f"REFERENCES {backend.table_ref(session.schema, session.sql_name)} ({q('subject_id')}, {q('session_id')}))"
    )
    conn.execute(f"INSERT INTO {outside} VALUES (1, 1)", ())
    before = counts(db)
    with pytest.raises(MissingParentError):
        (db.table("Subject") & {"subject_id": 1}).delete()
    assert not conn.in_transaction
    assert counts(db) == before  # the trials, A, B, D ... deleted before the failure are back
    conn.execute(f"DROP TABLE {outside}")


def test_delete_logs_what_it_deleted(db: Pipeline, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="relflow_gen")
    (db.table("Subject") & {"subject_id": 3}).delete()
    assert "casc.Subject: 1" in caplog.text


def test_delete_quick_does_not_cascade(db: Pipeline) -> None:
    assert (db.table("Later") & {"subject_id": 1}).delete_quick() == 2
    before = counts(db)
    with pytest.raises(MissingParentError):
        (db.table("Subject") & {"subject_id": 1}).delete_quick()
    assert counts(db) == before
    assert (db.table("Placed") & {"subject_id": 1}).delete_quick() == 1
    assert db.table("Pair").delete_quick() == 3
    assert db.table("Pair").delete_quick() == 0


def test_drop_takes_dependents_and_masters_of_parts(db: Pipeline) -> None:
    conn = db.connection
    ref = {t.full_name: conn.backend.table_ref(t.schema, t.sql_name) for t in db.meta.tables}
    expected = ["casc.Session", "casc.Session.Trial", "casc.Stim", "casc.Stim.Use", "casc.A", "casc.B", "casc.D", "casc.Later"]
    assert db.table("Session").drop(dry_run=True) == expected
    assert {ref[n] for n in expected} <= table_names(conn, db.meta)
    assert db.table("Session").drop() == expected
    left = table_names(conn, db.meta)
    assert not {ref[n] for n in expected} & left
    assert {ref["casc.Subject"], ref["casc.Pair"], ref["casc.Placed"], ref["casc.BrainRegion"]} <= left
    assert len(db.table("Subject")) == 3
    db.declare()  # re-creates what was dropped
    assert len(db.table("Session")) == 0 and len(db.table("Subject")) == 3


def test_drop_of_a_part_alone_is_refused(db: Pipeline) -> None:
    with pytest.raises(TierError, match="part table"):
        db.table("Stim.Use").drop()
    assert db.table("Stim.Use").drop(force=True) == ["casc.Stim.Use"]
    assert len(db.table("Stim")) == 2


def test_drop_of_a_restricted_table_is_refused(db: Pipeline) -> None:
    with pytest.raises(TierError, match="whole table"):
        (db.table("Subject") & {"subject_id": 1}).drop()


def test_drop_leaf_and_hierarchy(db: Pipeline) -> None:
    assert db.table("Later").drop() == ["casc.Later"]
    assert db.table("BrainRegion").drop() == ["casc.BrainRegion", "casc.Placed"]


def test_many_target_keys_fixed_up_front_are_deleted_in_chunks(db: Pipeline) -> None:
    n = 1200  # more than one chunk of keys
    db.table("Subject").insert([{"subject_id": 100 + i} for i in range(n)])
    db.table("Session").insert([{"subject_id": 100 + i, "session_id": 0} for i in range(n)])
    db.table("Placed").insert([{"region_id": 7, "subject_id": 100 + i} for i in range(n)])
    target = db.table("Subject") & (db.table("Placed") & {"region_id": 7})
    expected = {"casc.Subject": n, "casc.Session": n, "casc.Placed": n}
    assert target.delete(dry_run=True) == expected
    assert target.delete() == expected
    assert len(db.table("Subject")) == 3
