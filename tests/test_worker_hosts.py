"""Workers on many hosts: a killed host, a host cut off the network, late results refused.

The many-hosts test runs the database in one network namespace and three
worker hosts in others (own hostname and address; tests/netns.py), as root.
It is skipped only where namespaces cannot be created; under CI it must run.
The refusal of a late result is also checked in one process on both backends.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import netns
import pytest
from runtime_fixtures import pipeline_from

from relflow_gen.runtime import Maker
from relflow_gen.runtime.populate.jobs import JobStore, hash_of_key

N_KEYS = 3000
WORKERS_PER_HOST = 2
STALE = 3.0  # seconds without a heartbeat before a reservation is reclaimed (120 by default)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[netns.NetLab]:
    reason = netns.why_not()
    if reason is not None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI must run the many-hosts test, but {reason}")
        pytest.skip(f"cannot create network namespaces: {reason}")
    with netns.NetLab(3, tmp_path) as made:
        yield made


def _wait(lab: netns.NetLab, what: str, ready: Any, timeout: float, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = ready()
        if got:
            return got
        assert time.monotonic() < deadline, f"timed out waiting for {what}; the workers' logs:\n{_tails(lab)}"
        time.sleep(every)


def _tails(lab: netns.NetLab) -> str:
    out = []
    for h in lab.hosts:
        for log in h.logs:
            text = log.read_text(errors="replace") if log.exists() else "(no log)"
            out.append(f"--- {log.name}\n" + "\n".join(text.splitlines()[-15:]))
    return "\n".join(out)


SEEN: dict[str, set[int]] = {}  # host -> connection ids its reservations named


def _reserved(db: Any, hostname: str | None = None) -> dict[str, int]:
    """key hash -> connection id of the reservations a host holds now (all hosts: None)."""
    jobs = db.jobs.reserved()
    for j in jobs:
        SEEN.setdefault(j.host, set()).add(j.connection_id)
    return {j.key_hash: j.connection_id for j in jobs if hostname is None or j.host == hostname}


def _open_transactions(db: Any, address: str) -> list[int]:
    """Connection ids of a host (by its address) with a transaction open on the server."""
    rows = db.connection.query(
        "SELECT p.ID FROM information_schema.PROCESSLIST p JOIN information_schema.INNODB_TRX t "
        "ON t.trx_mysql_thread_id = p.ID WHERE p.HOST LIKE %s",
        [f"{address}:%"],
    )
    return [int(r[0]) for r in rows]


RECLAIM = re.compile(r"reclaimed the reservation of hw\.Dst (\{[^}]*\}) held by (\S+) \(connection (\d+)\): (.*)")
REFUSED = re.compile(r"refused the result of hw\.Dst \{'src_id': (\d+)\}")
MADE = re.compile(r"^worker: (\d+) made, (\d+) failed$", re.M)


def test_three_hosts_survive_a_killed_host_and_a_cut_link(lab: netns.NetLab, tmp_path: Path) -> None:
    """3,000 keys on three namespace hosts of two workers each.  Host 0 is killed (kill -9 of all its
    processes); host 1's cable is pulled for longer than the stale-heartbeat window, then put back.
    Every key is made once; host 1's late results are refused with a log line, not a traceback; the
    reservations were reclaimed by closed connection (host 0) and by stopped heartbeat (host 1)."""
    started = time.monotonic()
    root, makers = netns.build_package(tmp_path / "pkg")
    ready, go = tmp_path / "ready", tmp_path / "go"
    ready.mkdir()
    killed, cut, steady = lab.hosts
    with lab.server() as url:
        password = url.split(":")[2].split("@")[0]
        db: Any = lab.run_in(lab.db_ns, lambda: pipeline_from(netns.SCHEMA, url))
        db.Src.insert([{"src_id": i, "value": float(i)} for i in range(N_KEYS)])
        env = netns.worker_env(
            root, url, HW_STALE=str(STALE), HW_BEAT="0.5", HW_SLEEP="0.005", HW_READY=str(ready), HW_GO=str(go)
        )
        argv = netns.worker_argv(makers, "-v", "worker", "--poll", "0.3")
        for host in lab.hosts:
            lab.start_host(host, WORKERS_PER_HOST, argv, env, root)
        _wait(lab, "the workers to start", lambda: len(list(ready.iterdir())) == 3 * WORKERS_PER_HOST, 60, 0.1)
        go.touch()

        # every host takes part, under its own name
        SEEN.clear()
        _wait(
            lab,
            "every host to reserve keys",
            lambda: _reserved(db) and {h.hostname for h in lab.hosts} <= set(SEEN),
            30,
        )

        # kill -9 every process of host 0 while it holds reservations
        _wait(lab, "host 0 to hold keys", lambda: len(db.Dst) >= 300 and _reserved(db, killed.hostname), 30, 0.01)
        lab.kill_host(killed)
        orphans = _reserved(db, killed.hostname)  # what the dead host left behind
        assert orphans, "host 0 held no reservation when it was killed"
        dead = SEEN[killed.hostname]
        # reservations name their holder: each host by its own name, each worker by its own connection
        assert all(len(SEEN[h.hostname]) >= 1 for h in lab.hosts)
        assert len(set().union(*SEEN.values())) == sum(len(ids) for ids in SEEN.values())

        def server_connections() -> set[int]:
            return {int(r[0]) for r in db.connection.query("SELECT ID FROM information_schema.PROCESSLIST")}

        _wait(lab, "the server to see host 0's connections close", lambda: not dead & server_connections(), 10)

        # pull host 1's cable while it holds reservations and has no transaction open on the server
        _wait(lab, "progress", lambda: len(db.Dst) >= 700, 60)
        for _attempt in range(100):
            lab.cut(cut)
            cut_at = time.monotonic()
            stranded = _reserved(db, cut.hostname)
            if stranded and not _open_transactions(db, cut.address):
                break
            lab.restore(cut)
            time.sleep(0.1)
        else:
            pytest.fail("could not cut host 1 off while it held keys outside a transaction")
        assert set(stranded.values()) <= server_connections()  # its connections still look alive to the server
        # the others reclaim its keys once its heartbeat is stale, and make them
        _wait(
            lab,
            "host 1's keys to be reclaimed",
            lambda: not set(stranded) & set(_reserved(db, cut.hostname)) and time.monotonic() - cut_at > STALE,
            60,
            0.1,
        )
        lab.restore(cut)  # its workers come back with results nobody wants any more

        for host in (cut, steady):
            assert host.proc is not None
            host.proc.wait(timeout=max(10.0, 85 - (time.monotonic() - started)))
        logs = {h.hostname: [log.read_text(errors="replace") for log in h.logs] for h in (cut, steady)}

        # every key made exactly once, nothing left in the jobs table
        assert len(db.Dst) == N_KEYS
        assert db.jobs.fetch() == []
        made_by: dict[int, str] = {p["src_id"]: p["made_by"].split(":")[0] for p in db.Dst.provenance()}
        assert set(made_by) == set(range(N_KEYS))
        by_host = {h.hostname: sum(1 for v in made_by.values() if v == h.hostname) for h in lab.hosts}
        assert all(by_host.values()), by_host  # each host committed results
        assert sum(by_host.values()) == N_KEYS
        for host in (cut, steady):  # each worker's own count agrees with the rows it committed
            counts = [MADE.findall(text) for text in logs[host.hostname]]
            assert all(len(c) == 1 for c in counts), logs[host.hostname]
            assert sum(int(c[0][0]) for c in counts) == by_host[host.hostname]
            assert all(int(c[0][1]) == 0 for c in counts)
            assert host.exit_codes() == [0] * WORKERS_PER_HOST, (host.exit_codes(), logs[host.hostname])

        # host 1's late results were refused cleanly: logged, counted, made by others
        text = "\n".join(logs[cut.hostname])
        assert "Traceback" not in text and "error:" not in text, text
        assert "this worker no longer held their reservations" in text
        refused = {int(k) for k in REFUSED.findall(text)}
        assert refused, text
        assert all(made_by[k] != cut.hostname for k in refused)

        # reclaims: host 0's by its closed connection ids, host 1's by its stopped heartbeat; never by pid
        reclaims = [m for t in logs.values() for log in t for m in RECLAIM.findall(log)]
        assert not [r for r in reclaims if "process" in r[3]], reclaims
        of_killed = [r for r in reclaims if r[1] == killed.hostname]
        of_cut = [r for r in reclaims if r[1] == cut.hostname]
        assert len(of_killed) >= len(orphans)  # each orphan was reclaimed (a key may be reclaimed again later)
        assert all(r[3] == f"its database connection {r[2]} is closed" and int(r[2]) in dead for r in of_killed), (
            of_killed
        )
        assert len(of_cut) >= len(stranded)
        assert all(re.fullmatch(r"no heartbeat for \d+ s", r[3]) for r in of_cut), of_cut
        assert {r[1] for r in reclaims} <= {killed.hostname, cut.hostname}  # nobody else lost keys

        # the password never reached a log
        assert all(password not in t for texts in logs.values() for t in texts)
        db.close()


# -- the refusal in one process, on both backends ------------------------------------------------

REFUSE_SCHEMA = """
schema rr

