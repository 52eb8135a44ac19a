"""Issue 10 item 10: database URLs.

A malformed URL is a usage error (exit 2) that never shows the password; an
SQLite URL takes no credentials; an SQLite file is created only by declare or
``create=True``: a mistyped path for ``status`` is an error and creates nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from runtime_fixtures import pipeline_from

from relflow_gen.core.errors import UsageError
from relflow_gen.runtime.cli import main
from relflow_gen.runtime.engine.connection import Connection, parse_url
from relflow_gen.runtime.errors import ConnectError, MissingDatabaseError, UrlError

SECRET = "S3cretPw42"
SCHEMA = """
schema urls

manual Item {
    item_id: int32
}
"""


@pytest.mark.parametrize(
    "url",
    [
        f"mysql://alice:{SECRET}@[::1:3320/",
        f"mysql://alice:{SECRET}@[zz]:3306/",
        f"mysql://alice:{SECRET}@host:port/",
        f"mariadb://alice:{SECRET}@host:99999999/",
    ],
)
def test_malformed_mysql_url_is_a_usage_error(url: str) -> None:
    with pytest.raises(UrlError) as info:
        parse_url(url)
    assert isinstance(info.value, UsageError) and isinstance(info.value, ConnectError)
    assert SECRET not in str(info.value)
    assert "alice" in str(info.value)


def _cls(tmp_path: Path) -> type[Any]:
    db = pipeline_from(SCHEMA, f"sqlite:///{tmp_path / 'seed.db'}")
    db.close()
    return type(db)


def test_cli_malformed_url_exits_2_without_password(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cls = _cls(tmp_path)
    assert main(cls, ["--db", f"mysql://alice:{SECRET}@[::1:3320/", "status"], prog="p") == 2
    err = capsys.readouterr().err
    assert SECRET not in err and "Traceback" not in err and "malformed database URL" in err


def test_sqlite_url_refuses_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UrlError, match="no user or password") as info:
        Connection(f"sqlite://alice:{SECRET}@/data/x.db")
    assert SECRET not in str(info.value)
    assert list(tmp_path.iterdir()) == []  # no folder named after the credentials
    cls = _cls(tmp_path / "seed")
    assert main(cls, ["--db", f"sqlite://alice:{SECRET}@/data/x.db", "declare"], prog="p") == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seed"]


def test_mistyped_sqlite_path_creates_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cls = _cls(tmp_path)
    missing = tmp_path / "sub" / "mistyped.db"
    for command in ("status", "jobs", "populate"):
        assert main(cls, ["--db", f"sqlite:///{missing}", command], prog="p") == 1
        err = capsys.readouterr().err
        assert "no SQLite database" in err and "mistyped.db" in err and "Traceback" not in err
    assert not missing.exists() and not missing.parent.exists()
    with pytest.raises(MissingDatabaseError):
        cls(f"sqlite:///{missing}", declare=False)
    with pytest.raises(MissingDatabaseError):
        Connection(f"sqlite:///{missing}", create=False)
    assert not missing.exists()
    # declare creates it; afterwards the other commands open it
    assert main(cls, ["--db", f"sqlite:///{missing}", "declare"], prog="p") == 0
    assert missing.exists()
    assert main(cls, ["--db", f"sqlite:///{missing}", "status"], prog="p") == 0


def test_connect_create(tmp_path: Path) -> None:
    cls = _cls(tmp_path)
    path = tmp_path / "new.db"
    db = cls(f"sqlite:///{path}", declare=False, create=True)
    db.close()
    assert path.exists()
    other = tmp_path / "declared.db"
    db = cls(f"sqlite:///{other}")  # declare (the default) creates
    db.Item.insert1({"item_id": 1})
    db.close()
    db = cls(f"sqlite:///{other}", declare=False)
    assert len(db.Item) == 1
    # a reopened connection (workers) keeps the choice
    assert db.connection.params.create is False
    db.close()
