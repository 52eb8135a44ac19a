"""Many workers: exactly-once makes across processes, SIGKILL mid-make and reclaim.

Every test runs on SQLite and on the throwaway MariaDB (``db_url``).  make()
counts its calls in a side table (``Call``), written outside the result
transaction, so a key made twice would show two calls.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from runtime_fixtures import pipeline_from

from relflow_gen.runtime import Maker, U
from relflow_gen.runtime.pipeline import Pipeline
from relflow_gen.runtime.populate.run import PopulateError

WORK = """
schema wk

manual Src {
    src_id: int32
    ---
    value: float64
}

manual MakeCall "one row per make() call" {
    call_id: char(32)
    ---
    src_id: int32
    pid: int32
}

computed Dst {
    -> Src
    ---
    doubled: float64
}

imported Slow {
    -> Src
    ---
    value: float64
    part Piece {
        piece: int32
        ---
        x: float64
    }
}
"""

N_KEYS = 2000
FAIL_KEYS: set[int] = set()


class MakeDst(Maker[Any, Any]):
    __table__ = "wk.Dst"

    def make(self, key: Any) -> None:
        self.db.MakeCall.insert1({"call_id": uuid.uuid4().hex, "src_id": key["src_id"], "pid": os.getpid()})
        if key["src_id"] in FAIL_KEYS:
            raise ValueError(f"cannot make {key['src_id']}")
        src = (self.db.Src & key).fetch1()
        self.insert1({**key, "doubled": src["value"] * 2})


FLAG_DIR: list[Path] = []


class MakeSlow(Maker[Any, Any]):
    __table__ = "wk.Slow"
    __parts__ = (("Piece", "wk.Slow.Piece"),)

    def make(self, key: Any) -> None:
        self.Piece.insert([{**key, "piece": i, "x": float(i)} for i in range(3)])
        if key["src_id"] == 0 and FLAG_DIR:  # block until killed
            (FLAG_DIR[0] / "started").write_text(str(os.getpid()))
            while True:
                time.sleep(0.05)
        self.insert1({**key, "value": 1.0})


@pytest.fixture
def wk(db_url: str) -> Iterator[Pipeline]:
    FAIL_KEYS.clear()
    FLAG_DIR.clear()
    db = pipeline_from(WORK, db_url, makers=[MakeDst, MakeSlow])
    db.Src.insert([{"src_id": i, "value": float(i)} for i in range(N_KEYS)])
    yield db
    FAIL_KEYS.clear()
    FLAG_DIR.clear()
    db.close()


def _calls_per_key(db: Any) -> tuple[int, int]:
    """(make calls, distinct keys called)."""
    return len(db.MakeCall), len(U("src_id") & db.MakeCall)


def test_four_processes_make_each_key_exactly_once(wk: Pipeline) -> None:
    db: Any = wk
    report = db.Dst.populate(processes=4)
    assert (report.made, report.failed) == (N_KEYS, 0)
    assert len(db.Dst) == N_KEYS
    assert _calls_per_key(db) == (N_KEYS, N_KEYS)
    assert len(U("pid") & db.MakeCall) >= 2  # the work was shared
    assert db.jobs.fetch() == []


def _independent_worker(pipeline_cls: type[Pipeline], params: Any) -> None:
    from relflow_gen.runtime.engine.connection import Connection

    db: Any = pipeline_cls(Connection(params), declare=False, makers=[MakeDst])
    try:
        db.Dst.populate(reserve_jobs=True, order="random")
    finally:
        db.close()


def test_independent_workers_share_the_work_through_the_jobs_table(wk: Pipeline) -> None:
    """Four separate populate(reserve_jobs=True) calls, as on four machines: each has its own key list."""
    db: Any = wk
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_independent_worker, args=(type(db), db.connection.params)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    assert len(db.Dst) == N_KEYS
    assert _calls_per_key(db) == (N_KEYS, N_KEYS)
    assert db.jobs.fetch() == []


def test_worker_processes_record_failures(wk: Pipeline) -> None:
    db: Any = wk
    FAIL_KEYS.update({7, 1234})
    report = db.Dst.populate("src_id < 1500", processes=3, suppress_errors=True)
    assert (report.made, report.failed) == (1498, 2)
    assert sorted(e.key["src_id"] for e in report.errors) == [7, 1234]
    assert sorted(j.key["src_id"] for j in db.jobs.errors()) == [7, 1234]
    FAIL_KEYS.clear()
    assert db.jobs.retry("Dst", processes=2).made == N_KEYS - 1498


def test_a_failing_worker_process_stops_the_others(wk: Pipeline) -> None:
    db: Any = wk
    FAIL_KEYS.add(5)
    with pytest.raises(PopulateError, match="cannot make 5"):
        db.Dst.populate(processes=2)
    assert 0 < len(db.Dst) < N_KEYS
    assert [j.key for j in db.jobs.errors()] == [{"src_id": 5}]
    assert db.jobs.reserved() == []


def test_max_calls_bounds_all_processes_together(wk: Pipeline) -> None:
    db: Any = wk
    report = db.Dst.populate(processes=3, max_calls=50)
    assert report.made == 50 and len(db.MakeCall) == 50


def _blocking_worker(pipeline_cls: type[Pipeline], params: Any, flags: Path) -> None:
    from relflow_gen.runtime.engine.connection import Connection

    FLAG_DIR[:] = [flags]
    db: Any = pipeline_cls(Connection(params), declare=False, makers=[MakeSlow])
    db.Slow.populate("src_id < 5", reserve_jobs=True)


def test_worker_killed_mid_make_leaves_nothing_and_its_key_is_made_after_reclaim(wk: Pipeline, tmp_path: Path) -> None:
    db: Any = wk
    ctx = multiprocessing.get_context("fork")
    proc = ctx.Process(target=_blocking_worker, args=(type(db), db.connection.params, tmp_path))
    proc.start()
    started = tmp_path / "started"
    deadline = time.monotonic() + 60
    while not started.exists():
        assert proc.is_alive() and time.monotonic() < deadline
        time.sleep(0.02)
    held = db.jobs.reserved()
    assert [(j.key, j.pid) for j in held] == [({"src_id": 0}, proc.pid)]
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(timeout=30)
    assert proc.exitcode == -signal.SIGKILL

    assert len(db.Slow & {"src_id": 0}) == 0 and len(db.Slow.Piece & {"src_id": 0}) == 0
    assert [j.key for j in db.jobs.reserved()] == [{"src_id": 0}]  # the dead worker's reservation
    before = len(db.Slow)
    report = db.Slow.populate("src_id < 5", reserve_jobs=True)  # reclaims it
    assert (report.made, report.failed, report.skipped) == (5 - before, 0, 0)
    assert len(db.Slow) == 5 and len(db.Slow.Piece) == 15
    assert db.jobs.fetch() == []
