"""Property tests: every attribute type of relflow_gen/types.py round-trips insert -> fetch
on SQLite and on the throwaway MariaDB, with the same Python values on both.

Each case is a table ``Probe { id: int32 --- v: <type>, n = null: <type> }``; hypothesis draws a batch
of values (the range limits are always in it), inserts them in one call and compares what
fetch() returns.  The deliberate normalisations (docs/runtime.md, "Types and values") are
the ``expect`` functions: char drops trailing spaces, float32 rounds to float32, decimals come
back with the column's scale, time/datetime(fsp < 6) truncate the microseconds, -0.0 is 0.0.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from runtime_support import open_pipeline

from relflow_gen.core.types import TYPES
from relflow_gen.runtime.engine.codec import TIMESTAMP_MAX, TIMESTAMP_MIN

settings.load_profile("runtime")


@dataclass(frozen=True)
class Case:
    spelling: str  # the .rf type
    values: st.SearchStrategy[Any]
    limits: tuple[Any, ...] = ()  # always inserted
    expect: Callable[[Any], Any] = lambda v: v  # the value fetch() gives back


def _same(a: Any, b: Any) -> bool:
    """Equal values of the same Python type (arrays: same dtype, shape and bits)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and a.tobytes() == b.tobytes()
        )
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, decimal.Decimal):
        return str(a) == str(b)  # same digits and scale
    return bool(a == b)


def _ints(name: str) -> Case:
    lo, hi = TYPES[name].int_range or (0, 0)
    return Case(name, st.integers(lo, hi), (lo, hi, 0, -1 if lo < 0 else 1))


def _f32(v: float) -> float:
    return float(np.float32(v))


F32_MAX = float(np.finfo(np.float32).max)


def _decimal(p: int, s: int) -> Case:
    with decimal.localcontext(decimal.Context(prec=100)):
        limit = decimal.Decimal(10) ** (p - s) - decimal.Decimal(1).scaleb(-s)
        quantum = decimal.Decimal(1).scaleb(-s)
        values = st.decimals(min_value=-limit, max_value=limit, places=s, allow_nan=False, allow_infinity=False)
        return Case(
            f"decimal({p}, {s})",
            values,
            (limit, -limit, decimal.Decimal(0), quantum, -quantum),
            lambda v: v.quantize(quantum, context=decimal.Context(prec=100)),
        )


TEXT = st.characters(blacklist_categories=["Cs"])  # every code point but lone surrogates

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(TEXT, max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(TEXT, max_size=8), inner, max_size=4),
    max_leaves=12,
)

ARRAYS = hnp.arrays(
    dtype=st.sampled_from(["<f8", ">f8", "<f4", "<i8", ">i4", "<u2", "u1", "?", "<c16", "<M8[us]"]).map(np.dtype),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5),
)

BLOBS = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats() | st.text(TEXT, max_size=10)
    | st.binary(max_size=10) | ARRAYS,
    lambda inner: st.lists(inner, max_size=3)
    | st.tuples(inner, inner)
    | st.dictionaries(st.text(TEXT, max_size=5), inner, max_size=3),
    max_leaves=8,
).filter(lambda v: v is not None)  # None is a blob value too, but the nullable column stores NULL for it

ENUM_VALUES = ("a", "it's", "naïve", "b c", "Z")

CASES: dict[str, Case] = {
    **{name: _ints(name) for name in ("int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64")},
    "year": Case("year", st.integers(1901, 2155), (1901, 2155, 2024)),
    "float64": Case(
        "float64",
        st.floats(allow_nan=False, allow_infinity=False),
        (1.7976931348623157e308, -1.7976931348623157e308, 5e-324, 2.2250738585072014e-308, 0.1, 1 / 3),
        lambda v: v + 0.0,  # -0.0 comes back as 0.0
    ),
    "float32": Case(
        "float32",
        st.floats(-F32_MAX, F32_MAX, allow_nan=False) | st.floats(width=32, allow_nan=False, allow_infinity=False),
        (F32_MAX, -F32_MAX, 1.1, 1e-45, 0.1),
        lambda v: _f32(v) + 0.0,
    ),
    "bool": Case("bool", st.booleans(), (True, False)),
    "decimal(5,2)": _decimal(5, 2),
    "decimal(15,4)": _decimal(15, 4),
    "decimal(20,5)": _decimal(20, 5),
    "decimal(65,30)": _decimal(65, 30),
    "decimal(10,0)": _decimal(10, 0),
    "char(4)": Case("char(4)", st.text(TEXT, max_size=4), ("", "    ", "ab  ", "ñ🙂'\\"), lambda v: v.rstrip(" ")),
    "varchar(12)": Case("varchar(12)", st.text(TEXT, max_size=12), ("", " lead trail ", "🙂" * 12, "a'b\"c\\d%s\x00")),
    "text": Case("text", st.text(TEXT, max_size=3000), ("", "x" * 65535, "é" * 32767, "line\nbreak\r\ttab")),
    "enum": Case('enum("a", "it\'s", "naïve", "b c", "Z")', st.sampled_from(ENUM_VALUES), ENUM_VALUES),
    "date": Case("date", st.dates(), (dt.date(1, 1, 1), dt.date(9999, 12, 31), dt.date(2000, 2, 29))),
    "time": Case("time", st.times(), (dt.time(0), dt.time(23, 59, 59, 999999), dt.time(12, 0, 0, 1))),
    "time(0)": Case("time(0)", st.times(), (dt.time(23, 59, 59, 999999),), lambda v: v.replace(microsecond=0)),
    "time(3)": Case(
        "time(3)", st.times(), (dt.time(1, 2, 3, 456789),), lambda v: v.replace(microsecond=v.microsecond // 1000 * 1000)
    ),
    "datetime": Case(
        "datetime",
        st.datetimes(),
        (dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31, 23, 59, 59, 999999), dt.datetime(2024, 2, 29, 12, 0, 0, 1)),
    ),
    "datetime(0)": Case(
        "datetime(0)", st.datetimes(), (dt.datetime(2020, 1, 1, 0, 0, 0, 999999),), lambda v: v.replace(microsecond=0)
    ),
    "timestamp": Case(
        "timestamp",
        st.datetimes(min_value=TIMESTAMP_MIN, max_value=TIMESTAMP_MAX),
        (TIMESTAMP_MIN, TIMESTAMP_MAX, dt.datetime(2000, 1, 1, 0, 0, 0, 1)),
    ),
    "uuid": Case("uuid", st.uuids(), (uuid.UUID(int=0), uuid.UUID(int=2**128 - 1))),
    "json": Case(
        "json", JSON.filter(lambda v: v is not None), ({"a": [1, 2.5, None, True, "é"]}, [], {}, "text", 0, 2**63 - 1)
    ),
    "bytes": Case("bytes", st.binary(max_size=2000), (b"", b"\x00" * 10, bytes(range(256)))),
    "blob": Case(
        "blob",
        BLOBS,
        (np.arange(12.0).reshape(3, 4), np.zeros((0, 3), dtype="<i2"), {"nested": [1, (2.5, "x")], "b": b"\x00"}),
    ),
}


