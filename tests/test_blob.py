"""The blob codec (relflow_gen/runtime/blob*.py): exact round trips, the documented bytes, and robustness.

Properties (hypothesis): every generated value and array round-trips exactly. Fuzzing: mutated
blobs either decode or raise BlobError, nothing else.
"""

from __future__ import annotations

import collections
import datetime as dt
import decimal
import enum
import math
import random
import re
import struct
import time
import uuid
import warnings
import zlib
from pathlib import Path
from typing import Any

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relflow_gen.core.errors import RelflowError
from relflow_gen.runtime.blob import BlobError, decode, encode
from relflow_gen.runtime.blob import format as blob
from relflow_gen.runtime.blob.decoder import array_data_offset

DOC = Path(__file__).resolve().parents[1] / "docs" / "blob-format.md"
HEADER = b"RFBL\x01\x00"


# ----------------------------------------------------------------------------------- comparison


def dtype_key(d: np.dtype[Any]) -> object:
    """Everything that makes a dtype what it is (== alone ignores byte order of fields, titles ...)."""
    fields = None
    if d.names is not None:
        assert d.fields is not None
        fields = [(n, dtype_key(d.fields[n][0]), d.fields[n][1:]) for n in d.names]
    sub = None if d.subdtype is None else (dtype_key(d.subdtype[0]), d.subdtype[1])
    return (d.str, d.type, d.itemsize, d.isalignedstruct, fields, sub)


def float_bits(x: float) -> bytes:
    return struct.pack("<d", x)


def assert_same(a: object, b: object, path: str = "value") -> None:
    """``b`` is an exact copy of ``a``: same types all the way down, same bits."""
    assert type(a) is type(b), f"{path}: type {type(a)} came back as {type(b)}"
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray)
        assert dtype_key(a.dtype) == dtype_key(b.dtype), f"{path}: dtype {a.dtype!r} != {b.dtype!r}"
        assert a.shape == b.shape, f"{path}: shape {a.shape} != {b.shape}"
        assert not b.flags.writeable, f"{path}: decoded array is writable"
        assert b.flags.aligned, f"{path}: decoded array is not aligned"
        if a.ndim > 1 and a.flags.f_contiguous and not a.flags.c_contiguous:
            assert b.flags.f_contiguous, f"{path}: Fortran order lost"
        else:
            assert b.flags.c_contiguous, f"{path}: not C-contiguous"
        if a.dtype == np.dtype(object):
            for i, (x, y) in enumerate(zip(a.ravel(order="K"), b.ravel(order="K"))):
                assert_same(x, y, f"{path}.flat[{i}]")
        else:
            assert a.tobytes() == b.tobytes(), f"{path}: data differs"
    elif isinstance(a, np.generic):
        assert isinstance(b, np.generic)
        assert dtype_key(a.dtype) == dtype_key(b.dtype), f"{path}: dtype {a.dtype!r} != {b.dtype!r}"
        assert a.tobytes() == b.tobytes(), f"{path}: {a!r} != {b!r}"
    elif isinstance(a, float):
        assert isinstance(b, float) and float_bits(a) == float_bits(b), f"{path}: {a!r} != {b!r}"
    elif isinstance(a, complex):
        assert isinstance(b, complex)
        assert float_bits(a.real) + float_bits(a.imag) == float_bits(b.real) + float_bits(b.imag), path
    elif isinstance(a, decimal.Decimal):
        assert str(a) == str(b), f"{path}: {a!r} != {b!r}"
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), f"{path}: length differs"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, dict):
        assert isinstance(b, dict) and len(a) == len(b), f"{path}: size differs"
        for i, ((ka, va), (kb, vb)) in enumerate(zip(a.items(), b.items())):
            assert_same(ka, kb, f"{path}.keys()[{i}]")
            assert_same(va, vb, f"{path}[{ka!r}]")
    elif isinstance(a, (dt.datetime, dt.time)):
        assert isinstance(b, (dt.datetime, dt.time))
        assert a.replace(tzinfo=None) == b.replace(tzinfo=None) and a.fold == b.fold, f"{path}: {a!r} != {b!r}"
        assert (a.tzinfo is None) == (b.tzinfo is None), path
        if a.tzinfo is not None:
            assert b.tzinfo is not None
            assert a.tzinfo.utcoffset(None) == b.tzinfo.utcoffset(None), path
            assert a.tzinfo.tzname(None) == b.tzinfo.tzname(None), path
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def round_trip(value: object) -> object:
    data = encode(value)
    assert isinstance(data, bytes) and data[:5] in (b"RFBL\x01", b"RFBL\x02", b"RFBL\x03")
    # the lowest version that reads it
    assert (data[4], data[5]) in ((1, blob.CODEC_STORED), (2, blob.CODEC_ZSTD), (3, blob.CODEC_PADDED))
    back = decode(data)
    assert_same(value, back)
    return back


# ----------------------------------------------------------------------------------- explicit cases

NAN_PAYLOAD = struct.unpack("<d", struct.pack("<Q", 0x7FF0_0000_0000_0123))[0]  # a signalling NaN
UTC2 = dt.timezone(dt.timedelta(hours=2))

