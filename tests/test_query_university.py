"""The query algebra over the university data set, on SQLite and on MariaDB.

Every case asks one question twice: with the algebra, against the loaded
database, and in plain Python over the CSV rows (the oracle: comprehensions
and a small natural-join helper, no SQL).  Results are compared as multisets
of rows, or as lists where the query orders them, with exact Python types:
``Decimal`` stays ``Decimal``, dates stay dates, counts are ints.  Floats
(averages) are compared to 9 decimal places: the two databases add floats in
different orders.  Only untyped computed expressions (``credits * 2``) are
compared as plain numbers; docs/queries.md says why.  Since both backends
must match the same oracle with exact types, they also agree with each other.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from university_data import read_rows

from relflow_gen.runtime import AndList, Not, Query, QueryError, U

Row = dict[str, Any]
Data = dict[str, list[Row]]
D = Decimal = decimal.Decimal

# ----------------------------------------------------------------- oracle helpers


def njoin(a: Iterable[Row], b: Iterable[Row]) -> list[Row]:
    """Natural join in Python: rows that agree on every shared attribute (NULL matches nothing)."""
    a, b = list(a), list(b)
    if not a or not b:
        return []
    shared = [k for k in a[0] if k in b[0]]
    index: dict[tuple[Any, ...], list[Row]] = defaultdict(list)
    for r in b:
        index[tuple(r[k] for k in shared)].append(r)
    out: list[Row] = []
    for r in a:
        key = tuple(r[k] for k in shared)
        if None in key:
            continue
        out.extend({**r, **s} for s in index.get(key, []))
    return out


def left_join(a: Iterable[Row], b: Iterable[Row]) -> list[Row]:
    a, b = list(a), list(b)
    extra = [k for k in b[0] if k not in a[0]]
    out = []
    for r in a:
        matches = njoin([r], b)
        out.extend(matches or [{**r, **{k: None for k in extra}}])
    return out


def pick(rows: Iterable[Row], *names: str, **renames: str) -> list[Row]:
    return [{**{n: r[n] for n in names}, **{new: r[old] for new, old in renames.items()}} for r in rows]


def semi(a: Iterable[Row], b: Iterable[Row], *on: str) -> list[Row]:
    keys = {tuple(r[k] for k in on) for r in b}
    return [r for r in a if tuple(r[k] for k in on) in keys]


def anti(a: Iterable[Row], b: Iterable[Row], *on: str) -> list[Row]:
    keys = {tuple(r[k] for k in on) for r in b}
    return [r for r in a if tuple(r[k] for k in on) not in keys]


def group(rows: Iterable[Row], *by: str) -> dict[tuple[Any, ...], list[Row]]:
    out: dict[tuple[Any, ...], list[Row]] = defaultdict(list)
    for r in rows:
        out[tuple(r[k] for k in by)].append(r)
    return out


def distinct(rows: Iterable[Row], *names: str) -> list[Row]:
    return [dict(zip(names, t)) for t in {tuple(r[n] for n in names) for r in rows}]


def mean(values: Sequence[Any]) -> float | None:
    return float(sum(values)) / len(values) if values else None


# ----------------------------------------------------------------- comparison


def canon(v: Any, numeric: bool) -> tuple[str, Any]:
    if numeric and isinstance(v, (int, float, decimal.Decimal)) and not isinstance(v, bool):
        return ("number", round(float(v), 9))
    if isinstance(v, float):
        return ("float", round(v, 9))
    return (type(v).__name__, v)


def norm_row(row: Row, numeric: bool = False) -> tuple[tuple[str, tuple[str, Any]], ...]:
    return tuple(sorted((k, canon(v, numeric)) for k, v in row.items()))


def norm(result: Any, numeric: bool = False) -> Any:
    if isinstance(result, Query):
        return Counter(norm_row(r, numeric) for r in result.fetch())
    if isinstance(result, list) and all(isinstance(r, dict) for r in result):
        return [norm_row(r, numeric) for r in result]
    if isinstance(result, tuple):
        return tuple(norm(x, numeric) for x in result)
    if isinstance(result, dict):
        return norm_row(result, numeric)
    return canon(result, numeric)


def norm_expected(expected: Any, query_result: Any, numeric: bool) -> Any:
    if isinstance(query_result, Query):
        return Counter(norm_row(r, numeric) for r in expected)
    return norm(expected, numeric)


@dataclass(frozen=True)
class Case:
    id: str
    query: Callable[[Any], Any]  # db -> Query (compared as a multiset) or a plain value
    oracle: Callable[[Data], Any]  # CSV rows -> list of rows (or the plain value)
    pk: tuple[str, ...] | None = None  # expected primary key of the result
    numeric: bool = False  # compare numbers by value only (untyped computed attributes)


CASES: list[Case] = []


def case(id: str, query: Callable[[Any], Any], oracle: Callable[[Data], Any], **kw: Any) -> None:
    CASES.append(Case(id, query, oracle, **kw))


# ----------------------------------------------------------------- restriction by dict

case("dict_int", lambda db: db.Student & {"student_id": 150}, lambda d: [s for s in d["Student"] if s["student_id"] == 150])
case(
    "dict_two_attributes",
    lambda db: db.Student & {"sex": "F", "home_state": "CA"},
    lambda d: [s for s in d["Student"] if s["sex"] == "F" and s["home_state"] == "CA"],
)
case(
    "dict_numpy_int64",
    lambda db: db.Student & {"student_id": np.int64(150)},
    lambda d: [s for s in d["Student"] if s["student_id"] == 150],
)
case(
    "dict_numpy_uint16_and_str",
    lambda db: db.Course & {"course": np.uint16(1006), "dept": np.str_("BIOL")},
    lambda d: [c for c in d["Course"] if c["course"] == 1006 and c["dept"] == "BIOL"],
)
case(
    "dict_date",
    lambda db: db.Student & {"date_of_birth": dt.date(1991, 5, 9)},
    lambda d: [s for s in d["Student"] if s["date_of_birth"] == dt.date(1991, 5, 9)],
)
case(
    "dict_date_iso_string",
    lambda db: db.StudentMajor & {"declare_date": "2019-01-13"},
    lambda d: [m for m in d["StudentMajor"] if m["declare_date"] == dt.date(2019, 1, 13)],
)
case(
    "dict_numpy_datetime64",
    lambda db: db.StudentMajor & {"declare_date": np.datetime64("2019-01-13")},
    lambda d: [m for m in d["StudentMajor"] if m["declare_date"] == dt.date(2019, 1, 13)],
)
case("dict_enum", lambda db: db.Term & {"term": "Summer"}, lambda d: [t for t in d["Term"] if t["term"] == "Summer"])
case(
    "dict_decimal",
    lambda db: db.Course & {"credits": D("4.0")},
    lambda d: [c for c in d["Course"] if c["credits"] == D("4.0")],
)
case(
    "dict_float_for_decimal",
    lambda db: db.LetterGrade & {"points": 3.67},
    lambda d: [g for g in d["LetterGrade"] if g["points"] == D("3.67")],
)
case(
    "dict_bool",
    lambda db: db.LetterGrade & {"passing": False},
    lambda d: [g for g in d["LetterGrade"] if g["passing"] is False],
)
case("dict_no_match", lambda db: db.Student & {"student_id": 1}, lambda d: [])
case(
    "dict_none_is_null",
    lambda db: db.Student.join(db.StudentMajor, left=True) & {"dept": None},
    lambda d: [r for r in left_join(d["Student"], d["StudentMajor"]) if r["dept"] is None],
)
case(
    "dict_chained",
    lambda db: db.Enroll & {"term": "Fall"} & {"dept": "MATH"} & {"term_year": 2019},
    lambda d: [e for e in d["Enroll"] if (e["term"], e["dept"], e["term_year"]) == ("Fall", "MATH", 2019)],
)

# ----------------------------------------------------------------- restriction by SQL string

case(
    "sql_like_prefix",
    lambda db: db.Student & "last_name LIKE 'S%'",
    lambda d: [s for s in d["Student"] if s["last_name"].startswith("S")],
)
case(
    "sql_like_is_case_sensitive",
    lambda db: db.Student & "last_name LIKE 's%'",
    lambda d: [s for s in d["Student"] if s["last_name"].startswith("s")],
)
case(
    "sql_like_double_quoted_contains",
    lambda db: db.Student & 'first_name LIKE "%an%"',
    lambda d: [s for s in d["Student"] if "an" in s["first_name"]],
)
case(
    "sql_between_dates",
    lambda db: db.Student & "date_of_birth BETWEEN '1995-01-01' AND '1995-12-31'",
    lambda d: [s for s in d["Student"] if dt.date(1995, 1, 1) <= s["date_of_birth"] <= dt.date(1995, 12, 31)],
)
case(
    "sql_in_list",
    lambda db: db.Student & "home_state IN ('CA', 'TX', 'NY')",
    lambda d: [s for s in d["Student"] if s["home_state"] in ("CA", "TX", "NY")],
)
case(
    "sql_numeric_comparison",
    lambda db: db.Course & "credits >= 4",
    lambda d: [c for c in d["Course"] if c["credits"] >= 4],
)
case(
    "sql_function",
    lambda db: db.Student & "length(last_name) > 7 AND upper(sex) = 'F'",
    lambda d: [s for s in d["Student"] if len(s["last_name"]) > 7 and s["sex"] == "F"],
)
case(
    "sql_two_attributes",
    lambda db: (db.StudentMajor * db.Student) & "declare_date < date_of_birth",
    lambda d: [r for r in njoin(d["StudentMajor"], d["Student"]) if r["declare_date"] < r["date_of_birth"]],
)
case(
    "sql_arithmetic_on_key",
    lambda db: db.Section & "course % 1000 = 30 AND term_year > 2018",
    lambda d: [s for s in d["Section"] if s["course"] % 1000 == 30 and s["term_year"] > 2018],
)

# ----------------------------------------------------------------- lists, AndList, Not, True/False

case(
    "or_list_of_dicts",
    lambda db: db.Student & [{"home_state": "CA"}, {"home_state": "TX"}],
    lambda d: [s for s in d["Student"] if s["home_state"] in ("CA", "TX")],
)
case(
    "or_list_mixed",
    lambda db: db.Student & ["home_state = 'CA'", {"sex": "M", "home_state": "TX"}],
    lambda d: [s for s in d["Student"] if s["home_state"] == "CA" or (s["sex"], s["home_state"]) == ("M", "TX")],
)
case("empty_list_is_false", lambda db: db.Student & [], lambda d: [])
case("minus_empty_list_is_everything", lambda db: db.Student - [], lambda d: d["Student"])
case(
    "and_list",
    lambda db: db.Student & AndList([{"sex": "F"}, "home_state IN ('CA', 'TX')"]),
    lambda d: [s for s in d["Student"] if s["sex"] == "F" and s["home_state"] in ("CA", "TX")],
)
case("not_dict", lambda db: db.Student & Not({"sex": "F"}), lambda d: [s for s in d["Student"] if s["sex"] != "F"])
case(
    "not_list",
    lambda db: db.Student & Not([{"home_state": "CA"}, "home_state = 'TX'"]),
    lambda d: [s for s in d["Student"] if s["home_state"] not in ("CA", "TX")],
)
case(
    "minus_and_list",
    lambda db: db.Student - AndList([{"sex": "F"}, "home_state = 'CA'"]),
    lambda d: [s for s in d["Student"] if not (s["sex"] == "F" and s["home_state"] == "CA")],
)
case(
    "true_false",
    lambda db: (len(db.Student & True), len(db.Student & False), len(db.Student - True), len(db.Student - False)),
    lambda d: (300, 0, 0, 300),
)

# ----------------------------------------------------------------- semijoin and antijoin

case("semijoin", lambda db: db.Student & db.StudentMajor, lambda d: semi(d["Student"], d["StudentMajor"], "student_id"))
case("antijoin", lambda db: db.Student - db.StudentMajor, lambda d: anti(d["Student"], d["StudentMajor"], "student_id"))
case(
    "semijoin_restricted",
    lambda db: db.Student & (db.Enroll & {"dept": "CS"}),
    lambda d: semi(d["Student"], [e for e in d["Enroll"] if e["dept"] == "CS"], "student_id"),
)
case(
    "antijoin_restricted",
    lambda db: db.Student - (db.Grade & {"grade": "F"}),
    lambda d: anti(d["Student"], [g for g in d["Grade"] if g["grade"] == "F"], "student_id"),
)
case(
    "antijoin_composite_key",
    lambda db: db.Course - db.Section,
    lambda d: anti(d["Course"], d["Section"], "dept", "course"),
)
case(
    "semijoin_by_string_restricted_query",
    lambda db: db.Department & (db.StudentMajor & "declare_date >= '2020-01-01'"),
    lambda d: semi(d["Department"], [m for m in d["StudentMajor"] if m["declare_date"] >= dt.date(2020, 1, 1)], "dept"),
)
case(
    "antijoin_nullable_keeps_nulls",
    lambda db: db.Student.join(db.StudentMajor, left=True) - db.Department,
    lambda d: [r for r in left_join(d["Student"], d["StudentMajor"]) if r["dept"] is None],
)
case(
    "semijoin_nullable_drops_nulls",
    lambda db: db.Student.join(db.StudentMajor, left=True) & db.Department,
    lambda d: [r for r in left_join(d["Student"], d["StudentMajor"]) if r["dept"] is not None],
)
case(
    "minus_dict_on_nullable_is_complement",
    lambda db: db.Student.join(db.StudentMajor, left=True) - {"dept": "CS"},
    lambda d: [r for r in left_join(d["Student"], d["StudentMajor"]) if r["dept"] != "CS"],
)
case(
    "minus_string_on_nullable_is_complement",
    lambda db: db.Student.join(db.StudentMajor, left=True) - "declare_date < '2015-01-01'",
    lambda d: [
        r
        for r in left_join(d["Student"], d["StudentMajor"])
        if not (r["declare_date"] is not None and r["declare_date"] < dt.date(2015, 1, 1))
    ],
)
case(
    "semijoin_no_shared_attributes",
    lambda db: (len(db.Student & db.CurrentTerm), len(db.Student & (db.Term & {"term_year": 1900}))),
    lambda d: (300, 0),
)
case(
    "restrict_by_self",
    lambda db: db.Student & (db.Student & {"sex": "M"}),
    lambda d: [s for s in d["Student"] if s["sex"] == "M"],
)

# ----------------------------------------------------------------- joins

case(
    "join_one_to_one",
    lambda db: db.Student * db.StudentMajor,
    lambda d: njoin(d["Student"], d["StudentMajor"]),
    pk=("student_id",),
)
case(
    "join_parent_determined",
    lambda db: db.Course * db.Department,
    lambda d: njoin(d["Course"], d["Department"]),
    pk=("dept", "course"),
)
case(
    "join_three_way_restricted",
    lambda db: db.Enroll * db.Section * db.Course & "credits > 3",
    lambda d: [r for r in njoin(njoin(d["Enroll"], d["Section"]), d["Course"]) if r["credits"] > 3],
    pk=("student_id", "dept", "course", "term_year", "term", "section"),
)
case(
    "join_lookup_restricted",
    lambda db: db.Grade * db.LetterGrade & {"passing": False},
    lambda d: [r for r in njoin(d["Grade"], d["LetterGrade"]) if not r["passing"]],
    pk=("student_id", "dept", "course", "term_year", "term", "section"),
)
case(
    "join_cartesian",
    lambda db: db.Student.proj("last_name") * db.Department.proj(),
    lambda d: [{"student_id": s["student_id"], "last_name": s["last_name"], "dept": x["dept"]} for s in d["Student"] for x in d["Department"]],
    pk=("student_id", "dept"),
)
case(
    "join_many_to_many_keys",
    lambda db: db.StudentMajor.proj() * db.Section.proj(),
    lambda d: njoin(pick(d["StudentMajor"], "student_id"), pick(d["Section"], "dept", "course", "term_year", "term", "section")),
    pk=("student_id", "dept", "course", "term_year", "term", "section"),
)
case(
    "join_secondary_to_key",
    lambda db: db.StudentMajor * db.Department,
    lambda d: njoin(d["StudentMajor"], d["Department"]),
    pk=("student_id",),
)
case(
    "join_both_renamed",
    lambda db: db.StudentMajor.proj(major="dept") * db.Department.proj("dept_name", major="dept"),
    lambda d: njoin(pick(d["StudentMajor"], "student_id", major="dept"), pick(d["Department"], "dept_name", major="dept")),
    pk=("student_id",),
)
case(
    "join_current_term_sections",
    lambda db: db.CurrentTerm * db.Section,
    lambda d: njoin(d["CurrentTerm"], d["Section"]),
    pk=("omega", "dept", "course", "term_year", "term", "section"),
)
case(
    "left_join",
    lambda db: db.Student.proj("last_name").join(db.StudentMajor, left=True),
    lambda d: left_join(pick(d["Student"], "student_id", "last_name"), d["StudentMajor"]),
    pk=("student_id",),
)

# ----------------------------------------------------------------- proj

case("proj_keep", lambda db: db.Student.proj("last_name"), lambda d: pick(d["Student"], "student_id", "last_name"), pk=("student_id",))
case(
    "proj_rename_key",
    lambda db: db.Student.proj("first_name", sid="student_id"),
    lambda d: pick(d["Student"], "first_name", sid="student_id"),
    pk=("sid",),
)
case(
    "proj_rename_secondary",
    lambda db: db.StudentMajor.proj(major="dept"),
    lambda d: pick(d["StudentMajor"], "student_id", major="dept"),
)
case(
    "proj_computed_string",
    lambda db: db.Student.proj(initial="substr(first_name, 1, 1)"),
    lambda d: [{"student_id": s["student_id"], "initial": s["first_name"][0]} for s in d["Student"]],
)
case(
    "proj_computed_number",
    lambda db: db.Course.proj(double="credits * 2"),
    lambda d: [{"dept": c["dept"], "course": c["course"], "double": c["credits"] * 2} for c in d["Course"]],
    numeric=True,
)
case("proj_all", lambda db: db.Student.proj(...), lambda d: d["Student"])
case(
    "proj_exclude",
    lambda db: db.Student.proj(..., "-home_address", "-home_phone"),
    lambda d: [{k: v for k, v in s.items() if k not in ("home_address", "home_phone")} for s in d["Student"]],
)
case("proj_key_only", lambda db: db.Enroll.proj(), lambda d: d["Enroll"])
case(
    "proj_of_join",
    lambda db: (db.Student * db.StudentMajor).proj("last_name", major="dept"),
    lambda d: pick(njoin(d["Student"], d["StudentMajor"]), "student_id", "last_name", major="dept"),
)
case(
    "proj_rename_then_restrict",
    lambda db: db.Student.proj(state="home_state") & {"state": "CA"},
    lambda d: [{"student_id": s["student_id"], "state": "CA"} for s in d["Student"] if s["home_state"] == "CA"],
)

# ----------------------------------------------------------------- aggr


def _counts(students: list[Row], rows: list[Row]) -> list[Row]:
    n = Counter(r["student_id"] for r in rows)
    return [{"student_id": s["student_id"], "n": n[s["student_id"]]} for s in students]


case(
    "aggr_count_keeps_all_rows",
    lambda db: db.Student.aggr(db.Enroll, n="count(*)"),
    lambda d: _counts(d["Student"], d["Enroll"]),
    pk=("student_id",),
)
case(
    "aggr_count_matched_only",
    lambda db: db.Student.aggr(db.Enroll, n="count(*)", keep_all_rows=False),
    lambda d: [r for r in _counts(d["Student"], d["Enroll"]) if r["n"] > 0],
)
case(
    "aggr_sum_decimal",
    lambda db: db.Student.aggr(db.Enroll * db.Course, credits="sum(credits)"),
    lambda d: [
        {"student_id": s["student_id"], "credits": sum((r["credits"] for r in rows), D("0.0")) if rows else None}
        for s in d["Student"]
        for rows in [[r for r in njoin(d["Enroll"], d["Course"]) if r["student_id"] == s["student_id"]]]
    ],
)
case(
    "aggr_avg_points",
    lambda db: db.Student.aggr(db.Grade * db.LetterGrade, gpa="avg(points)"),
    lambda d: [
        {"student_id": s["student_id"], "gpa": mean([r["points"] for r in njoin(d["Grade"], d["LetterGrade"]) if r["student_id"] == s["student_id"]])}
        for s in d["Student"]
    ],
)
case(
    "aggr_min_max_dates",
    lambda db: db.Department.aggr(db.StudentMajor, first="min(declare_date)", last="max(declare_date)"),
    lambda d: [
        {"dept": x["dept"], "first": min(ds), "last": max(ds)}
        for x in d["Department"]
        for ds in [[m["declare_date"] for m in d["StudentMajor"] if m["dept"] == x["dept"]]]
    ],
)
case(
    "aggr_count_distinct",
    lambda db: db.Course.aggr(db.Section, years="count(distinct term_year)"),
    lambda d: [
        {"dept": c["dept"], "course": c["course"], "years": len({s["term_year"] for s in d["Section"] if (s["dept"], s["course"]) == (c["dept"], c["course"])})}
        for c in d["Course"]
    ],
)
case(
    "aggr_over_restricted",
    lambda db: db.Student.aggr(db.Enroll & {"term": "Fall"}, n="count(*)"),
    lambda d: _counts(d["Student"], [e for e in d["Enroll"] if e["term"] == "Fall"]),
)
case(
    "aggr_over_join",
    lambda db: db.Department.aggr(db.StudentMajor * (db.Student & {"sex": "F"}), n="count(*)"),
    lambda d: [
        {"dept": x["dept"], "n": sum(1 for r in njoin(d["StudentMajor"], d["Student"]) if r["dept"] == x["dept"] and r["sex"] == "F")}
        for x in d["Department"]
    ],
)
case(
    "aggr_restricted_by_result",
    lambda db: db.Student.aggr(db.Grade * db.LetterGrade, gpa="avg(points)") & "gpa > 3.5",
    lambda d: [
        {"student_id": sid, "gpa": g}
        for sid, rows in group(njoin(d["Grade"], d["LetterGrade"]), "student_id").items()
        for g in [mean([r["points"] for r in rows])]
        if g is not None and g > 3.5
        for sid in [sid[0]]
    ],
)
case(
    "aggr_of_aggr",
    lambda db: U().aggr(db.Student.aggr(db.Enroll, n="count(*)"), most="max(n)", average="avg(n)", students="count(*)"),
    lambda d: [
        {"most": max(c.values()), "average": mean(list(c.values())), "students": len(c)}
        for c in [{r["student_id"]: r["n"] for r in _counts(d["Student"], d["Enroll"])}]
    ],
    pk=(),
)
case(
    "aggr_keeps_secondary",
    lambda db: db.Course.aggr(db.Section, "course_name", n="count(*)"),
    lambda d: [
        {"dept": c["dept"], "course": c["course"], "course_name": c["course_name"], "n": sum(1 for s in d["Section"] if (s["dept"], s["course"]) == (c["dept"], c["course"]))}
        for c in d["Course"]
    ],
)
case(
    "aggr_weighted_gpa",
    lambda db: db.Student.aggr(db.Grade * db.LetterGrade * db.Course, gpa="sum(points * credits) / sum(credits)", keep_all_rows=False),
    lambda d: [
        {"student_id": sid[0], "gpa": sum(r["points"] * r["credits"] for r in rows) / sum(r["credits"] for r in rows)}
        for sid, rows in group(njoin(njoin(d["Grade"], d["LetterGrade"]), d["Course"]), "student_id").items()
    ],
    numeric=True,
)
case(
    "aggr_sum_counts_passing",
    lambda db: db.Section.aggr(db.Grade * db.LetterGrade, passed="sum(passing)", keep_all_rows=False) & {"term_year": 2019},
    lambda d: [
        {**dict(zip(("dept", "course", "term_year", "term", "section"), k)), "passed": sum(int(r["passing"]) for r in rows)}
        for k, rows in group(njoin(d["Grade"], d["LetterGrade"]), "dept", "course", "term_year", "term", "section").items()
        if k[2] == 2019
    ],
)

# ----------------------------------------------------------------- union and U

case(
    "union_same_key",
    lambda db: (db.Student & {"sex": "F"}).proj("last_name") + (db.Student & "home_state = 'CA'").proj("last_name"),
    lambda d: pick([s for s in d["Student"] if s["sex"] == "F" or s["home_state"] == "CA"], "student_id", "last_name"),
    pk=("student_id",),
)
case(
    "union_of_semijoins",
    lambda db: (db.Student & (db.Enroll & {"dept": "CS"})).proj() + (db.Student & (db.StudentMajor & {"dept": "CS"})).proj(),
    lambda d: distinct(
        [e for e in d["Enroll"] if e["dept"] == "CS"] + [m for m in d["StudentMajor"] if m["dept"] == "CS"], "student_id"
    ),
)
case("u_distinct_one", lambda db: U("home_state") & db.Student, lambda d: distinct(d["Student"], "home_state"), pk=("home_state",))
case(
    "u_distinct_two_restricted",
    lambda db: (U("dept", "term") & db.Section) & {"term": "Fall"},
    lambda d: distinct([s for s in d["Section"] if s["term"] == "Fall"], "dept", "term"),
    pk=("dept", "term"),
)
case(
    "u_group_count",
    lambda db: U("home_state").aggr(db.Student, n="count(*)"),
    lambda d: [{"home_state": k[0], "n": len(v)} for k, v in group(d["Student"], "home_state").items()],
    pk=("home_state",),
)
case(
    "u_group_restricted_result",
    lambda db: U("grade").aggr(db.Grade & {"dept": "MATH"}, n="count(*)") & "n >= 40",
    lambda d: [
        {"grade": k[0], "n": len(v)} for k, v in group([g for g in d["Grade"] if g["dept"] == "MATH"], "grade").items() if len(v) >= 40
    ],
)
case(
    "u_group_over_join",
    lambda db: U("term_year").aggr(db.Enroll * db.Course, credits="sum(credits)", n="count(*)"),
    lambda d: [
        {"term_year": k[0], "credits": sum(r["credits"] for r in v), "n": len(v)}
        for k, v in group(njoin(d["Enroll"], d["Course"]), "term_year").items()
    ],
)
case(
    "promote_to_key",
    lambda db: (db.Student * U("home_state")).proj(),
    lambda d: pick(d["Student"], "student_id", "home_state"),
    pk=("student_id", "home_state"),
)

# ----------------------------------------------------------------- order, limit, offset, len, bool, in

case(
    "order_enum_declaration_order",
    lambda db: db.Term.fetch(order_by=["term_year DESC", "term"], limit=5),
    lambda d: sorted(d["Term"], key=lambda t: (-t["term_year"], ["Spring", "Summer", "Fall"].index(t["term"])))[:5],
)
case(
    "order_enum_first",
    lambda db: (db.Term & "term_year >= 2019").fetch(order_by=["term DESC", "term_year"]),
    lambda d: sorted([t for t in d["Term"] if t["term_year"] >= 2019], key=lambda t: (-["Spring", "Summer", "Fall"].index(t["term"]), t["term_year"])),
)
case(
    "order_distinct_enum",
    lambda db: (U("term") & db.Section).fetch(order_by="term"),
    lambda d: [{"term": t} for t in ("Spring", "Summer", "Fall")],
)
case(
    "order_limit_offset",
    lambda db: db.Student.fetch("student_id", "last_name", order_by=["last_name", "first_name", "student_id"], limit=5, offset=10),
    lambda d: pick(sorted(d["Student"], key=lambda s: (s["last_name"], s["first_name"], s["student_id"])), "student_id", "last_name")[10:15],
)
case(
    "order_by_computed_desc",
    lambda db: db.Student.aggr(db.Enroll, n="count(*)").fetch(order_by=["n DESC", "student_id"], limit=5),
    lambda d: sorted(_counts(d["Student"], d["Enroll"]), key=lambda r: (-r["n"], r["student_id"]))[:5],
)
case(
    "len_bool_in",
    lambda db: (
        len(db.Enroll & {"term": "Fall"}),
        bool(db.Student & {"student_id": 100}),
        bool(db.Student & {"student_id": 1}),
        {"student_id": 100} in db.Student,
        {"student_id": 1} in db.Student,
        {"dept": "CS", "course": 1410} in db.Course,
    ),
    lambda d: (
        sum(1 for e in d["Enroll"] if e["term"] == "Fall"),
        True,
        False,
        True,
        False,
        any((c["dept"], c["course"]) == ("CS", 1410) for c in d["Course"]),
    ),
)
case(
    "len_of_aggregate_and_distinct",
    lambda db: (len(db.Student.aggr(db.Enroll, n="count(*)") & "n > 20"), len(U("home_state") & db.Student)),
    lambda d: (sum(1 for r in _counts(d["Student"], d["Enroll"]) if r["n"] > 20), len({s["home_state"] for s in d["Student"]})),
)
case(
    "fetch1_and_column",
    lambda db: ((db.Student & {"student_id": 123}).fetch1(), sorted((db.Student & {"home_state": "CA"}).column("student_id"))),
    lambda d: (
        next(s for s in d["Student"] if s["student_id"] == 123),
        sorted(s["student_id"] for s in d["Student"] if s["home_state"] == "CA"),
    ),
)
case(
    "keys",
    lambda db: (db.Enroll & {"student_id": 100}).keys(order_by="KEY"),
    lambda d: sorted(
        [e for e in d["Enroll"] if e["student_id"] == 100],
        key=lambda e: (e["student_id"], e["dept"], e["course"], e["term_year"], ["Spring", "Summer", "Fall"].index(e["term"]), e["section"]),
    ),
)

# ----------------------------------------------------------------- composition


def _gpa(d: Data) -> dict[int, float]:
    return {k[0]: float(sum(r["points"] for r in v)) / len(v) for k, v in group(njoin(d["Grade"], d["LetterGrade"]), "student_id").items()}


case(
    "deep_restrict_join_proj_aggr",
    lambda db: (db.Student.aggr(db.Grade * db.LetterGrade, gpa="avg(points)").proj(g="gpa") * db.StudentMajor & "g > 3")
    & (db.Department & {"dept": "MATH"}),
    lambda d: [
        {"student_id": m["student_id"], "g": _gpa(d)[m["student_id"]], "dept": m["dept"], "declare_date": m["declare_date"]}
        for m in d["StudentMajor"]
        if m["dept"] == "MATH" and _gpa(d).get(m["student_id"], 0) > 3
    ],
    pk=("student_id",),
)
case(
    "deep_group_of_join_with_aggregate",
    lambda db: U("dept").aggr(db.StudentMajor * db.Student.aggr(db.Enroll, n="count(*)"), load="avg(n)", most="max(n)"),
    lambda d: [
        {"dept": k[0], "load": mean([r["n"] for r in v]), "most": max(r["n"] for r in v)}
        for k, v in group(njoin(d["StudentMajor"], _counts(d["Student"], d["Enroll"])), "dept").items()
    ],
)
case(
    "deep_current_term_enrollment",
    lambda db: (db.Section & db.CurrentTerm).aggr(db.Enroll, n="count(*)") - "n < 5",
    lambda d: [
        {**pick([s], "dept", "course", "term_year", "term", "section")[0], "n": n}
        for s in d["Section"]
        if (s["term_year"], s["term"]) == (2020, "Fall")
        for n in [sum(1 for e in d["Enroll"] if all(e[k] == s[k] for k in ("dept", "course", "term_year", "term", "section")))]
        if n >= 5
    ],
)
case(
    "deep_students_never_failing_math_majors",
    lambda db: ((db.Student - (db.Grade * db.LetterGrade & {"passing": False})) * db.StudentMajor & {"dept": "MATH"}).proj("last_name"),
    lambda d: pick(
        [
            r
            for r in njoin(anti(d["Student"], [g for g in njoin(d["Grade"], d["LetterGrade"]) if not g["passing"]], "student_id"), d["StudentMajor"])
            if r["dept"] == "MATH"
        ],
        "student_id",
        "last_name",
    ),
)
case(
    "deep_restricted_union_then_join",
    lambda db: ((db.Student & {"home_state": "CA"}).proj() + (db.Student & {"home_state": "TX"}).proj()) * db.StudentMajor,
    lambda d: njoin(pick([s for s in d["Student"] if s["home_state"] in ("CA", "TX")], "student_id"), d["StudentMajor"]),
)
case(
    "deep_section_sizes_per_department_term",
    lambda db: U("dept", "term").aggr(db.Section.aggr(db.Enroll, size="count(*)") & {"term_year": 2018}, biggest="max(size)", sections="count(*)"),
    lambda d: [
        {"dept": k[0], "term": k[1], "biggest": max(sizes), "sections": len(sizes)}
        for k, v in group([s for s in d["Section"] if s["term_year"] == 2018], "dept", "term").items()
        for sizes in [[sum(1 for e in d["Enroll"] if all(e[a] == s[a] for a in ("dept", "course", "term_year", "term", "section"))) for s in v]]
    ],
)


# ----------------------------------------------------------------- the tests


def test_enough_cases() -> None:
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_query(university_db: Any, c: Case) -> None:
    data = read_rows()
    result = c.query(university_db)
    expected = c.oracle(data)
    assert norm(result, c.numeric) == norm_expected(expected, result, c.numeric)
    if c.pk is not None:
        assert isinstance(result, Query)
        assert set(result.primary_key) == set(c.pk)


def test_join_refuses_different_lineage(university_db: Any) -> None:
    db = university_db
    with pytest.raises(QueryError, match=r"`dept`.*different origins.*proj"):
        db.Student.proj(dept="home_state") * db.Department
    with pytest.raises(QueryError, match=r"different origins"):
        db.Student & db.Student.proj(dept="home_state").proj(student_id="student_id", other="dept") * db.Department.proj(
            other="dept"
        )


def test_restrict_refuses_different_lineage(university_db: Any) -> None:
    db = university_db
    with pytest.raises(QueryError, match=r"`dept`.*different origins"):
        db.Department & db.Student.proj(dept="home_state")


def test_union_needs_same_heading(university_db: Any) -> None:
    db = university_db
    with pytest.raises(QueryError, match="same primary key"):
        db.Student.proj() + db.Department.proj()


def test_result_keys_follow_the_rule(university_db: Any) -> None:
    db = university_db
    # a determines b: a's key
    assert (db.Enroll * db.Student).primary_key == db.Enroll.primary_key
    assert (db.Student * db.Enroll).primary_key == ("student_id", "dept", "course", "term_year", "term", "section")
    # neither determines the other: both keys
    assert set((db.StudentMajor * db.Course).primary_key) == {"student_id", "dept", "course"}
    # aggregation: the grouping side's key; U: its attributes
    assert db.Department.aggr(db.Course, n="count(*)").primary_key == ("dept",)
    assert U("term_year", "term").aggr(db.Section, n="count(*)").primary_key == ("term_year", "term")


def test_computed_types_are_inferred(university_db: Any) -> None:
    db = university_db
    row = (
        db.Department.aggr(
            db.Course,
            n="count(*)",
            total="sum(credits)",
            most="max(credits)",
            avg_credits="avg(credits)",
            first="min(course_name)",
        )
        & {"dept": "MATH"}
    ).fetch1()
    assert type(row["n"]) is int
    assert type(row["total"]) is decimal.Decimal and row["total"].as_tuple().exponent == -1
    assert type(row["most"]) is decimal.Decimal
    assert type(row["avg_credits"]) is float
    assert type(row["first"]) is str
