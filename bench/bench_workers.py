"""Workers scaling out: keys/s of populate with a sleep-bound make, and the cost of make timeouts.

The pipeline: ``manual Src {src_id --- value}`` and ``computed Dst {-> Src ---
doubled}``.  On MariaDB (a throwaway server from tests/mariadb.py, or
``--mysql URL``), in the same run:

* ``--keys`` keys (4,000) with a make that sleeps ``--sleep`` (5 ms) and then
  fetches the parent row and inserts one row: 1 process, then
  ``populate(processes=N)`` for N = 2 and 4.  keys/s and the ratio to the
  ideal (1-process rate x N).
* the same on a local Dask cluster of 4 single-threaded worker processes
  (``populate(executor=client)``)
* a trivial make (no sleep), 1 process, with and without ``make_timeout``
  (which runs makes in a child process): us per key and the overhead.

Not measured here yet: hosts in network namespaces (issue 15 item 6).

Run: ``python bench/bench_workers.py [--keys 4000] [--sleep 0.005] [--mysql URL]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from relflow_gen.compiler.frontend import compile_text  # noqa: E402
from relflow_gen.compiler.metadata import schema_meta  # noqa: E402
from relflow_gen.runtime import Maker, Pipeline  # noqa: E402
from relflow_gen.runtime.dynamic import pipeline_class  # noqa: E402

SCHEMA = """
schema benchw

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

SLEEP = [0.005]


class MakeDst(Maker[Any, Any]):
    __table__ = "benchw.Dst"

    def make(self, key: Any) -> None:
        if SLEEP[0]:
            time.sleep(SLEEP[0])
        src = (self.db.Src & key).fetch1()
        self.insert1({**key, "doubled": src["value"] * 2})


def open_pipeline(url: str, n: int) -> Pipeline:
    comp = compile_text(SCHEMA, "bench.rf")
    assert comp.ok and comp.project is not None
    db: Any = pipeline_class(schema_meta(comp.project))(url, makers=[MakeDst])
    if len(db.Src) != n:
        db.Dst.delete_quick()
        db.Src.delete_quick()
        db.Src.insert([{"src_id": i, "value": float(i)} for i in range(n)])
    return db  # type: ignore[no-any-return]


def timed(db: Any, n: int, **options: Any) -> float:
    db.Dst.delete_quick()
    start = time.perf_counter()
    report = db.Dst.populate(**options)
    seconds = time.perf_counter() - start
    assert report.made == n and report.failed == 0, report
    return seconds


@contextmanager
def mysql_url(given: str | None) -> Iterator[str]:
    if given:
        yield given
        return
    from mariadb import throwaway_server

    with throwaway_server() as url:
        yield url


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keys", type=int, default=4000)
    ap.add_argument("--sleep", type=float, default=0.005)
    ap.add_argument("--trivial-keys", type=int, default=1000)
    ap.add_argument("--mysql", default=None)
    ap.add_argument("--no-dask", action="store_true", help="skip the local Dask cluster")
    args = ap.parse_args()
    with mysql_url(args.mysql) as base:
        url = base + ("&" if "?" in base else "?") + "prefix=bw_"
        SLEEP[0] = 0.0
        k = args.trivial_keys
        db: Any = open_pipeline(url, k)
        plain = min(timed(db, k) for _ in range(2)) / k
        child = min(timed(db, k, make_timeout=60) for _ in range(2)) / k
        print(f"trivial make, {k} keys, 1 process")
        print(f"  no timeout:      {plain * 1e6:8.1f} us/key")
        print(f"  make_timeout=60: {child * 1e6:8.1f} us/key  (+{(child - plain) * 1e6:.1f} us per key)")
        db.close()
        db = open_pipeline(url, args.keys)
        SLEEP[0] = args.sleep
        print(f"{args.keys} keys, make sleeps {args.sleep * 1000:g} ms, MariaDB")
        one = args.keys / timed(db, args.keys)
        print(f"  1 process:   {one:8.1f} keys/s  (ratio 1.00)")
        for n in (2, 4):
            rate = args.keys / timed(db, args.keys, processes=n)
            print(f"  {n} processes: {rate:8.1f} keys/s  (ratio to ideal {rate / (one * n):.2f})")
        if not args.no_dask:  # last: a Dask cluster in this process slows what runs after it
            import distributed

            with distributed.LocalCluster(n_workers=4, threads_per_worker=1, dashboard_address=None) as cluster:
                with distributed.Client(cluster) as client:
                    rate = args.keys / timed(db, args.keys, executor=client)
            print(f"  local Dask, 4 workers: {rate:8.1f} keys/s  (ratio to ideal {rate / (one * 4):.2f})")
        db.close()

if __name__ == "__main__":
    main()
