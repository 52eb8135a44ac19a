"""Direct unit tests of the lower stage: one file's parse tree -> declared (unresolved) IR."""

from __future__ import annotations

from relflow_gen.compiler.diagnostics import Diagnostic
from relflow_gen.compiler.ir import Attribute, ForeignKey, Schema, Table, Tier
from relflow_gen.compiler.lower import MAX_NESTING, UNRESOLVED_TYPE, lower
from relflow_gen.compiler.parse import parse


def lowered(body: str) -> tuple[Schema, list[Diagnostic]]:
    schema, diags = lower(parse("schema lab\n\n" + body, "input.rf"))
    assert schema is not None
    return schema, diags


def table(body: str, name: str) -> Table:
    schema, diags = lowered(body)
    assert diags == [], [(d.code, d.message) for d in diags]
    found = schema.table(name)
    assert found is not None
    return found


def codes(body: str) -> list[str]:
    return [d.code for d in lowered(body)[1]]


def test_a_table_keeps_its_body_in_order_with_the_key_above_the_divider() -> None:
    t = table(
        'manual Session "a recording day" {\n'
        "    -> Subject\n"
        "    session_id: int32   # per subject\n"
        "    ---\n"
        '    note = "": varchar(64)\n'
        "    -> [nullable] Rig\n"
        "    index(note)\n"
        "}\n",
        "Session",
    )
    assert (t.schema, t.tier, t.doc, t.master) == ("lab", Tier.MANUAL, "a recording day", None)
    kinds = [(type(i).__name__, i.in_key) for i in t.body]
    assert kinds == [("ForeignKey", True), ("Attribute", True), ("Attribute", False), ("ForeignKey", False)]
    session_id, note = (i for i in t.body if isinstance(i, Attribute))
    assert (session_id.type.name, session_id.comment, session_id.lineage) == ("int32", "per subject", "lab.Session.session_id")
    assert note.default is not None and (note.default.kind, note.default.value) == ("str", "")
    rig = t.body[3]
    assert isinstance(rig, ForeignKey) and rig.nullable and rig.parent == ""  # resolve links it later
    assert [i.attributes for i in t.indexes] == [("note",)]


def test_null_default_makes_an_attribute_nullable() -> None:
    t = table("manual A {\n    a: int32\n    ---\n    b = null: float64\n}\n", "A")
    b = t.body[1]
    assert isinstance(b, Attribute) and b.nullable and b.default is not None and b.default.kind == "null"


def test_a_part_gets_its_master_reference_and_the_master_lists_it() -> None:
    schema, diags = lowered("manual M {\n    m: int32\n    part P {\n        p: int32\n    }\n}\n")
    assert diags == []
    master, part = schema.tables
    assert (master.name, master.parts) == ("M", ("M.P",))
    assert (part.name, part.tier, part.master) == ("M.P", Tier.PART, "M")
    first = part.body[0]
    assert isinstance(first, ForeignKey) and first.is_master and first.in_key


def test_references_keep_options_and_renames_as_written() -> None:
    t = table('manual T {\n    -> [unique, nullable] lab.Subject.proj(donor="subject_id")\n    t: int32\n}\n', "T")
    fk = t.body[0]
    assert isinstance(fk, ForeignKey)
    assert (fk.target, fk.unique, fk.nullable, fk.options, fk.renames) == (
        "lab.Subject",
        True,
        True,
        ("unique", "nullable"),
        (("donor", "subject_id"),),
    )


def test_an_unknown_type_is_reported_and_marked_unresolved() -> None:
    schema, diags = lowered("manual A {\n    a: integr\n}\n")
    assert [d.code for d in diags] == ["E0119"]
    a = schema.tables[0].body[0]
    assert isinstance(a, Attribute) and a.type is UNRESOLVED_TYPE


def test_what_the_grammar_accepts_but_lower_refuses() -> None:
    assert codes("manual M {\n    m: int32\n    manual N {\n        n: int32\n    }\n}\n") == ["E0140"]
    assert codes("manual A {\n    a: int32\n    ---\n    b: int32\n    ---\n    c: int32\n}\n") == ["E0141"]
    assert codes("manual A {\n    a: int32\n    ---\n    b = mouse: varchar(8)\n}\n") == ["E0143"]
    assert codes("manual A {\n    a: int32\n    index()\n}\n") == ["E0145"]
    assert codes('lookup A {\n    a: int32\n    contents { (1) }\n    contents { (2) }\n}\n') == ["E0146"]
    assert codes('lookup A {\n    a: int32\n    ---\n    b: int32\n    contents { (1, b=2) }\n}\n') == ["E0147"]
    assert codes("manual A {\n    a: int32\n    -> [sorted] B\n}\n") == ["E0122"]


def test_a_second_proj_is_reported_and_not_applied() -> None:
    schema, diags = lowered('manual T {\n    -> S.proj(a="x").proj(b="x")\n    t: int32\n}\n')
    assert [d.code for d in diags] == ["E0144"]
    fk = schema.tables[0].body[0]
    assert isinstance(fk, ForeignKey) and fk.renames == (("a", "x"),)


def _nested(levels: int) -> str:
    text = ""
    for i in range(levels):
        text += "    " * i + ("manual" if i == 0 else "part") + f" T{i} {{\n" + "    " * (i + 1) + f"a{i}: int32\n"
    return text + "".join("    " * i + "}\n" for i in reversed(range(levels)))


def test_nesting_up_to_the_limit_is_lowered_beyond_it_reported_once() -> None:
    schema, diags = lowered(_nested(MAX_NESTING))
    assert len(schema.tables) == MAX_NESTING and "E0142" not in [d.code for d in diags]
    schema, diags = lowered(_nested(MAX_NESTING + 1))
    assert [d.code for d in diags] == ["E0142"] and diags[0].span.line == 3
    assert [t.name for t in schema.tables] == ["T0"]


def test_no_tree_gives_the_parse_diagnostics() -> None:
    schema, diags = lower(parse("schema lab\n\nmanual A {\n    a int32\n}\n", "input.rf"))
    assert schema is None and [d.code for d in diags] == ["E0001"]
