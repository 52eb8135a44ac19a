"""Staleness costs: finding outdated rows, and recording input fingerprints at make time.

1. ``outdated`` over 100k computed rows with two parents each (``computed C {-> A -> B}``,
   1000 x 100 keys), after 10 rows of A changed (1,000 rows of C outdated), against a
   hand-written SQL query computing the same set with the raw driver (sqlite3 / pymysql),
   in the same run. Target: <= 1.5x.
2. populate of a W2-style pipeline (``computed Dst {-> Src}``, a trivial make, 2,000 keys)
   with and without the input fingerprint recorded in the commit's transaction (by the
   INSERT on SQLite, by one UPDATE per commit on MariaDB), rounds interleaved; medians.
   Target: <= 10% over.

On SQLite (a temp file, WAL) and on MariaDB (a throwaway server from tests/mariadb.py, or
``--mysql URL``). Run: ``python bench/bench_outdated.py [--backend sqlite|mysql|both]``.

``--instructions`` counts, instead, the instructions of the SQLite populate with and without
input fingerprints under ``valgrind --tool=callgrind`` (the difference between runs of 1 and
1 + K populates, so start-up cancels out): a figure a loaded machine does not disturb.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import pymysql  # noqa: E402

from relflow_gen.compiler.frontend import compile_text  # noqa: E402
from relflow_gen.compiler.metadata import schema_meta  # noqa: E402
from relflow_gen.runtime import Maker, Pipeline  # noqa: E402
from relflow_gen.runtime.dynamic import pipeline_class  # noqa: E402
from relflow_gen.runtime.populate import inputs, runner  # noqa: E402

SCHEMA = """
schema stale

manual A {
    a_id: int32
    ---
    x: float64
    label: varchar(16)
}

manual B {
    b_id: int32
    ---
    y: float64
}

computed C {
    -> A
    -> B
    ---
    z: float64
}

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

N_A, N_B, CHANGED = 1000, 100, 10


class MakeDst(Maker[Any, Any]):
    __table__ = "stale.Dst"

    def make(self, key: Any) -> None:
        value = (self.db.Src & key).fetch1()["value"]
        self.insert1({**key, "doubled": 2 * value})


def open_pipeline(url: str) -> Pipeline:
    comp = compile_text(SCHEMA, "stale.rf")
    assert comp.project is not None
    db = pipeline_class(schema_meta(comp.project))(url)
    db.register(MakeDst)
    return db


