"""The perf gate: every workload next to its floor, in one interleaved run, with targets.

Run:  python bench/run_all.py [--backends sqlite,mysql] [--mysql-url URL] [--budget S] [--only NAME,...]
                              [--datajoint-python PATH]

For each backend (SQLite in a temporary file; MariaDB in a throwaway server started by
``tests/mariadb.py`` unless ``--mysql-url`` names one) and each workload it runs the floor (the
bare driver doing the same work) and ours alternately, each after the workload's reset, and
takes the per-pair ratio ours / floor (time: 1.0 = as fast, lower is better).  A workload is
repeated until the spread of its ratios (middle 80 %, relative to the median) is under 15 %, or
its time budget (``--budget`` seconds, default 20) is used up.

A ratio fails when it is past its target by more than the noise margin (half the measured
spread): ``ratio > target * (1 + spread / 2)``.  The table goes to ``bench/results/latest.md``
and ``bench/results/latest.json`` with the machine load (``uptime``); the exit code is 1 when
any ratio failed.  Build and import have no floor: their wall times are reported, not gated.

With ``--datajoint-python`` (an interpreter that has ``datajoint`` installed, e.g. a throwaway
venv), the compressible blob fetch is also timed through DataJoint against the same MariaDB, in
alternating blocks with ours, and gated at ratio <= 1.0 (at least as fast as DataJoint).

This is a benchmark, not a test: run it on a quiet machine when you can, and quote the table
with its load line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

import bench_core  # noqa: E402
import bench_delete  # noqa: E402
import bench_populate  # noqa: E402
import bench_query  # noqa: E402
import numpy as np  # noqa: E402
import zstandard  # noqa: E402
from bench_common import RawDB, Timing, mysql_server, open_pipeline, paired  # noqa: E402

#: (floor, ours, reset) of one workload
Runs = tuple[Callable[[], object], Callable[[], object], Callable[[], object]]


@dataclass
class Result:
    workload: str
    backend: str
    floor_ms: float | None
    ours_ms: float
    ratio: float | None
    spread: float | None
    pairs: int
    target: float | None
    status: str  # ok / FAIL / info


# ------------------------------------------------------------------ workloads


def w1_w2(url: str, raw: RawDB, rows: int) -> dict[str, tuple[Runs, float]]:
    db = open_pipeline(bench_core.SCHEMA, url)
    data = bench_core.make_rows(rows)
    events = db.table("Event")
    raw_core: Any = (
        bench_core.RawSQLite(raw.path) if raw.kind == "sqlite" else bench_core.RawMySQL(raw.server, raw.prefix)
    )

    def clear() -> None:
        events.delete_quick()
        raw_core.clear()

    out: dict[str, tuple[Runs, float]] = {}
    out[f"W1 insert {rows:,} rows"] = ((lambda: raw_core.insert(data), lambda: events.insert(data), clear), 1.25)

    filled: list[bool] = []

    def fill_once() -> None:
        if not filled:
            clear()
            events.insert(data)
            raw_core.insert(data)
            filled.append(True)

    out[f"W2 fetch {rows:,} rows as dicts"] = ((raw_core.fetch, events.fetch, fill_once), 1.25)

    dtype = np.dtype([("event_id", "i4"), ("channel", "i2"), ("amplitude", "f8"), ("label", "O"), ("day", "M8[D]"), ("kind", "O")])
    sql = f"SELECT {', '.join(bench_core.COLUMNS)} FROM {raw_core.events}"

    def raw_array() -> Any:
        return np.array(raw.query(sql), dtype=dtype)

    def ours_array() -> Any:
        return events.fetch(format="array")

    out[f"W2 fetch {rows:,} rows as a numpy array"] = ((raw_array, ours_array, fill_once), 1.25)
    return out


def w3(url: str, trials: int) -> dict[str, tuple[Runs, float]]:
    writer = bench_query.build(url, trials)
    writer.close()
    # read through a connection that did not write the rows (see w6: on MariaDB a connection
    # that has sent large packets reads large results slower afterwards)
    db = type(writer)(url)
    out: dict[str, tuple[Runs, float]] = {}
    for label, ours, template, params, target in (
        ("W3 join+restrict+aggr", bench_query.ours_aggregate, bench_query.AGGREGATE_SQL, ("success", "F"), 1.2),
        ("W3 join+restrict rows", bench_query.ours_rows, bench_query.ROWS_SQL, ("success",), 1.25),
    ):
        raw, _close = bench_query.raw_runner(db, url, template, params)
        out[label] = ((raw, lambda ours=ours: ours(db), lambda: None), target)
    return out


def w4(url: str, keys: int) -> dict[str, tuple[Runs, float]]:
    db = bench_populate.open_pipeline(url, keys)
    backend = db.connection.backend
    src, dst = db.table("Src").sql_ref, db.table("Dst").sql_ref
    if backend.name == "sqlite":
        path = db.connection.params.database
        floor: Callable[[], object] = lambda: bench_populate.raw_sqlite(path, src, dst, keys)  # noqa: E731
    else:
        params = db.connection.params
        floor = lambda: bench_populate.raw_mysql(params, src, dst, keys)  # noqa: E731
    reset = lambda: bench_populate.clear(db)  # noqa: E731
    return {
        f"W4 populate() {keys} keys": ((floor, lambda: bench_populate.timed_populate(db, keys), reset), 1.8),
        f"W4 populate(reserve_jobs=True) {keys} keys": (
            (floor, lambda: bench_populate.timed_populate(db, keys, reserve_jobs=True), reset),
            2.2,
        ),
    }


def w5(url: str, raw: RawDB) -> dict[str, tuple[Runs, float]]:
    db = open_pipeline(bench_delete.SCHEMA, url)
    out: dict[str, tuple[Runs, float]] = {}
    for case in bench_delete.CASES:
        # each case fills the tables when it starts (lazily: the cases share the tables)
        out[case[0]] = (_lazy(lambda case=case: bench_delete.workloads(db, raw, case)), case[-1])
    return out


def _lazy(make: Callable[[], Runs]) -> Runs:
    """Runs whose setup happens at the first reset (so that cases sharing tables run in turn)."""
    state: dict[str, Runs] = {}

    def get() -> Runs:
        if "runs" not in state:
            state["runs"] = make()
        return state["runs"]

    return (lambda: get()[0](), lambda: get()[1](), lambda: get()[2]())


BLOB_N = 1 << 20  # 8 MB of float64


def blob_arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2)
    return {
        "random": rng.normal(size=BLOB_N),
        "compressible": np.cumsum(rng.integers(-3, 4, size=BLOB_N)).astype(np.float64),
    }


def w6(url: str, raw: RawDB) -> dict[str, tuple[Runs, float]]:
    # Both sides read through the same driver connection (the floor through the bare driver
    # object under our pipeline), one that did not write the rows: on MariaDB the state of a
    # connection changes how fast it receives large results (one that has sent large packets
    # reads 8 MB about 0.5 ms slower afterwards, plain pymysql too), which is no part of either.
    writer = open_pipeline(bench_core.SCHEMA, url)
    writer.table("Trace").delete_quick()
    writer.table("TraceRaw").delete_quick()
    out: dict[str, tuple[Runs, float]] = {}
    arrays = blob_arrays()
    for i, arr in enumerate(arrays.values()):
        writer.table("Trace").insert1({"trace_id": i, "samples": arr})
        writer.table("TraceRaw").insert1({"trace_id": i, "samples": arr.tobytes()})
    writer.close()
    db = open_pipeline(bench_core.SCHEMA, url)
    trace = db.table("Trace")
    ref = raw.table("benchcore", "trace_raw")
    if raw.kind == "sqlite":
        # untimed: both rows are read from the database file, not one of them from the WAL (SQLite
        # reads overflow pages that are still in the WAL through its page cache, about 2x slower)
        raw.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    driver = db.connection._cursor.connection  # the bare sqlite3 / pymysql connection

    def query(sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        cur = driver.cursor()
        cur.execute(sql, params)
        rows = list(cur.fetchall())
        cur.close()
        return rows

    reft = raw.table("benchcore", "trace")
    unzstd = zstandard.ZstdDecompressor()
    for i, (label, arr) in enumerate(arrays.items()):
        if label == "random":

            def floor(i: int = i) -> np.ndarray:
                (value,) = query(f"SELECT samples FROM {ref} WHERE trace_id = {raw.mark}", (i,))[0]
                return np.frombuffer(value, dtype=np.float64)

        else:
            # the same stored (zstd) blob through the driver, decompressed by zstandard itself
            # (the blob header is 14 bytes; the array's data is the body's last nbytes)
            def floor(i: int = i, skip: int = arr.nbytes) -> np.ndarray:
                (value,) = query(f"SELECT samples FROM {reft} WHERE trace_id = {raw.mark}", (i,))[0]
                body = unzstd.decompress(memoryview(value)[14:])
                return np.frombuffer(body, dtype=np.float64, offset=len(body) - skip)

        def ours(i: int = i) -> Any:
            return (trace & {"trace_id": i}).fetch1()["samples"]

        assert np.array_equal(floor(), ours())
        # the compressible blob's floor decompresses too; its other target is DataJoint
        # (--datajoint-python)
        out[f"W6 blob fetch 8 MB {label}"] = ((floor, ours, lambda: None), 1.2)
    return out


DJ_SCRIPT = r"""
import sys, time, statistics, json
import numpy as np, datajoint as dj
host, port, n, repeat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
dj.config["database.host"] = host
dj.config["database.port"] = port
dj.config["database.user"] = "root"
dj.config["database.password"] = ""
dj.config["safemode"] = False
schema = dj.Schema("djbench_blob")

