"""Decoding a blob body into values (``docs/blob-format.md``, "values").

Every read is bounds-checked by the :class:`~relflow_gen.runtime.blob.io.Reader`; every value is
rebuilt by its constructor, whose complaints become :class:`BlobError` with the offset.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
import uuid
from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from relflow_gen.runtime.blob import tags as T
from relflow_gen.runtime.blob.dtype import DType, read_dtype
from relflow_gen.runtime.blob.io import MAX_DEPTH, Reader

Decoder = Callable[[Reader, int], object]

_DECIMAL_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?(?:E[+-]?[0-9]+)?|Infinity|s?NaN[0-9]*)\Z", re.ASCII)


def decode_value(r: Reader, depth: int) -> object:
    start = r.pos
    if depth > MAX_DEPTH:
        r.fail(f"value nested deeper than {MAX_DEPTH} levels")
    tag = r.byte("a value tag")
    decoder = _DECODERS.get(tag)
    if decoder is None:
        shown = f"{chr(tag)!r} " if 0x20 < tag < 0x7F else ""
        r.fail(f"unknown value tag {shown}(0x{tag:02x})", start)
    return decoder(r, depth)


def _decode_int(r: Reader, depth: int) -> int:
    size = r.length("integer byte length")
    return int.from_bytes(r.take(size, "integer"), "little", signed=True)


def _decode_float(r: Reader, depth: int) -> float:
    (value,) = r.unpack(T.F64, "float")
    assert isinstance(value, float)
    return value


def _decode_complex(r: Reader, depth: int) -> complex:
    real, imag = r.unpack(T.C128, "complex")
    assert isinstance(real, float) and isinstance(imag, float)
    return complex(real, imag)


def _decode_bytes(r: Reader, depth: int) -> bytes:
    return bytes(r.take(r.length("bytes length"), "bytes"))


def _decode_bytearray(r: Reader, depth: int) -> bytearray:
    return bytearray(r.take(r.length("bytearray length"), "bytearray"))


def _decode_items(r: Reader, depth: int, what: str) -> list[object]:
    count = r.length(f"{what} length")
    return [decode_value(r, depth + 1) for _ in range(count)]


def _decode_set(r: Reader, depth: int, what: str) -> set[object]:
    start = r.pos
    items = _decode_items(r, depth, what)
    try:
        result = set(items)
    except (TypeError, ValueError) as exc:
        r.fail(f"{what} has an unhashable element: {exc}", start)
    if len(result) != len(items):
        r.fail(f"{what} has duplicate elements", start)
    return result


def _decode_dict(r: Reader, depth: int) -> dict[object, object]:
    count = r.length("dict length", unit=2)
    result: dict[object, object] = {}
    for _ in range(count):
        key_at = r.pos
        key = decode_value(r, depth + 1)
        try:
            duplicate = key in result
        except (TypeError, ValueError) as exc:
            r.fail(f"dict key is unhashable: {exc}", key_at)
        if duplicate:
            r.fail(f"duplicate dict key {key!r}", key_at)
        result[key] = decode_value(r, depth + 1)
    return result


def _decode_tz(r: Reader) -> dt.tzinfo | None:
    start = r.pos
    kind = r.byte("time zone kind")
    if kind == T.TZ_NONE:
        return None
    if kind not in (T.TZ_OFFSET, T.TZ_NAMED_OFFSET):
        r.fail(f"unknown time zone kind {kind}", start)
    (micros,) = r.unpack(T.OFFSET, "UTC offset")
    assert isinstance(micros, int)
    name = r.text("time zone name") if kind == T.TZ_NAMED_OFFSET else None
    try:
        offset = dt.timedelta(microseconds=micros)
        return dt.timezone(offset) if name is None else dt.timezone(offset, name)
    except (ValueError, OverflowError) as exc:
        r.fail(f"invalid UTC offset of {micros} microseconds: {exc}", start)


def _decode_date(r: Reader, depth: int) -> dt.date:
    start = r.pos
    fields = r.unpack(T.DATE, "date")
    try:
        return dt.date(*fields)  # type: ignore[arg-type]
    except (ValueError, OverflowError) as exc:
        r.fail(f"invalid date {fields}: {exc}", start)


def _decode_time(r: Reader, depth: int) -> dt.time:
    start = r.pos
    h, m, s, us, fold = r.unpack(T.TIME, "time")
    tz = _decode_tz(r)
    try:
        return dt.time(h, m, s, us, tz, fold=fold)  # type: ignore[arg-type]
    except (ValueError, OverflowError) as exc:
        r.fail(f"invalid time: {exc}", start)


def _decode_datetime(r: Reader, depth: int) -> dt.datetime:
    start = r.pos
    y, mo, d, h, mi, s, us, fold = r.unpack(T.DATETIME, "datetime")
    tz = _decode_tz(r)
    try:
        return dt.datetime(y, mo, d, h, mi, s, us, tz, fold=fold)  # type: ignore[arg-type]
    except (ValueError, OverflowError) as exc:
        r.fail(f"invalid datetime: {exc}", start)


def _decode_timedelta(r: Reader, depth: int) -> dt.timedelta:
    start = r.pos
    days, seconds, micros = r.unpack(T.TIMEDELTA, "timedelta")
    assert isinstance(days, int) and isinstance(seconds, int) and isinstance(micros, int)
    if not (0 <= seconds < 86400 and 0 <= micros < 1_000_000):
        r.fail(f"timedelta seconds={seconds} microseconds={micros} are not normalised", start)
    try:
        return dt.timedelta(days, seconds, micros)
    except OverflowError as exc:
        r.fail(f"invalid timedelta: {exc}", start)


def _decode_uuid(r: Reader, depth: int) -> uuid.UUID:
    return uuid.UUID(bytes=bytes(r.take(16, "UUID")))


def _decode_decimal(r: Reader, depth: int) -> decimal.Decimal:
    start = r.pos
    text = r.text("decimal")
    if not _DECIMAL_RE.match(text):
        r.fail(f"{text[:40]!r} is not a decimal number", start)
    try:
        with decimal.localcontext() as ctx:
            ctx.traps[decimal.InvalidOperation] = True
            return decimal.Decimal(text)
    except (ArithmeticError, ValueError) as exc:
        r.fail(f"invalid decimal {text[:40]!r}: {exc!r}", start)


def _read_shape(r: Reader, itemsize: int) -> tuple[int, ...]:
    start = r.pos
    ndim = r.byte("dimension count")
    if ndim > T.MAX_NDIM:
        r.fail(f"array has {ndim} dimensions (at most {T.MAX_NDIM} allowed)", start)
    shape = tuple(r.varint("array dimension") for _ in range(ndim))
    size = max(itemsize, 1)
    for dim in shape:
        size *= dim or 1
    if size > T.MAX_BYTES:  # numpy refuses such shapes even when a dimension is 0
        r.fail(f"array shape {shape} is too large", start)
    return shape


def _array_flags(r: Reader, allowed: int) -> int:
    flags = r.byte("array flags")
    if flags & ~allowed:
        r.fail(f"unknown array flags 0x{flags:02x}", r.pos - 1)
    return flags


def _decode_array(r: Reader, depth: int) -> np.ndarray[Any, Any]:
    start = r.pos - 1
    flags = _array_flags(r, T.ARRAY_FORTRAN | T.ARRAY_RECARRAY)
    dtype = read_dtype(r)
    if dtype.subdtype is not None:
        r.fail("an array's dtype is a sub-array dtype (only fields may be sub-arrays)", start)
    if dtype.kind in "SU" and dtype.itemsize == 0:
        r.fail(f"an array's dtype is the unsized string dtype {dtype.str!r}", start)
    shape = _read_shape(r, dtype.itemsize)
    order: Literal["C", "F"] = "F" if flags & T.ARRAY_FORTRAN else "C"
    count = 1
    for dim in shape:
        count *= dim
    data = r.take(count * dtype.itemsize, f"data of the {shape} {dtype} array")
    if len(data) == 0:
        arr = np.zeros(shape, dtype, order=order)
    else:
        flat = None
        if r.keep and 2 * len(data) >= r.size:
            # a buffer that never changes, mostly this array: keep the data where it is (no copy)
            # when it sits aligned; a smaller array is copied, so keeping it alone does not keep
            # the whole buffer in memory
            flat = np.frombuffer(data, dtype=dtype)
            if not flat.flags.aligned:
                flat = None
        if flat is None:
            # One copy, of the raw bytes (a structured copy would skip padding): aligned, and
            # never an alias of a buffer the caller may change.
            flat = np.frombuffer(data, dtype=np.uint8).copy().view(dtype)
        arr = flat.reshape(shape, order=order)
    arr.flags.writeable = False  # every decoded array is read-only, whether or not it was copied
    if flags & T.ARRAY_RECARRAY:
        return arr.view(np.recarray)
    return arr


def array_data_offset(head: memoryview) -> int | None:
    """Where the data of the array a body starts with begins (from the first bytes of the body),
    or None when the body is not an array or ``head`` is too short to tell."""
    r = Reader(head, 0)
    try:
        if r.byte("a value tag") != T.TAG_NP_ARRAY:
            return None
        _array_flags(r, T.ARRAY_FORTRAN | T.ARRAY_RECARRAY)
        _read_shape(r, read_dtype(r).itemsize)
    except Exception:  # noqa: BLE001 - any malformed head: the decode proper says what is wrong
        return None
    return r.pos


def _decode_object_array(r: Reader, depth: int) -> np.ndarray[Any, Any]:
    flags = _array_flags(r, T.ARRAY_FORTRAN)
    shape = _read_shape(r, 8)
    count = 1
    for dim in shape:
        count *= dim
    if count > r.remaining:
        r.fail(f"object array of shape {shape} needs {count} elements but only {r.remaining} bytes remain")
    flat = np.empty(count, dtype=object)
    for i in range(count):
        flat[i] = decode_value(r, depth + 1)
    arr = flat.reshape(shape, order="F" if flags & T.ARRAY_FORTRAN else "C")
    arr.flags.writeable = False
    return arr


def _decode_np_scalar(r: Reader, depth: int) -> object:
    start = r.pos
    dtype: DType = read_dtype(r)
    if dtype.subdtype is not None:
        r.fail("a numpy scalar's dtype is a sub-array dtype", start)
    data = r.take(dtype.itemsize, f"{dtype} scalar")
    holder = np.zeros((), dtype)  # an unsized dtype (the dtype of np.bytes_(b"")) gets 1 zero byte
    if dtype.itemsize:
        holder.reshape(-1).view(np.uint8)[:] = np.frombuffer(data, np.uint8)
    try:
        return holder[()]
    except (ValueError, SystemError) as exc:  # e.g. a str_ holding a code point above U+10FFFF
        r.fail(f"invalid {dtype} scalar: {exc}", start)


_DECODERS: dict[int, Decoder] = {
    T.TAG_NONE: lambda r, d: None,
    T.TAG_TRUE: lambda r, d: True,
    T.TAG_FALSE: lambda r, d: False,
    T.TAG_INT: _decode_int,
    T.TAG_FLOAT: _decode_float,
    T.TAG_COMPLEX: _decode_complex,
    T.TAG_STR: lambda r, d: r.text("str"),
    T.TAG_BYTES: _decode_bytes,
    T.TAG_BYTEARRAY: _decode_bytearray,
    T.TAG_LIST: lambda r, d: _decode_items(r, d, "list"),
    T.TAG_TUPLE: lambda r, d: tuple(_decode_items(r, d, "tuple")),
    T.TAG_DICT: _decode_dict,
    T.TAG_SET: lambda r, d: _decode_set(r, d, "set"),
    T.TAG_FROZENSET: lambda r, d: frozenset(_decode_set(r, d, "frozenset")),
    T.TAG_DATE: _decode_date,
    T.TAG_TIME: _decode_time,
    T.TAG_DATETIME: _decode_datetime,
    T.TAG_TIMEDELTA: _decode_timedelta,
    T.TAG_UUID: _decode_uuid,
    T.TAG_DECIMAL: _decode_decimal,
    T.TAG_NP_SCALAR: _decode_np_scalar,
    T.TAG_NP_ARRAY: _decode_array,
    T.TAG_NP_OBJECT_ARRAY: _decode_object_array,
}
