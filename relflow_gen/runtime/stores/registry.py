"""The stores of one connection: upload on insert, materialise on fetch, re-check after commit.

:class:`Stores` turns inserted values into :class:`Stored` references (writing
the objects first, outside any transaction the caller has not opened) and
fetched references back into values: arrays for ``blob@``, local
:class:`~pathlib.Path` for ``attach``/``attach@``, :class:`StoreRef` for
``filepath@``/``object@``.  After the rows commit, :meth:`Stores.confirm`
checks that the objects just referenced are still there and writes them again
if a concurrent gc took them (gc and insert never lose a referenced object).
"""

from __future__ import annotations

import posixpath
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from relflow_gen.core.lazy import lazy_module
from relflow_gen.core.types import TypeSpec
from relflow_gen.runtime import blob
from relflow_gen.runtime.stores.errors import StoreConfigError, StoreError
from relflow_gen.runtime.stores.refs import Stored, StoreRef

if TYPE_CHECKING:
    from relflow_gen.runtime.stores import store as store_module
    from relflow_gen.runtime.stores.config import StoreConfig
    from relflow_gen.runtime.stores.store import Buffer, Store
else:  # opened on first use (relflow_gen/core/lazy.py): a connection without stores never loads it
    store_module = lazy_module("relflow_gen.runtime.stores.store")


class StoreValueError(StoreError):
    """A value that cannot be stored in its attribute (the caller names the row and attribute)."""


class Stores:
    """The configured stores of a connection, opened on first use."""

    def __init__(self, configs: Iterable[StoreConfig] = ()) -> None:
        self._configs = {c.name: c for c in configs}
        self._open: dict[str, Store] = {}
        self._pending: dict[tuple[str, str], Sequence[Buffer] | Path] = {}
        self._pending_trees: dict[tuple[str, str], tuple[str, Path | None, Stored]] = {}

    def __repr__(self) -> str:
        return f"<stores {', '.join(sorted(self._configs)) or '(none)'}>"

    @property
    def names(self) -> list[str]:
        return sorted(self._configs)

    def check(self, uses: Mapping[str, Iterable[str]]) -> None:
        """Every store the schema uses is configured; else an error naming the stores and their tables."""
        missing = {s: sorted(set(t)) for s, t in uses.items() if s not in self._configs}
        if missing:
            detail = "; ".join(f"store {s!r} (used by {', '.join(t)})" for s, t in sorted(missing.items()))
            raise StoreConfigError(
                f"not configured: {detail}. Configure it in [tool.relflow-gen.stores.NAME] of pyproject.toml "
                "or pass connect(url, stores={NAME: URL}) (docs/stores.md)"
            )

    def get(self, name: str) -> Store:
        store = self._open.get(name)
        if store is None:
            config = self._configs.get(name)
            if config is None:
                raise StoreConfigError(f"store {name!r} is not configured (docs/stores.md)")
            store = self._open[name] = store_module.Store(config)
        return store

    # -- insert --------------------------------------------------------------------
    def upload(self, spec: TypeSpec, value: Any, *, prefix: str, table: str, key: Mapping[str, Any], attr: str) -> Stored:
        """Write a value's object (before its row is inserted); returns the reference for the row."""
        name = spec.store
        assert name is not None
        store = self.get(name)
        kind = spec.name[:-1]
        if isinstance(value, StoreRef):
            ref = value.reference
            if ref.kind != kind or ref.store != name:
                raise StoreValueError(f"is a reference to {ref.kind}@{ref.store}, not to {spec.render()}")
            if kind == "filepath" or ref.path.startswith(prefix + "/"):
                return ref
            # an object of another schema: this schema gets its own copy, so that gc, which reads
            # each schema's references for that schema's folder only, never takes it from this row
            if kind == "object":
                dest = self._object_dest(prefix, table, key, attr)
                copied = store.copy_tree(prefix, ref, dest)
                self._pending_trees[(name, dest)] = (prefix, None, copied)
                return copied
            return store.copy_content(prefix, ref)
        if kind == "blob":
            try:
                parts = blob.encode_parts(value)  # large arrays: views, hashed and written unjoined
            except blob.BlobError as exc:
                raise StoreValueError(f"cannot be stored in a blob: {exc}") from None
            rel, sha = store.put_bytes(prefix, parts)
            self._pending[(name, rel)] = parts
            return Stored("blob", name, rel, sum(memoryview(p).nbytes for p in parts), sha)
        if kind == "attach":
            src = _local_file(value)
            rel, sha, n = store.put_file(prefix, src)
            self._pending[(name, rel)] = src
            return Stored("attach", name, rel, n, sha, src.name)
        if kind == "filepath":
            rel = _store_relative(value)
            sha, n = store.checksum(rel)
            return Stored("filepath", name, rel, n, sha)
        # object
        if not isinstance(value, (str, Path)):
            raise StoreValueError(f"expected a local file or folder (Path), got {type(value).__name__}")
        src = Path(value)
        if not src.exists():
            raise StoreValueError(f"{src} does not exist")
        dest = self._object_dest(prefix, table, key, attr)
        ref = store.put_tree(prefix, dest, src)
        self._pending_trees[(name, dest)] = (prefix, src, ref)
        return ref

    @staticmethod
    def _object_dest(prefix: str, table: str, key: Mapping[str, Any], attr: str) -> str:
        """A new location for an object@ tree: ``PREFIX/object/TABLE/KEY/ATTR.TOKEN``."""
        segment = quote(",".join(f"{k}={key[k]}" for k in key), safe="=,-_.") or "_"
        return f"{prefix}/object/{table}/{segment}/{attr}.{uuid.uuid4().hex[:12]}"

    def confirm(self) -> None:
        """After a commit: every object referenced since the last confirm is still in its store."""
        pending, self._pending = self._pending, {}
        trees, self._pending_trees = self._pending_trees, {}
        for (name, rel), source in pending.items():
            self.get(name).ensure(rel, source)
        for (name, dest), (prefix, src, ref) in trees.items():
            self.get(name).ensure_tree(prefix, dest, src, ref)

    def forget(self) -> None:
        """Drop the pending re-checks (the rows were not written: their objects are orphans for gc)."""
        self._pending = {}
        self._pending_trees = {}

    # -- fetch ------------------------------------------------------------------------
    def materialize(self, spec: TypeSpec, text: str, download_path: Path, where: str, *, download: bool = False) -> Any:
        """The value of a fetched reference (verified against its size and sha256).

        ``download``: the caller named a download folder, so a ``filepath@`` file is copied
        there too (verified) and the StoreRef's ``local`` is that copy.
        """
        ref = Stored.from_json(text)
        store = self.get(ref.store)
        if ref.kind == "blob":
            return blob.decode(store.get_bytes(ref, where))
        if ref.kind == "attach":
            return store.download_file(ref, download_path, ref.name, where)
        if ref.kind == "filepath" and download:
            local = store.download_file(ref, download_path / posixpath.dirname(ref.path), posixpath.basename(ref.path), where)
            return StoreRef(store, ref, local)
        return StoreRef(store, ref)


