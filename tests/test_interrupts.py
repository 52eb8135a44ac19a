"""A stop signal (SIGTERM, Ctrl-C) never leaves committed results uncounted
(relflow_gen/runtime/populate/interrupts.py); on SQLite and MariaDB."""

from __future__ import annotations

import signal
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from runtime_fixtures import pipeline_from

from relflow_gen.runtime import Maker
from relflow_gen.runtime.pipeline import Pipeline
from relflow_gen.runtime.populate.interrupts import interrupt, shielded
from relflow_gen.runtime.populate.write import Outcome, Result, ResultWriter

SOURCE = """
schema stop

manual Src {
    src_id: int32
}

computed Dst {
    -> Src
    ---
    doubled: int32
}
"""


class MakeDst(Maker[Any, Any]):
    __table__ = "stop.Dst"

    def make(self, key: Any) -> None:
        self.insert1({**key, "doubled": 2 * key["src_id"]})


@pytest.fixture
def db(db_url: str) -> Iterator[Pipeline]:
    pipeline: Any = pipeline_from(SOURCE, db_url, makers=[MakeDst])
    pipeline.Src.insert([{"src_id": i} for i in range(30)])
    yield pipeline
    pipeline.close()


def test_an_interrupt_outside_a_shield_stops_at_once() -> None:
    with pytest.raises(KeyboardInterrupt):
        interrupt(signal.SIGTERM, None)


def test_an_interrupt_inside_a_shield_stops_when_it_ends() -> None:
    reached = []
    with pytest.raises(KeyboardInterrupt):
        with shielded():
            with shielded():
                interrupt(signal.SIGTERM, None)
                reached.append("inner")
            reached.append("outer")
    assert reached == ["inner", "outer"]
    with shielded():  # nothing pending any more
        pass


def test_a_stop_right_after_a_commit_counts_the_committed_rows(
    db: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_flush = ResultWriter.flush

    def flush_then_signal(self: ResultWriter, results: Sequence[Result]) -> Outcome:
        outcome = real_flush(self, results)
        interrupt(signal.SIGTERM, None)  # as if SIGTERM arrived just after the commit
        return outcome

    monkeypatch.setattr(ResultWriter, "flush", flush_then_signal)
    pipeline: Any = db
    with pytest.raises(KeyboardInterrupt) as info:
        pipeline.Dst.populate(reserve_jobs=True)
    report = info.value.relflow_report  # type: ignore[attr-defined]
    committed = len(pipeline.Dst)
    assert committed > 0
    assert report.made == committed
