"""Direct unit tests of the resolve stage: references linked, cycles cut, headings built across schemas."""

from __future__ import annotations

from relflow_gen.compiler.diagnostics import Diagnostic
from relflow_gen.compiler.ir import Schema, Table
from relflow_gen.compiler.lower import lower
from relflow_gen.compiler.parse import parse
from relflow_gen.compiler.resolve import resolve


def declared(name: str, body: str) -> Schema:
    schema, diags = lower(parse(f"schema {name}\n\n{body}", f"{name}.rf"))
    assert schema is not None and diags == []
    return schema


def resolved(
    *schemas: Schema, visible: dict[str, tuple[str, ...]] | None = None
) -> tuple[dict[str, Table], list[Diagnostic]]:
    out, diags = resolve(schemas, visible or {})
    return {t.full_name: t for s in out for t in s.tables}, diags


def heading(t: Table) -> list[tuple[str, bool, str]]:
    return [(a.name, a.in_key, a.lineage) for a in t.attributes]


LAB = """
manual Subject {
    subject_id: varchar(16)
    ---
    sex: enum("M", "F")
}

manual Session {
    -> Subject
    session_id: int32
    ---
    -> [nullable] Subject.proj(surgeon="subject_id")
}
"""


def test_parent_keys_are_inherited_in_place_with_their_lineage() -> None:
    tables, diags = resolved(declared("lab", LAB))
    assert diags == []
    session = tables["lab.Session"]
    assert heading(session) == [
        ("subject_id", True, "lab.Subject.subject_id"),
        ("session_id", True, "lab.Session.session_id"),
        ("surgeon", False, "lab.Subject.subject_id"),
    ]
    own, renamed = session.foreign_keys
    assert (own.parent, own.attr_map) == ("lab.Subject", (("subject_id", "subject_id"),))
    assert (renamed.parent, renamed.attr_map) == ("lab.Subject", (("surgeon", "subject_id"),))
    assert session.attributes[2].nullable and session.attributes[2].fk == 1


def test_the_same_lineage_twice_is_merged_a_different_one_is_an_error() -> None:
    diamond = LAB + "manual Scan {\n    -> Subject\n    -> Session\n    scan: int32\n}\n"
    tables, diags = resolved(declared("lab", diamond))
    assert diags == []
    assert [a.name for a in tables["lab.Scan"].attributes] == ["subject_id", "session_id", "scan"]
    clash = LAB + "manual Other {\n    subject_id: int32\n    -> Subject\n}\n"
    _, diags = resolved(declared("lab", clash))
    assert [d.code for d in diags] == ["E0104"] and "different `subject_id`" in diags[0].message


def test_a_reference_into_an_imported_schema() -> None:
    common = declared("common", "manual Subject {\n    subject_id: int32\n}\n")
    lab = declared("lab", "manual Session {\n    -> common.Subject\n    session_id: int32\n}\n")
    tables, diags = resolved(common, lab, visible={"lab": ("common",)})
    assert diags == []
    assert heading(tables["lab.Session"])[0] == ("subject_id", True, "common.Subject.subject_id")
    _, diags = resolved(common, lab)  # not imported
    assert [d.code for d in diags] == ["E0101"] and "import" in (diags[0].hint or "")


def test_unknown_and_duplicate_tables() -> None:
    _, diags = resolved(declared("lab", LAB + "manual Scan {\n    -> Sesion\n    scan: int32\n}\n"))
    assert [(d.code, d.hint) for d in diags] == [("E0101", "did you mean `Session`?")]
    _, diags = resolved(declared("lab", LAB + "manual Subject {\n    x: int32\n}\n"))
    assert [d.code for d in diags] == ["E0103"]


def test_a_cycle_is_reported_once_and_cut() -> None:
    src = "manual A {\n    -> C\n    a: int32\n}\nmanual B {\n    -> A\n    b: int32\n}\nmanual C {\n    -> B\n    c: int32\n}\n"
    tables, diags = resolved(declared("lab", src))
    assert [d.code for d in diags] == ["E0102"]
    assert diags[0].message == "dependency cycle: A -> C -> B -> A"
    assert all(fk.parent == "" for t in tables.values() for fk in t.foreign_keys)
    assert [a.name for a in tables["lab.B"].attributes] == ["b"]  # nothing inherited through a cut reference


def test_self_references() -> None:
    tree = "manual Region {\n    region_id: int32\n    ---\n    -> [nullable] Region.proj(parent_id=\"region_id\")\n}\n"
    tables, diags = resolved(declared("lab", tree))
    assert diags == []
    assert heading(tables["lab.Region"]) == [
        ("region_id", True, "lab.Region.region_id"),
        ("parent_id", False, "lab.Region.region_id"),
    ]
    _, diags = resolved(declared("lab", "manual Region {\n    -> Region\n    region_id: int32\n}\n"))
    assert [d.code for d in diags] == ["E0116"]


def test_renames_of_what_the_parent_does_not_have() -> None:
    src = LAB + "manual T {\n    -> Subject.proj(x=\"sex\")\n    t: int32\n}\n"
    _, diags = resolved(declared("lab", src))
    assert [d.code for d in diags] == ["E0115"] and "secondary attribute" in (diags[0].hint or "")
    src = LAB + "manual T {\n    -> Subject.proj(x=\"subject_id\", y=\"subject_id\")\n    t: int32\n}\n"
    _, diags = resolved(declared("lab", src))
    assert [d.code for d in diags] == ["E0115"] and "renamed twice" in diags[0].message
