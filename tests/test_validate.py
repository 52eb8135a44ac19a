"""Unit tests of the validator's rules (relflow_gen/validate.py) and of the small
modules it uses: values (does a literal fit a type), naming and keywords."""

from __future__ import annotations

import dataclasses
import re
import warnings
from pathlib import Path

import pytest

from relflow_gen.compiler.diagnostics import CODES, Diagnostic
from relflow_gen.compiler.frontend import compile_file, compile_text
from relflow_gen.compiler.ir import Span, Table, Tier, Value
from relflow_gen.compiler.keywords import sql_reserved
from relflow_gen.compiler.naming import snake_case, sql_table_name, suggest_camel, suggest_snake
from relflow_gen.compiler.validate import validate
from relflow_gen.compiler.values import check_default, check_value, comparable
from relflow_gen.core.types import TypeSpec, resolve_type


def diags(source: str) -> list[Diagnostic]:
    return compile_text("schema lab\n" + source).diagnostics


def codes(source: str) -> list[str]:
    return [d.code for d in diags(source)]


def only(source: str, code: str) -> Diagnostic:
    """The single diagnostic of ``source``, which must have ``code``."""
    found = diags(source)
    assert [d.code for d in found] == [code], [(d.code, d.message) for d in found]
    return found[0]


def at(d: Diagnostic) -> tuple[int, int]:
    """Line and column, counting the `schema lab` line that diags() prepends."""
    return d.span.line, d.span.col


LAB = """
lookup Species "Species used in experiments" {
    species: varchar(32)              # standard species code
    ---
    common_name: varchar(64)
    contents {
        ("mouse", "House mouse")
        ("rat",   "Norway rat")
    }
}

manual Subject {
    subject_id: varchar(16)
    ---
    -> Species
    sex = "U": enum("M", "F", "U")
    date_of_birth = null: date
}

manual Session {
    -> Subject
    session_id: int32
    ---
    session_date: date
    part Trial {
        trial_id: int32
        ---
        outcome: enum("success", "failure")
    }
}

imported Recording {
    -> Session
    ---
    sampling_rate: float64
    samples: blob
}

lookup FilterParams {
    filter_id: int32
    ---
    low = 0.5: float64
    contents {
        (1)
        (filter_id=2, low=1.5)
    }
}

computed FilteredRecording {
    -> Recording
    -> FilterParams
    ---
    filtered: blob
}
"""


def test_design_example_is_clean() -> None:
    assert diags(LAB) == []


def test_validate_is_pure() -> None:
    comp = compile_text("schema lab\nmanual A {\n  a = null: int\n}\n")
    assert comp.project is not None
    first = validate(comp.project)
    assert validate(comp.project) == first
    assert [d.code for d in first] == ["E0105"]


# ---------------------------------------------------------------- primary key


def test_e0105_nullable_key_points_at_null() -> None:
    d = only("manual A {\n    a: int\n    b = null: int\n}\n", "E0105")
    assert at(d) == (4, 9)
    assert d.hint is not None and "---" in d.hint


def test_nullable_secondary_is_fine() -> None:
    assert diags("manual A {\n a: int\n ---\n b = null: int\n}\n") == []


@pytest.mark.parametrize("type_", ["blob", "longblob", "json", "text", "bytes", "mediumtext"])
def test_e0106_long_types_not_in_key(type_: str) -> None:
    d = only(f"manual A {{\n    a: {type_}\n}}\n", "E0106")
    assert at(d) == (3, 5)


@pytest.mark.parametrize(
    "type_",
    [
        "int8",
        "uint64",
        "varchar(8)",
        "char(2)",
        'enum("a")',
        "date",
        "datetime",
        "uuid",
        "decimal(4,1)",
        "bool",
        "float64",
        "time",
        "timestamp",
    ],
)
def test_key_types_allowed(type_: str) -> None:
    assert diags(f"manual A {{\n    a: {type_}\n}}\n") == []


def test_e0107_nullable_fk_in_key() -> None:
    d = only("manual A {\n a: int\n}\nmanual B {\n    -> [nullable] A\n}\n", "E0107")
    assert at(d) == (6, 5)


