"""Shared pieces of the bench scripts: raw-driver connections, paired timing, a throwaway server."""

from __future__ import annotations

import importlib
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from relflow_gen.compiler.frontend import compile_text
from relflow_gen.compiler.metadata import schema_meta
from relflow_gen.runtime.dynamic import pipeline_class
from relflow_gen.runtime.pipeline import Pipeline


def open_pipeline(src: str, url: str) -> Pipeline:
    comp = compile_text(src, "bench.rf")
    assert comp.ok and comp.project is not None, [d.message for d in comp.diagnostics]
    return pipeline_class(schema_meta(comp.project))(url)


class RawDB:
    """The bare driver (sqlite3 / pymysql) on the database a pipeline URL names."""

    def __init__(self, url: str) -> None:
        u = urlparse(url)
        self.kind = "sqlite" if u.scheme == "sqlite" else "mysql"
        self.prefix = parse_qs(u.query).get("prefix", [""])[0]
        self.schemas: set[str] = set()
        self.path = u.path  # SQLite: the database file
        self.server = url.split("?", 1)[0]  # MariaDB: the server URL
        if self.kind == "sqlite":
            import sqlite3

            self.conn: Any = sqlite3.connect(u.path, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = NORMAL")
            self.conn.execute("PRAGMA foreign_keys = ON")
            self.mark = "?"
        else:
            import pymysql

            self.conn = pymysql.connect(
                host=u.hostname, port=u.port or 3306, user=u.username or "root", password=u.password or "",
                autocommit=True, charset="utf8mb4",
            )
            self.mark = "%s"

    def table(self, schema: str, name: str) -> str:
        self.schemas.add(schema)
        if self.kind == "sqlite":
            return f'"{schema}.{name}"'
        return f"`{self.prefix}{schema}`.`{name}`"

    def cursor(self) -> Any:
        return self.conn.cursor()

    def transaction(self, statements: list[str]) -> None:
        cur = self.conn.cursor()
        cur.execute("BEGIN" if self.kind == "sqlite" else "START TRANSACTION")
        for s in statements:
            cur.execute(s)
        cur.execute("COMMIT")
        cur.close()

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        cur = self.conn.cursor()
        cur.execute(sql, params)
        rows = list(cur.fetchall())
        cur.close()
        return rows

    def drop_all(self) -> None:
        if self.kind == "mysql":
            cur = self.conn.cursor()
            cur.execute("SET FOREIGN_KEY_CHECKS = 0")
            for s in self.schemas:
                cur.execute(f"DROP DATABASE IF EXISTS `{self.prefix}{s}`")
            cur.close()

    def close(self) -> None:
        self.conn.close()


@dataclass
class Timing:
    raw: float  # median seconds of the floor
    ours: float  # median seconds of ours
    ratio: float  # median of the per-pair ratios ours / floor (time; 1.0 = as fast, lower is better)
    spread: float  # (max - min) / median of the per-pair ratios
    pairs: int


def paired(
    raw: Callable[[], object], ours: Callable[[], object], reset: Callable[[], object], repeat: int,
    *, budget: float = 0.0, spread: float = 0.15, max_repeat: int = 25,
) -> Timing:
    """Run ``raw`` and ``ours`` alternately (so a change of load hits both), each after ``reset``.

    At least ``repeat`` pairs; then, while the spread of the per-pair ratios (middle 80%) is over
    ``spread`` and ``budget`` seconds are not used up, more pairs (at most ``max_repeat``).
    """
    raws: list[float] = []
    ourss: list[float] = []
    start_all = time.perf_counter()
    i = 0
    while True:
        for which in ((0, 1) if i % 2 == 0 else (1, 0)):
            reset()
            run = raw if which == 0 else ours
            start = time.perf_counter()
            run()
            (raws if which == 0 else ourss).append(time.perf_counter() - start)
        i += 1
        ratios = sorted(o / r for o, r in zip(ourss, raws))
        med = statistics.median(ratios)
        cut = len(ratios) // 10
        mid = ratios[cut : len(ratios) - cut]
        sp = (mid[-1] - mid[0]) / med if med else 0.0
        if i >= repeat and (sp <= spread or time.perf_counter() - start_all > budget or i >= max_repeat):
            return Timing(statistics.median(raws), statistics.median(ourss), med, sp, i)


@contextmanager
def mysql_server(url: str | None, backend: str = "mysql") -> Iterator[str]:
    """``url`` when given; otherwise a throwaway server from tests/mariadb.py (none for SQLite)."""
    if backend != "mysql" or url:
        yield url or ""
        return
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    throwaway_server: Any = importlib.import_module("mariadb").throwaway_server
    with throwaway_server() as started:
        yield started
