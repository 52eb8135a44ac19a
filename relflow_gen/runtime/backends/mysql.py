"""MySQL / MariaDB through pymysql: the shared server many workers use at once.

Each schema is a database (optionally prefixed: ``mysql://...?prefix=alice_``),
created with a binary no-pad collation so that string comparison, uniqueness
and ordering agree with SQLite.  ``float32`` columns are selected as DOUBLE so
their values come back exactly (the text protocol rounds FLOAT to 6 digits).
"""

from __future__ import annotations

import binascii
import bisect
import datetime as dt
import decimal
import itertools
import re
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import pymysql
import pymysql.constants.CLIENT
import pymysql.converters
import pymysql.err
from pymysql.constants import FIELD_TYPE

from relflow_gen.core.errors import ArgumentError
from relflow_gen.core.meta import REQUIRED, Attr, TableMeta
from relflow_gen.core.types import TYPES, TypeSpec, sql_string
from relflow_gen.runtime import blob
from relflow_gen.runtime.backends import base, tls
from relflow_gen.runtime.engine.codec import load_json

# MySQL error numbers
ER_DUP_ENTRY = 1062
ER_NO_REFERENCED_ROW = (1216, 1452)
ER_ROW_IS_REFERENCED = (1217, 1451)
ER_NO_SUCH_TABLE = 1146
ER_BAD_DB = 1049
ER_LOCK_WAIT_TIMEOUT = 1205
ER_LOCK_DEADLOCK = 1213
#: lost or refused connections; 1053: server shutdown in progress, 1152: aborted connection,
#: 1927: connection killed (MariaDB), 2002: no socket
CONNECTION_ERRORS = (2006, 2013, 2003, 2055, 1053, 1152, 1927, 2002)

#: multi-row INSERT statements are cut at about this size (and below max_allowed_packet)
_STATEMENT_BYTES = 4 << 20

# error 1366 on a column whose character set cannot hold the text (a database made by another tool)
_BAD_TEXT = re.compile(r"Incorrect string value: .*? for column (?:`(?:[^`]|``)*`\.)*`((?:[^`]|``)*)`", re.DOTALL)
_INT_WIDTH = re.compile(r"^(tinyint|smallint|mediumint|int|bigint)\(\d+\)")


