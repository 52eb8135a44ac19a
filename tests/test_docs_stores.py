"""docs/stores.md stays true: its ```python example runs against a fresh SQLite database and a
file-system store, prints what the page shows, and its ```rf schema compiles."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

import pytest

from relflow_gen.compiler.frontend import compile_text
from relflow_gen.compiler.metadata import schema_meta
from relflow_gen.runtime.stores.config import configs_from_pyproject

DOC = Path(__file__).resolve().parents[1] / "docs" / "stores.md"


def _blocks(language: str) -> list[tuple[int, str]]:
    text = DOC.read_text()
    return [
        (text[: m.start()].count("\n") + 2, m.group(1))
        for m in re.finditer(rf"^```{language}\n(.*?)^```", text, re.S | re.M)
    ]


def test_schema_compiles() -> None:
    ((_, rf),) = _blocks("rf")
    comp = compile_text(rf, "imaging.rf")
    assert comp.ok, [d.message for d in comp.diagnostics]
    stores = {a.type.store for t in schema_meta(comp.project).tables for a in t.external}  # type: ignore[arg-type]
    assert stores == {"raw"}


def test_toml_configuration_parses(tmp_path: Path) -> None:
    ((_, toml),) = _blocks("toml")
    (tmp_path / "pyproject.toml").write_text(toml)
    configs = {c.name: c for c in configs_from_pyproject(tmp_path / "pyproject.toml")}
    assert configs["raw"].url == "file:///data/raw"
    assert configs["archive"].options == {"endpoint_url": "https://s3.example.org"}


def test_example_runs_and_prints_what_the_page_shows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    ((line, code),) = _blocks("python")
    namespace: dict[str, Any] = {"__name__": "docs_stores"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile("\n" * (line - 1) + code, str(DOC), "exec"), namespace)  # noqa: S102 - the page's example
    text = DOC.read_text()
    shown = text[text.index("prints\n\n```\n") + len("prints\n\n```\n") :].split("```", 1)[0]
    assert out.getvalue() == shown