def test_e0110_auto_tables_need_a_key_source() -> None:
    for tier in ("imported", "computed"):
        d = only(f"manual A {{\n a: int\n}}\n{tier} B {{\n b: int\n ---\n -> A\n}}\n", "E0110")
        assert at(d) == (5, len(tier) + 2)
    assert diags("manual A {\n a: int\n}\ncomputed B {\n -> A\n}\n") == []


def test_e0110_counts_an_unresolved_key_reference_as_intended() -> None:
    assert codes("computed B {\n -> Nope\n}\n") == ["E0101"]


def test_parts_of_computed_tables_need_no_own_key_source() -> None:
    src = "manual A {\n a: int\n}\ncomputed B {\n -> A\n part P {\n  p: int\n }\n}\n"
    assert diags(src) == []


def test_e0125_no_primary_key() -> None:
    d = only("manual A {\n    ---\n    b: int\n}\n", "E0125")
    assert at(d) == (2, 8)


def test_e0125_not_reported_for_auto_tables_which_get_e0110() -> None:
    assert codes("computed A {\n ---\n b: int\n}\n") == ["E0110"]


# -------------------------------------------------------------------- defaults


@pytest.mark.parametrize(
    "type_, default",
    [
        ("uint8", "255"),
        ("int8", "-128"),
        ("int64", "-9223372036854775808"),
        ("uint64", "18446744073709551615"),
        ("float32", "1e38"),
        ("float64", "-1.5e300"),
        ("float64", "3"),
        ("bool", "true"),
        ("bool", "0"),
        ("decimal(5,2)", "123.45"),
        ("decimal(5,2)", "-999.99"),
        ("decimal(5,2)", "1.50000"),
        ("decimal(3,3)", ".5"),
        ("decimal(4,0)", "1e3"),
        ("varchar(3)", '"abc"'),
        ("char(1)", "'x'"),
        ("date", '"2024-02-29"'),
        ("time", '"23:59:59.999999"'),
        ("time(0)", '"10:00"'),
        ("datetime", '"2024-01-02 03:04:05"'),
        ("datetime(3)", '"2024-01-02T03:04:05.123"'),
        ("datetime", '"2024-01-02"'),
        ("timestamp", '"2038-01-19 03:14:07"'),
        ("datetime", "CURRENT_TIMESTAMP"),
        ("timestamp", "current_timestamp"),
        ("uuid", '"123e4567-e89b-12d3-a456-426614174000"'),
        ('enum("a", "b")', '"b"'),
        ("blob", "null"),
        ("json", "null"),
        ("int", "null"),
    ],
)
def test_defaults_that_fit(type_: str, default: str) -> None:
    assert diags(f"manual A {{\n a: int\n ---\n b = {default}: {type_}\n}}\n") == []


@pytest.mark.parametrize(
    "type_, default, words",
    [
        ("uint8", "256", "out of range"),
        ("uint8", "-1", "out of range"),
        ("int8", "128", "out of range"),
        ("uint64", "18446744073709551616", "out of range"),
        ("int32", "1.5", "not an integer"),
        ("int32", '"5"', "not an integer"),
        ("int32", "true", "not an integer"),
        ("float32", "1e39", "out of range"),
        ("float64", "1e999", "out of range"),
        ("float64", '"x"', "not a number"),
        ("bool", "2", "not a bool"),
        ("bool", '"yes"', "not a bool"),
        ("decimal(5,2)", "1234.5", "before the point"),
        ("decimal(5,2)", "1.234", "after the point"),
        ("decimal(5,2)", '"1"', "not a number"),
        ("varchar(3)", '"abcd"', "at most 3"),
        ("varchar(3)", "12", "not a string"),
        ("char(2)", '"abc"', "at most 2"),
        ("date", '"2024-02-30"', "not a date"),
        ("date", '"2024-1-2"', "not a date"),
        ("date", "20240102", "not a date"),
        ("time", '"24:00:00"', "not a time"),
        ("time(0)", '"10:00:00.5"', "fractional"),
        ("datetime", '"2024-01-02 25:00"', "not a date and time"),
        ("datetime(0)", '"2024-01-02 10:00:00.1"', "fractional"),
        ("timestamp", '"1960-01-01 00:00:00"', "timestamp range"),
        ("uuid", '"xyz"', "not a UUID"),
        ("int32", "CURRENT_TIMESTAMP", "only a default for datetime"),
        ("date", "CURRENT_TIMESTAMP", "only a default"),
        ("blob", '"x"', "only default to null"),
        ("json", "1", "only default to null"),
        ("text", '""', "only default"),
        ("bytes", '"x"', "only default to null"),
    ],
)
def test_e0108_defaults_that_do_not_fit(type_: str, default: str, words: str) -> None:
    d = only(f"manual A {{\n a: int\n ---\n b = {default}: {type_}\n}}\n", "E0108")
    assert words in d.message
    assert at(d) == (5, 6)
    assert d.span.end_col == 6 + len(default)