class MySQLBackend(base.Backend):
    name = "mysql"
    placeholder = "%s"
    max_params = 60000
    q = "`"
    backslash_escapes = True
    input_fingerprint_version = 2

    def __init__(self, params: base.ConnectionParams) -> None:
        super().__init__(params)
        self.collation = "utf8mb4_nopad_bin"
        #: longest multi-row INSERT sent at once (a longer single row goes alone)
        self.max_statement = _STATEMENT_BYTES
        #: the server's max_allowed_packet (read when connecting)
        self.max_packet = 1 << 24
        #: the catalogue read by introspecting(), while its block runs
        self._cached: dict[str, Any] | None = None

    def connect(self) -> Any:
        p = self.params
        host = p.host or "127.0.0.1"
        conn = pymysql.connect(
            host=host,
            port=p.port or 3306,
            user=p.user or "root",
            password=p.password,
            autocommit=True,
            charset="utf8mb4",
            connect_timeout=int(p.option("connect_timeout", "10")),
            client_flag=pymysql.constants.CLIENT.FOUND_ROWS,
            conv=_CONVERSIONS,
            **tls.driver_arguments(host, p.options),
        )
        with conn.cursor() as cur:
            cur.execute("SELECT VERSION(), @@max_allowed_packet")
            row = cur.fetchone()
            version = str(row[0]) if row else ""
            self.max_packet = int(row[1]) if row else 1 << 22
            self.max_statement = max(1 << 16, min(self.max_packet - (1 << 12), _STATEMENT_BYTES))
            if "mariadb" not in version.lower():
                self.collation = "utf8mb4_0900_bin"
            cur.execute(f"SET NAMES utf8mb4 COLLATE {self.collation}")
            cur.execute("SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'")
            cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
            # timestamps are naive UTC on every backend (the server converts timestamp columns
            # from and to the session time zone; CURRENT_TIMESTAMP is UTC as on SQLite)
            cur.execute("SET SESSION time_zone = '+00:00'")
            # division and AVG() keep 30 decimal places instead of 4, so that averages
            # and quotients agree with SQLite's double precision (see docs/queries.md)
            cur.execute("SET SESSION div_precision_increment = 30")
        return conn

    def begin(self, cursor: Any, *, immediate: bool) -> None:
        cursor.execute("START TRANSACTION")

    def connection_id(self, cursor: Any) -> int:
        cursor.execute("SELECT CONNECTION_ID()")
        row = cursor.fetchone()
        return int(row[0]) if row else 0

    def live_connection_ids(self, cursor: Any) -> set[int] | None:
        try:
            cursor.execute("SELECT ID FROM information_schema.PROCESSLIST")
        except pymysql.err.MySQLError:
            return None
        return {int(r[0]) for r in cursor.fetchall()}

    def live_connections(self, cursor: Any) -> dict[int, str] | None:
        try:
            cursor.execute("SELECT ID, USER FROM information_schema.PROCESSLIST")
        except pymysql.err.MySQLError:
            return None
        return {int(r[0]): str(r[1]) for r in cursor.fetchall()}

    def now_sql(self) -> str:
        return "NOW(6)"

    def insert_new_sql(self, table: str, columns: Sequence[str], rows: int) -> str:
        # INSERT IGNORE: the affected-row count is exactly the rows inserted (ON DUPLICATE
        # KEY UPDATE would count a found row as affected under CLIENT_FOUND_ROWS)
        return "INSERT IGNORE" + self.insert_sql(table, columns, rows, False)[len("INSERT") :]

    def table_ref(self, schema: str, sql_name: str) -> str:
        return f"{self.quote(self.database_name(schema))}.{self.quote(sql_name)}"

    def column_type(self, spec: TypeSpec) -> str:
        return spec.mysql()

    def keys_in_sql(self, cols: Sequence[str], n: int) -> str:
        if len(cols) == 1:
            return super().keys_in_sql(cols, n)
        one = "(" + ", ".join(["%s"] * len(cols)) + ")"
        return f"({', '.join(cols)}) IN ({', '.join([one] * n)})"

    def digest_sql(self, sql: str) -> str:
        return f"LEFT(SHA2({sql}, 256), 32)"

    def text_sql(self, sql: str) -> str:
        # bytes, not characters: no collation to mix with the literals around it
        return f"CAST({sql} AS BINARY)"

    def concat_sql(self, parts: Sequence[str]) -> str:
        return "CONCAT(" + ", ".join(parts) + ")"

    def length_sql(self, sql: str) -> str:
        return f"LENGTH({sql})"

    def fingerprint_row(self, fields: Sequence[tuple[TypeSpec, str]], version: int) -> str:
        if version != 2:
            return super().fingerprint_row(fields, version)
        # encoding 2: encoding 1 with float32 values widened to double first (a float is written
        # with 6 significant digits, so 0.1 and 0.1000001 read alike)
        wide = [(spec, f"CAST({sql} AS DOUBLE)" if spec.name == "float32" else sql) for spec, sql in fields]
        return super().fingerprint_row(wide, 1)

    def fingerprint_digest(self, rows: Sequence[str], version: int) -> str:
        if version != 2:
            return super().fingerprint_digest(rows, version)
        return f"CONCAT('v2', LEFT(SHA2({self.concat_sql(rows)}, 256), 30))"

    def select_expr(self, spec: TypeSpec | None, sql: str) -> str:
        if spec is not None and spec.name == "float32":
            return f"CAST({sql} AS DOUBLE)"
        return sql

    def keyword_default(self, spec: TypeSpec, keyword: str) -> str:
        # MySQL wants the precision of CURRENT_TIMESTAMP to match datetime(n)
        if keyword == "CURRENT_TIMESTAMP" and spec.args and int(spec.args[0]) > 0:
            return f"CURRENT_TIMESTAMP({int(spec.args[0])})"
        return keyword

    def create_database(self, schema: str) -> list[str]:
        db = self.quote(self.database_name(schema))
        return [f"CREATE DATABASE IF NOT EXISTS {db} CHARACTER SET utf8mb4 COLLATE {self.collation}"]

    def create_table(self, meta: TableMeta, tables: Mapping[str, TableMeta]) -> list[str]:
        lines = [self.column_ddl(a) for a in meta.attributes]
        if meta.has_provenance:
            lines += self.provenance_ddl()
        lines += self.key_and_fk_ddl(meta, tables)
        for attrs in self.unique_indexes(meta):
            lines.append(f"UNIQUE INDEX ({', '.join(self.quote(a) for a in attrs)})")
        for attrs in self.plain_indexes(meta):
            lines.append(f"INDEX ({', '.join(self.quote(a) for a in attrs)})")
        ref = self.table_ref(meta.schema, meta.sql_name)
        body = ",\n    ".join(lines)
        comment = f" COMMENT={sql_string(meta.doc[:2000])}" if meta.doc else ""
        return [f"CREATE TABLE IF NOT EXISTS {ref} (\n    {body}\n) ENGINE=InnoDB{comment}"]

    def default_sql(self, attr: Any) -> str | None:
        value = super().default_sql(attr)
        spec: TypeSpec = attr.type
        if value == "CURRENT_TIMESTAMP" and spec.kind == "datetime" and spec.args and int(spec.args[0]) > 0:
            return f"CURRENT_TIMESTAMP({int(spec.args[0])})"  # MySQL 8 requires the column's precision
        return value

    def string_literal(self, text: str) -> str:
        return sql_string(text)  # MySQL reads backslash escapes in string literals

    def column_ddl(self, attr: Any) -> str:
        text = super().column_ddl(attr)
        if attr.comment:
            text += f" COMMENT {sql_string(attr.comment[:1000])}"
        return text

    def insert_sql(
        self,
        table: str,
        columns: Sequence[str],
        rows: int,
        skip_duplicates: bool,
        computed: Sequence[base.Computed] = (),
    ) -> str:
        if computed:  # a parameter cannot be read twice: see insert_computes
            raise ArgumentError("MySQL INSERTs do not compute columns from their row's parameters")
        cols = ", ".join(self.quote(c) for c in columns)
        one = "(" + ", ".join(["%s"] * len(columns)) + ")"
        values = ", ".join([one] * rows)
        tail = ""
        if skip_duplicates:
            first = self.quote(columns[0])
            tail = f" ON DUPLICATE KEY UPDATE {first} = {first}"
        return f"INSERT INTO {table} ({cols}) VALUES {values}{tail}"

    def insert_rows(
        self,
        cursor: Any,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        skip_duplicates: bool,
        computed: Sequence[base.Computed] = (),
    ) -> None:
        # pymysql's executemany escapes value by value in Python; here a column of one type is
        # turned into SQL literals at once and the rows go in multi-row statements of a few MB
        if not rows or not columns or computed:
            super().insert_rows(cursor, table, columns, rows, skip_duplicates, computed)
            return
        head = f"INSERT INTO {table} ({', '.join(self.quote(c) for c in columns)}) VALUES "
        tail = ""
        if skip_duplicates:
            first = self.quote(columns[0])
            tail = f" ON DUPLICATE KEY UPDATE {first} = {first}"
        columns_of_values = list(zip(*rows))
        binary = [any(isinstance(v, (bytes, bytearray, memoryview)) for v in col) for col in columns_of_values]
        literal_rows: list[bytes]
        if any(binary):
            # hex (twice the size) while every value of a row fits the packet that way
            hex_up_to = (self.max_packet - (1 << 16)) // (2 * sum(binary))
            literals = [
                binary_literals(col, hex_up_to) if is_binary else list(map(str.encode, column_literals(col)))
                for col, is_binary in zip(columns_of_values, binary)
            ]
            literal_rows = list(map(b",".join, zip(*literals)))
        else:
            text_rows = map(",".join, zip(*[column_literals(col) for col in columns_of_values]))
            literal_rows = list(map(str.encode, text_rows))
        # cut into statements of at most max_statement bytes (a longer row goes alone)
        ends = list(itertools.accumulate(map(len, literal_rows), lambda total, n: total + n + 3))
        start, limit = 0, self.max_statement
        prefix, suffix = head.encode(), tail.encode()
        while start < len(literal_rows):
            base = ends[start - 1] if start else 0
            stop = max(start + 1, bisect.bisect_right(ends, base + limit, lo=start))
            if stop == start + 1:  # one row (maybe a big blob): a single copy
                cursor.execute(b"".join((prefix, b"(", literal_rows[start], b")", suffix)))
            else:
                cursor.execute(b"".join((prefix, b"(", b"),(".join(literal_rows[start:stop]), b")", suffix)))
            start = stop

    def encoder(self, spec: TypeSpec) -> Callable[[Any], Any] | None:
        kind = spec.kind
        if kind == "uuid":
            return _uuid_bytes
        if kind == "bool":
            return int
        return None

    def decoder(self, spec: TypeSpec) -> base.Decoder | None:
        kind = spec.kind
        if kind == "bool":
            return bool
        if kind == "time":
            return _time_of_day
        if kind == "uuid":
            return lambda v: uuid.UUID(bytes=bytes(v))
        if kind == "json":
            return load_json
        if kind == "blob":
            return blob.decode
        if kind in ("bytes", "attach"):
            return bytes
        return None

    def is_driver_error(self, exc: BaseException) -> bool:
        return isinstance(exc, pymysql.err.MySQLError)

    def classify(self, exc: BaseException) -> base.ErrorKind | None:
        if not isinstance(exc, pymysql.err.MySQLError):
            return None
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
        if code == ER_DUP_ENTRY:
            return "duplicate"
        if code in ER_NO_REFERENCED_ROW or code in ER_ROW_IS_REFERENCED:
            return "foreign_key"
        if code in (ER_NO_SUCH_TABLE, ER_BAD_DB):
            return "missing_table"
        if code in (ER_LOCK_WAIT_TIMEOUT, ER_LOCK_DEADLOCK):
            return "lock"
        if code in CONNECTION_ERRORS or isinstance(exc, pymysql.err.InterfaceError):
            return "connection"
        return "other"

    def bad_text_column(self, message: str) -> str | None:
        m = _BAD_TEXT.search(message)
        return m.group(1).replace("``", "`") if m else None

    def column_charset(
        self, query: Callable[[str, Sequence[Any]], list[tuple[Any, ...]]], meta: TableMeta, column: str
    ) -> str | None:
        rows = query(
            "SELECT CHARACTER_SET_NAME FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s AND COLUMN_NAME = %s",
            (self.database_name(meta.schema), meta.sql_name, column),
        )
        return str(rows[0][0]) if rows and rows[0][0] is not None else None

    def existing_columns(self, cursor: Any, meta: TableMeta) -> list[base.ColumnInfo] | None:
        rows = self._catalogue(cursor, "columns", meta)
        if not rows:
            return None
        return [
            base.ColumnInfo(str(r[0]), self.normalise_type(str(r[1])), r[2] == "YES", r[3] == "PRI") for r in rows
        ]

    #: catalogue queries by kind: the rows of one table, ordered, after (schema, table)
    _CATALOGUE = {
        "columns": "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_KEY, "
        "COLUMN_COMMENT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA IN ({}) {} ORDER BY ORDINAL_POSITION",
        "tables": "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_COMMENT FROM information_schema.TABLES "
        "WHERE TABLE_SCHEMA IN ({}) {}",
        "indexes": "SELECT TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME "
        "FROM information_schema.STATISTICS WHERE TABLE_SCHEMA IN ({}) {} AND INDEX_NAME <> 'PRIMARY' "
        "ORDER BY INDEX_NAME, SEQ_IN_INDEX",
        "foreign_keys": "SELECT TABLE_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_SCHEMA, "
        "REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE "
        "WHERE TABLE_SCHEMA IN ({}) {} AND REFERENCED_TABLE_NAME IS NOT NULL "
        "ORDER BY CONSTRAINT_NAME, ORDINAL_POSITION",
    }
    #: the same four reads as one statement (one round trip): kind, schema, table, five values
    #: (NULL where a kind has fewer), then the order within the table (a name, a position)
    _ONE_READ = (
        ("columns", "COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_KEY, COLUMN_COMMENT", "'', ORDINAL_POSITION",
         "COLUMNS", ""),
        ("tables", "TABLE_COMMENT, NULL, NULL, NULL, NULL", "'', 0", "TABLES", ""),
        ("indexes", "INDEX_NAME, NON_UNIQUE, COLUMN_NAME, NULL, NULL", "INDEX_NAME, SEQ_IN_INDEX", "STATISTICS",
         " AND INDEX_NAME <> 'PRIMARY'"),
        ("foreign_keys", "CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_SCHEMA, REFERENCED_TABLE_NAME, "
         "REFERENCED_COLUMN_NAME", "CONSTRAINT_NAME, ORDINAL_POSITION", "KEY_COLUMN_USAGE",
         " AND REFERENCED_TABLE_NAME IS NOT NULL"),
    )
    #: how many of the five values each kind uses
    _WIDTH = {"columns": 5, "tables": 1, "indexes": 3, "foreign_keys": 5}

    def _catalogue(self, cursor: Any, kind: str, meta: TableMeta) -> list[tuple[Any, ...]]:
        db = self.database_name(meta.schema)
        cache = self._cached
        if cache is not None and db in cache["schemas"]:
            names = cache["names"]
            if names is None or (db, meta.sql_name) in names:
                return list(cache[kind].get((db, meta.sql_name), []))
        cursor.execute(self._CATALOGUE[kind].format("%s", "AND TABLE_NAME = %s"), (db, meta.sql_name))
        return [tuple(r[2:]) for r in cursor.fetchall()]

    @contextmanager
    def introspecting(
        self, cursor: Any, schemas: Sequence[str], tables: Sequence[tuple[str, str]] | None = None
    ) -> Iterator[None]:
        dbs = sorted({self.database_name(s) for s in schemas} | {self.database_name(s) for s, _ in tables or ()})
        names = None if tables is None else {(self.database_name(s), n) for s, n in tables}
        where, params = self._catalogue_filter(dbs, names)
        # every text column in the connection's character set: the views' collations differ
        # (MySQL 8), and a UNION of text columns of different collations is an error
        parts = [
            f"SELECT '{kind}', "
            + ", ".join(_as_text(c) for c in f"TABLE_SCHEMA, TABLE_NAME, {values}".split(", "))
            + f", {_as_text(order.split(', ')[0])}, {order.split(', ')[1]} FROM information_schema.{view} "
            f"WHERE {where}{more}"
            for kind, values, order, view, more in self._ONE_READ
        ]
        cache: dict[str, Any] = {"schemas": set(dbs), "names": names}
        grouped: dict[str, dict[tuple[str, str], list[tuple[Any, ...]]]] = {kind: {} for kind in self._WIDTH}
        if dbs and (names is None or names):
            cursor.execute(" UNION ALL ".join(parts), params * len(parts))
            rows = sorted(cursor.fetchall(), key=lambda r: (str(r[8]), int(r[9])))
            for r in rows:
                kind = str(r[0])
                grouped[kind].setdefault((str(r[1]), str(r[2])), []).append(tuple(r[3 : 3 + self._WIDTH[kind]]))
        cache.update(grouped)
        self._cached = cache
        try:
            yield
        finally:
            self._cached = None

    @staticmethod
    def _catalogue_filter(dbs: list[str], names: set[tuple[str, str]] | None) -> tuple[str, tuple[str, ...]]:
        """The WHERE of a catalogue read, with ``=`` where one value (MariaDB reads only that schema's
        folder, or that one table, for an equality; ``IN`` makes it look at every schema)."""
        if names is not None:
            pairs = sorted(names)
            within = sorted({db for db, _ in pairs})
            if len(within) == 1:
                tables = [name for _, name in pairs]
                if len(tables) == 1:
                    return "TABLE_SCHEMA = %s AND TABLE_NAME = %s", (within[0], tables[0])
                return f"TABLE_SCHEMA = %s AND TABLE_NAME IN ({', '.join(['%s'] * len(tables))})", (within[0], *tables)
            ors = " OR ".join(["(TABLE_SCHEMA = %s AND TABLE_NAME = %s)"] * len(pairs))
            schemas = ", ".join(["%s"] * len(within))
            return f"TABLE_SCHEMA IN ({schemas}) AND ({ors})", (*within, *(v for pair in pairs for v in pair))
        if len(dbs) == 1:
            return "TABLE_SCHEMA = %s", (dbs[0],)
        return f"TABLE_SCHEMA IN ({', '.join(['%s'] * len(dbs))})", tuple(dbs)

    def normalise_type(self, spelling: str) -> str:
        s = as_information_schema(spelling).lower().replace(" ", "")
        if s != "tinyint(1)":
            s = _INT_WIDTH.sub(r"\1", s)
        if s == "json":
            s = "longtext"  # MariaDB stores json as longtext with a CHECK
        if s == "year(4)":
            s = "year"  # MariaDB shows the display width
        return s

    # ---- schema evolution ------------------------------------------------------
    def table_names(self, cursor: Any, schema: str) -> set[str]:
        db = self.database_name(schema)
        cache = self._cached
        if cache is not None and db in cache["schemas"]:
            return {name for (d, name) in cache["tables"] if d == db}
        cursor.execute(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (self.database_name(schema),)
        )
        return {str(r[0]) for r in cursor.fetchall()}

    def existing_comments(self, cursor: Any, meta: TableMeta) -> dict[str, str] | None:
        out = {str(r[0]): str(r[4] or "") for r in self._catalogue(cursor, "columns", meta)}
        for (comment,) in self._catalogue(cursor, "tables", meta):
            out[""] = str(comment or "")
        return out

    def expected_comments(self, meta: TableMeta) -> dict[str, str]:
        out = {a.name: a.comment[:1000] for a in base.table_columns(meta)}
        out[""] = meta.doc[:2000]
        return out

    def existing_indexes(self, cursor: Any, meta: TableMeta) -> list[base.IndexInfo]:
        groups: dict[str, tuple[bool, list[str]]] = {}
        for name, non_unique, column in self._catalogue(cursor, "indexes", meta):
            groups.setdefault(str(name), (not int(non_unique), []))[1].append(str(column))
        out = [base.IndexInfo(name, tuple(cols), unique) for name, (unique, cols) in groups.items()]
        return sorted(out, key=lambda i: (i.columns, i.unique))

    def existing_foreign_keys(self, cursor: Any, meta: TableMeta) -> list[base.ForeignKeyInfo]:
        groups: dict[str, list[Any]] = {}
        for row in self._catalogue(cursor, "foreign_keys", meta):
            groups.setdefault(str(row[0]), []).append(row)
        return [
            base.ForeignKeyInfo(
                f"{rows[0][2]}.{rows[0][3]}", tuple(str(r[1]) for r in rows), tuple(str(r[4]) for r in rows)
            )
            for rows in groups.values()
        ]

    def existing_types(self, cursor: Any, meta: TableMeta) -> dict[str, str]:
        return {str(r[0]): _stored_type(self, str(r[1])) for r in self._catalogue(cursor, "columns", meta)}

    def expected_type(self, attr: Attr) -> str:
        return _stored_type(self, self.column_type(attr.type))

    def parse_type(self, stored: str) -> TypeSpec | None:
        if stored.startswith("enum(") and stored.endswith(")"):
            return TypeSpec("enum", tuple(_enum_values(stored[5:-1])))
        m = re.fullmatch(r"([a-z]+)\((\d+)(?:,(\d+))?\)", stored)
        if m and m.group(1) in ("char", "varchar", "time", "datetime", "timestamp"):
            return TypeSpec(m.group(1), (int(m.group(2)),))
        if m and m.group(1) == "decimal":
            return TypeSpec("decimal", (int(m.group(2)), int(m.group(3) or 0)))
        name = _SIMPLE_TYPES.get(stored)
        return TypeSpec(name) if name else None

    def char_length_sql(self, expr: str) -> str:
        return f"CHAR_LENGTH({expr})"

    def alter_table_sql(self, meta: TableMeta, tables: Mapping[str, TableMeta], alter: base.TableAlter) -> list[str]:
        ref = self.table_ref(meta.schema, meta.sql_name)
        q = self.quote
        stmts = []
        for a in alter.modify:  # the NULLs of a column that becomes NOT NULL get the fill first
            if a.name in alter.fills:
                fill = self.literal_default(a.type, alter.fills[a.name])
                stmts.append(f"UPDATE {ref} SET {q(a.name)} = {fill} WHERE {q(a.name)} IS NULL")
        clauses = [f"DROP INDEX {q(i.name)}" for i in alter.drop_indexes]
        order = [a.name for a in base.table_columns(meta)]
        added = {a.name: a for a in alter.add}
        dropping_defaults = []
        for a in base.table_columns(meta):
            if a.name not in added:
                continue
            i = order.index(a.name)
            where = f" AFTER {q(order[i - 1])}" if i else " FIRST"
            if a.name in alter.fills and a.default is REQUIRED:
                # existing rows get the fill through a default that is dropped right after
                filled = Attr(a.name, a.type, a.in_key, a.nullable, alter.fills[a.name], a.comment, a.lineage)
                clauses.append(f"ADD COLUMN {self.column_ddl(filled)}{where}")
                dropping_defaults.append(a.name)
            else:
                clauses.append(f"ADD COLUMN {self.column_ddl(a)}{where}")
        clauses += [f"MODIFY COLUMN {self.column_ddl(a)}" for a in alter.modify]
        clauses += [f"DROP COLUMN {q(c)}" for c in alter.drop]
        for attrs, unique in alter.add_indexes:
            clauses.append(f"ADD {'UNIQUE ' if unique else ''}INDEX ({', '.join(q(a) for a in attrs)})")
        if alter.comment is not None:
            clauses.append(f"COMMENT = {sql_string(alter.comment[:2000])}")
        if clauses:
            stmts.append(f"ALTER TABLE {ref} " + ", ".join(clauses))
        if dropping_defaults:
            stmts.append(f"ALTER TABLE {ref} " + ", ".join(f"ALTER COLUMN {q(c)} DROP DEFAULT" for c in dropping_defaults))
        return stmts


