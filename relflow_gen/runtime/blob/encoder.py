"""Encoding values into a blob body (``docs/blob-format.md``, "values").

Types are matched exactly (``type(v) is list``, not ``isinstance``) so that what comes back is
what went in; a subclass such as ``collections.OrderedDict`` or ``pandas.Timestamp`` is refused
with a hint to convert it, rather than silently coming back as its base class.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np

from relflow_gen.runtime.blob import tags as T
from relflow_gen.runtime.blob.dtype import write_dtype
from relflow_gen.runtime.blob.io import MAX_DEPTH, BlobError, Writer

Encoder = Callable[[Writer, Any, int], None]


def encode_value(w: Writer, value: object, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise BlobError(f"value nested deeper than {MAX_DEPTH} levels (or a container that contains itself)")
    encoder = _ENCODERS.get(type(value))
    if encoder is not None:
        encoder(w, value, depth)
    elif isinstance(value, np.ndarray):
        _encode_array(w, value, depth)
    elif isinstance(value, np.generic):
        _encode_np_scalar(w, value)
    else:
        raise _unsupported(value)


def _unsupported(value: object) -> BlobError:
    kind = type(value)
    name = f"{kind.__module__}.{kind.__qualname__}"
    for base in kind.__mro__[1:]:
        if base in _ENCODERS and base is not object:
            return BlobError(
                f"cannot encode {name}: it is a subclass of {base.__qualname__}, and blobs keep exact types; "
                f"convert it to {base.__qualname__} first"
            )
    return BlobError(
        f"cannot encode {name}: a blob holds numpy arrays and scalars, None, bool, int, float, complex, str, "
        "bytes, bytearray, list, tuple, dict, set, frozenset, datetime.date/time/datetime/timedelta, "
        "uuid.UUID and decimal.Decimal"
    )


def _encode_int(w: Writer, value: int, depth: int) -> None:
    size = ((value if value >= 0 else ~value).bit_length() + 8) // 8 if value else 0
    w.byte(T.TAG_INT)
    w.varint(size)
    w.write(value.to_bytes(size, "little", signed=True))


def _encode_float(w: Writer, value: float, depth: int) -> None:
    w.byte(T.TAG_FLOAT)
    w.pack(T.F64, value)  # struct copies the IEEE 754 bits: NaN payloads and -0.0 survive


def _encode_complex(w: Writer, value: complex, depth: int) -> None:
    w.byte(T.TAG_COMPLEX)
    w.pack(T.C128, value.real, value.imag)


def _encode_str(w: Writer, value: str, depth: int) -> None:
    w.byte(T.TAG_STR)
    w.text(value)


def _encode_bytes(w: Writer, value: bytes | bytearray, depth: int) -> None:
    w.byte(T.TAG_BYTES if type(value) is bytes else T.TAG_BYTEARRAY)
    w.varint(len(value))
    w.write(value)


def _encode_sequence(tag: int) -> Encoder:
    def encode(w: Writer, value: Any, depth: int) -> None:
        w.byte(tag)
        w.varint(len(value))
        for item in value:
            encode_value(w, item, depth + 1)

    return encode


def _encode_dict(w: Writer, value: dict[object, object], depth: int) -> None:
    w.byte(T.TAG_DICT)
    w.varint(len(value))
    for key, item in value.items():
        encode_value(w, key, depth + 1)
        encode_value(w, item, depth + 1)


def _encode_tz(w: Writer, owner: dt.time | dt.datetime) -> None:
    tz = owner.tzinfo
    if tz is None:
        w.byte(T.TZ_NONE)
        return
    if type(tz) is not dt.timezone:
        raise BlobError(
            f"cannot encode {owner!r}: its tzinfo {tz!r} is not a fixed offset; convert it to one, "
            "e.g. value.astimezone(datetime.timezone.utc)"
        )
    offset = tz.utcoffset(None)
    name = tz.tzname(None)
    named = name != dt.timezone(offset).tzname(None)
    w.byte(T.TZ_NAMED_OFFSET if named else T.TZ_OFFSET)
    w.pack(T.OFFSET, offset // dt.timedelta(microseconds=1))
    if named:
        w.text(name)


def _encode_date(w: Writer, value: dt.date, depth: int) -> None:
    w.byte(T.TAG_DATE)
    w.pack(T.DATE, value.year, value.month, value.day)


def _encode_time(w: Writer, v: dt.time, depth: int) -> None:
    w.byte(T.TAG_TIME)
    w.pack(T.TIME, v.hour, v.minute, v.second, v.microsecond, v.fold)
    _encode_tz(w, v)


def _encode_datetime(w: Writer, v: dt.datetime, depth: int) -> None:
    w.byte(T.TAG_DATETIME)
    w.pack(T.DATETIME, v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond, v.fold)
    _encode_tz(w, v)


def _encode_timedelta(w: Writer, v: dt.timedelta, depth: int) -> None:
    w.byte(T.TAG_TIMEDELTA)
    w.pack(T.TIMEDELTA, v.days, v.seconds, v.microseconds)


def _encode_uuid(w: Writer, value: uuid.UUID, depth: int) -> None:
    w.byte(T.TAG_UUID)
    w.write(value.bytes)


def _encode_decimal(w: Writer, value: decimal.Decimal, depth: int) -> None:
    w.byte(T.TAG_DECIMAL)
    w.text(str(value))


def _encode_array(w: Writer, value: np.ndarray[Any, Any], depth: int) -> None:
    kind = type(value)
    if kind is np.recarray:
        flags = T.ARRAY_RECARRAY
    elif kind is np.ndarray or kind is np.memmap:
        flags = 0
    else:
        raise BlobError(
            f"cannot encode {kind.__module__}.{kind.__qualname__}: only numpy.ndarray and numpy.recarray are "
            "supported (a masked array would lose its mask); convert it with numpy.asarray() first"
        )
    arr: np.ndarray[Any, Any] = value.view(np.ndarray)
    if arr.ndim > T.MAX_NDIM:  # pragma: no cover - numpy itself refuses more than 64 dimensions
        raise BlobError(f"cannot encode an array of {arr.ndim} dimensions")
    fortran = arr.ndim > 1 and arr.flags.f_contiguous and not arr.flags.c_contiguous
    if arr.dtype == np.dtype(object):
        if flags:
            raise BlobError("cannot encode a numpy.recarray of dtype object")
        _encode_object_array(w, arr, fortran, depth)
        return
    w.byte(T.TAG_NP_ARRAY)
    w.byte(flags | (T.ARRAY_FORTRAN if fortran else 0))
    write_dtype(w, arr.dtype)
    _write_shape(w, arr.shape)
    if arr.nbytes:
        # As raw items (void of the same size): numpy copies structured items field by field and
        # would leave padding bytes uninitialised; a void copy keeps every byte.
        items = arr.view(np.dtype((np.void, arr.dtype.itemsize)))
        data = items.T if fortran else items if items.flags.c_contiguous else items.copy(order="C")
        w.write(data.reshape(-1).view(np.uint8).data)


def _encode_object_array(w: Writer, arr: np.ndarray[Any, Any], fortran: bool, depth: int) -> None:
    w.byte(T.TAG_NP_OBJECT_ARRAY)
    w.byte(T.ARRAY_FORTRAN if fortran else 0)
    _write_shape(w, arr.shape)
    for item in arr.ravel(order="F" if fortran else "C"):
        encode_value(w, item, depth + 1)


def _write_shape(w: Writer, shape: tuple[int, ...]) -> None:
    w.byte(len(shape))
    for dim in shape:
        w.varint(dim)


def _encode_np_scalar(w: Writer, value: np.generic) -> None:
    w.byte(T.TAG_NP_SCALAR)
    write_dtype(w, value.dtype)
    # np.bytes_(b"") and np.str_("") have unsized dtypes (itemsize 0) but tobytes() gives one NUL.
    w.write(value.tobytes()[: value.dtype.itemsize])


_ENCODERS: dict[type, Encoder] = {
    type(None): lambda w, v, d: w.byte(T.TAG_NONE),
    bool: lambda w, v, d: w.byte(T.TAG_TRUE if v else T.TAG_FALSE),
    int: _encode_int,
    float: _encode_float,
    complex: _encode_complex,
    str: _encode_str,
    bytes: _encode_bytes,
    bytearray: _encode_bytes,
    list: _encode_sequence(T.TAG_LIST),
    tuple: _encode_sequence(T.TAG_TUPLE),
    dict: _encode_dict,
    set: _encode_sequence(T.TAG_SET),
    frozenset: _encode_sequence(T.TAG_FROZENSET),
    dt.date: _encode_date,
    dt.time: _encode_time,
    dt.datetime: _encode_datetime,
    dt.timedelta: _encode_timedelta,
    uuid.UUID: _encode_uuid,
    decimal.Decimal: _encode_decimal,
}
