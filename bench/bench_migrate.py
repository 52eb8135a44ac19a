"""``migrate`` against the hand-written statement, on a table of ``--rows`` rows (1M).

The table: ``manual Big {big_id: int32 --- name: varchar(12), value: float64}``.
Measured in the same run, best of ``--repeat`` interleaved runs:

* adding a nullable attribute (``extra = null: float64``): ``evolve.migrate()``
  (introspection, plan, ALTER TABLE, the check after) against the bare
  ``ALTER TABLE ... ADD COLUMN`` through the driver, on SQLite (a temp file,
  WAL) and on MariaDB (a throwaway server from tests/mariadb.py, or
  ``--mysql URL``); the column is dropped again between runs, untimed;
* SQLite's rebuild path (``name: varchar(12)`` widened to ``varchar(40)``):
  ``evolve.migrate()`` against the hand-written copy (one transaction: create,
  INSERT ... SELECT, drop, rename, foreign-key check); the two alternate, each
  taking the table from the other's schema, so both copy the same rows.

Targets (issue #11): ADD COLUMN <= 1.1x on both backends, rebuild <= 1.3x.
Run: ``python bench/bench_migrate.py [--rows 1000000] [--repeat 3] [--backend sqlite|mysql|both]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

from relflow_gen.compiler.frontend import compile_text  # noqa: E402
from relflow_gen.compiler.metadata import schema_meta  # noqa: E402
from relflow_gen.runtime import evolve  # noqa: E402
from relflow_gen.runtime.dynamic import pipeline_class  # noqa: E402
from relflow_gen.runtime.pipeline import Pipeline  # noqa: E402
from relflow_gen.runtime.populate.jobs import jobs_table_meta  # noqa: E402

OLD = """
schema bench

