"""Runtime core throughput next to the raw drivers doing the same work, on SQLite and MariaDB.

Run:  python bench/bench_core.py [--rows N] [--repeat N] [--backends sqlite,mysql] [--mysql-url URL]

In one run, for each backend (SQLite in a temporary file; MariaDB in a throwaway server
started by ``tests/mariadb.py`` unless ``--mysql-url`` names one), it measures

(a) insert of N rows (default 100 000) of a table with int32, int16, float64, varchar, date and
    enum attributes: ``table.insert(rows)`` (validation, encoding, one transaction) against
    the raw driver inserting the same list of dicts (``executemany`` of the tuples in a
    transaction; sqlite3 needs the dates as ISO text, pymysql takes date objects);
(b) fetch of the N rows as dicts: ``table.fetch()`` (typed values: dates as ``datetime.date``
    on both backends) against sqlite3 with a dict row factory / pymysql ``DictCursor``;
(c) blob round trip of 8 MB float64 arrays: insert into a ``blob`` attribute and fetch it back,
    against inserting ``arr.tobytes()`` into a ``longblob``/``BLOB`` column and reading it back
    with ``np.frombuffer``.

It prints the median time of ``--repeat`` runs, the throughput and the ratio ours/raw as
throughputs (1.0 = as fast as the raw driver; the targets are >= 0.8).  This is a script, not a
test: the figures depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import pymysql
import pymysql.cursors

from relflow_gen.compiler.frontend import compile_text
from relflow_gen.compiler.metadata import schema_meta
from relflow_gen.runtime.dynamic import pipeline_class
from relflow_gen.runtime.pipeline import Pipeline

SCHEMA = """
schema benchcore

manual Event {
    event_id: int32
    ---
    channel: int16
    amplitude: float64
    label: varchar(32)
    day: date
    kind: enum("spike", "burst", "noise")
}

manual EventRaw "the same heading, written by the raw driver" {
    event_id: int32
    ---
    channel: int16
    amplitude: float64
    label: varchar(32)
    day: date
    kind: enum("spike", "burst", "noise")
}

manual Trace {
    trace_id: int32
    ---
    samples: blob
}

