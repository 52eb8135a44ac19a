"""The pipeline command line (``python -m <package>`` / ``relflow-gen run``): status, populate
with workers, errors, retry, ignore, worker, diagram, usage errors and exit codes.

Every test runs on SQLite and on the throwaway MariaDB (``db_url``).
"""

from __future__ import annotations

import argparse
import shutil
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
from runtime_fixtures import pipeline_from

from relflow_gen.cli import run as run_cli
from relflow_gen.runtime.cli import main
from relflow_gen.runtime.pipeline import Pipeline

LAB = """
schema lab

manual Session {
    session_id: int32
    ---
    note = "": varchar(40)
}

imported Recording {
    -> Session
    ---
    n_units: int32
    part Unit {
        unit_id: int32
        ---
        value: float64
    }
}

computed Summary {
    -> Recording
    ---
    total: float64
}
"""

MAKERS = '''
from pathlib import Path
from relflow_gen.runtime import Maker

FLAG = Path({flag!r})


class MakeRecording(Maker):
    __table__ = "lab.Recording"
    __parts__ = (("Unit", "lab.Recording.Unit"),)

    def make(self, key):
        if FLAG.exists() and key["session_id"] % 5 == 0:
            raise RuntimeError("instrument offline")
        self.insert1({{**key, "n_units": 2}})
        self.Unit.insert([{{**key, "unit_id": u, "value": float(u)}} for u in range(2)])


class MakeSummary(Maker):
    __table__ = "lab.Summary"

    def make(self, key):
        values = (self.db.Recording.Unit & key).column("value")
        self.insert1({{**key, "total": sum(values)}})
'''


class Setup:
    def __init__(self, url: str, tmp: Path) -> None:
        self.url = url
        db = pipeline_from(LAB, url)
        db.table("Session").insert([{"session_id": i} for i in range(12)])
        self.cls: type[Pipeline] = type(db)
        db.close()
        self.flag = tmp / "broken"
        self.makers = tmp / f"lab_makers_{uuid.uuid4().hex[:8]}.py"
        self.makers.write_text(MAKERS.format(flag=str(self.flag)))

    def run(self, *args: str, makers: bool = True) -> int:
        argv = ["--db", self.url] + (["--makers", str(self.makers)] if makers else []) + list(args)
        return main(self.cls, argv, prog="lab")

    def open(self) -> Any:
        return self.cls(self.url, declare=False)


@pytest.fixture
def cli(db_url: str, tmp_path: Path) -> Setup:
    return Setup(db_url, tmp_path)


def _status_line(out: str, table: str) -> list[str]:
    return next(line.split() for line in out.splitlines() if line.startswith(table + " "))


