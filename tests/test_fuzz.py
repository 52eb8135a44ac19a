"""Fuzzing the front end: no input, however broken, may produce a traceback.

Randomly mutated `.rf` files (from seeds that cover the whole grammar) go
through :func:`compile_file` and through the ``relflow-gen check`` command
line; every run must return a Compilation (CLI: exit code 0 or 1).  The
random seed is fixed, so a failure is reproducible: the assertion message
names the case number and the failing input is written to the test's temporary
directory.

``RELFLOW_FUZZ_CASES`` sets the number of cases (default 3000, about ten
seconds; run 20000 or more before touching the grammar or the front end);
``RELFLOW_FUZZ_SEED`` changes the random seed.

`check` must accept only what `build` can emit: every mutant the front end
accepts is also emitted, each generated module compiled, ``schema.json``
parsed, the package imported, and every 25th diagram drawn with Graphviz.
``RELFLOW_FUZZ_BUILD_CASES`` sets the number of mutants for that test (default
300, of which about 25 are accepted; run 10000 before touching the front end
or the emitter).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import random
import re
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from relflow_gen.cli.main import main
from relflow_gen.compiler.frontend import Compilation, compile_file
from relflow_gen.compiler.ir import Project
from relflow_gen.emit.package import EmitOptions, emit, header_text
from relflow_gen.runtime.diagram import render_svg

CASES = int(os.environ.get("RELFLOW_FUZZ_CASES", "3000"))
SEED = int(os.environ.get("RELFLOW_FUZZ_SEED", "20240611"))
CLI_EVERY = 10  # every n-th case also runs through the command line

COMMON = """\
schema common "Shared tables"

manual Person {
    person_id: uint16
    ---
    full_name: varchar(64)
    email = null: varchar(128)
    unique index(email)
}
"""

SEEDS: list[str] = [
    """\
# lab.rf: every construct of the language
schema lab "Neuroscience recording pipeline"
import "common.rf"

lookup Species "Species used in experiments" {
    species: varchar(32)              # standard species code
    ---
    common_name: varchar(64)
    weight = 1.5: float64
    contents {
        ("mouse", "House mouse")
        ("rat",   "Norway rat", 2.5,)
        (species="fly", common_name='Fruit fly')
    }
}

manual Subject {
    subject_id: varchar(16)
    ---
    -> Species
    -> [nullable] common.Person.proj(owner_id="person_id")
    sex = "U": enum("M", "F",
                    "U")
    date_of_birth = null: date
    created = CURRENT_TIMESTAMP: timestamp
    weight_g = null: decimal(6, 2)
    alive = true: bool
    tag = null: uuid
    index(sex, date_of_birth)
}

manual Session {
    -> Subject
    session_id: int32
    ---
    session_date: date
    start_time = "10:00:00": time(3)
    note = "": varchar(255)
    part Trial "one trial" {            # `-> master` is implied first in the key
        trial_id: smallint unsigned
        ---
        outcome: enum("success", "failure")
        t = 0.25: double
    }
    part Stimulus {
        -> master
        -> Session.Trial
        stim_id: int(11)
        ---
        level = -3: int8
    }
}

imported Recording {
    -> Session
    ---
    sampling_rate: float64            # Hz
    samples: longblob                 # numpy array
    meta = null: json
    raw = null: bytes
}

lookup FilterParams {
    filter_id: int
    ---
    low = 0.1: float
    high = 300: float
    contents {
        (1, 0.1, 300)
        (filter_id=2, low=1e-3, high=.5e3)
    }
}

computed FilteredRecording {
    -> Recording
    -> FilterParams
    ---
    filtered: blob
    -> [unique] FilterParams.proj(alt_filter_id="filter_id")
    part Channel {
        channel: uint8
        ---
        trace: blob
    }
}
""",
    """\
schema brain
lookup BrainRegion "hierarchy of regions" {
    region_id: varchar(16)
    ---
    region_name: varchar(64)
    -> [nullable] BrainRegion.proj(parent_id="region_id")
    contents {
        ("root", "Whole brain", null)
        ("ctx", "Cortex", "root")
    }
}
manual Probe {
    probe: char(8)
    ---
    -> [nullable, unique] BrainRegion
    depth = 0: decimal(8,3)
    inserted = "2024-01-02 03:04:05.5": datetime(1)
}
""",
    """\
