"""Front end and build hardening (issue 10, items 1-6): what `check` accepts, `build` emits and
the database stores as written."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import pytest
from runtime_fixtures import pipeline_from

from relflow_gen.cli.main import main
from relflow_gen.compiler.frontend import compile_file, compile_text
from relflow_gen.compiler.keywords import PIPELINE_ATTRIBUTES
from relflow_gen.runtime import Maker, U
from relflow_gen.runtime.pipeline import Pipeline

# ------------------------------------------------------------ string defaults in DDL

DEFAULTS_SRC = r"""schema lit
manual Note {
    note_id: int32
    ---
    backslash = "\\": varchar(20)
    mixed = "a\\'b\\\\c": varchar(20)
    quote = "it's": varchar(20)
    newline = "x\ny": varchar(20)
    kind = "c\\d": enum("a", "c\\d")
}
"""


def test_string_defaults_are_stored_as_written(db_url: str) -> None:
    """A default the database fills in (the column left out of a raw INSERT) reads back unchanged."""
    db = pipeline_from(DEFAULTS_SRC, db_url)
    try:
        table = db.table("lit.Note")
        db.connection.execute(f"INSERT INTO {table.sql_ref} ({db.connection.backend.quote('note_id')}) VALUES (1)")
        row = table.fetch1()
        assert row["backslash"] == "\\"
        assert row["mixed"] == "a\\'b\\\\c"
        assert row["quote"] == "it's"
        assert row["newline"] == "x\ny"
        assert row["kind"] == "c\\d"
        # the enum check accepts the value with its one backslash, inserted as a parameter
        table.insert1({"note_id": 2, "kind": "c\\d"})
        assert table.restrict({"note_id": 2}).fetch1()["kind"] == "c\\d"
    finally:
        db.close()


# ------------------------------------------------------------ one unclosed parenthesis, one error


@pytest.mark.parametrize(
    ("src", "line", "col"),
    [
        ("schema lab\nmanual A {\n    a: int\n    ---\n    b: varchar(10\n    c: int\n    d = 1: int\n}\n", 5, 15),
        ('schema lab\nmanual A {\n    a: int\n    ---\n    e = "x": enum("x",\n  "y")\n    b: varchar(3\n}\n', 7, 15),
        ("schema lab\nmanual A {\n    a: int\n    ---\n    b: decimal(4, 2\n}\nmanual B {\n    x: int\n}\n", 5, 15),
        ('schema lab\nmanual A {\n    a: int\n    ---\n    -> A.proj(b="a"\n    c: int\n}\n', 5, 14),
    ],
)
def test_unclosed_parenthesis_is_one_error_at_its_opening(src: str, line: int, col: int) -> None:
    found = compile_text(src, "input.rf").diagnostics
    assert [(d.code, d.message, d.span.line, d.span.col) for d in found] == [("E0001", "unclosed `(`", line, col)]


def test_parenthesis_over_several_lines_is_not_unclosed() -> None:
    src = 'schema lab\nmanual A {\n    a: int\n    ---\n    e = "x": enum("x",  # a comment with (\n  "y)")\n}\n'
    assert compile_text(src, "input.rf").ok
    # a real error inside a closed parenthesis is reported where it is
    found = compile_text(src.replace('"y)")', '"y" "z")'), "input.rf").diagnostics
    assert (found[0].code, found[0].span.line, found[0].span.col) == ("E0001", 6, 7)
    assert not any("unclosed" in d.message for d in found)


# ------------------------------------------------------------ check counts the files it checked


def test_check_counts_imported_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "common.rf").write_text("schema common\nmanual Person {\n    person_id: int32\n}\n", encoding="utf-8")
    (tmp_path / "lab.rf").write_text(
        'schema lab\nimport "common.rf"\nmanual Subject {\n    subject_id: int32\n    ---\n    -> common.Person\n}\n',
        encoding="utf-8",
    )
    assert main(["check", str(tmp_path / "lab.rf")]) == 0
    assert capsys.readouterr().out == "ok: 2 files checked, no problems found\n"
    # a file given and also imported is counted once
    assert main(["check", str(tmp_path / "lab.rf"), str(tmp_path / "common.rf")]) == 0
    assert capsys.readouterr().out == "ok: 2 files checked, no problems found\n"


# ------------------------------------------------------------ generated files name no machine's directories

HEADER_SRC = "schema lab\nmanual Subject {\n    subject_id: int32\n}\ncomputed Stats {\n    -> Subject\n    ---\n    n: int32\n}\n"


def _build_elsewhere(machine: Path, monkeypatch: pytest.MonkeyPatch, where: str) -> dict[str, bytes]:
    """Build a schema that lies outside the working directory's project; the files written."""
    source = machine / "home" / "someone" / "schemas" / "lab.rf"
    source.parent.mkdir(parents=True)
    source.write_text(HEADER_SRC, encoding="utf-8")
    work = machine / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    out = source.parent / "out" if where == "beside" else work / "out"
    makers = machine / "makers" / "lab_makers"
    assert main(["build", str(source), "-o", str(out), "--no-svg", "--stubs", "--makers", str(makers)]) == 0
    written = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    written |= {"makers/" + p.name: p.read_bytes() for p in makers.iterdir()}
    return written


