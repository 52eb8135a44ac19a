"""Golden diagnostics: every case folder under tests/diagnostics/ is compiled and
its human rendering compared with ``expected.txt``.

A case folder holds ``input.rf`` (the root; other ``.rf`` files it imports may
sit beside it) and ``expected.txt``.  Folder names start with the code of the
first diagnostic the case must produce (``E0104_fk_lineage_clash``) or with
``ok`` for a case that must produce none, so a case cannot silently drift to
another error.  ``pytest --update-golden`` rewrites ``expected.txt``; review the
diff before committing it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from relflow_gen.compiler.diagnostics import CODES, render_all
from relflow_gen.compiler.frontend import Compilation, Reader, compile_file, read_file

CASES_DIR = Path(__file__).parent / "diagnostics"
CASES = sorted(p for p in CASES_DIR.iterdir() if p.is_dir() and (p / "input.rf").exists())


def _reader(case: Path) -> Reader:
    def read(path: str) -> str | None:
        return read_file(str(case / path))

    return read


def compile_case(case: Path) -> Compilation:
    """Compile a case with paths relative to its folder (diagnostics show ``input.rf``)."""
    return compile_file("input.rf", _reader(case))


def _prefix(case: Path) -> str:
    return case.name.split("_", 1)[0]


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_golden(case: Path, update_golden: bool) -> None:
    comp = compile_case(case)
    rendered = render_all(comp.diagnostics, comp.sources) + "\n"
    expected = case / "expected.txt"
    if update_golden:
        expected.write_text(rendered, encoding="utf-8")
    assert expected.exists(), f"{expected} is missing; run pytest --update-golden and review it"
    assert rendered == expected.read_text(encoding="utf-8")

    prefix = _prefix(case)
    if prefix == "ok":
        assert comp.diagnostics == [], "an `ok_` case must produce no diagnostics"
        assert comp.ok
    else:
        assert prefix in CODES, f"folder {case.name} does not start with a known code"
        assert comp.diagnostics, f"{case.name} produced no diagnostics"
        assert (
            comp.diagnostics[0].code == prefix
        ), f"{case.name}: first diagnostic is {comp.diagnostics[0].code}, not {prefix}"


def test_every_code_has_a_case() -> None:
    covered = {_prefix(case) for case in CASES}
    missing = sorted(set(CODES) - covered)
    assert not missing, f"codes without a golden case in tests/diagnostics/: {missing}"


def test_many_errors_are_all_reported() -> None:
    case = next(c for c in CASES if "many_errors" in c.name)
    codes = {d.code for d in compile_case(case).diagnostics}
    assert len(codes) >= 6, codes