schema broken_on_purpose
manual A { a: int
---
-> B
}
manual B {
    -> A
    x = "no": int
}
computed C {
    c: int
    contents { (1) }
    index(nope)
}
part D {
    -> master
}
""",
]

VOCAB: list[str] = (
    "schema import lookup manual imported computed part contents index unique proj master "
    "nullable null true false CURRENT_TIMESTAMP int uint8 int64 float64 decimal varchar char enum "
    "date time datetime timestamp uuid json bytes blob longblob unsigned double "
    "-> --- - -- = : , . ( ) { } [ ] # \" ' \\ \n \n\n \t 0 1 -1 1e999 .5 1. +7 "
    "Session Trial Subject session_id x _ __ order select None class True"
).split(" ") + ["\n", "\r\n", "\r", " ", "\u00e9", "\u2028", "\x0c", "\x00", "\ufeff", "\U0001f600", "\x85"]

IDENTS = [
    "a",
    "Session",
    "select",
    "order",
    "None",
    "class",
    "x" * 70,
    "X" * 70,
    "é",
    "日本",
    "_",
    "__init__",
    "master",
    "proj",
    "Subject",
    "session_id",
    "Trial",
    "A1",
    "aB",
    "lab",
    "common",
]


def _lines(text: str) -> list[str]:
    return text.split("\n")


def _delete_line(rng: random.Random, text: str) -> str:
    lines = _lines(text)
    del lines[rng.randrange(len(lines))]
    return "\n".join(lines)


def _duplicate_line(rng: random.Random, text: str) -> str:
    lines = _lines(text)
    i = rng.randrange(len(lines))
    lines.insert(rng.randrange(len(lines) + 1), lines[i])
    return "\n".join(lines)


def _swap_lines(rng: random.Random, text: str) -> str:
    lines = _lines(text)
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    lines[i], lines[j] = lines[j], lines[i]
    return "\n".join(lines)


def _insert_token(rng: random.Random, text: str) -> str:
    pos = rng.randrange(len(text) + 1)
    token = rng.choice(VOCAB)
    sep = rng.choice(["", " "])
    return text[:pos] + sep + token + sep + text[pos:]


def _delete_span(rng: random.Random, text: str) -> str:
    if not text:
        return text
    pos = rng.randrange(len(text))
    return text[:pos] + text[pos + rng.randint(1, 12) :]


def _truncate(rng: random.Random, text: str) -> str:
    return text[: rng.randrange(len(text) + 1)]


def _change_identifier(rng: random.Random, text: str) -> str:
    words = [w for w in set(text.replace("(", " ").replace(")", " ").split()) if w.isidentifier()]
    if not words:
        return text
    old = rng.choice(sorted(words))
    new = rng.choice(IDENTS + [old.upper(), old.lower(), old + "2", old[:-1] or "q"])
    return re.sub(rf"\b{re.escape(old)}\b", new, text, count=0 if rng.random() < 0.5 else 1)


def _unbalance(rng: random.Random, text: str) -> str:
    pos = rng.randrange(len(text) + 1)
    return text[:pos] + rng.choice("{}()[]\"'") + text[pos:]


def _unicode(rng: random.Random, text: str) -> str:
    pos = rng.randrange(len(text) + 1)
    ch = chr(rng.choice([rng.randint(0x80, 0x2FFF), rng.randint(0x1F300, 0x1F6FF), rng.randint(0, 0x1F)]))
    return text[:pos] + ch * rng.randint(1, 3) + text[pos:]


def _long_line(rng: random.Random, text: str) -> str:
    pos = rng.randrange(len(text) + 1)
    piece = rng.choice(["a", "9", "x: int ", '"', "(", "#", "-> A"])
    return text[:pos] + piece * rng.randint(500, 5000) + text[pos:]


def _deep_nesting(rng: random.Random, text: str) -> str:
    depth = rng.randint(50, 1500)
    kind = rng.randrange(3)
    if kind == 0:
        block = "manual Deep {\n    d: int\n" + "    part P {\n" * depth + "}\n" * depth + "}\n"
        return text + "\n" + block
    if kind == 1:
        pos = rng.randrange(len(text) + 1)
        return text[:pos] + "(" * depth + "1" + ")" * rng.randint(0, depth) + text[pos:]
    pos = rng.randrange(len(text) + 1)
    return text[:pos] + "{" * depth + text[pos:]


def _number(rng: random.Random, text: str) -> str:
    digits = [str(rng.randint(0, 9)) for _ in range(rng.choice([1, 20, 400, 5000]))]
    number = rng.choice(["", "-", "+"]) + "".join(digits) + rng.choice(["", ".5", "e999", "e-999", "e5"])
    return text.replace("1", number, 1) if "1" in text else text + number


# Mutations that keep the text parseable most of the time, so that lowering,
# resolution and validation see strange but well-formed schemas.

LITERALS = [
    "null",
    "true",
    "false",
    "0",
    "1",
    "-1",
    "300",
    "-129",
    "1e999",
    "1.5",
    ".25",
    "123.456",
    "9" * 30,
    '"x"',
    '""',
    '"mouse"',
    '"2024-02-30"',
    '"2024-01-02"',
    '"10:00:00"',
    '"1969-12-31 23:59:59"',
    '"123e4567-e89b-12d3-a456-426614174000"',
    '"{\\"a\\": 1}"',
    "'single'",
    "CURRENT_TIMESTAMP",
]
TYPES = [
    "int",
    "int8",
    "uint8",
    "int64",
    "uint64",
    "float32",
    "float64",
    "bool",
    "decimal(5,2)",
    "decimal(65,30)",
    "decimal(1)",
    "char(1)",
    "varchar(3)",
    "varchar(65535)",
    "text",
    'enum("a", "b")',
    'enum("x")',
    "date",
    "time",
    "time(0)",
    "datetime(6)",
    "timestamp",
    "uuid",
    "json",
    "bytes",
    "blob",
    "longblob",
    "int unsigned",
    "double",
    "binary(16)",
    "varchar",
    "decimal(5,9)",
    "enum()",
    "int(11)",
    "intt",
    "char(999)",
    "time(9)",
]
REFERENCES = [
    "Species",
    "Subject",
    "Session",
    "Session.Trial",
    "Recording",
    "FilterParams",
    "master",
    "common.Person",
    "BrainRegion",
    "Probe",
    "Nope",
    "lab.Subject",
    "A",
    "B",
    "C",
    "D",
]
BODY_LINES = [
    "x: int",
    "extra = null: blob",
    "---",
    "-> Subject",
    "-> [nullable] Species",
    "-> [unique] Session",
    '-> Subject.proj(other_id="subject_id")',
    '-> Session.proj(a="nope")',
    "index(x)",
    "unique index(x, x)",
    "contents { (1) }",
    'contents {\n("a", "b", 3)\n(x=1)\n}',
    "part Inner {\n y: int\n}",
    "-> master",
]
TIERS = ["lookup", "manual", "imported", "computed", "part"]
# strings that are hard to carry into generated Python, SQL, JSON and Graphviz
STRINGS = [
    '"d\\ud800oc"',
    '"a\\x00b"',
    '"a\x00b"',
    '"ws "',
    '" "',
    '""',
    '"A"',
    '"a"',
    '"a\\nb"',
    '"\\""',
    '"\\"\\"\\""',
    "'\"\"\"'",
    "'\\'\\'\\''",
    '"\\\\"',
    '"ends with \\\\"',
    '"\\r"',
    '"tab\\t"',
    '"\\u2028"',
    '"\\x85"',
    '"\\x0c"',
    '"\\x1b[31m"',
    '"\U0001f600"',
    '"{{ m }}"',
    '"{% raw %}"',
    '"</svg><b>&amp;"',
    '"-- */ /*"',
    '"%s %(x)s"',
    '"\\\\N"',
    '"\u00e9\u0301"',
    '"' + "x" * 300 + '"',
]


def _replace_value(rng: random.Random, text: str) -> str:
    """Swap a literal after `=` or inside a contents row for another literal."""
    spots = [i for i, ch in enumerate(text) if ch in "=(," and i + 1 < len(text)]
    if not spots:
        return text
    pos = rng.choice(spots) + 1
    end = pos
    while end < len(text) and text[end] not in ",):\n":
        end += 1
    return text[:pos] + " " + rng.choice(LITERALS) + text[end:]


def _replace_type(rng: random.Random, text: str) -> str:
    lines = _lines(text)
    spots = [i for i, line in enumerate(lines) if ":" in line and "->" not in line]
    if not spots:
        return text
    i = rng.choice(spots)
    head, _, _ = lines[i].partition(":")
    lines[i] = head + ": " + rng.choice(TYPES)
    return "\n".join(lines)


def _replace_reference(rng: random.Random, text: str) -> str:
    lines = _lines(text)
    spots = [i for i, line in enumerate(lines) if "->" in line]
    if not spots:
        return text
    i = rng.choice(spots)
    head, _, _ = lines[i].partition("->")
    options = rng.choice(["", "", "[nullable] ", "[unique] ", "[nullable, unique] ", "[bogus] "])
    rename = rng.choice(["", "", '.proj(renamed="subject_id")', '.proj(a="b", c="d")'])
    lines[i] = head + "-> " + options + rng.choice(REFERENCES) + rename
    return "\n".join(lines)


def _insert_body_line(rng: random.Random, text: str) -> str:
    lines = _lines(text)
    spots = [i for i, line in enumerate(lines) if line.rstrip().endswith("{") or line.strip() == "---"]
    if not spots:
        return text
    i = rng.choice(spots) + 1
    lines.insert(i, "    " + rng.choice(BODY_LINES))
    return "\n".join(lines)


def _replace_string(rng: random.Random, text: str) -> str:
    """Swap a string literal (a doc, an enum value, a default, a cell) for an awkward one."""
    spots = [m.span() for m in re.finditer(r'"(\\.|[^"\\\n])*"', text)]
    if not spots:
        return text
    start, end = rng.choice(spots)
    return text[:start] + rng.choice(STRINGS) + text[end:]


def _add_doc(rng: random.Random, text: str) -> str:
    """Give a table or the schema a doc string (or replace the one it has)."""
    lines = _lines(text)
    spots = [i for i, line in enumerate(lines) if line.rstrip().endswith("{") or line.startswith("schema ")]
    if not spots:
        return text
    i = rng.choice(spots)
    doc = rng.choice(STRINGS)
    line = re.sub(r'\s*"(\\.|[^"\\\n])*"', "", lines[i])
    if line.rstrip().endswith("{"):
        lines[i] = line.rstrip()[:-1].rstrip() + " " + doc + " {"
    else:
        lines[i] = line.rstrip() + " " + doc
    return "\n".join(lines)


def _change_tier(rng: random.Random, text: str) -> str:
    lines = _lines(text)
    spots = [
        i for i, line in enumerate(lines) if line.split(" ", 1)[0].strip() in TIERS or line.strip().startswith("part ")
    ]
    if not spots:
        return text
    i = rng.choice(spots)
    indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
    rest = lines[i].lstrip().split(" ", 1)
    lines[i] = indent + rng.choice(TIERS) + (" " + rest[1] if len(rest) > 1 else "")
    return "\n".join(lines)


BREAKING: list[Callable[[random.Random, str], str]] = [
    _duplicate_line,
    _swap_lines,
    _insert_token,
    _delete_span,
    _truncate,
    _unbalance,
    _unicode,
    _long_line,
    _deep_nesting,
    _number,
]
WELL_FORMED: list[Callable[[random.Random, str], str]] = [
    _delete_line,
    _change_identifier,
    _replace_value,
    _replace_type,
    _replace_reference,
    _insert_body_line,
    _change_tier,
    _replace_string,
    _add_doc,
]


def mutate(rng: random.Random, text: str) -> str:
    """A few mutations; most keep the text parseable, some break it."""
    for _ in range(rng.choice([1, 1, 2, 2, 3, 5, 8])):
        pool = BREAKING if rng.random() < 0.15 else WELL_FORMED
        text = rng.choice(pool)(rng, text)
    return text


def cases(n: int, seed: int) -> list[tuple[str, str]]:
    """``n`` (root, imported common.rf) sources, reproducible from ``seed``."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        root = mutate(rng, rng.choice(SEEDS))
        common = mutate(rng, COMMON) if rng.random() < 0.2 else COMMON
        out.append((root, common))
    return out


