"""Make options declared in the .rf (make_timeout, retries, retry_on, retry_backoff), their
precedence, and the attempts the jobs table records (docs/populate.md, "Long makes, timeouts
and retries"); on SQLite and MariaDB."""

from __future__ import annotations

import importlib
import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from runtime_fixtures import pipeline_from

from relflow_gen.core.errors import RelflowError
from relflow_gen.runtime import Maker
from relflow_gen.runtime.cli import main as run_main
from relflow_gen.runtime.commands import _job_line
from relflow_gen.runtime.pipeline import Pipeline
from relflow_gen.runtime.populate.make import make_settings

GOLDEN = Path(__file__).parent / "golden" / "makeopts" / "expected"

WORK = """
schema mo

manual Src {
    src_id: int32
}

manual MakeCall "one row per make() call" {
    call_id: char(32)
    ---
    src_id: int32
    attempts_seen = null: int32
}

computed [make_timeout = 30, retries = 2, retry_on = OSError | TimeoutError, retry_backoff = 0.01] Dst {
    -> Src
    ---
    doubled: int32
}
"""

HANG_KEYS: set[int] = set()
FLAKY: dict[int, int] = {}  # src_id -> failures left


class MakeDst(Maker[Any, Any]):
    __table__ = "mo.Dst"

    def make(self, key: Any) -> None:
        src_id = key["src_id"]
        mine = [j for j in self.db.jobs.reserved() if j.key == key]
        seen = mine[0].attempts if mine else None
        self.db.MakeCall.insert1({"call_id": uuid.uuid4().hex, "src_id": src_id, "attempts_seen": seen})
        if src_id in HANG_KEYS:
            while True:
                time.sleep(0.05)
        if FLAKY.get(src_id, 0) > 0:
            FLAKY[src_id] -= 1
            raise OSError(f"flaky share reading {src_id}")
        self.insert1({**key, "doubled": 2 * src_id})


@pytest.fixture
def mo(db_url: str) -> Iterator[Pipeline]:
    HANG_KEYS.clear()
    FLAKY.clear()
    db: Any = pipeline_from(WORK, db_url, makers=[MakeDst])
    db.Src.insert([{"src_id": i} for i in range(6)])
    yield db
    HANG_KEYS.clear()
    FLAKY.clear()
    db.close()


def test_the_declared_options_reach_the_metadata_and_the_settings(mo: Pipeline) -> None:
    meta = mo.meta.by_name["mo.Dst"]
    assert (meta.make_timeout, meta.retries, meta.retry_on, meta.retry_backoff) == (
        30.0,
        2,
        ("OSError", "TimeoutError"),
        0.01,
    )
    settings = make_settings(MakeDst, meta)
    assert settings.make_timeout == 30.0 and settings.retries == 2 and settings.retry_backoff == 0.01
    assert settings.retry_on == (OSError, TimeoutError)


def test_precedence_argument_then_maker_class_then_rf(mo: Pipeline) -> None:
    meta = mo.meta.by_name["mo.Dst"]

    class Own(MakeDst):
        make_timeout = 5.0
        retries = 0

    assert make_settings(Own, meta).make_timeout == 5.0  # the maker class over the .rf
    assert make_settings(Own, meta).retries == 0
    assert make_settings(Own, meta).retry_on == (OSError, TimeoutError)  # not set in the class: the .rf's
    assert make_settings(Own, meta, 2.0).make_timeout == 2.0  # populate's argument over both
    assert make_settings(MakeDst, meta, 7.0).make_timeout == 7.0


def test_the_generated_maker_carries_the_options(tmp_path: Path) -> None:
    shutil.copytree(GOLDEN, tmp_path / "makeopts_pipeline")
    sys.path.insert(0, str(tmp_path))
    try:
        pkg: Any = importlib.import_module("makeopts_pipeline")
    finally:
        sys.path.remove(str(tmp_path))
    assert pkg.ReadingMaker.make_timeout == 600.0
    assert pkg.ReadingMaker.retries == 3
    assert pkg.ReadingMaker.retry_on == (OSError, TimeoutError)
    assert pkg.ReadingMaker.retry_backoff == 2.5
    assert pkg.SummaryMaker.make_timeout == 0.5 and pkg.SummaryMaker.retries == 0
    assert pkg.CheckMaker.retry_on == (ConnectionError,) and pkg.CheckMaker.make_timeout is None

    class MakeSummary(pkg.SummaryMaker):  # type: ignore[misc]
        make_timeout = 9.0

        def make(self, key: Any) -> None:  # pragma: no cover - never called
            raise NotImplementedError

    summary = pkg.MakeoptsPipeline.meta.by_name["makeopts.Summary"]
    assert summary.make_timeout == 0.5
    assert make_settings(pkg.SummaryMaker, summary).make_timeout == 0.5
    assert make_settings(MakeSummary, summary).make_timeout == 9.0
    sys.modules.pop("makeopts_pipeline", None)
    for name in [m for m in sys.modules if m.startswith("makeopts_pipeline.")]:
        sys.modules.pop(name)