def _as_text(column: str) -> str:
    """A catalogue column (or NULL, or a literal) as text in the connection's character set."""
    return column if column == "NULL" else f"CAST({column} AS CHAR)"


#: stored (normalised) type -> attribute type, for the types without parameters
_SIMPLE_TYPES = {
    **{info.mysql.replace(" ", ""): name for name, info in TYPES.items() if not info.params},
    "longtext": "json",
    "longblob": "blob",
}


def _stored_type(backend: MySQLBackend, spelling: str) -> str:
    """A column type as compared by schema evolution: enums keep their values as written."""
    if spelling.lower().startswith("enum("):
        return "enum(" + as_information_schema(spelling[5:])
    return backend.normalise_type(spelling)


def as_information_schema(spelling: str) -> str:
    """A column type spelled as information_schema shows it: enum values with `\\n`, `\\r` for
    line breaks and `?` for characters beyond U+FFFF (its metadata is utf8mb3).  Applied to
    both sides of a comparison, so that the schema's own spelling matches the server's."""
    spelling = spelling.translate(_AS_INFORMATION_SCHEMA)
    if not spelling.isascii():
        spelling = "".join("?" if ord(ch) > 0xFFFF else ch for ch in spelling)
    return spelling


def _enum_values(text: str) -> list[str]:
    """The values of a MySQL enum body ``'a','b'`` (quotes doubled or backslash-escaped)."""
    out, cur, i, inside = [], [], 0, False
    while i < len(text):
        ch = text[i]
        if not inside:
            inside = ch == "'"
        elif ch == "'" and text[i + 1 : i + 2] == "'":
            cur.append("'")
            i += 1
        elif ch == "\\" and i + 1 < len(text):
            cur.append(_UNESCAPE.get(text[i + 1], text[i + 1]))
            i += 1
        elif ch == "'":
            out.append("".join(cur))
            cur, inside = [], False
        else:
            cur.append(ch)
        i += 1
    return out