def test_e0109_enum_default_with_suggestion() -> None:
    d = only('manual A {\n a: int\n ---\n b = "sucess": enum("success", "failure")\n}\n', "E0109")
    assert d.hint is not None and 'did you mean "success"?' in d.hint and '"failure"' in d.hint
    d = only('manual A {\n a: int\n ---\n b = "zzz": enum("success", "failure")\n}\n', "E0109")
    assert d.hint == 'the values are "success", "failure"'
    assert codes('manual A {\n a: int\n ---\n b = 1: enum("1", "2")\n}\n') == ["E0109"]


# ---------------------------------------------------------------------- parts


def test_e0111_part_outside_master() -> None:
    d = only("part P {\n    p: int\n}\n", "E0111")
    assert at(d) == (2, 1) and d.span.end_col == 5


def test_e0111_hides_the_consequent_master_error() -> None:
    assert codes("part P {\n    -> master\n    p: int\n}\n") == ["E0111"]


def test_e0112_part_in_part() -> None:
    d = only("manual M {\n m: int\n part P {\n  p: int\n  part Q {\n   q: int\n  }\n }\n}\n", "E0112")
    assert at(d) == (6, 3)


def test_absurd_nesting_is_reported_not_a_crash() -> None:
    depth = 300
    src = "manual M {\n m: int\n" + "part P {\n" * depth + "}\n" * depth + "}\n"
    assert codes(src) == ["E0142"]  # once, at the outer table; the nested blocks are not read


# ------------------------------------------------------------------- contents

SPECIES = """
lookup Species {
    species: varchar(8)
    ---
    legs = 4: uint8
    kind: enum("mammal", "insect")
    note = null: varchar(16)
    contents {
%s
    }
}
"""


def contents(*rows: str) -> list[Diagnostic]:
    return diags(SPECIES % "\n".join("        " + r for r in rows))


def test_contents_that_fit() -> None:
    assert (
        contents(
            '("mouse", 4, "mammal")',
            '("fly", 6, "insect", "wings")',
            '(species="bee", kind="insect")',
            '(species="rat", kind="mammal", note=null, legs=4,)',
        )
        == []
    )


@pytest.mark.parametrize(
    "row, words",
    [
        ('("mouse", 4)', "no value for `kind`"),
        ('("mouse")', "no value for `kind`"),
        ('("mouse", 4, "mammal", "x", "extra")', "has 5 values"),
        ('(species="bee", kinds="insect")', "no attribute `kinds`"),
        ('(species="bee", kind="insect", kind="insect")', "twice"),
        ('(species="bee")', "no value for `kind`"),
        ('("mouse", -1, "mammal")', "out of range"),
        ('("mouse", 4, "fish")', "not one of"),
        ('(null, 4, "mammal")', "cannot be null"),
        ('("mouse", 4, "mammal", CURRENT_TIMESTAMP)', "only allowed as a default"),
        ('("much too long", 4, "mammal")', "at most 8"),
    ],
)
def test_e0113_rows_that_do_not_fit(row: str, words: str) -> None:
    found = contents(row)
    assert [d.code for d in found] == ["E0113"], [(d.code, d.message) for d in found]
    assert words in found[0].message


def test_e0113_points_at_the_bad_value() -> None:
    (d,) = contents('("mouse", 300, "mammal")')
    assert at(d) == (10, 19) and d.span.end_col == 22