def _local_file(value: Any) -> Path:
    if not isinstance(value, (str, Path)):
        raise StoreValueError(f"expected the path of a local file, got {type(value).__name__}")
    path = Path(value)
    if not path.is_file():
        raise StoreValueError(f"{str(path)!r} is not a file")
    return path


def _store_relative(value: Any) -> str:
    if not isinstance(value, str):
        raise StoreValueError(
            f"expected a path relative to the store's root (str), got {type(value).__name__}"
        )
    rel = posixpath.normpath(value.replace("\\", "/"))
    if value.startswith("/") or rel.startswith("..") or rel in (".", ""):
        raise StoreValueError(f"{value!r} is not a path inside the store (relative, without '..')")
    return rel


def attachment_bytes(value: Any) -> bytes:
    """In-table ``attach``: the file name, a NUL byte and the file's bytes."""
    path = _local_file(value)
    return path.name.encode("utf-8") + b"\0" + path.read_bytes()


def write_attachment(data: bytes, folder: Path) -> Path:
    """Write an in-table attachment into ``folder`` under its file name (kept apart if a different file is there)."""
    name_bytes, sep, body = data.partition(b"\0")
    if not sep:
        raise StoreError("not an attachment value")
    name = Path(name_bytes.decode("utf-8")).name or "attachment"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if target.exists() and target.read_bytes() != body:
        target = folder / uuid.uuid5(uuid.NAMESPACE_OID, body.hex()[:64] + str(len(body))).hex[:16] / name
        target.parent.mkdir(exist_ok=True)
    if not target.exists():
        tmp = target.with_name(f".{name}.{uuid.uuid4().hex[:8]}.part")
        tmp.write_bytes(body)
        tmp.replace(target)
    return target