@schema
class Trace(dj.Manual):
    definition = '''
    trace_id: int
    ---
    samples: <blob>
    '''

rng = np.random.default_rng(2)
rng.normal(size=n)
arr = np.cumsum(rng.integers(-3, 4, size=n)).astype(np.float64)
if not Trace():
    Trace.insert1({"trace_id": 1, "samples": arr})
times = []
for _ in range(repeat):
    t = time.perf_counter()
    got = (Trace & {"trace_id": 1}).fetch1("samples")
    times.append(time.perf_counter() - t)
assert np.array_equal(got, arr)
print(json.dumps(times))
"""


def datajoint_compare(python: str, server: str, url: str, budget: float) -> Result:
    """Compressible blob fetch through DataJoint (its own interpreter) and ours, in alternating blocks."""
    from urllib.parse import urlparse

    u = urlparse(server)
    db = open_pipeline(bench_core.SCHEMA, url)
    arr = blob_arrays()["compressible"]
    trace = db.table("Trace")
    trace.insert1({"trace_id": 99, "samples": arr}, skip_duplicates=True)
    raw = RawDB(server)
    raw.query("DROP DATABASE IF EXISTS djbench_blob")
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(DJ_SCRIPT)
    dj_times: list[float] = []
    our_times: list[float] = []
    ratios: list[float] = []
    start = time.perf_counter()
    try:
        while True:
            out = subprocess.run(
                [python, f.name, u.hostname or "127.0.0.1", str(u.port or 3306), str(BLOB_N), "5"],
                capture_output=True, text=True, check=True,
            )
            block_dj = json.loads(out.stdout.strip().splitlines()[-1])
            block_ours = []
            for _ in range(5):
                t = time.perf_counter()
                (trace & {"trace_id": 99}).fetch1()
                block_ours.append(time.perf_counter() - t)
            dj_times += block_dj
            our_times += block_ours
            ratios.append(statistics.median(block_ours) / statistics.median(block_dj))
            spread = _spread(ratios)
            if len(ratios) >= 3 and (spread <= 0.15 or time.perf_counter() - start > budget):
                break
    finally:
        os.unlink(f.name)
        raw.query("DROP DATABASE IF EXISTS djbench_blob")
        raw.close()
        db.close()
    ratio = statistics.median(ratios)
    return _result(
        "W6 blob fetch 8 MB compressible, vs DataJoint", "mysql",
        Timing(statistics.median(dj_times), statistics.median(our_times), ratio, _spread(ratios), len(ratios)), 1.0,
    )


def _spread(ratios: list[float]) -> float:
    s = sorted(ratios)
    cut = len(s) // 10
    mid = s[cut : len(s) - cut]
    return (mid[-1] - mid[0]) / statistics.median(s) if len(s) > 1 else 0.0


def build_and_import() -> list[Result]:
    """Wall time of a 100-table build and of importing the generated package (no floor: reported)."""
    import bench_build

    out = []
    with tempfile.TemporaryDirectory(prefix="relflow-bench-build-") as tmp:
        src = Path(tmp) / "synth.rf"
        src.write_text(bench_build.synthetic_schema(100))
        times = []
        for i in range(3):
            dest = Path(tmp) / f"out{i}"
            t = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "relflow_gen", "build", str(src), "--out", str(dest), "--no-svg"],
                check=True, capture_output=True,
            )
            times.append(time.perf_counter() - t)
        out.append(Result("build 100 tables (relflow-gen build, a process)", "-", None, statistics.median(times) * 1e3, None, None, 3, None, "info"))
        pkg_root = Path(tmp) / "out0"
        packages = [p.parent.name for p in pkg_root.glob("*/__init__.py")]
        if packages:
            times = []
            for _ in range(5):
                t = time.perf_counter()
                subprocess.run([sys.executable, "-c", f"import {packages[0]}"], cwd=pkg_root, check=True)
                times.append(time.perf_counter() - t)
            floor = []
            for _ in range(5):
                t = time.perf_counter()
                subprocess.run([sys.executable, "-c", "pass"], check=True)
                floor.append(time.perf_counter() - t)
            f, o = statistics.median(floor), statistics.median(times)
            out.append(Result(f"import the generated package ({packages[0]}), floor: python -c pass", "-", f * 1e3, o * 1e3, o / f, None, 5, None, "info"))
    return out


def _result(name: str, backend: str, t: Timing, target: float) -> Result:
    margin = t.spread / 2
    status = "ok" if t.ratio <= target * (1 + margin) else "FAIL"
    return Result(name, backend, t.raw * 1e3, t.ours * 1e3, t.ratio, t.spread, t.pairs, target, status)


# ------------------------------------------------------------------ main


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--backends", default="sqlite,mysql")
    parser.add_argument("--mysql-url", default=os.environ.get("RELFLOW_BENCH_MYSQL_URL"))
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per workload at most (after 5 pairs)")
    parser.add_argument("--repeat", type=int, default=5, help="pairs per workload at least")
    parser.add_argument("--only", default="", help="comma-separated prefixes of workload names (W1, W5, ...)")
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--trials", type=int, default=20_000)
    parser.add_argument("--keys", type=int, default=500)
    parser.add_argument("--datajoint-python", default=os.environ.get("RELFLOW_BENCH_DATAJOINT_PYTHON"))
    parser.add_argument("--no-build", action="store_true", help="skip the build and import timings")
    parser.add_argument("--out", default=str(HERE / "results"))
    args = parser.parse_args()
    only = [p.strip() for p in args.only.split(",") if p.strip()]
    uptime_before = _uptime()
    results: list[Result] = []

    def wanted(name: str) -> bool:
        return not only or any(name.startswith(p) for p in only)

    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        with tempfile.TemporaryDirectory(prefix="relflow-bench-") as tmp, mysql_server(args.mysql_url, backend) as server:
            prefix = f"gate{os.getpid()}_"
            urls = {
                kind: f"sqlite:///{tmp}/{kind}.db" if backend == "sqlite" else f"{server}?prefix={prefix}{kind}_"
                for kind in ("core", "query", "populate", "delete")
            }
            raws = {kind: RawDB(url) for kind, url in urls.items()}
            try:
                groups: list[Callable[[], dict[str, tuple[Runs, float]]]] = [
                    lambda: w1_w2(urls["core"], raws["core"], args.rows) if wanted("W1") or wanted("W2") else {},
                    lambda: w3(urls["query"], args.trials) if wanted("W3") else {},
                    lambda: w4(urls["populate"], args.keys) if wanted("W4") else {},
                    lambda: w5(urls["delete"], raws["delete"]) if wanted("W5") else {},
                    lambda: w6(urls["core"], raws["core"]) if wanted("W6") else {},
                ]
                for group in groups:
                    for name, ((floor, ours, reset), target) in group().items():
                        if not wanted(name):
                            continue
                        for warm in (ours, floor):  # warm caches and prepared plans on both sides
                            reset()
                            warm()
                        t = paired(floor, ours, reset, args.repeat, budget=args.budget)
                        r = _result(name, backend, t, target)
                        results.append(r)
                        _print(r)
                if backend == "mysql" and args.datajoint_python and wanted("W6"):
                    r = datajoint_compare(args.datajoint_python, server, urls["core"], args.budget)
                    results.append(r)
                    _print(r)
            finally:
                for raw in raws.values():
                    raw.schemas |= {"benchcore", "benchdel", "bench"}
                    raw.drop_all()
                    raw.close()
    if not args.no_build and not only:
        for r in build_and_import():
            results.append(r)
            _print(r)
    uptime_after = _uptime()
    write_results(Path(args.out), results, uptime_before, uptime_after)
    failed = [r for r in results if r.status == "FAIL"]
    print(f"\n{len(failed)} of {len([r for r in results if r.target])} gated ratios failed; results in {args.out}/latest.md")
    print(f"uptime before: {uptime_before}\nuptime after:  {uptime_after}")
    return 1 if failed else 0


def _print(r: Result) -> None:
    floor = f"{r.floor_ms:9.1f}" if r.floor_ms is not None else " " * 9
    ratio = f"{r.ratio:5.2f}" if r.ratio is not None else "  -  "
    spread = f"{r.spread * 100:4.0f}%" if r.spread is not None else "   - "
    target = f"{r.target:4.2f}" if r.target is not None else "  - "
    print(f"{r.backend:7} {r.workload:52} floor {floor} ms  ours {r.ours_ms:9.1f} ms  ratio {ratio} "
          f"spread {spread} x{r.pairs:<3} target {target}  {r.status}", flush=True)


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def write_results(folder: Path, results: list[Result], before: str, after: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    import pymysql

    meta = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "uptime_before": before,
        "uptime_after": after,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "pymysql": pymysql.__version__,
        "numpy": np.__version__,
        "cpus": os.cpu_count(),
    }
    (folder / "latest.json").write_text(json.dumps({"meta": meta, "results": [asdict(r) for r in results]}, indent=2) + "\n")
    lines = [
        "# Perf gate: ours / floor (time; lower is better)",
        "",
        f"{meta['when']}; python {meta['python']}, sqlite {meta['sqlite']}, pymysql {meta['pymysql']}, numpy {meta['numpy']}, {meta['cpus']} CPUs",
        "",
        f"- uptime before: `{before}`",
        f"- uptime after: `{after}`",
        "",
        "| workload | backend | floor ms | ours ms | ratio | spread | pairs | target | status |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.workload} | {r.backend} | {'' if r.floor_ms is None else f'{r.floor_ms:.1f}'} | {r.ours_ms:.1f} | "
            f"{'' if r.ratio is None else f'{r.ratio:.2f}'} | {'' if r.spread is None else f'{r.spread * 100:.0f}%'} | "
            f"{r.pairs} | {'' if r.target is None else f'{r.target:.2f}'} | {r.status} |"
        )
    (folder / "latest.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