def test_every_type_has_a_case() -> None:
    covered = {c.spelling.split("(")[0] for c in CASES.values()}
    # files and store values (attach, blob@NAME ...) round-trip in tests/test_stores.py, on both store backends
    assert covered == {name for name, info in TYPES.items() if info.kind not in ("attach", "external")}


def _source(case_id: str, spelling: str) -> str:
    return f"""
schema types{list(CASES).index(case_id)}

manual Probe {{
    id: int32
    ---
    v: {spelling}
    n = null: {spelling}
}}
"""


@pytest.mark.parametrize("case_id", list(CASES))
def test_round_trip(db_url: str, case_id: str) -> None:
    case = CASES[case_id]
    db = open_pipeline(_source(case_id, case.spelling), db_url)
    table = db.table("Probe")

    @given(values=st.lists(case.values, max_size=8), nulls=st.lists(st.booleans(), max_size=8))
    def check(values: list[Any], nulls: list[bool]) -> None:
        batch = list(case.limits) + values
        rows = [
            {"id": i, "v": v, "n": None if i < len(nulls) and nulls[i] else v} for i, v in enumerate(batch)
        ]
        table.delete_quick()
        table.insert(rows)
        got = table.fetch(order_by="id")
        assert [r["id"] for r in got] == list(range(len(batch)))
        for sent, back in zip(rows, got):
            for attr in ("v", "n"):
                want = None if sent[attr] is None else case.expect(sent[attr])
                assert _same(want, back[attr]), (attr, sent[attr], want, back[attr])
        # equality restrictions find the value again (not for json/blob: they cannot be restricted)
        if case_id not in ("json", "blob", "float32", "float64") and rows:
            first = rows[-1]
            assert len(table & {"v": first["v"]}) >= 1

    check()
    db.close()


def test_out_of_range_values_are_refused_on_every_backend(db_url: str) -> None:
    from relflow_gen.runtime import InsertError

    for case_id, bad in (
        ("uint64", 2**64),
        ("int64", -(2**63) - 1),
        ("uint8", -1),
        ("decimal(5,2)", decimal.Decimal("1000.00")),
        ("decimal(5,2)", decimal.Decimal("1.001")),
        ("float32", 1e39),
        ("char(4)", "abcde"),
        ("timestamp", dt.datetime(2038, 1, 19, 3, 14, 8)),
        ("json", float("nan")),
        ("json", {"k": "\ud800"}),
        ("blob", object()),
        ("text", "x" * 65536),  # MySQL's TEXT holds 65 535 bytes: the limit applies on SQLite too
        ("text", "é" * 32768),
        ("varchar(12)", "lone \udc00"),
    ):
        db = open_pipeline(_source(case_id, CASES[case_id].spelling), db_url)
        with pytest.raises(InsertError, match="attribute `v`"):
            db.table("Probe").insert1({"id": 1, "v": bad})
        db.close()


def test_uint64_above_int64_sorts_as_unsigned(db_url: str) -> None:
    db = open_pipeline(_source("uint64", "uint64"), db_url)
    table = db.table("Probe")
    values = [0, 1, 2**63 - 1, 2**63, 2**64 - 1, 12345]
    table.insert([{"id": i, "v": v} for i, v in enumerate(values)])
    assert [r["v"] for r in table.fetch(order_by="v")] == sorted(values)
    assert [r["v"] for r in table.fetch(order_by="v DESC")] == sorted(values, reverse=True)
    assert (table & {"v": 2**64 - 1}).fetch1()["id"] == 4
    db.close()


def test_wide_decimals_are_exact_and_sort_numerically(db_url: str) -> None:
    db = open_pipeline(_source("decimal(20,5)", "decimal(20,5)"), db_url)
    table = db.table("Probe")
    values = [decimal.Decimal(x) for x in ("123456789012345.12345", "-2.00000", "10.00001", "9.99999")]
    table.insert([{"id": i, "v": v} for i, v in enumerate(values)])
    assert [r["v"] for r in table.fetch(order_by="v")] == sorted(values)
    assert (table & {"v": values[0]}).fetch1()["id"] == 0
    db.close()
