"""The ``blob`` attribute codec: numpy arrays and plain Python values to bytes and back, never pickle.

>>> import numpy as np
>>> value = {"trace": np.arange(3, dtype=">f8"), "ok": True}
>>> back = decode(encode(value))
>>> back["trace"].dtype.str, back["ok"]
('>f8', True)

A blob is a header (magic ``RFBL``, a version byte, a codec byte) followed by one value in a
tagged, recursive encoding, stored as is or zstd-compressed when that pays (blobs written by
earlier versions may be zlib-compressed: they still decode). The format is
specified completely in ``docs/blob-format.md``. This module holds the header and compression;
the body is handled by ``blob_encode`` / ``blob_decode`` (values, with tags from ``blob_tags``),
``blob_dtype`` (numpy dtype descriptions) and ``blob_io`` (varints, bounds-checked reading).

Round trips are exact: the Python type, numpy dtype (byte order included), shape, memory order
(C or Fortran) and every bit of the data (NaN payloads, -0.0) come back. Decoded arrays are
read-only and aligned; a large array is a view of the input when the input is ``bytes`` (what
drivers return: no copy), or of the buffer a compressed body was decompressed into, and never
of a buffer the caller may change. Decoding untrusted bytes runs no code and either returns
a value or raises :class:`BlobError` saying what is wrong and at which byte.
"""

from __future__ import annotations

import struct
import threading
import zlib
from typing import Any

import numpy as np
import zstandard

from relflow_gen.runtime.blob.decoder import array_data_offset, decode_value
from relflow_gen.runtime.blob.encoder import encode_value
from relflow_gen.runtime.blob.io import BlobError, Reader, Writer

__all__ = ["BlobError", "decode", "encode", "MAGIC", "VERSION"]

MAGIC = b"RFBL"
#: the newest format version this module reads and writes; a blob carries the lowest version
#: that can read it (stored blobs without padding stay version 1, readable by every release)
VERSION = 3
CODEC_STORED = 0
CODEC_ZLIB = 1  # version 1 and later (written by releases before version 2)
CODEC_ZSTD = 2  # version 2 and later
CODEC_PADDED = 3  # version 3 and later: stored, after padding that aligns the first array's data
#: the codecs each format version may use
_CODECS = {
    1: (CODEC_STORED, CODEC_ZLIB),
    2: (CODEC_STORED, CODEC_ZLIB, CODEC_ZSTD),
    3: (CODEC_STORED, CODEC_ZLIB, CODEC_ZSTD, CODEC_PADDED),
}

_HEADER = struct.Struct("<4sBB")  # magic, version, codec
_BODY_SIZE = struct.Struct("<Q")  # compressed codecs only: size of the decompressed body
_STORED_HEADER = _HEADER.pack(MAGIC, 1, CODEC_STORED)
_ZSTD_HEADER = _HEADER.pack(MAGIC, 2, CODEC_ZSTD)
_PADDED_HEADER = _HEADER.pack(MAGIC, 3, CODEC_PADDED)
#: A stored body at least this large that starts with an array is padded so that the array's
#: data starts at a multiple of ``PAD_ALIGN`` bytes from the blob's start: a decoder reading the
#: blob from a ``bytes`` object (16-byte aligned in CPython) then uses the data where it is.
PAD_MIN_SIZE = 64 << 10
PAD_ALIGN = 16

#: Bodies shorter than this are never compressed (the gain would be a few bytes at best).
COMPRESS_MIN_SIZE = 1024
#: Compression is kept only when it shrinks the body to at most this fraction of its size.
COMPRESS_RATIO = 0.8
#: zstd level, chosen by measurement (bench/bench_blob.py): on numeric arrays level 1 compresses
#: about 3x faster than zlib level 1, as small or smaller, and decompresses about 2x faster;
#: higher zstd levels cost more time for a few percent.
ZSTD_LEVEL = 1
#: The decision samples this many pieces of this many bytes spread over a large body.
_SAMPLE_PIECES = 4
_SAMPLE_PIECE = 4096
#: Deflate cannot expand data more than about 1032:1, so a larger declared size is a lie.
_MAX_DEFLATE_EXPANSION = 1032
#: Nor can zstd more than 32768:1 (a 4-byte run-length block holds at most 128 KiB).
_MAX_ZSTD_EXPANSION = 32768
_CONTEXTS = threading.local()  # zstd contexts are not safe to share between threads


