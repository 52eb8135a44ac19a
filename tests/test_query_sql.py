"""The shape of the SQL the algebra writes: flat where the semantics allow.

Pinned on SQLite (the MySQL text differs only in quoting and placeholders):
restricted joins, projections and restricted aggregations are one SELECT
without derived tables; a derived table appears only where SQL needs one
(joining an aggregation, unions); semijoins are ``IN``, antijoins
``NOT EXISTS``; the same query always compiles to the same text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from university_data import loaded_pipeline

from relflow_gen.runtime import U


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    path: Path = tmp_path_factory.mktemp("sqlshape") / "u.db"
    p = loaded_pipeline(f"sqlite:///{path}")
    yield p
    p.close()


def selects(sql: str) -> int:
    return len(re.findall(r"\bSELECT\b", sql))


def derived_tables(sql: str) -> int:
    return len(re.findall(r"(FROM|JOIN) \(SELECT", sql))


def test_restricted_join_is_one_select(db: Any) -> None:
    q = (db.Student * db.StudentMajor) & {"dept": "CS"} & "home_state = 'CA'"
    sql = q.sql()
    assert selects(sql) == 1 and derived_tables(sql) == 0
    assert re.search(r'FROM "university\.student" AS t\d+ JOIN "university\.student_major" AS t\d+ ON', sql)
    assert "WHERE" in sql and sql.count("?") == 1


def test_join_of_restrictions_and_projection_is_flat(db: Any) -> None:
    q = ((db.Student & {"sex": "F"}) * (db.StudentMajor & {"dept": "CS"})).proj("last_name", major="dept")
    sql = q.sql()
    assert selects(sql) == 1 and derived_tables(sql) == 0
    assert re.search(r'AS "major"', sql)


def test_multiway_join_is_flat(db: Any) -> None:
    sql = (db.Enroll * db.Section * db.Course & "credits > 3").sql()
    assert selects(sql) == 1 and sql.count(" JOIN ") == 2


def test_restricted_aggregation_uses_having(db: Any) -> None:
    q = db.Student.aggr(db.Enroll, n="count(*)") & "n > 5" & {"student_id": 102}
    sql = q.sql()
    assert selects(sql) == 1 and derived_tables(sql) == 0
    assert re.search(r"GROUP BY .* HAVING \(\(count\(t\d+\.\"dept\"\)\) > 5\) AND \(t\d+\.\"student_id\" = \?\)", sql)
    assert "LEFT JOIN" in sql  # rows without enrollments are kept (count 0)


def test_restricted_distinct_is_flat(db: Any) -> None:
    sql = ((U("dept", "term") & db.Section) & {"term": "Fall"}).sql()
    assert sql.startswith("SELECT DISTINCT") and selects(sql) == 1 and "WHERE" in sql


def test_group_by_attributes_is_flat(db: Any) -> None:
    sql = (U("home_state").aggr(db.Student & {"sex": "M"}, n="count(*)") & "n > 3").sql()
    assert selects(sql) == 1 and "GROUP BY" in sql and "HAVING" in sql


def test_semijoin_is_in_and_antijoin_is_not_exists(db: Any) -> None:
    semi = (db.Student & (db.Enroll & {"dept": "CS"})).sql()
    assert re.search(r'WHERE \(t\d+\."student_id" IN \(SELECT', semi) and derived_tables(semi) == 0
    anti = (db.Student - (db.Enroll & {"dept": "CS"})).sql()
    assert "NOT EXISTS (SELECT 1" in anti and derived_tables(anti) == 0


def test_derived_tables_only_where_needed(db: Any) -> None:
    # joining an aggregation: the aggregation becomes one derived table
    sql = (db.Student.aggr(db.Enroll, n="count(*)") * db.StudentMajor).sql()
    assert derived_tables(sql) == 1
    # a union is a derived table
    sql = ((db.Student & {"sex": "F"}).proj() + (db.Student & {"home_state": "CA"}).proj()).sql()
    assert " UNION " in sql and derived_tables(sql) == 1


def test_same_query_same_text(db: Any) -> None:
    def build() -> Any:
        return (db.Student.aggr(db.Enroll, n="count(*)") * db.StudentMajor) + (
            db.Student.aggr(db.Enroll, n="count(*)") * db.StudentMajor & {"dept": "CS"}
        )

    assert build().sql() == build().sql()


def test_self_join_of_aggregation_gets_distinct_aliases(db: Any) -> None:
    q = db.Student.aggr(db.Enroll, n="count(*)")
    both = q * q.proj(m="n")
    sql = both.sql()
    aliases = re.findall(r"\) AS (q[0-9a-f]+)", sql)
    assert len(aliases) == len(set(aliases)) == 2
    assert len(both) == len(db.Student)


def test_values_are_parameters_and_identifiers_quoted(db: Any) -> None:
    sql = (db.Student & {"last_name": "O'Brien", "student_id": 3}).sql()
    assert "O'Brien" not in sql and sql.count("?") == 2
    assert '"university.student"' in sql and '"last_name"' in sql


def test_negation_of_maybe_null_conditions(db: Any) -> None:
    # a string condition may be unknown: its complement is IS NOT TRUE, which keeps NULL rows
    assert "IS NOT TRUE" in (db.Student - "home_state = 'CA'").sql()
    # a dict on NOT NULL attributes negates with a plain NOT
    assert re.search(r"NOT \(t\d+\.\"home_state\" = \?\)", (db.Student - {"home_state": "CA"}).sql())


def test_real_division_on_sqlite(db: Any) -> None:
    q = db.Course.proj(half="course / 2") & {"dept": "MATH", "course": 1210}
    assert "* 1.0 /" in q.sql()
    assert q.fetch1()["half"] == 605.0
