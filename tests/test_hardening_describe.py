"""Issue 10 item 15: describe() shows indexes and parts; the HTML preview a caption and rounded floats."""

from __future__ import annotations

from typing import Any

from runtime_fixtures import pipeline_from

from relflow_gen.compiler.frontend import compile_text

SOURCE = '''schema lab "A lab"

manual Subject "A mouse" {
    subject: varchar(16)
    ---
    name: varchar(40)
    dob = null: date
    index(name, dob)
    unique index(name)
}

manual Session "One recording day" {
    -> Subject
    session_id: int32
    ---
    rate: float64  # Hz

    part Trial "A trial of the session" {
        trial_id: int32
        ---
        outcome: enum("hit", "miss")
        index(outcome)
    }

    part Note {
        -> master
        note_id: int32
        ---
        text: varchar(200)
    }
}
'''


def _shape(project: Any) -> list[tuple[Any, ...]]:
    return [
        (
            t.name,
            t.doc,
            [(a.name, a.type.render(), a.in_key, a.nullable) for a in t.attributes],
            sorted((tuple(i.attributes), i.unique) for i in t.indexes),
        )
        for t in project.tables()
    ]


def test_describe_has_indexes_and_parts(db_url: str) -> None:
    db = pipeline_from(SOURCE, db_url)
    subject = db.Subject.describe()
    assert "    index(name, dob)" in subject.splitlines()
    assert "    unique index(name)" in subject.splitlines()
    session = db.Session.describe()
    lines = session.splitlines()
    assert '    part Trial "A trial of the session" {' in lines
    assert "        index(outcome)" in lines
    assert "    part Note {" in lines
    assert lines[-1] == "}"
    # the described masters compile back to the same tables, parts and indexes included
    text = 'schema lab "A lab"\n\n' + "\n\n".join(t.describe() for t in db.tables() if t.meta.master is None) + "\n"
    again, original = compile_text(text, "described.rf"), compile_text(SOURCE, "lab.rf")
    assert again.ok, [d.message for d in again.diagnostics]
    assert _shape(again.project) == _shape(original.project)
    db.close()


def test_html_preview_has_comment_and_rounded_floats(db_url: str) -> None:
    db = pipeline_from(SOURCE, db_url)
    db.Subject.insert1({"subject": "m1", "name": "Mickey"})
    db.Session.insert1({"subject": "m1", "session_id": 1, "rate": 0.1 + 0.2})
    html = db.Session._repr_html_()
    assert html.startswith("<table><caption>lab.Session: One recording day</caption>")
    assert "<td>0.3</td>" in html and "0.30000000000000004" not in html
    assert "0.30000000000000004" not in repr(db.Session)
    # a derived query has no caption; fetch keeps the exact value
    assert "<caption>" not in (db.Session * db.Subject)._repr_html_()
    assert db.Session.fetch1()["rate"] == 0.1 + 0.2
    db.close()