_AS_INFORMATION_SCHEMA = str.maketrans({"\n": "\\n", "\r": "\\r"})
_UNESCAPE = {"n": "\n", "r": "\r", "0": "\0", "Z": "\x1a"}

# ------------------------------------------------------------------ SQL literals for INSERT

# backslash escapes of string literals (the session's sql_mode keeps backslash escapes on)
_ESCAPES = str.maketrans({"\0": "\\0", "\n": "\\n", "\r": "\\r", "\x1a": "\\Z", "'": "\\'", '"': '\\"', "\\": "\\\\"})


def _str_literal(v: str) -> str:
    return "'" + v.translate(_ESCAPES) + "'"


def _bytes_literal(v: bytes | bytearray | memoryview) -> str:
    return "_binary X'" + bytes(v).hex() + "'"


def _float_literal(v: float) -> str:
    text = repr(float(v))
    if "e" in text:
        return text
    if "n" in text:  # inf, nan
        raise pymysql.err.ProgrammingError(f"{text} cannot be stored in MySQL")
    return text + "e0"  # a DOUBLE literal, not an exact DECIMAL one


_SEP = "\x1f"  # joins a column for one translate() call; the column is checked not to contain it


def _quoted_strs(col: Sequence[str]) -> list[str]:
    joined = _SEP.join(col)
    if joined.count(_SEP) != len(col) - 1:  # a value holds the separator itself
        return ["'" + v.translate(_ESCAPES) + "'" for v in col]
    return ("'" + joined.translate(_ESCAPES).replace(_SEP, "'" + _SEP + "'") + "'").split(_SEP)


