"""Staleness on both backends: code and input fingerprints, outdated rows with reasons, refresh, plan."""

from __future__ import annotations

import json
import re
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
from runtime_fixtures import pipeline_from

from relflow_gen.runtime import Maker
from relflow_gen.runtime.cli import main
from relflow_gen.runtime.pipeline import Pipeline
from relflow_gen.runtime.populate.fingerprint import code_fingerprint, normalised_source

SRC = """
schema st

manual Subject {
    subject_id: int32
    ---
    name: varchar(32)
    weight = null: float64
}

lookup Param {
    param_id: int32
    ---
    scale: float64
    contents {
        (1, 1.0)
        (2, 2.0)
    }
}

computed Score {
    -> Subject
    -> Param
    ---
    value: float64
    samples = null: blob
}

computed Total {
    -> Score
    ---
    doubled: float64
}

computed Other {
    -> Subject
    ---
    n: int32
}
"""


def make_classes(score_body: str) -> tuple[type[Any], ...]:
    """Maker classes defined from source text (so a test can change one's code)."""
    source = textwrap.dedent(
        """
        from relflow_gen.runtime import Maker

        class MakeScore(Maker):
            __table__ = "st.Score"
        """
    ) + textwrap.indent(textwrap.dedent(score_body), "    ") + textwrap.dedent(
        """

        class MakeTotal(Maker):
            __table__ = "st.Total"

            def make(self, key):
                value = (self.db.Score & key).fetch1()["value"]
                self.insert1({**key, "doubled": 2 * value})

        class MakeOther(Maker):
            __table__ = "st.Other"

            def make(self, key):
                self.insert1({**key, "n": 1})
        """
    )
    import linecache
    import types

    name = f"st_makers_{abs(hash(source))}"
    filename = f"<{name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    module = types.ModuleType(name)
    module.__file__ = filename
    sys.modules[name] = module  # inspect finds a class's source through its module
    exec(compile(source, filename, "exec"), module.__dict__)
    classes = module.MakeScore, module.MakeTotal, module.MakeOther
    assert all("<no source" not in normalised_source(c) for c in classes)
    return classes


BODY = """
def make(self, key):
    name = (self.db.Subject & key).fetch1()["name"]
    scale = (self.db.Param & key).fetch1()["scale"]
    self.insert1({**key, "value": len(name) * scale})
"""


@pytest.fixture
def db(db_url: str) -> Pipeline:
    db = pipeline_from(SRC, db_url)
    db.register(*make_classes(BODY))
    db.table("Subject").insert([{"subject_id": i, "name": "x" * (i + 1)} for i in range(4)])
    db.populate_all()
    return db


