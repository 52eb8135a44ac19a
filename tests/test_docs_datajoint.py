"""docs/datajoint.md stays true: its ```python blocks run, in order, on the university data.

The blocks share one namespace holding ``db``, the university pipeline on a
SQLite file loaded with the CSVs of the data set.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

from university_data import loaded_pipeline

DOC = Path(__file__).resolve().parents[1] / "docs" / "datajoint.md"


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(line number, code) of every ```python block."""
    out = []
    for m in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M):
        out.append((text[: m.start()].count("\n") + 2, m.group(1)))
    return out


def test_doc_has_examples() -> None:
    assert len(python_blocks(DOC.read_text())) >= 8


def test_doc_examples_run(tmp_path: Path) -> None:
    db = loaded_pipeline(f"sqlite:///{tmp_path / 'university.db'}")
    namespace: dict[str, Any] = {"db": db, "__name__": "docs_datajoint"}
    try:
        for line, code in python_blocks(DOC.read_text()):
            compiled = compile("\n" * (line - 1) + code, str(DOC), "exec")
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compiled, namespace)  # noqa: S102 - the documentation's own examples
    finally:
        db.close()
