"""docs/staleness.md stays true: its ```python blocks run, in order, against a fresh SQLite database,
and what they print matches the outputs the page shows in comments."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "staleness.md"


def python_blocks(text: str) -> list[tuple[int, str]]:
    return [
        (text[: m.start()].count("\n") + 2, m.group(1))
        for m in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M)
    ]


def test_doc_examples_run_and_print_what_they_show(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "docs_staleness"}
    blocks = python_blocks(DOC.read_text())
    assert len(blocks) >= 6
    for line, code in blocks:
        out = io.StringIO()
        compiled = compile("\n" * (line - 1) + code, str(DOC), "exec")
        with contextlib.redirect_stdout(out):
            exec(compiled, namespace)  # noqa: S102 - the documentation's own examples
        # every `print(...)  # shown` and every `# shown` line right after a print is what it printed
        shown = []
        lines = code.splitlines()
        for i, text in enumerate(lines):
            if text.startswith("print(") and "  # " in text:
                shown.append(text.split("  # ", 1)[1])
            elif text.startswith("print(") and i + 1 < len(lines) and lines[i + 1].startswith("# "):
                shown.append(lines[i + 1][2:])
        assert out.getvalue().splitlines() == shown, f"block at line {line}"
