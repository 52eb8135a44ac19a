"""Unit tests of the emitter's stages: names, literals, headers, DDL, diagrams, SVG."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import json
import math
import uuid
import xml.dom.minidom
from pathlib import Path

import pytest
from golden.cases import black_format

from relflow_gen.compiler.frontend import compile_text
from relflow_gen.compiler.ir import Project
from relflow_gen.compiler.metadata import schema_meta
from relflow_gen.core.meta import REQUIRED, Attr, SqlDefault
from relflow_gen.core.types import TypeSpec
from relflow_gen.emit import literals as lit
from relflow_gen.emit.layout import Atom, Group, block, call, flat, subscript, tup
from relflow_gen.emit.models import HEADER_MARKER, header_text, package_model
from relflow_gen.emit.names import RESERVED, SUFFIXES, table_stems, unique
from relflow_gen.emit.package import EmitOptions, dumps, emit
from relflow_gen.emit.sql import ddl_statements
from relflow_gen.runtime.diagram import Diagram, DiagramError, dot_program, postprocess, render_svg, to_dot, to_mermaid

LAB = """\
schema lab "A lab"

lookup Species {
    species: varchar(16)
    ---
    contents {
        ("mouse")
    }
}

lookup Region {
    region_id: int32
    ---
    -> [nullable] Region.proj(parent_id="region_id")
    contents {
        (1, null)
    }
}

manual Subject {
    subject_id: int32
    ---
    -> Species
    -> [nullable] Region
}

imported Recording {
    -> Subject
    ---
    data: blob
    part Channel {
        channel: int16
    }
}

