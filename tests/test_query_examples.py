"""The seed chapter's example queries on the examples they belong to, on both backends.

"People who speak French", "languages spoken by a person", "native speakers of
Romance languages" (examples/languages) and "sessions with more than N trials"
(examples/lab), with rows inserted here, each checked against plain Python.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from relflow_gen.compiler.frontend import compile_file
from relflow_gen.compiler.metadata import schema_meta
from relflow_gen.runtime import U
from relflow_gen.runtime.dynamic import pipeline_class

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def open_example(path: Path, url: str) -> Any:
    comp = compile_file(str(path))
    assert comp.ok and comp.project is not None, [d.message for d in comp.diagnostics]
    return pipeline_class(schema_meta(comp.project))(url)


PEOPLE = [
    {"person_id": 1, "full_name": "Ana Souza", "birth_country": "BR"},
    {"person_id": 2, "full_name": "Jean Martin", "birth_country": "FR"},
    {"person_id": 3, "full_name": "Li Wei", "birth_country": "CN"},
    {"person_id": 4, "full_name": "Maria Rossi", "birth_country": "IT"},
    {"person_id": 5, "full_name": "Ane Etxeberria", "birth_country": "ES"},
    {"person_id": 42, "full_name": "Sam Doe"},
]
# (person, language, CEFR level, native)
SPEAKS = [
    (1, "pt", "C2", True),
    (1, "en", "B2", False),
    (1, "fr", "A2", False),
    (2, "fr", "C2", True),
    (2, "en", "C1", False),
    (3, "zh", "C2", True),
    (3, "en", "B1", False),
    (4, "it", "C2", True),
    (4, "fr", "B1", False),
    (5, "eu", "C2", True),
    (5, "es", "C2", True),
    (42, "en", "C2", True),
    (42, "de", "A1", False),
    (42, "fr", "B2", False),
]


@pytest.fixture
def languages(db_url: str) -> Any:
    db = open_example(EXAMPLES / "languages" / "languages.rf", db_url)
    db.Person.insert(PEOPLE)
    db.Proficiency.insert(
        [
            {"person_id": p, "language": lang, "cefr_level": level, "is_native": native, "assessed_on": dt.date(2024, 1, p % 28 + 1)}
            for p, lang, level, native in SPEAKS
        ]
    )
    yield db
    db.close()


def names(rows: list[dict[str, Any]]) -> set[str]:
    return {r["full_name"] for r in rows}


def test_people_who_speak_french(languages: Any) -> None:
    db = languages
    got = (db.Person * db.Proficiency & {"language": "fr"}).fetch()
    want = {p["full_name"] for p in PEOPLE for pid, lang, _, _ in SPEAKS if pid == p["person_id"] and lang == "fr"}
    assert names(got) == want == {"Ana Souza", "Jean Martin", "Maria Rossi", "Sam Doe"}
    # the same people as a restriction of Person (no join): a semijoin
    assert names((db.Person & (db.Proficiency & {"language": "fr"})).fetch()) == want


def test_languages_spoken_by_a_person(languages: Any) -> None:
    db = languages
    got = (db.Language * db.Proficiency & {"person_id": 42}).fetch("language_name", order_by="language")
    assert [r["language_name"] for r in got] == ["German", "English", "French"]
    assert {r["language"] for r in (db.Language * db.Proficiency & {"person_id": 42}).fetch()} == {
        lang for pid, lang, _, _ in SPEAKS if pid == 42
    }


def test_native_speakers_of_romance_languages(languages: Any) -> None:
    db = languages
    romance = {"pt", "fr", "it", "es", "ro", "ca"}
    want = {p["full_name"] for p in PEOPLE for pid, lang, _, native in SPEAKS if pid == p["person_id"] and native and lang in romance}
    q = db.Person * db.Proficiency * db.Language & {"is_native": True, "family": "romance"}
    assert names(q.fetch()) == want == {"Ana Souza", "Jean Martin", "Maria Rossi", "Ane Etxeberria"}
    # the chapter's spelling: SQL strings
    q2 = db.Person * db.Proficiency * db.Language & "is_native = 1" & 'family = "romance"'
    assert names(q2.fetch()) == want
    # a whole family, branches included: Romance is a branch of Indo-European
    indo_european = db.LanguageFamily & [{"family": "indo_european"}, {"parent_family": "indo_european"}]
    q3 = db.Person & (db.Proficiency & {"is_native": True} & (db.Language & indo_european))
    assert names(q3.fetch()) == {"Ana Souza", "Jean Martin", "Maria Rossi", "Ane Etxeberria", "Sam Doe"}


def test_independent_level_speakers(languages: Any) -> None:
    db = languages
    q = db.Person * db.Proficiency * db.CefrLevel & {"band": "independent"}
    want = {(pid, lang) for pid, lang, level, _ in SPEAKS if level in ("B1", "B2")}
    assert {(r["person_id"], r["language"]) for r in q.fetch()} == want


def test_nullable_references(languages: Any) -> None:
    db = languages
    # Basque is an isolate: its family is NULL; an antijoin keeps it, a semijoin drops it
    isolates = db.Language - db.LanguageFamily
    assert [r["language"] for r in isolates.fetch()] == ["eu"]
    assert len(db.Language & db.LanguageFamily) == len(db.Language) - 1
    assert (db.Language & {"family": None}).fetch("language") == [{"language": "eu"}]
    # families nobody names as parent (leaves of the hierarchy); parent_family is NULL at the top
    children = db.LanguageFamily.proj(child="family", family="parent_family")
    leaves = {r["family"] for r in (db.LanguageFamily - children).fetch()}
    contents = db.LanguageFamily.fetch()
    parents = {r["parent_family"] for r in contents}
    assert leaves == {r["family"] for r in contents} - parents
    # people without a recorded birth country, and the complement
    assert names((db.Person & {"birth_country": None}).fetch()) == {"Sam Doe"}
    assert len(db.Person - {"birth_country": "FR"}) == len(PEOPLE) - 1


def test_speakers_per_language_family(languages: Any) -> None:
    db = languages
    q = U("family").aggr(db.Proficiency * db.Language, speakers="count(distinct person_id)") & "speakers >= 2"
    got = {r["family"]: r["speakers"] for r in q.fetch()}
    family = {r["language"]: r["family"] for r in db.Language.fetch()}
    speakers: dict[str, set[int]] = {}
    for pid, lang, _, _ in SPEAKS:
        speakers.setdefault(family[lang], set()).add(pid)
    assert got == {f: len(p) for f, p in speakers.items() if len(p) >= 2} == {"germanic": 4, "romance": 5}


@pytest.fixture
def lab(db_url: str) -> Any:
    db = open_example(EXAMPLES / "lab" / "lab.rf", db_url)
    db.common.Experimenter.insert1({"username": "ana", "full_name": "Ana Lab"})
    db.Rig.insert1({"rig": "rig1", "room": "B12"})
    db.Subject.insert([{"subject_id": f"mouse_{i:03d}", "species": "mouse"} for i in range(1, 4)])
    sessions = [(f"mouse_{s:03d}", n) for s in range(1, 4) for n in range(1, 4)]
    db.Session.insert(
        [
            {"subject_id": s, "session_id": n, "session_date": dt.date(2024, 3, n), "rig": "rig1", "experimenter": "ana"}
            for s, n in sessions
        ]
    )
    trials = []
    for k, (s, n) in enumerate(sessions):
        for t in range(k * 3 % 11):  # 0 .. 10 trials per session
            trials.append(
                {
                    "subject_id": s,
                    "session_id": n,
                    "trial_id": t,
                    "start_time": t * 2.0,
                    "stop_time": t * 2.0 + 1.5,
                    "outcome": ("success", "failure", "no_response")[t % 3],
                }
            )
    db.Session.Trial.insert(trials)
    db.trial_rows = trials
    yield db
    # runtime_fixtures drops the test's databases in name order, which MariaDB refuses
    # while lab's tables reference common's: drop the tables children first
    if db.connection.backend.name == "mysql":
        for t in reversed(db.tables()):
            db.connection.execute(db.connection.backend.drop_table(t.meta))
    db.close()


@pytest.mark.parametrize("n", [0, 4, 8])
def test_sessions_with_more_than_n_trials(lab: Any, n: int) -> None:
    db = lab
    counts: dict[tuple[str, int], int] = {}
    for s in db.Session.fetch():
        counts[(s["subject_id"], s["session_id"])] = 0
    for t in db.trial_rows:
        counts[(t["subject_id"], t["session_id"])] += 1
    want = {k for k, c in counts.items() if c > n}
    busy = db.Session & (db.Session.aggr(db.Session.Trial, n="count(*)") & f"n > {n}")
    assert {(r["subject_id"], r["session_id"]) for r in busy.fetch()} == want
    # the same, as the aggregate itself restricted, and with the count kept
    per_session = db.Session.aggr(db.Session.Trial, n="count(*)")
    assert {(r["subject_id"], r["session_id"]): r["n"] for r in per_session.fetch()} == counts
    assert {(r["subject_id"], r["session_id"]) for r in (per_session & f"n > {n}").fetch()} == want


def test_trials_of_a_session_and_outcomes(lab: Any) -> None:
    db = lab
    trials = (db.Session.Trial & {"subject_id": "mouse_001", "session_id": 3}).fetch(order_by="trial_id")
    assert [t["trial_id"] for t in trials] == [t["trial_id"] for t in db.trial_rows if (t["subject_id"], t["session_id"]) == ("mouse_001", 3)]
    by_outcome = {r["outcome"]: r["n"] for r in U("outcome").aggr(db.Session.Trial, n="count(*)").fetch()}
    want: dict[str, int] = {}
    for t in db.trial_rows:
        want[t["outcome"]] = want.get(t["outcome"], 0) + 1
    assert by_outcome == want
    # enum order on both backends: declaration order, not alphabetical
    assert [r["outcome"] for r in (U("outcome") & db.Session.Trial).fetch(order_by="outcome")] == ["success", "failure", "no_response"]
