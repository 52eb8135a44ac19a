"""gc never removes an object a row refers to, with inserts and deletes running at the same time.

A property test: hypothesis draws sequences of inserts (values from a small pool,
so objects are shared, orphaned and written again) and deletes; a second
connection runs them while gc, with no grace period at all (the hardest case),
runs in a loop on the first.  Afterwards every row's object is present and intact.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from runtime_support import open_pipeline

SRC = """schema race

manual Item {
    item_id: int32
    ---
    value: blob@raw
    file = null: attach@raw
}
"""

ops = st.lists(
    st.one_of(
        st.tuples(st.just("insert"), st.integers(0, 15), st.integers(0, 3)),
        st.tuples(st.just("delete"), st.integers(0, 15), st.just(0)),
    ),
    min_size=10,
    max_size=40,
)


@settings(max_examples=6, deadline=None)
@given(sequence=ops)
def test_gc_never_collects_a_referenced_object(tmp_path_factory: Any, sequence: list[tuple[str, int, int]]) -> None:
    tmp = tmp_path_factory.mktemp("race")
    files = []
    for v in range(4):
        f = tmp / f"f{v}.bin"
        f.write_bytes(bytes([v]) * 50_000)
        files.append(f)
    spec = {"raw": (tmp / "store").as_uri()}
    url = f"sqlite:///{tmp / 'race.db'}"
    db = open_pipeline(SRC, url, stores=spec)
    other = open_pipeline(SRC, url, stores=spec, declare=False)
    done = threading.Event()
    errors: list[BaseException] = []

    def mutate() -> None:
        try:
            items = other.table("Item")
            for op, item, v in sequence:
                if op == "insert":
                    row = {"item_id": item, "value": np.full(1000, v), "file": files[v]}
                    items.insert1(row, skip_duplicates=True)
                else:
                    (items & {"item_id": item}).delete_quick()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            done.set()

    worker = threading.Thread(target=mutate)
    worker.start()
    rounds = 0
    while not done.is_set() or rounds < 2:
        db.gc_stores(grace_seconds=0)
        rounds += 1
    worker.join()
    assert not errors, errors
    report = db.verify_stores()
    assert report.problems == [], [p.message for p in report.problems]
    assert report.checked == 2 * len(db.table("Item"))
    other.close()
    db.close()
