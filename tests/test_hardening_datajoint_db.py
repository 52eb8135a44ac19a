"""Issue 10 item 12: databases the project did not create, and DataJoint's `year` type.

The University schema of DataJoint's tutorial, declared as DataJoint declares
it (the DDL is written here by hand from DataJoint's documented definitions:
``int unsigned``, ``year``, ``decimal(3,1)``, a lookup table named
``#letter_grade``, a latin1 database as DataJoint's ``CREATE DATABASE`` makes
on a server whose default character set is latin1).  A pipeline compiled from
the same definitions in `.rf` must connect and declare-check cleanly; text
latin1 cannot hold must be an InsertError naming the attribute and charset.
"""

from __future__ import annotations

import datetime
import decimal
from urllib.parse import parse_qs, urlparse

import pytest
from runtime_fixtures import pipeline_from

from relflow_gen.core.types import TypeProblem, TypeSpec, resolve_type
from relflow_gen.runtime import InsertError

UNIVERSITY_RF = """
schema university

manual Student {
    student_id: int unsigned  # university-wide ID number
    ---
    first_name: varchar(40)
    last_name: varchar(40)
    sex: enum("F", "M", "U")
    date_of_birth: date
    home_address: varchar(120)  # mailing street address
    home_city: varchar(60)  # mailing address
    home_state: char(2)  # US state acronym: e.g. OH
    home_zip: char(10)  # zipcode e.g. 93979-4979
    home_phone: varchar(20)  # e.g. 414.657.6883x0881
}

manual Department {
    dept: varchar(6)  # abbreviated department name, e.g. BIOL
    ---
    dept_name: varchar(200)  # full department name
    dept_address: varchar(200)  # department building and room
    dept_phone: varchar(20)
}

manual StudentMajor {
    -> Student
    ---
    -> Department
    declare_date: date  # when student declared her major
}

manual Course {
    -> Department
    course: int unsigned  # course number, e.g. 1010
    ---
    course_name: varchar(200)  # e.g. "Neurobiology of Sensation and Movement."
    credits: decimal(3,1)  # number of credits earned by completing the course
}

manual Term {
    term_year: year(4)
    term: enum("Spring", "Summer", "Fall")
}

manual Section {
    -> Course
    -> Term
    section: char(1)
    ---
    auditorium: varchar(12)
}

manual CurrentTerm {
    omega = 0: tinyint
    ---
    -> Term
}

manual Enroll {
    -> Student
    -> Section
}

lookup LetterGrade {
    grade: char(2)
    ---
    points: decimal(3,2)
}

manual Grade {
    -> Enroll
    ---
    -> LetterGrade
}
"""

