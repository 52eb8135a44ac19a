"""MySQL / MariaDB through pymysql: the shared server many workers use at once.

Each schema is a database (optionally prefixed: ``mysql://...?prefix=alice_``),
created with a binary no-pad collation so that string comparison, uniqueness
and ordering agree with SQLite.  ``float32`` columns are selected as DOUBLE so
their values come back exactly (the text protocol rounds FLOAT to 6 digits).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pymysql
import pymysql.constants.CLIENT
import pymysql.err

from ...types import TypeSpec, sql_string
from ..meta import TableMeta
from . import base
from .. import blob

# MySQL error numbers
ER_DUP_ENTRY = 1062
ER_NO_REFERENCED_ROW = (1216, 1452)
ER_ROW_IS_REFERENCED = (1217, 1451)
ER_NO_SUCH_TABLE = 1146
ER_BAD_DB = 1049
ER_LOCK_WAIT_TIMEOUT = 1205
ER_LOCK_DEADLOCK = 1213
CONNECTION_ERRORS = (2006, 2013, 2003, 2055)

_INT_WIDTH = re.compile(r"^(tinyint|smallint|mediumint|int|bigint)\(\d+\)")


class MySQLBackend(base.Backend):
    name = "mysql"
    placeholder = "%s"
    max_params = 60000
    q = "`"

    def __init__(self, params: base.ConnectionParams) -> None:
        super().__init__(params)
        self.collation = "utf8mb4_nopad_bin"

    def connect(self) -> Any:
        p = self.params
        conn = pymysql.connect(
            host=p.host or "127.0.0.1",
            port=p.port or 3306,
            user=p.user or "root",
            password=p.password,
            autocommit=True,
            charset="utf8mb4",
            connect_timeout=int(p.option("connect_timeout", "10")),
            client_flag=pymysql.constants.CLIENT.FOUND_ROWS,
        )
        with conn.cursor() as cur:
            cur.execute("SELECT VERSION()")
            row = cur.fetchone()
            version = str(row[0]) if row else ""
            if "mariadb" not in version.lower():
                self.collation = "utf8mb4_0900_bin"
            cur.execute(f"SET NAMES utf8mb4 COLLATE {self.collation}")
            cur.execute("SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'")
            cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
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

    def table_ref(self, schema: str, sql_name: str) -> str:
        return f"{self.quote(self.database_name(schema))}.{self.quote(sql_name)}"

    def column_type(self, spec: TypeSpec) -> str:
        return spec.mysql()

    def select_expr(self, spec: TypeSpec | None, sql: str) -> str:
        if spec is not None and spec.name == "float32":
            return f"CAST({sql} AS DOUBLE)"
        return sql

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

    def column_ddl(self, attr: Any) -> str:
        text = super().column_ddl(attr)
        if attr.comment:
            text += f" COMMENT {sql_string(attr.comment[:1000])}"
        return text

    def insert_sql(self, table: str, columns: Sequence[str], rows: int, skip_duplicates: bool) -> str:
        cols = ", ".join(self.quote(c) for c in columns)
        one = "(" + ", ".join(["%s"] * len(columns)) + ")"
        values = ", ".join([one] * rows)
        tail = ""
        if skip_duplicates:
            first = self.quote(columns[0])
            tail = f" ON DUPLICATE KEY UPDATE {first} = {first}"
        return f"INSERT INTO {table} ({cols}) VALUES {values}{tail}"

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
            return json.loads
        if kind == "blob":
            return blob.decode
        if kind == "bytes":
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

    def existing_columns(self, cursor: Any, meta: TableMeta) -> list[base.ColumnInfo] | None:
        cursor.execute(
            "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_KEY FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION",
            (self.database_name(meta.schema), meta.sql_name),
        )
        rows = cursor.fetchall()
        if not rows:
            return None
        return [
            base.ColumnInfo(str(r[0]), self.normalise_type(str(r[1])), r[2] == "YES", r[3] == "PRI") for r in rows
        ]

    def normalise_type(self, spelling: str) -> str:
        s = spelling.lower().replace(" ", "")
        if s != "tinyint(1)":
            s = _INT_WIDTH.sub(r"\1", s)
        if s == "json":
            s = "longtext"  # MariaDB stores json as longtext with a CHECK
        return s


def _uuid_bytes(v: uuid.UUID) -> bytes:
    return v.bytes


def _time_of_day(v: Any) -> dt.time:
    if isinstance(v, dt.timedelta):
        return (dt.datetime.min + v).time()
    if isinstance(v, dt.time):
        return v
    return dt.time.fromisoformat(str(v))
