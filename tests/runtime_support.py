"""Helpers of the runtime-core tests (test_runtime_*.py, test_connection.py).

- :func:`open_pipeline` compiles `.rf` text once per source (cached) and opens a
  dynamic pipeline on a URL, like ``runtime_fixtures.pipeline_from`` but faster
  when many tests share a schema;
- :func:`table_names` lists the tables that exist for a pipeline's schemas, on
  either backend, to check that an operation created or dropped nothing else;
- :func:`counts` maps each table of a pipeline to its number of rows;
- a hypothesis profile ``runtime`` with modest example counts (``RELFLOW_TEST_EXAMPLES`` raises them).
"""

from __future__ import annotations

import functools
import os
from typing import Any

from hypothesis import HealthCheck, settings

from relflow_gen.compiler.frontend import compile_text
from relflow_gen.compiler.metadata import schema_meta
from relflow_gen.core.meta import SchemaMeta
from relflow_gen.runtime.dynamic import pipeline_class
from relflow_gen.runtime.engine.connection import Connection
from relflow_gen.runtime.pipeline import Pipeline

settings.register_profile(
    "runtime",
    max_examples=int(os.environ.get("RELFLOW_TEST_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@functools.lru_cache(maxsize=64)
def compiled(src: str) -> SchemaMeta:
    """The runtime metadata of `.rf` source (compiled once per source text)."""
    comp = compile_text(src, "test.rf")
    assert comp.ok and comp.project is not None, [d.message for d in comp.diagnostics]
    return schema_meta(comp.project)


@functools.lru_cache(maxsize=64)
def _pipeline_class(src: str) -> type[Pipeline]:
    return pipeline_class(compiled(src))


def open_pipeline(src: str, url: str | Connection, **kwargs: Any) -> Pipeline:
    """Compile (cached) and open a dynamic pipeline on ``url`` (declared unless declare=False)."""
    return _pipeline_class(src)(url, **kwargs)


def table_names(conn: Connection, meta: SchemaMeta) -> set[str]:
    """The quoted references of the tables that exist in the schemas of ``meta``."""
    backend = conn.backend
    if backend.name == "sqlite":
        rows = conn.query("SELECT name FROM sqlite_master WHERE type = 'table'")
        prefixes = tuple(f"{s}." for s in meta.schemas)
        return {backend.quote(str(r[0])) for r in rows if str(r[0]).startswith(prefixes)}
    out: set[str] = set()
    for schema in meta.schemas:
        db = backend.database_name(schema)
        for (name,) in conn.query("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (db,)):
            out.add(backend.table_ref(schema, str(name)))
    return out


def databases(conn: Connection, meta: SchemaMeta) -> set[str]:
    """The schema databases that exist on a MySQL server (empty set on SQLite)."""
    if conn.backend.name == "sqlite":
        return set()
    names = {conn.backend.database_name(s) for s in meta.schemas}
    rows = conn.query("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
    return {str(r[0]) for r in rows} & names


def counts(db: Pipeline) -> dict[str, int]:
    """Rows per table (full name), every table of the pipeline."""
    return {t.full_name: len(t) for t in db.tables()}
