"""Connections: URLs and environment variables, secrets kept out of text, SQLite settings, transactions.

The transaction tests run on SQLite and on the throwaway MariaDB (``db_url``).
"""

from __future__ import annotations

import logging
import sqlite3
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlparse

import pymysql
import pytest
from runtime_support import open_pipeline

from relflow_gen.runtime import ConnectError, Connection, DuplicateError, LockError
from relflow_gen.runtime.engine.connection import parse_url

ENV = ("RELFLOW_DB_USER", "RELFLOW_DB_PASSWORD", "RELFLOW_DB_HOST", "RELFLOW_DB_PORT")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


# ------------------------------------------------------------------ URL parsing


@pytest.mark.parametrize(
    ("url", "database"),
    [
        ("sqlite:///lab.db", "lab.db"),
        ("sqlite:///data/lab.db", "data/lab.db"),
        ("sqlite:////abs/path/lab.db", "/abs/path/lab.db"),
        ("sqlite://", ":memory:"),
        ("sqlite:///", ":memory:"),
        ("sqlite:///:memory:", ":memory:"),
        ("SQLITE:///lab.db", "lab.db"),
        ("sqlite:///my%20lab.db", "my lab.db"),
    ],
)
def test_sqlite_urls(url: str, database: str) -> None:
    params = parse_url(url)
    assert params.backend == "sqlite"
    assert params.database == database


def test_sqlite_url_options() -> None:
    assert parse_url("sqlite:///lab.db?timeout=5").option("timeout") == "5"


def test_mysql_url_parts() -> None:
    p = parse_url("mysql://alice:s3cret@db.example.org:3307/?prefix=dev_")
    assert (p.backend, p.host, p.port, p.user, p.password) == ("mysql", "db.example.org", 3307, "alice", "s3cret")
    assert p.option("prefix") == "dev_"
    for scheme in ("mariadb", "mysql+pymysql", "MySQL"):
        assert parse_url(f"{scheme}://alice@h/").backend == "mysql"


def test_mysql_url_with_escaped_password() -> None:
    password = "p@ss:w/rd#1%"
    p = parse_url(f"mysql://bob:{quote(password, safe='')}@localhost/")
    assert p.password == password
    assert p.user == "bob"


def test_mysql_url_defaults() -> None:
    p = parse_url("mysql://")
    assert (p.host, p.port, p.user, p.password) == ("127.0.0.1", 3306, "root", "")


def test_mysql_url_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELFLOW_DB_USER", "carol")
    monkeypatch.setenv("RELFLOW_DB_PASSWORD", "from-env")
    monkeypatch.setenv("RELFLOW_DB_HOST", "db.internal")
    monkeypatch.setenv("RELFLOW_DB_PORT", "3310")
    p = parse_url("mysql://")
    assert (p.host, p.port, p.user, p.password) == ("db.internal", 3310, "carol", "from-env")
    # the URL wins over the environment
    p = parse_url("mysql://dave:pw@other:1234/")
    assert (p.host, p.port, p.user, p.password) == ("other", 1234, "dave", "pw")


@pytest.mark.parametrize(
    "url",
    ["", "lab.db", "postgres://x/", "mysql://h:notaport/", "http://example.org"],
)
def test_bad_urls(url: str) -> None:
    with pytest.raises(ConnectError):
        parse_url(url)


def test_bad_port_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELFLOW_DB_PORT", "33o6")
    with pytest.raises(ConnectError, match="RELFLOW_DB_PORT"):
        parse_url("mysql://")


def test_params_never_show_the_password() -> None:
    p = parse_url("mysql://alice:TopSecret42@h:3306/")
    for text in (repr(p), str(p), p.redacted_url(), f"{p}"):
        assert "TopSecret42" not in text
    assert "alice" in p.redacted_url() and "***" in p.redacted_url()


# ------------------------------------------------------------------ SQLite


def test_sqlite_relative_path_is_relative_to_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with Connection("sqlite:///sub/rel.db") as conn:
        conn.execute("CREATE TABLE t (x INTEGER)")
    assert (tmp_path / "sub" / "rel.db").exists()


