"""Workers that survive: make timeouts, long makes, reconnects, retries.

Every test runs on SQLite and on the throwaway MariaDB (``db_url``) unless it
needs server connections (KILL).  make() counts its calls in a side table
(``MakeCall``), written outside the result transaction, so a key made twice
would show two calls.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from runtime_fixtures import BACKENDS, pipeline_from

from relflow_gen.runtime import Maker, U
from relflow_gen.runtime.errors import ConnectError
from relflow_gen.runtime.pipeline import Pipeline
from relflow_gen.runtime.populate.execute import MakeTimeout

WORK = """
schema sv

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
"""

N_KEYS = 300
HANG_KEYS: set[int] = set()
SLOW_KEYS: dict[int, float] = {}
FLAKY: dict[int, int] = {}  # src_id -> failures left


class MakeDst(Maker[Any, Any]):
    __table__ = "sv.Dst"

    def make(self, key: Any) -> None:
        src_id = key["src_id"]
        self.db.MakeCall.insert1({"call_id": uuid.uuid4().hex, "src_id": src_id, "pid": os.getpid()})
        if src_id in HANG_KEYS:
            while True:  # a make that never returns
                time.sleep(0.05)
        if src_id in SLOW_KEYS:
            time.sleep(SLOW_KEYS[src_id])
        if FLAKY.get(src_id, 0) > 0:
            FLAKY[src_id] -= 1
            raise OSError(f"flaky file system reading {src_id}")
        src = (self.db.Src & key).fetch1()
        self.insert1({**key, "doubled": src["value"] * 2})


@pytest.fixture
def sv(db_url: str) -> Iterator[Pipeline]:
    HANG_KEYS.clear()
    SLOW_KEYS.clear()
    FLAKY.clear()
    db = pipeline_from(WORK, db_url, makers=[MakeDst])
    db.Src.insert([{"src_id": i, "value": float(i)} for i in range(N_KEYS)])
    yield db
    HANG_KEYS.clear()
    SLOW_KEYS.clear()
    FLAKY.clear()
    db.close()


def _calls(db: Any) -> tuple[int, int]:
    """(make calls, distinct keys called)."""
    return len(db.MakeCall), len(U("src_id") & db.MakeCall)


def _in_thread(action: Any) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(action())
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            out.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def test_a_hanging_make_is_stopped_and_the_other_keys_are_made_promptly(sv: Pipeline) -> None:
    """One make that never returns among 300 keys, two workers: the other 299 are committed long
    before the timeout; the hung key ends as a timeout error with its duration."""
    db: Any = sv
    HANG_KEYS.add(40)
    timeout = 25.0  # generous: on a loaded machine 299 forked makes take several seconds
    other: Any = db.reopener()()
    started = time.monotonic()
    thread, out = _in_thread(lambda: other.Dst.populate(processes=2, make_timeout=timeout, suppress_errors=True))
    while len(db.Dst) < N_KEYS - 1:
        assert time.monotonic() - started < timeout - 2, f"only {len(db.Dst)} keys committed"
        time.sleep(0.1)
    assert thread.is_alive()  # the hung make still runs, the others are committed
    thread.join(timeout=120)
    other.close()
    report = out[0]
    assert not isinstance(report, BaseException), report
    assert (report.made, report.failed) == (N_KEYS - 1, 1)
    assert report.errors[0].error_type == "MakeTimeout"
    assert time.monotonic() - started < timeout + 30
    [job] = db.jobs.errors()
    assert job.key == {"src_id": 40}
    assert job.error_message.startswith("MakeTimeout: make() for sv.Dst {src_id=40} ran past make_timeout=25 s")
    assert "stopped after 2" in job.error_message  # 25.x s
    assert db.jobs.reserved() == []
    assert _calls(db) == (N_KEYS, N_KEYS)  # each key called once (the hung one too)


def test_make_timeout_raises_without_suppress_errors(sv: Pipeline) -> None:
    db: Any = sv
    HANG_KEYS.add(3)
    with pytest.raises(MakeTimeout, match=r"make\(\) for sv.Dst \{src_id=3\} ran past make_timeout=1 s"):
        db.Dst.populate("src_id < 10", make_timeout=1)
    assert len(db.Dst) == 3  # the results made before the hung key are committed


def test_make_timeout_is_a_maker_setting(sv: Pipeline) -> None:
    db: Any = sv

    class Limited(MakeDst):
        make_timeout = 1.0

    HANG_KEYS.add(2)
    report = db.Dst.populate("src_id < 5", maker=Limited, suppress_errors=True)
    assert (report.made, report.failed) == (4, 1)
    assert "make_timeout=1 s" in db.jobs.errors()[0].error_message


def test_a_timeout_is_rejected_when_not_positive(sv: Pipeline) -> None:
    db: Any = sv
    with pytest.raises(ValueError, match="make_timeout must be a positive number"):
        db.Dst.populate(make_timeout=0)


def test_a_long_make_releases_the_keys_not_started_so_another_worker_makes_them(sv: Pipeline) -> None:
    """Without a timeout: a worker whose make runs long commits what it made and releases the rest
    of its batch; an independent worker started meanwhile makes them."""
    db: Any = sv
    SLOW_KEYS[60] = 6.0
    first: Any = db.reopener()()
    thread, out = _in_thread(lambda: first.Dst.populate(reserve_jobs=True))
    deadline = time.monotonic() + 60
    while not len(db.MakeCall & {"src_id": 60}):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(1.6)  # past the long-make threshold
    assert len(db.Dst) >= 60  # finished results were committed while the slow make runs
    held = db.jobs.reserved()
    assert [j.key for j in held] == [{"src_id": 60}]  # the rest of its batch was released
    second: Any = db.reopener()()
    report2 = second.Dst.populate(reserve_jobs=True)
    second.close()
    thread.join(timeout=120)
    first.close()
    report1 = out[0]
    assert not isinstance(report1, BaseException), report1
    assert report2.made > 0
    assert report1.made + report2.made == N_KEYS
    assert _calls(db) == (N_KEYS, N_KEYS)
    assert db.jobs.fetch() == []


def test_retry_policy_calls_make_again_on_listed_exceptions(sv: Pipeline) -> None:
    db: Any = sv

    class Patient(MakeDst):
        retries = 2
        retry_on = (OSError,)
        retry_backoff = 0.01

    FLAKY.update({1: 2, 2: 3})  # key 1 succeeds at its third attempt; key 2 fails a third time
    report = db.Dst.populate("src_id < 4", maker=Patient, suppress_errors=True)
    assert (report.made, report.failed) == (3, 1)
    [job] = db.jobs.errors()
    assert job.key == {"src_id": 2}
    assert job.error_message == "OSError: flaky file system reading 2 (after 3 attempts)"
    assert len(db.MakeCall & {"src_id": 1}) == 3 and len(db.MakeCall & {"src_id": 2}) == 3


def test_exceptions_not_listed_are_not_retried(sv: Pipeline) -> None:
    db: Any = sv

    class Picky(MakeDst):
        retries = 3
        retry_on = (TimeoutError,)

    FLAKY[1] = 1
    report = db.Dst.populate("src_id < 3", maker=Picky, suppress_errors=True)
    assert (report.made, report.failed) == (2, 1)
    assert db.jobs.errors()[0].error_message == "OSError: flaky file system reading 1"


def test_empty_exception_messages_are_recorded_by_type(sv: Pipeline) -> None:
    db: Any = sv

    class Mute(MakeDst):
        def make(self, key: Any) -> None:
            raise RuntimeError()

    report = db.Dst.populate("src_id < 1", maker=Mute, suppress_errors=True)
    assert report.failed == 1
    assert db.jobs.errors()[0].error_message == "RuntimeError (no message)"


# -- reconnect (MariaDB: connections the server can kill) ----------------------------------


@pytest.fixture
def sv_mysql(sv: Pipeline) -> Pipeline:
    if sv.connection.params.backend != "mysql":
        pytest.skip("SQLite has no server connection to lose")
    return sv


def _kill(db: Any, connection_id: int) -> None:
    db.connection.execute(f"KILL {int(connection_id)}")


def test_a_killed_connection_is_reestablished_outside_a_transaction(sv_mysql: Pipeline) -> None:
    db: Any = sv_mysql
    other: Any = db.reopener()()
    other.connection.reconnect_seconds = 5.0
    before = other.connection.connection_id
    _kill(db, before)
    assert len(other.Src) == N_KEYS  # the lost connection is replaced, the query runs again
    assert other.connection.connection_id != before
    other.close()


def test_a_killed_connection_is_an_error_with_a_message_when_reconnect_is_off(sv_mysql: Pipeline) -> None:
    db: Any = sv_mysql
    other: Any = db.reopener()()
    _kill(db, other.connection.connection_id)
    with pytest.raises(ConnectError) as info:
        len(other.Src)
    first = str(info.value).splitlines()[0]
    assert first.strip()
    with pytest.raises(ConnectError) as again:  # later errors are not empty either
        len(other.Src)
    assert str(again.value).splitlines()[0].strip()
    other.close()


def test_workers_survive_server_side_kills_and_make_every_key_once(sv_mysql: Pipeline) -> None:
    """Kill the connections of two running workers again and again: they reconnect, and every key's
    result is committed exactly once (a make may run again around a lost connection: docs/populate.md)."""
    db: Any = sv_mysql
    for i in range(N_KEYS):
        SLOW_KEYS[i] = 0.01
    workers = [db.reopener()() for _ in range(2)]
    ids = [w.connection.connection_id for w in workers]
    threads = [_in_thread(lambda w=w: w.Dst.populate(reserve_jobs=True, suppress_errors=True)) for w in workers]
    kills = 0
    deadline = time.monotonic() + 120
    while any(t.is_alive() for t, _ in threads) and time.monotonic() < deadline:
        time.sleep(0.3)
        for w in workers:
            current = w.connection._id  # noqa: SLF001 - the id the worker uses now, without a query
            if current is not None:
                ids.append(current)
        live = {int(r[0]) for r in db.connection.query("SELECT ID FROM information_schema.PROCESSLIST")}
        for cid in set(ids) & live:
            if cid != db.connection.connection_id:
                _kill(db, cid)
                kills += 1
    for t, _ in threads:
        t.join(timeout=60)
    for w in workers:
        w.close()
    reports = [out[0] for _, out in threads]
    for r in reports:
        assert not isinstance(r, BaseException), r
    assert kills >= 2
    assert len(db.Dst) == N_KEYS
    assert sum(r.made for r in reports) == N_KEYS
    assert db.jobs.errors() == []
    made, distinct = _calls(db)
    assert distinct == N_KEYS
    assert N_KEYS <= made < 2 * N_KEYS  # a reclaimed key may be made again; its result is committed once


# -- a real restart of a private MariaDB server ---------------------------------------------


class _Server:
    """A private MariaDB server that the test can stop and start again on the same port and data."""

    def __init__(self, root: Path) -> None:
        import mariadb

        self.m = mariadb
        binary = mariadb.server_binary()
        if binary is None:
            pytest.skip("no mariadbd/mysqld binary")
        self.binary = binary
        self.root = root
        self.data = root / "data"
        user = ["--user=root"] if os.geteuid() == 0 else []
        self.user = user
        subprocess.run(
            [mariadb._install_db_binary(), "--no-defaults", f"--datadir={self.data}",
             "--auth-root-authentication-method=normal", "--skip-test-db", *user],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.port = mariadb._free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        r = self.root
        self.proc = subprocess.Popen(
            [self.binary, "--no-defaults", f"--datadir={self.data}", f"--socket={r / 'sock'}", f"--port={self.port}",
             "--bind-address=127.0.0.1", f"--pid-file={r / 'pid'}", f"--log-error={r / 'err.log'}",
             "--innodb-flush-log-at-trx-commit=1", "--skip-log-bin", *self.user],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.m._wait_ready(self.port, self.proc, r / "err.log")

    def stop(self) -> None:
        if self.proc is not None:
            self.m._stop(self.proc, self.root / "pid")
            self.proc = None

    @property
    def url(self) -> str:
        return f"mysql://root@127.0.0.1:{self.port}/"


def test_workers_survive_a_restart_of_the_server(tmp_path: Path) -> None:
    if "mysql" not in BACKENDS:
        pytest.skip("MariaDB tests are off")
    server = _Server(tmp_path)
    server.start()
    try:
        for i in range(N_KEYS):
            SLOW_KEYS[i] = 0.02
        db: Any = pipeline_from(WORK, server.url, makers=[MakeDst])
        db.Src.insert([{"src_id": i, "value": float(i)} for i in range(N_KEYS)])
        workers = [db.reopener()() for _ in range(2)]
        threads = [_in_thread(lambda w=w: w.Dst.populate(reserve_jobs=True, suppress_errors=True)) for w in workers]
        deadline = time.monotonic() + 60
        while len(db.Dst) < 30:  # mid-run
            assert time.monotonic() < deadline
            time.sleep(0.05)
        before = len(db.Dst)
        db.close()
        server.stop()
        time.sleep(1.0)
        server.start()
        for t, _ in threads:
            t.join(timeout=240)
        reports = [out[0] for _, out in threads]
        for w in workers:
            w.close()
        for r in reports:
            assert not isinstance(r, BaseException), r
        assert before < N_KEYS - 30  # the restart came well before the end
        db = pipeline_from(WORK, server.url, declare=False)
        assert len(db.Dst) == N_KEYS  # every key made, once (its primary key)
        assert sum(r.made for r in reports) == N_KEYS
        assert db.jobs.fetch() == []
        calls, distinct = _calls(db)
        assert distinct == N_KEYS
        assert calls - N_KEYS <= 4  # at most the makes the restart interrupted ran again
        db.close()
    finally:
        SLOW_KEYS.clear()
        server.stop()


def test_reconnect_logs_never_show_the_password(sv_mysql: Pipeline, caplog: pytest.LogCaptureFixture) -> None:
    from relflow_gen.runtime.engine.connection import Connection

    db: Any = sv_mysql
    p = db.connection.params
    name, password = f"u{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}"
    db.connection.execute(f"CREATE USER '{name}'@'%' IDENTIFIED BY '{password}'")
    try:
        conn = Connection(f"mysql://{name}:{password}@{p.host}:{p.port}/")
        conn.reconnect_seconds = 10.0
        _kill(db, conn.connection_id)
        with caplog.at_level("INFO", logger="relflow_gen"):
            assert conn.scalar("SELECT 1") == 1
        assert "reconnected to mysql://" in caplog.text
        assert password not in caplog.text
        conn.close()
    finally:
        db.connection.execute(f"DROP USER '{name}'@'%'")
