"""Byte-level building blocks of the blob codec: the error type, a writer and a bounds-checked reader.

Everything here knows about bytes, varints and offsets, and nothing about values; see
:mod:`relflow_gen.runtime.blob` for the codec and ``docs/blob-format.md`` for the format.
"""

from __future__ import annotations

import struct
from typing import NoReturn

from relflow_gen.core.errors import RelflowError

#: Deepest nesting of containers (and of structured dtypes) that encode writes and decode accepts.
#: It keeps both directions far away from Python's recursion limit.
MAX_DEPTH = 100

#: Chunks at least this long are kept as separate buffers by :class:`Writer` instead of being
#: copied into its small-write buffer, so large array data is copied once, into the final blob.
_BIG_CHUNK = 4096

_U64_LIMIT = 1 << 64


class BlobError(RelflowError):
    """A value cannot be encoded, or bytes are not a valid blob (the message says where and why)."""


class Writer:
    """Accumulates an encoding as a list of chunks; large chunks are referenced, not copied."""

    __slots__ = ("_chunks", "_buf", "_flushed")

    def __init__(self) -> None:
        self._chunks: list[bytes | bytearray | memoryview] = []
        self._buf = bytearray()
        self._flushed = 0  # bytes held in _chunks

    def __len__(self) -> int:
        return self._flushed + len(self._buf)

    def byte(self, value: int) -> None:
        self._buf.append(value)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if len(data) >= _BIG_CHUNK:
            self._flush()
            self._chunks.append(data)
            self._flushed += len(data)
        else:
            self._buf += data

    def pack(self, fmt: struct.Struct, *values: object) -> None:
        self._buf += fmt.pack(*values)

    def varint(self, value: int) -> None:
        """Unsigned LEB128: 7 bits per byte, least significant group first, high bit = more follows."""
        if value < 0 or value >= _U64_LIMIT:
            raise BlobError(f"length or count {value} does not fit the format's 64-bit varint")
        buf = self._buf
        while value >= 0x80:
            buf.append((value & 0x7F) | 0x80)
            value >>= 7
        buf.append(value)

    def text(self, value: str) -> None:
        """A varint byte length followed by UTF-8 (lone surrogates allowed, as Python str allows them)."""
        data = value.encode("utf-8", "surrogatepass")
        self.varint(len(data))
        self.write(data)

    def chunks(self) -> list[bytes | bytearray | memoryview]:
        self._flush()
        return self._chunks

    def _flush(self) -> None:
        if self._buf:
            self._chunks.append(self._buf)
            self._flushed += len(self._buf)
            self._buf = bytearray()


class Reader:
    """Reads a buffer front to back; every read checks the remaining length before touching memory.

    ``base`` is added to positions in error messages so that they are offsets into the blob, and
    ``where`` names the buffer when it is not the blob itself (the decompressed body).
    ``keep``: a large array may keep its data where it is instead of copying it, because the
    buffer can never change: a ``bytes`` object (what database drivers return), or a body the
    decoder decompressed itself into a buffer nobody else holds.
    """

    __slots__ = ("_mv", "pos", "_base", "_where", "keep")

    def __init__(self, mv: memoryview, pos: int, *, base: int = 0, where: str = "", owned: bool = False) -> None:
        self._mv = mv
        self.pos = pos
        self._base = base
        self._where = where
        self.keep = (owned and not mv.readonly) or type(mv.obj) is bytes

    @property
    def size(self) -> int:
        return len(self._mv)

    @property
    def remaining(self) -> int:
        return len(self._mv) - self.pos

    def fail(self, message: str, at: int | None = None) -> NoReturn:
        offset = (self.pos if at is None else at) + self._base
        place = f"byte {offset}" + (f" of the {self._where}" if self._where else "")
        raise BlobError(f"malformed blob at {place}: {message}")

    def byte(self, what: str) -> int:
        if self.pos >= len(self._mv):
            self.fail(f"data ends where {what} was expected")
        value = self._mv[self.pos]
        self.pos += 1
        return value

    def take(self, size: int, what: str) -> memoryview:
        if size > self.remaining:
            self.fail(f"{what} needs {size} bytes but only {self.remaining} remain")
        start = self.pos
        self.pos = start + size
        return self._mv[start : self.pos]

    def unpack(self, fmt: struct.Struct, what: str) -> tuple[object, ...]:
        if fmt.size > self.remaining:
            self.fail(f"{what} needs {fmt.size} bytes but only {self.remaining} remain")
        values = fmt.unpack_from(self._mv, self.pos)
        self.pos += fmt.size
        return values

    def varint(self, what: str) -> int:
        start = self.pos
        value = 0
        for shift in range(0, 70, 7):
            byte = self.byte(what)
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                if value >= _U64_LIMIT:
                    self.fail(f"{what} is a varint larger than 2**64 - 1", start)
                return value
        self.fail(f"{what} is a varint longer than 10 bytes", start)

    def length(self, what: str, unit: int = 1) -> int:
        """A varint count of items at least ``unit`` bytes each, checked against the remaining data."""
        start = self.pos
        value = self.varint(what)
        if value * unit > self.remaining:
            self.fail(
                f"{what} is {value}, more than the {self.remaining} bytes that remain could hold",
                start,
            )
        return value

    def text(self, what: str) -> str:
        start = self.pos
        data = self.take(self.length(f"byte length of {what}"), what)
        try:
            return str(data, "utf-8", "surrogatepass")
        except UnicodeDecodeError as exc:
            self.fail(f"{what} is not valid UTF-8 ({exc.reason} at byte {exc.start} of it)", start)

    def expect_end(self) -> None:
        if self.remaining:
            self.fail(f"{self.remaining} unexpected bytes after the value")
