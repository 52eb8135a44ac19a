"""mypy understands the generated research-lab package completely.

The files in ``tests/typing/`` are make() implementations and table uses
written against the package generated from ``examples/lab/lab.rf``.  Files
whose name starts with ``good_`` must pass ``mypy --strict``; in the others,
every line that must fail carries ``# E: <code> [<code> ...]`` and mypy must
report exactly those codes on exactly those lines (and nothing else).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from golden.cases import CASES, REPO, generated, run_mypy, write_tree

TYPING = REPO / "tests" / "typing"
FILES = sorted(p.name for p in TYPING.glob("*.py"))
MARKER = re.compile(r"#\s*E:\s*([\w\- ]+)$")
ERROR = re.compile(r"^(?P<file>[^:]+\.py):(?P<line>\d+): error: .*\[(?P<code>[\w-]+)\]$")

Found = dict[str, set[tuple[int, str]]]


def expected_errors(path: Path) -> set[tuple[int, str]]:
    out: set[tuple[int, str]] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        m = MARKER.search(line)
        if m:
            out.update((number, code) for code in m.group(1).split())
    return out


@pytest.fixture(scope="module")
def mypy_errors(tmp_path_factory: pytest.TempPathFactory) -> Found:
    lab = next(c for c in CASES if c.name == "examples/lab")
    gen = generated(lab)
    work = tmp_path_factory.mktemp("typing")
    write_tree(work / gen.package, gen.files)
    (work / "cases").mkdir()
    for name in FILES:
        shutil.copy(TYPING / name, work / "cases" / name)
    proc = run_mypy([f"cases/{name}" for name in FILES], work)
    found: Found = defaultdict(set)
    for line in proc.stdout.splitlines():
        m = ERROR.match(line)
        if m:
            found[Path(m["file"]).name].add((int(m["line"]), m["code"]))
        elif ": error:" in line:
            found["<unparsed>"].add((0, line))
    assert not proc.stderr.strip(), proc.stderr
    return found


def test_there_are_good_and_wrong_files() -> None:
    assert any(n.startswith("good_") for n in FILES)
    assert sum(len(expected_errors(TYPING / n)) for n in FILES) >= 10


@pytest.mark.parametrize("name", FILES)
def test_mypy_reports_exactly_the_marked_errors(name: str, mypy_errors: Found) -> None:
    expected = expected_errors(TYPING / name)
    if name.startswith("good_"):
        assert not expected
    assert sorted(mypy_errors.get(name, set())) == sorted(expected)
    assert not mypy_errors.get("<unparsed>"), mypy_errors.get("<unparsed>")


_POPULATE = """
import datetime, json, sys
sys.path.insert(0, sys.argv[1])
import lab_pipeline as lab
import good_makers as gm

db = lab.connect("sqlite:///" + sys.argv[1] + "/lab.db", makers=[gm.MakeRecording, gm.MakeFilteredRecording])
db.SpikeSorting.register(gm.MakeSpikeSorting)
db.register(gm.MakeNeuronStats, gm.MakeTrialResponse)
db.common.Experimenter.insert1({"username": "ada", "full_name": "Ada"})
db.Rig.insert1({"rig": "r1", "room": "101"})
db.Subject.insert1({"subject_id": "m1", "species": "mouse"})
db.Session.insert1({"subject_id": "m1", "session_id": 1, "session_date": datetime.date(2024, 1, 1),
                    "rig": "r1", "experimenter": "ada"})
db.Session.Trial.insert([{"subject_id": "m1", "session_id": 1, "trial_id": t, "start_time": 0.0,
                          "stop_time": 1.0, "outcome": "success"} for t in range(3)])
db.populate_all()
print(json.dumps({t.full_name: len(t) for t in db.tables() if t.meta.is_auto or t.meta.is_part}))
"""


def test_the_good_makers_populate_the_pipeline(tmp_path: Path) -> None:
    """The makers mypy accepts also run: populate fills every imported/computed table and part."""
    lab = next(c for c in CASES if c.name == "examples/lab")
    gen = generated(lab)
    write_tree(tmp_path / gen.package, gen.files)
    shutil.copy(TYPING / "good_makers.py", tmp_path / "good_makers.py")
    proc = subprocess.run(
        [sys.executable, "-c", _POPULATE, str(tmp_path)], capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr
    counts = json.loads(proc.stdout.strip().splitlines()[-1])
    assert all(n > 0 for n in counts.values()), counts
    assert counts["lab.SpikeSorting.Unit"] == 4 * (8 + 4)  # 4 filters x (8 + 4 units of the two sortings)
