"""populate on a Dask cluster: real ``dask scheduler`` and ``dask worker`` processes started here.

Reservations, results and errors go through the jobs table as for any worker;
make() counts its calls in ``MakeCall`` (with the pid of the process that made
the key), so a key made twice, or made outside the Dask workers, shows.
Runs on SQLite (a file) and on the throwaway MariaDB. One test kills a Dask worker process (-9)
in the middle of a make() and checks that its key is reclaimed and committed once.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from runtime_fixtures import pipeline_from

from relflow_gen.runtime import Maker, U
from relflow_gen.runtime.cli import main
from relflow_gen.runtime.pipeline import Pipeline

distributed = pytest.importorskip("distributed", reason="the distributed package is not installed")

WORK = """
schema dk

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


class MakeDst(Maker[Any, Any]):
    __table__ = "dk.Dst"

    def make(self, key: Any) -> None:
        self.db.MakeCall.insert1({"call_id": uuid.uuid4().hex, "src_id": key["src_id"], "pid": os.getpid()})
        if key["src_id"] == 13:
            raise ValueError("unlucky 13")
        time.sleep(0.002)
        src = (self.db.Src & key).fetch1()
        self.insert1({**key, "doubled": src["value"] * 2})


VICTIM = 150  # the key whose first make() hangs until the test kills its Dask worker process


class MakeDstOnceHanging(MakeDst):
    """The first make() of VICTIM hangs (the test kills its process); every other call is MakeDst's."""

    def make(self, key: Any) -> None:
        if key["src_id"] == VICTIM and not len(self.db.MakeCall & {"src_id": VICTIM}):
            self.db.MakeCall.insert1({"call_id": uuid.uuid4().hex, "src_id": VICTIM, "pid": os.getpid()})
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:  # killed long before
                time.sleep(0.05)
            raise RuntimeError("the Dask worker making this key was not killed")
        super().make(key)


MAKERS = (MakeDst,)