computed Pair {
    -> Recording.proj(a="subject_id")
    -> Recording.proj(b="subject_id")
    ---
    score: float64
}
"""


def project(text: str = LAB) -> Project:
    comp = compile_text(text, "lab.rf")
    assert comp.ok and comp.project is not None, comp.diagnostics
    return comp.project


# ------------------------------------------------------------------------- names


def test_unique_keeps_first_and_numbers_the_rest() -> None:
    assert unique(["A", "B", "A", "A"], set()) == ["A", "B", "A_2", "A_3"]
    assert unique(["Part"], {"PartTable"}, ("Table", "Row")) == ["Part_2"]


def test_stems_of_root_tables_parts_and_imported_tables() -> None:
    stems = table_stems(schema_meta(project()))
    assert stems["lab.Subject"] == "Subject"
    assert stems["lab.Recording.Channel"] == "RecordingChannel"


def test_clashing_stems_favour_plain_root_tables() -> None:
    text = 'schema s\nmanual Foo {\n    foo_id: int32\n    part Bar {\n        bar_id: int32\n    }\n}\nmanual FooBar {\n    x: int32\n}\nmanual Part {\n    p: int32\n}\n'
    stems = table_stems(schema_meta(project(text)))
    assert stems == {"s.Foo": "Foo", "s.Foo.Bar": "FooBar_2", "s.FooBar": "FooBar", "s.Part": "Part_2"}
    for stem in stems.values():
        assert not any(stem + suffix in RESERVED for suffix in SUFFIXES)


def test_package_model_names_and_exports() -> None:
    model = package_model(schema_meta(project()), "lab_pipeline", "lab.rf")
    assert model.pipeline_class == "LabPipeline"
    rec = next(t for t in model.tables if t.full_name == "lab.Recording")
    assert (rec.table_class, rec.base_class, rec.maker_class) == ("RecordingTable", "ImportedTable", "RecordingMaker")
    assert rec.parts[0].attr == "Channel" and rec.parts[0].insert_type == "RecordingChannelInsert"
    assert {"AndList", "Not", "U", "connect", "RecordingMaker", "SubjectInsert"} <= set(model.exports)
    assert list(model.exports) == sorted(model.exports)


def test_insert_types_make_defaults_and_nullables_optional() -> None:
    model = package_model(schema_meta(project()), "lab_pipeline", "lab.rf")
    subject = next(t for t in model.tables if t.full_name == "lab.Subject")
    inserts = {f.name: f.annotation for f in subject.insert_fields}
    rows = {f.name: f.annotation for f in subject.row_fields}
    assert inserts == {"subject_id": "int", "species": "str", "region_id": "NotRequired[int | None]"}
    assert rows["region_id"] == "int | None"
    assert [f.name for f in subject.key_fields] == ["subject_id"]


# ---------------------------------------------------------------------- literals


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        -(2**63),
        2**64 - 1,
        0.1,
        1e300,
        -0.0,
        "",
        'it\'s "x" \\ \n\t\x00 é ☃',
        b"\x00ab",
        decimal.Decimal("-12.50"),
        datetime.date(2020, 1, 2),
        datetime.time(0, 0),
        datetime.time(1, 2, 3, 4),
        datetime.datetime(2021, 3, 4),
        datetime.datetime(2021, 3, 4, 5, 6, 7, 8),
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
        SqlDefault("CURRENT_TIMESTAMP"),
        ("a", 1, None),
    ],
)
def test_python_literals_evaluate_to_the_value(value: object) -> None:
    imports = lit.Imports()
    text = lit.py_value(value, imports)
    namespace = {"REQUIRED": REQUIRED, "SqlDefault": SqlDefault, "Decimal": decimal.Decimal}
    namespace.update(datetime=datetime, uuid=uuid)
    result = eval(text, namespace)  # noqa: S307 - evaluating our own literal
    assert result == value and type(result) is type(value)


def test_special_floats_and_required() -> None:
    imports = lit.Imports()
    assert math.isnan(eval(lit.py_value(float("nan"), imports)))  # noqa: S307
    assert eval(lit.py_value(float("-inf"), imports)) == float("-inf")  # noqa: S307
    assert lit.py_value(REQUIRED, imports) == "REQUIRED"
    assert ("relflow_gen.runtime", "REQUIRED") in imports.names


def test_literals_collect_their_imports() -> None:
    imports = lit.Imports()
    lit.py_value(decimal.Decimal("1"), imports)
    lit.py_value(datetime.date(2020, 1, 1), imports)
    lit.py_value(uuid.UUID(int=0), imports)
    assert imports.lines() == ["import datetime", "import uuid", "from decimal import Decimal"]


def test_unsupported_values_are_an_error() -> None:
    with pytest.raises(lit.LiteralError):
        lit.py_value(object(), lit.Imports())
    with pytest.raises(lit.LiteralError):
        lit.py_value(datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC), lit.Imports())


def test_attr_literal_leaves_out_defaults() -> None:
    imports = lit.Imports()
    a = Attr("x", TypeSpec("varchar", (8,)), True, lineage="s.T.x")
    assert flat(lit.attr(a, imports)) == 'Attr("x", _VARCHAR_8, True, lineage="s.T.x")'
    assert imports.type_specs == {"_VARCHAR_8": TypeSpec("varchar", (8,))}
    b = Attr("e", TypeSpec("enum", ("a", "b")), False, nullable=True, default=None, comment='say "hi"')
    assert flat(lit.attr(b, imports)) == (
        'Attr("e", TypeSpec("enum", ("a", "b")), False, nullable=True, default=None, comment=\'say "hi"\')'
    )


def test_shared_type_constants_name_one_type_each() -> None:
    """tables.py defines each attribute type once (``_DECIMAL_10_2 = TypeSpec(...)``); the name
    is a function of the type, and a type that cannot be named so is spelled inline."""
    specs = [TypeSpec("int32"), TypeSpec("decimal", (10, 2)), TypeSpec("decimal", (1, 2)), TypeSpec("char", (16,))]
    names = [lit.type_spec_constant(s) for s in specs]
    assert names == ["_INT32", "_DECIMAL_10_2", "_DECIMAL_1_2", "_CHAR_16"]
    assert lit.type_spec_constant(TypeSpec("enum", ("a", "b"))) is None
    assert lit.type_spec_constant(TypeSpec("blob@", ("raw",))) is None
    imports = lit.Imports()
    assert flat(lit.type_ref(TypeSpec("enum", ("a",)), imports)) == 'TypeSpec("enum", ("a",))'
    assert imports.type_specs == {}


def test_docstrings_are_safe() -> None:
    assert lit.py_docstring('a """b""" c\\') == '"""a \\"\\"\\"b\\"\\"\\" c\\\\"""'
    assert lit.py_docstring('ends with "') == '"""ends with \\""""'
    assert eval(lit.py_docstring('x "y" \\ """ z"')) == 'x "y" \\ """ z"'  # noqa: S307