def _compile(root: str, common: str) -> Compilation:
    files = {"input.rf": root, "common.rf": common}
    return compile_file("input.rf", files.get)


def _run_cli(tmp: Path, root: str, common: str, json: bool = False) -> int:
    (tmp / "input.rf").write_bytes(root.encode("utf-8", "surrogatepass"))
    (tmp / "common.rf").write_bytes(common.encode("utf-8", "surrogatepass"))
    sink = io.StringIO()
    args = ["check", str(tmp / "input.rf")] + (["--error-format", "json"] if json else [])
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        return main(args)


def test_seeds_compile() -> None:
    """The seeds themselves: the first two are valid, the third has errors but no crash."""
    for text in SEEDS[:2]:
        comp = _compile(text, COMMON)
        assert comp.ok, [d.message for d in comp.diagnostics]
    assert not _compile(SEEDS[2], COMMON).ok


def test_fuzz_front_end(tmp_path: Path) -> None:
    started = time.monotonic()
    for i, (root, common) in enumerate(cases(CASES, SEED)):
        try:
            comp = _compile(root, common)
        except Exception as exc:  # noqa: BLE001 - any exception is the failure we look for
            (tmp_path / f"crash_{i}.rf").write_bytes(root.encode("utf-8", "surrogatepass"))
            raise AssertionError(f"case {i} (seed {SEED}) raised {exc!r}; input in {tmp_path}") from exc
        assert isinstance(comp, Compilation)
        if not comp.ok:
            assert comp.diagnostics, f"case {i}: failed without a diagnostic"
        if i % CLI_EVERY == 0:
            code = _run_cli(tmp_path, root, common, json=i % (2 * CLI_EVERY) == 0)
            assert code in (0, 1), f"case {i} (seed {SEED}): exit code {code}; input in {tmp_path / 'input.rf'}"
    elapsed = time.monotonic() - started
    print(f"fuzz: {CASES} cases in {elapsed:.1f}s")


