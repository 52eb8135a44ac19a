"""docs/evolving.md stays true: its blocks run in order in an empty directory on SQLite.

* a ```rf block whose first line is ``# file: NAME`` writes that file;
* a ```python block runs (the blocks share one namespace);
* a ```console block runs each ``$ relflow-gen ...`` line through the real command
  line and compares what it prints (stdout and stderr) with the lines shown
  under it; a line ``...`` stands for any number of lines; ``$ echo $?`` shows
  the exit status of the command before.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from relflow_gen.cli.main import main

DOC = Path(__file__).resolve().parents[1] / "docs" / "evolving.md"


def blocks(text: str) -> list[tuple[str, int, str]]:
    return [
        (m.group(1), text[: m.start()].count("\n") + 2, m.group(2))
        for m in re.finditer(r"^```(\w+)\n(.*?)^```", text, re.S | re.M)
    ]


def matches(shown: list[str], got: list[str]) -> bool:
    """``shown`` equals ``got`` where each ``...`` line stands for any lines."""
    if not shown:
        return not got
    if shown[0] == "...":
        return any(matches(shown[1:], got[i:]) for i in range(len(got) + 1))
    return bool(got) and shown[0] == got[0] and matches(shown[1:], got[1:])


def run_console(code: str, line: int) -> None:
    status = 0
    commands: list[tuple[int, str, list[str]]] = []
    for i, text in enumerate(code.splitlines()):
        if text.startswith("$ "):
            commands.append((line + i, text[2:], []))
        elif commands:
            commands[-1][2].append(text)
    for where, command, shown in commands:
        if command == "echo $?":
            assert shown == [str(status)], f"{DOC}:{where}: exit status {status}, the page says {shown}"
            continue
        argv = shlex.split(command)
        assert argv[0] == "relflow-gen", f"{DOC}:{where}: only relflow-gen commands run here"
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            status = main(argv[1:])
        got = out.getvalue().rstrip("\n").splitlines()
        assert matches([s for s in shown], got), f"{DOC}:{where}: `{command}` printed:\n" + "\n".join(got)


def test_doc_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RELFLOW_DB_URL", raising=False)
    namespace: dict[str, Any] = {"__name__": "docs_evolving"}
    found = {"rf": 0, "python": 0, "console": 0}
    for kind, line, code in blocks(DOC.read_text()):
        if kind == "rf" and code.startswith("# file: "):
            name = code.splitlines()[0][len("# file: ") :].strip()
            (tmp_path / name).write_text(code)
        elif kind == "python":
            exec(compile("\n" * (line - 1) + code, str(DOC), "exec"), namespace)  # noqa: S102 - the page's examples
        elif kind == "console":
            run_console(code, line)
        found[kind] = found.get(kind, 0) + 1
    assert found["rf"] >= 4 and found["console"] >= 6 and found["python"] >= 2, found