def best(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def fill(db: Pipeline) -> None:
    a, b, c = db.table("A"), db.table("B"), db.table("C")
    a.insert([{"a_id": i, "x": i * 0.5, "label": f"a{i}"} for i in range(N_A)])
    b.insert([{"b_id": j, "y": j * 0.25} for j in range(N_B)])
    c.insert(
        ({"a_id": i, "b_id": j, "z": i + j * 0.1} for i in range(N_A) for j in range(N_B)), allow_direct_insert=True
    )
    conn = db.connection
    backend = conn.backend
    meta = db.meta.by_name["stale.C"]
    ref = backend.table_ref(meta.schema, meta.sql_name)
    fp = inputs.input_fingerprint_sql(backend, db.meta, meta, ref)
    with conn.transaction():  # what populate records at commit, for every row at once
        conn.execute(f"UPDATE {ref} SET {backend.quote(inputs.INPUT_HASH)} = {fp}")
    for i in range(0, N_A, N_A // CHANGED):
        a.update1({"a_id": i, "x": -1.0, "label": f"a{i}"})


def hand_written(backend: str, refs: dict[str, str]) -> str:
    """The floor: the same set, written by hand (same field encoding, so the same digests)."""
    if backend == "sqlite":  # encoding 2
        a = " || ',' || ".join(f"quote(pa.{c})" for c in ("a_id", "x", "label"))
        b = " || ',' || ".join(f"quote(pb.{c})" for c in ("b_id", "y"))
        fp = (
            f"rf_input_v2(COALESCE((SELECT {a} FROM {refs['A']} pa WHERE pa.a_id = c.a_id), '-') || ';' || "
            f"COALESCE((SELECT {b} FROM {refs['B']} pb WHERE pb.b_id = c.b_id), '-'))"
        )
    else:

        def field(col: str) -> str:
            return f"COALESCE(CONCAT(LENGTH(CAST({col} AS BINARY)), ':', CAST({col} AS BINARY)), '-')"

        a = "CONCAT('R', " + ", ".join(field(f"pa.{c}") for c in ("a_id", "x", "label")) + ")"
        b = "CONCAT('R', " + ", ".join(field(f"pb.{c}") for c in ("b_id", "y")) + ")"
        fp = (
            f"CONCAT('v2', LEFT(SHA2(CONCAT(COALESCE((SELECT {a} FROM {refs['A']} pa WHERE pa.a_id = c.a_id), '-'), "
            f"COALESCE((SELECT {b} FROM {refs['B']} pb WHERE pb.b_id = c.b_id), '-')), 256), 30))"
        )  # encoding 2 (no float32 attribute to widen here)
    return f"SELECT c.a_id, c.b_id FROM {refs['C']} c WHERE c._input_hash IS NOT NULL AND c._input_hash <> {fp}"


def raw_connection(url: str) -> tuple[Any, str]:
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url[len("sqlite:///") :])
        conn.create_function(
            "rf_input_v2",
            1,
            lambda v: "v2" + hashlib.blake2b(v.encode(), digest_size=15).hexdigest(),
            deterministic=True,
        )
        return conn, "sqlite"
    from urllib.parse import urlparse

    u = urlparse(url)
    conn = pymysql.connect(host=u.hostname, port=u.port, user=u.username or "root", password=u.password or "")
    return conn, "mysql"


def measure(name: str, url: str, repeat: int, rounds: int) -> None:
    db = open_pipeline(url)
    fill(db)
    backend = db.connection.backend
    refs = {n: backend.table_ref("stale", db.meta.by_name[f"stale.{n}"].sql_name) for n in ("A", "B", "C")}
    raw, kind = raw_connection(url)
    sql = hand_written(kind, refs)

    def floor() -> set[tuple[int, int]]:
        cur = raw.cursor()
        cur.execute(sql)
        return {(int(a), int(b)) for a, b in cur.fetchall()}

    def ours() -> set[tuple[Any, ...]]:
        return db.outdated(code=False)["stale.C"].keys

    t_floor, t_ours, expected, got = float("inf"), float("inf"), set(), set()
    for _ in range(repeat):  # interleaved, the best of each: the machine may be loaded
        t, expected = best(1, floor)
        t_floor = min(t_floor, t)
        t, got = best(1, ours)
        t_ours = min(t_ours, t)
    assert got == expected and len(got) == CHANGED * N_B, (len(got), len(expected))
    print(f"{name}: outdated over {N_A * N_B:,} rows ({len(got):,} outdated)")
    print(f"  hand-written SQL   {t_floor * 1000:8.1f} ms")
    print(f"  db.outdated()      {t_ours * 1000:8.1f} ms   {t_ours / t_floor:.2f}x  (target <= 1.5x)")

    src, dst = db.table("Src"), db.table("Dst")
    src.insert([{"src_id": i, "value": float(i)} for i in range(2000)])
    stamp = runner.InputStamp

    def populate(with_stamp: bool) -> tuple[float, float]:
        dst.delete_quick()
        runner.InputStamp = stamp if with_stamp else (lambda *args: None)  # type: ignore[assignment,misc]
        try:
            start, cpu = time.perf_counter(), time.process_time()
            report = dst.populate()
            assert report.made == 2000
            return time.perf_counter() - start, time.process_time() - cpu
        finally:
            runner.InputStamp = stamp  # type: ignore[misc]

    runs: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    for i in range(rounds):
        for flag in (False, True) if i % 2 else (True, False):
            runs[flag].append(populate(flag))
        assert (dst.provenance()[0]["input_hash"] is not None) == flag
    for what, at in (("wall", 0), ("CPU of this process", 1)):
        off = statistics.median(r[at] for r in runs[False])
        on = statistics.median(r[at] for r in runs[True])
        print(f"  populate 2,000 keys, {what}, medians of {rounds} interleaved rounds:")
        print(f"    without input fingerprints {off * 1000:8.1f} ms")
        print(f"    with input fingerprints    {on * 1000:8.1f} ms   {(on / off - 1) * 100:+.1f}%  (target <= +10%)")
    if kind == "mysql":
        raw.cursor().execute(f"DROP DATABASE IF EXISTS {refs['A'].split('.')[0]}")
    raw.close()
    db.close()


@contextmanager
def mysql_url(given: str | None) -> Iterator[str]:
    if given:
        yield given
        return
    from mariadb import throwaway_server

    with throwaway_server() as url:
        yield url


def populate_sqlite(with_stamp: bool, times: int) -> None:
    """``times`` populates of Dst (after one to warm up), for counting instructions."""
    with tempfile.TemporaryDirectory() as tmp:
        db = open_pipeline(f"sqlite:///{tmp}/stale.db")
        src, dst = db.table("Src"), db.table("Dst")
        src.insert([{"src_id": i, "value": float(i)} for i in range(2000)])
        if not with_stamp:
            runner.InputStamp = lambda *args: None  # type: ignore[assignment,misc]
        for _ in range(times + 1):
            dst.delete_quick()
            assert dst.populate().made == 2000
        db.close()


def count_instructions(extra: int) -> None:
    def instructions(flag: str, times: int) -> int:
        out = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--callgrind-out-file=/dev/null",
                sys.executable,
                __file__,
                "--populate-only",
                flag,
                str(times),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stderr
        found = re.search(r"Collected : ([\d,]+)", out)
        assert found is not None, out
        return int(found.group(1).replace(",", ""))

    per = {flag: (instructions(flag, 1 + extra) - instructions(flag, 1)) / extra for flag in ("off", "on")}
    print(f"SQLite: populate 2,000 keys, instructions per populate (callgrind, {extra} populates):")
    print(f"  without input fingerprints {per['off'] / 1e6:8.1f} M")
    print(
        f"  with input fingerprints    {per['on'] / 1e6:8.1f} M   {(per['on'] / per['off'] - 1) * 100:+.1f}%  "
        f"({(per['on'] - per['off']) / 2000:,.0f} per row; target <= +10%)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--instructions",
        type=int,
        nargs="?",
        const=5,
        metavar="K",
        help="count the SQLite populate's instructions under callgrind (K populates)",
    )
    parser.add_argument("--populate-only", nargs=2, metavar=("on|off", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--backend", choices=("sqlite", "mysql", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=3, help="runs of outdated (the best is kept)")
    parser.add_argument("--rounds", type=int, default=15, help="interleaved populate rounds with/without (medians)")
    parser.add_argument("--mysql", default=os.environ.get("RELFLOW_BENCH_MYSQL"), help="mysql:// URL of a server")
    args = parser.parse_args()
    if args.populate_only:
        populate_sqlite(args.populate_only[0] == "on", int(args.populate_only[1]))
        return 0
    if args.instructions:
        count_instructions(args.instructions)
        return 0
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            measure("SQLite", f"sqlite:///{tmp}/stale.db", args.repeat, args.rounds)
    if args.backend in ("mysql", "both"):
        with mysql_url(args.mysql) as url:
            sep = "&" if "?" in url else "?"
            measure("MariaDB", f"{url}{sep}prefix=benchstale{os.getpid()}_", args.repeat, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