def _dask() -> str:
    found = shutil.which("dask", path=str(Path(sys.executable).parent)) or shutil.which("dask")
    if found is None:
        pytest.skip("the dask command is not installed")
    return found


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A scheduler and two single-threaded worker processes on loopback; yields the scheduler address."""
    dask = _dask()
    root = tmp_path_factory.mktemp("dask")
    info = root / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
    log = (root / "scheduler.log").open("w")
    scheduler = subprocess.Popen(
        [dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(info)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    procs = [scheduler]
    logs = [log]
    try:
        deadline = time.monotonic() + 60
        while not info.exists() or not info.read_text().strip():
            assert scheduler.poll() is None and time.monotonic() < deadline, (root / "scheduler.log").read_text()
            time.sleep(0.1)
        address = json.loads(info.read_text())["address"]
        wlog = (root / "workers.log").open("w")
        logs.append(wlog)
        procs.append(
            subprocess.Popen(
                [
                    dask,
                    "worker",
                    address,
                    "--nworkers",
                    "2",
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                    "--host",
                    "127.0.0.1",
                ],
                stdout=wlog,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=root,
            )
        )
        with distributed.Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for f in logs:
            f.close()


@pytest.fixture
def dk(db_url: str) -> Iterator[Pipeline]:
    db = pipeline_from(WORK, db_url, makers=[MakeDst])
    db.table("Src").insert([{"src_id": i, "value": float(i)} for i in range(N_KEYS)])
    yield db
    db.close()


def test_populate_with_a_dask_client(dk: Pipeline, cluster: str) -> None:
    db: Any = dk
    with distributed.Client(cluster, timeout=30) as client:
        report = db.Dst.populate(executor=client, suppress_errors=True)
    assert (report.made, report.failed) == (N_KEYS - 1, 1)
    assert [j.key for j in db.jobs.errors()] == [{"src_id": 13}]
    assert db.jobs.errors()[0].error_message == "ValueError: unlucky 13"
    assert len(db.Dst) == N_KEYS - 1
    calls = len(db.MakeCall)
    assert (calls, len(U("src_id") & db.MakeCall)) == (N_KEYS, N_KEYS)  # each key made once
    pids = set(db.MakeCall.column("pid"))
    assert os.getpid() not in pids and len(pids) == 2  # made by the two Dask worker processes
    assert db.jobs.reserved() == []


def test_a_dask_worker_killed_mid_make_leaves_its_key_to_be_reclaimed_and_made_once(dk: Pipeline, cluster: str) -> None:
    """kill -9 of the Dask worker process inside a make(): the key's reservation belongs to a dead
    process (MariaDB: a closed connection id; SQLite: a gone pid on this host), is reclaimed, and the
    key is made once more by a live worker; no key is committed twice and no reservation is left."""
    db: Any = dk
    out: list[Any] = []

    def run() -> None:
        with distributed.Client(cluster, timeout=30) as client:
            try:
                out.append(db.Dst.populate(executor=client, suppress_errors=True, maker=MakeDstOnceHanging))
            except BaseException as exc:  # noqa: BLE001 - handed to the test
                out.append(exc)

    other = db.reopener()()  # populate runs on db's connection in the thread
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 120
        while not len(other.MakeCall & {"src_id": VICTIM}):
            assert time.monotonic() < deadline and thread.is_alive(), out
            time.sleep(0.05)
        [victim_pid] = (other.MakeCall & {"src_id": VICTIM}).column("pid")
        [held] = [j for j in other.jobs.reserved() if j.key == {"src_id": VICTIM}]
        assert held.pid == victim_pid
        os.kill(victim_pid, signal.SIGKILL)
        thread.join(timeout=300)
        assert not thread.is_alive()
    finally:
        other.close()
    [report] = out
    assert not isinstance(report, BaseException), report
    assert len(db.Dst) == N_KEYS - 1 and len(db.Dst & {"src_id": VICTIM}) == 1
    assert [j.key for j in db.jobs.errors()] == [{"src_id": 13}]
    assert db.jobs.reserved() == []
    calls = db.MakeCall.fetch()
    assert len(U("src_id") & db.MakeCall) == N_KEYS
    by_key: dict[int, list[int]] = {}
    for c in calls:
        by_key.setdefault(c["src_id"], []).append(c["pid"])
    assert sorted(by_key[VICTIM]) == sorted([victim_pid, next(p for p in by_key[VICTIM] if p != victim_pid)])
    # a key was called again only when its first make died with the killed process (the key it
    # was making, and results made but not yet committed): one call per key from the live workers
    again = {k: pids for k, pids in by_key.items() if len(pids) > 1}
    assert all(pids.count(victim_pid) == 1 and len(pids) == 2 for pids in again.values()), again
    assert os.getpid() not in {c["pid"] for c in calls}  # all made on the Dask workers
    with distributed.Client(cluster, timeout=30) as client:  # the nanny restarts the killed worker
        client.wait_for_workers(2, timeout=120)


def test_populate_dask_on_the_command_line(dk: Pipeline, cluster: str, capsys: pytest.CaptureFixture[str]) -> None:
    db: Any = dk
    url = db.connection.params
    argv = ["--db", _url(db), "--makers", "test_worker_dask", "populate", "--dask", cluster, "--suppress-errors"]
    assert main(type(db), argv, prog="dk") == 1  # one key fails
    out = capsys.readouterr().out
    assert f"dk.Dst: {N_KEYS - 1} made, 1 failed" in out, (out, url)
    assert len(U("src_id") & db.MakeCall) == len(db.MakeCall) == N_KEYS


def test_dask_address_that_answers_nothing_is_a_usage_error(dk: Pipeline, capsys: pytest.CaptureFixture[str]) -> None:
    db: Any = dk
    argv = ["--db", _url(db), "--makers", "test_worker_dask", "populate", "--dask", "tcp://127.0.0.1:9"]
    assert main(type(db), argv, prog="dk") == 2
    assert "cannot reach the Dask scheduler" in capsys.readouterr().err


def _url(db: Any) -> str:
    p = db.connection.params
    if p.backend == "sqlite":
        return f"sqlite:///{p.database}"
    prefix = dict(p.options).get("prefix", "")
    return f"mysql://{p.user}@{p.host}:{p.port}/?prefix={prefix}"
