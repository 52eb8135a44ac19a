"""The jobs table: canonical key hashes, errors and ignores, reclaiming dead workers' reservations, heartbeat.

Every test runs on SQLite and on the throwaway MariaDB (``db_url``).
"""

from __future__ import annotations

import datetime as dt
import decimal
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from runtime_fixtures import pipeline_from

from relflow_gen.runtime import Maker
from relflow_gen.runtime.pipeline import Pipeline
from relflow_gen.runtime.populate import jobs as jobs_module
from relflow_gen.runtime.populate.jobs import JobStore, ServerClock, WorkerIdentity, pid_alive
from relflow_gen.runtime.populate.keys import canonical_key, hash_json, key_from_json, key_hash, key_json

SRC = """
schema jb

manual Sample {
    day: date
    amount: decimal(8, 2)
    tag: uuid
    ---
    note = "": varchar(40)
}

computed Result {
    -> Sample
    ---
    doubled: decimal(10, 2)
}
"""

TAGS = [uuid.UUID(int=i + 1) for i in range(4)]
FAIL_DAYS: set[dt.date] = set()


class MakeResult(Maker[Any, Any]):
    __table__ = "jb.Result"

    def make(self, key: Any) -> None:
        if key["day"] in FAIL_DAYS:
            raise ValueError(f"no data for {key['day']}")
        self.insert1({**key, "doubled": key["amount"] * 2})


@pytest.fixture
def jb(db_url: str) -> Iterator[Pipeline]:
    FAIL_DAYS.clear()
    db = pipeline_from(SRC, db_url, makers=[MakeResult])
    db.Sample.insert(
        [{"day": dt.date(2024, 1, i + 1), "amount": decimal.Decimal(f"{i}.50"), "tag": TAGS[i]} for i in range(4)]
    )
    yield db
    db.close()


def test_key_hash_is_canonical(jb: Pipeline) -> None:
    meta = jb.meta.by_name["jb.Result"]
    names = ["day", "amount", "tag"]
    typed = {"day": dt.date(2024, 1, 3), "amount": decimal.Decimal("2.50"), "tag": TAGS[2]}
    given = {"tag": str(TAGS[2]), "amount": "2.5", "day": "2024-01-03"}
    assert key_json(canonical_key(meta, given, names), names) == key_json(typed, names)
    text = key_json(typed, names)
    assert text == '{"day":"2024-01-03","amount":"2.50","tag":"00000000-0000-0000-0000-000000000003"}'
    assert key_hash(typed, names) == hash_json(text)
    assert key_from_json(meta, text) == typed


def test_errors_are_cleared_by_key_given_as_text(jb: Pipeline) -> None:
    db: Any = jb
    FAIL_DAYS.update({dt.date(2024, 1, 2), dt.date(2024, 1, 4)})
    report = db.Result.populate(suppress_errors=True)
    assert (report.made, report.failed) == (2, 2)
    errors = db.jobs.errors()
    assert {e.key["day"] for e in errors} == FAIL_DAYS
    assert errors[0].key["tag"] in TAGS and isinstance(errors[0].key["amount"], decimal.Decimal)
    assert db.jobs.counts() == {"jb.Result": {"error": 2}}
    FAIL_DAYS.clear()
    cleared = db.jobs.clear_errors("Result", {"day": "2024-01-02", "amount": "1.5", "tag": str(TAGS[1])})
    assert cleared == 1
    assert db.Result.populate().made == 1
    assert db.jobs.clear_errors() == 1
    assert db.Result.populate().made == 1


def test_ignored_keys_are_skipped_until_cleared(jb: Pipeline) -> None:
    db: Any = jb
    key = {"day": dt.date(2024, 1, 1), "amount": decimal.Decimal("0.50"), "tag": TAGS[0]}
    assert db.jobs.ignore("Result", [key]) == 1
    report = db.Result.populate(reserve_jobs=True)
    assert (report.made, report.skipped) == (3, 1)
    assert [j.key for j in db.jobs.ignored()] == [key]
    assert db.jobs.clear_ignored("Result", key) == 1
    assert db.Result.populate().made == 1


# ------------------------------------------------------------------ reclaim


def _reserve(db: Any, key: dict[str, Any], *, host: str, pid: int, conn_id: int = 0, age: float = 0.0) -> str:
    store = JobStore(db.connection, "jb")
    names = ["day", "amount", "tag"]
    me = WorkerIdentity(host, pid, db.connection.params.user or "someone", uuid.uuid4().hex, conn_id)
    now = ServerClock(db.connection).now() - dt.timedelta(seconds=age)
    text = key_json(key, names)
    assert store.reserve("jb.Result", [(hash_json(text), text)], me, now)
    return me.token