def test_sqlite_absolute_path_creates_folders(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "abs.db"
    with Connection(f"sqlite:///{path}") as conn:
        conn.execute("CREATE TABLE t (x INTEGER)")
        assert repr(conn) == f"Connection(sqlite:///{path})"
    assert path.exists()


def test_sqlite_memory() -> None:
    with Connection("sqlite://") as conn:
        conn.execute("CREATE TABLE t (x INTEGER)")
        conn.execute("INSERT INTO t VALUES (?)", (1,))
        assert conn.scalar("SELECT count(*) FROM t") == 1
        assert conn.scalar("PRAGMA foreign_keys") == 1


def test_sqlite_settings(tmp_path: Path) -> None:
    with Connection(f"sqlite:///{tmp_path / 'x.db'}") as conn:
        assert conn.scalar("PRAGMA journal_mode") == "wal"
        assert conn.scalar("PRAGMA foreign_keys") == 1
        assert conn.scalar("PRAGMA busy_timeout") == 60000
        assert conn.scalar("PRAGMA synchronous") == 1  # NORMAL, safe with WAL
    with Connection(f"sqlite:///{tmp_path / 'x.db'}?timeout=2.5") as conn:
        assert conn.scalar("PRAGMA busy_timeout") == 2500


def test_sqlite_foreign_keys_are_enforced(tmp_path: Path) -> None:
    with Connection(f"sqlite:///{tmp_path / 'fk.db'}") as conn:
        conn.execute("CREATE TABLE p (id INTEGER PRIMARY KEY)")
        conn.execute("CREATE TABLE c (id INTEGER REFERENCES p (id))")
        with pytest.raises(Exception, match="FOREIGN KEY"):
            conn.execute("INSERT INTO c VALUES (?)", (1,))


def test_sqlite_unopenable_path_is_a_connect_error(tmp_path: Path) -> None:
    with pytest.raises(ConnectError, match="cannot connect"):
        Connection(f"sqlite:///{tmp_path}")  # a directory


def test_sqlite_busy_database_waits_then_raises(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'busy.db'}?timeout=0.2"
    first = Connection(url)
    second = Connection(url)
    first.execute("CREATE TABLE t (x INTEGER)")
    try:
        with first.transaction():
            first.execute("INSERT INTO t VALUES (1)", ())
            with pytest.raises(LockError, match="locked"):
                with second.transaction():
                    pass
            assert not second.in_transaction
    finally:
        first.close()
        second.close()


# ------------------------------------------------------------------ MySQL: credentials


@pytest.fixture
def mysql_user(mysql_server_url: str) -> Iterator[tuple[str, str, int]]:
    """A MySQL user with a password: (user, password, port)."""
    u = urlparse(mysql_server_url)
    assert u.port is not None
    user = f"u{uuid.uuid4().hex[:8]}"
    password = f"Pw-{uuid.uuid4().hex[:12]}:@/#"
    admin = pymysql.connect(host=u.hostname, port=u.port, user="root", password="")
    try:
        with admin.cursor() as cur:
            cur.execute(f"CREATE USER '{user}'@'%%' IDENTIFIED BY %s", (password,))
            cur.execute(f"GRANT ALL ON *.* TO '{user}'@'%'")
        yield user, password, u.port
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")
        admin.close()


def test_mysql_wrong_password_never_shows_it(
    mysql_user: tuple[str, str, int], caplog: pytest.LogCaptureFixture
) -> None:
    user, password, port = mysql_user
    wrong = password[::-1] + "x"
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ConnectError) as info:
        Connection(f"mysql://{user}:{quote(wrong, safe='')}@127.0.0.1:{port}/")
    exc = info.value
    text = "".join(traceback.format_exception(exc))
    assert "Access denied" in str(exc)
    for secret in (wrong, quote(wrong, safe="")):
        assert secret not in str(exc)
        assert secret not in repr(exc)
        assert secret not in text
        assert secret not in caplog.text
    assert f"mysql://{user}:***@127.0.0.1:{port}/" in str(exc)


def test_mysql_password_not_in_repr_or_logs(
    mysql_user: tuple[str, str, int], caplog: pytest.LogCaptureFixture
) -> None:
    user, password, port = mysql_user
    caplog.set_level(logging.DEBUG)
    url = f"mysql://{user}:{quote(password, safe='')}@127.0.0.1:{port}/?prefix=t{uuid.uuid4().hex[:8]}_"
    with Connection(url) as conn:
        assert conn.scalar("SELECT CURRENT_USER()").startswith(user + "@")
        for text in (repr(conn), str(conn), conn.url, repr(conn.params)):
            assert password not in text
            assert quote(password, safe="") not in text
        with pytest.raises(Exception) as info:
            conn.execute("SELECT * FROM no_such_db.no_such_table", ())
        assert password not in str(info.value)
        db = open_pipeline(SMALL, conn)
        db.table("Item").insert1({"item_id": 1})
        db.table("Item").drop()
        conn.execute(f"DROP DATABASE IF EXISTS {conn.backend.quote(conn.backend.database_name('conn'))}")
    assert password not in caplog.text