def test_the_declared_timeout_stops_a_hanging_make(db_url: str) -> None:
    db: Any = pipeline_from(WORK.replace("make_timeout = 30", "make_timeout = 1"), db_url, makers=[MakeDst])
    try:
        db.Src.insert([{"src_id": i} for i in range(4)])
        HANG_KEYS.add(2)
        started = time.monotonic()
        report = db.Dst.populate(suppress_errors=True)
        assert time.monotonic() - started < 30
        assert (report.made, report.failed) == (3, 1)
        [job] = db.jobs.errors()
        # the timeout is a TimeoutError, which the .rf lists: tried 3 times in all
        assert job.error_message.startswith("MakeTimeout: make() for mo.Dst {src_id=2} ran past make_timeout=1 s")
        assert job.error_message.endswith("(after 3 attempts)")
        assert job.attempts == 3
    finally:
        HANG_KEYS.clear()
        db.close()


def test_the_populate_argument_overrides_the_declared_timeout(mo: Pipeline) -> None:
    db: Any = mo
    HANG_KEYS.add(1)

    class Once(MakeDst):
        retries = 0

    report = db.Dst.populate("src_id < 3", maker=Once, make_timeout=1, suppress_errors=True)
    assert (report.made, report.failed) == (2, 1)
    [job] = db.jobs.errors()
    assert "ran past make_timeout=1 s" in (job.error_message or "")
    assert job.attempts == 1


def test_a_key_failing_twice_then_succeeding_records_its_attempts(mo: Pipeline) -> None:
    db: Any = mo
    FLAKY.update({1: 2, 2: 3})  # key 1: made at its third attempt; key 2: fails all three
    report = db.Dst.populate(reserve_jobs=True, suppress_errors=True)
    assert (report.made, report.failed) == (5, 1)
    # while key 1 was made, its reservation showed the attempt running: none, 2, 3
    seen = sorted((r["attempts_seen"] or 1) for r in (db.MakeCall & {"src_id": 1}).fetch())
    assert seen == [1, 2, 3]
    assert len(db.Dst & {"src_id": 1}) == 1
    [job] = db.jobs.errors()
    assert job.key == {"src_id": 2}
    assert job.attempts == 3
    assert job.error_message == "OSError: flaky share reading 2 (after 3 attempts)"
    assert "3 attempts  OSError: flaky share reading 2" in _job_line(job)
    assert db.jobs.reserved() == []


def test_the_errors_command_shows_the_attempts(
    mo: Pipeline, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db: Any = mo
    FLAKY.update({3: 5})
    db.Dst.populate(reserve_jobs=True, suppress_errors=True)
    capsys.readouterr()
    assert run_main(type(db), ["--db", db_url, "errors", "--keys"], prog="mo") == 0
    out = capsys.readouterr().out
    assert "3 attempts  OSError: flaky share reading 3 (after 3 attempts)" in out


def test_an_old_jobs_table_gains_the_attempts_column(db_url: str) -> None:
    db: Any = pipeline_from(WORK, db_url, makers=[MakeDst])
    ref = db.connection.backend.table_ref("mo", "~jobs")
    db.connection.execute(f"ALTER TABLE {ref} DROP COLUMN {db.connection.backend.quote('attempts')}")
    db.Src.insert([{"src_id": i} for i in range(3)])
    db.close()
    FLAKY.update({0: 9})
    try:
        again: Any = pipeline_from(WORK, db_url, makers=[MakeDst])  # declare() adds the column back
        report = again.Dst.populate(suppress_errors=True)
        assert (report.made, report.failed) == (2, 1)
        assert again.jobs.errors()[0].attempts == 3
        again.close()
    finally:
        FLAKY.clear()


def test_declaring_in_a_transaction_does_not_commit_it_on_mysql(db_url: str) -> None:
    db: Any = pipeline_from(WORK, db_url, makers=[MakeDst])
    try:
        if db.connection.backend.transactional_ddl:
            pytest.skip("SQLite adds the column inside the transaction")
        ref = db.connection.backend.table_ref("mo", "~jobs")
        db.connection.execute(f"ALTER TABLE {ref} DROP COLUMN {db.connection.backend.quote('attempts')}")
        with db.connection.transaction():
            db.Src.insert1({"src_id": 99})
            with pytest.raises(RelflowError, match="lacks column `attempts`"):
                db.declare()
    finally:
        db.close()


def test_errors_group_one_message_whatever_the_attempts(mo: Pipeline) -> None:
    db: Any = mo

    class SameError(MakeDst):
        def make(self, key: Any) -> None:
            raise OSError("share unmounted")

    class NoRetry(SameError):
        retries = 0

    db.Dst.populate("src_id = 1", maker=NoRetry, suppress_errors=True)
    db.Dst.populate("src_id = 2", maker=SameError, suppress_errors=True)
    assert sorted(j.attempts or 1 for j in db.jobs.errors()) == [1, 3]
    [group] = db.jobs.error_groups()
    assert (group.error_type, group.message, group.count) == ("OSError", "share unmounted", 2)
