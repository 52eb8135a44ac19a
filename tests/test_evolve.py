"""Schema evolution: ``diff`` and ``migrate`` on both backends (docs/evolving.md).

* a property test: random SAFE changes to a random schema, migrated step by step;
  after each step every row is intact and the database is identical, by
  introspection, to a fresh declare of that step's schema;
* every DATA and KEY case refused with its message and nothing changed (and the
  DATA cases applied once the user says how);
* the command line: ``diff`` exit codes and ``--json``, ``migrate --dry-run``,
  a second migrate that does nothing, and the drift check of data commands.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from runtime_support import compiled, open_pipeline

from relflow_gen.cli import run as run_cli
from relflow_gen.runtime import evolve
from relflow_gen.runtime.cli import main
from relflow_gen.runtime.dynamic import pipeline_class
from relflow_gen.runtime.engine.connection import Connection
from relflow_gen.runtime.errors import DeclareError, MigrateError, MissingParentError
from relflow_gen.runtime.pipeline import Pipeline
from relflow_gen.runtime.populate.jobs import jobs_table_meta


def extra(db: Pipeline) -> list[Any]:
    return [jobs_table_meta(s) for s in db.meta.schemas]


def other_url(url: str, tag: str) -> str:
    """Another empty database beside ``url`` (removed with it by the db_url fixture)."""
    if url.startswith("sqlite"):
        return url.replace("test.db", f"{tag}.db")
    base, _, prefix = url.partition("?prefix=")
    return f"{base}?prefix={prefix}{tag}_"


def snapshot(conn: Connection, db: Pipeline) -> dict[str, Any]:
    """The tables of a pipeline's schemas as the database describes them (columns with
    types, nullability, defaults and key; indexes; foreign keys), by plain introspection."""
    out: dict[str, Any] = {}
    b = conn.backend
    for t in list(db.meta.tables) + extra(db):
        if b.name == "sqlite":
            name = f"{t.schema}.{t.sql_name}"
            q = b.quote(name)
            if not conn.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [name]):
                continue
            cols = sorted(tuple(r[1:]) for r in conn.query(f"PRAGMA table_info({q})"))
            idx = sorted(
                (r[2], tuple(c[2] for c in conn.query(f"PRAGMA index_info({b.quote(r[1])})")))
                for r in conn.query(f"PRAGMA index_list({q})")
            )
            fks = sorted((r[2], r[3], r[4]) for r in conn.query(f"PRAGMA foreign_key_list({q})"))
            checks = b.existing_types(conn._cursor, t)
            out[name] = (cols, idx, fks, sorted(checks.items()))
        else:
            dbname = b.database_name(t.schema)
            cols = conn.query(
                "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, COLUMN_KEY, COLUMN_COMMENT "
                "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
                [dbname, t.sql_name],
            )
            if not cols:
                continue
            stats = conn.query(
                "SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME FROM information_schema.STATISTICS "
                "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s ORDER BY INDEX_NAME, SEQ_IN_INDEX",
                [dbname, t.sql_name],
            )
            groups: dict[str, list[Any]] = {}
            for name_, non_unique, col in stats:
                groups.setdefault(name_, [non_unique]).append(col)
            fks = conn.query(
                "SELECT REFERENCED_TABLE_NAME, COLUMN_NAME, REFERENCED_COLUMN_NAME FROM "
                "information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s "
                "AND REFERENCED_TABLE_NAME IS NOT NULL",
                [dbname, t.sql_name],
            )
            out[t.sql_name] = (sorted(cols), sorted(tuple(v) for v in groups.values()), sorted(fks))
    return out


def rows_of(db: Pipeline) -> dict[str, list[dict[str, Any]]]:
    return {t.meta.full_name: sorted(t.fetch(), key=repr) for t in db.tables()}


# ---------------------------------------------------------------- a random schema and SAFE changes


@dataclass
class Col:
    name: str
    type: str
    nullable: bool = False
    default: str | None = None
    comment: str = ""

    def rf(self) -> str:
        tail = f"  # {self.comment}" if self.comment else ""
        if self.nullable:
            return f"{self.name} = null: {self.type}{tail}"
        if self.default is not None:
            return f"{self.name} = {self.default}: {self.type}{tail}"
        return f"{self.name}: {self.type}{tail}"


@dataclass
class Tab:
    name: str
    parent: str | None
    cols: list[Col]
    indexes: list[str] = field(default_factory=list)

    def rf(self) -> str:
        head = f"    -> {self.parent}\n" if self.parent else f"    {self.name.lower()}_id: int32\n"
        body = "".join(f"    {c.rf()}\n" for c in self.cols)
        idx = "".join(f"    index({i})\n" for i in self.indexes)
        return f"manual {self.name} {{\n{head}    ---\n{body}{idx}}}\n"


def render(tables: list[Tab], kinds: int = 0) -> str:
    """The schema; ``kinds`` > 0 adds a lookup table with that many contents rows."""
    lookup = ""
    if kinds:
        rows = "".join(f'        ("k{i}", "K{i}")\n' for i in range(kinds))
        lookup = f"lookup Kind {{\n    kind: varchar(4)\n    ---\n    label: varchar(8)\n    contents {{\n{rows}    }}\n}}\n\n"
    return "schema evo\n\n" + lookup + "\n".join(t.rf() for t in tables)


INTS = ["int8", "int16", "int32", "int64"]


def value_for(col: Col, i: int) -> Any:
    if col.nullable and i % 3 == 0:
        return None
    t = col.type
    if t in INTS:
        return (i * 7) % 100 - 50
    if t.startswith("varchar"):
        return f"v{i}"
    if t.startswith("enum"):
        return "a" if i % 2 else "b"
    if t.startswith("decimal"):
        return __import__("decimal").Decimal(f"{i}.5")
    return float(i) / 4


START_COLS = [
    Col("label", "varchar(8)"),
    Col("count", "int16"),
    Col("kind", 'enum("a", "b")'),
    Col("score", "decimal(5,2)"),
    Col("ratio", "float64", nullable=True),
]


def apply_change(tables: list[Tab], op: int, pick: int, n: int) -> list[Tab]:
    """One SAFE change (op chooses which) to a copy of ``tables``."""
    tables = [replace(t, cols=[replace(c) for c in t.cols], indexes=list(t.indexes)) for t in tables]
    t = tables[pick % len(tables)]
    op = op % 9
    if op == 0:
        t.cols.append(Col(f"added{n}", "varchar(12)", nullable=True))
    elif op == 1:
        t.cols.append(Col(f"dflt{n}", "int32", default=str(n)))
    elif op == 2:
        for c in t.cols:
            if c.type.startswith("varchar"):
                c.type = f"varchar({int(c.type[8:-1]) + 4})"
                break
    elif op == 3:
        for c in t.cols:
            if c.type in INTS[:-1]:
                c.type = INTS[INTS.index(c.type) + 1]
                break
    elif op == 4:
        for c in t.cols:
            if c.type.startswith("enum"):
                c.type = c.type[:-1] + f', "e{n}")'
                break
    elif op == 5:
        free = [c.name for c in t.cols if c.name not in t.indexes and not c.type.startswith("float")]
        if free:
            t.indexes.append(free[0])
    elif op == 6:
        tables.append(Tab(f"Child{n}", t.name, [Col("note", "varchar(10)", nullable=True)]))
    elif op == 7:
        for c in t.cols:
            if not c.nullable and c.default is None:
                c.nullable = True
                break
    else:
        t.cols[n % len(t.cols)].comment = f"note {n}"
    return tables


@settings(
    max_examples=int(os.environ.get("RELFLOW_TEST_EXAMPLES", "8")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # each example works in databases of its own beside db_url's
@given(
    start=st.sets(st.integers(0, len(START_COLS) - 1), min_size=1),
    child=st.booleans(),
    steps=st.lists(st.tuples(st.integers(0, 9), st.integers(0, 5)), min_size=1, max_size=4),
    n_rows=st.integers(0, 6),
)
def test_random_safe_changes_keep_rows_and_match_a_fresh_declare(
    db_url: str, start: set[int], child: bool, steps: list[tuple[int, int]], n_rows: int
) -> None:
    """Steps: (op, table) with op 0-8 a change of apply_change and 9 a new lookup contents row."""
    tag = uuid.uuid4().hex[:6]
    url = other_url(db_url, f"m{tag}")
    cols = [replace(START_COLS[i]) for i in sorted(start)]
    tables = [Tab("Root", None, cols)]
    if child:
        tables.append(Tab("Leaf", "Root", [replace(START_COLS[i]) for i in sorted(start)[:2]]))
    kinds = 1
    db = open_pipeline(render(tables, kinds), url)
    db.table("Root").insert([{"root_id": i, **{c.name: value_for(c, i) for c in cols}} for i in range(n_rows)])
    if child:
        db.table("Leaf").insert(
            [{"root_id": i, **{c.name: value_for(c, i + 1) for c in tables[1].cols}} for i in range(0, n_rows, 2)]
        )
    before = rows_of(db)
    db.close()
    for k, (op, pick) in enumerate(steps):
        if op == 9:
            kinds += 1
        else:
            tables = apply_change(tables, op, pick, k)
        src = render(tables, kinds)
        db = open_pipeline(src, url, declare=False)
        evolve.migrate(db, extra(db))
        assert not evolve.diff(db, extra(db)), evolve.diff(db, extra(db)).text()
        assert not evolve.plan(db, extra(db)).statements  # a second migrate does nothing
        now = rows_of(db)
        for full_name, rows in before.items():  # every row intact, new attributes at their defaults
            kept = [{k2: r[k2] for k2 in rows[0]} for r in now[full_name]] if rows else []
            if full_name == "evo.Kind":  # new contents rows come in
                assert len(now[full_name]) == kinds and all(r in kept for r in rows)
                continue
            assert sorted(kept, key=repr) == rows
            assert len(now[full_name]) == len(rows)
        fresh_url = other_url(db_url, f"f{tag}{k}")
        fresh = open_pipeline(src, fresh_url)
        assert snapshot(db.connection, db) == snapshot(fresh.connection, fresh)
        fresh.close()
        db.close()
        db = open_pipeline(src, url)  # connect()'s check passes
        db.close()


# ---------------------------------------------------------------- DATA and KEY: refused, then applied as told

BASE = """
schema evo

