"""Fixtures for runtime tests that run on both backends.

``db_url`` is parametrized over SQLite (a file in tmp_path) and the throwaway
MariaDB (a unique database prefix per test, dropped afterwards).
``pipeline_from(src, url)`` compiles `.rf` text and opens a dynamic pipeline on
it, so runtime tests need no generated code.

conftest.py registers this module as a pytest plugin, so test modules use
``db_url`` as a fixture argument without importing it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pymysql
import pytest

from relflow_gen.compiler.frontend import compile_text
from relflow_gen.compiler.metadata import schema_meta
from relflow_gen.runtime.dynamic import pipeline_class
from relflow_gen.runtime.pipeline import Pipeline

BACKENDS = ["sqlite", "mysql"]


def _drop_prefixed(server_url: str, prefix: str) -> None:
    u = urlparse(server_url)
    conn = pymysql.connect(host=u.hostname, port=u.port, user=u.username or "root", password=u.password or "")
    try:
        with conn.cursor() as cur:
            cur.execute("SET FOREIGN_KEY_CHECKS = 0")  # schemas may reference each other
            cur.execute("SHOW DATABASES")
            for (name,) in cur.fetchall():
                if str(name).startswith(prefix):
                    cur.execute(f"DROP DATABASE `{name}`")
    finally:
        conn.close()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    server: str = request.getfixturevalue("mysql_server_url")
    prefix = f"t{uuid.uuid4().hex[:10]}_"
    yield f"{server}?prefix={prefix}"
    _drop_prefixed(server, prefix)


def pipeline_from(src: str, url: str, **kwargs: Any) -> Pipeline:
    """Compile `.rf` source and open a (dynamic, untyped) pipeline on ``url``."""
    comp = compile_text(src, "test.rf")
    assert comp.ok and comp.project is not None, [d.message for d in comp.diagnostics]
    return pipeline_class(schema_meta(comp.project))(url, **kwargs)


__all__ = ["BACKENDS", "db_url", "pipeline_from"]
