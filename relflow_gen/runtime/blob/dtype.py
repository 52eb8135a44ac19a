"""Safe, exact binary descriptions of numpy dtypes for the blob codec.

A dtype is written as a small tagged tree (``docs/blob-format.md``, "dtype descriptions"):

* ``p`` plain: the dtype's ``.str`` (``"<f8"``, ``">i4"``, ``"|S4"``, ``"<U8"``, ``"<M8[ns]"``);
* ``s`` sub-array (only as a field): shape, then the element dtype;
* ``r`` structured: itemsize, flags (aligned, ``numpy.record``), then each field's name,
  offset, optional title and dtype.

Decoding never evaluates anything: a plain description must match a strict pattern, name an
allowed kind (no objects, no pointers) and be canonical (``np.dtype(s).str == s``); structured
dtypes are rebuilt from explicit names, formats, offsets and itemsize, and numpy checks them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from relflow_gen.runtime.blob.io import MAX_DEPTH, BlobError, Reader, Writer

DType = np.dtype[Any]

#: Kinds whose values are plain bytes: bool, ints, floats, complex, datetime/timedelta,
#: fixed-width bytes/unicode, raw void. Excluded: ``O`` (pointers to objects), ``T`` (numpy 2
#: variable-width strings, also pointers) and anything newer.
PLAIN_KINDS = frozenset("biufcmMSUV")
_PLAIN_RE = re.compile(r"[<>|][biufcmMSUV][0-9]{1,10}(?:\[[0-9]{0,10}[a-zA-Z]{1,7}\])?\Z", re.ASCII)
_MAX_NDIM = 64  # numpy 2's limit on dimensions

TAG_PLAIN = ord("p")
TAG_SUBARRAY = ord("s")
TAG_STRUCT = ord("r")
FLAG_ALIGNED = 0x01
FLAG_RECORD = 0x02


@functools.lru_cache(maxsize=512)
def _plain(text: str) -> DType | None:
    """The plain dtype spelled ``text``, or None when the spelling is not a canonical allowed one."""
    if not _PLAIN_RE.match(text):
        return None
    try:
        dtype = np.dtype(text)
    except (TypeError, ValueError, OverflowError):
        return None
    if dtype.str != text or dtype.names is not None or dtype.subdtype is not None:
        return None
    return dtype


def write_dtype(w: Writer, dtype: DType, depth: int = 0) -> None:
    """Write the description of ``dtype``; BlobError when it cannot be stored exactly and safely."""
    if depth > MAX_DEPTH:
        raise BlobError(f"dtype nested deeper than {MAX_DEPTH} levels")
    if dtype.names is not None:
        _write_struct(w, dtype, depth)
    elif dtype.subdtype is not None:
        base, shape = dtype.subdtype
        w.byte(TAG_SUBARRAY)
        w.byte(len(shape))
        for dim in shape:
            w.varint(dim)
        write_dtype(w, base, depth + 1)
    else:
        text = dtype.str
        plain = _plain(text) if dtype.kind in PLAIN_KINDS else None
        if plain is None or plain.type is not dtype.type:
            raise BlobError(
                f"cannot encode numpy dtype {dtype!r}: only bool, integer, float, complex, datetime64, "
                "timedelta64, fixed-width bytes/str, void and structured dtypes made of them are supported"
            )
        w.byte(TAG_PLAIN)
        w.text(text)


def _write_struct(w: Writer, dtype: DType, depth: int) -> None:
    if dtype.hasobject:
        raise BlobError(f"cannot encode structured dtype {dtype!r}: it has object fields")
    fields = dtype.fields
    names = dtype.names
    assert fields is not None and names is not None
    flags = (FLAG_ALIGNED if dtype.isalignedstruct else 0) | (FLAG_RECORD if dtype.type is np.record else 0)
    w.byte(TAG_STRUCT)
    w.varint(dtype.itemsize)
    w.byte(flags)
    w.varint(len(names))
    for name in names:
        field = fields[name]
        w.text(name)
        w.varint(field[1])
        if len(field) > 2:
            title = field[2]
            if not isinstance(title, str):
                raise BlobError(f"cannot encode dtype {dtype!r}: field title {title!r} is not a str")
            w.byte(1)
            w.text(title)
        else:
            w.byte(0)
        write_dtype(w, field[0], depth + 1)


def read_dtype(r: Reader, depth: int = 0) -> DType:
    start = r.pos
    if depth > MAX_DEPTH:
        r.fail(f"dtype nested deeper than {MAX_DEPTH} levels")
    tag = r.byte("a dtype tag")
    if tag == TAG_PLAIN:
        text = r.text("plain dtype string")
        plain = _plain(text)
        if plain is None:
            r.fail(f"{text!r} is not an allowed plain dtype (expected e.g. '<f8', '|b1', '<U8', '<M8[ns]')", start)
        return plain
    if tag == TAG_SUBARRAY:
        ndim = r.byte("sub-array dimension count")
        if not 1 <= ndim <= _MAX_NDIM:
            r.fail(f"sub-array dtype has {ndim} dimensions (allowed: 1 to {_MAX_NDIM})", start)
        shape = tuple(r.varint("sub-array dimension") for _ in range(ndim))
        base = read_dtype(r, depth + 1)
        if base.subdtype is not None:
            r.fail("sub-array dtype of a sub-array dtype (numpy would merge them)", start)
        return _build(r, start, "sub-array", lambda: np.dtype((base, shape)))
    if tag == TAG_STRUCT:
        return _read_struct(r, start, depth)
    r.fail(f"unknown dtype tag 0x{tag:02x}", start)


def _read_struct(r: Reader, start: int, depth: int) -> DType:
    itemsize = r.varint("structured dtype itemsize")
    flags = r.byte("structured dtype flags")
    if flags & ~(FLAG_ALIGNED | FLAG_RECORD):
        r.fail(f"unknown structured dtype flags 0x{flags:02x}", start)
    count = r.length("field count", unit=4)  # name length, offset, title flag, dtype tag
    names: list[str] = []
    offsets: list[int] = []
    titles: list[str | None] = []
    formats: list[DType] = []
    for _ in range(count):
        names.append(r.text("field name"))
        offsets.append(r.varint("field offset"))
        has_title = r.byte("field title flag")
        if has_title > 1:
            r.fail(f"field title flag is {has_title}, expected 0 or 1", r.pos - 1)
        titles.append(r.text("field title") if has_title else None)
        formats.append(read_dtype(r, depth + 1))
    spec: dict[str, object] = {
        "names": names,
        "formats": formats,
        "offsets": offsets,
        "titles": titles,
        "itemsize": itemsize,
    }
    aligned = bool(flags & FLAG_ALIGNED)
    dtype = _build(r, start, "structured", lambda: np.dtype(spec, align=aligned))  # type: ignore[call-overload]
    if flags & FLAG_RECORD:
        dtype = np.dtype((np.record, dtype))
    return dtype


def _build(r: Reader, start: int, what: str, make: Callable[[], DType]) -> DType:
    try:
        return make()
    except (TypeError, ValueError, KeyError, IndexError, OverflowError, RuntimeError) as exc:
        r.fail(f"invalid {what} dtype: {exc}", start)
