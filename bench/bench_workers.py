"""Workers scaling out: keys/s of populate with a sleep-bound make, and the cost of make timeouts.

The pipeline: ``manual Src {src_id --- value}`` and ``computed Dst {-> Src ---
doubled}``.  On MariaDB (a throwaway server from tests/mariadb.py, or
``--mysql URL``), in the same run:

* ``--keys`` keys (4,000) with a make that sleeps ``--sleep`` (5 ms) and then
  fetches the parent row and inserts one row: 1 process, then
  ``populate(processes=N)`` for N = 2 and 4.  keys/s and the ratio to the
  ideal (1-process rate x N).
* the same with ``--hosts`` (3) worker hosts in Linux network namespaces, each
  with its own hostname and address, and the server in another namespace
  (tests/netns.py; root only): one ``python -m hw_pipeline worker`` process per
  host, timed from a common start line (every worker imported and waiting)
  until the last one exits, so each worker's connect, schema check and final
  empty round count against it.  The ratio is to the 1-process rate above;
  the rate of a single namespace worker is printed too.
* the same on a local Dask cluster of 4 single-threaded worker processes
  (``populate(executor=client)``)
* a trivial make (no sleep), 1 process, with and without ``make_timeout``
  (which runs makes in a child process): us per key and the overhead.

Run: ``python bench/bench_workers.py [--keys 4000] [--sleep 0.005] [--mysql URL]``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
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


def namespace_hosts(keys: int, sleep: float, hosts: int) -> tuple[float, float] | None:
    """keys/s of one worker on one namespace host, then of one worker on each of ``hosts`` hosts."""
    import netns

    reason = netns.why_not()
    if reason is not None:
        print(f"  {hosts} namespace hosts: skipped ({reason})")
        return None
    tmp = Path(tempfile.mkdtemp(prefix="bench-netns-"))
    try:
        root, makers = netns.build_package(tmp / "pkg")
        with netns.NetLab(hosts, tmp) as lab, lab.server() as url:
            comp = compile_text(netns.SCHEMA, "hw.rf")
            assert comp.ok and comp.project is not None
            cls = pipeline_class(schema_meta(comp.project))
            db: Any = lab.run_in(lab.db_ns, lambda: cls(url))
            db.Src.insert([{"src_id": i, "value": float(i)} for i in range(keys)])
            rates = []
            for used in (lab.hosts[:1], lab.hosts):
                db.Dst.delete_quick()
                ready, go = tmp / "ready", tmp / "go"
                shutil.rmtree(ready, ignore_errors=True)
                ready.mkdir()
                go.unlink(missing_ok=True)
                env = netns.worker_env(root, url, HW_SLEEP=str(sleep), HW_READY=str(ready), HW_GO=str(go))
                argv = netns.worker_argv(makers, "worker", "--poll", "0.2")
                for h in used:
                    lab.start_host(h, 1, argv, env, root)
                deadline = time.monotonic() + 120
                while len(list(ready.iterdir())) < len(used):
                    assert time.monotonic() < deadline, "namespace workers did not start"
                    time.sleep(0.05)
                go.touch()
                start = time.perf_counter()
                for h in used:
                    assert h.proc is not None
                    h.proc.wait(timeout=600)
                seconds = time.perf_counter() - start
                assert len(db.Dst) == keys, len(db.Dst)
                assert all(h.exit_codes() == [0] for h in used), [h.logs[0].read_text() for h in used]
                rates.append(keys / seconds)
            db.close()
            return rates[0], rates[1]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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
    ap.add_argument("--hosts", type=int, default=3, help="worker hosts in network namespaces (0: skip; root only)")
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
        if args.hosts:
            got = namespace_hosts(args.keys, args.sleep, args.hosts)
            if got is not None:
                single, many = got
                print(f"  1 namespace host, 1 worker: {single:8.1f} keys/s  (ratio to 1 process {single / one:.2f})")
                print(
                    f"  {args.hosts} namespace hosts, 1 worker each: {many:8.1f} keys/s  "
                    f"(ratio to ideal {many / (one * args.hosts):.2f})"
                )
        if not args.no_dask:  # last: a Dask cluster in this process slows what runs after it
            import distributed

            with distributed.LocalCluster(n_workers=4, threads_per_worker=1, dashboard_address=None) as cluster:
                with distributed.Client(cluster) as client:
                    rate = args.keys / timed(db, args.keys, executor=client)
            print(f"  local Dask, 4 workers: {rate:8.1f} keys/s  (ratio to ideal {rate / (one * 4):.2f})")
        db.close()

if __name__ == "__main__":
    main()