def provenance_of(db: Pipeline, name: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    t: Any = db.table(name)
    return {tuple(r[k] for k in t.primary_key): r for r in t.provenance()}


def counts(db: Pipeline, **kw: Any) -> dict[str, dict[str, int]]:
    return {name: o.counts() for name, o in db.outdated(**kw).items()}


def test_nothing_is_outdated_after_populate(db: Pipeline) -> None:
    assert all(n == 0 for c in counts(db).values() for n in c.values())
    score: Any = db.table("Score")
    assert len(score.outdated()) == 0
    assert all(r["input_hash"] and len(r["input_hash"]) == 32 for r in score.provenance())


def test_comments_docstrings_and_formatting_do_not_change_the_code_fingerprint() -> None:
    a = make_classes(BODY)[0]
    b = make_classes(
        '''
        def make(self, key):
            """Now with a docstring."""
            # and a comment
            name = (
                self.db.Subject & key
            ).fetch1()["name"]
            scale = (self.db.Param & key).fetch1()[ "scale" ]
            self.insert1({**key, "value": len(name)*scale})
        '''
    )[0]
    c = make_classes(BODY.replace("len(name) * scale", "len(name) * scale + 1"))[0]
    assert code_fingerprint(a) == code_fingerprint(b)
    assert code_fingerprint(a) != code_fingerprint(c)

    class Versioned(Maker[Any, Any]):
        __table__ = "st.Score"
        version = "2"

        def make(self, key: Any) -> None:
            pass

    class VersionedEdited(Maker[Any, Any]):
        __table__ = "st.Score"
        version = "2"

        def make(self, key: Any) -> None:
            print(key)

    assert code_fingerprint(Versioned) == code_fingerprint(VersionedEdited)


def _double(x: float) -> float:
    return x * 2


def _triple(x: float) -> float:
    return x * 3


def _maker_using(*deps: object) -> type[Maker[Any, Any]]:
    class Uses(Maker[Any, Any]):
        __table__ = "st.Score"
        code_deps = deps

        def make(self, key: Any) -> None:
            pass

    return Uses


def test_code_deps_count() -> None:
    assert code_fingerprint(_maker_using(_double)) != code_fingerprint(_maker_using(_triple))


def test_a_fingerprint_is_computed_once_per_class_and_deps(monkeypatch: pytest.MonkeyPatch) -> None:
    from relflow_gen.runtime.populate import fingerprint

    A: Any = _maker_using(_double)
    parsed: list[object] = []
    real = fingerprint.normalised_source

    def recorded(obj: object) -> str:
        parsed.append(obj)
        return real(obj)

    monkeypatch.setattr(fingerprint, "normalised_source", recorded)
    first = code_fingerprint(A)
    assert code_fingerprint(A) == first and parsed == [A, _double]  # the second call reads no source
    A.code_deps = (_triple,)  # other deps: fingerprinted anew
    assert code_fingerprint(A) != first and parsed == [A, _double, A, _triple]
    B = make_classes(BODY)[0]
    code_fingerprint(B)
    assert parsed[-1] is B  # another class (a redefinition, a reload) is a new fingerprint


def test_a_changed_maker_marks_its_rows_and_their_descendants(db: Pipeline) -> None:
    before = provenance_of(db, "Other")
    changed = make_classes(BODY.replace("len(name) * scale", "len(name) * scale + 1"))
    db.register(changed[0])
    c = counts(db)
    assert c["st.Score"] == {"code": 8, "inputs": 0}
    assert c["st.Total"]["upstream st.Score"] == 8
    assert c["st.Total"]["code"] == 0
    assert all(n == 0 for n in c["st.Other"].values())
    rows = db.outdated("Total")["st.Total"].rows()
    assert len(rows) == 8 and all(r["reasons"] == ["upstream st.Score"] for r in rows)
    plan, report = db.refresh(dry_run=True)
    assert plan.counts == {"st.Score": 8, "st.Total": 8}
    assert len(db.table("Score").outdated()) == 8  # a dry run changes nothing
    plan, report = db.refresh()
    assert report is not None and report.made == 16 and report.failed == 0
    assert all(n == 0 for c2 in counts(db).values() for n in c2.values())
    assert provenance_of(db, "Other") == before
    assert [r["value"] for r in db.table("Score").fetch(order_by="KEY")][:2] == [2.0, 3.0]


def test_an_upstream_update_marks_exactly_the_rows_made_from_it(db: Pipeline) -> None:
    others = {n: provenance_of(db, n) for n in ("Score", "Total", "Other")}
    db.table("Subject").update1({"subject_id": 2, "name": "changed", "weight": None})
    c = counts(db)
    assert c["st.Score"]["inputs"] == 2
    assert c["st.Total"]["upstream st.Score"] == 2
    assert c["st.Other"]["inputs"] == 1
    score: Any = db.table("Score")
    assert sorted(k["param_id"] for k in score.outdated().keys() if k["subject_id"] == 2) == [1, 2]
    assert {k["subject_id"] for k in score.outdated().keys()} == {2}
    assert len(score.outdated() & {"param_id": 1}) == 1  # composes with the algebra
    assert len(score.outdated(inputs=False)) == 0
    plan, report = db.refresh()
    assert report is not None and report.made == 5
    assert all(n == 0 for c2 in counts(db).values() for n in c2.values())
    for name, before in others.items():  # every other row kept its provenance
        after = provenance_of(db, name)
        for key, prov in before.items():
            if key[0] != 2:
                assert after[key] == prov, (name, key)
    assert (db.table("Score") & {"subject_id": 2, "param_id": 2}).fetch1()["value"] == 14.0


def test_a_secondary_attribute_and_a_blob_change_count_as_inputs(db: Pipeline) -> None:
    db.table("Subject").update1({"subject_id": 0, "name": "x", "weight": 3.5})
    assert counts(db)["st.Score"]["inputs"] == 2
    db.refresh()
    assert counts(db)["st.Score"]["inputs"] == 0


def test_a_new_lookup_row_marks_nothing_but_makes_ready_keys(db: Pipeline) -> None:
    db.table("Param").insert1({"param_id": 3, "scale": 3.0})
    assert all(n == 0 for c in counts(db).values() for n in c.values())
    by = {t.table: t for t in db.plan().tables}
    assert by["st.Score"].ready == 4 and by["st.Score"].future == 0
    assert by["st.Total"].ready == 0 and by["st.Total"].future == 4


def test_plan_before_populate_foresees_every_key(db_url: str) -> None:
    db = pipeline_from(SRC, db_url)
    db.register(*make_classes(BODY))
    db.table("Subject").insert([{"subject_id": i, "name": "abc"} for i in range(3)])
    plan = db.plan()
    by = {t.table: t for t in plan.tables}
    assert (by["st.Score"].ready, by["st.Score"].future) == (6, 0)
    assert (by["st.Total"].ready, by["st.Total"].future) == (0, 6)
    assert (by["st.Other"].ready, by["st.Other"].future) == (3, 0)
    assert all(t.exact for t in plan.tables)
    assert plan.totals["ready"] + plan.totals["future"] == 15
    db.populate_all()
    assert {n: len(db.table(n)) for n in ("Score", "Total", "Other")} == {"Score": 6, "Total": 6, "Other": 3}
    after = {t.table: t for t in db.plan().tables}
    assert all(t.ready == 0 and t.future == 0 for t in after.values())
    assert after["st.Score"].median_seconds is not None and after["st.Score"].estimate_seconds == 0


CLI_MAKERS = '''
from relflow_gen.runtime import Maker


class MakeScore(Maker):
    __table__ = "st.Score"

    def make(self, key):
        name = (self.db.Subject & key).fetch1()["name"]
        self.insert1({**key, "value": len(name) * (self.db.Param & key).fetch1()["scale"]})


class MakeTotal(Maker):
    __table__ = "st.Total"

    def make(self, key):
        self.insert1({**key, "doubled": 2 * (self.db.Score & key).fetch1()["value"]})


class MakeOther(Maker):
    __table__ = "st.Other"

    def make(self, key):
        self.insert1({**key, "n": 1})
'''


def test_the_command_line(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = pipeline_from(SRC, db_url)
    db.table("Subject").insert([{"subject_id": i, "name": "ab"} for i in range(2)])
    cls = type(db)
    makers = tmp_path / f"st_makers_{uuid.uuid4().hex[:8]}.py"
    makers.write_text(CLI_MAKERS)

    def run(*args: str) -> int:
        return main(cls, ["--db", db_url, "--makers", str(makers), *args], prog="st")

    assert run("plan") == 0
    out = capsys.readouterr().out
    assert re.search(r"st\.Score\s+0\s+4\s+0\s", out) and re.search(r"st\.Total\s+0\s+0\s+4\s", out)
    assert run("plan", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["totals"]["ready"] == 6 and data["totals"]["future"] == 4
    assert run("populate") == 0
    capsys.readouterr()
    assert run("outdated") == 0
    assert "total: 0 outdated" in capsys.readouterr().out
    db.table("Subject").update1({"subject_id": 1, "name": "abc", "weight": None})
    assert run("outdated") == 1
    out = capsys.readouterr().out
    assert "st.Score: 2 outdated (inputs: 2)" in out and "st.Total: 2 outdated (upstream st.Score: 2)" in out
    assert run("outdated", "Score", "--json") == 1
    data = json.loads(capsys.readouterr().out)
    assert data["total"] == 2 and {r["subject_id"] for r in data["tables"]["st.Score"]["rows"]} == {1}
    assert run("outdated", "--code") == 0  # the code did not change
    capsys.readouterr()
    assert run("status") == 0
    assert re.search(r"st\.Score\s+computed\s+4\s+0\s+0\s+0\s+0\s+2", capsys.readouterr().out)
    assert run("refresh", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "would delete 2 row(s) of st.Score" in out and "would delete 2 row(s) of st.Total" in out
    assert run("refresh") == 0
    assert "st.Score: 2 made" in capsys.readouterr().out
    assert run("outdated") == 0
    assert run("refresh", "Subject") == 2  # usage error: not a computed table
    db.close()


def test_plan_of_the_lab_example_foresees_what_populate_makes(db_url: str, tmp_path: Path) -> None:
    import os
    import subprocess

    from relflow_gen.cli.main import main as relflow_gen

    examples = Path(__file__).resolve().parent.parent / "examples"
    assert relflow_gen(["build", str(examples / "lab" / "lab.rf"), "--out", str(tmp_path), "--no-svg"]) == 0
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(examples / "lab"), env.get("PYTHONPATH", "")])

    def run(*args: str) -> str:
        proc = subprocess.run([sys.executable, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout

    run(str(examples / "lab" / "enter_data.py"), db_url)
    cli = ["-m", "lab_pipeline", "--db", db_url, "--makers", "lab_makers"]
    plan = {t["table"]: t for t in json.loads(run(*cli, "plan", "--json"))["tables"]}
    assert plan["lab.Recording"]["ready"] == 4 and plan["lab.Recording"]["exact"]
    run(*cli, "populate")
    status = run(*cli, "status")
    done = {line.split()[0]: int(line.split()[2]) for line in status.splitlines() if line.startswith("lab.")}
    for name, t in plan.items():
        expected = t["done"] + t["ready"] + t["future"]
        if t["exact"]:
            assert done[name] == expected, (name, t, done[name])
        else:  # keys made by make() upstream (parts, custom key sources) cannot all be foreseen
            assert done[name] >= expected, (name, t, done[name])
    assert any(t["exact"] and t["future"] > 0 for t in plan.values())


PARTS = """
schema sp

manual Sample {
    sample_id: int32
    ---
    size: int32
}

computed Split {
    -> Sample
    ---
    n: int32
    part Piece {
        piece_id: int32
        ---
        weight: float64
    }
}
"""


class MakeSplit(Maker[Any, Any]):
    __table__ = "sp.Split"
    __parts__ = (("Piece", "sp.Split.Piece"),)

    def make(self, key: Any) -> None:
        size = (self.db.Sample & key).fetch1()["size"]
        self.insert1({**key, "n": size})
        self.Piece.insert([{**key, "piece_id": i, "weight": 1.0 / size} for i in range(size)])


def test_refresh_of_everything_takes_parts_with_their_masters(db_url: str) -> None:
    db: Any = pipeline_from(PARTS, db_url)
    db.register(MakeSplit)
    db.table("Sample").insert([{"sample_id": 1, "size": 2}, {"sample_id": 2, "size": 3}])
    db.populate_all()
    db.table("Sample").update1({"sample_id": 2, "size": 4})
    found = db.outdated()
    assert found["sp.Split"].counts() == {"code": 0, "inputs": 1}
    assert found["sp.Split.Piece"].counts() == {"master": 3}
    plan, _ = db.refresh(dry_run=True)
    assert plan.counts == {"sp.Split": 1, "sp.Split.Piece": 3} and list(plan.keys) == ["sp.Split"]
    plan, report = db.refresh()
    assert report is not None and report.made == 1
    assert len(db.table("Split").Piece) == 6 and not db.outdated()["sp.Split"].keys
