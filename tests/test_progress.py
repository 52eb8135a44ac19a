"""populate's progress bar (tqdm): on a terminal or in a notebook only, counts failures, works with workers."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest
from runtime_fixtures import pipeline_from

from relflow_gen.runtime import Maker
from relflow_gen.runtime.pipeline import Pipeline
from relflow_gen.runtime.populate import progress

SCHEMA = """
schema pg

manual Src {
    src_id: int32
}

computed Dst {
    -> Src
    ---
    doubled: int32
}
"""

N_KEYS = 40
FAIL = {3, 7}


class MakeDst(Maker[Any, Any]):
    __table__ = "pg.Dst"

    def make(self, key: Any) -> None:
        if key["src_id"] in FAIL:
            raise ValueError(f"cannot make {key['src_id']}")
        self.insert1({**key, "doubled": 2 * key["src_id"]})


class Terminal:
    """A stand-in for stderr on a terminal (or not)."""

    def __init__(self, tty: bool = True) -> None:
        self.text = ""
        self.tty = tty

    def write(self, s: str) -> int:
        self.text += s
        return len(s)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return self.tty


@pytest.fixture
def pg(db_url: str) -> Iterator[Pipeline]:
    db = pipeline_from(SCHEMA, db_url, makers=[MakeDst])
    db.Src.insert([{"src_id": i} for i in range(N_KEYS)])
    yield db
    db.close()


def test_no_bar_unless_asked_for_on_a_terminal() -> None:
    assert progress.progress_bar("x", 10, True, stream=Terminal(tty=False)) is None
    assert progress.progress_bar("x", 10, False, stream=Terminal()) is None
    assert progress.progress_bar("x", 0, True, stream=Terminal()) is None
    assert progress.progress_bar("x", 10, True, stream=Terminal()) is not None


def test_the_bar_counts_made_and_failed_keys() -> None:
    term = Terminal()
    bar = progress.progress_bar("pg.Dst", 200, True, stream=term)
    assert bar is not None
    bar.update(50, 2)
    bar.close(200, 2)
    last = term.text.split("\r")[-1]
    assert last.startswith("pg.Dst: 100%|") and "200/200" in last and "keys/s" in last and "2 failed" in last
    assert term.text.endswith("\n")


@pytest.mark.parametrize("processes", [1, 2])
def test_populate_draws_the_bar(
    pg: Pipeline, processes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    db: Any = pg
    term = Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    report = db.Dst.populate(display_progress=True, suppress_errors=True, processes=processes)
    assert (report.made, report.failed) == (N_KEYS - len(FAIL), len(FAIL))
    last = term.text.rstrip("\n").split("\r")[-1]
    assert last.startswith("pg.Dst: 100%|") and f"{N_KEYS}/{N_KEYS}" in last and "2 failed" in last


def test_no_bar_in_a_log_file(pg: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    db: Any = pg
    log = Terminal(tty=False)
    monkeypatch.setattr(sys, "stderr", log)
    db.Dst.populate(display_progress=True, suppress_errors=True)
    assert log.text == ""


def test_notebook_detection(monkeypatch: pytest.MonkeyPatch) -> None:
    class Shell:
        def __init__(self, config: dict[str, Any]) -> None:
            self.config = config

    fake = types.ModuleType("IPython")
    monkeypatch.setitem(sys.modules, "IPython", fake)
    assert not progress.in_notebook()  # no get_ipython
    fake.get_ipython = lambda: Shell({})  # type: ignore[attr-defined]
    assert not progress.in_notebook()  # a terminal IPython
    fake.get_ipython = lambda: Shell({"IPKernelApp": {}})  # type: ignore[attr-defined]
    assert progress.in_notebook()


def test_a_notebook_without_widgets_gets_the_text_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    out = Terminal(tty=False)  # a kernel's stderr is no terminal
    monkeypatch.setattr(sys, "stderr", out)
    monkeypatch.setattr(progress, "in_notebook", lambda: True)
    monkeypatch.setattr(progress, "_notebook_bar", lambda label, total: None)
    bar = progress.progress_bar("pg.Dst", 3, True)
    assert bar is not None
    bar.close(3)
    assert "3/3" in out.text


def test_a_notebook_with_widgets_gets_the_widget(monkeypatch: pytest.MonkeyPatch) -> None:
    widget = object()
    monkeypatch.setattr(progress, "in_notebook", lambda: True)
    monkeypatch.setattr(progress, "_notebook_bar", lambda label, total: widget)
    bar = progress.progress_bar("pg.Dst", 3, True)
    assert bar is not None and bar.bar is widget
