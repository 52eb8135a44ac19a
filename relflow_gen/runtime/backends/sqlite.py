"""SQLite: the embedded default backend (stdlib sqlite3, one file, WAL).

All schemas of a pipeline live in the one database file; a table of schema
``lab`` named ``#species`` (DataJoint convention) is the SQLite table
``"lab.#species"``, so tables of imported schemas sit beside the root's and
foreign keys work across schemas.  Dates and times are ISO-8601 text, UUIDs
16-byte blobs, decimals NUMERIC (exact up to 15 digits; wider ones are text),
enums text with a CHECK constraint, uint64 the signed 64-bit pattern.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import itertools
import os
import re
import sqlite3
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from relflow_gen.core.meta import Attr, SqlDefault, TableMeta
from relflow_gen.core.types import TypeSpec
from relflow_gen.runtime import blob
from relflow_gen.runtime.backends import base
from relflow_gen.runtime.engine.codec import DECIMAL_CONTEXT, load_json
from relflow_gen.runtime.errors import MigrateError, MissingDatabaseError

#: SQLite INTEGER is signed 64-bit: uint64 values above INT64_MAX are stored as their
#: two's-complement pattern (negative) and decoded back; ordering by them is corrected
_INT64_MAX = 2**63 - 1
_TWO_64 = 2**64
#: NUMERIC affinity keeps 15 significant digits exactly; wider decimals are stored as text
_EXACT_NUMERIC_DIGITS = 15

#: rows per multi-row INSERT statement (bounded by the parameter limit too)
_ROWS_PER_STATEMENT = 100

# SQLITE_MAX_VARIABLE_NUMBER is 32766 since SQLite 3.32
_MAX_PARAMS = 32766 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999


class SQLiteBackend(base.Backend):
    name = "sqlite"
    placeholder = "?"
    max_params = _MAX_PARAMS
    q = '"'
    transactional_ddl = True
    int_division = True
    input_fingerprint_version = 2
    insert_computes = True

    def __init__(self, params: base.ConnectionParams) -> None:
        super().__init__(params)
        #: the catalogue read by introspecting(), while its block runs
        self._cached: dict[str, Any] | None = None

    def connect(self) -> Any:
        path = self.params.database
        timeout = float(self.params.option("timeout", "60"))
        target: str = path or ":memory:"
        uri = False
        if path not in ("", ":memory:"):
            if self.params.create:
                folder = os.path.dirname(os.path.abspath(path))
                os.makedirs(folder, exist_ok=True)
            else:
                if not os.path.isfile(path):
                    raise MissingDatabaseError(
                        f"no SQLite database at {path!r} (a mistyped path? declare creates a new one)"
                    )
                # read-write, never create: a file deleted meanwhile is an error, not a new empty database
                target, uri = "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=rw", True
        conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False, timeout=timeout, uri=uri)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.create_function("rf_sha256", 1, _sha256, deterministic=True)
        conn.create_function("rf_input_v2", 1, _input_v2, deterministic=True)
        # LIKE compares case-sensitively, as MySQL does with the binary collation the schemas use
        conn.execute("PRAGMA case_sensitive_like = ON")
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        if path not in ("", ":memory:"):
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    def begin(self, cursor: Any, *, immediate: bool) -> None:
        cursor.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")

    def digest_sql(self, sql: str) -> str:
        return f"rf_sha256({sql})"

    def text_sql(self, sql: str) -> str:
        return f"CAST({sql} AS TEXT)"

    def concat_sql(self, parts: Sequence[str]) -> str:
        return "(" + " || ".join(parts) + ")"

    def length_sql(self, sql: str) -> str:
        return f"length({sql})"

    def fingerprint_row(self, fields: Sequence[tuple[TypeSpec, str]], version: int) -> str:
        if version != 2:
            return super().fingerprint_row(fields, version)
        # encoding 2: f1,f2,... with each value as quote() writes it: exact for REAL (a CAST to TEXT
        # keeps 15 digits), text in quotes with '' inside, NULL as NULL; blobs, bytes, files by digest.
        # No token is '-' (a missing row) and ',' / ';' appear outside quotes only as separators.
        parts = [f"quote({self.digest_sql(sql) if spec.kind in _DIGESTED_V2 else sql})" for spec, sql in fields]
        return "(" + " || ',' || ".join(parts) + ")"

    def fingerprint_digest(self, rows: Sequence[str], version: int) -> str:
        if version != 2:
            return super().fingerprint_digest(rows, version)
        return "rf_input_v2(" + " || ';' || ".join(rows) + ")"  # parent rows separated by ;

    def connection_id(self, cursor: Any) -> int:
        return 0

    def live_connection_ids(self, cursor: Any) -> set[int] | None:
        return None

    def now_sql(self) -> str:
        return "strftime('%Y-%m-%d %H:%M:%f', 'now')"  # UTC, like MySQL sessions

    def table_ref(self, schema: str, sql_name: str) -> str:
        return self.quote(f"{schema}.{sql_name}")

    def column_type(self, spec: TypeSpec) -> str:
        if spec.name == "decimal":
            if int(spec.args[0]) > _EXACT_NUMERIC_DIGITS:  # NUMERIC would round it to a double
                return f"DECIMAL_TEXT({spec.args[0]},{spec.args[1]})"  # TEXT affinity: exact
            return f"NUMERIC({spec.args[0]},{spec.args[1]})"
        if spec.name in ("char", "varchar"):
            return f"VARCHAR({spec.args[0]})"
        return spec.sqlite()

    def order_expr(self, spec: TypeSpec | None, sql: str) -> str:
        if spec is not None and spec.name == "enum":
            whens = " ".join(f"WHEN {self.string_literal(str(v))} THEN {i}" for i, v in enumerate(spec.args))
            return f"(CASE {sql} {whens} END)"
        if spec is not None and spec.name == "uint64":
            # stored as the signed 64-bit pattern: flipping the top bit sorts in unsigned order
            return f"(CASE WHEN {sql} >= 0 THEN {sql} - 9223372036854775807 - 1 ELSE {sql} + 9223372036854775807 + 1 END)"
        if spec is not None and spec.name == "decimal" and int(spec.args[0]) > _EXACT_NUMERIC_DIGITS:
            return f"CAST({sql} AS REAL)"
        return sql

    def create_database(self, schema: str) -> list[str]:
        return []

    def column_extra(self, attr: Any) -> list[str]:
        spec: TypeSpec = attr.type
        col = self.quote(attr.name)
        if spec.name == "enum":
            values = ", ".join(self.string_literal(str(v)) for v in spec.args)
            return [f"CHECK ({col} IN ({values}))"]
        if spec.name == "bool":
            return [f"CHECK ({col} IN (0, 1))"]
        return []

    def create_table(self, meta: TableMeta, tables: Mapping[str, TableMeta]) -> list[str]:
        lines = [self.column_ddl(a) for a in meta.attributes]
        if meta.has_provenance:
            lines += self.provenance_ddl()
        lines += self.key_and_fk_ddl(meta, tables)
        for attrs in self.unique_indexes(meta):
            lines.append(f"UNIQUE ({', '.join(self.quote(a) for a in attrs)})")
        ref = self.table_ref(meta.schema, meta.sql_name)
        body = ",\n    ".join(lines)
        comment = f"-- {' '.join(meta.doc.split())}\n" if meta.doc else ""  # one line: docs may hold newlines
        stmts = [f"{comment}CREATE TABLE IF NOT EXISTS {ref} (\n    {body}\n)"]
        for attrs in self.plain_indexes(meta):
            name = self.quote(f"{meta.schema}.{meta.sql_name}__{'_'.join(attrs)}")
            cols = ", ".join(self.quote(a) for a in attrs)
            stmts.append(f"CREATE INDEX IF NOT EXISTS {name} ON {ref} ({cols})")
        # index foreign-key columns that are not a prefix of the primary key (MySQL does this itself)
        for fk in meta.foreign_keys:
            cols_t = tuple(c for c, _ in fk.attrs)
            if meta.primary_key[: len(cols_t)] == cols_t or cols_t in self.unique_indexes(meta):
                continue
            name = self.quote(f"{meta.schema}.{meta.sql_name}__fk_{'_'.join(cols_t)}")
            stmts.append(f"CREATE INDEX IF NOT EXISTS {name} ON {ref} ({', '.join(self.quote(c) for c in cols_t)})")
        return stmts

    def insert_sql(
        self,
        table: str,
        columns: Sequence[str],
        rows: int,
        skip_duplicates: bool,
        computed: Sequence[base.Computed] = (),
    ) -> str:
        tail = " ON CONFLICT DO NOTHING" if skip_duplicates else ""
        if computed:
            # numbered parameters: a computed column reads its row's values again, unbound twice
            cols = ", ".join(self.quote(c) for c in (*columns, *(name for name, _ in computed)))
            width = len(columns)
            rows_sql = []
            for r in range(rows):
                at = r * width + 1
                own = [f"?{at + k}" for k in range(width)]
                exprs = ["".join(p if isinstance(p, str) else own[p] for p in pieces) for _, pieces in computed]
                rows_sql.append("(" + ", ".join(own + exprs) + ")")
            return f"INSERT INTO {table} ({cols}) VALUES {', '.join(rows_sql)}{tail}"
        cols = ", ".join(self.quote(c) for c in columns)
        one = "(" + ", ".join("?" * len(columns)) + ")" if columns else "DEFAULT VALUES"
        values = ", ".join([one] * rows)
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
        # multi-row statements bind the same parameters with far fewer statement steps:
        # about twice as fast as executemany of a one-row INSERT
        width = len(columns)
        per = min(_ROWS_PER_STATEMENT, self.max_params // width) if width else 1
        if per <= 1 or len(rows) < 2 * per:
            super().insert_rows(cursor, table, columns, rows, skip_duplicates, computed)
            return
        full = len(rows) - len(rows) % per
        chain = itertools.chain.from_iterable
        cursor.executemany(
            self.insert_sql(table, columns, per, skip_duplicates, computed),
            [list(chain(rows[i : i + per])) for i in range(0, full, per)],
        )
        if full < len(rows):
            rest = rows[full:]
            cursor.execute(self.insert_sql(table, columns, len(rest), skip_duplicates, computed), list(chain(rest)))

    def encoder(self, spec: TypeSpec) -> Callable[[Any], Any] | None:
        kind = spec.kind
        if kind == "decimal":
            return _plain_decimal
        if spec.name == "uint64":
            return _uint64_to_signed
        if kind == "date":
            return dt.date.isoformat  # checked values are dates (C method, no wrapper)
        if kind == "time":
            return dt.time.isoformat
        if kind == "datetime":
            return _iso_datetime
        if kind == "uuid":
            return _uuid_bytes
        return None

    def decoder(self, spec: TypeSpec) -> base.Decoder | None:
        kind = spec.kind
        if kind == "bool":
            return bool
        if kind == "decimal":
            quantum = decimal.Decimal(1).scaleb(-int(spec.args[1]))
            return lambda v: decimal.Decimal(repr(v) if isinstance(v, float) else str(v)).quantize(
                quantum, context=DECIMAL_CONTEXT
            )
        if spec.name == "uint64":
            return _signed_to_uint64
        if kind == "date":
            return dt.date.fromisoformat
        if kind == "time":
            return dt.time.fromisoformat
        if kind == "datetime":
            return dt.datetime.fromisoformat
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
        return isinstance(exc, sqlite3.Error)

    def classify(self, exc: BaseException) -> base.ErrorKind | None:
        if not isinstance(exc, sqlite3.Error):
            return None
        msg = str(exc)
        if isinstance(exc, sqlite3.IntegrityError):
            if "UNIQUE constraint failed" in msg or "PRIMARY KEY" in msg:
                return "duplicate"
            if "FOREIGN KEY constraint failed" in msg:
                return "foreign_key"
            return "other"
        if "no such table" in msg:
            return "missing_table"
        if "database is locked" in msg or "busy" in msg:
            return "lock"
        return "other"

    @contextmanager
    def introspecting(
        self, cursor: Any, schemas: Sequence[str], tables: Sequence[tuple[str, str]] | None = None
    ) -> Iterator[None]:
        # One read of sqlite_master (which tables exist, their CREATE TABLE text); the columns,
        # indexes and foreign keys come from the PRAGMAs of each table read. (One statement
        # joining the pragma functions was measured slower: SQLite prepares it at every new
        # connection, and these small statements cost microseconds each.)
        names = None if tables is None else {f"{s}.{n}" for s, n in tables}
        cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
        prefixes = tuple(f"{s}." for s in schemas)
        self._cached = {
            "schemas": set(schemas) | {s for s, _ in tables or ()},
            "names": names,
            "sql": {
                str(name): str(sql or "")
                for name, sql in cursor.fetchall()
                if (str(name) in names if names is not None else str(name).startswith(prefixes))
            },
        }
        try:
            yield
        finally:
            self._cached = None

    def _cached_sql(self, meta: TableMeta) -> tuple[bool, str | None]:
        """(whether the catalogue read covers the table, its CREATE TABLE text or None when absent)."""
        cache = self._cached
        name = f"{meta.schema}.{meta.sql_name}"
        if cache is None or meta.schema not in cache["schemas"]:
            return False, None
        if cache["names"] is not None and name not in cache["names"]:
            return False, None
        sql: str | None = cache["sql"].get(name)
        return True, sql

    def _stored_create(self, cursor: Any, meta: TableMeta) -> str | None:
        """The stored CREATE TABLE text of a table, None when there is no such table."""
        covered, sql = self._cached_sql(meta)
        if covered:
            return sql
        cursor.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (f"{meta.schema}.{meta.sql_name}",)
        )
        row = cursor.fetchone()
        return None if row is None else str(row[0])

    def unchanged(self, cursor: Any, meta: TableMeta, tables: Mapping[str, TableMeta]) -> bool:
        # SQLite keeps the CREATE TABLE text as run, without the comment before it and with
        # "IF NOT EXISTS" left out: the same text means the same table
        stored = self._stored_create(cursor, meta)
        if stored is None:
            return False
        created = self.create_table(meta, tables)[0]
        created = created[created.index("CREATE TABLE IF NOT EXISTS ") :].replace(" IF NOT EXISTS", "", 1)
        return stored == created

    def existing_columns(self, cursor: Any, meta: TableMeta) -> list[base.ColumnInfo] | None:
        name = f"{meta.schema}.{meta.sql_name}"
        covered, sql = self._cached_sql(meta)
        if covered:
            if sql is None:
                return None
        else:
            cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
            if cursor.fetchone() is None:
                return None
        cursor.execute(f"PRAGMA table_info({self.quote(name)})")
        return [
            base.ColumnInfo(row[1], self.normalise_type(row[2]), not row[3], bool(row[5]))
            for row in cursor.fetchall()
        ]

    # ---- schema evolution ------------------------------------------------------
    def table_names(self, cursor: Any, schema: str) -> set[str]:
        prefix = f"{schema}."
        cache = self._cached
        if cache is not None and schema in cache["schemas"]:
            names = list(cache["sql"])
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            names = [r[0] for r in cursor.fetchall()]
        return {str(n)[len(prefix) :] for n in names if str(n).startswith(prefix)}

    def fk_parent_name(self, parent: TableMeta) -> str:
        return f"{parent.schema}.{parent.sql_name}"

    def existing_indexes(self, cursor: Any, meta: TableMeta) -> list[base.IndexInfo]:
        name = self.quote(f"{meta.schema}.{meta.sql_name}")
        cursor.execute(f"PRAGMA index_list({name})")
        out = []
        for row in cursor.fetchall():
            if row[3] == "pk":
                continue
            cursor.execute(f"PRAGMA index_info({self.quote(row[1])})")
            cols = tuple(str(r[2]) for r in sorted(cursor.fetchall()))
            out.append(base.IndexInfo(str(row[1]), cols, bool(row[2])))
        return sorted(out, key=lambda i: (i.columns, i.unique))

    def existing_foreign_keys(self, cursor: Any, meta: TableMeta) -> list[base.ForeignKeyInfo]:
        cursor.execute(f"PRAGMA foreign_key_list({self.quote(f'{meta.schema}.{meta.sql_name}')})")
        groups: dict[int, list[Any]] = {}
        for row in cursor.fetchall():
            groups.setdefault(int(row[0]), []).append(row)
        out = []
        for rows in groups.values():
            rows.sort(key=lambda r: r[1])
            out.append(
                base.ForeignKeyInfo(str(rows[0][2]), tuple(str(r[3]) for r in rows), tuple(str(r[4]) for r in rows))
            )
        return out

    def existing_types(self, cursor: Any, meta: TableMeta) -> dict[str, str]:
        # the declared type and the CHECK of each column, from the stored CREATE TABLE text
        covered, sql = self._cached_sql(meta)
        if not covered:
            cursor.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (f"{meta.schema}.{meta.sql_name}",)
            )
            row = cursor.fetchone()
            sql = None if row is None else str(row[0])
        if sql is None:
            return {}
        return {name: self._stored_type(text) for name, text in _column_definitions(sql).items()}

    def _stored_type(self, definition: str) -> str:
        words = _split_top(definition, " ")
        type_text = self.normalise_type(words[0]) if words else ""
        check = ""
        for i, w in enumerate(words):
            if w.upper() == "CHECK" and i + 1 < len(words):
                check = " CHECK " + " ".join(words[i + 1].split())
        return type_text + check

    def expected_type(self, attr: Attr) -> str:
        check = ""
        for extra in self.column_extra(attr):
            if extra.startswith("CHECK "):
                check = " CHECK " + " ".join(extra[len("CHECK ") :].split())
        return self.normalise_type(self.column_type(attr.type)) + check

    def parse_type(self, stored: str) -> TypeSpec | None:
        type_text, _, check = stored.partition(" CHECK ")
        m = re.fullmatch(r"(varchar|numeric|decimal_text)\((\d+)(?:,(\d+))?\)", type_text)
        if m and m.group(1) == "varchar":
            return TypeSpec("varchar", (int(m.group(2)),))
        if m:
            return TypeSpec("decimal", (int(m.group(2)), int(m.group(3) or 0)))
        if type_text == "integer":
            return TypeSpec("bool") if check.endswith("IN (0, 1))") else TypeSpec("int64")
        if type_text == "text" and check:
            inner = check[check.find(" IN (") + len(" IN (") : -2]
            return TypeSpec("enum", tuple(_sql_strings(inner)))
        simple = {"text": "text", "real": "float64", "blob": "blob"}
        return TypeSpec(simple[type_text]) if type_text in simple else None

    def _addable(self, attr: Attr) -> bool:
        """ALTER TABLE ADD COLUMN can add this column (SQLite's documented limits)."""
        if attr.in_key or isinstance(attr.default, SqlDefault):
            return False
        return attr.nullable or self.default_sql(attr) not in (None, "NULL")

    def alter_table_sql(self, meta: TableMeta, tables: Mapping[str, TableMeta], alter: base.TableAlter) -> list[str]:
        ref = self.table_ref(meta.schema, meta.sql_name)
        in_place = (
            not alter.modify
            and not alter.drop
            and not alter.fills
            and not any(unique for _, unique in alter.add_indexes)
            and not any(i.unique for i in alter.drop_indexes)
            and all(self._addable(a) for a in alter.add)
        )
        if in_place:
            stmts = [f"ALTER TABLE {ref} ADD COLUMN {self.column_ddl(a)}" for a in alter.add]
            stmts += [f"DROP INDEX IF EXISTS {self.quote(i.name)}" for i in alter.drop_indexes]
            for attrs, _ in alter.add_indexes:
                name = self.quote(f"{meta.schema}.{meta.sql_name}__{'_'.join(attrs)}")
                stmts.append(f"CREATE INDEX IF NOT EXISTS {name} ON {ref} ({', '.join(self.quote(a) for a in attrs)})")
            return stmts
        # the documented rebuild: new table, copy, drop, rename (one transaction: see migration_script)
        alter.rebuild = True
        create = self.create_table(meta, tables)
        temp_name = f"{meta.schema}.{meta.sql_name}~new"
        temp = self.quote(temp_name)
        head = f"CREATE TABLE IF NOT EXISTS {ref} ("
        first = create[0].replace(head, f"CREATE TABLE {temp} (", 1)
        added = {a.name for a in alter.add}
        columns = [a for a in base_columns(meta) if a.name not in added or a.name in alter.fills]
        exprs = []
        for a in columns:
            fill = alter.fills.get(a.name)
            literal = self.literal_default(a.type, fill) if fill is not None else None
            if a.name in added:
                exprs.append(literal or "NULL")
            elif literal is not None:
                exprs.append(f"COALESCE({self.quote(a.name)}, {literal})")
            else:
                exprs.append(self.quote(a.name))
        cols = ", ".join(self.quote(a.name) for a in columns)
        return [
            first,
            f"INSERT INTO {temp} ({cols}) SELECT {', '.join(exprs)} FROM {ref}",
            f"DROP TABLE {ref}",
            f"ALTER TABLE {temp} RENAME TO {self.quote(f'{meta.schema}.{meta.sql_name}')}",
            *create[1:],
        ]

    def migration_script(self, statements: list[str], *, rebuilds: bool = False) -> list[str]:
        if not statements:
            return []
        if not rebuilds:  # ADD COLUMN, CREATE TABLE/INDEX: nothing a foreign key could lose
            return ["BEGIN IMMEDIATE", *statements, "COMMIT"]
        # foreign_keys cannot change inside a transaction: off before, checked, on after
        return [
            "PRAGMA foreign_keys = OFF",
            "BEGIN IMMEDIATE",
            *statements,
            "PRAGMA foreign_key_check",
            "COMMIT",
            "PRAGMA foreign_keys = ON",
        ]

    def run_migration(self, cursor: Any, statements: list[str]) -> None:
        try:
            for stmt in statements:
                cursor.execute(stmt)
                if stmt == "PRAGMA foreign_key_check":
                    bad = cursor.fetchall()
                    if bad:
                        tables = sorted({str(r[0]) for r in bad})
                        raise MigrateError(
                            f"the migrated tables break {len(bad)} foreign key(s) (in {', '.join(tables)}); "
                            "nothing was changed"
                        )
        except BaseException:
            if cursor.connection.in_transaction:
                cursor.execute("ROLLBACK")
            raise
        finally:
            cursor.execute("PRAGMA foreign_keys = ON")


def base_columns(meta: TableMeta) -> list[Attr]:
    """The columns of a table: its attributes, then the hidden provenance columns."""
    return base.table_columns(meta)


def _split_top(text: str, sep: str) -> list[str]:
    """Split at ``sep`` outside quotes and parentheses (empty pieces dropped).

    A quote runs to its closing quote (a doubled quote reopens at once, so ``'it''s'`` is one
    piece) or, unterminated, to the end; brackets quote like MS SQL's ``[name]``.
    """
    out: list[str] = []
    start = depth = 0
    for m in _TOKENS.finditer(text):
        ch = m.group()
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == sep and depth == 0:
            out.append(text[start : m.start()].strip())
            start = m.end()
    out.append(text[start:].strip())
    return [p for p in out if p]


#: what _split_top looks at: a quoted run (skipped whole), a parenthesis, a comma or a space
_TOKENS = re.compile(r"""'[^']*'?|"[^"]*"?|`[^`]*`?|\[[^\]]*\]?|[(), ]""")


def _column_definitions(create_sql: str) -> dict[str, str]:
    """Column name -> the rest of its definition, from a CREATE TABLE statement."""
    body = create_sql[create_sql.index("(") + 1 : create_sql.rindex(")")]
    out = {}
    for piece in _split_top(body, ","):
        if not piece.startswith('"'):
            continue  # PRIMARY KEY, FOREIGN KEY, UNIQUE
        end = 1
        while True:
            end = piece.index('"', end)
            if piece[end : end + 2] == '""':
                end += 2
                continue
            break
        out[piece[1:end].replace('""', '"')] = piece[end + 1 :].strip()
    return out


def _sql_strings(text: str) -> list[str]:
    """The values of a comma-separated list of SQL string literals."""
    return [p[1:-1].replace("''", "'") for p in _split_top(text, ",")]


def _plain_decimal(v: decimal.Decimal) -> str:
    return f"{v:f}"  # never exponent notation: "0.0000001", not "1E-7"


def _uint64_to_signed(v: int) -> int:
    return v - _TWO_64 if v > _INT64_MAX else v


def _signed_to_uint64(v: int) -> int:
    return v + _TWO_64 if v < 0 else v


def _iso_datetime(v: dt.datetime) -> str:
    return v.isoformat(sep=" ")


def _uuid_bytes(v: uuid.UUID) -> bytes:
    return v.bytes


_new_sha256 = hashlib.sha256
_blake2b = hashlib.blake2b
#: codec kinds whose values enter an input fingerprint of encoding 2 by their digest (a uuid is
#: 16 bytes: quote() writes them as they are)
_DIGESTED_V2 = frozenset({"bytes", "blob", "attach"})


def _sha256(value: object) -> str | None:
    """``rf_sha256(x)``: the first 32 hex digits of the sha256 of text (UTF-8) or bytes; NULL stays NULL."""
    if value.__class__ is str:  # the common case first: called once per row by SQL
        return _new_sha256(value.encode()).hexdigest()[:32]
    if value is None:
        return None
    data = value if isinstance(value, bytes) else str(value).encode("utf-8")
    return _new_sha256(data).hexdigest()[:32]


def _input_v2(value: object) -> str | None:
    """``rf_input_v2(text)``: an input fingerprint of encoding 2, ``v2`` and the 30 hex digits of the
    15-byte BLAKE2b digest of the text (UTF-8); NULL stays NULL.  BLAKE2b, not sha256: for short
    texts hashlib's own BLAKE2b takes about 30% fewer instructions than OpenSSL's sha256, and this
    runs once per row made."""
    if value.__class__ is str:
        return "v2" + _blake2b(value.encode(), digest_size=15).hexdigest()
    if value is None:
        return None
    data = value if isinstance(value, bytes) else str(value).encode("utf-8")
    return "v2" + _blake2b(data, digest_size=15).hexdigest()