def test_status_populate_with_workers_errors_and_retry(cli: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run("status") == 0
    out = capsys.readouterr().out
    assert _status_line(out, "lab.Recording") == ["lab.Recording", "imported", "0", "12", "0", "0", "0", "0"]
    assert _status_line(out, "lab.Session")[:3] == ["lab.Session", "manual", "12"]

    cli.flag.write_text("x")  # sessions 0, 5 and 10 fail
    assert cli.run("populate", "--workers", "2", "--suppress-errors") == 1
    captured = capsys.readouterr()
    assert "lab.Recording: 9 made, 3 failed" in captured.out
    assert "instrument offline" in captured.err

    assert cli.run("status") == 0
    out = capsys.readouterr().out
    assert _status_line(out, "lab.Recording")[2:] == ["9", "3", "0", "3", "0", "0"]
    assert _status_line(out, "lab.Summary")[2:4] == ["9", "0"]

    assert cli.run("errors", "--traceback") == 0
    out = capsys.readouterr().out
    assert out.count("RuntimeError: instrument offline") == 6  # message and last line of the stack
    assert "Traceback (most recent call last)" in out and "3 error(s)" in out
    assert cli.run("jobs", "Recording", "--status", "error") == 0
    assert "3 job(s)" in capsys.readouterr().out

    cli.flag.unlink()  # fixed
    assert cli.run("retry", "Recording") == 0
    out = capsys.readouterr().out
    assert "cleared 3 error(s)" in out and "lab.Recording: 3 made, 0 failed" in out
    assert cli.run("populate", "--workers", "2") == 0
    assert "lab.Summary: 3 made" in capsys.readouterr().out
    db = cli.open()
    assert len(db.Summary) == 12 and len(db.Recording.Unit) == 24 and db.jobs.fetch() == []
    db.close()


def test_populate_without_suppress_stops_at_the_first_failure(cli: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    cli.flag.write_text("x")
    assert cli.run("populate", "Recording") == 1
    assert "instrument offline" in capsys.readouterr().err
    assert cli.run("populate", "Recording", "--reserve-jobs", "--restrict", "session_id > 0") == 1
    assert cli.run("errors") == 0
    assert "1 error(s)" in capsys.readouterr().out


def test_restrict_ignore_and_worker(cli: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run("populate", "Recording", "--restrict", "session_id < 4", "--restrict", '{"note": ""}') == 0
    assert "lab.Recording: 4 made" in capsys.readouterr().out
    assert cli.run("ignore", "Recording", "--restrict", "session_id >= 10") == 0
    assert "ignored 2 key(s)" in capsys.readouterr().out
    assert cli.run("ignore", "Recording", "--key", '{"session_id": 9}') == 0
    assert cli.run("worker") == 0
    out = capsys.readouterr().out
    assert "worker: 14 made, 0 failed" in out  # 5 recordings, then 9 summaries
    db = cli.open()
    assert len(db.Recording) == 9 and len(db.Summary) == 9
    db.close()
    assert cli.run("ignore", "Recording", "--clear") == 0
    assert "cleared 3 ignore mark(s)" in capsys.readouterr().out
    assert cli.run("populate") == 0
    assert "total: 6 made" in capsys.readouterr().out


def test_usage_errors_exit_2(cli: Setup, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(cli.cls, ["status"], prog="lab") == 2  # no --db
    assert cli.run("populate", "Nope") == 2
    assert "no table 'Nope'" in capsys.readouterr().err
    assert cli.run("populate", "Session") == 2
    assert cli.run("populate", "Recording", makers=False) == 2
    assert "no maker registered for lab.Recording" in capsys.readouterr().err
    assert cli.run("populate", "--restrict", "{not json") == 2
    assert main(cli.cls, ["--db", cli.url, "--makers", str(tmp_path / "missing.py"), "status"], prog="lab") == 2
    assert main(cli.cls, ["--db", cli.url, "--makers", "no_such_module_xyz", "status"], prog="lab") == 2
    twin = tmp_path / f"twin_{uuid.uuid4().hex[:8]}.py"
    twin.write_text(cli.makers.read_text())
    argv = ["--db", cli.url, "--makers", str(cli.makers), "--makers", str(twin), "status"]
    assert main(cli.cls, argv, prog="lab") == 2
    assert "two makers for lab.Recording" in capsys.readouterr().err
    assert main(cli.cls, ["--db", cli.url, "frobnicate"], prog="lab") == 2
    assert cli.run("populate", "--workers", "0") == 2


def test_status_without_makers_and_diagram(cli: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run("status", makers=False) == 0
    assert "no maker registered for: lab.Recording, lab.Summary" in capsys.readouterr().out
    assert cli.run("populate", makers=False) == 0
    assert "no maker registered: lab.Recording, lab.Summary" in capsys.readouterr().err
    assert main(cli.cls, ["diagram"], prog="lab") == 0
    assert "flowchart" in capsys.readouterr().out


def test_diagram_command_writes_every_format(
    cli: Setup, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(cli.cls, ["diagram", "--format", "dot", "-o", str(tmp_path / "lab.dot")], prog="lab") == 0
    assert (tmp_path / "lab.dot").read_text(encoding="utf-8").startswith("// diagram of the lab pipeline\ndigraph")
    if shutil.which("dot") is not None:
        capsys.readouterr()
        assert main(cli.cls, ["diagram", "--svg", "-o", str(tmp_path / "lab.svg")], prog="lab") == 0
        assert f"wrote {tmp_path / 'lab.svg'}" in capsys.readouterr().out
        assert "<svg" in (tmp_path / "lab.svg").read_text(encoding="utf-8")
    monkeypatch.setattr("relflow_gen.runtime.diagram.shutil.which", lambda name: None)
    capsys.readouterr()
    assert main(cli.cls, ["diagram", "--svg"], prog="lab") == 0  # no Graphviz: the Mermaid text, and why
    out = capsys.readouterr()
    assert out.out.startswith("%% diagram of the lab pipeline\nflowchart TB") and "not installed" in out.err
    assert main(cli.cls, ["diagram", "--svg", "-o", str(tmp_path / "none.svg")], prog="lab") == 1
    assert "none.svg not written" in capsys.readouterr().err and not (tmp_path / "none.svg").exists()


def test_relflow_gen_run_builds_the_pipeline_from_an_rf_file(
    cli: Setup, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rf = tmp_path / "lab.rf"
    rf.write_text(textwrap.dedent(LAB))
    pipeline_cls = run_cli.load_pipeline(str(rf))
    assert pipeline_cls.meta.name == "lab"
    args = argparse.Namespace(
        pipeline=str(rf), rest=["--db", cli.url, "--makers", str(cli.makers), "populate", "--workers", "2"]
    )
    assert run_cli._cmd_run(args) == 0
    assert "total: 24 made" in capsys.readouterr().out
    parser = argparse.ArgumentParser()
    run_cli.register(parser.add_subparsers())
    parsed = parser.parse_args(["run", str(rf), "--db", cli.url, "status"])
    assert parsed.func(parsed) == 0
    assert "lab.Summary" in capsys.readouterr().out
    broken = tmp_path / "broken.rf"
    broken.write_text("schema x\nmanual A {\n  a: nosuchtype\n}\n")
    from relflow_gen.core.errors import UsageError

    with pytest.raises(UsageError, match="has errors"):
        run_cli.load_pipeline(str(broken))
