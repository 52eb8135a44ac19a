"""Object stores, the edges: filepath@ downloads, restrictions by store attributes, fetch as arrays,
object@ publication, stores shared by schemas and store names (both databases, both store backends)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from runtime_support import open_pipeline

from relflow_gen.runtime.errors import QueryError
from relflow_gen.runtime.stores import ObjectCorruptError, StoreRef

SRC = """schema lab

manual Session {
    session_id: int32
    ---
    movie = null: attach@raw
    note = null: attach
}

manual Recording {
    -> Session
    rec_id: int32
    ---
    trace: blob@raw
    source = null: filepath@raw
    tree = null: object@raw
    label = "": varchar(32)
}
"""


def _open(db_url: str, spec: dict[str, Any], src: str = SRC, **stores: Any) -> Any:
    return open_pipeline(src, db_url, stores={"raw": spec, **stores})


def _put_source(db: Any, rel: str, data: bytes) -> None:
    store = db.connection.stores.get("raw")
    full = store.full(rel)
    if store.local:
        Path(full).parent.mkdir(parents=True, exist_ok=True)
    store.fs.pipe_file(full, data)


def _filled(db_url: str, spec: dict[str, Any], tmp: Path) -> Any:
    db = _open(db_url, spec)
    movie = tmp / "in" / "movie.avi"
    movie.parent.mkdir(parents=True)
    movie.write_bytes(os.urandom(50_000))
    (tmp / "in" / "note.txt").write_text("note\n")
    _put_source(db, "acquired/day1/raw.dat", b"raw bytes of the rig")
    db.table("Session").insert1({"session_id": 1, "movie": movie, "note": tmp / "in" / "note.txt"})
    db.table("Session").insert1({"session_id": 2})
    db.table("Recording").insert1(
        {"session_id": 1, "rec_id": 1, "trace": np.arange(6.0), "source": "acquired/day1/raw.dat"}
    )
    db.table("Recording").insert1({"session_id": 2, "rec_id": 1, "trace": [1, 2]})
    return db


def test_fetch_downloads_filepath_files(db_url: str, store_spec: dict[str, Any], tmp_path: Path) -> None:
    db = _filled(db_url, store_spec, tmp_path)
    rec = db.table("Recording")
    lazy = (rec & {"session_id": 1}).fetch1()["source"]
    assert isinstance(lazy, StoreRef) and lazy.local is None  # no download_path: nothing is read
    down = tmp_path / "down"
    src = (rec & {"session_id": 1}).fetch1(download_path=down)["source"]
    assert isinstance(src, StoreRef) and src.path == "acquired/day1/raw.dat"
    assert src.local == down / "acquired" / "day1" / "raw.dat"  # the store's layout, under the folder
    assert src.local.read_bytes() == b"raw bytes of the rig"
    rows = rec.fetch(order_by="session_id", download_path=down)  # already there: reused, verified
    assert rows[0]["source"].local == src.local and rows[1]["source"] is None

    # a changed file in the store is refused, and nothing unverified is left in the folder
    _put_source(db, "acquired/day1/raw.dat", b"raw bytes of the riG")
    with pytest.raises(ObjectCorruptError, match=r"'session_id': 1.*attribute source.*acquired/day1/raw.dat.*corrupt"):
        (rec & {"session_id": 1}).fetch1(download_path=tmp_path / "other")
    assert not [p for p in (tmp_path / "other").rglob("*") if p.is_file()]


def test_string_restrictions_never_compare_store_attributes(
    db_url: str, store_spec: dict[str, Any], tmp_path: Path
) -> None:
    db = _filled(db_url, store_spec, tmp_path)
    rec, ses = db.table("Recording"), db.table("Session")
    for cond, attr, what in [
        ("trace = 'x'", "trace", "blob@raw"),
        ("label = 'x' OR `source` LIKE '%raw%'", "source", "filepath@raw"),
        ("length(tree) > 3", "tree", "object@raw"),
        ("TRACE IS NOT 'x'", "TRACE", "blob@raw"),
    ]:
        with pytest.raises(QueryError, match=rf"cannot restrict by the {what} attribute `{attr.lower()}` in"):
            (rec & cond).fetch()
    with pytest.raises(QueryError, match=r"attach attribute `note`.*never compared"):
        (ses & "note <> ''").fetch()
    with pytest.raises(QueryError, match=r"attach@raw attribute `movie`"):
        (ses - "movie = 'a'").fetch()
    with pytest.raises(QueryError, match=r"attach@raw attribute `movie`"):
        ses.restrict({"movie": "a.avi"}).fetch()
    # testing for NULL is not a comparison; other attributes and literals naming an attribute are fine
    assert [r["session_id"] for r in (ses & "movie IS NULL").fetch()] == [2]
    assert [r["session_id"] for r in (ses & "movie is not null and note IS NOT NULL").keys()] == [1]
    assert len(rec & "source IS NOT NULL AND label = 'trace'") == 0
    assert len(rec & {"label": ""} & "rec_id = 1") == 2
    assert len(ses & {"movie": None}) == 1


def test_ordering_never_compares_store_attributes(db_url: str, store_spec: dict[str, Any], tmp_path: Path) -> None:
    db = _filled(db_url, store_spec, tmp_path)
    rec, ses = db.table("Recording"), db.table("Session")
    with pytest.raises(QueryError, match=r"cannot order by the blob@raw attribute `trace`: its values are kept"):
        rec.fetch(order_by="trace")
    with pytest.raises(QueryError, match=r"cannot order by the attach@raw attribute `movie`"):
        ses.keys(order_by=["session_id", "movie DESC"])
    with pytest.raises(QueryError, match=r"cannot order by the attach attribute `note` in 'length\(note\)'"):
        ses.fetch(order_by="length(note)")
    # a NULL test orders rows with and without a value; other attributes as before
    assert [r["session_id"] for r in ses.fetch("session_id", order_by=["movie IS NULL DESC", "session_id"])] == [2, 1]
    assert [r["session_id"] for r in ses.keys(order_by="session_id DESC")] == [2, 1]


def test_fetch_array_gives_what_fetch_gives(db_url: str, store_spec: dict[str, Any], tmp_path: Path) -> None:
    db = _filled(db_url, store_spec, tmp_path)
    down = tmp_path / "down"
    arr = db.table("Recording").fetch(format="array", order_by="session_id", download_path=down)
    assert arr.dtype["trace"].kind == "O" and arr.dtype["source"].kind == "O"
    np.testing.assert_array_equal(arr["trace"][0], np.arange(6.0))
    assert arr["trace"][1] == [1, 2]
    assert isinstance(arr["source"][0], StoreRef) and arr["source"][0].local is not None
    assert arr["source"][0].local.read_bytes() == b"raw bytes of the rig"
    assert arr["source"][1] is None and arr["tree"][0] is None
    ses = db.table("Session").fetch(format="array", order_by="session_id", download_path=down)
    assert ses["movie"][0] == down / "movie.avi" and ses["note"][0] == down / "note.txt"
    assert ses["note"][0].read_text() == "note\n" and ses["movie"][1] is None
    typed = db.table("Session").fetch(order_by="session_id", download_path=down)
    assert [r["movie"] for r in typed] == list(ses["movie"])
    # a corrupt object is reported by the array fetch as by fetch
    raw = json.loads((db.table("Recording") & {"session_id": 2}).fetch_raw("trace")[0]["trace"])
    store = db.connection.stores.get("raw")
    store.fs.pipe_file(store.full(raw["path"]), b"garbage")
    with pytest.raises(ObjectCorruptError, match=r"'session_id': 2.*attribute trace"):
        db.table("Recording").fetch(format="array")


def _tree(tmp: Path) -> Path:
    tree = tmp / "in" / "tree"
    (tree / "sub").mkdir(parents=True)
    for i in range(4):
        (tree / "sub" / f"{i}.bin").write_bytes(bytes([i]) * (1000 + i))
    return tree


def test_object_tree_is_published_only_whole(
    db_url: str, store_spec: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from relflow_gen.runtime.errors import InsertError
    from relflow_gen.runtime.stores.store import Store

    db = _open(db_url, store_spec)
    store = db.connection.stores.get("raw")
    prefix = db.connection.backend.database_name("lab")
    db.table("Session").insert1({"session_id": 1})
    tree = _tree(tmp_path)
    original = Store._copy_in
    calls: list[str] = []

    def failing(self: Store, src: Path, rel: str) -> tuple[str, int]:
        calls.append(rel)
        if len(calls) == 3:
            raise OSError(5, "Input/output error (injected)")
        return original(self, src, rel)

    monkeypatch.setattr(Store, "_copy_in", failing)
    with pytest.raises(InsertError, match=r"`tree`.*cannot write .*injected"):
        db.table("Recording").insert1({"session_id": 1, "rec_id": 1, "trace": 1, "tree": tree})
    monkeypatch.setattr(Store, "_copy_in", original)
    assert len(db.table("Recording")) == 0
    # the two files written before the failure were removed (S3) or never left the temporary folder
    assert list(store.list_files(f"{prefix}/object")) == [] and list(store.list_files(f"{prefix}/.tmp")) == []

    # a writer killed mid-tree on S3 leaves files under a fresh path no row names: verify ignores them,
    # gc collects them after the grace period
    dest = f"{prefix}/object/recording/session_id=1,rec_id=1/tree.deadbeef0000"
    original(store, tree / "sub" / "0.bin", f"{dest}/sub/0.bin")
    db.table("Recording").insert1({"session_id": 1, "rec_id": 1, "trace": 1, "tree": tree})
    assert db.verify_stores().problems == []
    (report,) = db.gc_stores(grace_seconds=0)
    assert report.collected == [dest]
    ref = db.table("Recording").fetch1()["tree"]
    assert ref.files == 4 if hasattr(ref, "files") else ref.size == 4006
    assert ref.fsmap()["sub/3.bin"] == b"\x03" * 1003


def test_a_tree_taken_by_a_racing_gc_is_written_again(
    db_url: str, store_spec: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from relflow_gen.runtime.stores.store import Store

    db = _open(db_url, store_spec)
    db.table("Session").insert1({"session_id": 1})
    tree = _tree(tmp_path)
    original = Store.ensure_tree

    def gc_first(self: Store, prefix: str, dest: str, src: Path | None, ref: Any) -> None:
        self.fs.rm(self.full(ref.path), recursive=True)  # what a gc between upload and commit does
        original(self, prefix, dest, src, ref)

    monkeypatch.setattr(Store, "ensure_tree", gc_first)
    db.table("Recording").insert1({"session_id": 1, "rec_id": 1, "trace": 1, "tree": tree})
    monkeypatch.setattr(Store, "ensure_tree", original)
    assert db.verify_stores().problems == []
    assert db.table("Recording").fetch1()["tree"].fsmap()["sub/1.bin"] == b"\x01" * 1001


SRC_B = """schema lab_b