@pytest.mark.parametrize("where", ["beside", "elsewhere"])
def test_two_machines_build_the_same_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    first = _build_elsewhere(tmp_path / "a", monkeypatch, where)
    second = _build_elsewhere(tmp_path / "bb" / "c", monkeypatch, where)
    assert sorted(first) == sorted(second)
    assert [name for name in first if first[name] != second[name]] == []
    for name, data in first.items():
        assert b"someone" not in data and str(tmp_path).encode() not in data, name
    header = first["lab_pipeline/__init__.py"].decode()
    assert "Generated by relflow-gen from lab.rf." in header  # the schema's own directory names it


# ------------------------------------------------------------ SQL reserved words are names like any other

#: 30 common SQL reserved words that are no Python keywords (and no `.rf` keywords: `index`, `unique`)
RESERVED_WORDS = (
    "key order group select table condition signal rank range offset blob default check values limit "
    "desc asc by to on join union case when then where having column interval distinct"
).split()
assert len(RESERVED_WORDS) == 30

RESERVED_SRC = f"""schema rw
manual Order {{
    key: int32
    ---
{chr(10).join(f"    {w} = 0: int32" for w in RESERVED_WORDS[1:])}
}}

manual Group {{
    -> Order
    row: int32
    ---
    rows: float64
    read = "a": varchar(8)
}}

computed Select {{
    -> Order
    ---
    total: float64
    n: int32
    part Values {{
        -> Group
        ---
        offset: float64
    }}
}}
"""


class MakeSelect(Maker[Any, Any]):
    __table__ = "rw.Select"
    __parts__ = (("Values", "rw.Select.Values"),)

    def make(self, key: Any) -> None:
        rows = (self.db.Group & key).fetch(order_by="row")
        self.Values.insert([{**key, "row": r["row"], "offset": r["rows"] * 2} for r in rows])
        self.insert1({**key, "total": sum(r["rows"] for r in rows), "n": len(rows)})


def test_reserved_words_as_names_on_both_backends(db_url: str) -> None:
    comp = compile_text(RESERVED_SRC, "rw.rf")
    assert comp.ok, [d.message for d in comp.diagnostics]
    db: Any = pipeline_from(RESERVED_SRC, db_url, makers=[MakeSelect])
    try:
        orders = [{"key": k, **{w: k * 10 + i for i, w in enumerate(RESERVED_WORDS[1:])}} for k in range(4)]
        db.Order.insert(orders)
        db.Group.insert(
            [{"key": k, "row": r, "rows": k + r / 10, "read": "ab"[r % 2]} for k in range(4) for r in range(3)]
        )
        assert sorted(db.Order.fetch(order_by="key"), key=lambda r: r["key"]) == orders
        # restriction by dict, by SQL string (bare and backticked), by query; negation
        assert (db.Order & {"order": 20}).fetch1()["key"] == 2
        assert sorted((db.Order & "`group` >= 21 and `rank` < 1000 and select > 0").keys(), key=str) == [
            {"key": 2},
            {"key": 3},
        ]
        assert len(db.Group & "row = 1 and `read` = 'b'") == 4
        assert len(db.Order & (db.Group & {"row": 2, "read": "a"})) == 4
        assert len(db.Order - (db.Group & "rows > 2.5")) == 3
        # join, projection with renames and a computed attribute, aggregation, union, U
        joined = db.Order * db.Group
        assert len(joined) == 12 and set(joined.heading) >= {"key", "order", "row", "rows", "read", "signal"}
        proj = db.Group.proj(desc="row", where="rows * 10 + row").fetch(order_by=["key", "desc"])
        assert [(r["key"], r["desc"], r["where"]) for r in proj[:2]] == [(0, 0, 0.0), (0, 1, 2.0)]
        counted = db.Order.aggr(db.Group & "read = 'a'", case="count(*)", when="max(row)").fetch(order_by="key")
        assert [(r["case"], r["when"]) for r in counted] == [(2, 2)] * 4
        both = (db.Order & {"key": 0}).proj("order") + (db.Order & {"key": 3}).proj("order")
        assert sorted(r["order"] for r in both.fetch()) == [0, 30]
        assert sorted(r["read"] for r in (U("read") & db.Group).fetch()) == ["a", "b"]
        per = U("read").aggr(db.Group, then="count(*)").fetch(order_by="read")
        assert [(r["read"], r["then"]) for r in per] == [("a", 8), ("b", 4)]
        # populate (with a part) and delete
        assert db.Select.populate().made == 4
        assert (db.Select & {"key": 1}).fetch1()["n"] == 3
        assert len(db.Select.Values & "offset > 4") == 5
        (db.Order & {"key": 3}).delete()
        assert len(db.Order) == 3 and len(db.Group) == 9 and len(db.Select) == 3 and len(db.Select.Values) == 9
    finally:
        db.close()


