"""Query algebra next to hand-written SQL through the raw driver, on SQLite and MariaDB.

Run:  python bench/bench_query.py [--trials N] [--repeat N] [--backends sqlite,mysql] [--mysql-url URL]

A synthetic Subject / Session / Trial pipeline (200 subjects, 10 sessions each,
N trials in all, default 100 000) is loaded on each backend (SQLite in a
temporary file; MariaDB in a throwaway server started by ``tests/mariadb.py``
unless ``--mysql-url`` names one).  In the same run it times, as the median of
``--repeat`` runs after a warm-up:

(a) join + restriction + aggregation (the target: at most 1.2x the raw driver):
    sessions of female subjects since 2024-03-01 with their number of successful
    trials and mean reaction time, keeping only sessions with more than 10,

        (Subject * Session & {"sex": "F"} & "session_date >= '2024-03-01'")
            .aggr(Session.Trial & {"outcome": "success"}, "species", n="count(*)", mean_rt="avg(reaction_time)")
            & "n > 10"

(b) join + restriction + grouping by attributes, scanning all trials:

        U("rig", "outcome").aggr(Session * Session.Trial & "reaction_time > 0.1",
                                 n="count(*)", mean_rt="avg(reaction_time)")

(c) join + restriction returning many rows (about half the trials with their
    session's rig): fetch cost per row,

        (Session.proj("rig") * Session.Trial) & {"outcome": "success"}

against the hand-written SELECT executed with sqlite3 (a dict row factory) or
pymysql (``DictCursor``), fetching all rows as dicts.  Both sides' results are
compared before timing.  Prints one line per query and backend: raw seconds,
ours, and the ratio.

This is a script, not a test: numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pymysql
import pymysql.cursors

from relflow_gen.compiler.frontend import compile_text
from relflow_gen.compiler.metadata import schema_meta
from relflow_gen.runtime import U
from relflow_gen.runtime.dynamic import pipeline_class
from relflow_gen.runtime.pipeline import Pipeline

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

SCHEMA = """
schema benchq

manual Subject {
    subject_id: uint32
    ---
    species: varchar(32)
    sex: enum("M", "F", "U")
}

manual Session {
    -> Subject
    session_id: uint16
    ---
    session_date: date
    rig: varchar(16)

    part Trial {
        trial_id: uint32
        ---
        outcome: enum("success", "failure", "no_response")
        reaction_time: float64
    }
}
"""

AGGREGATE_SQL = """
SELECT s.{q}subject_id{q} AS {q}subject_id{q}, s.{q}session_id{q} AS {q}session_id{q},
       sub.{q}species{q} AS {q}species{q},
       COUNT(t.{q}trial_id{q}) AS {q}n{q}, AVG(t.{q}reaction_time{q}) AS {q}mean_rt{q}
FROM {subject} AS sub
JOIN {session} AS s ON s.{q}subject_id{q} = sub.{q}subject_id{q}
LEFT JOIN {trial} AS t ON t.{q}subject_id{q} = s.{q}subject_id{q} AND t.{q}session_id{q} = s.{q}session_id{q}
     AND t.{q}outcome{q} = {ph}
WHERE sub.{q}sex{q} = {ph} AND s.{q}session_date{q} >= '2024-03-01'
GROUP BY s.{q}subject_id{q}, s.{q}session_id{q}
HAVING COUNT(t.{q}trial_id{q}) > 10
"""

GROUP_SQL = """
SELECT s.{q}rig{q} AS {q}rig{q}, t.{q}outcome{q} AS {q}outcome{q}, COUNT(*) AS {q}n{q}, AVG(t.{q}reaction_time{q}) AS {q}mean_rt{q}
FROM {session} AS s JOIN {trial} AS t ON t.{q}subject_id{q} = s.{q}subject_id{q} AND t.{q}session_id{q} = s.{q}session_id{q}
WHERE t.{q}reaction_time{q} > {ph}
GROUP BY s.{q}rig{q}, t.{q}outcome{q}
"""

ROWS_SQL = """
SELECT s.{q}subject_id{q} AS {q}subject_id{q}, s.{q}session_id{q} AS {q}session_id{q}, s.{q}rig{q} AS {q}rig{q},
       t.{q}trial_id{q} AS {q}trial_id{q}, t.{q}outcome{q} AS {q}outcome{q}, t.{q}reaction_time{q} AS {q}reaction_time{q}