# What DataJoint's declare() sends for the definitions above (CREATE DATABASE
# without a character set: the server's default, latin1 on many installations).
DATAJOINT_DDL = [
    """CREATE TABLE `{db}`.`student` (
`student_id` int unsigned NOT NULL COMMENT "university-wide ID number",
`first_name` varchar(40) NOT NULL COMMENT "",
`last_name` varchar(40) NOT NULL COMMENT "",
`sex` enum('F','M','U') NOT NULL COMMENT "",
`date_of_birth` date NOT NULL COMMENT "",
`home_address` varchar(120) NOT NULL COMMENT "mailing street address",
`home_city` varchar(60) NOT NULL COMMENT "mailing address",
`home_state` char(2) NOT NULL COMMENT "US state acronym: e.g. OH",
`home_zip` char(10) NOT NULL COMMENT "zipcode e.g. 93979-4979",
`home_phone` varchar(20) NOT NULL COMMENT "e.g. 414.657.6883x0881",
PRIMARY KEY (`student_id`)
) ENGINE=InnoDB, COMMENT ""
""",
    """CREATE TABLE `{db}`.`department` (
`dept` varchar(6) NOT NULL COMMENT "abbreviated department name, e.g. BIOL",
`dept_name` varchar(200) NOT NULL COMMENT "full department name",
`dept_address` varchar(200) NOT NULL COMMENT "department building and room",
`dept_phone` varchar(20) NOT NULL COMMENT "",
PRIMARY KEY (`dept`)
) ENGINE=InnoDB, COMMENT ""
""",
    """CREATE TABLE `{db}`.`student_major` (
`student_id` int unsigned NOT NULL COMMENT "university-wide ID number",
`dept` varchar(6) NOT NULL COMMENT "abbreviated department name, e.g. BIOL",
`declare_date` date NOT NULL COMMENT "when student declared her major",
PRIMARY KEY (`student_id`),
FOREIGN KEY (`student_id`) REFERENCES `{db}`.`student` (`student_id`) ON UPDATE CASCADE ON DELETE RESTRICT,
FOREIGN KEY (`dept`) REFERENCES `{db}`.`department` (`dept`) ON UPDATE CASCADE ON DELETE RESTRICT
) ENGINE=InnoDB, COMMENT ""
""",
    """CREATE TABLE `{db}`.`course` (
`dept` varchar(6) NOT NULL COMMENT "abbreviated department name, e.g. BIOL",
`course` int unsigned NOT NULL COMMENT "course number, e.g. 1010",
`course_name` varchar(200) NOT NULL COMMENT "e.g. \\"Neurobiology of Sensation and Movement.\\"",
`credits` decimal(3,1) NOT NULL COMMENT "number of credits earned by completing the course",
PRIMARY KEY (`dept`,`course`),
FOREIGN KEY (`dept`) REFERENCES `{db}`.`department` (`dept`) ON UPDATE CASCADE ON DELETE RESTRICT
) ENGINE=InnoDB, COMMENT ""
""",
    """CREATE TABLE `{db}`.`term` (
`term_year` year NOT NULL COMMENT "",
`term` enum('Spring','Summer','Fall') NOT NULL COMMENT "",
PRIMARY KEY (`term_year`,`term`)
) ENGINE=InnoDB, COMMENT ""
""",
    """CREATE TABLE `{db}`.`section` (
`dept` varchar(6) NOT NULL COMMENT "abbreviated department name, e.g. BIOL",
`course` int unsigned NOT NULL COMMENT "course number, e.g. 1010",
`term_year` year NOT NULL COMMENT "",
`term` enum('Spring','Summer','Fall') NOT NULL COMMENT "",
`section` char(1) NOT NULL COMMENT "",
`auditorium` varchar(12) NOT NULL COMMENT "",
PRIMARY KEY (`dept`,`course`,`term_year`,`term`,`section`),
FOREIGN KEY (`dept`,`course`) REFERENCES `{db}`.`course` (`dept`,`course`) ON UPDATE CASCADE ON DELETE RESTRICT,
FOREIGN KEY (`term_year`,`term`) REFERENCES `{db}`.`term` (`term_year`,`term`) ON UPDATE CASCADE ON DELETE RESTRICT
) ENGINE=InnoDB, COMMENT ""
""",
    """CREATE TABLE `{db}`.`current_term` (
`omega` tinyint NOT NULL DEFAULT 0 COMMENT "",
`term_year` year NOT NULL COMMENT "",
`term` enum('Spring','Summer','Fall') NOT NULL COMMENT "",
PRIMARY KEY (`omega`),
FOREIGN KEY (`term_year`,`term`) REFERENCES `{db}`.`term` (`term_year`,`term`) ON UPDATE CASCADE ON DELETE RESTRICT
) ENGINE=InnoDB, COMMENT ""
""",
    """CREATE TABLE `{db}`.`enroll` (
`student_id` int unsigned NOT NULL COMMENT "university-wide ID number",
`dept` varchar(6) NOT NULL COMMENT "abbreviated department name, e.g. BIOL",
`course` int unsigned NOT NULL COMMENT "course number, e.g. 1010",
`term_year` year NOT NULL COMMENT "",
`term` enum('Spring','Summer','Fall') NOT NULL COMMENT "",
`section` char(1) NOT NULL COMMENT "",
PRIMARY KEY (`student_id`,`dept`,`course`,`term_year`,`term`,`section`),
FOREIGN KEY (`student_id`) REFERENCES `{db}`.`student` (`student_id`) ON UPDATE CASCADE ON DELETE RESTRICT,
FOREIGN KEY (`dept`,`course`,`term_year`,`term`,`section`) REFERENCES `{db}`.`section`
    (`dept`,`course`,`term_year`,`term`,`section`) ON UPDATE CASCADE ON DELETE RESTRICT
) ENGINE=InnoDB, COMMENT ""
""",
    """CREATE TABLE `{db}`.`#letter_grade` (
`grade` char(2) NOT NULL COMMENT "",
`points` decimal(3,2) NOT NULL COMMENT "",
PRIMARY KEY (`grade`)
) ENGINE=InnoDB, COMMENT ""
""",
    """CREATE TABLE `{db}`.`grade` (
`student_id` int unsigned NOT NULL COMMENT "university-wide ID number",
`dept` varchar(6) NOT NULL COMMENT "abbreviated department name, e.g. BIOL",
`course` int unsigned NOT NULL COMMENT "course number, e.g. 1010",
`term_year` year NOT NULL COMMENT "",
`term` enum('Spring','Summer','Fall') NOT NULL COMMENT "",
`section` char(1) NOT NULL COMMENT "",
`grade` char(2) NOT NULL COMMENT "",
PRIMARY KEY (`student_id`,`dept`,`course`,`term_year`,`term`,`section`),
FOREIGN KEY (`student_id`,`dept`,`course`,`term_year`,`term`,`section`) REFERENCES `{db}`.`enroll`
    (`student_id`,`dept`,`course`,`term_year`,`term`,`section`) ON UPDATE CASCADE ON DELETE RESTRICT,
FOREIGN KEY (`grade`) REFERENCES `{db}`.`#letter_grade` (`grade`) ON UPDATE CASCADE ON DELETE RESTRICT
) ENGINE=InnoDB, COMMENT ""
""",
]