def _quoted_iso(col: Sequence[dt.date | dt.time]) -> list[str]:
    # isoformat() never contains the separator; datetime.__str__ is isoformat(" ")
    return ("'" + ("'" + _SEP + "'").join(map(str, col)) + "'").split(_SEP)


def _floats(col: Sequence[float]) -> list[str]:
    texts = list(map(float.__repr__, col))
    return [t if "e" in t else (t + "e0" if "n" not in t else _float_literal(float(t))) for t in texts]


_QUOTED = "'{}'".format

#: column-at-once literal makers for columns of one exact Python type (no None)
_COLUMN_LITERALS: dict[type, Callable[[Sequence[Any]], list[str]]] = {
    int: lambda col: list(map(int.__repr__, col)),
    float: _floats,
    str: _quoted_strs,
    bool: lambda col: ["1" if v else "0" for v in col],
    dt.date: _quoted_iso,
    dt.datetime: _quoted_iso,
    dt.time: _quoted_iso,
    decimal.Decimal: lambda col: [f"{v:f}" for v in col],
    bytes: lambda col: list(map(_bytes_literal, col)),
}


def literal(v: Any) -> str:
    """The SQL literal of one driver value (the same escaping as pymysql's)."""
    if v is None:
        return "NULL"
    maker = _COLUMN_LITERALS.get(type(v))
    if maker is not None:
        return maker([v])[0]
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return int.__repr__(int(v))
    if isinstance(v, float):
        return _float_literal(v)
    if isinstance(v, str):
        return _str_literal(str(v))
    if isinstance(v, (bytes, bytearray, memoryview)):
        return _bytes_literal(v)
    if isinstance(v, decimal.Decimal):
        return f"{v:f}"
    if isinstance(v, (dt.date, dt.time)):  # datetime is a date
        return _QUOTED(v.isoformat(" ") if isinstance(v, dt.datetime) else v.isoformat())
    if hasattr(v, "item") and callable(v.item):  # a numpy scalar
        return literal(v.item())
    return str(pymysql.converters.escape_item(v, "utf8mb4"))