def test_e0113_enum_value_gets_a_suggestion() -> None:
    (d,) = contents('("mouse", 4, "mamal")')
    assert d.hint is not None and 'did you mean "mammal"?' in d.hint


def test_e0114_repeated_key() -> None:
    found = contents('("mouse", 4, "mammal")', '("rat", 4, "mammal")', '(species="mouse", kind="mammal")')
    assert [d.code for d in found] == ["E0114"]
    assert found[0].span.line == 12 and "line 10" in found[0].notes[0]


def test_e0114_compares_values_not_spellings() -> None:
    src = 'lookup L {\n a: decimal(4,2)\n b: date\n contents {\n  (1.5, "2024-01-01")\n  (1.50, "2024-01-01")\n }\n}\n'
    assert codes(src) == ["E0114"]
    src = 'lookup L {\n a: datetime\n contents {\n  ("2024-01-01 10:00")\n  ("2024-01-01T10:00:00.000")\n }\n}\n'
    assert codes(src) == ["E0114"]


def test_e0124_contents_outside_lookup() -> None:
    d = only("manual A {\n    a: int\n    contents {\n        (1)\n    }\n}\n", "E0124")
    assert at(d) == (5, 9)
    assert codes("manual A {\n a: int\n part P {\n  p: int\n  contents { (1, 2) }\n }\n}\n") == ["E0124"]


def test_contents_with_inherited_and_nullable_reference() -> None:
    src = """
lookup Kind {
    kind: varchar(8)
    contents { ("a") ("b") }
}
lookup Thing {
    -> Kind
    thing: uint8
    ---
    -> [nullable] Kind.proj(other="kind")
    contents {
        ("a", 1, "b")
        ("b", 1)
        ("c", 300)
    }
}
"""
    found = diags(src)
    assert [d.code for d in found] == ["E0113"]
    assert "uint8" in found[0].message


# ---------------------------------------------------------- self references


BRAIN = """
lookup BrainRegion {
    region_id: varchar(16)
    ---
    region_name: varchar(64)
    -> [nullable] BrainRegion.proj(parent_id="region_id")
    contents {
        ("root", "Whole brain", null)
        ("ctx", "Cortex", "root")
        (region_id="th", region_name="Thalamus")
    }
}
"""


def test_brain_region_hierarchy_is_valid() -> None:
    comp = compile_text("schema brain\n" + BRAIN)
    assert comp.diagnostics == [] and comp.ok
    assert comp.project is not None
    table = comp.project.table("brain.BrainRegion")
    assert table is not None
    parent = table.attribute("parent_id")
    assert parent is not None and parent.nullable and not parent.in_key
    assert table.foreign_keys[0].parent == "brain.BrainRegion"


@pytest.mark.parametrize(
    "reference",
    [
        '-> BrainRegion.proj(parent_id="region_id")\n    ---',
        "---\n    -> BrainRegion",
        "---\n    -> [nullable] BrainRegion",
    ],
)
def test_e0116_self_reference_in_key_or_without_rename(reference: str) -> None:
    src = f"lookup BrainRegion {{\n    region_id: varchar(16)\n    {reference}\n    name: varchar(8)\n}}\n"
    assert codes(src) == ["E0116"]


# ------------------------------------------------------------------- names


def test_e0117_python_keywords_only() -> None:
    # SQL reserved words are names like any other; `match` and `type` are soft keywords of Python
    found = diags("manual Order {\n    select: int\n    class: int\n    match: int\n    type: int\n    key: int\n}\n")
    assert [(d.code, d.span.line) for d in found] == [("E0117", 4)]
    assert "Python keyword" in found[0].message


def test_e0117_sql_reserved_table_names_are_fine() -> None:
    for tier in ("manual", "lookup", "imported", "computed"):
        src = f"manual A {{\n a: int\n}}\n{tier} Order {{\n -> A\n}}\n"
        assert codes(src) == []


def test_e0117_schema_name() -> None:
    found = compile_text("schema def\nmanual A {\n a: int\n}\n").diagnostics
    assert [(d.code, d.span.line, d.span.col, d.span.end_col) for d in found] == [("E0117", 1, 8, 11)]
    assert compile_text("schema select\nmanual A {\n a: int\n}\n").ok