# ------------------------------------------------------------------------ header


def test_header_names_the_source_and_nothing_variable() -> None:
    files = emit(project(), EmitOptions("lab_pipeline", "schemas/lab.rf"))
    text = header_text("schemas/lab.rf")
    assert text.startswith(HEADER_MARKER)
    prefixes = {".py": "# ", ".sql": "-- ", ".dot": "// ", ".mmd": "%% ", ".typed": "# "}
    for path, content in files.items():
        if path == "schema.json":
            assert f'"_generated": "{text}"' in content
            continue
        prefix = next(p for suffix, p in prefixes.items() if path.endswith(suffix))
        assert content.startswith(prefix + text + "\n"), path
    assert sorted(files) == [
        "__init__.py",
        "__main__.py",
        "diagram.dot",
        "diagram.mmd",
        "py.typed",
        "rows.py",
        "schema.json",
        "sql/mysql.sql",
        "sql/sqlite.sql",
        "tables.py",
    ]


# --------------------------------------------------------------------------- DDL


def test_ddl_is_in_dependency_order_with_jobs_tables_last() -> None:
    sqls = ddl_statements(schema_meta(project()), "sqlite")
    creates = [s.split('"', 2)[1] for s in (x[x.index("CREATE TABLE") :] for x in sqls if "CREATE TABLE" in x)]
    assert creates.index("lab.#species") < creates.index("lab.subject") < creates.index("lab._recording")
    assert creates.index("lab._recording") < creates.index("lab._recording__channel")
    assert creates[-1] == "lab.~jobs"


def test_mysql_ddl_uses_the_prefix() -> None:
    sqls = ddl_statements(schema_meta(project()), "mysql", prefix="p1_")
    assert sqls[0].startswith("CREATE DATABASE IF NOT EXISTS `p1_lab`")
    assert all("`lab`" not in s for s in sqls)


# ---------------------------------------------------------------------- diagrams


def test_dot_styles_follow_the_notation() -> None:
    dot = to_dot(schema_meta(project()), "H")
    assert dot.startswith("// H\ndigraph")
    line = {ln.split(" [")[0].strip(): ln for ln in dot.splitlines() if " [" in ln}
    assert 'shape="box"' in line['"lab.Species"'] and "#d9d9d9" in line['"lab.Species"']
    assert 'shape="box"' in line['"lab.Subject"'] and "#a1d99b" in line['"lab.Subject"']
    assert 'shape="ellipse"' in line['"lab.Recording"'] and "#9ecae1" in line['"lab.Recording"']
    assert 'shape="ellipse"' in line['"lab.Pair"'] and "#fc9272" in line['"lab.Pair"']
    assert "bold" in line['"lab.Recording.Channel"'] and "fontsize=8.0" in line['"lab.Recording.Channel"']
    assert 'subgraph "cluster_lab.Recording"' in dot
    assert 'style="solid"' in line['"lab.Subject" -> "lab.Recording"']
    assert 'style="dashed"' in line['"lab.Species" -> "lab.Subject"']
    loop = line['"lab.Region" -> "lab.Region"']
    assert 'label="parent_id ← region_id"' in loop and "#e6550d" in loop and 'arrowtail="odot"' in loop
    assert dot.count('"lab.Recording" -> "lab.Pair"') == 2


