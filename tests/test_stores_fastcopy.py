"""The overlapped local copy of the file stores: the sha256 of exactly the bytes written, whatever the size,
with the kernel copy, with its sendfile fallback, and with errors reported."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from relflow_gen.runtime.stores import fastcopy
from relflow_gen.runtime.stores.fastcopy import copy_file_hashing


@pytest.mark.parametrize("size", [0, 1, 5_000_000, fastcopy.OVERLAP_MIN, fastcopy.OVERLAP_MIN + 3 * fastcopy.SLICE + 7])
def test_copy_hashes_what_it_wrote(tmp_path: Path, size: int) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    data = os.urandom(size)
    src.write_bytes(data)
    assert copy_file_hashing(src, dst) == (hashlib.sha256(data).hexdigest(), size)
    assert dst.read_bytes() == data


def test_sendfile_when_the_kernel_copy_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = os.copy_file_range

    def once_then_refuse(src: int, dst: int, count: int) -> int:
        calls.append(count)
        if len(calls) > 1:
            raise OSError(18, "Invalid cross-device link")  # as between two file systems on old kernels
        return real(src, dst, count)

    monkeypatch.setattr(os, "copy_file_range", once_then_refuse)
    src, dst = tmp_path / "src", tmp_path / "dst"
    data = os.urandom(fastcopy.OVERLAP_MIN + fastcopy.SLICE + 1234)
    src.write_bytes(data)
    assert copy_file_hashing(src, dst) == (hashlib.sha256(data).hexdigest(), len(data))
    assert dst.read_bytes() == data and len(calls) == 2


def test_a_failing_copy_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(*args: object) -> int:
        raise OSError(18, "Invalid cross-device link")

    def full(out_fd: int, in_fd: int, offset: int | None, count: int) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "copy_file_range", refused)
    monkeypatch.setattr(os, "sendfile", full)
    src = tmp_path / "src"
    src.write_bytes(os.urandom(fastcopy.OVERLAP_MIN))
    with pytest.raises(OSError, match="No space left"):
        copy_file_hashing(src, tmp_path / "dst")
