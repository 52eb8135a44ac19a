"""fetch(format="array"): a numpy structured array with the same values as fetch(), on both backends."""

from __future__ import annotations

import datetime as dt
import decimal
import subprocess
import sys
from collections.abc import Iterator

import numpy as np
import pytest
from runtime_support import open_pipeline

from relflow_gen.runtime import QueryError
from relflow_gen.runtime.pipeline import Pipeline

SRC = """
schema arr

manual Item {
    item_id: int32
    ---
    small: int16
    big: uint64
    ratio: float64
    half: float32
    flag: bool
    label: varchar(16)
    kind: enum("a", "b")
    day: date
    moment: datetime
    price: decimal(6, 2)
    payload: blob
    extra = null: int32
    score = null: float64
}
"""

ROWS = [
    dict(
        item_id=i,
        small=-i,
        big=2**63 + i,
        ratio=i / 3,
        half=0.5 * i,
        flag=i % 2 == 0,
        label=f"item {i}",
        kind="ab"[i % 2],
        day=dt.date(2024, 1, 1 + i),
        moment=dt.datetime(2024, 2, 3, 4, 5, 6, 7000 * i),
        price=decimal.Decimal(f"{i}.25"),
        payload={"n": i, "trace": np.arange(i, dtype=np.int16)},
        extra=None if i % 2 else i,
        score=None if i % 3 == 0 else i * 1.5,
    )
    for i in range(5)
]


@pytest.fixture
def db(db_url: str) -> Iterator[Pipeline]:
    pipeline = open_pipeline(SRC, db_url)
    pipeline.table("Item").insert(ROWS)
    yield pipeline
    pipeline.close()


def test_array_holds_the_values_of_fetch(db: Pipeline) -> None:
    item = db.table("Item")
    arr = item.fetch(order_by="item_id", format="array")
    assert isinstance(arr, np.ndarray) and arr.shape == (len(ROWS),)
    assert arr.dtype.names == item.heading
    kinds = {name: arr.dtype[name].str for name in arr.dtype.names}
    assert kinds["item_id"] == "<i4" and kinds["small"] == "<i2" and kinds["big"] == "<u8"
    assert kinds["ratio"] == "<f8" and kinds["half"] == "<f4" and kinds["flag"] == "|b1"
    assert kinds["day"] == "<M8[D]" and kinds["moment"] == "<M8[us]"
    assert kinds["label"] == kinds["price"] == kinds["payload"] == kinds["extra"] == "|O"
    assert kinds["score"] == "<f8"
    for row, want in zip(arr, ROWS):
        assert row["item_id"] == want["item_id"] and row["small"] == want["small"] and row["big"] == want["big"]
        assert row["ratio"] == want["ratio"] and row["half"] == np.float32(want["half"]) and row["flag"] == want["flag"]
        assert row["label"] == want["label"] and row["kind"] == want["kind"] and row["price"] == want["price"]
        assert row["day"] == np.datetime64(want["day"]) and row["moment"] == np.datetime64(want["moment"])
        assert row["payload"]["n"] == want["payload"]["n"]
        assert np.array_equal(row["payload"]["trace"], want["payload"]["trace"])
        assert row["extra"] == want["extra"]
        assert (np.isnan(row["score"]) and want["score"] is None) or row["score"] == want["score"]


def test_array_of_chosen_attributes_restricted_and_empty(db: Pipeline) -> None:
    item = db.table("Item")
    arr = (item & "item_id >= 3").fetch("item_id", "label", order_by="item_id DESC", format="array")
    assert arr.dtype.names == ("item_id", "label")
    assert arr["item_id"].tolist() == [4, 3] and arr["label"].tolist() == ["item 4", "item 3"]
    empty = (item & "item_id < 0").fetch(format="array")
    assert empty.shape == (0,) and empty.dtype.names == item.heading


def test_array_of_computed_attributes(db: Pipeline) -> None:
    item = db.table("Item")
    arr = item.proj(twice="item_id * 2", share="ratio / 2").fetch(order_by="item_id", format="array")
    assert arr["twice"].tolist() == [2 * r["item_id"] for r in ROWS]
    assert [float(v) for v in arr["share"]] == pytest.approx([r["ratio"] / 2 for r in ROWS])


def test_bad_formats_are_refused(db: Pipeline) -> None:
    item = db.table("Item")
    with pytest.raises(QueryError, match='the formats are "dict" and "array"'):
        item.fetch(format="frame")  # type: ignore[call-overload]
    with pytest.raises(QueryError, match='as_frame=True or format="array"'):
        item.fetch(as_frame=True, format="array")  # type: ignore[call-overload]


def test_numpy_is_imported_only_when_an_array_is_asked_for() -> None:
    code = (
        "import sys\n"
        "from relflow_gen.runtime.query import api\n"
        "assert 'numpy' not in sys.modules, 'numpy loaded by the query layer'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