manual Copy {
    copy_id: int32
    ---
    tree = null: object@raw
    trace = null: blob@raw
    again = null: blob@alias
}
"""


def test_schemas_and_store_names_sharing_a_root(db_url: str, store_spec: dict[str, Any], tmp_path: Path) -> None:
    a = _open(db_url, store_spec)
    b = _open(db_url, store_spec, src=SRC_B, alias=store_spec)  # `alias` is the same root under another name
    store = a.connection.stores.get("raw")
    pa, pb = (a.connection.backend.database_name(s) for s in ("lab", "lab_b"))
    a.table("Session").insert1({"session_id": 1})
    a.table("Recording").insert1({"session_id": 1, "rec_id": 1, "trace": np.arange(4), "tree": _tree(tmp_path)})
    fetched = a.table("Recording").fetch1()
    # b keeps a's tree and its own copy of the same array, and the same array again under the other name
    b.table("Copy").insert1({"copy_id": 1, "tree": fetched["tree"], "trace": np.arange(4), "again": np.arange(4)})
    b.table("Copy").insert1({"copy_id": 2, "again": np.arange(7)})
    tree_b = (b.table("Copy") & {"copy_id": 1}).fetch1()["tree"]
    assert tree_b.path.startswith(pb + "/object/copy/") and tree_b.sha256 == fetched["tree"].sha256

    # a's rows go: gc of a collects a's objects only; b's rows keep theirs, whichever name they use
    a.table("Session").delete(force=True)
    (ga,) = a.gc_stores(grace_seconds=0)
    assert ga.collected and all(p.startswith(pa + "/") for p in ga.collected)
    reports = b.gc_stores(grace_seconds=0)
    assert [r.collected for r in reports] == [[], []]  # neither `alias` nor `raw` takes the other's objects
    assert b.verify_stores().problems == []
    row = (b.table("Copy") & {"copy_id": 1}).fetch1()
    np.testing.assert_array_equal(row["again"], np.arange(4))
    assert row["tree"].fsmap()["sub/2.bin"] == b"\x02" * 1002
    (b.table("Copy") & {"copy_id": 1}).delete(force=True)
    collected = sorted(p for r in b.gc_stores(grace_seconds=0) for p in r.collected)
    assert len(collected) == 2 and collected[1].startswith(pb + "/object/")  # the array and the tree
    assert ga.collected != collected
    np.testing.assert_array_equal(b.table("Copy").fetch1()["again"], np.arange(7))
    assert store.exists(json.loads(b.table("Copy").fetch_raw("again")[0]["again"])["path"])


def test_two_databases_with_one_schema_name_cannot_share_a_root(
    db_url: str, store_spec: dict[str, Any], tmp_path: Path
) -> None:
    from relflow_gen.runtime.stores import StoreError

    db = _open(db_url, store_spec)
    store = db.connection.stores.get("raw")
    prefix = db.connection.backend.database_name("lab")
    db.table("Session").insert1({"session_id": 1})
    db.table("Recording").insert1({"session_id": 1, "rec_id": 1, "trace": 5})
    assert db.gc_stores(grace_seconds=0)[0].collected == []
    if db_url.startswith("sqlite"):  # a second database file, the same schema, the same store root
        other = _open(f"sqlite:///{tmp_path / 'other.db'}", store_spec)
    else:  # another server's database of that name: what its claim looks like
        other = db
        store.fs.pipe_file(store.full(f"{prefix}/.relflow/database"), b'{"database": "mysql elsewhere:3306 /x/"}')
    other.table("Session").insert1({"session_id": 2})  # inserting is fine ...
    with pytest.raises(StoreError, match=rf"folder {prefix} belongs to another database .*delete .*{prefix}/.relflow/database"):
        other.gc_stores(grace_seconds=0)  # ... collecting the other database's objects is not
    assert db.verify_stores().problems == [] and other.verify_stores().problems == []
