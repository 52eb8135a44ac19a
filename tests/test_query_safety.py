"""Hostile values are data: they never change the shape of a statement.

Strings with quotes, backslashes, ``%``, ``%s``, ``?``, ``;``, comments, NUL,
unicode and classic injections go through every dict-restriction path
(restrict, minus, lists, AndList, Not, ``in``, semijoins, aggregates, U,
delete) and through insert / insert1 / update1 / fetch.  Each must round-trip
exactly, match exactly its own row, and leave the SQL text of the statement
identical to the one a benign value produces (captured by a spy on the
connection).  Unknown attribute names are errors, and SQL fragments that
could reach outside their parentheses are refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from runtime_fixtures import pipeline_from

from relflow_gen.runtime import AndList, Not, QueryError, U

SCHEMA = """
schema safety

manual Note {
    note_id: varchar(64)
    ---
    body: varchar(255)
    extra = null: varchar(255)
    kind = "plain": enum("plain", "it's", "100%")
}

manual Tag {
    -> Note
    tag: varchar(64)
    ---
    weight = 1: int32
}
"""

HOSTILE = [
    "'",
    "''",
    '"',
    "\\",
    "\\'",
    "\\\\'",
    "%",
    "%s",
    "%%s",
    "%(body)s",
    "?",
    "??",
    ";",
    "a; DROP TABLE note; --",
    "-- comment",
    "/* comment */",
    "*/",
    "' OR 1=1 --",
    "' OR '1'='1",
    '" OR ""="',
    "x\x00y",
    "\x00",
    "naïve café ☕ 中文 עברית 🧪",
    "line\nbreak\ttab\r",
    "`backtick`",
    "1) OR (1=1",
    "LIKE '%'",
    " trailing space ",
    "\\x27",
]
BENIGN = "plain-value"


@pytest.fixture
def db(db_url: str) -> Iterator[Any]:
    p = pipeline_from(SCHEMA, db_url)
    yield p
    p.close()


class Spy:
    """Records every statement the connection runs."""

    def __init__(self, conn: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.statements: list[str] = []
        execute, executemany = conn.execute, conn.executemany

        def spy_execute(sql: str, params: Any = None) -> Any:
            self.statements.append(sql)
            return execute(sql, params)

        def spy_executemany(sql: str, rows: Any) -> None:
            self.statements.append(sql)
            executemany(sql, rows)

        monkeypatch.setattr(conn, "execute", spy_execute)
        monkeypatch.setattr(conn, "executemany", spy_executemany)

    def take(self) -> list[str]:
        out, self.statements = self.statements, []
        return out


def _fill(db: Any) -> None:
    db.Note.insert([{"note_id": f"n{i}", "body": h} for i, h in enumerate(HOSTILE)] + [{"note_id": BENIGN, "body": BENIGN}])
    db.Note.insert([{"note_id": h, "body": f"body of {i}"} for i, h in enumerate(HOSTILE)])
    db.Tag.insert([{"note_id": h, "tag": h} for h in HOSTILE] + [{"note_id": BENIGN, "tag": BENIGN}])


def test_round_trip(db: Any) -> None:
    _fill(db)
    stored = {r["note_id"]: r["body"] for r in db.Note.fetch()}
    for i, h in enumerate(HOSTILE):
        assert stored[f"n{i}"] == h
        assert stored[h] == f"body of {i}"
    assert {(r["note_id"], r["tag"]) for r in db.Tag.fetch()} == {(h, h) for h in HOSTILE} | {(BENIGN, BENIGN)}
    assert len(db.Note) == 2 * len(HOSTILE) + 1


def _paths(db: Any, value: str) -> dict[str, Any]:
    """Every way a dict restriction reaches SQL, for one value: name -> a query or a callable."""
    return {
        "restrict_key": lambda: db.Note & {"note_id": value},
        "restrict_secondary": lambda: db.Note & {"body": value},
        "restrict_method": lambda: db.Note.restrict({"note_id": value}),
        "minus": lambda: db.Note - {"note_id": value},
        "or_list": lambda: db.Note & [{"note_id": value}, {"note_id": "nothing"}],
        "and_list": lambda: db.Note & AndList([{"note_id": value}, {"kind": "plain"}]),
        "not": lambda: db.Note & Not({"note_id": value}),
        "semijoin": lambda: db.Note & (db.Tag & {"tag": value}),
        "antijoin": lambda: db.Note - (db.Tag & {"tag": value}),
        "join": lambda: db.Note * db.Tag & {"tag": value},
        "aggr_inner": lambda: db.Note.aggr(db.Tag & {"tag": value}, n="count(*)", keep_all_rows=False),
        "aggr_outer": lambda: db.Note.aggr(db.Tag, n="count(*)") & {"note_id": value},
        "u": lambda: U("tag") & (db.Tag & {"note_id": value}),
        "u_aggr": lambda: U("note_id").aggr(db.Tag & {"tag": value}, n="count(*)"),
        "proj_renamed": lambda: db.Note.proj(nid="note_id") & {"nid": value},
        "union": lambda: (db.Note & {"note_id": value}).proj() + (db.Note & {"body": value}).proj(),
    }


def _expected(name: str, value: str, hostile_index: int | None) -> set[str] | None:
    """note_ids each path returns for ``value`` (a hostile string is the key of one Note and one Tag)."""
    all_ids = {f"n{i}" for i in range(len(HOSTILE))} | set(HOSTILE) | {BENIGN}
    body_match = {f"n{hostile_index}"} if hostile_index is not None else {BENIGN}
    own = {value}
    return {
        "restrict_key": own,
        "restrict_secondary": body_match,
        "restrict_method": own,
        "minus": all_ids - own,
        "or_list": own,
        "and_list": own,
        "not": all_ids - own,
        "semijoin": own,
        "antijoin": all_ids - own,
        "join": own,
        "aggr_inner": own,
        "aggr_outer": own,
        "u": None,
        "u_aggr": own,
        "proj_renamed": own,
        "union": own | body_match,
    }[name]


@pytest.mark.parametrize("index", range(len(HOSTILE)), ids=[repr(h)[:24] for h in HOSTILE])
def test_restrictions_treat_values_as_data(db: Any, index: int, monkeypatch: pytest.MonkeyPatch) -> None:
    _fill(db)
    value = HOSTILE[index]
    spy = Spy(db.connection, monkeypatch)
    benign_paths, hostile_paths = _paths(db, BENIGN), _paths(db, value)
    for name in benign_paths:
        q_benign, q_hostile = benign_paths[name](), hostile_paths[name]()
        assert q_benign.sql() == q_hostile.sql(), name
        spy.take()
        benign_rows = q_benign.fetch()
        sql_benign = spy.take()
        hostile_rows = q_hostile.fetch()
        sql_hostile = spy.take()
        assert sql_benign == sql_hostile, name
        if name == "u":
            assert hostile_rows == [{"tag": value}]
            continue
        ids = {r["note_id"] if "note_id" in r else r["nid"] for r in hostile_rows}
        assert ids == _expected(name, value, index), name
        assert {r["note_id"] if "note_id" in r else r["nid"] for r in benign_rows} == _expected(name, BENIGN, None), name
        # len, bool and `in` run the same statements for either value
        assert len(q_hostile) == len(hostile_rows)
        assert bool(q_hostile) == bool(hostile_rows)
        assert sql_of(spy) == sql_of_call(spy, lambda: (len(q_benign), bool(q_benign)))  # noqa: B023
    assert ({"note_id": value} in db.Note) is True
    assert ({"note_id": value + "x"} in db.Note) is False


def _unnumbered(statements: list[str]) -> list[str]:
    """delete.py numbers the alias of its derived table from a counter: compare without it."""
    return [re.sub(r"\bAS d\d+\b", "AS d", s) for s in statements]


def sql_of(spy: Spy) -> list[str]:
    return spy.take()


def sql_of_call(spy: Spy, f: Any) -> list[str]:
    f()
    return spy.take()


@pytest.mark.parametrize("index", range(len(HOSTILE)), ids=[repr(h)[:24] for h in HOSTILE])
def test_insert_update_fetch_delete_keep_shape(db: Any, index: int, monkeypatch: pytest.MonkeyPatch) -> None:
    value = HOSTILE[index]
    spy = Spy(db.connection, monkeypatch)

    db.Note.insert1({"note_id": BENIGN, "body": BENIGN, "extra": BENIGN})
    benign_insert = spy.take()
    db.Note.insert1({"note_id": value, "body": value, "extra": value})
    assert spy.take() == benign_insert

    db.Note.insert([{"note_id": BENIGN + "2", "body": BENIGN}], skip_duplicates=True)
    benign_many = spy.take()
    db.Note.insert([{"note_id": value + "2", "body": value}], skip_duplicates=True)
    assert spy.take() == benign_many

    db.Note.update1({"note_id": BENIGN, "body": BENIGN + "!"})
    benign_update = spy.take()
    db.Note.update1({"note_id": value, "body": value + "!"})
    assert spy.take() == benign_update

    row = (db.Note & {"note_id": value}).fetch1()
    assert row == {"note_id": value, "body": value + "!", "extra": value, "kind": "plain"}
    assert (db.Note & {"extra": value}).fetch("note_id") == [{"note_id": value}]
    assert len(db.Note) == 4

    spy.take()
    (db.Note & {"note_id": BENIGN}).delete()
    benign_delete = _unnumbered(spy.take())
    (db.Note & {"note_id": value}).delete()
    assert _unnumbered(spy.take()) == benign_delete
    assert {r["note_id"] for r in db.Note.fetch()} == {BENIGN + "2", value + "2"}


def test_enum_values_with_quotes_and_percent(db: Any) -> None:
    db.Note.insert([{"note_id": "a", "body": "x", "kind": "it's"}, {"note_id": "b", "body": "y", "kind": "100%"}])
    assert (db.Note & {"kind": "it's"}).fetch("note_id") == [{"note_id": "a"}]
    assert (db.Note & {"kind": "100%"}).fetch("note_id") == [{"note_id": "b"}]
    assert [r["kind"] for r in db.Note.fetch(order_by="kind")] == ["it's", "100%"]


def test_unknown_attributes_are_errors(db: Any) -> None:
    _fill(db)
    with pytest.raises(QueryError, match="not an attribute"):
        db.Note & {"nope": 1}
    with pytest.raises(QueryError, match="not an attribute"):
        db.Note & {"note_id = 'x' OR 1=1 --": 1}
    with pytest.raises(QueryError, match="not an attribute"):
        db.Note - [{"note_id": "n1", "bodyy": "x"}]
    # ignore_extra_fields=True drops them
    q = db.Note.restrict({"note_id": "n1", "nope": 1, "tag": "x"}, ignore_extra_fields=True)
    assert q.fetch("note_id") == [{"note_id": "n1"}]
    with pytest.raises(QueryError, match="unknown attribute `nope`"):
        db.Note.proj("nope")
    with pytest.raises(QueryError, match="unknown attribute `nope`"):
        db.Note.proj(..., "-nope")
    with pytest.raises(QueryError, match="unknown attribute `nope`"):
        db.Note.fetch(order_by="nope")
    with pytest.raises(QueryError, match="unknown attribute `nope`"):
        db.Note.fetch(order_by=["note_id", "nope DESC"])
    with pytest.raises(QueryError, match="unknown attribute `nope`"):
        db.Note.fetch("nope")
    with pytest.raises(QueryError, match="unknown attribute `nope`"):
        U("nope") & db.Note
    with pytest.raises(QueryError, match="not a valid attribute name"):
        db.Note.proj(**{"x; DROP TABLE note": "body"})
    with pytest.raises(QueryError, match="not a valid attribute name"):
        db.Note.aggr(db.Tag, **{"n` FROM x --": "count(*)"})


@pytest.mark.parametrize(
    "fragment",
    [
        "note_id = 'a'; DELETE FROM note",
        "note_id = 'a' -- and the rest",
        "note_id = 'a' /* hidden */",
        "note_id = 'a' # mysql comment",
        "1=0) OR (1=1",
        "(note_id = 'a'",
        "note_id = 'a",
        'note_id = "a',
        "",
    ],
)
def test_fragments_cannot_reach_outside(db: Any, fragment: str) -> None:
    _fill(db)
    with pytest.raises(QueryError):
        (db.Note & fragment).fetch()
    with pytest.raises(QueryError):
        db.Note.proj(x=fragment or "(").fetch()
    assert len(db.Note) == 2 * len(HOSTILE) + 1


def test_fragment_literals_may_hold_anything(db: Any) -> None:
    _fill(db)
    # inside string literals, comment markers, semicolons and percent signs are plain text
    assert (db.Note & "body = '; DROP TABLE note; --'").fetch() == []
    assert [r["note_id"] for r in (db.Note & "body = '/* comment */'").fetch()] == [f"n{HOSTILE.index('/* comment */')}"]
    assert [r["note_id"] for r in (db.Note & "body = '%s'").fetch()] == [f"n{HOSTILE.index('%s')}"]
    assert [r["note_id"] for r in (db.Note & "body = '?'").fetch()] == [f"n{HOSTILE.index('?')}"]
    percent = {r["note_id"] for r in (db.Note & "body LIKE '%!%%' ESCAPE '!'").fetch()}
    assert percent == {f"n{i}" for i, h in enumerate(HOSTILE) if "%" in h}