def test_mermaid_has_class_defs_and_edge_styles() -> None:
    mmd = to_mermaid(schema_meta(project()), "H")
    assert mmd.startswith("%% H\nflowchart TB\n")
    for tier in ("lookup", "manual", "imported", "computed", "part"):
        assert f"classDef {tier} " in mmd
    assert 'lab__Recording(["Recording"]):::imported' in mmd
    assert 'lab__Recording__Channel["Recording.Channel"]:::part' in mmd
    assert "lab__Species -.-> lab__Subject" in mmd
    assert "lab__Subject --> lab__Recording" in mmd
    assert 'lab__Region -.->|"parent_id ← region_id"| lab__Region' in mmd
    assert "linkStyle 0,5,6 stroke:#e6550d" in mmd


def test_svg_postprocess_replaces_the_graphviz_comment() -> None:
    raw = '<?xml version="1.0"?>\n<!-- Generated by graphviz version 9.0 (0)\n -->\n<svg/>\n'
    assert postprocess(raw, "H -- x") == '<?xml version="1.0"?>\n<!-- H - - x -->\n<svg/>\n'


@pytest.mark.skipif(dot_program() is None, reason="Graphviz dot is not installed")
def test_svg_is_deterministic_and_well_formed() -> None:
    dot = to_dot(schema_meta(project()), header_text("lab.rf"))
    first = render_svg(dot, header_text("lab.rf"))
    assert first is not None and first == render_svg(dot, header_text("lab.rf"))
    assert "graphviz version" not in first and HEADER_MARKER in first[:300]
    xml.dom.minidom.parseString(first.encode("utf-8"))