def test_e0117_renamed_attribute() -> None:
    assert codes('manual A {\n a: int\n}\nmanual B {\n b: int\n ---\n -> A.proj(lambda="a")\n}\n') == ["E0117"]
    assert codes('manual A {\n a: int\n}\nmanual B {\n b: int\n ---\n -> A.proj(key="a")\n}\n') == []


def test_e0118_long_names() -> None:
    long_attr = "a" * 65
    assert codes(f"manual A {{\n {long_attr}: int\n}}\n") == ["E0118"]
    assert codes(f"manual A {{\n {'a' * 64}: int\n}}\n") == []
    # the SQL name of a computed table is `__` + snake_case: 62 letters -> 64 characters
    assert codes(f"manual M {{\n m: int\n}}\ncomputed C{'x' * 61} {{\n -> M\n}}\n") == []
    assert codes(f"manual M {{\n m: int\n}}\ncomputed C{'x' * 62} {{\n -> M\n}}\n") == ["E0118"]
    # a part's SQL name includes its master's
    assert codes(f"manual M{'x' * 40} {{\n m: int\n part P{'y' * 20} {{\n  p: int\n }}\n}}\n") == []
    d = only(f"manual M{'x' * 40} {{\n m: int\n part P{'y' * 21} {{\n  p: int\n }}\n}}\n", "E0118")
    assert d.span.line == 4
    assert [d.code for d in compile_text(f"schema s{'x' * 64}\nmanual A {{\n a: int\n}}\n").diagnostics] == ["E0118"]


def test_e0120_naming_conventions() -> None:
    found = compile_text("schema MyLab\nmanual my_table {\n    myAttr: int\n}\n").diagnostics
    assert [(d.code, d.hint) for d in found] == [
        ("E0120", "schema names become database names; use `my_lab`"),
        ("E0120", "use `MyTable`"),
        ("E0120", "use `my_attr`"),
    ]
    assert codes("manual M {\n m: int\n part trial {\n  t: int\n }\n}\n") == ["E0120"]
    assert codes('manual A {\n a: int\n}\nmanual B {\n b: int\n ---\n -> A.proj(Other="a")\n}\n') == ["E0120"]


# ------------------------------------------------------------------ indexes


def test_e0123_index_on_unknown_attribute() -> None:
    d = only("manual A {\n    a: int\n    ---\n    bee: int\n    index(be)\n}\n", "E0123")
    assert at(d) == (6, 5) and d.hint == "did you mean `bee`?"


def test_e0123_index_may_name_inherited_attributes() -> None:
    assert diags("manual A {\n a: int\n}\nmanual B {\n b: int\n ---\n -> A\n index(a, b)\n}\n") == []


def test_e0128_duplicate_index_and_attribute() -> None:
    found = diags("manual A {\n a: int\n ---\n b: int\n c: int\n index(b, c)\n unique index(b, c)\n index(c, c)\n}\n")
    assert [(d.code, d.span.line) for d in found] == [("E0128", 8), ("E0128", 9)]


def test_w0201_redundant_index_and_unique_option() -> None:
    src = (
        "manual A {\n a: int\n}\nmanual B {\n -> [unique] A\n ---\n x: int\n unique index(a)\n}\n"
        "manual C {\n -> A\n c: int\n ---\n x: int\n index(a)\n index(c)\n unique index(c, a)\n"
        " unique index(x, a, c)\n unique index(x, c)\n}\n"
    )
    found = diags(src)
    assert [(d.code, d.severity, d.span.line) for d in found] == [
        ("W0201", "warning", 6),
        ("W0201", "warning", 9),
        ("W0201", "warning", 16),
        ("W0201", "warning", 18),
        ("W0201", "warning", 19),
    ]
    assert "containing the whole primary key" in found[-1].message
    assert compile_text("schema lab\n" + src).ok  # warnings do not fail a build


def test_unique_reference_on_part_of_the_key_is_meaningful() -> None:
    assert diags("manual A {\n a: int\n}\nmanual B {\n -> [unique] A\n b: int\n}\n") == []


