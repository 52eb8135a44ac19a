"""The university data set, loaded through the runtime (for query tests and docs).

``read_rows()`` reads the CSVs in ``examples/university/data/`` and converts
every value to its attribute's Python type (ints, ``Decimal``, ``date``,
enum strings), using the schema's metadata for the types; the result is the
plain-Python copy of the data that test oracles answer questions from.
``load(db)`` inserts those rows into a pipeline with the runtime's ``insert``.
``university_db`` is a module-scoped fixture, parametrized over the backends,
that yields a loaded pipeline (one database per test module and backend).
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import uuid
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from relflow_gen.compiler.frontend import compile_file
from relflow_gen.compiler.metadata import schema_meta
from relflow_gen.core.meta import SchemaMeta, TableMeta
from relflow_gen.runtime.dynamic import pipeline_class
from relflow_gen.runtime.pipeline import Pipeline

REPO = Path(__file__).resolve().parent.parent
SCHEMA_FILE = REPO / "examples" / "university" / "university.rf"


#: the data set, one CSV per manual table (kept in the repository)
DATA_DIR = REPO / "examples" / "university" / "data"

#: manual tables with a CSV, in dependency order
CSV_TABLES = ("Student", "Department", "StudentMajor", "Course", "Term", "Section", "CurrentTerm", "Enroll", "Grade")

Row = dict[str, Any]


@lru_cache(maxsize=1)
def university_meta() -> SchemaMeta:
    comp = compile_file(str(SCHEMA_FILE))
    assert comp.ok and comp.project is not None, [d.message for d in comp.diagnostics]
    return schema_meta(comp.project)


def _convert(meta: TableMeta, name: str, text: str) -> Any:
    attr = meta.by_name[name]
    kind = attr.type.kind
    if text == "" and attr.nullable:
        return None
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    if kind == "decimal":
        return decimal.Decimal(text)
    if kind == "date":
        return dt.date.fromisoformat(text)
    if kind == "bool":
        return text.lower() in ("1", "true", "yes")
    if kind == "uuid":
        return uuid.UUID(text)
    if kind in ("str", "enum"):
        return text
    raise AssertionError(f"no CSV conversion for {kind}")


@lru_cache(maxsize=1)
def _read_all() -> dict[str, tuple[tuple[tuple[str, Any], ...], ...]]:
    meta = university_meta()
    out: dict[str, tuple[tuple[tuple[str, Any], ...], ...]] = {}
    for table in CSV_TABLES:
        tmeta = meta.by_name[f"{meta.name}.{table}"]
        with open(DATA_DIR / f"{table}.csv", newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            assert reader.fieldnames is not None
            assert set(reader.fieldnames) == set(tmeta.names), (table, reader.fieldnames, tmeta.names)
            out[table] = tuple(tuple((k, _convert(tmeta, k, v)) for k, v in r.items()) for r in reader)
    letter = meta.by_name[f"{meta.name}.LetterGrade"]
    out["LetterGrade"] = tuple(tuple(zip(letter.names, row)) for row in letter.contents)
    return out


def read_rows() -> dict[str, list[Row]]:
    """Table name -> rows (fresh dicts each call, so callers may mutate them)."""
    return {name: [dict(r) for r in rows] for name, rows in _read_all().items()}


def open_pipeline(url: str) -> Pipeline:
    return pipeline_class(university_meta(), "UniversityPipeline")(url)


def load(db: Pipeline) -> None:
    """Insert every CSV's rows with the runtime's insert (LetterGrade comes with the schema)."""
    rows = read_rows()
    for table in CSV_TABLES:
        db.table(table).insert(rows[table])


def loaded_pipeline(url: str) -> Pipeline:
    db = open_pipeline(url)
    load(db)
    return db


def drop_prefixed(server_url: str, prefix: str) -> None:
    from urllib.parse import urlparse

    import pymysql

    u = urlparse(server_url)
    conn = pymysql.connect(host=u.hostname, port=u.port or 3306, user=u.username or "root", password=u.password or "")
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW DATABASES")
            for (name,) in cur.fetchall():
                if str(name).startswith(prefix):
                    cur.execute(f"DROP DATABASE `{name}`")
    finally:
        conn.close()


def backend_url(request: pytest.FixtureRequest, backend: str, folder: Path) -> tuple[str, str | None]:
    """(url, mysql server url or None) of a fresh database on ``backend``."""
    if backend == "sqlite":
        return f"sqlite:///{folder / 'university.db'}", None
    server: str = request.getfixturevalue("mysql_server_url")
    prefix = f"u{uuid.uuid4().hex[:10]}_"
    return f"{server}?prefix={prefix}", server


@pytest.fixture(scope="module", params=["sqlite", "mysql"])
def university_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    """The loaded university database on each backend (read-only: shared by a module's tests)."""
    backend: str = request.param
    url, server = backend_url(request, backend, tmp_path_factory.mktemp(f"university-{backend}"))
    db = loaded_pipeline(url)
    try:
        yield db
    finally:
        db.close()
        if server is not None:
            drop_prefixed(server, url.rsplit("prefix=", 1)[1])


__all__ = ["CSV_TABLES", "load", "loaded_pipeline", "open_pipeline", "read_rows", "university_db", "university_meta"]
