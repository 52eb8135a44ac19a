"""Static types of queries: mypy sees table row types through restrictions and fetches.

A tiny package shaped like a generated one (TypedDict rows, a table class per
table binding them, a pipeline class) and a snippet with ``reveal_type`` are
checked with ``mypy --strict``: a restricted table fetches its own row type,
joins / projections / aggregations fetch plain dicts, and reading a field a
row does not have is an error.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROWS = '''
from __future__ import annotations

import datetime
from typing import Literal, NotRequired, TypedDict


class SubjectKey(TypedDict):
    subject_id: str


class SubjectRow(TypedDict):
    subject_id: str
    sex: Literal["M", "F", "U"]
    date_of_birth: datetime.date | None


class SubjectInsert(TypedDict):
    subject_id: str
    sex: NotRequired[Literal["M", "F", "U"]]
    date_of_birth: NotRequired[datetime.date | None]


class SessionKey(TypedDict):
    subject_id: str
    session_id: int


class SessionRow(TypedDict):
    subject_id: str
    session_id: int
    session_date: datetime.date


class SessionInsert(TypedDict):
    subject_id: str
    session_id: int
    session_date: datetime.date
'''

TABLES = '''
from __future__ import annotations

from relflow_gen.runtime import ManualTable, Pipeline

from .rows import SessionInsert, SessionKey, SessionRow, SubjectInsert, SubjectKey, SubjectRow


class SubjectTable(ManualTable[SubjectRow, SubjectKey, SubjectInsert]):
    """tiny.Subject"""


class SessionTable(ManualTable[SessionRow, SessionKey, SessionInsert]):
    """tiny.Session"""


class TinyPipeline(Pipeline):
    Subject: SubjectTable
    Session: SessionTable


def connect(url: str) -> TinyPipeline:
    return TinyPipeline(url)
'''

SNIPPET = '''
from __future__ import annotations

from relflow_gen.runtime import Not, U

from tiny.tables import connect

db = connect("sqlite:///:memory:")
reveal_type((db.Subject & {"subject_id": "m1"}).fetch())
reveal_type((db.Subject - {"sex": "F"} & "date_of_birth IS NULL" & Not([])).fetch(order_by="subject_id", limit=3))
reveal_type(db.Subject.restrict({"sex": "M"}).fetch1())
reveal_type(list(db.Subject & {"sex": "M"}))
reveal_type((db.Subject * db.Session).fetch())
reveal_type(db.Subject.proj(dob="date_of_birth").fetch())
reveal_type(db.Subject.aggr(db.Session, n="count(*)").fetch1())
reveal_type((U("sex") & db.Subject).fetch())
reveal_type(db.Subject.fetch("sex"))
row = (db.Subject & {"subject_id": "m1"}).fetch1()
reveal_type(row["date_of_birth"])
row["no_such_field"]
'''


@pytest.fixture(scope="module")
def mypy_output(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    root: Path = tmp_path_factory.mktemp("typing")
    pkg = root / "tiny"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "py.typed").write_text("")
    (pkg / "rows.py").write_text(textwrap.dedent(ROWS))
    (pkg / "tables.py").write_text(textwrap.dedent(TABLES))
    (root / "snippet.py").write_text(textwrap.dedent(SNIPPET))
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", str(root / ".mypy_cache"), "snippet.py", "tiny"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return proc.stdout.splitlines()


def _reveals(lines: list[str]) -> list[str]:
    """Revealed types, spelled the same across mypy versions (no ``builtins.``, ``X | None``)."""
    out = []
    for line in lines:
        m = re.search(r'Revealed type is "(.*)"', line)
        if m:
            text = m.group(1).replace("builtins.", "")
            text = re.sub(r"Union\[([\w.]+), None\]", r"\1 | None", text)
            out.append(text)
    return out


ROW = re.compile(r"TypedDict\('?tiny\.rows\.SubjectRow'?, .*'date_of_birth': datetime\.date \| None\}\)")


def test_single_table_queries_keep_the_row_type(mypy_output: list[str]) -> None:
    reveals = _reveals(mypy_output)
    assert len(reveals) == 10, mypy_output
    for i in (0, 1, 3):  # restricted tables fetch (and iterate) their rows
        assert reveals[i].startswith("list[") and ROW.fullmatch(reveals[i][5:-1]), reveals[i]
    assert ROW.fullmatch(reveals[2]), reveals[2]  # fetch1


def test_composed_queries_fetch_plain_dicts(mypy_output: list[str]) -> None:
    reveals = _reveals(mypy_output)
    plain = "list[dict[str, Any]]"
    assert reveals[4] == plain, reveals  # join
    assert reveals[5] == plain, reveals  # proj
    assert reveals[6] == "dict[str, Any]", reveals  # aggr fetch1
    assert reveals[7] == plain, reveals  # U
    assert reveals[8] == plain, reveals  # fetch of chosen attributes


def test_fields_are_checked(mypy_output: list[str]) -> None:
    reveals = _reveals(mypy_output)
    assert reveals[9] == "datetime.date | None", reveals
    errors = [line for line in mypy_output if ": error:" in line]
    assert len(errors) == 1, mypy_output
    assert "no_such_field" in errors[0] and "TypedDict" in errors[0]