PYTHON_VALUES = [
    None,
    True,
    False,
    0,
    1,
    -1,
    127,
    128,
    -128,
    -129,
    2**64,
    -(2**200) + 7,
    10**4000,
    0.0,
    -0.0,
    1.5,
    math.inf,
    -math.inf,
    math.nan,
    NAN_PAYLOAD,
    5e-324,
    complex(1, -0.0),
    complex(math.nan, math.inf),
    "",
    "héllo wörld ✓ 𝄞",
    "lone \ud800 surrogate",
    "nul\x00inside",
    b"",
    b"\x00\xff" * 3000,
    bytearray(b"abc"),
    [],
    (),
    {},
    [1, [2, [3, (4, 5)]]],
    (1,),
    {"a": 1, 2: "b", (3, "c"): [None], None: 0, 1.5: 2, frozenset({1}): {}, b"k": True},
    {"z": 1, "a": 2, "m": 3},  # order kept
    {1, 2, 3},
    set(),
    frozenset({"a", "b"}),
    dt.date(1, 1, 1),
    dt.date(9999, 12, 31),
    dt.datetime(2024, 5, 17, 12, 30, 1, 999999),
    dt.datetime(2024, 5, 17, 12, 30, tzinfo=dt.UTC),
    dt.datetime(2024, 5, 17, 12, 30, tzinfo=UTC2),
    dt.datetime(2024, 5, 17, tzinfo=dt.timezone(-dt.timedelta(hours=23, minutes=59, microseconds=1), "far west")),
    dt.datetime(2021, 11, 7, 1, 30, fold=1),
    dt.time(0, 0),
    dt.time(23, 59, 59, 999999, tzinfo=dt.timezone(dt.timedelta(minutes=-90), "X")),
    dt.timedelta(0),
    dt.timedelta(days=-1, microseconds=1),
    dt.timedelta.max,
    dt.timedelta.min,
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
    decimal.Decimal("1.50"),
    decimal.Decimal("-0.000"),
    decimal.Decimal("1E+999999"),
    decimal.Decimal("-Infinity"),
    decimal.Decimal("NaN"),
    decimal.Decimal("-sNaN42"),
    decimal.Decimal("3.14159265358979323846264338327950288419716939937510"),
]


@pytest.mark.parametrize("value", PYTHON_VALUES, ids=lambda v: type(v).__name__)
def test_python_values_round_trip(value: object) -> None:
    round_trip(value)


