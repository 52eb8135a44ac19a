"""blob@ values are hashed and written as the encoder's pieces, without joining them
(relflow_gen/runtime/blob/format.py encode_parts, Store.put_bytes)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from relflow_gen.runtime import blob
from relflow_gen.runtime.stores.config import StoreConfig
from relflow_gen.runtime.stores.errors import StoreError
from relflow_gen.runtime.stores.store import Store

VALUES = {
    "random array": np.random.default_rng(3).random(1 << 16),
    "compressible array": np.zeros((256, 64)),
    "Fortran array": np.asfortranarray(np.arange(24.0).reshape(4, 6)),
    "small dict": {"a": [1, 2.5, "x"]},
    "empty array": np.zeros(0),
}


@pytest.mark.parametrize("name", VALUES)
def test_the_pieces_are_the_blob(name: str) -> None:
    value = VALUES[name]
    joined = b"".join(blob.encode_parts(value))
    assert joined == blob.encode(value)
    decoded = blob.decode(joined)
    if isinstance(value, np.ndarray):
        np.testing.assert_array_equal(decoded, value)
    else:
        assert decoded == value


def test_put_from_pieces_stores_the_blob_under_its_hash(tmp_path: Path) -> None:
    store = Store(StoreConfig("raw", f"file://{tmp_path}"))
    value = VALUES["random array"]
    data = blob.encode(value)
    rel, sha = store.put_bytes("s", blob.encode_parts(value))
    assert sha == hashlib.sha256(data).hexdigest()
    assert (tmp_path / rel).read_bytes() == data
    assert store.put_bytes("s", data) == (rel, sha)  # the same object, stored once


def test_a_value_changed_before_a_collected_object_is_rewritten_is_an_error(tmp_path: Path) -> None:
    store = Store(StoreConfig("raw", f"file://{tmp_path}"))
    value = np.random.default_rng(4).random(1 << 16)
    parts = blob.encode_parts(value)
    rel, _ = store.put_bytes("s", parts)
    (tmp_path / rel).unlink()  # a racing gc took it before the commit was confirmed
    value[0] += 1  # ... and the inserted array was changed meanwhile
    with pytest.raises(StoreError, match="value inserted has changed"):
        store.ensure(rel, parts)
    assert not (tmp_path / rel).exists()


def test_an_unchanged_value_is_written_again_when_collected(tmp_path: Path) -> None:
    store = Store(StoreConfig("raw", f"file://{tmp_path}"))
    value = np.random.default_rng(5).random(1 << 16)
    parts = blob.encode_parts(value)
    rel, _ = store.put_bytes("s", parts)
    (tmp_path / rel).unlink()
    store.ensure(rel, parts)
    assert (tmp_path / rel).read_bytes() == blob.encode(value)