def _compressor() -> zstandard.ZstdCompressor:
    ctx: zstandard.ZstdCompressor | None = getattr(_CONTEXTS, "compressor", None)
    if ctx is None:
        ctx = _CONTEXTS.compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
    return ctx


def _decompressor() -> zstandard.ZstdDecompressor:
    ctx: zstandard.ZstdDecompressor | None = getattr(_CONTEXTS, "decompressor", None)
    if ctx is None:
        ctx = _CONTEXTS.decompressor = zstandard.ZstdDecompressor()
    return ctx
#: Compression is fed in slices this large and abandoned when the output so far is too big
#: (zlib holds back up to some tens of KiB, hence the slack).
_SLICE = 1 << 20
_SLACK = 64 << 10


def encode(value: object) -> bytes:
    """Encode ``value`` as a blob; :class:`BlobError` when it holds something a blob cannot store."""
    parts = encode_parts(value)
    return parts[0] if len(parts) == 1 and isinstance(parts[0], bytes) else b"".join(parts)


def encode_parts(value: object) -> list[bytes | bytearray | memoryview]:
    """The blob of ``value`` as consecutive pieces, not joined: large arrays are views of the
    value's own memory (valid while the value is not changed), for writers that take pieces."""
    w = Writer()
    encode_value(w, value, 0)
    size = len(w)
    chunks = w.chunks()
    if size >= COMPRESS_MIN_SIZE and _sample_compresses(chunks, size):
        compressed = _compress(chunks, size)
        if compressed is not None:
            return [compressed]
    if size >= PAD_MIN_SIZE:
        offset = array_data_offset(memoryview(_piece(chunks, 0, min(size, _HEAD))))
        if offset is not None:
            pad = -(len(_PADDED_HEADER) + 1 + offset) % PAD_ALIGN
            return [_PADDED_HEADER + bytes((pad,)) + bytes(pad), *chunks]
    return [_STORED_HEADER, *chunks]


