"""Object stores with populate: makes that write store values, no transaction held while writing,
and a worker killed in the middle of writing a 200 MB object (kill -9)."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from runtime_support import open_pipeline

from relflow_gen.runtime import Maker
from relflow_gen.runtime.engine.connection import Connection
from relflow_gen.runtime.stores.store import Store

SRC = """schema img

manual Scan {
    scan_id: int32
    ---
    size_mb = 1: int32
}

computed Movie {
    -> Scan
    ---
    mean: blob@raw
    frames: object@raw
}
"""

#: folder a make writes its local files into (set per test)
WORK: list[Path] = []


class MakeMovie(Maker[Any, Any]):
    __table__ = "img.Movie"

    def make(self, key: Any) -> None:
        size = (self.db.Scan & key).fetch1()["size_mb"]
        folder = WORK[0] / f"frames-{key['scan_id']}-{os.getpid()}"
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "frames.bin", "wb") as f:
            block = bytes(range(256)) * 4096  # 1 MiB
            for _ in range(size):
                f.write(block)
        (folder / "meta.json").write_text(json.dumps({"scan": key["scan_id"]}))
        if len(WORK) > 1:  # the fault test: tell the parent the upload starts now
            (WORK[1] / "uploading").write_text(str(os.getpid()))
        self.insert1({**key, "mean": np.full(4, float(key["scan_id"])), "frames": folder})


def _open(db_url: str, spec: dict[str, Any]) -> Any:
    return open_pipeline(SRC, db_url, stores={"raw": spec}, makers=[MakeMovie])


def test_populate_writes_store_values_without_holding_a_transaction(
    db_url: str, store_spec: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    WORK[:] = [tmp_path / "work"]
    db = _open(db_url, store_spec)
    db.table("Scan").insert({"scan_id": i} for i in range(3))
    seen: list[bool] = []
    put_tree = Store.put_tree

    def watched(self: Store, prefix: str, dest: str, src: Path) -> Any:
        seen.append(db.connection.in_transaction)
        return put_tree(self, prefix, dest, src)

    monkeypatch.setattr(Store, "put_tree", watched)
    report = db.table("Movie").populate(reserve_jobs=True)
    assert report.made == 3 and seen == [False, False, False]
    row = (db.table("Movie") & {"scan_id": 2}).fetch1()
    np.testing.assert_array_equal(row["mean"], np.full(4, 2.0))
    assert row["frames"].fsmap()["meta.json"] == b'{"scan": 2}'
    assert row["frames"].size == 2**20 + len('{"scan": 2}')
    assert db.verify_stores().problems == []
    # provenance and the jobs table work as for any computed table
    assert db.table("Movie").provenance()[0]["made_by"]
    assert db.jobs.fetch() == []
    # a cascade from the scan deletes rows only; gc then collects the tree after the grace period
    (db.table("Scan") & {"scan_id": 0}).delete(force=True)
    (report_gc,) = db.gc_stores(grace_seconds=0)
    assert len(report_gc.collected) == 2  # the tree and the mean of scan 0
    assert db.verify_stores().problems == [] and len(db.table("Movie")) == 2


def _killable_worker(pipeline_cls: Any, params: Any, work: Path, flags: Path) -> None:
    WORK[:] = [work, flags]
    db = pipeline_cls(Connection(params), declare=False, makers=[MakeMovie])
    db.table("Movie").populate(reserve_jobs=True)


def test_worker_killed_while_writing_200_mb_leaves_no_row_and_an_orphan_gc_collects(
    db_url: str, store_spec: dict[str, Any], tmp_path: Path
) -> None:
    WORK[:] = [tmp_path / "work"]
    db = _open(db_url, store_spec)
    db.table("Scan").insert1({"scan_id": 7, "size_mb": 200})
    store = db.connection.stores.get("raw")
    prefix = db.connection.backend.database_name("img")
    flags = tmp_path / "flags"
    flags.mkdir()
    ctx = multiprocessing.get_context("fork")
    proc = ctx.Process(target=_killable_worker, args=(type(db), db.connection.params, tmp_path / "w2", flags))
    proc.start()
    deadline = time.monotonic() + 120
    while not (flags / "uploading").exists():
        assert proc.is_alive() and time.monotonic() < deadline
        time.sleep(0.01)
    if store.local:  # wait until part of the object is written, then kill mid-write
        while not any(0 < s < 200 * 2**20 for _, _, s in store.list_files(f"{prefix}/.tmp")):
            assert proc.is_alive() and time.monotonic() < deadline, "the upload finished before it could be killed"
            time.sleep(0.005)
    else:
        time.sleep(0.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(timeout=30)
    assert proc.exitcode == -signal.SIGKILL

    assert len(db.table("Movie")) == 0  # no row without its object
    if store.local:  # the partial tree is a temporary folder: never published, collected once old
        assert list(store.list_files(f"{prefix}/object")) == []
        (young,) = db.gc_stores(grace_seconds=0)
        # a temporary folder younger than an hour is kept (the orphaned `mean`, written first, may go)
        assert not any("/.tmp/" in p for p in young.collected) and young.young >= 1
        stamp = time.time() - 2 * 3600  # two hours pass
        for rel, _, _ in store.list_files(f"{prefix}/.tmp"):
            os.utime(store.full(rel), (stamp, stamp))
        (old,) = db.gc_stores(grace_seconds=3600)
        assert len(old.collected) == 1 and old.collected[0].startswith(f"{prefix}/.tmp/")
        assert list(store.list_files(f"{prefix}/.tmp")) == []
    # the next worker reclaims the dead worker's key and makes it
    report = db.table("Movie").populate(reserve_jobs=True)
    assert report.made == 1
    row = db.table("Movie").fetch1()
    assert row["frames"].size == 200 * 2**20 + len('{"scan": 7}')
    assert db.verify_stores().problems == []
    (after,) = db.gc_stores(grace_seconds=0)
    assert after.collected == [] or all("/object/" in p or "/hash/" in p for p in after.collected)
    assert db.verify_stores().problems == []
