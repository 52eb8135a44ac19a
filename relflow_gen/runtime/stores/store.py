"""One object store: an fsspec file system under a root, with content addressing and verification.

Layout under the store's root (``PREFIX`` is the database name of a schema, so
schemas never share objects and a prefixed MySQL database never meets another):

* ``PREFIX/hash/ab/cd/abcd...``: ``blob@`` and ``attach@`` values, named by their
  sha256 (identical values are stored once);
* ``PREFIX/object/TABLE/KEY/ATTR.TOKEN/...``: ``object@`` files and trees;
* ``PREFIX/.relflow/columns/TABLE.ATTR``: which columns refer to the store (gc
  reads them, so a table another package declared is never forgotten);
* ``PREFIX/.tmp/`` and ``PREFIX/.trash/``: writes in progress, objects being collected.

``filepath@`` files are anywhere under the root and belong to the user: they are
checked, never written or deleted.

Writes are published atomically: on a local file system a temporary file is
renamed into place; on S3 (and other object stores) an object becomes visible
only when its single PUT or multipart upload completes.  fsspec is imported
only when a store is first used.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from relflow_gen.runtime.stores.config import StoreConfig, redact
from relflow_gen.runtime.stores.errors import ObjectCorruptError, ObjectMissingError, StoreError
from relflow_gen.runtime.stores.fastcopy import CHUNK, copy_file_hashing, copy_hashing
from relflow_gen.runtime.stores.refs import Stored

#: a piece of an object's bytes
Buffer = bytes | bytearray | memoryview

#: under a schema's folder: which database the folder belongs to (gc refuses to work for another)
OWNER_FILE = ".relflow/database"

def sha256_file(path: Path) -> tuple[str, int]:
    with open(path, "rb", buffering=0) as f:
        return copy_hashing(f, None)


class Store:
    """A configured store, opened lazily."""

    def __init__(self, config: StoreConfig) -> None:
        self.config = config
        self._fs: Any = None
        self._root = ""

    def __repr__(self) -> str:
        return f"<store {self.config.name} at {redact(self.config.url)}>"

    @property
    def name(self) -> str:
        return self.config.name

    # -- file system -------------------------------------------------------------
    def _open(self) -> None:
        import fsspec  # deferred: only when a store is used

        try:
            fs, root = fsspec.url_to_fs(self.config.url, **self.config.options)
        except (ImportError, ValueError, TypeError) as exc:
            raise StoreError(f"store {self.name} ({redact(self.config.url)}): cannot open: {exc}") from None
        self._fs, self._root = fs, str(root).rstrip("/")

    @property
    def fs(self) -> Any:
        if self._fs is None:
            self._open()
        return self._fs

    @property
    def root(self) -> str:
        if self._fs is None:
            self._open()
        return self._root

    @property
    def local(self) -> bool:
        protocol = self.fs.protocol
        return "file" in (protocol if isinstance(protocol, (tuple, list)) else (protocol,))

    def full(self, rel: str) -> str:
        return f"{self.root}/{rel}" if self.root else rel

    def rel(self, full: str) -> str:
        full = full.rstrip("/")
        root = self.root
        if root and full.startswith(root + "/"):
            return full[len(root) + 1 :]
        stripped = self.fs._strip_protocol(full)
        if root and stripped.startswith(root + "/"):
            return str(stripped[len(root) + 1 :])
        return str(stripped)

    def url_of(self, rel: str) -> str:
        return self.config.url.rstrip("/") + "/" + rel

    def _fail(self, action: str, rel: str, exc: BaseException) -> StoreError:
        return StoreError(f"store {self.name}: cannot {action} {rel}: {type(exc).__name__}: {exc}")

    # -- content-addressed objects --------------------------------------------------
    @staticmethod
    def content_path(prefix: str, sha: str) -> str:
        return f"{prefix}/hash/{sha[:2]}/{sha[2:4]}/{sha}"

    def _fresh(self, rel: str, size: int) -> bool:
        """The object exists with this size and is not about to be collected (refreshed if needed)."""
        full = self.full(rel)
        if self.local:
            try:
                st = os.stat(full)
            except FileNotFoundError:
                return False
            if st.st_size != size:
                return False
            os.utime(full)  # a deduplicated value is young again: gc's grace period starts over
            return True
        self.fs.invalidate_cache(full)  # another process may have written or collected it
        try:
            info = self.fs.info(full)
        except FileNotFoundError:
            return False
        if int(info.get("size", -1)) != size:
            return False
        age = time.time() - mtime_of(info)
        return age < self.config.refresh_seconds  # an older copy is written again, which refreshes it

    def _tmp(self, prefix: str) -> str:
        return f"{prefix}/.tmp/{uuid.uuid4().hex}.part"

    def put_bytes(self, prefix: str, data: bytes | Sequence[Buffer]) -> tuple[str, str]:
        """Store ``data`` (bytes, or consecutive pieces written without joining them) under
        its sha256 (once); returns (path, sha256)."""
        parts: Sequence[Buffer] = (data,) if isinstance(data, bytes) else data
        digest = hashlib.sha256()
        for part in parts:
            digest.update(part)
        sha = digest.hexdigest()
        rel = self.content_path(prefix, sha)
        if self._fresh(rel, sum(memoryview(p).nbytes for p in parts)):
            return rel, sha
        try:
            if self.local:
                tmp = self.full(self._tmp(prefix))
                os.makedirs(os.path.dirname(tmp), exist_ok=True)
                with open(tmp, "wb") as f:
                    for part in parts:
                        f.write(part)
                self._publish_local(tmp, rel)
            else:  # one PUT: visible only when complete
                self.fs.pipe_file(self.full(rel), data if isinstance(data, bytes) else b"".join(parts))
        except OSError as exc:
            raise self._fail("write", rel, exc) from None
        return rel, sha

    def _publish_local(self, tmp: str, rel: str) -> None:
        final = self.full(rel)
        os.makedirs(os.path.dirname(final), exist_ok=True)
        os.replace(tmp, final)

    def put_file(self, prefix: str, src: Path) -> tuple[str, str, int]:
        """Store the file's bytes under their sha256, streaming; returns (path, sha256, size)."""
        try:
            if self.local:
                tmp = self.full(self._tmp(prefix))
                os.makedirs(os.path.dirname(tmp), exist_ok=True)
                try:
                    sha, n = copy_file_hashing(src, tmp)  # the hash of the bytes written, not re-read
                    rel = self.content_path(prefix, sha)
                    if self._fresh(rel, n):
                        os.unlink(tmp)
                    else:
                        self._publish_local(tmp, rel)
                except BaseException:
                    if os.path.exists(tmp):
                        os.unlink(tmp)
                    raise
                return rel, sha, n
            sha, n = sha256_file(src)
            rel = self.content_path(prefix, sha)
            if not self._fresh(rel, n):
                self.fs.put_file(str(src), self.full(rel))  # single PUT or multipart: atomic
            return rel, sha, n
        except OSError as exc:
            raise self._fail("write", str(src), exc) from None

    def ensure(self, rel: str, source: bytes | Sequence[Buffer] | Path) -> None:
        """After a commit: the object is still there (a racing gc may have taken it); write it again if not."""
        if self.exists(rel):
            return
        if not isinstance(source, Path):
            prefix = rel.split("/hash/", 1)[0]
            again, _ = self.put_bytes(prefix, source)
            if again != rel:  # pieces are views of the inserted value, which changed since
                raise StoreError(
                    f"store {self.name}: the object {rel} was collected by a concurrent gc and the value "
                    "inserted has changed since: the row refers to a missing object (insert it again)"
                )
        else:
            self.put_file(rel.split("/hash/", 1)[0], source)

    def ensure_tree(self, prefix: str, dest: str, src: Path | None, ref: Stored) -> None:
        """After a commit: an object@ tree is still there; written again (same place) if a racing gc took it."""
        if sum(1 for _ in self.list_files(dest)) == ref.files:  # files, not a left-over folder entry
            return
        if src is None:
            raise StoreError(
                f"store {self.name}: the object {ref.path} was collected by a concurrent gc right after it was "
                "copied from another schema: the row refers to a missing object (insert it again)"
            )
        self._discard(dest)  # what a gc left half way
        again = self.put_tree(prefix, dest, src)
        if again != ref:
            raise StoreError(
                f"store {self.name}: the object {ref.path} was collected by a concurrent gc and its source "
                f"{src} changed since: the row refers to a missing object (insert it again)"
            )

    def copy_content(self, prefix: str, ref: Stored) -> Stored:
        """A blob@/attach@ object of another schema's folder, copied (verified) into ``prefix``'s."""
        rel = self.content_path(prefix, ref.sha256)
        if not self._fresh(rel, ref.size):
            tmp = self._tmp(prefix) if self.local else rel
            try:
                with self.fs.open(self.full(ref.path), "rb") as fin:
                    if self.local:
                        os.makedirs(os.path.dirname(self.full(tmp)), exist_ok=True)
                    with self.fs.open(self.full(tmp), "wb") as fout:
                        sha, n = copy_hashing(fin, fout)
            except FileNotFoundError:
                raise ObjectMissingError(f"object {ref.path} is missing from store {self.name}") from None
            except OSError as exc:
                raise self._fail("copy", ref.path, exc) from None
            if sha != ref.sha256 or n != ref.size:
                self._discard(tmp)
                raise ObjectCorruptError(f"object {ref.path} in store {self.name} is corrupt: not copied")
            if self.local:
                self._publish_local(self.full(tmp), rel)
        return Stored(ref.kind, ref.store, rel, ref.size, ref.sha256, ref.name, ref.files)

    def copy_tree(self, prefix: str, ref: Stored, dest: str) -> Stored:
        """An object@ tree of another schema's folder, copied to ``dest`` (published like put_tree)."""
        single = bool(ref.name)
        root = ref.path.rsplit("/", 1)[0] if single else ref.path
        staging = f"{prefix}/.tmp/{uuid.uuid4().hex}" if self.local else dest
        try:
            files = sorted(self.fs.find(self.full(root)))
            if not files:
                raise ObjectMissingError(f"object {ref.path} is missing from store {self.name}")
            for f in files:
                target = self.full(f"{staging}/{self.rel(f)[len(root) + 1 :]}")
                if self.local:
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                self.fs.copy(f, target)  # S3: a server-side copy
            if self.local:
                final = self.full(dest)
                os.makedirs(os.path.dirname(final), exist_ok=True)
                os.replace(self.full(staging), final)
        except BaseException as exc:
            self._discard(staging)
            if isinstance(exc, FileNotFoundError):
                raise ObjectMissingError(f"object {ref.path} is missing from store {self.name}") from None
            if isinstance(exc, OSError):
                raise self._fail("copy", ref.path, exc) from None
            raise
        path = f"{dest}/{ref.path.rsplit('/', 1)[1]}" if single else dest
        return Stored(ref.kind, ref.store, path, ref.size, ref.sha256, ref.name, ref.files)

    # -- object@ trees ------------------------------------------------------------
    def put_tree(self, prefix: str, dest: str, src: Path) -> Stored:
        """Copy a file or a folder to ``dest`` (a fresh location), streaming; returns its reference.

        On a local file system the tree is written under ``PREFIX/.tmp/`` and renamed into place
        (a killed writer leaves only a temporary folder).  On S3, which cannot rename, each file is
        one atomic upload straight under ``dest``: ``dest`` is new (its last segment is a random
        token) and only the row that is inserted after this returns makes it known, so the row is
        the commit marker and no row ever refers to a partly written tree.  A failed write removes
        what it wrote; a killed writer's files are unreferenced and collected by gc.
        """
        if not src.exists():
            raise StoreError(f"{src} does not exist")
        staging = f"{prefix}/.tmp/{uuid.uuid4().hex}" if self.local else dest
        try:
            return self._put_tree(dest, staging, src)
        except BaseException:
            self._discard(staging)
            raise

    def _discard(self, rel: str) -> None:
        """Best effort: remove a tree a failed write left (gc collects it otherwise)."""
        try:
            self.fs.invalidate_cache(self.full(rel))
            if self.fs.exists(self.full(rel)):
                self.fs.rm(self.full(rel), recursive=True)
        except Exception:  # noqa: BLE001 - the write's own error is the one to report
            pass

    def _put_tree(self, dest: str, staging: str, src: Path) -> Stored:
        try:
            if src.is_file():
                sha, n = self._copy_in(src, f"{staging}/{src.name}")
                ref = Stored("object", self.name, f"{dest}/{src.name}", n, sha, src.name, 1)
            else:
                lines: list[str] = []
                total = 0
                files = sorted(p for p in src.rglob("*") if p.is_file())
                for p in files:
                    sub = p.relative_to(src).as_posix()
                    sha, n = self._copy_in(p, f"{staging}/{sub}")
                    lines.append(f"{sub}\t{n}\t{sha}\n")
                    total += n
                manifest = hashlib.sha256("".join(lines).encode()).hexdigest()
                ref = Stored("object", self.name, dest, total, manifest, "", len(files))
            if self.local:
                final = self.full(dest)
                os.makedirs(os.path.dirname(final), exist_ok=True)
                os.replace(self.full(staging), final)
            return ref
        except OSError as exc:
            raise self._fail("write", dest, exc) from None

    def _copy_in(self, src: Path, rel: str) -> tuple[str, int]:
        full = self.full(rel)
        if self.local:
            os.makedirs(os.path.dirname(full), exist_ok=True)
            return copy_file_hashing(src, full)
        with open(src, "rb", buffering=0) as fin, self.fs.open(full, "wb") as fout:
            return copy_hashing(fin, fout)

    # -- filepath@ --------------------------------------------------------------------
    def checksum(self, rel: str) -> tuple[str, int]:
        """sha256 and size of a file in the store, streaming."""
        full = self.full(rel)
        try:
            if self.local:
                with open(full, "rb", buffering=0) as f:
                    return copy_hashing(f, None)
            with self.fs.open(full, "rb") as f:
                return copy_hashing(f, None)
        except FileNotFoundError:
            raise ObjectMissingError(f"store {self.name} has no file {rel}") from None

    # -- reading --------------------------------------------------------------------
    def get_bytes(self, ref: Stored, where: str) -> bytes:
        """The verified bytes of a content-addressed object (``where`` names the row for errors)."""
        try:
            data: bytes = self.fs.cat_file(self.full(ref.path))
        except FileNotFoundError:
            raise ObjectMissingError(f"{where}: object {ref.path} is missing from store {self.name}") from None
        if len(data) != ref.size or hashlib.sha256(data).hexdigest() != ref.sha256:
            raise ObjectCorruptError(
                f"{where}: object {ref.path} in store {self.name} is corrupt "
                f"(size {len(data)}, expected {ref.size}; sha256 differs from the row's)"
            )
        return data

    def _stream_to(self, rel: str, target: Path, ref: Stored, where: str) -> None:
        """Copy one file out, verifying its size and sha256; atomic on the local side."""
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
        try:
            full = self.full(rel)
            if self.local:
                sha, n = copy_file_hashing(full, tmp)  # verifies the bytes the caller gets
            else:
                with self.fs.open(full, "rb") as fin, open(tmp, "wb", buffering=0) as fout:
                    sha, n = copy_hashing(fin, fout)
            if n != ref.size or sha != ref.sha256:
                raise ObjectCorruptError(
                    f"{where}: object {rel} in store {self.name} is corrupt "
                    f"(size {n}, expected {ref.size}; sha256 differs from the row's)"
                )
            os.replace(tmp, target)
        except FileNotFoundError:
            raise ObjectMissingError(f"{where}: object {rel} is missing from store {self.name}") from None
        finally:
            if tmp.exists():
                tmp.unlink()

    def download_file(self, ref: Stored, folder: Path, filename: str, where: str) -> Path:
        """Copy a single-file object into ``folder`` as ``filename`` (reused when already there, verified)."""
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / filename
        if target.exists():
            if target.stat().st_size == ref.size and sha256_file(target)[0] == ref.sha256:
                return target
            target = folder / ref.sha256[:16] / filename  # a different file of that name: keep both
            target.parent.mkdir(exist_ok=True)
            if target.exists() and sha256_file(target)[0] == ref.sha256:
                return target
        self._stream_to(ref.path, target, ref, where)
        return target

    def download_ref(self, ref: Stored, to: Path) -> Path:
        where = f"{ref.kind}@{self.name} {ref.path}"
        if ref.kind == "filepath" or (ref.kind == "object" and ref.name):
            return self.download_file(ref, to, ref.path.rsplit("/", 1)[-1], where)
        target = to / ref.path.rsplit("/", 1)[-1]
        target.mkdir(parents=True, exist_ok=True)
        full = self.full(ref.path)
        for f in sorted(self.fs.find(full)):
            sub = self.rel(f)[len(ref.path) + 1 :]
            dest = target / sub
            dest.parent.mkdir(parents=True, exist_ok=True)
            with self.fs.open(f, "rb") as fin, open(dest, "wb") as fout:
                shutil.copyfileobj(fin, fout, CHUNK)
        self._check_tree(ref, where, local=target)
        return target

    # -- verification -------------------------------------------------------------------
    def verify_ref(self, ref: Stored, where: str) -> None:
        """Re-read the object: raises ObjectMissingError or ObjectCorruptError."""
        where = where or f"{ref.kind}@{self.name}"
        if ref.kind == "object" and not ref.name:
            self._check_tree(ref, where)
            return
        try:
            sha, n = self.checksum(ref.path)
        except ObjectMissingError:
            raise ObjectMissingError(f"{where}: object {ref.path} is missing from store {self.name}") from None
        if n != ref.size or sha != ref.sha256:
            raise ObjectCorruptError(
                f"{where}: object {ref.path} in store {self.name} is corrupt "
                f"(size {n}, expected {ref.size}; sha256 differs from the row's)"
            )

    def _check_tree(self, ref: Stored, where: str, local: Path | None = None) -> None:
        lines: list[str] = []
        total = 0
        if local is not None:
            for p in sorted(q for q in local.rglob("*") if q.is_file()):
                sha, n = sha256_file(p)
                lines.append(f"{p.relative_to(local).as_posix()}\t{n}\t{sha}\n")
                total += n
        else:
            found = sorted(self.fs.find(self.full(ref.path)))
            if not found:
                raise ObjectMissingError(f"{where}: object {ref.path} is missing from store {self.name}")
            for f in found:
                rel = self.rel(f)
                sha, n = self.checksum(rel)
                lines.append(f"{rel[len(ref.path) + 1 :]}\t{n}\t{sha}\n")
                total += n
        manifest = hashlib.sha256("".join(lines).encode()).hexdigest()
        if total != ref.size or manifest != ref.sha256 or len(lines) != ref.files:
            raise ObjectCorruptError(
                f"{where}: object {ref.path} in store {self.name} is corrupt "
                f"({len(lines)} files, {total} bytes; expected {ref.files} files, {ref.size} bytes, same sha256)"
            )

    # -- listing, markers, deletion (gc) -----------------------------------------------
    def mark_column(self, prefix: str, table: str, column: str) -> None:
        """Record that ``table.column`` of the schema at ``prefix`` refers to this store."""
        rel = f"{prefix}/.relflow/columns/{table}.{column}"
        full = self.full(rel)
        try:
            if self.exists(rel):
                return
            if self.local:
                os.makedirs(os.path.dirname(full), exist_ok=True)
            self.fs.pipe_file(full, json.dumps({"table": table, "column": column}).encode())
        except OSError as exc:
            raise self._fail("write", rel, exc) from None

    @staticmethod
    def owner_path(prefix: str) -> str:
        """Where the database that owns the schema folder ``prefix`` is recorded."""
        return f"{prefix}/{OWNER_FILE}"

    def owner(self, prefix: str) -> str | None:
        """The database that claimed the schema folder ``prefix`` (None: not claimed yet)."""
        full = self.full(f"{prefix}/{OWNER_FILE}")
        self.fs.invalidate_cache(full)
        try:
            return str(json.loads(self.fs.cat_file(full))["database"])
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"store {self.name}: {prefix}/{OWNER_FILE} is damaged ({exc}): delete it") from None

    def claim(self, prefix: str, identity: str) -> None:
        """Record which database the schema folder ``prefix`` belongs to, unless one already did."""
        if self.owner(prefix) is not None:
            return
        full = self.full(f"{prefix}/{OWNER_FILE}")
        try:
            if self.local:
                os.makedirs(os.path.dirname(full), exist_ok=True)
            self.fs.pipe_file(full, json.dumps({"database": identity}).encode())
        except OSError as exc:
            raise self._fail("write", f"{prefix}/{OWNER_FILE}", exc) from None

    def marked_columns(self, prefix: str) -> list[tuple[str, str]]:
        base = self.full(f"{prefix}/.relflow/columns")
        self.fs.invalidate_cache(base)
        try:
            found = self.fs.find(base)
        except FileNotFoundError:
            return []
        out = []
        for f in sorted(found):
            d = json.loads(self.fs.cat_file(f))
            out.append((str(d["table"]), str(d["column"])))
        return out

    def prefixes(self) -> list[str]:
        """Top-level folders of the root that hold relflow objects."""
        try:
            entries = self.fs.ls(self.root or "/", detail=True)
        except FileNotFoundError:
            return []
        out = []
        for e in entries:
            if e.get("type") == "directory":
                name = self.rel(str(e["name"])).rsplit("/", 1)[-1]
                if self.fs.exists(self.full(f"{name}/.relflow")):
                    out.append(name)
        return sorted(out)

    def list_files(self, rel: str) -> Iterator[tuple[str, float, int]]:
        """(path, mtime, size) of every file under ``rel``."""
        self.fs.invalidate_cache(self.full(rel))
        try:
            found = self.fs.find(self.full(rel), detail=True)
        except FileNotFoundError:
            return
        for full, info in found.items():
            if info.get("type") == "directory":
                continue
            yield self.rel(full), mtime_of(info), int(info.get("size", 0))

    def move(self, src: str, dst: str) -> None:
        if self.local:
            final = self.full(dst)
            os.makedirs(os.path.dirname(final), exist_ok=True)
            os.replace(self.full(src), final)
        else:
            self.fs.mv(self.full(src), self.full(dst))

    def delete(self, rels: list[str]) -> None:
        if rels:
            self.fs.rm([self.full(r) for r in rels])

    def exists(self, rel: str) -> bool:
        full = self.full(rel)
        self.fs.invalidate_cache(full)
        return bool(self.fs.exists(full))


def mtime_of(info: dict[str, Any]) -> float:
    """Modification time (seconds since the epoch) from an fsspec info dict, whatever the backend."""
    for key in ("mtime", "LastModified", "last_modified", "modified", "created"):
        v = info.get(key)
        if v is None:
            continue
        if isinstance(v, dt.datetime):
            return (v if v.tzinfo else v.replace(tzinfo=dt.UTC)).timestamp()
        if isinstance(v, (int, float)):
            return float(v)
        if isinstance(v, str):
            return dt.datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp()
    return time.time()  # unknown: treat as young (never collected by mistake)