lookup Kind {
    kind: varchar(8)
    ---
    label: varchar(20)
    contents {
        ("a", "A")
    }
}

manual Subject {
    subject_id: int32
    ---
    name: varchar(20)
    -> Kind
    mood: enum("calm", "busy")
    weight = null: float64
    legacy = null: int32
}

computed Stat {
    -> Subject
    ---
    value: float64
}
"""


def base_db(url: str) -> Pipeline:
    db = open_pipeline(BASE, url)
    db.table("Subject").insert(
        [
            {"subject_id": 1, "name": "short", "kind": "a", "mood": "calm", "weight": 2.0, "legacy": 7},
            {"subject_id": 2, "name": "a much longer name", "kind": "a", "mood": "busy", "weight": None},
        ]
    )
    db.table("Stat").insert([{"subject_id": 1, "value": 1.5}], allow_direct_insert=True)
    return db


def changed(old: str, new: str, src: str = BASE) -> str:
    assert old in src, old
    return src.replace(old, new, 1)


DATA_CASES = [
    # (id, schema edit, expected message, options that make it go through)
    ("drop_column", ("    legacy = null: int32\n", ""), "give --allow-drop", {"allow_drop": True}),
    ("drop_table", ("computed Stat", "computed Gone"), "give --allow-drop", {"allow_drop": True}),
    (
        "unique",
        ("    legacy = null: int32\n", "    legacy = null: int32\n    unique index(kind)\n"),
        "occur in more than one row",
        None,
    ),
    (
        "required_column",
        ("    legacy = null: int32\n", "    legacy = null: int32\n    height: float64\n"),
        "give --fill height=VALUE",
        {"fills": ["height=1.75"]},
    ),
    ("narrow", ("name: varchar(20)", "name: varchar(6)"), "rows that do not fit: {'subject_id': 2}", None),
    ("not_null", ("weight = null: float64", "weight: float64"), "rows that do not fit", {"fills": ["weight=0"]}),
    ("enum_remove", ('enum("calm", "busy")', 'enum("calm")'), "rows that do not fit: {'subject_id': 2}", None),
    ("contents", ('("a", "A")', '("a", "Ay")'), "give --update-contents", {"update_contents": True}),
    ("retype", ("name: varchar(20)", "name: int32"), "rename = drop + add", None),
]


@pytest.mark.parametrize("case", DATA_CASES, ids=[c[0] for c in DATA_CASES])
def test_data_changes_are_refused_until_the_user_says_how(db_url: str, case: Any) -> None:
    code, (old, new), message, options = case
    db = base_db(db_url)
    rows = rows_of(db)
    db.close()
    src = changed(old, new)
    db = open_pipeline(src, db_url, declare=False)
    shape = snapshot(db.connection, db)
    d = evolve.diff(db, extra(db))
    assert any(c.kind == "DATA" for c in d.changes), d.text()
    with pytest.raises(MigrateError, match="refused; nothing was changed") as err:
        evolve.migrate(db, extra(db))
    assert message in str(err.value)
    assert snapshot(db.connection, db) == shape  # nothing changed
    if code not in ("contents", "drop_table", "unique"):  # connect() names diff and migrate
        with pytest.raises(DeclareError, match="`diff` command lists the differences and `migrate` applies"):
            open_pipeline(src, db_url)
    if options is None:
        return
    opts = dict(options)
    if "fills" in opts:
        opts["fills"] = evolve.parse_fills(opts["fills"], db, extra(db))
    evolve.migrate(db, extra(db), **opts)
    assert not evolve.diff(db, extra(db))
    after = rows_of(db)
    assert len(after["evo.Subject"]) == len(rows["evo.Subject"])
    if code == "required_column":
        assert {r["height"] for r in after["evo.Subject"]} == {1.75}
    if code == "not_null":
        assert sorted(r["weight"] for r in after["evo.Subject"]) == [0.0, 2.0]
    if code == "contents":
        assert after["evo.Kind"] == [{"kind": "a", "label": "Ay"}]
    db.close()
    open_pipeline(src, db_url).close()


def test_narrowing_goes_through_when_every_value_fits(db_url: str) -> None:
    db = base_db(db_url)
    db.table("Subject").update1({"subject_id": 2, "name": "ok"})
    db.close()
    db = open_pipeline(changed("name: varchar(20)", "name: varchar(6)"), db_url, declare=False)
    plan = evolve.migrate(db, extra(db))
    assert [c.code for c in plan.applied] == ["narrow"]
    assert sorted(db.table("Subject").column("name")) == ["ok", "short"]
    with pytest.raises(Exception, match="name"):
        db.table("Subject").insert1({"subject_id": 3, "name": "too long", "kind": "a", "mood": "calm"})
    db.close()


KEY_CASES = [
    (
        "primary_key",
        ("    subject_id: int32\n    ---\n", "    subject_id: int32\n    visit: int16\n    ---\n"),
        "primary key",
    ),
    (
        "foreign_key",
        ("    legacy = null: int32\n", '    legacy = null: int32\n    -> [nullable] Kind.proj(other="kind")\n'),
        "foreign key",
    ),
    ("tier", ("computed Stat", "imported Stat"), "tier changed"),
]


@pytest.mark.parametrize("case", KEY_CASES, ids=[c[0] for c in KEY_CASES])
def test_key_changes_are_refused_with_the_rows_and_the_commands(db_url: str, case: Any) -> None:
    _, (old, new), message = case
    base_db(db_url).close()
    db = open_pipeline(changed(old, new), db_url, declare=False)
    shape = snapshot(db.connection, db)
    d = evolve.diff(db, extra(db))
    assert any(c.kind == "KEY" and message in c.message for c in d.changes), d.text()
    with pytest.raises(MigrateError) as err:
        evolve.migrate(db, extra(db), allow_drop=True)
    text = str(err.value)
    assert "not migrated in place" in text and "DROP TABLE" in text and "populate" in text
    assert "evo.Stat: 1" in text  # the rows that would have to be recomputed
    assert snapshot(db.connection, db) == shape
    db.close()


# ---------------------------------------------------------------- the command line


def test_cli_diff_migrate_and_the_drift_check(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    base_db(db_url).close()
    new_src = changed("    legacy = null: int32\n", "    legacy = null: int32\n    height = null: float64\n")
    new_cls = pipeline_class(compiled(new_src))
    old_cls = pipeline_class(compiled(BASE))
    run = lambda cls, *a: main(cls, ["--db", db_url, *a], prog="evo")  # noqa: E731

    assert run(old_cls, "diff") == 0
    assert "matches the schema" in capsys.readouterr().out
    for command in ("status", "populate", "worker", "jobs", "errors"):
        assert run(new_cls, command) == 1
        err = capsys.readouterr().err
        assert "new attribute `height`" in err and "evo --db URL diff" in err and "migrate" in err, command
    assert run(new_cls, "diff") == 1
    assert "SAFE  new attribute `height` (float64)" in capsys.readouterr().out
    assert run(new_cls, "diff", "--json") == 1
    data = json.loads(capsys.readouterr().out)
    assert data["differs"] and data["changes"][0]["kind"] == "SAFE" and data["changes"][0]["column"] == "height"
    assert run(new_cls, "migrate", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "ADD COLUMN" in out and "dry run" in out
    assert run(new_cls, "diff") == 1  # the dry run changed nothing
    capsys.readouterr()
    assert run(new_cls, "migrate") == 0
    assert "migrated: 1 change(s)" in capsys.readouterr().out
    assert run(new_cls, "migrate") == 0
    assert "nothing to migrate" in capsys.readouterr().out
    assert run(new_cls, "diff") == 0
    assert run(new_cls, "status") == 0
    # the stale package against the migrated database is reported the same way
    capsys.readouterr()
    assert run(old_cls, "status") == 1
    assert "attribute `height` is not in the schema" in capsys.readouterr().err
    assert run(old_cls, "migrate") == 1
    assert "give --allow-drop" in capsys.readouterr().err


def test_cli_migrate_refuses_a_key_change_and_fills(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    base_db(db_url).close()
    src = changed("    legacy = null: int32\n", "    legacy = null: int32\n    height: float64\n")
    cls = pipeline_class(compiled(src))
    assert main(cls, ["--db", db_url, "migrate"], prog="evo") == 1
    assert "give --fill height=VALUE" in capsys.readouterr().err
    assert main(cls, ["--db", db_url, "migrate", "--fill", "height=oops"], prog="evo") == 1
    assert "'oops' is not a float64 value" in capsys.readouterr().err
    assert main(cls, ["--db", db_url, "migrate", "--fill", "Subject.height=1.5"], prog="evo") == 0
    db = cls(db_url)
    assert db.table("Subject").column("height") == [1.5, 1.5]
    db.close()


def test_jobs_and_provenance_columns_are_migrated(db_url: str) -> None:
    db = base_db(db_url)
    conn = db.connection
    stat = db.meta.by_name["evo.Stat"]
    jobs = extra(db)[0]
    # an older database: the jobs table without its heartbeat, Stat without a provenance column
    for t, col in ((jobs, "heartbeat"), (stat, "_make_hash")):
        ref = conn.backend.table_ref(t.schema, t.sql_name)
        if conn.backend.name == "sqlite":
            conn.execute(f"ALTER TABLE {ref} DROP COLUMN {conn.backend.quote(col)}")
        else:
            conn.execute(f"ALTER TABLE {ref} DROP COLUMN {conn.backend.quote(col)}")
    d = evolve.diff(db, extra(db))
    assert {(c.table, c.column) for c in d.changes} == {("evo.~jobs", "heartbeat"), ("evo.Stat", "_make_hash")}
    evolve.migrate(db, extra(db))
    assert not evolve.diff(db, extra(db))
    assert db.table("Stat").fetch() == [{"subject_id": 1, "value": 1.5}]
    db.close()


def test_comments_and_docs_are_safe_changes(db_url: str) -> None:
    base_db(db_url).close()
    src = changed("    name: varchar(20)\n", "    name: varchar(20)  # as the lab calls them\n")
    src = changed("manual Subject {", 'manual Subject "the animals" {', src)
    db = open_pipeline(src, db_url, declare=False)
    d = evolve.diff(db, extra(db))
    assert main(type(db), ["--db", db_url, "jobs"], prog="evo") == 0  # no drift: comments change no result
    if db.connection.backend.name == "sqlite":  # SQLite keeps no comments: nothing differs
        assert not d
    else:
        assert sorted((c.kind, c.code, c.column) for c in d.changes) == [
            ("SAFE", "comment", "name"),
            ("SAFE", "doc", None),
        ]
        plan = evolve.migrate(db, extra(db))
        assert any("COMMENT = 'the animals'" in s for s in plan.statements)
        assert not evolve.diff(db, extra(db))
        fresh = open_pipeline(src, other_url(db_url, "fresh"))
        assert snapshot(db.connection, db) == snapshot(fresh.connection, fresh)
        fresh.close()
    db.close()


def test_an_interrupted_mysql_migrate_is_finished_by_a_rerun(db_url: str) -> None:
    base_db(db_url).close()
    src = changed("name: varchar(20)", "name: varchar(30)")
    src = changed("    value: float64\n", "    value: float64\n    note = null: varchar(9)\n", src)
    src += "\nmanual Extra {\n    extra_id: int32\n}\n"
    db = open_pipeline(src, db_url, declare=False)
    plan = evolve.plan(db, extra(db))
    if db.connection.backend.name == "sqlite":  # one transaction there: nothing to finish
        assert plan.statements[0] == "PRAGMA foreign_keys = OFF" or plan.statements[0] == "BEGIN IMMEDIATE"
        db.close()
        return
    assert len(plan.statements) >= 3  # CREATE DATABASE, CREATE TABLE, ALTER TABLE Subject, ALTER TABLE Stat
    db.connection.backend.run_migration(db.connection._cursor, plan.statements[:-1])  # killed before the last
    left = evolve.plan(db, extra(db))
    assert len(left.statements) == 1 and left.statements[0] == plan.statements[-1]
    evolve.migrate(db, extra(db))
    assert not evolve.diff(db, extra(db))
    db.close()


def test_sqlite_rebuild_keeps_foreign_keys_of_children(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'fk.db'}"
    base_db(url).close()
    src = changed("name: varchar(20)", "name: varchar(20)\n    unique index(name)")
    db = open_pipeline(src, url, declare=False)
    plan = evolve.migrate(db, extra(db))
    assert any("RENAME TO" in s for s in plan.statements)  # the rebuild path
    assert db.connection.query("PRAGMA foreign_key_check") == []
    with pytest.raises(MissingParentError, match="no such row in evo.Subject"):
        db.table("Stat").insert([{"subject_id": 99, "value": 0.0}], allow_direct_insert=True)
    db.close()


# ---------------------------------------------------------------- SIGKILL during a SQLite rebuild

KILL_OLD = """
schema evo

