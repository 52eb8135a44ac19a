"""Each diagnostic code is reported by exactly one compiler stage, and docs/diagnostics.md says which."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from relflow_gen.compiler.diagnostics import CODES, STAGES

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "relflow_gen"
DOCS = ROOT / "docs" / "diagnostics.md"

#: module -> the stage whose diagnostics it creates
STAGE_OF_MODULE = {
    "compiler/frontend.py": "read",
    "compiler/parse.py": "parse",
    "fmt/formatter.py": "parse",  # the formatter re-reports the parser's own limit
    "compiler/lower.py": "lower",
    "core/types.py": "lower",  # TypeProblem carries the code; lower() is the one that reports it
    "compiler/resolve.py": "resolve",
    "compiler/validate.py": "validate",
    "compiler/make_options.py": "validate",  # validate() calls its check()
}
CODE = re.compile(r"^[EW]\d{4}$")


def _codes_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str) and CODE.match(n.value)}


def test_every_code_has_one_stage() -> None:
    assert set(STAGES) == set(CODES)
    assert set(STAGES.values()) == {"read", "parse", "lower", "resolve", "validate"}


def test_each_code_is_reported_by_its_stage_only() -> None:
    found: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel == "compiler/diagnostics.py":
            continue
        codes = _codes_in(path)
        if not codes:
            continue
        assert rel in STAGE_OF_MODULE, f"{rel} creates diagnostics {sorted(codes)} but is no compiler stage"
        for code in codes:
            found.setdefault(code, set()).add(STAGE_OF_MODULE[rel])
    wrong = {code: sorted(stages) for code, stages in found.items() if stages != {STAGES.get(code)}}
    assert wrong == {}, "codes reported by another stage than STAGES says (or by several)"
    assert set(found) == set(CODES), f"codes nobody reports: {sorted(set(CODES) - set(found))}"


def test_docs_name_the_stage_of_each_code() -> None:
    rows = re.findall(r"^\| ([EW]\d{4}) \| (\w+) \| (.*) \|$", DOCS.read_text(encoding="utf-8"), re.M)
    assert [(code, stage, meaning) for code, stage, meaning in rows] == [
        (code, STAGES[code], CODES[code]) for code in sorted(CODES, key=lambda c: (c[0] == "W", c))
    ]
