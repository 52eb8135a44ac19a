"""Runtime exceptions (all under :class:`relflow_gen.core.errors.RelflowError`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from relflow_gen.core.errors import RelflowError, UsageError

if TYPE_CHECKING:
    from relflow_gen.runtime.backends.base import Backend


class DatabaseError(RelflowError):
    """The database refused a statement."""


class ConnectError(DatabaseError):
    """The database cannot be reached (bad URL, server down, bad credentials)."""


class UrlError(ConnectError, UsageError):
    """A database URL that cannot be read (a usage error: the CLI exits 2; never shows the password)."""


class MissingDatabaseError(ConnectError):
    """An SQLite database file that does not exist, opened without ``create``."""


class DuplicateError(DatabaseError):
    """A row with the same primary key (or unique index value) already exists."""


class MissingParentError(DatabaseError):
    """A foreign key refers to a row that does not exist (or a delete is blocked by one)."""


class MissingTableError(DatabaseError):
    """A table does not exist: run declare()."""


class LockError(DatabaseError):
    """A lock could not be obtained (deadlock, busy database, lock wait timeout)."""


class InsertError(RelflowError):
    """A row does not fit the table; nothing of the batch was inserted."""

    def __init__(self, table: str, index: int | None, field: str | None, message: str) -> None:
        where = f"{table}"
        if index is not None:
            where += f", row {index}"
        if field is not None:
            where += f", attribute `{field}`"
        super().__init__(f"{where}: {message}")
        self.table = table
        self.index = index
        self.field = field


class StoredValueError(RelflowError):
    """A stored value the attribute's type cannot read (e.g. bad JSON written by another client).

    ``attribute`` and ``row`` (the row's values decoded so far) locate it; the
    query adds the table and the key to the message.
    """

    def __init__(self, message: str, *, attribute: str | None = None, row: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.attribute = attribute
        self.row = row


class TierError(RelflowError):
    """An operation the table's tier does not allow (e.g. inserting into a computed table)."""


class QueryError(RelflowError):
    """A query expression that cannot be built (unknown attribute, incompatible join...)."""


class FetchOneError(RelflowError):
    """fetch1() found no row or more than one."""


class DeclareError(RelflowError):
    """The database does not match the generated schema (nothing was changed)."""


class MigrateError(RelflowError):
    """A schema migration that cannot be applied as asked (see ``diff`` and ``migrate``)."""


class MakeError(RelflowError):
    """A make() broke its contract (no master row, rows for another key ...)."""


class MissingMakerError(RelflowError):
    """No make() implementation is registered for a table."""


class PopulateError(RelflowError):
    """populate() cannot run (inside a transaction, ...) or a worker process failed."""


def translate(backend: Backend, exc: BaseException, sql: str) -> DatabaseError:
    """Wrap a driver exception in the matching :class:`DatabaseError`."""
    kind = backend.classify(exc)
    message = str(exc.args[1]) if len(exc.args) > 1 and isinstance(exc.args[1], str) else str(exc)
    if not message.strip():  # pymysql reports a closed connection as InterfaceError(0, '')
        if kind == "connection":
            message = f"the connection to the database is lost ({type(exc).__name__})"
        else:
            message = f"{type(exc).__name__} from the database driver, without a message"
    statement = sql if len(sql) <= 300 else sql[:297] + "..."
    text = f"{message}\n  in: {statement}"
    if kind == "duplicate":
        return DuplicateError(text)
    if kind == "foreign_key":
        return MissingParentError(text)
    if kind == "missing_table":
        return MissingTableError(f"{message} (has the schema been declared? call declare())\n  in: {statement}")
    if kind == "lock":
        return LockError(text)
    if kind == "connection":
        return ConnectError(text)
    return DatabaseError(text)
