"""populate(): key sources, atomic makes with parts, restrictions, errors, contract, provenance.

Every test runs on SQLite and on the throwaway MariaDB (``db_url``).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from runtime_fixtures import pipeline_from

from relflow_gen.runtime import InsertError, MakeError, Maker, MissingParentError
from relflow_gen.runtime.pipeline import Pipeline
from relflow_gen.runtime.populate.run import (
    MissingMakerError,
    PopulateError,
    code_fingerprint,
    default_key_source,
    parents_join,
)

LAB = """
schema lab

manual Subject {
    subject_id: int32
    ---
    name: varchar(32)
}

manual Session {
    -> Subject
    session_id: int32
    ---
    day: date
}

lookup Param {
    param_id: int32
    ---
    scale: float64
    contents {
        (1, 1.0)
        (2, 2.0)
    }
}

imported Recording {
    -> Session
    ---
    n_units: int32
    part Unit {
        unit_id: int32
        ---
        value: float64
    }
}

computed Stat {
    -> Recording
    -> Param.proj(p="param_id")
    ---
    total: float64
}
"""

#: (subject_id, session_id) of recordings whose make fails after collecting its part rows
FAIL_ON: set[tuple[int, int]] = set()


class MakeRecording(Maker[Any, Any]):
    __table__ = "lab.Recording"
    __parts__ = (("Unit", "lab.Recording.Unit"),)

    def make(self, key: Any) -> None:
        units = [{**key, "unit_id": u, "value": float(u + key["session_id"])} for u in range(3)]
        self.Unit.insert(units)  # parts first: a failure afterwards must leave none of them
        if (key["subject_id"], key["session_id"]) in FAIL_ON:
            raise RuntimeError(f"broken recording {key['subject_id']}/{key['session_id']}")
        self.insert1({**key, "n_units": len(units)})


class MakeStat(Maker[Any, Any]):
    __table__ = "lab.Stat"

    def make(self, key: Any) -> None:
        rec = {"subject_id": key["subject_id"], "session_id": key["session_id"]}
        values = (self.db.Recording.Unit & rec).column("value")
        scale = (self.db.Param & {"param_id": key["p"]}).fetch1()["scale"]
        self.insert1({**key, "total": scale * sum(values)})


@pytest.fixture
def lab(db_url: str) -> Iterator[Pipeline]:
    FAIL_ON.clear()
    db = pipeline_from(LAB, db_url, makers=[MakeRecording, MakeStat])
    db.Subject.insert([{"subject_id": s, "name": f"s{s}"} for s in range(3)])
    db.Session.insert([{"subject_id": s, "session_id": i, "day": "2024-05-01"} for s in range(3) for i in range(4)])
    yield db
    FAIL_ON.clear()
    db.close()


def keys_of(q: Any) -> set[tuple[Any, ...]]:
    return {tuple(k.values()) for k in q.keys()}


# ------------------------------------------------------------------ the happy path


def test_three_levels_with_parts_and_provenance(lab: Pipeline) -> None:
    db: Any = lab
    assert db.Recording.progress() == (0, 12)
    assert db.Stat.progress() == (0, 0)
    report = db.Recording.populate()
    assert (report.made, report.failed, report.skipped, report.keys) == (12, 0, 0, 12)
    assert len(db.Recording) == 12 and len(db.Recording.Unit) == 36
    assert db.Stat.progress() == (0, 24)
    report = db.Stat.populate()
    assert (report.made, report.failed) == (24, 0)
    row = (db.Stat & {"subject_id": 1, "session_id": 2, "p": 2}).fetch1()
    assert row["total"] == 2.0 * (2 + 3 + 4)
    assert db.Stat.progress() == (24, 24)
    again = db.populate_all()
    assert (again.made, again.failed, again.keys) == (0, 0, 0)

    prov = db.Stat.provenance()
    assert len(prov) == 24
    assert {p["made_by"] for p in prov} == {f"{socket.gethostname()}:{os.getpid()}"}
    assert {p["make_hash"] for p in prov} == {code_fingerprint(MakeStat)}
    assert all(p["make_seconds"] >= 0 and p["made_at"] is not None for p in prov)
    one = db.Recording.provenance({"subject_id": 0, "session_id": 1})
    assert [(p["subject_id"], p["session_id"]) for p in one] == [(0, 1)]
    assert (db.Recording & {"subject_id": 0}).provenance()[0]["subject_id"] == 0
    assert "_made_at" not in db.Stat.fetch(limit=1)[0]
    assert len(code_fingerprint(MakeStat)) == 16


def test_key_source_semantics(lab: Pipeline) -> None:
    db: Any = lab
    meta = db.Stat.meta
    assert keys_of(parents_join(db, meta)) == set()
    db.Recording.populate({"subject_id": 0})
    joined = parents_join(db, meta)
    assert set(joined.primary_key) == {"subject_id", "session_id", "p"}
    assert len(joined) == 8
    db.Stat.populate({"p": 1})
    assert keys_of(default_key_source(db, meta)) == {(0, s, 2) for s in range(4)}
    assert keys_of(db.Stat.key_source()) == {(0, s, 2) for s in range(4)}
    assert db.Stat.progress() == (4, 8)


class EarlySessions(MakeRecording):
    def key_source(self) -> Any:
        return self.parent_keys() & "session_id < 2"


def test_maker_key_source_override(lab: Pipeline) -> None:
    db: Any = lab
    db.register(EarlySessions)
    assert db.Recording.progress() == (0, 6)
    report = db.Recording.populate()
    assert report.made == 6
    assert keys_of(db.Recording) == {(s, i) for s in range(3) for i in range(2)}
    assert db.Recording.populate().made == 0


@pytest.mark.parametrize("reserve", [False, True])
def test_restrictions_are_honoured(lab: Pipeline, reserve: bool) -> None:
    db: Any = lab
    assert db.Recording.populate({"subject_id": 1}, reserve_jobs=reserve).made == 4
    assert keys_of(db.Recording) == {(1, i) for i in range(4)}
    assert db.Recording.populate("session_id >= 2", {"subject_id": 2}, reserve_jobs=reserve).made == 2
    assert keys_of(db.Recording) == {(1, i) for i in range(4)} | {(2, 2), (2, 3)}
    early = db.Session & "session_id = 0"
    assert db.Recording.populate(early, reserve_jobs=reserve).made == 2  # (0, 0) and (2, 0)
    assert (0, 0) in keys_of(db.Recording) and (2, 0) in keys_of(db.Recording)
    assert db.Recording.populate([{"subject_id": 0, "session_id": 3}], reserve_jobs=reserve).made == 1
    assert len(db.Recording) == 9
    assert db.jobs.fetch() == []  # reservations are released


def test_populate_all_runs_in_dependency_order(lab: Pipeline) -> None:
    db: Any = lab
    report = db.populate_all()
    assert [r.table for r in report.tables] == ["lab.Recording", "lab.Stat"]
    assert (report.made, report.failed) == (36, 0)
    assert len(db.Stat) == 24


def test_populate_all_reports_tables_without_maker(db_url: str) -> None:
    db: Any = pipeline_from(LAB, db_url, makers=[MakeStat])
    report = db.populate_all()
    assert report.no_maker == ["lab.Recording"]
    assert "no maker registered for lab.Recording" in str(report)
    with pytest.raises(MissingMakerError, match=r"lab\.Recording.*Maker"):
        db.Recording.populate()
    db.close()


def test_order_and_max_calls(lab: Pipeline) -> None:
    db: Any = lab
    assert db.Recording.populate(max_calls=5).made == 5
    assert len(db.Recording) == 5
    db.Recording.delete()
    db.Recording.populate(order="reverse", max_calls=3)
    assert keys_of(db.Recording) == {(2, 3), (2, 2), (2, 1)}
    assert db.Recording.populate(order="random").made == 9
    with pytest.raises(ValueError, match="order"):
        db.Recording.populate(order="sideways")


def test_group_commit_off_gives_the_same_result(lab: Pipeline) -> None:
    db: Any = lab
    report = db.populate_all(group_commit=False)
    assert (report.made, len(db.Recording.Unit), len(db.Stat)) == (36, 36, 24)


def test_populate_refuses_to_run_inside_a_transaction(lab: Pipeline) -> None:
    db: Any = lab
    with db.connection.transaction():
        with pytest.raises(PopulateError, match="transaction"):
            db.Recording.populate()


def test_only_auto_tables_populate(lab: Pipeline) -> None:
    from relflow_gen.runtime import TierError
    from relflow_gen.runtime.populate.run import populate

    with pytest.raises(TierError, match="manual"):
        populate(lab, "Session")
    with pytest.raises(TierError, match="manual"):
        lab.populate_all(tables=["Session"])


# ------------------------------------------------------------------ failures


def _no_rows_for(db: Any, subject: int, session: int) -> bool:
    key = {"subject_id": subject, "session_id": session}
    return len(db.Recording & key) == 0 and len(db.Recording.Unit & key) == 0


def test_failing_make_without_suppress_raises_after_recording(lab: Pipeline) -> None:
    db: Any = lab
    FAIL_ON.add((1, 2))
    with pytest.raises(RuntimeError, match="broken recording 1/2"):
        db.Recording.populate(reserve_jobs=True)
    assert _no_rows_for(db, 1, 2)
    made = keys_of(db.Recording)
    assert made == {(0, i) for i in range(4)} | {(1, 0), (1, 1)}  # the keys before it are committed
    assert len(db.Recording.Unit) == 3 * len(made)
    errors = db.jobs.errors()
    assert [(e.table, e.key) for e in errors] == [("lab.Recording", {"subject_id": 1, "session_id": 2})]
    assert db.jobs.reserved() == []  # the rest of the reserved batch is released


def test_failing_make_with_suppress_errors_and_retry(lab: Pipeline) -> None:
    db: Any = lab
    FAIL_ON.update({(1, 2), (2, 0)})
    report = db.Recording.populate(suppress_errors=True)
    assert (report.made, report.failed) == (10, 2)
    assert sorted(e.key["subject_id"] for e in report.errors) == [1, 2]
    assert all("Traceback" in e.traceback and "broken recording" in e.traceback for e in report.errors)
    assert _no_rows_for(db, 1, 2) and _no_rows_for(db, 2, 0)
    assert len(db.Recording.Unit) == 30

    errors = db.jobs.errors("Recording")
    assert len(errors) == 2
    for e in errors:
        assert e.status == "error"
        assert e.error_message.startswith("RuntimeError: broken recording")
        assert "Traceback (most recent call last)" in e.error_stack and "in make" in e.error_stack
        assert e.host == socket.gethostname() and e.pid == os.getpid()
        assert e.reserved_at is not None

    later = db.Recording.populate()  # error keys are skipped until cleared
    assert (later.made, later.failed, later.skipped) == (0, 0, 2)

    FAIL_ON.clear()  # "fix the code"
    assert db.jobs.clear_errors("Recording", {"subject_id": 2, "session_id": 0}) == 1
    assert db.Recording.populate().made == 1
    retried = db.jobs.retry("Recording")
    assert (retried.made, retried.failed) == (1, 0)
    assert db.jobs.errors() == [] and len(db.Recording) == 12 and len(db.Recording.Unit) == 36


class NoMaster(MakeRecording):
    def make(self, key: Any) -> None:
        self.Unit.insert1({**key, "unit_id": 1, "value": 1.0})


class WrongMasterKey(MakeRecording):
    def make(self, key: Any) -> None:
        self.insert1({**key, "session_id": key["session_id"] + 100, "n_units": 0})


class WrongPartKey(MakeRecording):
    def make(self, key: Any) -> None:
        self.insert1({**key, "n_units": 1})
        self.Unit.insert1({**key, "subject_id": key["subject_id"] + 1, "unit_id": 1, "value": 1.0})


class DuplicateParts(MakeRecording):
    def make(self, key: Any) -> None:
        self.insert1({**key, "n_units": 2})
        self.Unit.insert([{**key, "unit_id": 1, "value": 1.0}, {**key, "unit_id": 1, "value": 2.0}])


class BadValue(MakeRecording):
    def make(self, key: Any) -> None:
        self.insert1({**key, "n_units": "many"})


class MissingKeyAttribute(MakeRecording):
    def make(self, key: Any) -> None:
        self.insert1({"subject_id": key["subject_id"], "n_units": 1})


@pytest.mark.parametrize(
    ("maker", "error", "message"),
    [
        (NoMaster, MakeError, "inserted no row into lab.Recording"),
        (WrongMasterKey, MakeError, "rows must carry the key"),
        (WrongPartKey, MakeError, "into lab.Recording.Unit with subject_id="),
        (DuplicateParts, MakeError, "same primary key"),
        (BadValue, InsertError, "n_units"),
        (MissingKeyAttribute, InsertError, "session_id"),
    ],
)
def test_contract_violations_are_recorded(
    lab: Pipeline, maker: type[Maker[Any, Any]], error: type, message: str
) -> None:
    db: Any = lab
    report = db.Recording.populate({"subject_id": 0}, maker=maker, suppress_errors=True)
    assert (report.made, report.failed) == (0, 4)
    assert {e.error_type for e in report.errors} == {error.__name__}
    assert all(message in e.message for e in report.errors), report.errors[0].message
    assert len(db.Recording) == 0 and len(db.Recording.Unit) == 0
    assert len(db.jobs.errors()) == 4
    with pytest.raises(error):
        db.Recording.populate({"subject_id": 1}, maker=maker)


class DeletesItsInput(MakeRecording):
    def make(self, key: Any) -> None:
        super().make(key)
        if key == {"subject_id": 0, "session_id": 1}:  # someone deletes the input while make() runs
            (self.db.Session & key).delete_quick()


def test_inputs_deleted_meanwhile_is_an_error(lab: Pipeline) -> None:
    db: Any = lab
    report = db.Recording.populate({"subject_id": 0}, maker=DeletesItsInput, suppress_errors=True)
    assert (report.made, report.failed) == (3, 1)
    assert report.errors[0].error_type == MissingParentError.__name__
    assert "deleted while make() ran" in report.errors[0].message
    # the error names the parent row actually missing, with its values
    assert "no such row in lab.Session: row 0 (subject_id=0, session_id=1)" in report.errors[0].message
    assert len(db.Recording.Unit) == 9


class MadeByAnotherWorker(MakeRecording):
    def make(self, key: Any) -> None:
        super().make(key)
        if key["session_id"] == 2:  # another worker commits the same key first
            self.db.Recording.insert1({**key, "n_units": -1}, allow_direct_insert=True)


@pytest.mark.parametrize("group_commit", [True, False])
def test_key_made_meanwhile_by_another_worker_is_skipped(lab: Pipeline, group_commit: bool) -> None:
    db: Any = lab
    report = db.Recording.populate(maker=MadeByAnotherWorker, group_commit=group_commit)
    assert (report.made, report.failed, report.skipped) == (9, 0, 3)
    assert len(db.Recording & "n_units = -1") == 3
    assert len(db.Recording.Unit) == 27  # the skipped keys' parts are not written either


def test_missing_maker_error_names_the_base_class(lab: Pipeline) -> None:
    db: Any = lab
    db._makers.clear()
    with pytest.raises(MissingMakerError, match=r"no make\(\) is registered for lab\.Stat.*--makers"):
        db.Stat.populate()
    with pytest.raises(MissingMakerError, match="makes lab.Recording, not lab.Stat"):
        db.Stat.populate(maker=MakeRecording)


class NumpyValues(MakeRecording):
    """Values the checkers convert (numpy scalars); the same row shape key after key."""

    def make(self, key: Any) -> None:
        import numpy as np

        self.insert1({**key, "n_units": np.int64(2)})
        self.Unit.insert([{**key, "unit_id": np.int32(u), "value": np.float32(0.5) * u} for u in range(2)])


def test_values_are_converted_like_any_insert(lab: Pipeline) -> None:
    db: Any = lab
    report = db.Recording.populate({"subject_id": 0}, maker=NumpyValues)
    assert report.made == 4
    rows = db.Recording.Unit.fetch(order_by="KEY")
    assert [type(r["unit_id"]) for r in rows] == [int] * 8
    assert [r["value"] for r in rows[:2]] == [0.0, 0.5]
    assert {r["n_units"] for r in db.Recording.fetch()} == {2}
