"""Compressed blobs decode without a copy after decompression (docs/blob-format.md, "Decoding arrays").

The body is decompressed straight into a buffer of the decode's own, placed so that the data of
the array the body starts with is aligned; that array keeps its data there. Arrays under half the
body are copied (they never pin a large buffer), and every array stays writable and aligned.
"""

from __future__ import annotations

import struct

import numpy as np
import pytest
import zstandard

from relflow_gen.runtime.blob import BlobError, decode, encode


def compressible(n: int, dtype: str) -> np.ndarray:
    return (np.arange(n) % 7).astype(dtype)


def in_body(a: np.ndarray) -> bool:
    """The array's data lies in the decompressed body (a view of it), not in a copy of its own."""
    base = a.base
    while isinstance(base, np.ndarray):
        base = base.base
    return isinstance(base, memoryview) and isinstance(base.obj, np.ndarray) and base.obj.nbytes > a.nbytes


@pytest.mark.parametrize("dtype", ["<f8", ">f8", "<i2", "<c16", "u1", "<f4"])
@pytest.mark.parametrize("shape", [(5000,), (300, 7), (3, 5, 200), (70000,)])
def test_the_first_array_of_a_compressed_body_keeps_its_data_aligned_and_read_only(
    dtype: str, shape: tuple[int, ...]
) -> None:
    arr = compressible(int(np.prod(shape)), dtype).reshape(shape)
    blob = bytearray(encode(arr))
    assert blob[5] == 2, "expected a zstd blob"
    back = decode(blob)
    assert isinstance(back, np.ndarray) and back.dtype == arr.dtype and np.array_equal(back, arr)
    assert not back.flags.writeable and back.flags.aligned and back.flags.c_contiguous
    assert in_body(back)  # no copy after decompression
    assert back.ctypes.data % 64 == 0
    blob[-20:] = b"\x00" * 20  # the caller's buffer is never aliased
    assert np.array_equal(back, arr)
    with pytest.raises(ValueError, match="read-only"):
        back.reshape(-1)[0] = 1


def test_fortran_structured_and_record_arrays_keep_their_layout() -> None:
    f = np.asfortranarray(compressible(6000, "<f8").reshape(60, 100))
    back = decode(encode(f))
    assert isinstance(back, np.ndarray) and back.flags.f_contiguous and np.array_equal(back, f)
    rec = np.zeros(4000, dtype=np.dtype([("a", "i1"), ("b", "<f8")], align=True)).view(np.recarray)
    rec.b = np.arange(4000) % 5
    back = decode(encode(rec))
    assert isinstance(back, np.recarray) and back.dtype.isalignedstruct and back.flags.aligned
    assert np.array_equal(back.b, rec.b) and not back.flags.writeable


def test_small_arrays_of_a_body_are_copied() -> None:
    value = {"small": compressible(100, "<f8"), "big": compressible(100_000, "<f8"), "n": 3}
    back = decode(encode(value))
    assert isinstance(back, dict) and back["n"] == 3
    assert not in_body(back["small"])  # keeping it keeps no large body alive
    # the body starts with the dict, not the array: its data is kept only where it happens to be aligned
    assert np.array_equal(back["small"], value["small"]) and np.array_equal(back["big"], value["big"])
    for a in (back["small"], back["big"]):
        assert not a.flags.writeable and a.flags.aligned


def zstd_blob(payload: bytes, **options: bool) -> bytes:
    frame = zstandard.ZstdCompressor(**options).compress(payload)
    return b"RFBL\x02\x02" + struct.pack("<Q", len(payload)) + frame


def test_frames_with_a_checksum_rle_blocks_or_trailing_bytes() -> None:
    arr = np.zeros(50_000)  # zstd writes runs as RLE blocks
    payload = encode(arr)
    assert payload[5] == 2
    assert np.array_equal(decode(payload), arr)
    inner = b"N"  # the None value
    assert decode(zstd_blob(inner, write_checksum=True)) is None
    assert decode(zstd_blob(inner, write_checksum=False)) is None
    with pytest.raises(BlobError, match="corrupt zstd frame: 3 unexpected bytes after it"):
        decode(zstd_blob(inner, write_checksum=True) + b"abc")
    with pytest.raises(BlobError, match="corrupt zstd frame"):
        decode(zstd_blob(inner, write_checksum=True)[:-1])