FROM {session} AS s JOIN {trial} AS t ON t.{q}subject_id{q} = s.{q}subject_id{q} AND t.{q}session_id{q} = s.{q}session_id{q}
WHERE t.{q}outcome{q} = {ph}
"""


def build(url: str, n_trials: int) -> Any:
    comp = compile_text(SCHEMA, "bench.rf")
    assert comp.ok and comp.project is not None
    db: Any = pipeline_class(schema_meta(comp.project))(url)
    rng = random.Random(0)
    subjects = [{"subject_id": i, "species": rng.choice(["mouse", "rat"]), "sex": rng.choice("MFU")} for i in range(200)]
    sessions = [
        {
            "subject_id": s["subject_id"],
            "session_id": k,
            "session_date": dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(120)),
            "rig": f"rig{rng.randrange(5)}",
        }
        for s in subjects
        for k in range(10)
    ]
    per_session = n_trials // len(sessions)
    trials = [
        {
            "subject_id": s["subject_id"],
            "session_id": s["session_id"],
            "trial_id": t,
            "outcome": rng.choice(["success", "success", "failure", "no_response"]),
            "reaction_time": rng.random(),
        }
        for s in sessions
        for t in range(per_session)
    ]
    db.Subject.insert(subjects)
    db.Session.insert(sessions)
    for i in range(0, len(trials), 20000):
        db.Session.Trial.insert(trials[i : i + 20000])
    return db


def ours_aggregate(db: Any) -> list[dict[str, Any]]:
    a = db.Subject * db.Session & {"sex": "F"} & "session_date >= '2024-03-01'"
    q = a.aggr(db.Session.Trial & {"outcome": "success"}, "species", n="count(*)", mean_rt="avg(reaction_time)") & "n > 10"
    rows: list[dict[str, Any]] = q.fetch()
    return rows


def ours_group(db: Any) -> list[dict[str, Any]]:
    q = U("rig", "outcome").aggr(db.Session * db.Session.Trial & "reaction_time > 0.1", n="count(*)", mean_rt="avg(reaction_time)")
    rows: list[dict[str, Any]] = q.fetch()
    return rows


def ours_rows(db: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = ((db.Session.proj("rig") * db.Session.Trial) & {"outcome": "success"}).fetch()
    return rows


def raw_runner(db: Pipeline, url: str, template: str, params: tuple[Any, ...]) -> tuple[Callable[[], list[dict[str, Any]]], Callable[[], None]]:
    backend = db.connection.backend
    refs = {name: db.table(name).sql_ref for name in ("Subject", "Session", "Session.Trial")}
    sql = template.format(
        q=backend.q, ph=backend.placeholder, subject=refs["Subject"], session=refs["Session"], trial=refs["Session.Trial"]
    )
    if backend.name == "sqlite":
        conn = sqlite3.connect(db.connection.params.database)

        def sqlite_dicts(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> dict[str, Any]:
            return dict(zip([d[0] for d in cursor.description], row))

        conn.row_factory = sqlite_dicts

        def run_sqlite() -> list[dict[str, Any]]:
            return list(conn.execute(sql, params).fetchall())

        return run_sqlite, conn.close
    p = db.connection.params
    mconn = pymysql.connect(host=p.host, port=p.port, user=p.user, password=p.password, cursorclass=pymysql.cursors.DictCursor, autocommit=True)

    def run_mysql() -> list[dict[str, Any]]:
        with mconn.cursor() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall())

    return run_mysql, mconn.close


def timed(f: Callable[[], Any], repeat: int) -> float:
    f()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _key(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted(
        tuple((k, round(float(v), 9) if isinstance(v, float) or type(v).__name__ == "Decimal" else v) for k, v in sorted(r.items()))
        for r in rows
    )


@contextmanager
def mysql_server(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    from mariadb import throwaway_server

    with throwaway_server() as server:
        yield server


def bench_backend(name: str, url: str, n_trials: int, repeat: int) -> list[tuple[str, float, float]]:
    db = build(url, n_trials)
    out = []
    cases: list[tuple[str, Callable[[Any], list[dict[str, Any]]], str, tuple[Any, ...]]] = [
        ("join+restrict+aggr", ours_aggregate, AGGREGATE_SQL, ("success", "F")),
        ("join+restrict+U-group", ours_group, GROUP_SQL, (0.1,)),
        ("join+restrict rows", ours_rows, ROWS_SQL, ("success",)),
    ]
    try:
        for label, ours, template, params in cases:
            raw, close = raw_runner(db, url, template, params)
            try:
                mine, theirs = ours(db), raw()
                assert _key(mine) == _key(theirs), f"{label}: results differ ({len(mine)} vs {len(theirs)} rows)"
                t_raw = timed(raw, repeat)
                t_ours = timed(lambda: ours(db), repeat)
            finally:
                close()
            out.append((f"{name:6} {label:20} rows={len(mine):6}", t_raw, t_ours))
    finally:
        db.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--backends", default="sqlite,mysql")
    ap.add_argument("--mysql-url", default=None)
    args = ap.parse_args()
    results: list[tuple[str, float, float]] = []
    backends = args.backends.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        if "sqlite" in backends:
            results += bench_backend("sqlite", f"sqlite:///{tmp}/bench.db", args.trials, args.repeat)
        if "mysql" in backends:
            with mysql_server(args.mysql_url) as server:
                prefix = f"b{uuid.uuid4().hex[:8]}_"
                url = f"{server}?prefix={prefix}"
                try:
                    results += bench_backend("mysql", url, args.trials, args.repeat)
                finally:
                    _drop(server, prefix)
    print(f"{'query':48} {'raw s':>8} {'ours s':>8} {'ratio':>6}")
    for label, t_raw, t_ours in results:
        print(f"{label:48} {t_raw:8.4f} {t_ours:8.4f} {t_ours / t_raw:6.2f}")


def _drop(server: str, prefix: str) -> None:
    from urllib.parse import urlparse

    u = urlparse(server)
    conn = pymysql.connect(host=u.hostname, port=u.port or 3306, user=u.username or "root", password=u.password or "")
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW DATABASES")
            for (dbname,) in cur.fetchall():
                if str(dbname).startswith(prefix):
                    cur.execute(f"DROP DATABASE `{dbname}`")
    finally:
        conn.close()


if __name__ == "__main__":
    main()
