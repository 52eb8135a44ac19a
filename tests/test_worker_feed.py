"""The key feed of a populate task on an executor (relflow_gen.runtime.populate.cluster.StealingFeed),
and populate(executor=...) with a plain concurrent.futures executor, on SQLite and MariaDB."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from runtime_fixtures import pipeline_from

from relflow_gen.runtime import Maker
from relflow_gen.runtime.populate.cluster import StealingFeed

WORK = """
schema fd

manual Src {
    src_id: int32
}

manual MakeCall "one row per make() call: a second call for a key fails on its primary key" {
    src_id: int32
}

computed Dst {
    -> Src
    ---
    doubled: int32
}
"""


def test_own_share_first_then_the_others_without_the_keys_made_meanwhile() -> None:
    keys = [{"k": i} for i in range(10)]
    made = {5, 6, 8}
    asked: list[list[int]] = []

    def existing(chunk: Sequence[Mapping[str, Any]]) -> list[bool]:
        asked.append([int(k["k"]) for k in chunk])
        return [k["k"] in made for k in chunk]

    feed = StealingFeed(keys, own=4, existing=existing, block=3)
    assert feed.take(3) == [{"k": 0}, {"k": 1}, {"k": 2}]
    assert asked == []  # its own share is not checked
    assert feed.take(3) == [{"k": 3}, {"k": 4}, {"k": 7}]  # then the others': 5, 6 and 8 are made
    assert asked == [[4, 5, 6], [7, 8, 9]]
    feed.give_back([{"k": 1}])  # released during a long make
    assert feed.take(3) == [{"k": 1}, {"k": 9}]
    assert feed.take(3) == []
    assert asked == [[4, 5, 6], [7, 8, 9]]  # one query per block


class MakeDst(Maker[Any, Any]):
    __table__ = "fd.Dst"

    def make(self, key: Any) -> None:
        self.db.MakeCall.insert1({"src_id": key["src_id"]})
        self.insert1({**key, "doubled": 2 * key["src_id"]})


def test_populate_on_a_thread_pool_makes_every_key_once(db_url: str) -> None:
    db: Any = pipeline_from(WORK, db_url, makers=[MakeDst])
    try:
        db.Src.insert([{"src_id": i} for i in range(200)])
        with ThreadPoolExecutor(max_workers=3) as pool:
            report = db.Dst.populate(executor=pool)
        assert (report.made, report.failed) == (200, 0)
        assert len(db.Dst) == 200 == len(db.MakeCall)
        assert db.jobs.fetch() == []
    finally:
        db.close()