def _escape_bytes(data: bytes) -> bytes:
    return (
        data.replace(b"\\", b"\\\\")
        .replace(b"'", b"\\'")
        .replace(b"\x00", b"\\0")
        .replace(b"\n", b"\\n")
        .replace(b"\r", b"\\r")
        .replace(b"\x1a", b"\\Z")
        .replace(b'"', b'\\"')
    )


def binary_literals(col: Sequence[Any], hex_up_to: int) -> list[bytes]:
    """SQL literals (as bytes) of a column holding bytes.

    Values up to ``hex_up_to`` bytes are hex literals (the fastest to make); longer ones
    are ``_binary'...'`` with the bytes escaped, about their own size instead of twice
    it, so that a big blob still fits the server's max_allowed_packet.
    """
    out: list[bytes] = []
    for v in col:
        if v is None:
            out.append(b"NULL")
        elif isinstance(v, (bytes, bytearray, memoryview)):
            data = bytes(v)
            if len(data) <= hex_up_to:
                out.append(b"X'" + binascii.hexlify(data) + b"'")
            else:
                out.append(b"_binary'" + _escape_bytes(data) + b"'")
        else:
            out.append(literal(v).encode())
    return out


def column_literals(col: Sequence[Any]) -> list[str]:
    """SQL literals of a column of driver values, a column of one type at once."""
    types = set(map(type, col))
    if len(types) == 1:
        maker = _COLUMN_LITERALS.get(next(iter(types)))
        if maker is not None:
            return maker(col)
    elif len(types) == 2 and type(None) in types:
        types.discard(type(None))
        maker = _COLUMN_LITERALS.get(next(iter(types)))
        if maker is not None:
            present = maker([v for v in col if v is not None])
            it = iter(present)
            return ["NULL" if v is None else next(it) for v in col]
    return list(map(literal, col))