manual Big {
    big_id: int32
    ---
    name: varchar(12)
    value: float64
}

manual Child {
    -> Big
    ---
    note = null: varchar(8)
}
"""
KILL_NEW = KILL_OLD.replace("name: varchar(12)", "name: varchar(40)")

KILLED_MIGRATE = """
import sys
sys.path.insert(0, {tests!r})
from runtime_support import open_pipeline
from relflow_gen.runtime import evolve
from relflow_gen.runtime.populate.jobs import jobs_table_meta
db = open_pipeline({src!r}, {url!r}, declare=False)
print("go", flush=True)
evolve.migrate(db, [jobs_table_meta("evo")])
print("done", flush=True)
"""


def test_sigkill_during_a_sqlite_rebuild_leaves_one_of_the_two_schemas(tmp_path: Any) -> None:
    template = tmp_path / "template.db"
    db = open_pipeline(KILL_OLD, f"sqlite:///{template}")
    n = 60_000
    db.table("Big").insert([{"big_id": i, "name": f"n{i}", "value": i / 3} for i in range(n)])
    db.table("Child").insert([{"big_id": i} for i in range(0, n, 7)])
    db.close()
    outcomes = []
    for attempt, delay in enumerate([0.0, 0.01, 0.03, 0.06, 0.1, 0.2, 0.4, 0.8]):
        path = tmp_path / f"k{attempt}.db"
        shutil.copy(template, path)
        url = f"sqlite:///{path}"
        code = KILLED_MIGRATE.format(tests=str(Path(__file__).parent), src=KILL_NEW, url=url)
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "go"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        old = open_pipeline(KILL_OLD, url, declare=False)
        new = open_pipeline(KILL_NEW, url, declare=False)
        at_old = not evolve.diff(old, extra(old))
        at_new = not evolve.diff(new, extra(new))
        assert at_old != at_new, (delay, evolve.diff(old, extra(old)).text())
        outcomes.append("old" if at_old else "new")
        assert old.connection.scalar("PRAGMA integrity_check") == "ok"
        assert old.connection.query("PRAGMA foreign_key_check") == []
        assert len(old.table("Big")) == n and len(old.table("Child")) == len(range(0, n, 7))
        assert not old.connection.query("SELECT name FROM sqlite_master WHERE name LIKE '%~new'")
        old.close()
        if at_old:  # the rerun finishes it
            evolve.migrate(new, extra(new))
            assert not evolve.diff(new, extra(new))
        new.close()
    print(outcomes)
    assert "old" in outcomes, outcomes  # at least one kill landed before the commit


# ---------------------------------------------------------------- no false differences

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*/*.rf"))


@pytest.mark.parametrize("rf", [p for p in EXAMPLES if p.name != "common.rf"], ids=lambda p: p.stem)
def test_a_freshly_declared_example_has_no_difference(db_url: str, rf: Path) -> None:
    """Every example schema, declared, is exactly its schema to diff (and so to the drift check)."""
    cls = run_cli.load_pipeline(str(rf))
    db = cls(db_url)
    d = evolve.diff(db, extra(db))
    assert not d, d.text()
    assert not evolve.plan(db, extra(db)).statements
    db.close()