@pytest.mark.parametrize("data", [b"\xff\xfe\x00", b"schema a\n\x00\x00", b"", b"\xef\xbb\xbfschema a\n"])
def test_cli_odd_bytes(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "odd.rf"
    path.write_bytes(data)
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        assert main(["check", str(path)]) in (0, 1)


@pytest.mark.parametrize("target", ["/dev/zero", ".", "missing.rf", ""])
def test_imports_of_odd_paths(tmp_path: Path, target: str) -> None:
    """Devices, directories and missing files are unreadable imports, not hangs or crashes."""
    root = tmp_path / "input.rf"
    root.write_text(f'schema lab\nimport "{target}"\n', encoding="utf-8")
    comp = compile_file(str(root))
    assert [d.code for d in comp.diagnostics] == ["E0003"]


# ------------------------------------------------------------------ build what check accepts

BUILD_CASES = int(os.environ.get("RELFLOW_FUZZ_BUILD_CASES", "300"))
SVG_EVERY = 25  # every n-th accepted mutant also draws diagram.svg (Graphviz is a process per call)


@dataclass
class BuildTally:
    mutants: int = 0
    accepted: int = 0
    built: int = 0
    imported: int = 0
    drawn: int = 0


def build_and_import(tmp: Path, i: int, project: Project, tally: BuildTally) -> None:
    """Emit the package of an accepted mutant, compile every module, import it (and sometimes draw it)."""
    package = f"fuzz{i}_pipeline"
    files = emit(project, EmitOptions(package=package, source="input.rf"))
    tally.built += 1
    folder = tmp / package
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if name.endswith(".py"):
            compile(text, str(path), "exec")
    json.loads(files["schema.json"])
    if tally.accepted % SVG_EVERY == 1 and shutil.which("dot"):
        render_svg(files["diagram.dot"], header_text("input.rf"))
        tally.drawn += 1
    sys.path.insert(0, str(tmp))
    try:
        importlib.import_module(package)
        tables = importlib.import_module(f"{package}.tables")
        assert tables.SCHEMA.name == project.root
    finally:
        sys.path.remove(str(tmp))
        for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[name]
        shutil.rmtree(folder)
    tally.imported += 1


def test_fuzz_build_what_check_accepts(tmp_path: Path) -> None:
    """Every mutant `check` accepts builds, its modules compile and its package imports."""
    started = time.monotonic()
    tally = BuildTally()
    for i, (root, common) in enumerate(cases(BUILD_CASES, SEED + 1)):
        tally.mutants += 1
        comp = _compile(root, common)
        if not comp.ok or comp.project is None:
            continue
        tally.accepted += 1
        try:
            build_and_import(tmp_path, i, comp.project, tally)
        except Exception as exc:  # noqa: BLE001 - any exception is the failure we look for
            (tmp_path / f"build_{i}.rf").write_bytes(root.encode("utf-8", "surrogatepass"))
            (tmp_path / f"build_{i}_common.rf").write_bytes(common.encode("utf-8", "surrogatepass"))
            problem = f"{type(exc).__name__}: {str(exc)[:300]}"
            raise AssertionError(f"case {i} (seed {SEED + 1}) passed check but did not build: {problem}") from exc
    elapsed = time.monotonic() - started
    print(
        f"fuzz build: {tally.mutants} mutants, {tally.accepted} accepted by check, {tally.built} built, "
        f"{tally.imported} imported, {tally.drawn} drawn, in {elapsed:.1f}s"
    )
    assert tally.accepted == tally.built == tally.imported
    assert tally.accepted >= BUILD_CASES // 40  # the mutants still reach the emitter