# ------------------------------------------------------------------ cascades


def test_unresolved_reference_does_not_cascade() -> None:
    src = """
lookup L {
    -> Nope
    ---
    x: int
    index(nope_attr)
    contents { ("a", 1) ("a", 1) }
}
manual Other {
    -> AlsoNope
}
"""
    assert codes(src) == ["E0101", "E0101"]


def test_cycle_does_not_cascade() -> None:
    src = "manual A {\n -> B\n index(b)\n}\nmanual B {\n -> A\n}\n"
    assert codes(src) == ["E0102"]


def test_all_problems_reported_in_one_run() -> None:
    src = """
manual A {
    a = null: int
    ---
    b = 300: uint8
    c = "x": enum("y")
    class: int
}
computed C {
    c: int
}
part P {
    p: int
}
"""
    assert codes(src) == ["E0105", "E0108", "E0109", "E0117", "E0110", "E0111"]


# ------------------------------------------------------------- values.py


def spec(text: str) -> TypeSpec:
    words, _, args = text.partition("(")
    parsed: tuple[int | str, ...] | None = None
    if args:
        parsed = tuple(int(a) if a.strip().isdigit() else a.strip().strip('"') for a in args.rstrip(")").split(","))
    return resolve_type(tuple(words.split()), parsed)


def value(kind: str, v: object, text: str | None = None) -> Value:
    return Value(kind, v, text if text is not None else str(v), Span.none())  # type: ignore[arg-type]


def test_check_value_null_fits_everything() -> None:
    for name in ("int", "blob", "date", "varchar(3)"):
        assert check_value(spec(name), value("null", None, "null")) is None
        assert check_default(spec(name), value("null", None, "null")) is None


def test_check_value_contents_rules_differ_from_defaults() -> None:
    # long types take literal values in contents but not as defaults
    assert check_value(spec("blob"), value("str", "x", '"x"')) is None
    assert check_value(spec("json"), value("str", '{"a": [1]}', "'{\"a\": [1]}'")) is None
    assert check_value(spec("json"), value("str", "{", '"{"')) is not None
    assert check_value(spec("bytes"), value("int", 1)) is not None
    assert check_default(spec("blob"), value("str", "x", '"x"')) is not None


def test_check_value_huge_numbers_do_not_crash() -> None:
    big = "9" * 4000
    assert check_value(spec("decimal(65,30)"), value("float", float("inf"), big + ".5")) is not None
    assert check_value(spec("float64"), value("int", 10**400)) is not None
    assert check_value(spec("decimal(10,2)"), value("float", 0.0, "1e-999999999")) is not None


def test_comparable() -> None:
    assert comparable(spec("int"), value("int", 1)) == comparable(spec("int"), value("float", 1.0, "1.0"))
    u = "123e4567-e89b-12d3-a456-426614174000"
    assert comparable(spec("uuid"), value("str", u)) == comparable(spec("uuid"), value("str", u.upper()))
    assert comparable(spec("varchar(9)"), value("str", "a")) != comparable(spec("varchar(9)"), value("str", "A"))


# ------------------------------------------------------------- naming.py


@pytest.mark.parametrize(
    "name, snake",
    [
        ("Session", "session"),
        ("FilteredRecording", "filtered_recording"),
        ("ABTest", "a_b_test"),
        ("Table2B", "table2_b"),
    ],
)
def test_snake_case_follows_datajoint(name: str, snake: str) -> None:
    assert snake_case(name) == snake


def test_suggestions() -> None:
    assert suggest_snake("sessionID") == "session_id"
    assert suggest_snake("HTTPServer") == "http_server"
    assert suggest_snake("Start_Time") == "start_time"
    assert suggest_camel("session_info") == "SessionInfo"
    assert suggest_camel("sessionInfo") == "SessionInfo"


def _table(name: str, tier: Tier, master: str | None = None) -> Table:
    return Table(schema="lab", name=name, tier=tier, master=master)


