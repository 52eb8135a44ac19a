"""Copying a local file into a new local file and hashing it, with the copy and the hash overlapped.

sha256 is the floor of every copy a store makes (the name of a content object,
the check of every fetch), and it is sequential: one core hashes one file.  The
copy itself need not be: the kernel copies (``os.copy_file_range``, else
``os.sendfile``) without the bytes entering Python, in slices, while this
thread hashes each slice from the *destination* as soon as it is there (from
the page cache; ``hashlib`` releases the GIL on large buffers).  A copy takes
about as long as its hash alone, and the hash is of the bytes that were
written, whatever the source did meanwhile (a file still growing, changed in
place): the destination is private until it is renamed into place, so what is
named and verified is exactly what is published.

Small files, and file systems where neither kernel copy works, take the plain
read-hash-write loop (:func:`copy_hashing`).
"""

from __future__ import annotations

import hashlib
import os
import threading
from typing import Any

from relflow_gen.runtime.stores.errors import StoreError

#: bytes read or written at a time when streaming files (one reused buffer: 1 MiB stays in the CPU cache)
CHUNK = 1024 * 1024
#: slice the kernel copies before the hasher may read it
SLICE = 8 * 1024 * 1024
#: files smaller than this take the plain loop (a thread costs more than it saves)
OVERLAP_MIN = 16 * 1024 * 1024
#: bytes hashed per read of the destination
HASH_READ = 4 * 1024 * 1024


def copy_hashing(fin: Any, fout: Any | None) -> tuple[str, int]:
    """Stream ``fin`` into ``fout`` (None: only read), hashing on the way; returns (sha256, size)."""
    h = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    n = 0
    while True:
        got = fin.readinto(buf)
        if not got:
            break
        part = view[:got]
        h.update(part)
        if fout is not None:
            fout.write(part)
        n += got
    return h.hexdigest(), n


class _Copier(threading.Thread):
    """Copies ``src`` into ``dst`` in the kernel, slice by slice, publishing how far it got."""

    def __init__(self, src: int, dst: int) -> None:
        super().__init__(name="relflow-store-copy", daemon=True)
        self.src, self.dst = src, dst
        self.done = 0  # bytes in dst (read under `cond`)
        self.finished = False
        self.error: BaseException | None = None
        self.cancelled = False
        self.cond = threading.Condition()

    def run(self) -> None:
        try:
            self._copy()
        except BaseException as exc:  # noqa: BLE001 - handed to the hashing thread, which raises it
            self.error = exc
        with self.cond:
            self.finished = True
            self.cond.notify_all()

    def _copy(self) -> None:
        kernel_copy = getattr(os, "copy_file_range", None)
        while not self.cancelled:
            n = 0
            if kernel_copy is not None:
                try:
                    n = kernel_copy(self.src, self.dst, SLICE)
                except OSError:  # another file system, an old kernel: sendfile, at the same offsets
                    kernel_copy = None
                    os.lseek(self.src, self.done, os.SEEK_SET)
                    os.lseek(self.dst, self.done, os.SEEK_SET)
                    continue
            else:
                n = os.sendfile(self.dst, self.src, None, SLICE)
            if n == 0:
                return
            with self.cond:
                self.done += n
                self.cond.notify_all()


def copy_file_hashing(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> tuple[str, int]:
    """Copy the local file ``src`` into the new local file ``dst``; returns (sha256 of ``dst``, size).

    The kernel copies while this thread hashes what has arrived in ``dst``.  On an error
    ``dst`` may hold part of the bytes: the caller removes it.
    """
    with open(src, "rb", buffering=0) as fin, open(dst, "wb", buffering=0) as fout:
        size = os.fstat(fin.fileno()).st_size
        if size < OVERLAP_MIN:
            return copy_hashing(fin, fout)
        with open(dst, "rb", buffering=0) as check:
            return _overlapped(fin.fileno(), fout.fileno(), check)


def _overlapped(src: int, dst: int, check: Any) -> tuple[str, int]:
    copier = _Copier(src, dst)
    copier.start()
    h = hashlib.sha256()
    buf = bytearray(HASH_READ)
    view = memoryview(buf)
    hashed = 0
    try:
        while True:
            with copier.cond:
                while copier.done <= hashed and not copier.finished:
                    copier.cond.wait()
                ready, finished = copier.done, copier.finished
            if copier.error is not None:
                raise copier.error
            while hashed < ready:
                got = check.readinto(view[: min(HASH_READ, ready - hashed)])
                if not got:  # pragma: no cover - the copier wrote these bytes
                    raise StoreError(f"the copy is shorter than it reported ({hashed} < {ready} bytes)")
                h.update(view[:got])
                hashed += got
            if finished and hashed >= copier.done:
                return h.hexdigest(), hashed
    finally:
        copier.cancelled = True
        copier.join()
