"""docs/runtime.md stays true: its ```python blocks run, in order, against a fresh SQLite database.

The blocks share one namespace and run in an empty working directory (the first block
compiles the example schema and connects to ``sqlite:///lab.db``).  What they print is
captured; their ``assert`` statements are the checks.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import pytest
from doc_blocks import python_blocks, run_block

DOC = Path(__file__).resolve().parents[1] / "docs" / "runtime.md"



def test_doc_has_examples() -> None:
    blocks = python_blocks(DOC.read_text())
    assert len(blocks) >= 15
    # the errors the page shows are asserted (see doc_blocks.py), not caught and ignored
    assert len([b for b in blocks if b.raises]) >= 9


def test_doc_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("RELFLOW_DB_USER", "RELFLOW_DB_PASSWORD", "RELFLOW_DB_HOST", "RELFLOW_DB_PORT"):
        monkeypatch.delenv(name, raising=False)
    namespace: dict[str, Any] = {"__name__": "docs_runtime"}
    out = io.StringIO()
    for block in python_blocks(DOC.read_text()):
        with contextlib.redirect_stdout(out):
            run_block(block, namespace, DOC)
    printed = out.getvalue()
    # the outputs the page shows in comments
    assert "<LabPipeline lab on sqlite:///lab.db>" in printed
    assert "*subject_id  species  sex  date_of_birth" in printed


def test_commented_preview_matches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The preview shown in the page is the one the runtime prints."""
    monkeypatch.chdir(tmp_path)
    text = DOC.read_text()
    blocks = python_blocks(text)
    namespace: dict[str, Any] = {"__name__": "docs_runtime"}
    out = io.StringIO()
    for block in blocks:
        code = block.code
        if code.startswith("print(db.Subject)"):
            with contextlib.redirect_stdout(out):
                exec(code, namespace)  # noqa: S102
            break
        with contextlib.redirect_stdout(io.StringIO()):
            run_block(block, namespace, DOC)
    namespace["db"].close()
    block = text[text.index("print(db.Subject)\n") :].splitlines()[1:8]
    shown = [line[2:].rstrip() for line in block]
    assert shown == [line.rstrip() for line in out.getvalue().splitlines()]
