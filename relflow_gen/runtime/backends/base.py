"""The backend interface: everything that differs between SQLite and MySQL.

One module per backend implements it (:mod:`.sqlite`, :mod:`.mysql`); nothing
else in the runtime branches on the backend.  A backend knows how to open a
DB-API connection, spell identifiers, types and DDL, encode Python values for
its driver and decode what the driver returns, classify driver errors, and
introspect existing tables for :func:`declare`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from relflow_gen.core.errors import ArgumentError
from relflow_gen.core.meta import PROVENANCE_COLUMNS, REQUIRED, Attr, SqlDefault, TableMeta
from relflow_gen.core.types import TypeSpec

if TYPE_CHECKING:
    from relflow_gen.runtime.stores.config import StoreConfig

ErrorKind = Literal["duplicate", "foreign_key", "missing_table", "lock", "connection", "other"]
Decoder = Callable[[Any], Any]
#: a column an INSERT computes from its row's own parameters: the column's name and its SQL as a
#: sequence of SQL text (str) and references to the row's parameters (int: a position in the columns)
Computed = tuple[str, tuple[str | int, ...]]


@dataclass(frozen=True)
class ColumnInfo:
    """A column as the database reports it (for heading comparison)."""

    name: str
    type: str  # normalised spelling, comparable with Backend.column_type()
    nullable: bool
    in_key: bool


@dataclass(frozen=True)
class IndexInfo:
    """A secondary index as the database reports it (for schema evolution)."""

    name: str
    columns: tuple[str, ...]
    unique: bool


@dataclass(frozen=True)
class ForeignKeyInfo:
    """A foreign key as the database reports it: the parent by its stored name (see fk_parent_name)."""

    parent: str
    columns: tuple[str, ...]
    parent_columns: tuple[str, ...]


@dataclass
class TableAlter:
    """In-place changes to one existing table (built by relflow_gen.runtime.evolve).

    ``fills`` maps a column to the SQL literal that existing rows get (a new NOT NULL
    column without default, or the NULLs of a column that becomes NOT NULL).
    """

    add: list[Attr] = field(default_factory=list)
    modify: list[Attr] = field(default_factory=list)
    drop: list[str] = field(default_factory=list)
    add_indexes: list[tuple[tuple[str, ...], bool]] = field(default_factory=list)
    drop_indexes: list[IndexInfo] = field(default_factory=list)
    fills: dict[str, str] = field(default_factory=dict)
    #: the table is rebuilt (copy into a new table): SQLite when ALTER TABLE cannot do it
    rebuild: bool = False
    #: a new table comment (the table's doc), where the backend stores one
    comment: str | None = None


@dataclass(frozen=True)
class ConnectionParams:
    """Parsed connection URL (the password never appears in repr)."""

    backend: str
    database: str = ""  # sqlite file path
    host: str = ""
    port: int = 0
    user: str = ""
    password: str = ""
    options: tuple[tuple[str, str], ...] = ()
    #: SQLite: create the database file when it does not exist (else opening it is an error)
    create: bool = True
    stores: tuple[StoreConfig, ...] = ()  # object stores (docs/stores.md); travel with the params to workers

    def __repr__(self) -> str:
        if self.backend == "sqlite":
            return f"ConnectionParams(sqlite:///{self.database})"
        return f"ConnectionParams({self.backend}://{self.user}@{self.host}:{self.port}/)"

    def redacted_url(self) -> str:
        if self.backend == "sqlite":
            return f"sqlite:///{self.database}"
        user = f"{self.user}:***@" if self.password else (f"{self.user}@" if self.user else "")
        return f"{self.backend}://{user}{self.host}:{self.port}/"

    def option(self, name: str, default: str = "") -> str:
        return dict(self.options).get(name, default)


class Backend(ABC):
    """Dialect + driver adapter."""

    name: str
    placeholder: str
    #: most bound parameters one statement may carry
    max_params: int
    #: quote character for identifiers
    q: str
    #: CREATE/DROP TABLE take part in transactions (SQLite) instead of committing (MySQL)
    transactional_ddl: bool = False
    #: ``/`` truncates when both operands are integers (SQLite); the query
    #: compiler then writes user divisions as real divisions
    int_division: bool = False
    #: a backslash in a string literal escapes the next character (MySQL's default
    #: sql_mode); SQLite reads it as itself.  SQL fragments are tokenized by it.
    backslash_escapes: bool = False

    def __init__(self, params: ConnectionParams) -> None:
        self.params = params

    # ---- fingerprints of rows (staleness) ---------------------------------
    #: codec kinds whose values enter a fingerprint by their digest, not their text
    DIGESTED_KINDS = frozenset({"uuid", "bytes", "blob"})
    #: the encoding input fingerprints are written in now (:mod:`relflow_gen.runtime.populate.inputs`);
    #: a fingerprint of encoding n >= 2 begins with ``v<n>``, so each row is checked in its own
    #: encoding and a new one never makes older rows look outdated
    input_fingerprint_version = 1
    #: an INSERT can compute a column from its row's own parameters (``computed`` of :meth:`insert_sql`)
    insert_computes = False

    @abstractmethod
    def digest_sql(self, sql: str) -> str:
        """SQL for the first 32 hex digits of the sha256 of a string or bytes expression."""

    @abstractmethod
    def text_sql(self, sql: str) -> str:
        """SQL for a value as text (or bytes), deterministically, for fingerprints."""

    @abstractmethod
    def concat_sql(self, parts: Sequence[str]) -> str:
        """SQL concatenating the parts (NULL when any part is NULL)."""

    @abstractmethod
    def length_sql(self, sql: str) -> str:
        """SQL for the length of what :meth:`text_sql` or :meth:`digest_sql` returned."""

    def keys_in_sql(self, cols: Sequence[str], n: int) -> str:
        """A condition true for rows whose ``cols`` equal one of ``n`` bound tuples (in order)."""
        ph = self.placeholder
        if len(cols) == 1:
            return f"{cols[0]} IN ({', '.join([ph] * n)})"
        one = "(" + " AND ".join(f"{c} = {ph}" for c in cols) + ")"
        return "(" + " OR ".join([one] * n) + ")"

    def fingerprint_field(self, spec: TypeSpec, sql: str) -> str:
        """One self-delimiting field of a fingerprint: ``<length>:<text>``, or ``-`` for NULL.

        Values that can be large or binary (blobs, bytes, uuids) enter by their digest.
        """
        value = self.digest_sql(sql) if spec.kind in self.DIGESTED_KINDS else self.text_sql(sql)
        return f"COALESCE({self.concat_sql([self.length_sql(value), chr(39) + ':' + chr(39), value])}, '-')"

    def fingerprint_row(self, fields: Sequence[tuple[TypeSpec, str]], version: int) -> str:
        """SQL for the text of one present parent row (its attributes: type and SQL) in encoding ``version``.

        Encoding 1: ``R`` and the fields of :meth:`fingerprint_field`.
        """
        if version != 1:
            raise ArgumentError(f"the {self.name} backend has no input-fingerprint encoding {version}")
        return self.concat_sql(["'R'", *(self.fingerprint_field(spec, sql) for spec, sql in fields)])

    def fingerprint_digest(self, rows: Sequence[str], version: int) -> str:
        """SQL for the stored fingerprint (32 characters) of the parent rows' texts ``rows`` (each
        from :meth:`fingerprint_row`, or ``'-'`` for a missing row) in encoding ``version``.

        Encoding 1: the digest of the texts run together.
        """
        if version != 1:
            raise ArgumentError(f"the {self.name} backend has no input-fingerprint encoding {version}")
        return self.digest_sql(self.concat_sql(rows))

    # ---- connection -----------------------------------------------------
    @abstractmethod
    def connect(self) -> Any:
        """Open a DB-API connection in autocommit mode."""

    @abstractmethod
    def begin(self, cursor: Any, *, immediate: bool) -> None:
        """Start a transaction (``immediate``: take the write lock now)."""

    def commit(self, cursor: Any) -> None:
        cursor.execute("COMMIT")

    def rollback(self, cursor: Any) -> None:
        cursor.execute("ROLLBACK")

    @abstractmethod
    def connection_id(self, cursor: Any) -> int:
        """An id the server knows this connection by (0 when there is none)."""

    @abstractmethod
    def live_connection_ids(self, cursor: Any) -> set[int] | None:
        """Ids of the connections the server has open, or None when unknown."""

    def live_connections(self, cursor: Any) -> dict[int, str] | None:
        """Connection id -> user of the connections the server shows us, or None when unknown.

        Without the PROCESS privilege a MySQL server shows only the current
        user's connections, so a connection of another user that is missing
        here may still be alive.
        """
        return None

    # ---- populate / jobs ----------------------------------------------------
    def now_sql(self) -> str:
        """An SQL expression for the current time on the database's clock (fits datetime(6))."""
        return "CURRENT_TIMESTAMP"

    def insert_new_sql(self, table: str, columns: Sequence[str], rows: int) -> str:
        """A multi-row INSERT that skips rows whose key exists; its row count is the number inserted."""
        return self.insert_sql(table, columns, rows, True)

    # ---- spelling ---------------------------------------------------------
    def quote(self, ident: str) -> str:
        return self.q + ident.replace(self.q, self.q * 2) + self.q

    @abstractmethod
    def table_ref(self, schema: str, sql_name: str) -> str:
        """The quoted reference to a table of a schema."""

    def database_name(self, schema: str) -> str:
        """The database a schema lives in (MySQL: a database per schema, with an optional prefix)."""
        return self.params.option("prefix") + schema

    @abstractmethod
    def column_type(self, spec: TypeSpec) -> str:
        """The column type in DDL."""

    def select_expr(self, spec: TypeSpec | None, sql: str) -> str:
        """How a column is selected so that its value decodes exactly."""
        return sql

    def order_expr(self, spec: TypeSpec | None, sql: str) -> str:
        """How a column sorts (enums sort in declaration order on every backend)."""
        return sql

    # ---- DDL --------------------------------------------------------------
    @abstractmethod
    def create_database(self, schema: str) -> list[str]:
        ...

    @abstractmethod
    def create_table(self, meta: TableMeta, tables: Mapping[str, TableMeta]) -> list[str]:
        """CREATE TABLE (and CREATE INDEX) statements for one table."""

    def drop_table(self, meta: TableMeta) -> str:
        return f"DROP TABLE IF EXISTS {self.table_ref(meta.schema, meta.sql_name)}"

    def column_ddl(self, attr: Attr) -> str:
        parts = [self.quote(attr.name), self.column_type(attr.type)]
        parts.append("NULL" if attr.nullable and not attr.in_key else "NOT NULL")
        default = self.default_sql(attr)
        if default is not None:
            parts.append(f"DEFAULT {default}")
        parts.extend(self.column_extra(attr))
        return " ".join(parts)

    def column_extra(self, attr: Attr) -> list[str]:
        return []

    def default_sql(self, attr: Attr) -> str | None:
        value = attr.default
        if value is REQUIRED:
            return None
        if value is None:
            return "NULL" if attr.nullable else None
        if isinstance(value, SqlDefault):
            return self.keyword_default(attr.type, value.keyword)
        encoded = self.literal_default(attr.type, value)
        return encoded

    def keyword_default(self, spec: TypeSpec, keyword: str) -> str:
        """A keyword default such as CURRENT_TIMESTAMP for a column of type ``spec``."""
        return keyword

    def literal_default(self, spec: TypeSpec, value: object) -> str | None:
        """A SQL literal for a default value (None: filled in by the runtime instead)."""
        if spec.kind in ("blob", "bytes", "json", "uuid", "attach", "external"):
            return None
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, (int, float)):
            return repr(value)
        return self.string_literal(str(value))

    def string_literal(self, text: str) -> str:
        """A string literal in DDL (defaults, enum checks): standard SQL, quotes doubled.

        Backslashes are plain characters in standard SQL (SQLite); MySQL overrides this
        with its backslash escapes.
        """
        return "'" + text.replace("'", "''") + "'"

    def provenance_ddl(self) -> list[str]:
        return [f"{self.quote(name)} {self.column_type(spec)} NULL" for name, spec in PROVENANCE_COLUMNS]

    def key_and_fk_ddl(self, meta: TableMeta, tables: Mapping[str, TableMeta]) -> list[str]:
        q = self.quote
        lines = [f"PRIMARY KEY ({', '.join(q(a) for a in meta.primary_key)})"]
        for fk in meta.foreign_keys:
            parent = tables.get(fk.parent)
            if parent is None:
                continue
            child_cols = ", ".join(q(c) for c, _ in fk.attrs)
            parent_cols = ", ".join(q(p) for _, p in fk.attrs)
            lines.append(
                f"FOREIGN KEY ({child_cols}) REFERENCES {self.fk_target(meta, parent)} ({parent_cols})"
                " ON UPDATE RESTRICT ON DELETE RESTRICT"
            )
        return lines

    def fk_target(self, meta: TableMeta, parent: TableMeta) -> str:
        return self.table_ref(parent.schema, parent.sql_name)

    def unique_indexes(self, meta: TableMeta) -> list[tuple[str, ...]]:
        out = [idx.attrs for idx in meta.indexes if idx.unique]
        out += [tuple(c for c, _ in fk.attrs) for fk in meta.foreign_keys if fk.unique]
        return _dedupe(out)

    def plain_indexes(self, meta: TableMeta) -> list[tuple[str, ...]]:
        return _dedupe([idx.attrs for idx in meta.indexes if not idx.unique])

    # ---- data -------------------------------------------------------------
    @abstractmethod
    def insert_sql(
        self, table: str, columns: Sequence[str], rows: int, skip_duplicates: bool, computed: Sequence[Computed] = ()
    ) -> str:
        """A multi-row INSERT for ``rows`` rows.

        ``computed``: more columns, each computed by SQL from the row's own parameters (only where
        :attr:`insert_computes`).
        """

    def insert_rows(
        self,
        cursor: Any,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        skip_duplicates: bool,
        computed: Sequence[Computed] = (),
    ) -> None:
        """Insert rows of driver values with as few statements as the backend allows.

        Runs inside the caller's transaction; a failure leaves some rows written,
        which the caller's rollback removes.
        """
        sql = self.insert_sql(table, columns, 1, skip_duplicates, computed)
        if len(rows) == 1:
            cursor.execute(sql, tuple(rows[0]))
        else:
            cursor.executemany(sql, rows)

    @abstractmethod
    def encoder(self, spec: TypeSpec) -> Callable[[Any], Any] | None:
        """Final conversion of a validated canonical Python value to a driver parameter."""

    @abstractmethod
    def decoder(self, spec: TypeSpec) -> Decoder | None:
        """Conversion of a driver value to the canonical Python value (None: identity)."""

    @abstractmethod
    def classify(self, exc: BaseException) -> ErrorKind | None:
        """What a driver exception means (None: not a driver error)."""

    @abstractmethod
    def is_driver_error(self, exc: BaseException) -> bool:
        ...

    def bad_text_column(self, message: str) -> str | None:
        """The column named by an error that text does not fit its character set, or None."""
        return None

    def column_charset(self, query: Callable[[str, Sequence[Any]], list[tuple[Any, ...]]], meta: TableMeta, column: str) -> str | None:
        """The character set of a text column (``query`` runs a statement), or None when unknown."""
        return None

    # ---- introspection ----------------------------------------------------
    @abstractmethod
    def existing_columns(self, cursor: Any, meta: TableMeta) -> list[ColumnInfo] | None:
        """Columns of an existing table, or None when the table does not exist."""

    def expected_columns(self, meta: TableMeta) -> list[ColumnInfo]:
        cols = [
            ColumnInfo(a.name, self.normalise_type(self.column_type(a.type)), a.nullable and not a.in_key, a.in_key)
            for a in meta.attributes
        ]
        if meta.has_provenance:
            cols += [
                ColumnInfo(name, self.normalise_type(self.column_type(spec)), True, False)
                for name, spec in PROVENANCE_COLUMNS
            ]
        return cols

    def normalise_type(self, spelling: str) -> str:
        return spelling.lower().replace(" ", "")

    # ---- schema evolution (relflow_gen.runtime.evolve) -----------------------
    @contextmanager
    def introspecting(
        self, cursor: Any, schemas: Sequence[str], tables: Sequence[tuple[str, str]] | None = None
    ) -> Iterator[None]:
        """Within the block, introspection of these schemas' tables may answer from one
        read of the catalogue (one statement instead of several per table).
        ``tables``: only these (schema, sql name) are read, and :meth:`table_names` then
        answers which of them exist.  Nothing may change the tables inside the block."""
        yield

    def unchanged(self, cursor: Any, meta: TableMeta, tables: Mapping[str, TableMeta]) -> bool:
        """True when the existing table is known to be exactly what :meth:`create_table` makes,
        so that comparing its columns would find nothing (SQLite: the stored CREATE TABLE text
        is the one declare runs).  False means "compare", never "differs"."""
        return False

    @abstractmethod
    def table_names(self, cursor: Any, schema: str) -> set[str]:
        """The sql names of the tables the database holds for a schema."""

    @abstractmethod
    def existing_indexes(self, cursor: Any, meta: TableMeta) -> list[IndexInfo]:
        """Secondary indexes of an existing table (not the primary key)."""

    @abstractmethod
    def existing_foreign_keys(self, cursor: Any, meta: TableMeta) -> list[ForeignKeyInfo]:
        """Foreign keys of an existing table."""

    def fk_parent_name(self, parent: TableMeta) -> str:
        """How :meth:`existing_foreign_keys` names a parent table."""
        return f"{self.database_name(parent.schema)}.{parent.sql_name}"

    def existing_types(self, cursor: Any, meta: TableMeta) -> dict[str, str]:
        """Column -> its full type as stored (comparable with :meth:`expected_type`)."""
        return {c.name: c.type for c in self.existing_columns(cursor, meta) or []}

    def expected_type(self, attr: Attr) -> str:
        return self.normalise_type(self.column_type(attr.type))

    @abstractmethod
    def parse_type(self, stored: str) -> TypeSpec | None:
        """The attribute type a stored type (from :meth:`existing_types`) declares, None when unknown.

        Where the backend keeps less than the type (SQLite: no integer widths) the
        widest type of that spelling is returned.
        """

    def existing_comments(self, cursor: Any, meta: TableMeta) -> dict[str, str] | None:
        """Column -> its comment, and ``""`` -> the table's comment, as stored (None: the
        backend keeps no comments, as SQLite)."""
        return None

    def expected_comments(self, meta: TableMeta) -> dict[str, str]:
        """The comments :meth:`existing_comments` should find."""
        return {}

    def char_length_sql(self, expr: str) -> str:
        """The length in characters of a string expression."""
        return f"LENGTH({expr})"

    @abstractmethod
    def alter_table_sql(self, meta: TableMeta, tables: Mapping[str, TableMeta], alter: TableAlter) -> list[str]:
        """The statements that apply ``alter`` to an existing table whose new definition is ``meta``.

        A backend that cannot make a change in place sets ``alter.rebuild`` and returns
        the rebuild: create the new table, copy the rows, drop the old, rename.
        """

    def migration_script(self, statements: list[str], *, rebuilds: bool = False) -> list[str]:
        """The statements of a whole migration as they run (SQLite wraps them in one transaction;
        ``rebuilds``: some table is rebuilt or dropped, so foreign keys are checked at the end)."""
        return statements

    def run_migration(self, cursor: Any, statements: list[str]) -> None:
        """Run the statements of :meth:`migration_script`.

        MySQL commits each ALTER TABLE by itself: a rerun finds what is left to do.
        """
        for stmt in statements:
            cursor.execute(stmt)


def table_columns(meta: TableMeta) -> list[Attr]:
    """The columns of a table: its attributes, then the hidden provenance columns (nullable)."""
    cols = list(meta.attributes)
    if meta.has_provenance:
        cols += [Attr(name, spec, False, True, REQUIRED) for name, spec in PROVENANCE_COLUMNS]
    return cols


def _dedupe(items: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    seen: set[tuple[str, ...]] = set()
    out = []
    for i in items:
        if i not in seen:
            seen.add(i)
            out.append(i)
    return out