manual TraceRaw "raw bytes of the arrays" {
    trace_id: int32
    ---
    samples: bytes
}
"""

COLUMNS = ("event_id", "channel", "amplitude", "label", "day", "kind")
BLOB_ELEMENTS = 1 << 20  # 8 MB of float64
TARGET = 0.8


def make_rows(n: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(1)
    amplitude = rng.normal(size=n).tolist()
    channel = rng.integers(0, 384, size=n).tolist()
    start = dt.date(2020, 1, 1)
    days = [start + dt.timedelta(days=int(d)) for d in rng.integers(0, 1500, size=n)]
    kinds = ("spike", "burst", "noise")
    return [
        {
            "event_id": i,
            "channel": channel[i],
            "amplitude": amplitude[i],
            "label": f"unit-{i % 977}",
            "day": days[i],
            "kind": kinds[i % 3],
        }
        for i in range(n)
    ]


def paired_medians(
    raw: Callable[[], object], ours: Callable[[], object], reset: Callable[[], object], repeat: int
) -> tuple[float, float]:
    """Median seconds of ``raw`` and of ``ours``, run alternately (so that load changes hit both)."""
    times: tuple[list[float], list[float]] = ([], [])
    for i in range(repeat):
        for which, run in ((0, raw), (1, ours)) if i % 2 == 0 else ((1, ours), (0, raw)):
            reset()
            start = time.perf_counter()
            run()
            times[which].append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


# ------------------------------------------------------------------ raw drivers


class RawSQLite:
    def __init__(self, path: str) -> None:
        # the same settings as the runtime's SQLite backend: autocommit, WAL, synchronous NORMAL
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self.conn.execute("PRAGMA foreign_keys = ON")
        self.events = '"benchcore.event_raw"'
        self.signals = '"benchcore.trace_raw"'

    def insert(self, rows: list[dict[str, Any]]) -> None:
        params = [
            (r["event_id"], r["channel"], r["amplitude"], r["label"], r["day"].isoformat(), r["kind"]) for r in rows
        ]
        cur = self.conn.cursor()
        cur.execute("BEGIN")
        cur.executemany(f"INSERT INTO {self.events} ({', '.join(COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?)", params)
        cur.execute("COMMIT")

    def fetch(self) -> list[dict[str, Any]]:
        cur = self.conn.cursor()
        cur.row_factory = lambda c, row: dict(zip([d[0] for d in c.description], row))
        return cur.execute(f"SELECT {', '.join(COLUMNS)} FROM {self.events}").fetchall()

    def clear(self) -> None:
        self.conn.execute(f"DELETE FROM {self.events}")
        self.conn.execute(f"DELETE FROM {self.signals}")

    def blob_round_trip(self, arr: np.ndarray) -> np.ndarray:
        cur = self.conn.cursor()
        cur.execute(f"INSERT INTO {self.signals} (trace_id, samples) VALUES (?, ?)", (1, arr.tobytes()))
        (raw,) = cur.execute(f"SELECT samples FROM {self.signals} WHERE trace_id = ?", (1,)).fetchone()
        return np.frombuffer(raw, dtype=arr.dtype).reshape(arr.shape)

    def close(self) -> None:
        self.conn.close()


class RawMySQL:
    def __init__(self, url: str, prefix: str) -> None:
        u = urlparse(url)
        kwargs: dict[str, Any] = dict(
            host=u.hostname, port=u.port or 3306, user=u.username or "root", password=u.password or "",
            autocommit=True, charset="utf8mb4",
        )
        self.conn = pymysql.connect(**kwargs)
        self.dict_conn = pymysql.connect(cursorclass=pymysql.cursors.DictCursor, **kwargs)
        self.events = f"`{prefix}benchcore`.`event_raw`"
        self.signals = f"`{prefix}benchcore`.`trace_raw`"

    def insert(self, rows: list[dict[str, Any]]) -> None:
        params = [(r["event_id"], r["channel"], r["amplitude"], r["label"], r["day"], r["kind"]) for r in rows]
        with self.conn.cursor() as cur:
            cur.execute("START TRANSACTION")
            cur.executemany(
                f"INSERT INTO {self.events} ({', '.join(COLUMNS)}) VALUES (%s, %s, %s, %s, %s, %s)", params
            )
            cur.execute("COMMIT")

    def fetch(self) -> list[dict[str, Any]]:
        with self.dict_conn.cursor() as cur:
            cur.execute(f"SELECT {', '.join(COLUMNS)} FROM {self.events}")
            return list(cur.fetchall())

    def clear(self) -> None:
        with self.conn.cursor() as cur:
            cur.execute(f"DELETE FROM {self.events}")
            cur.execute(f"DELETE FROM {self.signals}")

    def blob_round_trip(self, arr: np.ndarray) -> np.ndarray:
        with self.conn.cursor() as cur:
            cur.execute(f"INSERT INTO {self.signals} (trace_id, samples) VALUES (%s, %s)", (1, arr.tobytes()))
            cur.execute(f"SELECT samples FROM {self.signals} WHERE trace_id = %s", (1,))
            row = cur.fetchone()
            assert row is not None
        return np.frombuffer(row[0], dtype=arr.dtype).reshape(arr.shape)

    def close(self) -> None:
        self.conn.close()
        self.dict_conn.close()


# ------------------------------------------------------------------ ours


def open_pipeline(url: str) -> Pipeline:
    comp = compile_text(SCHEMA, "benchcore.rf")
    assert comp.ok and comp.project is not None, [d.message for d in comp.diagnostics]
    return pipeline_class(schema_meta(comp.project))(url)


def ours_blob_round_trip(db: Pipeline, arr: np.ndarray) -> np.ndarray:
    table = db.table("Trace")
    table.insert1({"trace_id": 1, "samples": arr})
    value = (table & {"trace_id": 1}).fetch1()["samples"]
    assert isinstance(value, np.ndarray)
    return value


# ------------------------------------------------------------------ report


class Report:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str, float, float, str]] = []
        self.failed: list[str] = []

    def add(self, backend: str, what: str, raw_s: float, ours_s: float, amount: float, unit: str) -> None:
        ratio = raw_s / ours_s  # throughput ours / throughput raw
        self.lines.append((backend, what, raw_s, ours_s, ""))
        mark = "ok" if ratio >= TARGET else f"BELOW {TARGET}"
        if ratio < TARGET:
            self.failed.append(f"{backend} {what}")
        print(
            f"{backend:8} {what:26} raw {raw_s * 1e3:9.1f} ms {amount / raw_s:12,.0f} {unit}/s   "
            f"ours {ours_s * 1e3:9.1f} ms {amount / ours_s:12,.0f} {unit}/s   ours/raw {ratio:5.2f}  {mark}",
            flush=True,
        )


def bench_backend(
    name: str, url: str, raw: RawSQLite | RawMySQL, rows: list[dict[str, Any]], repeat: int, report: Report
) -> None:
    db = open_pipeline(url)
    events = db.table("Event")
    signals = db.table("Trace")
    n = len(rows)

    def clear_all() -> None:
        events.delete_quick()
        signals.delete_quick()
        raw.clear()

    # (a) insert
    raw_s, ours_s = paired_medians(lambda: raw.insert(rows), lambda: events.insert(rows), clear_all, repeat)
    report.add(name, f"insert {n:,} rows", raw_s, ours_s, n, "rows")

    # (b) fetch (tables filled once)
    clear_all()
    raw.insert(rows)
    events.insert(rows)
    got_raw = raw.fetch()
    got_ours = events.fetch()
    assert len(got_raw) == len(got_ours) == n
    assert got_ours[0] == rows[0] or got_ours[0] == next(r for r in rows if r["event_id"] == got_ours[0]["event_id"])
    raw_s, ours_s = paired_medians(raw.fetch, events.fetch, lambda: None, repeat)
    report.add(name, f"fetch {n:,} rows as dicts", raw_s, ours_s, n, "rows")

    # (c) blob round trip, 8 MB float64
    arr = np.random.default_rng(2).normal(size=BLOB_ELEMENTS)
    mb = arr.nbytes / 1e6
    assert np.array_equal(raw.blob_round_trip(arr), arr)
    raw.clear()
    assert np.array_equal(ours_blob_round_trip(db, arr), arr)
    raw_s, ours_s = paired_medians(
        lambda: raw.blob_round_trip(arr), lambda: ours_blob_round_trip(db, arr), clear_all, repeat
    )
    report.add(name, f"blob round trip {mb:.0f} MB", raw_s, ours_s, mb, "MB")
    clear_all()
    db.close()


@contextmanager
def mysql_server(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    throwaway_server: Any = importlib.import_module("mariadb").throwaway_server  # tests/mariadb.py

    with throwaway_server() as started:
        yield started


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per measurement (median reported)")
    parser.add_argument("--backends", default="sqlite,mysql")
    parser.add_argument("--mysql-url", default=os.environ.get("RELFLOW_BENCH_MYSQL_URL"))
    args = parser.parse_args()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    rows = make_rows(args.rows)
    report = Report()
    print(f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}, pymysql {pymysql.__version__}, "
          f"numpy {np.__version__}; medians of {args.repeat} runs; ours/raw = throughput ratio\n", flush=True)
    if "sqlite" in backends:
        with tempfile.TemporaryDirectory(prefix="relflow-bench-") as tmp:
            path = os.path.join(tmp, "bench.db")
            url = f"sqlite:///{path}"
            open_pipeline(url).close()  # declare
            raw_sqlite = RawSQLite(path)
            try:
                bench_backend("sqlite", url, raw_sqlite, rows, args.repeat, report)
            finally:
                raw_sqlite.close()
    if "mysql" in backends:
        with mysql_server(args.mysql_url) as server:
            prefix = f"bench{os.getpid()}_"
            url = f"{server}?prefix={prefix}"
            open_pipeline(url).close()  # declare
            raw_mysql = RawMySQL(server, prefix)
            try:
                bench_backend("mariadb", url, raw_mysql, rows, args.repeat, report)
            finally:
                with raw_mysql.conn.cursor() as cur:
                    cur.execute(f"DROP DATABASE IF EXISTS `{prefix}benchcore`")
                raw_mysql.close()
    if report.failed:
        print(f"\nbelow the {TARGET}x target: {', '.join(report.failed)}")
        return 1
    print(f"\nall measurements at or above the {TARGET}x target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
