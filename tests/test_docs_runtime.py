"""docs/runtime.md stays true: its ```python blocks run, in order, against a fresh SQLite database.

The blocks share one namespace and run in an empty working directory (the first block
compiles the example schema and connects to ``sqlite:///lab.db``).  What they print is
captured; their ``assert`` statements are the checks.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "runtime.md"


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(line number of the first code line, code) of every ```python block."""
    return [
        (text[: m.start()].count("\n") + 2, m.group(1))
        for m in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M)
    ]


def test_doc_has_examples() -> None:
    assert len(python_blocks(DOC.read_text())) >= 15


def test_doc_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("RELFLOW_DB_USER", "RELFLOW_DB_PASSWORD", "RELFLOW_DB_HOST", "RELFLOW_DB_PORT"):
        monkeypatch.delenv(name, raising=False)
    namespace: dict[str, Any] = {"__name__": "docs_runtime"}
    out = io.StringIO()
    for line, code in python_blocks(DOC.read_text()):
        compiled = compile("\n" * (line - 1) + code, str(DOC), "exec")
        with contextlib.redirect_stdout(out):
            exec(compiled, namespace)  # noqa: S102 - the documentation's own examples
    printed = out.getvalue()
    # the outputs the page shows in comments
    assert "<LabPipeline lab on sqlite:///lab.db>" in printed
    assert "lab.Subject, row 1, attribute `sex`: 'X' (str): is not one of 'M', 'F', 'U'" in printed
    assert "missing column `date_of_birth` (text)" in printed
    assert "column `nickname` exists in the database but not in the schema" in printed
    assert "fetch1() expects exactly one row, found more than one" in printed
    assert "*subject_id  species  sex  date_of_birth" in printed


def test_commented_preview_matches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The preview shown in the page is the one the runtime prints."""
    monkeypatch.chdir(tmp_path)
    text = DOC.read_text()
    blocks = python_blocks(text)
    namespace: dict[str, Any] = {"__name__": "docs_runtime"}
    out = io.StringIO()
    for _, code in blocks:
        if code.startswith("print(db.Subject)"):
            with contextlib.redirect_stdout(out):
                exec(code, namespace)  # noqa: S102
            break
        with contextlib.redirect_stdout(io.StringIO()):
            exec(code, namespace)  # noqa: S102
    namespace["db"].close()
    block = text[text.index("print(db.Subject)\n") :].splitlines()[1:8]
    shown = [line[2:].rstrip() for line in block]
    assert shown == [line.rstrip() for line in out.getvalue().splitlines()]