@pytest.mark.parametrize(
    ("src", "message"),
    [
        ("schema s\nmanual None {\n    a: int32\n}\n", "table name `None` is a Python keyword"),
        ("schema s\nmanual A {\n    a: int32\n    ---\n    class: int32\n}\n", "attribute name `class` is a Python keyword"),
        ("schema lambda\nmanual A {\n    a: int32\n}\n", "schema name `lambda` is a Python keyword"),
    ],
)
def test_names_python_reserves_are_refused(src: str, message: str) -> None:
    found = compile_text(src, "input.rf").diagnostics
    assert [(d.code, d.message) for d in found] == [("E0117", message)]


def test_imported_schema_that_hides_a_pipeline_attribute(tmp_path: Path) -> None:
    (tmp_path / "tables.rf").write_text("schema tables\nmanual A {\n    a: int32\n}\n", encoding="utf-8")
    (tmp_path / "lab.rf").write_text('schema lab\nimport "tables.rf"\nmanual B {\n    -> tables.A\n}\n', encoding="utf-8")
    found = compile_file(str(tmp_path / "lab.rf")).diagnostics
    assert [(d.code, d.span.line) for d in found] == [("E0117", 1)]
    assert "would hide the pipeline attribute `tables`" in found[0].message


def test_pipeline_attributes_list_matches_the_runtime() -> None:
    assert PIPELINE_ATTRIBUTES == {n for n in dir(Pipeline) if not n.startswith("__")} | {"connection"}


# ------------------------------------------------------------ enum values: refused, or stored as written

ODD_ENUM_VALUES = [
    " lead",
    "tab\t",
    "a\nb",
    "cr\r",
    "A",
    "a",
    "\u00e4",
    "a\u0308",
    "\u00df",
    "ss",
    "x\u00a0",
    "x\u3000",
    "\U0001f600",
    "\\",
    "back\\slash",
    "'",
    '"',
    "a,b",
    "%s",
    "",
]


def _rf_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r") + '"'


def test_enum_values_check_accepts_are_stored_as_written(db_url: str) -> None:
    values = ", ".join(_rf_string(v) for v in ODD_ENUM_VALUES)
    src = f"schema en\nmanual Probe {{\n    probe_id: int32\n    ---\n    v: enum({values})\n}}\n"
    db: Any = pipeline_from(src, db_url)
    try:
        db.Probe.insert([{"probe_id": i, "v": v} for i, v in enumerate(ODD_ENUM_VALUES)])
        assert [r["v"] for r in db.Probe.fetch(order_by="probe_id")] == ODD_ENUM_VALUES
        for i, v in enumerate(ODD_ENUM_VALUES):
            assert (db.Probe & {"v": v}).fetch1()["probe_id"] == i
    finally:
        db.close()
    again: Any = pipeline_from(src, db_url)  # declared tables match the schema: no DeclareError
    try:
        assert len(again.Probe) == len(ODD_ENUM_VALUES)
    finally:
        again.close()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ('"ws ", "x"', 'enum value "ws " of `v` ends with a space'),
        ('"a", "a "', 'enum values "a" and "a " of `v` are the same value on MariaDB and MySQL'),
        ('" ", ""', 'enum values " " and "" of `v` are the same value on MariaDB and MySQL'),
    ],
)
def test_enum_values_the_server_would_change_are_refused(values: str, message: str) -> None:
    src = f"schema en\nmanual Probe {{\n    probe_id: int32\n    ---\n    v: enum({values})\n}}\n"
    found = compile_text(src, "input.rf").diagnostics
    assert [(d.code, d.message) for d in found][-1] == ("E0131", message)
    assert {d.code for d in found} == {"E0131"}


#: table names that are also names the generated modules import or define
CLASHING_NAMES = "Pipeline Table SchemaMeta LabPipeline CommonTables Any Connection Maker Namespace Decimal".split()


def test_table_names_that_clash_with_generated_names_build_and_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tables = "\n".join(f"manual {n} {{\n    {n.lower()}_id: int32\n    ---\n    -> common.Person\n}}" for n in CLASHING_NAMES)
    (tmp_path / "common.rf").write_text("schema common\nmanual Person {\n    person_id: int32\n}\n", encoding="utf-8")
    (tmp_path / "lab.rf").write_text(f'schema lab\nimport "common.rf"\n{tables}\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["check", "lab.rf"]) == 0
    assert main(["build", "lab.rf", "-o", "out", "--no-svg", "--package", "clash_pipeline"]) == 0
    monkeypatch.syspath_prepend(str(tmp_path / "out"))
    package = importlib.import_module("clash_pipeline")
    try:
        db = package.connect(f"sqlite:///{tmp_path / 'lab.db'}")
        db.common.Person.insert1({"person_id": 1})
        for n in CLASHING_NAMES:
            table = getattr(db, n)
            assert table.full_name == f"lab.{n}"
            table.insert1({f"{n.lower()}_id": 7, "person_id": 1})
            assert len(table) == 1
        db.close()
    finally:
        for name in [m for m in sys.modules if m == "clash_pipeline" or m.startswith("clash_pipeline.")]:
            del sys.modules[name]