def _generic_units_allowed() -> bool:
    """numpy 2.5 deprecated the generic datetime unit (``M8`` without ``[unit]``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        try:
            np.datetime64("NaT")
            np.array(["NaT"], dtype="M8")
        except DeprecationWarning:
            return False
    return True


GENERIC_UNITS = _generic_units_allowed()

NUMPY_SCALARS = [
    np.float32(1),
    np.float16(-0.0),
    np.float64(NAN_PAYLOAD),
    np.longdouble("1.1"),
    np.int8(-5),
    np.uint64(2**64 - 1),
    np.bool_(True),
    np.complex64(1 + 2j),
    np.clongdouble(3j),
    np.datetime64("2020-01-01T12:00", "ns"),
    np.datetime64("NaT", "D"),
    *([np.datetime64("NaT")] if GENERIC_UNITS else []),
    np.timedelta64(5, ("s", 25)),
    np.str_("héllo"),
    np.bytes_(b"ab"),
    np.void(b"\x01\x02\x03"),
    np.zeros(1, dtype=[("a", ">i4"), ("b", "U2", (2,))])[0],
    np.rec.array([(1, 2.0)], dtype=[("x", "i2"), ("y", "f4")])[0],
]


@pytest.mark.parametrize("value", NUMPY_SCALARS, ids=lambda v: type(v).__name__)
def test_numpy_scalars_keep_their_type(value: np.generic) -> None:
    round_trip(value)


def test_float32_scalar_stays_float32() -> None:
    back = decode(encode(np.float32(1)))
    assert type(back) is np.float32 and back == 1


ARRAYS = {
    "0-d": np.array(3.5),
    "0-d >c16": np.array(1 - 2j, dtype=">c16"),
    "empty": np.zeros((0,)),
    "empty 2-d": np.zeros((3, 0), dtype=">i8"),
    "empty with huge side": np.zeros((0, 2**40), dtype="u1"),
    ">f8": np.arange(12, dtype=">f8").reshape(3, 4),
    "<u2": np.arange(7, dtype="<u2"),
    "bool": np.array([[True, False], [False, True]]),
    "f2": np.array([np.nan, -0.0, 65504], dtype=np.float16),
    "longdouble": np.array([1.1, -2], dtype=np.longdouble),
    "complex": np.array([1 + 1j, np.nan * 1j], dtype=np.complex64),
    "datetime64": np.array(["2020-01-01", "NaT", "1969-07-20"], dtype="M8[D]"),
    "datetime64 >ns": np.array(["2020-01-01T00:00:00.000000001"], dtype=">M8[ns]"),
    "timedelta64": np.array([1, -2, 3], dtype="m8[100ms]"),
    "U8": np.array(["a", "héllo", ""], dtype="<U8"),
    ">U3": np.array(["abc", "x"], dtype=">U3"),
    "S4": np.array([b"ab", b"\x00\xff\x01", b""], dtype="S4"),
    "V3": np.array([b"\x00\x01\x02"], dtype="V3"),
    "structured": np.zeros(3, dtype=[("a", "<i2"), ("b", ">f8"), ("c", "U3")]),
    "nested structured": np.ones(
        (2, 2), dtype=[("p", [("x", "f4"), ("y", ">i8", (2, 3))]), ("q", "S2"), ("r", "?", (2,))]
    ),
    "aligned struct": np.zeros(2, dtype=np.dtype([("a", "i1"), ("b", "f8")], align=True)),
    "offsets and titles": np.zeros(
        2,
        dtype=np.dtype(
            {
                "names": ["a", "b"],
                "formats": ["<i4", "u1"],
                "offsets": [8, 0],
                "titles": ["Alpha", None],
                "itemsize": 16,
            }
        ),
    ),
    "overlapping fields": np.arange(4, dtype="<u4").view(
        np.dtype({"names": ["whole", "low"], "formats": ["<u4", "<u2"], "offsets": [0, 0], "itemsize": 4})
    ),
    "empty struct": np.zeros(4, dtype=np.dtype([])),
    "Fortran": np.asfortranarray(np.arange(24, dtype=">i4").reshape(2, 3, 4)),
    "object": np.array([1, "two", None, [3], np.arange(2), {"k": (1,)}], dtype=object),
    "object 2-d Fortran": np.asfortranarray(np.array([[1, "a"], [2.5, None]], dtype=object)),
    "object 0-d": np.array(None, dtype=object),
    "object empty": np.empty((0, 3), dtype=object),
    "random 1 MB": np.random.default_rng(1).random(1 << 17),
    "zeros 1 MB": np.zeros((256, 512)),
}
if GENERIC_UNITS:
    ARRAYS["datetime64 generic"] = np.array(["NaT"], dtype="M8")


@pytest.mark.parametrize("name", ARRAYS)
def test_arrays_round_trip(name: str) -> None:
    round_trip(ARRAYS[name])


def test_array_byte_order_kept() -> None:
    back = decode(encode(np.arange(3, dtype=">f8")))
    assert isinstance(back, np.ndarray) and back.dtype.str == ">f8" and back.tolist() == [0.0, 1.0, 2.0]


def test_recarray_round_trip() -> None:
    rec = np.rec.array([(1, 2.0, "a"), (3, 4.0, "b")], dtype=[("x", "i4"), ("y", "f8"), ("z", "U1")])
    back = round_trip(rec)
    assert isinstance(back, np.recarray) and back.x.tolist() == [1, 3]


def test_memmap_comes_back_as_ndarray(tmp_path: Path) -> None:
    mm = np.memmap(tmp_path / "m.dat", dtype=">i2", mode="w+", shape=(5,))
    mm[:] = np.arange(5)
    back = decode(encode(mm))
    assert type(back) is np.ndarray and back.dtype.str == ">i2" and back.tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    "view",
    [
        lambda a: a[::2],
        lambda a: a[:, ::-1],
        lambda a: a.T,
        lambda a: a[1:, 1:3],
        lambda a: np.broadcast_to(a[:1], (5, 4)),
        lambda a: a["f"] if a.dtype.names else a,
    ],
)
def test_non_contiguous_views_are_written_contiguous(view: Any) -> None:
    base = np.arange(20, dtype=">f4").reshape(5, 4)
    v = view(base)
    back = decode(encode(v))
    assert isinstance(back, np.ndarray)
    assert back.dtype == v.dtype and np.array_equal(back, v)
    assert not back.flags.writeable and (back.flags.c_contiguous or back.flags.f_contiguous)


def test_padding_bytes_survive_even_in_strided_views() -> None:
    padded = np.dtype([("a", "i1"), ("b", "<f8")], align=True)  # 7 padding bytes per item
    base = np.frombuffer(bytes(range(128)), dtype=padded)
    for arr in (base, base[::2], base[::-1]):
        back = decode(encode(arr))
        assert isinstance(back, np.ndarray) and back.dtype.isalignedstruct
        assert back.view("V16").tobytes() == arr.view("V16").copy().tobytes()


def test_field_view_of_structured_array() -> None:
    arr = np.zeros(4, dtype=[("a", "i4"), ("b", "f8")])
    arr["b"] = [1, 2, 3, 4]
    back = decode(encode(arr["b"]))  # strided view into the records
    assert isinstance(back, np.ndarray) and back.tolist() == [1, 2, 3, 4]


def test_decoded_arrays_never_alias_a_buffer_the_caller_may_change() -> None:
    arr = np.random.default_rng(0).normal(size=10_000)
    data = bytearray(encode(arr))
    back = decode(data)
    assert isinstance(back, np.ndarray) and not back.flags.writeable and back.flags.aligned
    with pytest.raises(ValueError, match="read-only"):
        back[0] = 99
    data[-8:] = b"\xff" * 8  # the caller reuses its buffer: the array must not change
    assert back[-1] == arr[-1]
    data.extend(b"x")  # and the buffer is not pinned by an export
    frozen = memoryview(bytearray(encode(arr))).toreadonly()  # read-only, yet the bytearray may change
    again = decode(frozen)
    assert isinstance(again, np.ndarray) and not np.shares_memory(again, np.frombuffer(frozen, np.uint8))


@pytest.mark.parametrize("dtype", ["<f8", ">f8", "<c16", "<f4", "<i2", "u1"])
@pytest.mark.parametrize("shape", [(100_000,), (300, 400), (3, 5, 7000)])
def test_a_large_array_read_from_bytes_is_a_view_of_them(dtype: str, shape: tuple[int, ...]) -> None:
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    arr = np.frombuffer(np.random.default_rng(1).bytes(size), dtype).reshape(shape)  # incompressible
    blob = encode(arr)
    assert blob[4:6] == b"\x03\x03"
    back = decode(blob)
    assert isinstance(back, np.ndarray) and back.tobytes() == arr.tobytes() and back.dtype == arr.dtype
    assert np.shares_memory(back, np.frombuffer(blob, np.uint8)), "the data was copied"
    assert back.flags.aligned and not back.flags.writeable
    assert back.ctypes.data % 16 == 0


def test_padding_places_the_data_at_a_multiple_of_16_from_the_blob_start() -> None:
    for n in range(8192, 8192 + 40):
        blob = encode(np.random.default_rng(n).normal(size=n))
        assert blob[:6] == b"RFBL\x03\x03" and blob[6] < 16 and not any(blob[7 : 7 + blob[6]])
        offset = array_data_offset(memoryview(blob)[7 + blob[6] :])
        assert offset is not None and (7 + blob[6] + offset) % 16 == 0


def test_small_arrays_of_a_large_body_read_from_bytes_are_copied() -> None:
    rng = np.random.default_rng(3)
    value = {"big": rng.normal(size=100_000), "small": rng.normal(size=10)}
    blob = encode(value)
    back = decode(blob)
    assert isinstance(back, dict) and not np.shares_memory(back["small"], np.frombuffer(blob, np.uint8))
    assert not back["small"].flags.writeable and np.array_equal(back["small"], value["small"])


def test_small_blobs_and_old_stored_blobs_stay_version_1() -> None:
    small = encode(np.arange(100.0))
    assert small[:6] == b"RFBL\x01\x00"
    big = np.random.default_rng(4).normal(size=20_000)
    padded = encode(big)
    old = b"RFBL\x01\x00" + padded[7 + padded[6] :]  # as releases before version 3 wrote it
    back = decode(old)
    assert isinstance(back, np.ndarray) and np.array_equal(back, big) and back.flags.aligned


@pytest.mark.parametrize(
    ("tail", "message"),
    [
        (b"\x10" + bytes(16) + b"N", "at byte 6: padding length 16 is not below 16"),
        (b"\x02\x00\x01N", "at byte 7: padding bytes are not all zero"),
        (b"\x05\x00N", "at byte 7: padding needs 5 bytes but only 2 remain"),
        (b"", "at byte 6: data ends where padding length was expected"),
    ],
)
def test_malformed_padding_is_refused(tail: bytes, message: str) -> None:
    with pytest.raises(BlobError, match=message):
        decode(b"RFBL\x03\x03" + tail)


def test_the_padded_codec_needs_version_3() -> None:
    with pytest.raises(BlobError, match="codec 3 is not part of blob format version 2"):
        decode(b"RFBL\x02\x03\x00N")


def test_memoryview_input_of_other_formats() -> None:
    data = encode([1, 2, 3])
    padded = data + b"\x00" * (-len(data) % 4)
    assert decode(memoryview(data)) == [1, 2, 3]
    with pytest.raises(BlobError):  # the padding is trailing garbage, and it is reported as such
        decode(memoryview(padded).cast("I"))


def test_tuple_and_list_stay_distinct() -> None:
    back = decode(encode([(1, [2]), [3, (4,)]]))
    assert isinstance(back, list) and back == [(1, [2]), [3, (4,)]]
    assert type(back[0]) is tuple and type(back[1]) is list


# ----------------------------------------------------------------------------------- documented bytes

DOC_EXAMPLES = [
    (None, "52 46 42 4c 01 00 4e"),
    (True, "52 46 42 4c 01 00 54"),
    (0, "52 46 42 4c 01 00 69 00"),
    (300, "52 46 42 4c 01 00 69 02 2c 01"),
    (-1, "52 46 42 4c 01 00 69 01 ff"),
    (1.5, "52 46 42 4c 01 00 66 00 00 00 00 00 00 f8 3f"),
    ("é", "52 46 42 4c 01 00 73 02 c3 a9"),
    (b"ab", "52 46 42 4c 01 00 62 02 61 62"),
    ([1, "a"], "52 46 42 4c 01 00 6c 02 69 01 01 73 01 61"),
    ((None,), "52 46 42 4c 01 00 74 01 4e"),
    ({"x": 2}, "52 46 42 4c 01 00 64 01 73 01 78 69 01 02"),
    (dt.date(2024, 5, 17), "52 46 42 4c 01 00 44 e8 07 05 11"),
    (dt.timedelta(seconds=90), "52 46 42 4c 01 00 52 00 00 00 00 5a 00 00 00 00 00 00 00"),
    (decimal.Decimal("1.50"), "52 46 42 4c 01 00 6d 04 31 2e 35 30"),
    (np.float32(1), "52 46 42 4c 01 00 61 70 03 3c 66 34 00 00 80 3f"),
    (
        dt.datetime(2024, 5, 17, 12, 30, tzinfo=UTC2),
        "52 46 42 4c 01 00 4d e8 07 05 11 0c 1e 00 00 00 00 00 00 01 00 48 27 ad 01 00 00 00",
    ),
    (np.array([1, 2], dtype=">i2"), "52 46 42 4c 01 00 41 00 70 03 3e 69 32 01 02 00 01 00 02"),
    (
        np.array([[1, 2], [3, 4]], dtype="u1", order="F"),
        "52 46 42 4c 01 00 41 01 70 03 7c 75 31 02 02 02 01 03 02 04",
    ),
    (
        np.zeros(2, dtype=[("a", "<i2"), ("b", "u1", (2,))]),
        "52 46 42 4c 01 00 41 00 72 04 00 02 01 61 00 00 70 03 3c 69 32 01 62 02 00 73 01 02 70 03 7c 75 31"
        " 01 02 00 00 00 00 00 00 00 00",
    ),
    (np.array([1, "x"], dtype=object), "52 46 42 4c 01 00 4f 00 01 02 69 01 01 73 01 78"),
]


@pytest.mark.parametrize("value, hex_", DOC_EXAMPLES, ids=[h[18:32] for _, h in DOC_EXAMPLES])
def test_documented_examples(value: object, hex_: str) -> None:
    assert encode(value).hex(" ") == hex_
    assert_same(value, decode(bytes.fromhex(hex_)))
    assert hex_ in documented_hex(), f"docs/blob-format.md does not show the bytes {hex_}"


def documented_hex() -> str:
    """The doc's text, plus each code block's hex bytes (those that start its lines) run together."""
    text = DOC.read_text()
    streams = [text]
    for block in re.findall(r"```\n(.*?)```", text, re.S):
        tokens = []
        for line in block.splitlines():
            match = re.match(r"((?:[0-9a-f]{2} )*[0-9a-f]{2})(?=\s|$)", line)
            if match:
                tokens.append(match.group(1))
        streams.append(" ".join(tokens))
    return "\n".join(streams)


def test_doc_lists_every_tag() -> None:
    doc = DOC.read_text()
    from relflow_gen.runtime.blob import tags as blob_tags

    for name in dir(blob_tags):
        if name.startswith("TAG_"):
            tag = getattr(blob_tags, name)
            assert f"| `{chr(tag)}` | {tag:02x}  |" in doc, f"{name} is not documented"


# ----------------------------------------------------------------------------------- compression


def codec(data: bytes) -> int:
    return data[5]


def test_compressible_payloads_are_compressed() -> None:
    zeros = np.zeros(1 << 20)
    data = encode(zeros)
    assert codec(data) == blob.CODEC_ZSTD and len(data) < zeros.nbytes // 100
    round_trip(zeros)
    smooth = np.arange(1 << 18, dtype=np.int64)  # compresses to ~20 %
    assert codec(encode(smooth)) == blob.CODEC_ZSTD
    round_trip({"a": np.zeros(5000, dtype=np.uint8), "b": "x" * 5000})


def test_incompressible_and_small_payloads_are_stored() -> None:
    noise = np.random.default_rng(0).random(1 << 20)
    data = encode(noise)
    assert codec(data) == blob.CODEC_PADDED and len(data) < noise.nbytes + 64  # stored, data aligned
    assert codec(encode(b"\x00" * 1000)) == blob.CODEC_STORED  # below COMPRESS_MIN_SIZE
    assert codec(encode(np.random.default_rng(1).bytes(5000))) == blob.CODEC_STORED  # small, tried, not worth it


def test_misleading_sample_gives_up_early() -> None:
    """Zeros exactly where the sample looks, noise everywhere else: compression starts, then stops."""
    size = 8 << 20
    body = bytearray(np.random.default_rng(2).bytes(size))
    step = (size - 4096) // 3
    for i in range(4):
        body[i * step : i * step + 4096] = bytes(4096)
    assert blob._sample_compresses([body], size)
    started = time.perf_counter()
    assert blob._compress([body], size) is None
    assert time.perf_counter() - started < 1.0  # about one 1 MiB slice, not 8 MiB


def test_encode_does_not_sample_outside_the_body() -> None:
    chunks: list[bytes | bytearray | memoryview] = [b"a" * 10, bytearray(b"b" * 20000), memoryview(b"c" * 5)]
    assert blob._piece(chunks, 5, 10) == b"aaaaabbbbb"
    assert blob._piece(chunks, 20010 - 3, 8) == b"bbbccccc"


# ----------------------------------------------------------------------------------- encode errors


class Color(enum.IntEnum):
    RED = 1


@pytest.mark.parametrize(
    "value, message",
    [
        (object(), "cannot encode builtins.object"),
        (print, "cannot encode builtins.builtin_function_or_method"),
        (collections.OrderedDict(a=1), "subclass of dict"),
        (collections.defaultdict(list), "subclass of dict"),
        (Color.RED, "subclass of int"),
        (dt.datetime.now(tz=None).astimezone(), None),  # a fixed-offset zone from astimezone(): fine
        (np.ma.masked_array([1, 2], mask=[False, True]), "masked array would lose its mask"),
        (np.array([[1]]).view(np.matrix), "only numpy.ndarray and numpy.recarray"),
        (np.zeros(2, dtype=[("a", "O")]), "object fields"),
        (np.array(["a"], dtype=np.dtypes.StringDType()), "cannot encode numpy dtype"),
        ([1, object()], "cannot encode builtins.object"),
        (np.array([object()], dtype=object), "cannot encode builtins.object"),
        (memoryview(b"x"), "cannot encode builtins.memoryview"),
        (range(3), "cannot encode builtins.range"),
    ],
)
def test_unsupported_values_are_refused(value: object, message: str | None) -> None:
    if message is None:
        round_trip(value)
        return
    with pytest.raises(BlobError, match=re.escape(message)):
        encode(value)


def test_non_fixed_time_zones_are_refused() -> None:
    zoneinfo = pytest.importorskip("zoneinfo")
    try:
        zone = zoneinfo.ZoneInfo("Europe/Paris")
    except zoneinfo.ZoneInfoNotFoundError:
        pytest.skip("no tz database")
    with pytest.raises(BlobError, match="not a fixed offset"):
        encode(dt.datetime(2024, 1, 1, tzinfo=zone))


def test_self_referencing_and_too_deep_values_are_refused() -> None:
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(BlobError, match="nested deeper than 100 levels"):
        encode(loop)
    deep: object = 1
    for _ in range(100):
        deep = [deep]
    round_trip(deep)
    with pytest.raises(BlobError, match="nested deeper"):
        encode([deep])


def test_blob_error_is_a_relflow_error() -> None:
    assert issubclass(BlobError, RelflowError)


# ----------------------------------------------------------------------------------- decode errors


def body(hex_: str) -> bytes:
    return HEADER + bytes.fromhex(hex_.replace(" ", ""))


def zlib_blob(payload: bytes, declared: int | None = None) -> bytes:
    """A version-1 zlib blob, as releases before format version 2 wrote them."""
    size = len(payload) if declared is None else declared
    return b"RFBL\x01\x01" + struct.pack("<Q", size) + zlib.compress(payload)


def zstd_blob(payload: bytes, declared: int | None = None, frame_size: bool = True) -> bytes:
    size = len(payload) if declared is None else declared
    frame = zstandard.ZstdCompressor(write_content_size=frame_size).compress(payload)
    return b"RFBL\x02\x02" + struct.pack("<Q", size) + frame


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "0 bytes are too short for the 6-byte blob header"),
        (b"RFB", "too short"),
        (b"\x80\x04\x95\x00\x00\x00", "not a relflow blob: it starts with b'\\x80\\x04\\x95\\x00'"),  # a pickle
        (b"mYm\x00S\x00", "not a relflow blob"),
        (b"RFBL\x04\x00N", "at byte 4: blob format version 4 is not supported"),
        (b"RFBL\x01\x07N", "at byte 5: unknown codec 7"),
        (b"RFBL\x01\x02N", "at byte 5: codec 2 is not part of blob format version 1"),
        (b"RFBL\x02\x00N", None),  # a stored blob may carry version 2
        (HEADER, "at byte 6: data ends where a value tag was expected"),
        (body("4e 4e"), "at byte 7: 1 unexpected bytes after the value"),
        (body("ff"), "at byte 6: unknown value tag (0xff)"),
        (body("5a"), "unknown value tag 'Z' (0x5a)"),
        (body("69 05 01"), "at byte 7: integer byte length is 5, more than the 1 bytes that remain could hold"),
        (body("73 ff ff ff ff ff ff ff ff 7f"), "at byte 7: byte length of str is 9223372036854775807"),
        (body("6c ff ff ff ff ff ff ff ff ff 02"), "at byte 7: list length is a varint larger than 2**64 - 1"),
        (body("6c ff ff ff ff ff ff ff ff ff ff 01"), "list length is a varint longer than 10 bytes"),
        (body("64 02 69 00"), "at byte 7: dict length is 2, more than the 2 bytes that remain could hold"),
        (body("73 02 c3 28"), "str is not valid UTF-8"),
        (body("64 01 6c 00 4e"), "at byte 8: dict key is unhashable"),
        (body("64 02 69 01 01 4e 54 4e"), "at byte 12: duplicate dict key True"),
        (body("65 02 69 01 01 69 01 01"), "set has duplicate elements"),
        (body("45 01 6c 00"), "frozenset has an unhashable element"),
        (body("44 e8 07 0d 01"), "invalid date (2024, 13, 1): month must be in 1..12"),
        (body("44 e8 07 01"), "date needs 4 bytes but only 3 remain"),
        (body("48 18 00 00 00 00 00 00 00 00"), "invalid time: hour must be in 0..23"),
        (body("48 01 00 00 00 00 00 00 02 00"), "fold must be either 0 or 1"),
        (body("48 01 00 00 00 00 00 00 00 05"), "unknown time zone kind 5"),
        (body("48 01 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 80"), "invalid UTC offset"),
        (body("48 01 00 00 00 00 00 00 00 01 00 a0 72 4e 18 09 00 00"), "invalid UTC offset"),  # +24 h
        (body("52 00 00 00 00 80 51 01 00 00 00 00 00"), "timedelta seconds=86400 microseconds=0 are not normalised"),
        (body("52 00 ca 9a 3b 00 00 00 00 00 00 00 00"), "invalid timedelta"),
        (body("75 00 01 02"), "UUID needs 16 bytes"),
        (body("6d 03 31 2e 35"), None),  # Decimal('1.5') is fine
        (body("6d 08 5f 5f 69 6d 70 6f 72 74"), "'__import' is not a decimal number"),
        (body("6d 04 31 5f 30 30"), "'1_00' is not a decimal number"),
        (body("6d 17 31 45 2b 39 39 39 39 39 39 39 39 39 39 39 39 39 39 39 39 39 39 39 39"), "invalid decimal"),
        # dtypes
        (body("61 70 03 7c 4f 38 00 00 00 00 00 00 00 00"), "'|O8' is not an allowed plain dtype"),
        (body("41 00 70 02 4f 38 01 01 00"), "'O8' is not an allowed plain dtype"),
        (body("41 00 70 03 3d 66 38 01 00"), "'=f8' is not an allowed plain dtype"),
        (body("41 00 70 03 7c 54 38 01 00"), "'|T8' is not an allowed plain dtype"),
        (body("41 00 70 03 3c 69 33 01 00"), "'<i3' is not an allowed plain dtype"),
        (body("41 00 70 04 7c 62 31 20 01 00"), "'|b1 ' is not an allowed plain dtype"),
        (body("41 00 70 04 3c 66 38 00 01 00"), "is not an allowed plain dtype"),
        (body("41 00 70 0b 3c 4d 38 5b 66 6f 6f 62 61 72 5d 00"), "'<M8[foobar]' is not an allowed plain dtype"),
        (body("41 00 70 09 28 27 66 38 27 2c 29 3a 30"), "is not an allowed plain dtype"),
        (body("41 00 58"), "at byte 8: unknown dtype tag 0x58"),
        (body("41 00 73 01 02 70 03 3c 66 38 01 00"), "sub-array dtype (only fields may be sub-arrays)"),
        (body("41 00 73 00 70 03 3c 66 38 01 00"), "sub-array dtype has 0 dimensions"),
        (body("41 00 73 41"), "sub-array dtype has 65 dimensions"),
        (body("41 00 72 04 00 01 01 61 04 00 70 03 3c 69 34 01 00"), "invalid structured dtype"),  # field past end
        (body("41 00 72 08 00 02 01 61 00 00 70 03 3c 69 34 01 61 04 00 70 03 3c 69 34 01 00"), "invalid structured"),
        (body("41 00 72 04 08 00 01 00"), "unknown structured dtype flags 0x08"),
        (body("41 00 72 04 00 01 01 61 00 02 70 03 3c 69 34 01 00"), "field title flag is 2"),
        (body("41 00 72 04 00 ff ff ff ff 0f"), "field count is 4294967295, more than"),
        (body("41 00" + "72 00 00 01 01 61 00 00" * 120 + "70 03 3c 69 34 00"), "dtype nested deeper than 100 levels"),
        # arrays
        (body("41 04 70 03 3c 66 38 00"), "unknown array flags 0x04"),
        (body("41 00 70 03 3c 66 38 41"), "array has 65 dimensions"),
        (body("41 00 70 03 3c 66 38 01 ff ff ff ff ff ff ff ff 0f"), "float64 array needs 9223372036854775800 bytes"),
        (body("41 00 70 03 3c 66 38 02 02 01"), "data of the (2, 1) float64 array needs 16 bytes but only 0 remain"),
        (body("41 00 70 03 3c 66 38 01 02 00 00 00 00 00 00 f0 3f"), "needs 16 bytes but only 8 remain"),
        (body("41 00 70 03 7c 56 30 02 ff ff ff ff ff ff ff ff 7f 03"), "is too large"),
        (body("41 00 70 03 3c 55 30 01 01"), "unsized string dtype '<U0'"),
        (body("41 00 70 03 3c 66 38 03 00 ff ff ff ff ff ff ff ff 7f 02"), "is too large"),
        (body("4f 00 01 ff ff ff ff 0f 4e"), "object array of shape (4294967295,) needs 4294967295 elements"),
        (body("4f 02 01 01 4e"), "unknown array flags 0x02"),
        (body("61 73 01 02 70 03 3c 66 38" + "00" * 16), "a numpy scalar's dtype is a sub-array dtype"),
        (body("61 70 03 3c 55 31 ff ff ff ff"), "invalid <U1 scalar"),
        (body("6c 01" * 150 + "4e"), "value nested deeper than 100 levels"),
        (body("4f 00 01 01" * 150 + "4e"), "value nested deeper than 100 levels"),
        # compression
        (b"RFBL\x01\x01\x05", "decompressed body size needs 8 bytes but only 1 remain"),
        (zlib_blob(b"N", declared=2**40), "at byte 6: declared body size 1099511627776 is impossible"),
        (zlib_blob(b"l\x01" * 5000 + b"N", declared=10), "zlib stream inflates to more than the declared 10 bytes"),
        (zlib_blob(b"NN", declared=5), "zlib stream inflates to 2 bytes, the header declares 5"),
        (zlib_blob(b"N")[:-3], "zlib stream is truncated"),
        (zlib_blob(b"N") + b"junk", "4 unexpected bytes after the zlib stream"),
        (zlib_blob(b"N")[:-1] + b"\x00", "corrupt zlib stream"),
        (b"RFBL\x01\x01" + struct.pack("<Q", 1) + b"not zlib at all", "corrupt zlib stream"),
        (zlib_blob(b"NN"), "at byte 1 of the decompressed body: 1 unexpected bytes after the value"),
        (zlib_blob(b"\x00"), "at byte 0 of the decompressed body: unknown value tag (0x00)"),
        (b"RFBL\x02\x02\x05", "decompressed body size needs 8 bytes but only 1 remain"),
        (zstd_blob(b"N", declared=2**40), "at byte 6: declared body size 1099511627776 is impossible"),
        (zstd_blob(b"l\x01" * 5000 + b"N", declared=10), "the zstd frame declares 10001 bytes, the blob header 10 bytes"),
        (zstd_blob(b"NN", frame_size=False), "the zstd frame declares no size, the blob header 2 bytes"),
        (zstd_blob(b"N" * 100)[:-3], "corrupt zstd frame"),
        (zstd_blob(b"N") + b"junk", "corrupt zstd frame"),
        (b"RFBL\x02\x02" + struct.pack("<Q", 1) + b"not zstd at all", "corrupt zstd frame header"),
        (zstd_blob(b"NN"), "at byte 1 of the decompressed body: 1 unexpected bytes after the value"),
        (zstd_blob(b"\x00"), "at byte 0 of the decompressed body: unknown value tag (0x00)"),
        (zstd_blob(b"N"), None),
    ],
)
def test_malformed_blobs_are_reported(data: bytes, message: str | None) -> None:
    if message is None:
        decode(data)
        return
    with pytest.raises(BlobError, match=re.escape(message)) as info:
        decode(data)
    assert str(info.value).startswith("malformed blob at byte ")


def test_decompression_bomb_is_bounded() -> None:
    bomb = zlib.compress(bytes(50 << 20), 9)  # 50 MB of zeros in ~50 kB
    with pytest.raises(BlobError, match="inflates to more than the declared 1000 bytes"):
        decode(b"RFBL\x01\x01" + struct.pack("<Q", 1000) + bomb)
    bomb = zstandard.ZstdCompressor(level=19).compress(bytes(50 << 20))
    with pytest.raises(BlobError, match="the zstd frame declares 52428800 bytes, the blob header 1000 bytes"):
        decode(b"RFBL\x02\x02" + struct.pack("<Q", 1000) + bomb)


#: blobs written by releases before format version 2 (zlib), byte for byte: they must keep decoding
OLD_BLOBS = [
    (
        zlib_blob(bytes.fromhex("41 00 70 03 3c 66 38 01 04" + " 00" * 8 + " 00" * 6 + " f0 3f" + " 00" * 7 + " 40" + " 00" * 6 + " 08 40")),
        np.arange(4, dtype="<f8"),
    ),
    (bytes.fromhex("52 46 42 4c 01 00 4e"), None),
    (bytes.fromhex("52 46 42 4c 01 00 54"), True),
]


@pytest.mark.parametrize(("data", "value"), OLD_BLOBS, ids=["zlib array", "stored None", "stored True"])
def test_version_1_blobs_still_decode(data: bytes, value: object) -> None:
    assert data[4] == 1
    assert_same(value, decode(data))


def test_blobs_that_version_1_readers_can_read_keep_version_1() -> None:
    assert encode(np.random.default_rng(0).random(1000))[4:6] == b"\x01\x00"  # stored
    assert encode(np.zeros(1000))[4:6] == b"\x02\x02"  # zstd needs version 2


def test_huge_declared_sizes_fail_fast_without_allocating() -> None:
    started = time.perf_counter()
    for data in [
        body("62 ff ff ff ff ff ff ff ff 7f"),  # bytes of 2**63 - 1
        body("41 00 70 03 3c 66 38 02 ff ff ff 0f ff ff ff 0f"),  # a 2**56-element float array
        body("6c ff ff ff ff ff ff ff 7f" + "4e" * 10),
        body("69 ff ff ff ff 0f 00"),  # a 4 GB integer
    ]:
        with pytest.raises(BlobError, match="remain"):
            decode(data)
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize("data", [None, "RFBL\x01\x00N", 42, [1]])
def test_wrong_input_types(data: Any) -> None:
    with pytest.raises(BlobError, match="a blob is bytes, bytearray or memoryview"):
        decode(data)


def test_a_pickle_is_not_executed() -> None:
    import pickle

    class Boom:
        def __reduce__(self) -> tuple[Any, ...]:
            return (exec, ("raise SystemExit('pickle executed')",))

    evil = pickle.dumps(Boom())
    for data in [evil, HEADER + evil, HEADER + b"a" + evil, HEADER + b"A\x00p" + evil]:
        with pytest.raises(BlobError):
            decode(data)


# ----------------------------------------------------------------------------------- properties

FIXED_ZONES = st.builds(
    dt.timezone,
    st.timedeltas(min_value=dt.timedelta(hours=-23, minutes=-59), max_value=dt.timedelta(hours=23, minutes=59)),
) | st.builds(
    dt.timezone,
    st.timedeltas(min_value=dt.timedelta(hours=-23), max_value=dt.timedelta(hours=23)),
    st.text(max_size=5),
)
ALL_TEXT = st.text(st.characters(exclude_categories=()), max_size=20)  # includes lone surrogates

SCALAR_DTYPES = st.one_of(
    hnp.boolean_dtypes(),
    hnp.integer_dtypes(endianness="?"),
    hnp.unsigned_integer_dtypes(endianness="?"),
    hnp.floating_dtypes(endianness="?", sizes=(16, 32, 64)),
    hnp.complex_number_dtypes(endianness="?", sizes=(64, 128)),
    hnp.datetime64_dtypes(endianness="?"),
    hnp.timedelta64_dtypes(endianness="?"),
    hnp.byte_string_dtypes(endianness="?", min_len=1, max_len=8),
    hnp.unicode_string_dtypes(endianness="?", min_len=1, max_len=8),
    st.just(np.dtype(np.longdouble)),
)
STRUCT_DTYPES = hnp.nested_dtypes(
    subtype_strategy=hnp.array_dtypes(SCALAR_DTYPES, min_size=1, max_size=3, allow_subarrays=True),
    max_leaves=5,
)
ANY_DTYPE = SCALAR_DTYPES | hnp.array_dtypes(SCALAR_DTYPES, max_size=4, allow_subarrays=True) | STRUCT_DTYPES
SHAPES = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4)


@st.composite
def arrays(draw: st.DrawFn) -> np.ndarray[Any, Any]:
    dtype = draw(ANY_DTYPE)
    if draw(st.booleans()):  # well-formed values from hypothesis (NaNs, NaT, extremes ...)
        arr = draw(hnp.arrays(dtype, SHAPES))
    else:  # arbitrary bit patterns: NaN payloads, bools that are not 0/1, invalid code points ...
        shape = draw(SHAPES)
        size = math.prod(shape) * dtype.itemsize
        arr = np.frombuffer(draw(st.binary(min_size=size, max_size=size)), dtype=np.uint8).view(dtype)
        arr = arr.reshape(shape).copy() if dtype.itemsize else np.empty(shape, dtype)
    layout = draw(st.sampled_from(["C", "F", "strided", "reversed"]))
    if layout == "F":
        arr = np.asfortranarray(arr)
    elif layout == "strided" and arr.ndim:
        arr = arr[::2]
    elif layout == "reversed" and arr.ndim:
        arr = arr[::-1]
    return arr


PY_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**300), max_value=2**300),
    st.floats(),
    st.builds(lambda b: struct.unpack("<d", b)[0], st.binary(min_size=8, max_size=8)),  # any bit pattern
    st.complex_numbers(),
    ALL_TEXT,
    st.binary(max_size=20),
    st.binary(max_size=20).map(bytearray),
    st.dates(),
    st.datetimes(timezones=st.none() | FIXED_ZONES),
    st.datetimes().map(lambda d: d.replace(fold=1)),
    st.times(timezones=st.none() | FIXED_ZONES),
    st.timedeltas(),
    st.uuids(),
    st.decimals(),
    SCALAR_DTYPES.flatmap(hnp.from_dtype),
)
HASHABLE = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        ALL_TEXT,
        st.binary(max_size=8),
        st.dates(),
        st.uuids(),
        st.decimals(allow_nan=False),
    ),
    lambda children: st.tuples(children, children) | st.frozensets(st.integers() | st.text(max_size=3), max_size=3),
    max_leaves=4,
)
VALUES = st.recursive(
    PY_SCALARS | arrays(),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(HASHABLE, children, max_size=4),
        st.sets(st.integers() | st.text(max_size=4) | st.tuples(st.integers()), max_size=4),
        st.frozensets(st.integers() | st.binary(max_size=3), max_size=4),
        st.lists(children, min_size=1, max_size=4).map(lambda xs: _object_array(xs)),
    ),
    max_leaves=12,
)


def _object_array(items: list[object]) -> np.ndarray[Any, Any]:
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        out[i] = item
    return out


PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@PROPERTY_SETTINGS
@given(arrays())
def test_property_arrays_round_trip(arr: np.ndarray[Any, Any]) -> None:
    round_trip(arr)


@PROPERTY_SETTINGS
@given(SCALAR_DTYPES.flatmap(hnp.from_dtype) | STRUCT_DTYPES.flatmap(lambda d: hnp.arrays(d, ())).map(lambda a: a[()]))
def test_property_numpy_scalars_round_trip(value: np.generic) -> None:
    round_trip(value)


@PROPERTY_SETTINGS
@given(VALUES)
def test_property_nested_values_round_trip(value: object) -> None:
    round_trip(value)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_property_arbitrary_bodies_decode_or_raise_blob_error(data: bytes) -> None:
    for blob_bytes in (HEADER + data, zlib_blob(data), zstd_blob(data)):
        try:
            decode(blob_bytes)
        except BlobError:
            pass


# ----------------------------------------------------------------------------------- fuzzing


def _corpus() -> list[bytes]:
    """Valid bodies (without header) covering every tag, dtype kind and flag."""
    values: list[object] = [
        PYTHON_VALUES[:40],
        PYTHON_VALUES[40:],
        {i: v for i, v in enumerate(NUMPY_SCALARS)},
        [ARRAYS[k] for k in ARRAYS if "MB" not in k],
        np.rec.array([(1, 2.0)], dtype=[("x", "i4"), ("y", "f8")]),
        {"deep": [[[[(1, {2: frozenset({3})})]]]], "set": {1, "a"}},
    ]
    values += [ARRAYS[k] for k in ARRAYS if "MB" not in k]
    values += NUMPY_SCALARS + PYTHON_VALUES[:: len(PYTHON_VALUES) // 10]
    out = []
    for v in values:
        data = encode(v)
        if data[5] == blob.CODEC_ZSTD:
            data = HEADER + zstandard.ZstdDecompressor().decompress(data[14:])
        out.append(data[len(HEADER) :])
    return out


def _mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        op = rng.randrange(7)
        pos = rng.randrange(len(b) + 1)
        if op == 0 and b:  # flip bits
            b[min(pos, len(b) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1 and b:  # random byte
            b[min(pos, len(b) - 1)] = rng.randrange(256)
        elif op == 2:  # truncate
            del b[pos:]
        elif op == 3:  # extend
            b.extend(rng.randbytes(rng.randrange(1, 9)))
        elif op == 4:  # insert
            b[pos:pos] = rng.randbytes(rng.randrange(1, 4))
        elif op == 5:  # delete a slice
            del b[pos : pos + rng.randrange(1, 8)]
        elif b:  # interesting values: huge varints, 0xff runs
            b[pos:pos] = rng.choice([b"\xff" * 9 + b"\x7f", b"\x80" * 10, b"\x00", b"\xff\xff\xff\xff\x0f"])
    return bytes(b)


def test_fuzz_mutated_blobs_decode_or_raise_blob_error() -> None:
    rng = random.Random(20240517)
    corpus = _corpus()
    started = time.perf_counter()
    cases = outcomes = 0
    while cases < 6000 and time.perf_counter() - started < 12:
        body_ = _mutate(rng, rng.choice(corpus))
        kind = rng.randrange(10)
        if kind < 7:
            data = HEADER + body_
        elif kind < 9:  # a valid zlib wrapper around a mutated body reaches deep parsing too
            data = zlib_blob(body_)
        else:  # mutate the whole compressed blob (header, size, stream)
            data = _mutate(rng, zlib_blob(rng.choice(corpus)))
        try:
            decode(data)
            outcomes += 1
        except BlobError as exc:
            assert str(exc).startswith("malformed blob at byte "), str(exc)
        cases += 1
    assert cases >= 2000, f"only {cases} fuzz cases ran in the time budget"
    assert 0 < outcomes < cases  # some mutations still decode, most do not
