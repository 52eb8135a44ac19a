"""The worker-side command line: errors grouped, retry filters, make timeouts, SIGTERM, rough edges.

Every test runs on SQLite and on the throwaway MariaDB (``db_url``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from runtime_fixtures import pipeline_from

from relflow_gen.runtime.cli import main
from relflow_gen.runtime.pipeline import Pipeline

LAB = """
schema wc

manual Session {
    session_id: int32
    ---
    note = "": varchar(40)
}

computed Recording {
    -> Session
    ---
    n_units: int32
}

computed Summary {
    -> Recording
    ---
    total: int32
}
"""

MAKERS = '''
import os
import time
from pathlib import Path
from relflow_gen.runtime import Maker

FLAGS = Path({flags!r})


class MakeRecording(Maker):
    __table__ = "wc.Recording"

    def make(self, key):
        sid = key["session_id"]
        if (FLAGS / "hang").exists() and sid == 4:
            while True:
                time.sleep(0.05)
        if (FLAGS / "slow").exists():
            time.sleep(0.05)
        if (FLAGS / "broken").exists() and sid % 5 == 0:
            raise RuntimeError("instrument offline")
        if (FLAGS / "oserror").exists() and sid % 5 == 1:
            raise OSError("disk gone")
        self.insert1({{**key, "n_units": 2}})
'''


class Setup:
    def __init__(self, url: str, tmp: Path, n: int = 12, schema: str = LAB) -> None:
        self.url = url
        db = pipeline_from(schema, url)
        db.table("Session").insert([{"session_id": i} for i in range(n)])
        self.cls: type[Pipeline] = type(db)
        db.close()
        self.flags = tmp
        self.makers = tmp / f"wc_makers_{uuid.uuid4().hex[:8]}.py"
        self.makers.write_text(MAKERS.format(flags=str(tmp)))

    def flag(self, name: str, on: bool = True) -> None:
        path = self.flags / name
        if on:
            path.write_text("x")
        elif path.exists():
            path.unlink()

    def run(self, *args: str) -> int:
        argv = ["--db", self.url, "--makers", str(self.makers), *args]
        return main(self.cls, argv, prog="wc")

    def open(self) -> Any:
        return self.cls(self.url, declare=False)


@pytest.fixture
def cli(db_url: str, tmp_path: Path) -> Setup:
    return Setup(db_url, tmp_path)


def test_errors_are_grouped_and_retry_filters_by_type_and_age(cli: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    cli.flag("broken")
    cli.flag("oserror")
    assert cli.run("populate", "--suppress-errors", "--no-progress") == 1
    capsys.readouterr()
    assert cli.run("errors") == 0
    out = capsys.readouterr().out
    assert "     3  RuntimeError: instrument offline" in out  # sessions 0, 5, 10
    assert "     3  OSError: disk gone" in out  # sessions 1, 6, 11
    assert "6 error(s)" in out
    cli.flag("broken", False)
    cli.flag("oserror", False)
    assert cli.run("retry", "--type", "OSError", "--older-than", "1h") == 0
    assert "cleared 0 error(s)" in capsys.readouterr().out  # none is an hour old
    assert cli.run("retry", "--type", "OSError") == 0
    out = capsys.readouterr().out
    assert "cleared 3 error(s)" in out and "3 made" in out
    assert "3 in error or ignored" in out  # the RuntimeError keys are skipped, and said so
    assert cli.run("retry", "--older-than", "0") == 0
    assert "cleared 3 error(s)" in capsys.readouterr().out
    db = cli.open()
    assert len(db.Recording) == 12 and db.jobs.fetch() == []
    db.close()


def test_retry_rejects_a_bad_duration(cli: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run("retry", "--older-than", "soon") == 2
    assert "not a duration: 'soon'" in capsys.readouterr().err


def test_make_timeout_on_the_command_line(cli: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    cli.flag("hang")
    assert cli.run("populate", "--make-timeout", "1", "--suppress-errors", "--no-progress") == 1
    out, err = capsys.readouterr()
    assert "11 made, 1 failed" in out
    assert "MakeTimeout" in err and "make_timeout=1 s" in err
    assert cli.run("errors") == 0
    assert "MakeTimeout: make() for wc.Recording {session_id=4} ran past make_timeout=1 s" in capsys.readouterr().out


def test_make_timeout_declared_in_the_rf_and_the_flag_that_overrides_it(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    declared = Setup(db_url, tmp_path, n=6, schema=LAB.replace("computed Recording", "computed [make_timeout = 1] Recording"))
    declared.flag("hang")
    assert declared.run("populate", "Recording", "--suppress-errors", "--no-progress") == 1
    assert "5 made, 1 failed" in capsys.readouterr().out
    assert declared.run("errors") == 0
    assert "ran past make_timeout=1 s" in capsys.readouterr().out  # the .rf's timeout
    assert declared.run("retry", "Recording", "--make-timeout", "2", "--suppress-errors", "--no-progress") == 1
    capsys.readouterr()
    assert declared.run("errors") == 0
    assert "ran past make_timeout=2 s" in capsys.readouterr().out  # the flag's, over the .rf's


def test_a_make_error_is_one_short_message_without_runtime_traceback(
    cli: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    cli.flag("broken")
    assert cli.run("populate", "--no-progress") == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "error: RuntimeError: instrument offline (at " in err and "in make)" in err
    assert cli.run("-v", "populate", "--no-progress") == 1
    assert "Traceback (most recent call last)" in capsys.readouterr().err


def test_missing_maker_in_given_module_says_so(cli: Setup, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / f"only_recording_{uuid.uuid4().hex[:8]}.py"
    empty.write_text(f"from {cli.makers.stem} import MakeRecording\nMAKERS = (MakeRecording,)\n")
    sys.path.insert(0, str(cli.makers.parent))
    try:
        code = main(cli.cls, ["--db", cli.url, "--makers", str(empty), "populate", "Summary"], prog="wc")
    finally:
        sys.path.remove(str(cli.makers.parent))
    assert code == 2
    err = capsys.readouterr().err
    assert f"--makers {empty} has none" in err and "give --makers MODULE" not in err


def test_errors_into_a_closed_pipe_is_quiet(cli: Setup) -> None:
    cli.flag("broken")
    assert cli.run("populate", "--suppress-errors", "--no-progress") == 1
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from runtime_fixtures import pipeline_from
        from test_worker_cli import LAB
        from relflow_gen.runtime.cli import main
        cls = type(pipeline_from(LAB, {cli.url!r}, declare=False))
        sys.exit(main(cls, ["--db", {cli.url!r}, "errors", "--keys"], prog="wc"))
        """
    )
    shell = f"{sys.executable} -c {_quote(code)} | head -1"
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", shell], capture_output=True, text=True, timeout=120)
    assert proc.stdout.startswith("error    wc.Recording")
    assert "BrokenPipeError" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def test_vanished_keys_are_dropped_not_recorded_as_errors(db_url: str) -> None:
    """Keys whose inputs are deleted while populate runs are no errors."""
    from relflow_gen.runtime import Maker

    db: Any = pipeline_from(LAB, db_url)
    db.Session.insert([{"session_id": i} for i in range(40)])

    class DeletesAhead(Maker[Any, Any]):
        __table__ = "wc.Recording"

        def make(self, key: Any) -> None:
            sid = key["session_id"]
            if sid == 5:  # another user deletes sessions 20.. meanwhile
                (self.db.Session & "session_id >= 20").delete_quick()
            (self.db.Session & key).fetch1()
            self.insert1({**key, "n_units": 1})

    report = db.Recording.populate(maker=DeletesAhead, reserve_jobs=True, group_commit=False)
    assert (report.made, report.failed, report.vanished) == (20, 0, 20)
    assert report.skipped == 20
    assert db.jobs.fetch() == []
    db.close()


def test_a_worker_stopped_by_sigterm_counts_what_it_committed(cli: Setup) -> None:
    db = cli.open()
    db.table("Session").insert([{"session_id": i} for i in range(12, 400)])
    db.close()
    cli.flag("slow")
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from runtime_fixtures import pipeline_from
        from test_worker_cli import LAB
        from relflow_gen.runtime.cli import main
        cls = type(pipeline_from(LAB, {cli.url!r}, declare=False))
        sys.exit(main(cls, ["--db", {cli.url!r}, "--makers", {str(cli.makers)!r}, "worker", "--no-progress"],
                      prog="wc"))
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    db = cli.open()
    deadline = time.monotonic() + 60
    while len(db.Recording) < 20:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    committed = len(db.Recording)
    db.close()
    assert "worker stopped" in err
    assert f"worker: {committed} made, 0 failed" in out
    assert committed >= 20