def _keys(db: Any) -> list[dict[str, Any]]:
    return [{"day": k["day"], "amount": k["amount"], "tag": k["tag"]} for k in db.Sample.keys(order_by="KEY")]


def _zombie() -> int | None:
    """A child process that has exited but is not reaped (Linux), or None."""
    if not sys.platform.startswith("linux"):
        return None
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    deadline = time.monotonic() + 10
    while pid_alive(pid):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return pid


def test_reservations_of_dead_workers_are_reclaimed(jb: Pipeline) -> None:
    db: Any = jb
    here = socket.gethostname()
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()  # exited and reaped: its pid is gone
    keys = _keys(db)
    _reserve(db, keys[0], host=here, pid=done.pid)
    _reserve(db, keys[1], host="elsewhere", pid=1, age=0.0)  # alive as far as anyone can tell
    _reserve(db, keys[2], host="elsewhere", pid=1, age=3600.0)  # no heartbeat for an hour
    zombie = _zombie()
    try:
        if zombie is not None:
            assert os.kill(zombie, 0) is None  # the process table still has it
            _reserve(db, keys[3], host=here, pid=zombie)  # exited but not reaped: dead
        reclaimed = db.jobs.reclaim()
    finally:
        if zombie is not None:
            os.waitpid(zombie, 0)
    expected = [keys[0], keys[2]] + ([keys[3]] if zombie is not None else [])
    assert sorted(str(j.key["day"]) for j in reclaimed) == sorted(str(k["day"]) for k in expected)
    assert [j.key for j in db.jobs.reserved()] == [keys[1]]
    report = db.Result.populate(reserve_jobs=True)
    assert (report.made, report.skipped, report.busy) == (3, 1, 1)


def test_closed_connection_means_a_dead_worker_on_mysql(jb: Pipeline) -> None:
    db: Any = jb
    if db.connection.backend.name != "mysql":
        pytest.skip("SQLite has no connection ids")
    other = db.connection.reopen()
    gone = other.connection_id
    other.close()
    deadline = time.monotonic() + 10
    while gone in (db.connection.backend.live_connections(db.connection._cursor) or {}):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    keys = _keys(db)
    _reserve(db, keys[0], host="elsewhere", pid=1, conn_id=gone)
    _reserve(db, keys[1], host="elsewhere", pid=1, conn_id=db.connection.connection_id)
    reclaimed = db.jobs.reclaim()
    assert [j.key for j in reclaimed] == [keys[0]]


def test_populate_reclaims_before_it_starts(jb: Pipeline) -> None:
    db: Any = jb
    keys = _keys(db)
    _reserve(db, keys[0], host="elsewhere", pid=1, age=3600.0)
    report = db.Result.populate(reserve_jobs=True)
    assert (report.made, report.skipped) == (4, 0)
    assert db.jobs.fetch() == []


HEARTBEATS: list[dt.datetime] = []
#: how long make() waits for the heartbeat thread to move the reservation (generous: a loaded machine)
HEARTBEAT_PATIENCE = 60.0


class SlowResult(MakeResult):
    """A make() that returns only once the heartbeat of its reservation has moved (or after the patience)."""

    def make(self, key: Any) -> None:
        def beat() -> dt.datetime | None:
            return next((j.heartbeat for j in self.db.jobs.reserved()), None)

        first = beat()
        assert first is not None
        HEARTBEATS.append(first)
        deadline = time.monotonic() + HEARTBEAT_PATIENCE
        while time.monotonic() < deadline:
            now = beat()
            if now is not None and now > first:
                HEARTBEATS.append(now)
                break
            time.sleep(0.02)
        super().make(key)


def test_heartbeat_moves_while_make_runs(jb: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    db: Any = jb
    monkeypatch.setattr(jobs_module, "HEARTBEAT_SECONDS", 0.1)
    HEARTBEATS.clear()
    report = db.Result.populate({"day": dt.date(2024, 1, 1)}, reserve_jobs=True, maker=SlowResult)
    assert report.made == 1
    assert len(HEARTBEATS) == 2, f"the heartbeat did not move in {HEARTBEAT_PATIENCE} s"
    assert HEARTBEATS[1] > HEARTBEATS[0]