STUDENT = {
    "student_id": 1,
    "first_name": "Zoë",
    "last_name": "Müller",
    "sex": "F",
    "date_of_birth": datetime.date(2001, 5, 2),
    "home_address": "1 Main St",
    "home_city": "Columbus",
    "home_state": "OH",
    "home_zip": "43004",
    "home_phone": "614.555.0101",
}


def _datajoint_university(db_url: str) -> None:
    import pymysql

    u = urlparse(db_url)
    prefix = parse_qs(u.query)["prefix"][0]
    conn = pymysql.connect(host=u.hostname, port=u.port, user=u.username or "root", password=u.password or "")
    try:
        with conn.cursor() as cur:
            db = f"{prefix}university"
            cur.execute(f"CREATE DATABASE `{db}` CHARACTER SET latin1")
            for ddl in DATAJOINT_DDL:
                cur.execute(ddl.format(db=db))
            cur.execute(f"INSERT INTO `{db}`.`#letter_grade` VALUES ('A', 4.00), ('B', 3.00)")
        conn.commit()
    finally:
        conn.close()


def test_pipeline_on_a_datajoint_latin1_university(db_url: str) -> None:
    if not db_url.startswith("mysql"):
        pytest.skip("character sets of databases made by other tools are a MySQL matter")
    _datajoint_university(db_url)
    db = pipeline_from(UNIVERSITY_RF, db_url)  # connects and declare-checks the existing tables
    report = db.declare()
    assert report.created == [] and "university.Term" in report.existing
    db.Student.insert1(STUDENT)  # latin1 holds these
    db.Department.insert1({"dept": "BIOL", "dept_name": "Biology", "dept_address": "Hall 1", "dept_phone": "1"})
    db.Course.insert1({"dept": "BIOL", "course": 1010, "course_name": "Biology I", "credits": decimal.Decimal("3.0")})
    db.Term.insert1({"term_year": 2024, "term": "Fall"})
    db.Section.insert1({"dept": "BIOL", "course": 1010, "term_year": 2024, "term": "Fall", "section": "a", "auditorium": "C68"})
    db.Enroll.insert1({"student_id": 1, "dept": "BIOL", "course": 1010, "term_year": 2024, "term": "Fall", "section": "a"})
    db.Grade.insert1({"student_id": 1, "dept": "BIOL", "course": 1010, "term_year": 2024, "term": "Fall", "section": "a", "grade": "A"})
    row = (db.Student * db.Grade * db.LetterGrade).fetch1()
    assert row["first_name"] == "Zoë" and row["term_year"] == 2024 and row["points"] == decimal.Decimal("4.00")
    assert (db.Term & "term_year > 2000").fetch1()["term_year"] == 2024
    # text latin1 cannot hold
    rows = [{**STUDENT, "student_id": 2}, {**STUDENT, "student_id": 3, "last_name": "李"}]
    with pytest.raises(InsertError, match=r"university.Student, row 1, attribute `last_name`.*character set latin1"):
        db.Student.insert(rows)
    assert len(db.Student) == 1
    db.close()


def test_year_type(db_url: str) -> None:
    src = """
schema yr

manual Album {
    released: year
    ---
    also = null: year(4)
}
"""
    db = pipeline_from(src, db_url)
    db.Album.insert([{"released": 1901, "also": 2155}, {"released": 2024}])
    assert db.Album.fetch(order_by="released") == [
        {"released": 1901, "also": 2155},
        {"released": 2024, "also": None},
    ]
    for bad in (1900, 2156, "2024", 2024.0):
        with pytest.raises(InsertError, match="`released`"):
            db.Album.insert1({"released": bad})
    assert db.Album.describe().splitlines()[1].strip() == "released: year"
    db.close()
    assert resolve_type(("year",), (4,)) == TypeSpec("year")
    assert TypeSpec("year").mysql() == "year" and TypeSpec("year").sqlite() == "INTEGER"
    with pytest.raises(TypeProblem, match="display width 4"):
        resolve_type(("year",), (2,))