def test_mysql_credentials_from_environment(mysql_user: tuple[str, str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    user, password, port = mysql_user
    monkeypatch.setenv("RELFLOW_DB_USER", user)
    monkeypatch.setenv("RELFLOW_DB_PASSWORD", password)
    monkeypatch.setenv("RELFLOW_DB_HOST", "127.0.0.1")
    monkeypatch.setenv("RELFLOW_DB_PORT", str(port))
    with Connection("mysql://") as conn:
        assert conn.scalar("SELECT CURRENT_USER()").startswith(user + "@")
        assert password not in repr(conn)
        assert "***" in repr(conn)


def test_mysql_session_settings(mysql_server_url: str) -> None:
    with Connection(mysql_server_url) as conn:
        assert conn.scalar("SELECT @@session.time_zone") == "+00:00"
        assert "STRICT_ALL_TABLES" in conn.scalar("SELECT @@session.sql_mode")
        assert conn.connection_id > 0


def test_mysql_unreachable_server() -> None:
    with pytest.raises(ConnectError, match="cannot connect"):
        Connection("mysql://nobody:pw@127.0.0.1:1/?connect_timeout=2")


# ------------------------------------------------------------------ transactions (both backends)

SMALL = """
schema conn

manual Item {
    item_id: int32
}
"""


def _items(conn: Connection, db_table: object) -> list[int]:
    from relflow_gen.runtime import Table

    assert isinstance(db_table, Table)
    return sorted(r["item_id"] for r in db_table.fetch())


def test_transaction_commits(db_url: str) -> None:
    db = open_pipeline(SMALL, db_url)
    items = db.table("Item")
    conn = db.connection
    assert not conn.in_transaction
    with conn.transaction():
        assert conn.in_transaction
        items.insert1({"item_id": 1})
        with conn.transaction():
            items.insert1({"item_id": 2})
            with conn.transaction():
                items.insert1({"item_id": 3})
    assert not conn.in_transaction
    assert _items(conn, items) == [1, 2, 3]
    # committed: another connection sees the rows
    other = open_pipeline(SMALL, conn.reopen(), declare=False)
    assert len(other.table("Item")) == 3
    other.close()
    db.close()


def test_outer_rollback_on_exception(db_url: str) -> None:
    db = open_pipeline(SMALL, db_url)
    items = db.table("Item")
    conn = db.connection
    with pytest.raises(RuntimeError):
        with conn.transaction():
            items.insert1({"item_id": 1})
            with conn.transaction():
                items.insert1({"item_id": 2})
            raise RuntimeError("boom")
    assert not conn.in_transaction
    assert len(items) == 0
    db.close()


def test_inner_rollback_keeps_outer_work(db_url: str) -> None:
    db = open_pipeline(SMALL, db_url)
    items = db.table("Item")
    conn = db.connection
    with conn.transaction():
        items.insert1({"item_id": 1})
        with pytest.raises(RuntimeError):
            with conn.transaction():
                items.insert1({"item_id": 2})
                with conn.transaction():
                    items.insert1({"item_id": 3})
                raise RuntimeError("inner fails")
        assert conn.in_transaction
        items.insert1({"item_id": 4})
        # a failed insert (duplicate) inside the transaction rolls back only itself
        with pytest.raises(DuplicateError):
            items.insert([{"item_id": 5}, {"item_id": 1}])
        items.insert1({"item_id": 6})
    assert _items(conn, items) == [1, 4, 6]
    db.close()


def test_innermost_rollback_of_three_levels(db_url: str) -> None:
    db = open_pipeline(SMALL, db_url)
    items = db.table("Item")
    conn = db.connection
    with conn.transaction():
        items.insert1({"item_id": 1})
        with conn.transaction():
            items.insert1({"item_id": 2})
            with pytest.raises(KeyError):
                with conn.transaction():
                    items.insert1({"item_id": 3})
                    raise KeyError("x")
            items.insert1({"item_id": 4})
    assert _items(conn, items) == [1, 2, 4]
    db.close()


def test_uncommitted_rows_are_invisible_to_others(db_url: str) -> None:
    db = open_pipeline(SMALL, db_url)
    items = db.table("Item")
    other = open_pipeline(SMALL, db.connection.reopen(), declare=False)
    with db.connection.transaction(immediate=False):
        items.insert1({"item_id": 1})
        assert len(items) == 1
        assert len(other.table("Item")) == 0
    assert len(other.table("Item")) == 1
    other.close()
    db.close()


def test_connection_is_a_context_manager(tmp_path: Path) -> None:
    with Connection(f"sqlite:///{tmp_path / 'c.db'}") as conn:
        conn.execute("CREATE TABLE t (x INTEGER)")
    with pytest.raises(sqlite3.ProgrammingError):
        conn._raw.execute("SELECT 1")
