"""Per-key overhead of populate() against a raw-driver loop doing the same work.

The pipeline: ``manual Src {src_id --- value}`` and ``computed Dst {-> Src ---
doubled}``.  The make is trivial: fetch the parent row, insert one row.  The
raw loop does the same per key with the bare driver (sqlite3 / pymysql): one
SELECT of the parent row, one INSERT, one COMMIT, so each key is durable and
all-or-nothing on its own, as populate guarantees.

Measured, best of ``--repeat`` runs over ``--keys`` keys, on SQLite (a temp
file, WAL) and on MariaDB (a throwaway server from tests/mariadb.py, or
``--mysql URL``):

* raw loop
* populate()                          (one process)
* populate(reserve_jobs=True)         (one process, every key reserved in the jobs table)
* the same two with group_commit=False (one transaction per key)
* the first two with a make that reads the parent row with plain SQL instead
  of ``(Src & key).fetch1()``: what populate itself costs, without the query layer

Run: ``python bench/bench_populate.py [--keys 2000] [--repeat 3] [--backend sqlite|mysql|both]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from relflow_gen.compiler.frontend import compile_text  # noqa: E402
from relflow_gen.compiler.metadata import schema_meta  # noqa: E402
from relflow_gen.runtime import Maker, Pipeline  # noqa: E402
from relflow_gen.runtime.dynamic import pipeline_class  # noqa: E402

SCHEMA = """
schema bench

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


class MakeDst(Maker[Any, Any]):
    __table__ = "bench.Dst"

    def make(self, key: Any) -> None:
        src = (self.db.Src & key).fetch1()
        self.insert1({**key, "doubled": src["value"] * 2})


class MakeDstRawRead(Maker[Any, Any]):
    """The same make, reading the parent row with plain SQL instead of the query algebra.

    Isolates what populate itself costs from what the make's query costs.
    """

    __table__ = "bench.Dst"

    def make(self, key: Any) -> None:
        conn = self.db.connection
        sql = f"SELECT value FROM {self.db.Src.sql_ref} WHERE src_id = {conn.backend.placeholder}"
        (value,) = conn.query(sql, (key["src_id"],))[0]
        self.insert1({**key, "doubled": value * 2})


def open_pipeline(url: str, n: int) -> Pipeline:
    compiled = compile_text(SCHEMA)
    assert compiled.project is not None
    db = pipeline_class(schema_meta(compiled.project))(url, makers=[MakeDst])
    db.connection.execute(f"DELETE FROM {db.Dst.sql_ref}")
    db.connection.execute(f"DELETE FROM {db.Src.sql_ref}")
    db.Src.insert([{"src_id": i, "value": float(i)} for i in range(n)])
    return db


def clear(db: Pipeline) -> None:
    db.connection.execute(f"DELETE FROM {db.table('Dst').sql_ref}")
    for schema in db.meta.schemas:
        db.connection.execute(f"DELETE FROM {db.connection.backend.table_ref(schema, '~jobs')}")


# ------------------------------------------------------------------ raw loops


def raw_sqlite(path: str, src: str, dst: str, n: int) -> float:
    import sqlite3

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = NORMAL")
    cur = conn.cursor()
    start = time.perf_counter()
    for i in range(n):
        cur.execute(f"SELECT src_id, value FROM {src} WHERE src_id = ?", (i,))
        row = cur.fetchone()
        cur.execute("BEGIN")
        cur.execute(f"INSERT INTO {dst} (src_id, doubled) VALUES (?, ?)", (row[0], row[1] * 2))
        cur.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def raw_mysql(params: Any, src: str, dst: str, n: int) -> float:
    import pymysql

    conn = pymysql.connect(host=params.host, port=params.port, user=params.user, password=params.password)
    cur = conn.cursor()
    start = time.perf_counter()
    for i in range(n):
        cur.execute(f"SELECT src_id, value FROM {src} WHERE src_id = %s", (i,))
        row = cur.fetchone()
        assert row is not None
        cur.execute(f"INSERT INTO {dst} (src_id, doubled) VALUES (%s, %s)", (row[0], row[1] * 2))
        conn.commit()
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


# ------------------------------------------------------------------ measuring


def interleaved(repeat: int, runs: list[tuple[str, Callable[[], float]]], reset: Callable[[], None]) -> list[float]:
    """Best time of each run; the runs take turns so that a busy machine slows them alike."""
    best = [float("inf")] * len(runs)
    for _ in range(repeat):
        for i, (_, run) in enumerate(runs):
            reset()
            best[i] = min(best[i], run())
    return best


def timed_populate(db: Pipeline, n: int, **options: Any) -> float:
    start = time.perf_counter()
    report = db.table("Dst").populate(**options)  # type: ignore[attr-defined]
    elapsed = time.perf_counter() - start
    assert report.made == n, report
    return elapsed


VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("populate()", {}),
    ("populate(reserve_jobs=True)", {"reserve_jobs": True}),
    ("populate(group_commit=False)", {"group_commit": False}),
    ("populate(reserve_jobs=True, group_commit=False)", {"reserve_jobs": True, "group_commit": False}),
    ("populate(), make reads with plain SQL", {"maker": MakeDstRawRead}),
    ("populate(reserve_jobs=True), make reads with plain SQL", {"reserve_jobs": True, "maker": MakeDstRawRead}),
]


def measure(name: str, url: str, n: int, repeat: int) -> list[tuple[str, float]]:
    db = open_pipeline(url, n)
    backend = db.connection.backend
    src, dst = db.table("Src").sql_ref, db.table("Dst").sql_ref
    raw: Callable[[], float]
    if backend.name == "sqlite":
        path = db.connection.params.database
        raw = lambda: raw_sqlite(path, src, dst, n)  # noqa: E731
    else:
        params = db.connection.params
        raw = lambda: raw_mysql(params, src, dst, n)  # noqa: E731
    runs: list[tuple[str, Callable[[], float]]] = [("raw driver loop", raw)]
    for label, options in VARIANTS:
        runs.append((label, lambda options=options: timed_populate(db, n, **options)))  # type: ignore[misc]
    times = interleaved(repeat, runs, lambda: clear(db))
    db.close()
    rows = [(label, t) for (label, _), t in zip(runs, times)]
    base = times[0]
    print(f"\n{name}: {n} keys, best of {repeat} interleaved runs")
    print(f"  {'':56s} {'total s':>8s} {'us/key':>8s} {'x raw':>6s}")
    for label, t in rows:
        print(f"  {label:56s} {t:8.3f} {t / n * 1e6:8.1f} {t / base:6.2f}")
    return rows


@contextmanager
def mysql_url(given: str | None) -> Iterator[str]:
    if given:
        yield given
        return
    from mariadb import throwaway_server

    with throwaway_server() as url:
        yield url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keys", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--backend", choices=("sqlite", "mysql", "both"), default="both")
    parser.add_argument("--mysql", default=os.environ.get("RELFLOW_BENCH_MYSQL"), help="mysql:// URL of a server")
    args = parser.parse_args()
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            measure("SQLite (file, WAL)", f"sqlite:///{tmp}/bench.db", args.keys, args.repeat)
    if args.backend in ("mysql", "both"):
        with mysql_url(args.mysql) as url:
            sep = "&" if "?" in url else "?"
            measure("MariaDB (local server)", f"{url}{sep}prefix=benchpop_", args.keys, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
