"""Connections: URL parsing, statement execution, nested transactions.

``connect_url("sqlite:///lab.db")`` or ``connect_url("mysql://user:pw@host:3306/")``
returns a :class:`Connection`.  For MySQL, user, password, host and port may
come from the environment (``RELFLOW_DB_USER``, ``RELFLOW_DB_PASSWORD``,
``RELFLOW_DB_HOST``, ``RELFLOW_DB_PORT``) so they stay out of code.  The
password never appears in a repr, log line or error message.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from relflow_gen.core.lazy import lazy_module
from relflow_gen.runtime.backends import tls
from relflow_gen.runtime.backends.base import Backend, Computed, ConnectionParams
from relflow_gen.runtime.backends.sqlite import SQLiteBackend
from relflow_gen.runtime.errors import ConnectError, UrlError, translate
from relflow_gen.runtime.stores.registry import Stores

if TYPE_CHECKING:
    import random
else:  # only a retry after a lock timeout needs it (relflow_gen/core/lazy.py)
    random = lazy_module("random")

log = logging.getLogger("relflow_gen")


def parse_url(url: str) -> ConnectionParams:
    """Parse a database URL (see the module docstring).

    A URL that cannot be read raises :class:`UrlError` (a usage error), whose
    message never holds the password.
    """
    if not isinstance(url, str) or "://" not in url:
        shown = url if isinstance(url, str) and "@" not in url else "(not shown)"
        raise UrlError(f"not a database URL: {shown!r} (expected sqlite:///file.db or mysql://host/)")
    scheme, rest = url.split("://", 1)
    scheme = scheme.lower()
    if scheme == "sqlite":
        path, _, query = rest.partition("?")
        authority = path.split("/", 1)[0]
        if "@" in authority:
            raise UrlError(
                "an SQLite URL takes no user or password (it names a file: sqlite:///relative.db or sqlite:////abs.db)"
            )
        if path.startswith("/"):
            path = path[1:]  # sqlite:///rel.db -> rel.db ; sqlite:////abs.db -> /abs.db
        return ConnectionParams("sqlite", database=unquote(path) or ":memory:", options=tuple(parse_qsl(query)))
    if scheme in ("mysql", "mariadb", "mysql+pymysql"):
        try:
            parts = urlsplit("mysql://" + rest)
            hostname, username, password = parts.hostname, parts.username, parts.password
        except ValueError as exc:  # e.g. "Invalid IPv6 URL": the message holds no part of the URL
            raise UrlError(f"malformed database URL {_redact(url)}: {exc}") from None
        try:
            port = parts.port
        except ValueError:
            raise UrlError(f"the port in the database URL {_redact(url)} is not a number") from None
        env = os.environ
        if not port:
            text = env.get("RELFLOW_DB_PORT", "3306")
            if not text.strip().isdigit():
                raise UrlError(f"RELFLOW_DB_PORT is not a port number: {text!r}")
            port = int(text)
        options = tuple(parse_qsl(parts.query))
        problem = tls.option_problem(options)
        if problem:
            raise UrlError(f"database URL {_redact(url)}: {problem}")
        return ConnectionParams(
            "mysql",
            host=hostname or env.get("RELFLOW_DB_HOST", "127.0.0.1"),
            port=port,
            user=unquote(username) if username else env.get("RELFLOW_DB_USER", "root"),
            password=unquote(password) if password is not None else env.get("RELFLOW_DB_PASSWORD", ""),
            options=options,
        )
    raise UrlError(f"unsupported database scheme {scheme!r}: use sqlite:// or mysql://")


def _redact(url: str) -> str:
    """``url`` with the password (anything between ``user:`` and the last ``@`` of the authority) hidden."""
    scheme, _, rest = url.partition("://")
    at = rest.rfind("@")
    if at < 0:
        return repr(url)
    user, colon, _ = rest[:at].partition(":")
    return repr(f"{scheme}://{user}{':***' if colon else ''}@{rest[at + 1:]}")


def make_backend(params: ConnectionParams) -> Backend:
    if params.backend == "sqlite":
        return SQLiteBackend(params)
    from relflow_gen.runtime.backends.mysql import MySQLBackend  # deferred: pymysql, only when used

    return MySQLBackend(params)


class Connection:
    """One database connection with nested transactions.

    ``with conn.transaction():`` starts a transaction; nested uses become
    savepoints; an exception rolls back the innermost level and propagates.
    Statements outside a transaction run in autocommit mode.
    """

    def __init__(self, url: str | ConnectionParams, *, create: bool | None = None) -> None:
        """``create=False``: an SQLite file that does not exist is an error instead of a new database.

        ``None`` keeps what ``url`` says (a URL string creates; parameters carry their own choice).
        """
        self.params = parse_url(url) if isinstance(url, str) else url
        if create is not None and self.params.create != create:
            self.params = dataclasses.replace(self.params, create=create)
        self.backend = make_backend(self.params)
        #: the object stores of this connection (docs/stores.md)
        self.stores = Stores(self.params.stores)
        self._lock = threading.RLock()
        self._depth = 0
        try:
            self._raw = self.backend.connect()
        except Exception as exc:  # driver errors carry host details, never the password
            if self.backend.is_driver_error(exc):
                raise ConnectError(
                    f"cannot connect to {self.params.redacted_url()}: {_clean(str(exc), self.params.password)}"
                ) from None
            raise
        self._cursor = self._raw.cursor()
        self._id: int | None = None
        self._pid = os.getpid()
        #: > 0: a connection lost outside a transaction is re-established (with back-off, for up
        #: to this many seconds) and the statement runs again; populate turns it on
        self.reconnect_seconds = 0.0
        #: called after each reconnect (populate updates the connection id of its reservations)
        self.on_reconnect: list[Callable[[], None]] = []

    def __repr__(self) -> str:
        return f"Connection({self.params.redacted_url()})"

    @property
    def url(self) -> str:
        return self.params.redacted_url()

    @property
    def connection_id(self) -> int:
        if self._id is None:
            self._id = self.backend.connection_id(self._cursor)
        return self._id

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        """Execute one statement; returns the cursor (fetch from it right away).

        ``params=None`` runs the text as is (DDL); a sequence binds parameters
        (with pymysql, literal ``%`` must then be doubled, which the query
        compiler does).
        """
        try:
            if params is None:
                self._cursor.execute(sql)
            else:
                self._cursor.execute(sql, tuple(params))
        except Exception as exc:
            if self.backend.is_driver_error(exc):
                error = translate(self.backend, exc, sql)
                if isinstance(error, ConnectError) and self._depth == 0 and self.reconnect_seconds > 0:
                    self.reconnect(error)
                    return self._execute_again(sql, params)
                raise error from exc
            raise
        return self._cursor

    def _execute_again(self, sql: str, params: Sequence[Any] | None) -> Any:
        try:
            if params is None:
                self._cursor.execute(sql)
            else:
                self._cursor.execute(sql, tuple(params))
        except Exception as exc:
            if self.backend.is_driver_error(exc):
                raise translate(self.backend, exc, sql) from exc
            raise
        return self._cursor

    def reconnect(self, cause: BaseException | None = None, within: float | None = None) -> None:
        """Open a new connection in place of a lost one, retrying with bounded exponential back-off
        (with jitter) for up to ``within`` seconds (default: ``reconnect_seconds``)."""
        if self._depth:
            raise ConnectError("cannot reconnect inside a transaction")
        limit = within if within is not None else max(self.reconnect_seconds, 1.0)
        deadline = time.monotonic() + limit
        delay = 0.1
        first = str(cause).splitlines()[0] if cause is not None else "reconnecting"
        log.warning("lost the connection to %s (%s); reconnecting", self.params.redacted_url(), first)
        self.close()
        while True:
            try:
                raw = self.backend.connect()
                break
            except Exception as exc:
                if not self.backend.is_driver_error(exc):
                    raise
                if time.monotonic() + delay > deadline:
                    raise ConnectError(
                        f"cannot reconnect to {self.params.redacted_url()} within {limit:g} s: "
                        f"{_clean(str(exc), self.params.password)}"
                    ) from None
                log.info("reconnect to %s failed; next try in %.1f s", self.params.redacted_url(), delay)
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 5.0)
        self._raw = raw
        self._cursor = raw.cursor()
        self._id = None
        log.warning("reconnected to %s", self.params.redacted_url())
        for callback in list(self.on_reconnect):
            callback()

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Execute one statement for many parameter rows (bulk insert)."""
        try:
            self._cursor.executemany(sql, rows)
        except Exception as exc:
            if self.backend.is_driver_error(exc):
                raise translate(self.backend, exc, sql) from exc
            raise

    def insert_rows(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        skip_duplicates: bool = False,
        computed: Sequence[Computed] = (),
    ) -> None:
        """Insert rows of driver values into ``table`` (a quoted reference) in few statements.

        Call it inside a transaction: a batch may take several statements. ``computed``: columns
        computed from each row's values (where the backend's ``insert_computes``).
        """
        try:
            self.backend.insert_rows(self._cursor, table, columns, rows, skip_duplicates, computed)
        except Exception as exc:
            if self.backend.is_driver_error(exc):
                sql = self.backend.insert_sql(table, columns, 1, skip_duplicates, computed)
                raise translate(self.backend, exc, sql) from exc
            raise

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Execute a SELECT and return all rows as tuples."""
        cur = self.execute(sql, params)
        return list(cur.fetchall())

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    def rowcount(self) -> int:
        return int(self._cursor.rowcount)

    @contextmanager
    def transaction(self, *, immediate: bool = True) -> Iterator[Connection]:
        """A transaction (outermost) or savepoint (nested)."""
        with self._lock:
            depth = self._depth
            if depth == 0:
                try:
                    self.backend.begin(self._cursor, immediate=immediate)
                except Exception as exc:  # SQLite: another process holds the write lock
                    if not self.backend.is_driver_error(exc):
                        raise
                    error = translate(self.backend, exc, "BEGIN")
                    if not (isinstance(error, ConnectError) and self.reconnect_seconds > 0):
                        raise error from exc
                    self.reconnect(error)
                    try:
                        self.backend.begin(self._cursor, immediate=immediate)
                    except Exception as again:
                        if self.backend.is_driver_error(again):
                            raise translate(self.backend, again, "BEGIN") from again
                        raise
            else:
                self.execute(f"SAVEPOINT rf_sp{depth}")
            self._depth += 1
            try:
                yield self
            except BaseException:
                self._depth -= 1
                try:
                    if depth == 0:
                        self.backend.rollback(self._cursor)
                    else:
                        self.execute(f"ROLLBACK TO SAVEPOINT rf_sp{depth}")
                        self.execute(f"RELEASE SAVEPOINT rf_sp{depth}")
                except Exception:  # noqa: BLE001 - the original error matters more
                    pass
                raise
            self._depth -= 1
            if depth == 0:
                try:
                    self.backend.commit(self._cursor)
                except Exception as exc:
                    try:  # a failed COMMIT (SQLite: busy) leaves the transaction open
                        self.backend.rollback(self._cursor)
                    except Exception:  # noqa: BLE001 - the commit error matters more
                        pass
                    if self.backend.is_driver_error(exc):
                        raise translate(self.backend, exc, "COMMIT") from exc
                    raise
            else:
                self.execute(f"RELEASE SAVEPOINT rf_sp{depth}")

    def close(self) -> None:
        try:
            self._raw.close()
        except Exception:  # noqa: BLE001
            pass

    def __del__(self) -> None:
        # a dropped connection is closed (Python 3.13 warns about unclosed sqlite3 connections);
        # never in a forked child: closing there would end the parent's MariaDB session
        if getattr(self, "_pid", None) == os.getpid():
            self.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def reopen(self) -> Connection:
        """A new connection to the same database (for worker processes and threads)."""
        return Connection(self.params)


def _clean(message: str, password: str) -> str:
    return message.replace(password, "***") if password else message