manual Src {
    src_id: int32
    ---
    value: float64
}

computed Dst {
    -> Src
    ---
    doubled: float64
}
"""

RECLAIM_DURING: dict[str, Any] = {}


class MakeRR(Maker[Any, Any]):
    __table__ = "rr.Dst"

    def make(self, key: Any) -> None:
        if key["src_id"] == RECLAIM_DURING.get("key"):  # another worker reclaims it while make runs
            other = RECLAIM_DURING["db"]
            meta = other.Dst.meta
            JobStore(other.connection, "rr").delete(["rr.Dst"], ["reserved"], [hash_of_key(meta, key)])
        src = (self.db.Src & key).fetch1()
        self.insert1({**key, "doubled": src["value"] * 2})


def test_a_result_whose_reservation_was_reclaimed_is_refused(db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    db: Any = pipeline_from(REFUSE_SCHEMA, db_url, makers=[MakeRR])
    db.Src.insert([{"src_id": i, "value": float(i)} for i in range(20)])
    other: Any = db.reopener()()
    RECLAIM_DURING.update(key=7, db=other)
    try:
        with caplog.at_level("INFO", logger="relflow_gen"):
            report = db.Dst.populate(reserve_jobs=True)
    finally:
        RECLAIM_DURING.clear()
    assert (report.made, report.skipped) == (19, 1)
    assert "refused the results of 1 key(s) of rr.Dst" in caplog.text
    assert "refused the result of rr.Dst {'src_id': 7}" in caplog.text
    assert len(db.Dst) == 19 and not len(db.Dst & {"src_id": 7})  # the others of its group were committed
    assert db.jobs.fetch() == []
    assert db.Dst.populate(reserve_jobs=True).made == 1  # the key is made by the next worker
    assert len(db.Dst) == 20
    other.close()
    db.close()