def test_sql_table_names() -> None:
    assert sql_table_name(_table("Species", Tier.LOOKUP)) == "#species"
    assert sql_table_name(_table("Subject", Tier.MANUAL)) == "subject"
    assert sql_table_name(_table("Recording", Tier.IMPORTED)) == "_recording"
    assert sql_table_name(_table("FilteredRecording", Tier.COMPUTED)) == "__filtered_recording"
    session = _table("Session", Tier.MANUAL)
    comp = _table("Spikes", Tier.COMPUTED)
    tables = {t.full_name: t for t in (session, comp)}
    assert sql_table_name(_table("Session.Trial", Tier.PART, "Session"), tables) == "session__trial"
    assert sql_table_name(_table("Spikes.UnitSpike", Tier.PART, "Spikes"), tables) == "__spikes__unit_spike"
    # without the tables the master is named as a manual table
    assert sql_table_name(_table("Spikes.UnitSpike", Tier.PART, "Spikes")) == "spikes__unit_spike"
    # an (invalid) part of a part still gets a name
    trial = _table("Session.Trial", Tier.PART, "Session")
    tables[trial.full_name] = trial
    assert sql_table_name(_table("Session.Trial.Lick", Tier.PART, "Session.Trial"), tables) == "session__trial__lick"
    loop = dataclasses.replace(session, master="Session.Trial")
    tables[loop.full_name] = loop
    assert sql_table_name(_table("Session.Trial.Lick", Tier.PART, "Session.Trial"), tables)


# ----------------------------------------------------------- keywords.py


def test_reserved_words() -> None:
    assert sql_reserved("ORDER") == ["MySQL", "MariaDB", "SQLite"]
    assert sql_reserved("rank") == ["MySQL"]
    assert sql_reserved("offset") == ["MariaDB"]
    assert sql_reserved("autoincrement") == ["SQLite"]
    assert sql_reserved("session") == []


# ------------------------------------------------------- docs/diagnostics.md

DOCS = Path(__file__).resolve().parent.parent / "docs" / "diagnostics.md"


def _doc_sections() -> dict[str, list[dict[str, str]]]:
    """Code -> its examples; an example is {file name: text} (multi-file: `# file:` lines)."""
    sections: dict[str, list[dict[str, str]]] = {}
    code = ""
    for match in re.finditer(r"^## ([EW]\d{4})|^```rf\n(.*?)^```", DOCS.read_text(encoding="utf-8"), re.M | re.S):
        if match.group(1):
            code = match.group(1)
            sections[code] = []
            continue
        text = match.group(2)
        named = re.match(r"# file: (\S+)\n", text)
        if named and sections[code] and named.group(1) != "input.rf":
            sections[code][-1][named.group(1)] = text  # another file of the previous example
        else:
            sections[code].append({"input.rf": text})
    return sections


def test_docs_cover_every_code() -> None:
    assert sorted(_doc_sections()) == sorted(CODES)


@pytest.mark.parametrize("code, examples", sorted(_doc_sections().items()))
def test_docs_examples(code: str, examples: list[dict[str, str]]) -> None:
    """The first example of a code triggers it first; the second (the fix) is clean."""
    if code == "E0002":
        assert examples == []  # an unreadable file cannot be shown as text
        return
    first = compile_file("input.rf", examples[0].get).diagnostics
    assert first and first[0].code == code, [(d.code, d.message) for d in first]
    for fixed in examples[1:]:
        assert compile_file("input.rf", fixed.get).diagnostics == []


def test_incomplete_parent_does_not_cascade_to_children() -> None:
    src = """
lookup A {
    -> Nope
    a: int
}
lookup B {
    -> A
    ---
    x: int
    contents { (1, 2) }
}
"""
    assert codes(src) == ["E0101"]


def test_unresolved_secondary_reference_of_a_parent_does_not_silence_children() -> None:
    # children inherit the parent's primary key only: B's heading is complete
    src = "manual A {\n a: int\n ---\n -> Nope\n}\nmanual B {\n -> A\n ---\n index(bogus)\n}\n"
    assert codes(src) == ["E0101", "E0123"]


def test_invalid_escapes_in_strings_do_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        comp = compile_text('schema lab "C:\\data"\nmanual A {\n a = "\\d": varchar(4)\n}\n')
    assert comp.ok and comp.project is not None
    assert comp.project.root_schema.doc == "C:\\data"