def _fast(parse: Callable[[str], Any], fallback: Callable[[str], Any]) -> Callable[[str], Any]:
    """A result converter: ``parse`` (a C function), else pymysql's own conversion (zero dates...)."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError:
            return fallback(text)

    return convert


def _time_text(text: str) -> Any:
    # MySQL TIME is a duration (may be negative or above 24 h); the runtime stores times of day
    return dt.time.fromisoformat(text) if len(text) >= 8 and text[2] == ":" else pymysql.converters.convert_timedelta(text)


# pymysql's result conversions with date/time parsing by the C ``fromisoformat`` (several
# times faster than pymysql's regular expressions; everything else is pymysql's)
_CONVERSIONS: dict[Any, Any] = dict(pymysql.converters.conversions)
_CONVERSIONS[FIELD_TYPE.DATE] = _fast(dt.date.fromisoformat, pymysql.converters.convert_date)
_CONVERSIONS[FIELD_TYPE.DATETIME] = _fast(dt.datetime.fromisoformat, pymysql.converters.convert_datetime)
_CONVERSIONS[FIELD_TYPE.TIMESTAMP] = _fast(dt.datetime.fromisoformat, pymysql.converters.convert_datetime)
_CONVERSIONS[FIELD_TYPE.TIME] = _fast(_time_text, pymysql.converters.convert_timedelta)


def _uuid_bytes(v: uuid.UUID) -> bytes:
    return v.bytes


def _time_of_day(v: Any) -> dt.time:
    if isinstance(v, dt.timedelta):
        return (dt.datetime.min + v).time()
    if isinstance(v, dt.time):
        return v
    return dt.time.fromisoformat(str(v))
