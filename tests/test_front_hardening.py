"""Front end and build hardening (issue 10, items 1-6): what `check` accepts, `build` emits and
the database stores as written."""

from __future__ import annotations

from pathlib import Path

import pytest
from runtime_fixtures import pipeline_from

from relflow_gen.cli.main import main
from relflow_gen.compiler.frontend import compile_text

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