def decode(data: bytes | bytearray | memoryview) -> object:
    """Decode a blob made by :func:`encode`; :class:`BlobError` (with the offset) when it is malformed."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise BlobError(f"a blob is bytes, bytearray or memoryview, not {type(data).__name__}")
    mv = memoryview(data)
    if mv.format != "B" or mv.ndim != 1:
        try:
            mv = mv.cast("B")
        except TypeError as exc:
            raise BlobError(f"cannot read the blob buffer as bytes: {exc}") from exc
    reader = _open(mv)
    try:
        value = decode_value(reader, 0)
        reader.expect_end()
    except (BlobError, MemoryError):
        raise
    except Exception as exc:  # the contract is "BlobError or a value" for any input whatsoever
        reader.fail(f"{type(exc).__name__}: {exc}")
    return value


def _open(mv: memoryview) -> Reader:
    """Check the header and return a reader positioned at the first byte of the body."""
    top = Reader(mv, 0)
    if len(mv) < _HEADER.size:
        top.fail(f"{len(mv)} bytes are too short for the {_HEADER.size}-byte blob header")
    magic, version, codec = _HEADER.unpack_from(mv)
    if magic != MAGIC:
        top.fail(f"not a relflow blob: it starts with {bytes(magic)!r}, expected {MAGIC!r}")
    if version not in _CODECS:
        top.fail(
            f"blob format version {version} is not supported (this relflow-gen reads versions 1 to {VERSION})", 4
        )
    if codec not in _CODECS[version]:
        if codec in _CODECS[VERSION]:
            top.fail(f"codec {codec} is not part of blob format version {version}", 5)
        top.fail(f"unknown codec {codec} (0 = stored, 1 = zlib, 2 = zstd, 3 = padded)", 5)
    if codec == CODEC_STORED:
        return Reader(mv, _HEADER.size)
    if codec == CODEC_PADDED:
        top.pos = _HEADER.size
        pad = top.byte("padding length")
        if pad >= PAD_ALIGN:
            top.fail(f"padding length {pad} is not below {PAD_ALIGN}", _HEADER.size)
        if any(top.take(pad, "padding")):
            top.fail("padding bytes are not all zero", _HEADER.size + 1)
        return Reader(mv, top.pos)
    if codec == CODEC_ZLIB:
        return Reader(memoryview(_inflate(mv, top)), 0, base=0, where="decompressed body")
    return Reader(_unzstd(mv, top), 0, base=0, where="decompressed body", owned=True)


def _unzstd(mv: memoryview, top: Reader) -> memoryview:
    """The decompressed body, in a fresh writable buffer of its own.

    The body is decompressed straight into that buffer (no copy after), placed so that the data
    of the array the body starts with (the usual blob) is aligned: the decoder then keeps the
    array's data there (see ``Reader.keep``).
    """
    top.pos = _HEADER.size
    (size,) = top.unpack(_BODY_SIZE, "decompressed body size")
    assert isinstance(size, int)
    stream = mv[top.pos :]
    if size > _MAX_ZSTD_EXPANSION * len(stream) + 64:
        top.fail(f"declared body size {size} is impossible for a {len(stream)}-byte zstd frame", _HEADER.size)
    try:
        framed = zstandard.frame_content_size(stream)
    except zstandard.ZstdError as exc:
        top.fail(f"corrupt zstd frame header: {exc}")
    if framed != size:
        said = "no size" if framed < 0 else f"{framed} bytes"
        top.fail(f"the zstd frame declares {said}, the blob header {size} bytes")
    length = _frame_length(stream)
    if length is None:
        top.fail("corrupt zstd frame: its blocks run past the end of the blob")
    if length < len(stream):  # bytes after the frame are an error
        top.fail(f"corrupt zstd frame: {len(stream) - length} unexpected bytes after it", top.pos + length)
    buffer = np.empty(size + _ALIGN, dtype=np.uint8)
    try:
        with _decompressor().stream_reader(stream, read_across_frames=False) as reader:
            head = bytearray(min(size, _HEAD))
            got = _read_into(reader, memoryview(head))
            offset = array_data_offset(memoryview(head)[:got])
            shift = 0 if offset is None else -(buffer.ctypes.data + offset) % _ALIGN
            body = buffer.data[shift : shift + size]
            body[:got] = head[:got]
            got += _read_into(reader, body[got:])
            beyond = reader.read(1)
    except zstandard.ZstdError as exc:
        top.fail(f"corrupt zstd frame: {exc}")
    if got != size or beyond:  # pragma: no cover - the library checks the frame's content size
        top.fail(f"zstd frame decompresses to {'more than ' if beyond else ''}{got} bytes, the header declares {size}")
    return body


#: the decompressed body is placed so that its first array's data starts at this alignment
_ALIGN = 64
#: the first bytes of a body, decompressed on their own to find where its array's data starts
_HEAD = 512


def _read_into(reader: Any, target: memoryview) -> int:
    """Fill ``target`` from a zstd stream reader as far as the frame goes; the bytes read."""
    got = 0
    while got < len(target):
        n = reader.readinto(target[got:])
        if not n:
            break
        got += n
    return got


def _frame_length(stream: memoryview) -> int | None:
    """The length of the zstd frame ``stream`` starts with (RFC 8878: header, blocks, checksum),
    or None when its blocks run past the end."""
    at = int(zstandard.frame_header_size(stream))
    checksum = 4 if stream[4] & 0x04 else 0  # Content_Checksum_flag of the frame header descriptor
    end = len(stream)
    while at + 3 <= end:
        header = stream[at] | stream[at + 1] << 8 | stream[at + 2] << 16
        last, kind, size = header & 1, (header >> 1) & 3, header >> 3
        at += 3 + (1 if kind == 1 else size)  # an RLE block holds one byte
        if last:
            return at + checksum if at + checksum <= end else None
    return None


def _inflate(mv: memoryview, top: Reader) -> bytes:
    top.pos = _HEADER.size
    (size,) = top.unpack(_BODY_SIZE, "decompressed body size")
    assert isinstance(size, int)
    stream = mv[top.pos :]
    if size > _MAX_DEFLATE_EXPANSION * len(stream) + 64:
        top.fail(f"declared body size {size} is impossible for a {len(stream)}-byte zlib stream", _HEADER.size)
    inflater = zlib.decompressobj()
    try:
        body = inflater.decompress(stream, size + 1)  # never more than the declared size (+1 to notice)
    except zlib.error as exc:
        top.fail(f"corrupt zlib stream: {exc}")
    if len(body) > size:
        top.fail(f"zlib stream inflates to more than the declared {size} bytes")
    if not inflater.eof:
        top.fail(f"zlib stream is truncated (inflated {len(body)} of the declared {size} bytes)")
    if len(body) < size:
        top.fail(f"zlib stream inflates to {len(body)} bytes, the header declares {size}")
    if inflater.unused_data:
        top.fail(
            f"{len(inflater.unused_data)} unexpected bytes after the zlib stream", len(mv) - len(inflater.unused_data)
        )
    return body


def _sample_compresses(chunks: list[bytes | bytearray | memoryview], size: int) -> bool:
    """Cheaply guess whether compressing pays: compress a few spread pieces, each on its own.

    Pieces compressed separately predict the ratio of the whole well (a joined sample does not:
    the compressor finds matches across the seams that the real data does not have).
    """
    if size <= _SAMPLE_PIECES * _SAMPLE_PIECE:
        return True  # small enough to simply try
    step = (size - _SAMPLE_PIECE) // (_SAMPLE_PIECES - 1)
    packed = 0
    for i in range(_SAMPLE_PIECES):
        packed += len(_compressor().compress(_piece(chunks, i * step, _SAMPLE_PIECE)))
    return packed <= COMPRESS_RATIO * _SAMPLE_PIECES * _SAMPLE_PIECE


def _piece(chunks: list[bytes | bytearray | memoryview], start: int, length: int) -> bytes:
    """Bytes ``start:start+length`` of the concatenation of ``chunks``."""
    parts: list[bytes] = []
    for chunk in chunks:
        if start >= len(chunk):
            start -= len(chunk)
            continue
        part = bytes(chunk[start : start + length])
        parts.append(part)
        length -= len(part)
        start = 0
        if not length:
            break
    return b"".join(parts)


def _compress(chunks: list[bytes | bytearray | memoryview], size: int) -> bytes | None:
    """The zstd-codec blob, or None when it does not shrink the body to ``COMPRESS_RATIO`` or less.

    The body is fed in slices of ``_SLICE`` bytes and given up as soon as the output so far shows
    that the sample misled: a wrong guess costs one slice or so, not the whole body.
    """
    deflater = _compressor().compressobj(size=size)  # the frame records the body size
    parts = [_ZSTD_HEADER, _BODY_SIZE.pack(size)]
    fed = packed = 0
    for chunk in chunks:
        view = memoryview(chunk)
        for start in range(0, len(view), _SLICE):
            piece = view[start : start + _SLICE]
            out = deflater.compress(piece)
            parts.append(out)
            fed += len(piece)
            packed += len(out)
            if fed >= _SLICE and packed > COMPRESS_RATIO * fed + _SLACK:
                return None
    parts.append(deflater.flush())
    if sum(map(len, parts)) > COMPRESS_RATIO * (size + len(_STORED_HEADER)):
        return None
    return b"".join(parts)