manual Big {
    big_id: int32
    ---
    name: varchar(12)
    value: float64
}
"""
ADDED = OLD.replace("    value: float64\n", "    value: float64\n    extra = null: float64\n")
WIDE = OLD.replace("varchar(12)", "varchar(40)")


def cls_of(src: str) -> type[Pipeline]:
    comp = compile_text(src, "bench.rf")
    assert comp.ok and comp.project is not None
    return pipeline_class(schema_meta(comp.project))


def fill(url: str, rows: int) -> None:
    db = cls_of(OLD)(url)
    chunk = 50_000
    for start in range(0, rows, chunk):
        db.table("Big").insert(
            [{"big_id": i, "name": f"n{i}", "value": i / 7} for i in range(start, min(rows, start + chunk))]
        )
    db.close()


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def run_migrate(url: str, src: str) -> float:
    db = cls_of(src)(url, declare=False)
    extra = [jobs_table_meta("bench")]
    try:
        return timed(lambda: evolve.migrate(db, extra))
    finally:
        assert not evolve.diff(db, extra, contents=False, checks=False)
        db.close()


def raw(db: Pipeline, sql: str) -> float:
    cursor = db.connection._cursor
    return timed(lambda: [cursor.execute(s) for s in sql.split(";\n") if s.strip()])


def add_column(url: str, repeat: int) -> tuple[float, float]:
    ours, hand = [], []
    db = cls_of(OLD)(url, declare=False)
    b = db.connection.backend
    ref = b.table_ref("bench", "big")
    spelled = b.column_type(schema_meta_attr_type())
    drop = f"ALTER TABLE {ref} DROP COLUMN {b.quote('extra')}"
    for _ in range(repeat):
        ours.append(run_migrate(url, ADDED))
        # SQLite: a schema read first, so that this connection sees the other one's change
        evolve.diff(db, [], contents=False, checks=False)
        db.connection.execute(drop)
        hand.append(raw(db, f"ALTER TABLE {ref} ADD COLUMN {b.quote('extra')} {spelled} NULL DEFAULT NULL"))
        db.connection.execute(drop)
    sent = counted_migrate(url, ADDED)
    print(f"  (migrate sends {len(sent)} statements: " + "; ".join(s.split(" (")[0][:48] for s in sent) + ")")
    db.connection.execute(drop)
    db.close()
    return min(ours), min(hand)


def counted_migrate(url: str, src: str) -> list[str]:
    """The statements one (untimed) migrate sends."""
    db = cls_of(src)(url, declare=False)
    cursor = db.connection._cursor
    sent: list[str] = []

    class Counting:
        def execute(self, sql: str, *args: Any) -> Any:
            sent.append(" ".join(sql.split()))
            return cursor.execute(sql, *args)

        def __getattr__(self, name: str) -> Any:
            return getattr(cursor, name)

    db.connection._cursor = Counting()
    try:
        evolve.migrate(db, [jobs_table_meta("bench")])
    finally:
        db.connection._cursor = cursor
        db.close()
    return sent


def schema_meta_attr_type() -> Any:
    return cls_of(ADDED).meta.by_name["bench.Big"].by_name["extra"].type


def rebuild(url: str, repeat: int) -> tuple[float, float]:
    ours, hand = [], []
    db = cls_of(OLD)(url, declare=False)
    back = (
        "PRAGMA foreign_keys = OFF;\nBEGIN IMMEDIATE;\n"
        'CREATE TABLE "bench.big~h" ("big_id" INTEGER NOT NULL, "name" VARCHAR(12) NOT NULL, '
        '"value" REAL NOT NULL, PRIMARY KEY ("big_id"));\n'
        'INSERT INTO "bench.big~h" ("big_id", "name", "value") SELECT "big_id", "name", "value" FROM "bench.big";\n'
        'DROP TABLE "bench.big";\nALTER TABLE "bench.big~h" RENAME TO "bench.big";\n'
        "PRAGMA foreign_key_check;\nCOMMIT;\nPRAGMA foreign_keys = ON"
    )
    checkpoint = "PRAGMA wal_checkpoint(TRUNCATE)"  # untimed: neither run pays for the other's WAL
    for _ in range(repeat):
        db.connection.execute(checkpoint)
        ours.append(run_migrate(url, WIDE))  # varchar(12) -> varchar(40): the rebuild
        evolve.diff(db, [], contents=False, checks=False)
        db.connection.execute(checkpoint)
        hand.append(raw(db, back))  # and back by hand: the same copy
        assert not evolve.diff(db, [jobs_table_meta("bench")], contents=False, checks=False)
    db.close()
    return min(ours), min(hand)


@contextmanager
def mysql_url(given: str | None) -> Iterator[str]:
    if given:
        yield given
        return
    from mariadb import throwaway_server

    with throwaway_server() as url:
        yield url


def report(label: str, ours: float, hand: float, target: float) -> None:
    ratio = ours / hand if hand else float("inf")
    verdict = "ok" if ratio <= target else f"above the {target}x target"
    print(f"  {label:44s} migrate {ours * 1e3:9.1f} ms   by hand {hand * 1e3:9.1f} ms   {ratio:5.2f}x  {verdict}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", choices=("sqlite", "mysql", "both"), default="both")
    parser.add_argument("--mysql", default=os.environ.get("RELFLOW_BENCH_MYSQL"), help="mysql:// URL of a server")
    args = parser.parse_args()
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    print(f"{args.rows} rows, best of {args.repeat}")
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/bench.db"
            fill(url, args.rows)
            print("SQLite (file, WAL)")
            report("add a nullable attribute (ADD COLUMN)", *add_column(url, args.repeat), 1.1)
            report("widen varchar(12) -> varchar(40) (rebuild)", *rebuild(url, args.repeat), 1.3)
    if args.backend in ("mysql", "both"):
        with mysql_url(args.mysql) as server:
            sep = "&" if "?" in server else "?"
            url = f"{server}{sep}prefix=benchmig_"
            fill(url, args.rows)
            print("MariaDB (local server)")
            report("add a nullable attribute (ALTER TABLE)", *add_column(url, args.repeat), 1.1)
            db = cls_of(OLD)(url, declare=False)
            db.connection.execute("DROP DATABASE benchmig_bench")
            db.close()
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
