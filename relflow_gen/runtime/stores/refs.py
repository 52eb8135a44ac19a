"""What a row keeps about a stored value, and the lazy handle fetch returns for it.

:class:`Stored` is the reference written into the row's column (compact JSON):
the type, the store, the object's path under the store's root, its size and
sha256, and for ``attach`` the original file name.  :class:`StoreRef` is what
``fetch`` returns for ``filepath@`` and ``object@``: nothing is read until it is
asked for (``.open()``, ``.fsmap()``, ``.download(to)``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from relflow_gen.runtime.stores.errors import StoreError

if TYPE_CHECKING:
    from relflow_gen.runtime.stores.store import Store


@dataclass(frozen=True)
class Stored:
    """The reference a row keeps: ``kind`` is blob, attach, filepath or object."""

    kind: str
    store: str
    path: str  # relative to the store's root, "/"-separated
    size: int
    sha256: str
    name: str = ""  # attach: the original file name
    files: int = 1  # object: number of files

    def to_json(self) -> str:
        d: dict[str, Any] = {"type": self.kind, "store": self.store, "path": self.path, "size": self.size}
        d["sha256"] = self.sha256
        if self.name:
            d["name"] = self.name
        if self.kind == "object":
            d["files"] = self.files
        return json.dumps(d, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Stored:
        try:
            d = json.loads(text)
            return cls(
                str(d["type"]),
                str(d["store"]),
                str(d["path"]),
                int(d["size"]),
                str(d["sha256"]),
                str(d.get("name", "")),
                int(d.get("files", 1)),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"not a store reference: {text[:80]!r} ({exc})") from None

    def describe(self) -> str:
        """``<attach@raw movie.avi 1.2 GB>``: what previews show instead of the bytes."""
        label = f" {self.name}" if self.name else (f" {self.path}" if self.kind in ("filepath", "object") else "")
        return f"<{self.kind}@{self.store}{label} {human_size(self.size)}>"


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError  # pragma: no cover


class StoreRef:
    """A file (``filepath@``) or a file tree (``object@``) in a store, read lazily.

    ``path`` is its location under the store's root, ``url`` the full fsspec URL.
    ``open()`` streams a file (for a tree: ``open("sub/file")``), ``fsmap()``
    gives an fsspec mapper (what zarr opens), ``download(to)`` copies it to a
    local folder with its checksum verified, ``verify()`` re-reads and checks it;
    ``local`` is the copy ``fetch(download_path=...)`` made of a ``filepath@`` file.
    """

    __slots__ = ("_local", "_ref", "_store")

    def __init__(self, store: Store, ref: Stored, local: Path | None = None) -> None:
        self._store = store
        self._ref = ref
        self._local = local

    def __repr__(self) -> str:
        return f"StoreRef({self._ref.kind}@{self._ref.store}: {self._ref.path}, {human_size(self._ref.size)})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StoreRef) and other._ref == self._ref

    def __hash__(self) -> int:
        return hash(self._ref)

    @property
    def reference(self) -> Stored:
        return self._ref

    @property
    def store(self) -> str:
        return self._ref.store

    @property
    def path(self) -> str:
        return self._ref.path

    @property
    def local(self) -> Path | None:
        """The verified local copy of a ``filepath@`` file when ``fetch(download_path=...)`` made one."""
        return self._local

    @property
    def url(self) -> str:
        return self._store.url_of(self._ref.path)

    @property
    def size(self) -> int:
        return self._ref.size

    @property
    def sha256(self) -> str:
        return self._ref.sha256

    @property
    def fs(self) -> Any:
        """The fsspec file system of the store."""
        return self._store.fs

    def open(self, name: str = "", mode: str = "rb") -> IO[bytes]:
        """Stream the file (or the file ``name`` inside an object's tree); read only."""
        if mode not in ("rb", "r"):
            raise StoreError(f"{self!r} is read only (mode {mode!r})")
        if self._ref.kind == "object" and self._ref.files != 1 and not name:
            raise StoreError(f"{self!r} is a folder: open one of its files, e.g. .open('sub/file')")
        target = self._ref.path + ("/" + name.strip("/") if name else "")
        opened: IO[bytes] = self._store.fs.open(self._store.full(target), mode)
        return opened

    def fsmap(self) -> Any:
        """An fsspec mapper over the object's tree (``zarr.open(ref.fsmap())``)."""
        return self._store.fs.get_mapper(self._store.full(self._ref.path))

    def download(self, to: str | Path) -> Path:
        """Copy into the folder ``to`` (created if needed), verifying size and sha256; returns the local path."""
        return self._store.download_ref(self._ref, Path(to))

    def verify(self) -> None:
        """Re-read the stored bytes and check size and sha256 (ObjectMissingError / ObjectCorruptError)."""
        self._store.verify_ref(self._ref, "")
