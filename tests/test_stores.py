"""Object stores end to end: every store type on both databases and on both store backends
(a local file system and a real S3-compatible server through s3fs)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from runtime_support import open_pipeline

from relflow_gen.runtime.errors import InsertError, QueryError
from relflow_gen.runtime.stores import (
    ObjectCorruptError,
    ObjectMissingError,
    StoreConfigError,
    StoreError,
    StoreRef,
)
from relflow_gen.runtime.stores.registry import Stores

SRC = """schema lab

manual Session {
    session_id: int32
    ---
    movie = null: attach@raw
}

manual Recording {
    -> Session
    rec_id: int32
    ---
    trace: blob@raw
    note = null: attach
    source = null: filepath@raw
    tree = null: object@raw
    label = "": varchar(32)
}
"""


def _open(db_url: str, spec: dict[str, Any]) -> Any:
    return open_pipeline(SRC, db_url, stores={"raw": spec})


def _store_of(db: Any) -> Any:
    return db.connection.stores.get("raw")


def _files(tmp: Path) -> dict[str, Path]:
    movie = tmp / "in" / "movie.avi"
    movie.parent.mkdir(parents=True, exist_ok=True)
    movie.write_bytes(os.urandom(300_000))
    note = tmp / "in" / "note.txt"
    note.write_text("calibrated at 9:00\n")
    tree = tmp / "in" / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.bin").write_bytes(b"a" * 1000)
    (tree / "sub" / "b.bin").write_bytes(b"b" * 2000)
    return {"movie": movie, "note": note, "tree": tree}


def _put_source(db: Any, rel: str, data: bytes) -> None:
    store = _store_of(db)
    full = store.full(rel)
    if store.local:
        Path(full).parent.mkdir(parents=True, exist_ok=True)
    store.fs.pipe_file(full, data)


def test_every_type_round_trips(db_url: str, store_spec: dict[str, Any], tmp_path: Path) -> None:
    f = _files(tmp_path)
    db = _open(db_url, store_spec)
    _put_source(db, "acquired/raw-1.dat", b"raw bytes of the rig")
    trace = np.arange(12.0).reshape(3, 4)
    db.table("Session").insert1({"session_id": 1, "movie": f["movie"]})
    db.table("Session").insert1({"session_id": 2})
    rec = db.table("Recording")
    rec.insert1(
        {
            "session_id": 1,
            "rec_id": 1,
            "trace": trace,
            "note": f["note"],
            "source": "acquired/raw-1.dat",
            "tree": f["tree"],
        }
    )
    rec.insert1({"session_id": 2, "rec_id": 1, "trace": {"gain": 2.5}, "label": "x"})

    down = tmp_path / "down"
    s1 = (db.table("Session") & {"session_id": 1}).fetch1(download_path=down)
    assert isinstance(s1["movie"], Path) and s1["movie"].parent == down
    assert s1["movie"].name == "movie.avi" and s1["movie"].read_bytes() == f["movie"].read_bytes()
    assert (db.table("Session") & {"session_id": 2}).fetch1()["movie"] is None

    r = (rec & {"session_id": 1}).fetch1(download_path=down)
    np.testing.assert_array_equal(r["trace"], trace)
    assert r["note"].read_text() == "calibrated at 9:00\n" and r["note"].name == "note.txt"
    src = r["source"]
    assert isinstance(src, StoreRef) and src.path == "acquired/raw-1.dat" and src.size == 20
    with src.open() as fh:
        assert fh.read() == b"raw bytes of the rig"
    assert src.download(tmp_path / "copy").read_bytes() == b"raw bytes of the rig"
    tree = r["tree"]
    assert isinstance(tree, StoreRef) and tree.size == 3000
    m = tree.fsmap()
    assert m["a.bin"] == b"a" * 1000 and m["sub/b.bin"] == b"b" * 2000
    with tree.open("sub/b.bin") as fh:
        assert fh.read() == b"b" * 2000
    local = tree.download(tmp_path / "trees")
    assert (local / "sub" / "b.bin").read_bytes() == b"b" * 2000
    assert (rec & {"session_id": 2}).fetch1()["trace"] == {"gain": 2.5}

    # the row keeps the size and sha256 of the object, under the schema's prefix
    raw = (rec & {"session_id": 1}).fetch_raw("trace", "source")[0]
    ref = json.loads(raw["trace"])
    assert ref["store"] == "raw" and ref["path"].startswith(db.connection.backend.database_name("lab") + "/hash/")
    src_ref = json.loads(raw["source"])
    assert src_ref["sha256"] == hashlib.sha256(b"raw bytes of the rig").hexdigest() and src_ref["size"] == 20

    # joins and projections carry store attributes; previews show size and store, never the bytes
    joined = (db.table("Session") * rec).fetch("rec_id", "movie", "trace", order_by="session_id", download_path=down)
    assert joined[0]["movie"].read_bytes() == f["movie"].read_bytes()
    assert joined[1]["trace"] == {"gain": 2.5}
    assert [x["session_id"] for x in rec.proj("trace").fetch(order_by="session_id")] == [1, 2]
    text = repr(db.table("Session"))
    assert "<attach@raw movie.avi 300.0 kB>" in text
    shown = repr(rec)
    assert "<attach note.txt" in shown and "<object@raw " in shown and "&lt;blob@raw 23 B&gt;" in rec._repr_html_(), shown
    assert db.verify_stores().problems == []


def test_identical_values_are_stored_once(db_url: str, store_spec: dict[str, Any]) -> None:
    db = _open(db_url, store_spec)
    db.table("Session").insert1({"session_id": 1})
    value = np.ones((64, 64))
    db.table("Recording").insert({"session_id": 1, "rec_id": i, "trace": value} for i in range(20))
    store = _store_of(db)
    prefix = db.connection.backend.database_name("lab")
    objects = list(store.list_files(f"{prefix}/hash"))
    assert len(objects) == 1
    assert len({r["trace"] for r in db.table("Recording").fetch_raw("trace")}) == 1


def test_store_attributes_are_never_compared(db_url: str, store_spec: dict[str, Any], tmp_path: Path) -> None:
    db = _open(db_url, store_spec)
    rec = db.table("Recording")
    with pytest.raises(QueryError, match="cannot restrict by the blob@raw attribute `trace`"):
        rec.restrict({"trace": np.ones(3)}).fetch()
    with pytest.raises(QueryError, match="cannot restrict by the attach attribute `note`"):
        rec.restrict({"note": "x"}).fetch()


def test_bad_values_name_row_and_attribute(db_url: str, store_spec: dict[str, Any], tmp_path: Path) -> None:
    db = _open(db_url, store_spec)
    db.table("Session").insert1({"session_id": 1})
    rec = db.table("Recording")
    with pytest.raises(InsertError, match=r"row 1.*`source`.*no file nope.dat"):
        rec.insert(
            [
                {"session_id": 1, "rec_id": 1, "trace": 1},
                {"session_id": 1, "rec_id": 2, "trace": 2, "source": "nope.dat"},
            ]
        )
    assert len(rec) == 0  # one bad row inserts nothing
    with pytest.raises(InsertError, match=r"`source`.*inside the store"):
        rec.insert1({"session_id": 1, "rec_id": 1, "trace": 1, "source": "../etc/passwd"})
    with pytest.raises(InsertError, match=r"`note`.*is not a file"):
        rec.insert1({"session_id": 1, "rec_id": 1, "trace": 1, "note": tmp_path / "missing.txt"})
    with pytest.raises(InsertError, match=r"`tree`.*does not exist"):
        rec.insert1({"session_id": 1, "rec_id": 1, "trace": 1, "tree": tmp_path / "missing"})


def test_corrupt_and_missing_objects_are_reported(db_url: str, store_spec: dict[str, Any], tmp_path: Path) -> None:
    f = _files(tmp_path)
    db = _open(db_url, store_spec)
    db.table("Session").insert({"session_id": i, "movie": f["movie"] if i == 1 else None} for i in (1, 2, 3))
    rec = db.table("Recording")
    rec.insert1({"session_id": 2, "rec_id": 1, "trace": np.arange(5), "tree": f["tree"]})
    rec.insert1({"session_id": 3, "rec_id": 1, "trace": np.arange(6)})
    store = _store_of(db)
    movie = json.loads((db.table("Session") & {"session_id": 1}).fetch_raw("movie")[0]["movie"])
    trace = json.loads((rec & {"session_id": 3}).fetch_raw("trace")[0]["trace"])
    tree = json.loads((rec & {"session_id": 2}).fetch_raw("tree")[0]["tree"])
    # corrupt the movie (same size, other bytes), delete a trace, change a file of a tree
    data = bytearray(store.fs.cat_file(store.full(movie["path"])))
    data[100] ^= 0xFF
    store.fs.pipe_file(store.full(movie["path"]), bytes(data))
    store.fs.rm(store.full(trace["path"]))
    store.fs.pipe_file(store.full(tree["path"] + "/a.bin"), b"A" * 1000)

    with pytest.raises(ObjectCorruptError, match=r"\{'session_id': 1\} attribute movie.*corrupt"):
        (db.table("Session") & {"session_id": 1}).fetch1(download_path=tmp_path / "d")
    assert not list((tmp_path / "d").glob("*.avi"))  # nothing unverified is left behind
    with pytest.raises(ObjectMissingError, match=r"'session_id': 3.*attribute trace.*missing"):
        (rec & {"session_id": 3}).fetch1()
    report = db.verify_stores()
    found = {(p.table, p.key["session_id"], p.attribute, p.kind) for p in report.problems}
    assert found == {
        ("lab.Session", 1, "movie", "corrupt"),
        ("lab.Recording", 3, "trace", "missing"),
        ("lab.Recording", 2, "tree", "corrupt"),
    }
    assert report.checked == 4


def test_gc_collects_only_unreferenced_old_objects(db_url: str, store_spec: dict[str, Any], tmp_path: Path) -> None:
    f = _files(tmp_path)
    db = _open(db_url, store_spec)
    db.table("Session").insert({"session_id": i} for i in (1, 2))
    rec = db.table("Recording")
    rec.insert1({"session_id": 1, "rec_id": 1, "trace": np.arange(3), "tree": f["tree"], "note": f["note"]})
    rec.insert1({"session_id": 2, "rec_id": 1, "trace": np.arange(4)})
    rec.insert1({"session_id": 2, "rec_id": 2, "trace": np.arange(3)})  # shares the object of (1, 1)
    (db.table("Session") & {"session_id": 1}).delete(force=True)  # cascades: rows only, objects stay
    assert len(rec) == 2
    store = _store_of(db)
    prefix = db.connection.backend.database_name("lab")
    assert len(list(store.list_files(f"{prefix}/object"))) == 2

    (young,) = db.gc_stores(grace_seconds=3600)
    assert young.collected == [] and young.young == 1  # the orphaned tree is younger than an hour
    (dry,) = db.gc_stores(grace_seconds=0, dry_run=True)
    assert len(dry.collected) == 1 and dry.collected[0].startswith(f"{prefix}/object/recording/")
    assert len(list(store.list_files(f"{prefix}/object"))) == 2
    (done,) = db.gc_stores(grace_seconds=0)
    assert done.collected == dry.collected and done.bytes == 3000
    assert list(store.list_files(f"{prefix}/object")) == []
    assert len(list(store.list_files(f"{prefix}/hash"))) == 2  # both traces are still referenced
    assert db.verify_stores().problems == []
    rows = rec.fetch(order_by="rec_id")
    np.testing.assert_array_equal(rows[1]["trace"], np.arange(3))

    rec.delete(force=True)
    (last,) = db.gc_stores(grace_seconds=0)
    assert len(last.collected) == 2 and list(store.list_files(f"{prefix}/hash")) == []


def test_unconfigured_store_is_an_error_at_connect(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no pyproject.toml above
    with pytest.raises(StoreConfigError, match=r"store 'raw' \(used by lab.Recording, lab.Session\)"):
        open_pipeline(SRC, db_url)
    with pytest.raises(StoreConfigError, match=r"store 'raw'"):
        open_pipeline(SRC, db_url, stores={"other": (tmp_path / "o").as_uri()})


def test_stores_from_pyproject(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "objects"
    (tmp_path / "pyproject.toml").write_text(f'[tool.relflow-gen.stores.raw]\nurl = "{root.as_uri()}"\n')
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    db = open_pipeline(SRC, db_url)
    db.table("Session").insert1({"session_id": 1})
    db.table("Recording").insert1({"session_id": 1, "rec_id": 1, "trace": [1, 2]})
    assert db.table("Recording").fetch1()["trace"] == [1, 2]
    assert any(root.rglob("*"))

    (tmp_path / "pyproject.toml").write_text(
        f'[tool.relflow-gen.stores.raw]\nurl = "{root.as_uri()}"\nsecret = "hunter2"\n'
    )
    with pytest.raises(StoreConfigError, match=r"credential option\(s\) secret.*from the environment"):
        open_pipeline(SRC, db_url)


def test_credentials_never_shown(tmp_path: Path) -> None:
    db = open_pipeline(
        SRC,
        f"sqlite:///{tmp_path / 'x.db'}",
        stores={"raw": {"url": (tmp_path / "s").as_uri(), "key": "AKIDSECRET", "secret": "hunter2"}},
    )
    shown = " ".join(
        [repr(db), repr(db.connection), repr(db.connection.params), repr(db.connection.stores), repr(_store_of(db))]
        + [repr(c) for c in db.connection.params.stores]
    )
    assert "hunter2" not in shown and "AKIDSECRET" not in shown
    with pytest.raises(StoreConfigError, match="password"):
        Stores(()).check({}) or open_pipeline(SRC, "sqlite://", stores={"raw": "s3://me:pw@bucket/x"})


def test_s3_needs_the_right_credentials(
    db_url: str, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from store_fixtures import s3_store

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "relflow-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "relflow-test-secret")
    spec = s3_store(s3_endpoint)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    with pytest.raises(StoreError, match="store raw: cannot write .*Forbidden"):
        _open(db_url, {**spec, "skip_instance_cache": True})  # declare records the store's columns: refused


def test_stores_command(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from relflow_gen.runtime.cli import main

    root = tmp_path / "objects"
    (tmp_path / "pyproject.toml").write_text(f'[tool.relflow-gen.stores.raw]\nurl = "{root.as_uri()}"\n')
    monkeypatch.chdir(tmp_path)
    db = open_pipeline(SRC, db_url)
    db.table("Session").insert1({"session_id": 1})
    db.table("Recording").insert({"session_id": 1, "rec_id": i, "trace": np.full(3, i)} for i in range(3))
    (db.table("Recording") & {"rec_id": 2}).delete_quick()
    cls = type(db)
    capsys.readouterr()
    assert main(cls, ["--db", db_url, "stores", "gc", "--dry-run", "--grace", "0"]) == 0
    out = capsys.readouterr().out
    assert "store raw: 2 referenced, would delete 1 unreferenced" in out and "lab/hash/" in out
    assert main(cls, ["--db", db_url, "stores", "gc"]) == 0  # a day of grace: nothing old enough
    assert "deleted 0 unreferenced" in capsys.readouterr().out
    assert main(cls, ["--db", db_url, "stores", "gc", "--grace", "0"]) == 0
    assert "deleted 1 unreferenced" in capsys.readouterr().out
    assert main(cls, ["--db", db_url, "stores", "verify"]) == 0
    assert "2 objects checked: all present and intact" in capsys.readouterr().out
    ref = json.loads(db.table("Recording").fetch_raw("trace", order_by="rec_id")[0]["trace"])
    (root / ref["path"]).unlink()
    assert main(cls, ["--db", db_url, "stores", "verify"]) == 1
    out = capsys.readouterr().out
    assert "missing: lab.Recording {'session_id': 1, 'rec_id': 0} attribute trace" in out
    assert "2 objects checked: 1 missing or corrupt" in out
    db.close()
