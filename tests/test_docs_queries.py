"""docs/queries.md stays true: its ```python blocks run, in order, on the university data.

The blocks share one namespace holding ``db``, the university pipeline on a
SQLite file loaded with the CSVs of the data set.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

from doc_blocks import python_blocks, run_block
from university_data import loaded_pipeline

DOC = Path(__file__).resolve().parents[1] / "docs" / "queries.md"



def test_doc_has_examples() -> None:
    blocks = python_blocks(DOC.read_text())
    assert len(blocks) >= 10
    assert [b.raises for b in blocks if b.raises] == ["QueryError", "QueryError"]


def test_doc_examples_run(tmp_path: Path) -> None:
    db = loaded_pipeline(f"sqlite:///{tmp_path / 'university.db'}")
    namespace: dict[str, Any] = {"db": db, "__name__": "docs_queries"}
    try:
        for block in python_blocks(DOC.read_text()):
            with contextlib.redirect_stdout(io.StringIO()):
                run_block(block, namespace, DOC)
    finally:
        db.close()