def test_svg_is_skipped_without_graphviz(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("relflow_gen.runtime.diagram.shutil.which", lambda name: None)
    assert render_svg("digraph {}", "H") is None


def test_the_build_writes_no_svg() -> None:
    assert not any(path.endswith(".svg") for path in emit(project(), EmitOptions("lab_pipeline", "lab.rf")))


@pytest.mark.skipif(dot_program() is None, reason="Graphviz dot is not installed")
def test_diagram_object_draws_an_svg_and_saves_every_format(tmp_path: Path) -> None:
    diagram = Diagram(schema_meta(project()))
    svg = diagram._repr_svg_()
    assert svg is not None and "<svg" in svg and ">Recording</text>" in svg
    xml.dom.minidom.parseString(svg.encode("utf-8"))
    assert diagram.save(tmp_path / "lab.svg").read_text(encoding="utf-8") == svg
    assert diagram.save(tmp_path / "lab.dot").read_text(encoding="utf-8") == diagram.dot
    assert diagram.save(tmp_path / "lab.mmd").read_text(encoding="utf-8") == diagram.mermaid
    with pytest.raises(DiagramError, match="unknown diagram format `.png`"):
        diagram.save(tmp_path / "lab.png")


def test_diagram_object_falls_back_to_mermaid_without_graphviz(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("relflow_gen.runtime.diagram.shutil.which", lambda name: None)
    diagram = Diagram(schema_meta(project()))
    assert diagram._repr_svg_() is None
    markdown = diagram._repr_markdown_()
    assert markdown.startswith("```mermaid\n%% diagram of the lab pipeline\nflowchart TB\n") and markdown.endswith("```\n")
    with pytest.raises(DiagramError, match="Graphviz `dot` is not installed"):
        diagram.save(tmp_path / "lab.svg")
    assert not (tmp_path / "lab.svg").exists()


def test_a_failing_dot_is_a_diagram_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("relflow_gen.runtime.diagram.shutil.which", lambda name: "/bin/false")
    with pytest.raises(DiagramError, match="failed"):
        render_svg("digraph {}", "H")


# ------------------------------------------------------------------------ layout


def _black_stable(code: str) -> bool:
    return black_format(code + "\n") == code + "\n"


LONG = "x" * 30


@pytest.mark.parametrize(
    "node",
    [
        call("Attr", Atom('"a"'), Atom("True")),
        call("Attr", *(Atom(f'"{LONG}{i}"') for i in range(2))),
        call("Attr", *(Atom(f'"{LONG}{i}"') for i in range(4))),
        tup([Atom("1"), Atom("2")], magic=True),
        tup([Atom("1")], magic=True),
        tup([tup([Atom(f'"{LONG}"'), Atom(f'"{LONG}"'), Atom(f'"{LONG}"'), Atom(f'"{LONG}"')])]),
        call("TableMeta", Atom("a=1"), Group("b=(", (call("F", *(Atom(f'"{LONG}{i}"') for i in range(5))),)), magic=True),
        call("FK", Atom('"p"'), tup([tup([Atom('"a"'), Atom('"b"')])]), Atom("False")),
    ],
)
def test_layout_is_what_black_writes(node: Group) -> None:
    code = block(Group("X = " + node.head, node.items, node.close, node.magic))
    assert _black_stable(code), code


@pytest.mark.parametrize(
    "annotation",
    ['NotRequired[Literal["a", "b"]]', 'NotRequired[Literal[' + ", ".join(f'"{LONG}{i}"' for i in range(3)) + "]]"],
)
def test_annotation_layout_is_what_black_writes(annotation: str) -> None:
    code = "class T:\n    " + block(subscript(annotation, "field_name: "), 4)[4:]
    assert _black_stable(code), code


@pytest.mark.parametrize("text", ["plain", 'a "quoted" word', "it's", "both ' and \"\"", "back\\slash", "tab\tnew\nline"])
def test_strings_are_quoted_as_black_quotes_them(text: str) -> None:
    code = f"X = {lit.py_str(text)}"
    assert _black_stable(code), code
    assert eval(lit.py_str(text)) == text  # noqa: S307


def test_an_imported_schema_may_not_hide_a_pipeline_attribute() -> None:
    from relflow_gen.compiler.frontend import compile_file
    from relflow_gen.emit.package import EmitError

    sources = {
        "main.rf": 'schema main\nimport "tables.rf"\nmanual A {\n    a: int32\n    ---\n    -> tables.B\n}\n',
        "tables.rf": "schema tables\nmanual B {\n    b: int32\n}\n",
    }
    comp = compile_file("main.rf", reader=sources.get)
    # `check` refuses it (E0117), so that build never meets it ...
    assert [(d.code, d.span.file) for d in comp.diagnostics] == [("E0117", "tables.rf")]
    assert "would hide the pipeline attribute `tables`" in comp.diagnostics[0].message
    # ... and the emitter still guards against it
    renamed = compile_file("main.rf", reader={k.replace("tables", "tablez"): v.replace("tables", "tablez") for k, v in sources.items()}.get)
    assert renamed.ok and renamed.project is not None
    schemas = tuple(dataclasses.replace(s, name="tables") if s.name == "tablez" else s for s in renamed.project.schemas)
    with pytest.raises(EmitError, match="would hide the pipeline attribute `tables`"):
        emit(dataclasses.replace(renamed.project, schemas=schemas), EmitOptions("main_pipeline", "main.rf"))


# ------------------------------------------------------------------- schema.json


@pytest.mark.parametrize(
    "value",
    [
        {"b": [1, 2.5, -0.0, 1e300, float("nan"), float("inf")], "a": {"z": None, "y": True, "x": False}},
        {"s": 'é "quoted" \\ \n \t \x01 \u2028', "n": 2**70, "empty": {}, "none": [], "nested": [[[]], [{}]]},
        [],
        "text",
    ],
)
def test_json_writer_gives_json_dumps_text(value: object) -> None:
    assert dumps(value) == json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False)
