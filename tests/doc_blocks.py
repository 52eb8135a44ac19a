"""The ```python blocks of a documentation page, run as tests.

A block runs in a namespace shared with the blocks before it.  A block whose last
lines are a comment of the form::

    db.Student & {"studentid": 100}
    # raises QueryError: `studentid` is not an attribute of this query ...

shows an error: every statement but the last must run, the last must raise the named
exception (a name the page imported into the namespace), and its message must contain the
comment's text (continued on further ``#`` lines; ``...`` stands for any text, whitespace is
compared loosely).  A block that does not raise, or raises something else, fails the test.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
_RAISES = re.compile(r"^# raises (\w+)(?::\s*(.*))?$")


@dataclass(frozen=True)
class Block:
    line: int  # line number of the first code line in the page
    code: str
    raises: str | None = None  # the exception class the last statement raises
    message: str = ""  # text its message contains ("..." for any text)


def python_blocks(text: str) -> list[Block]:
    out = []
    for m in _BLOCK.finditer(text):
        code = m.group(1)
        line = text[: m.start()].count("\n") + 2
        out.append(_with_expectation(line, code))
    return out


def _with_expectation(line: int, code: str) -> Block:
    lines = code.rstrip("\n").split("\n")
    for i in range(len(lines) - 1, -1, -1):
        found = _RAISES.match(lines[i])
        if found:
            tail = lines[i + 1 :]
            if not all(t.startswith("#") for t in tail):
                return Block(line, code)  # a `# raises` comment in the middle of a block is just a comment
            parts = [found.group(2) or ""] + [t[1:] for t in tail]
            return Block(line, code, found.group(1), " ".join(p.strip() for p in parts).strip())
        if not lines[i].startswith("#"):
            break
    return Block(line, code)


def _loose(text: str) -> str:
    return " ".join(text.split())


def message_matches(expected: str, actual: str) -> bool:
    pattern = ".*".join(re.escape(part.strip()) for part in _loose(expected).split("..."))
    return re.search(pattern, _loose(actual), re.S) is not None


def run_block(block: Block, namespace: dict[str, Any], page: Path) -> None:
    """Run one block in ``namespace``; for a ``# raises`` block assert the error."""
    source = "\n" * (block.line - 1) + block.code
    if block.raises is None:
        exec(compile(source, str(page), "exec"), namespace)  # noqa: S102 - the documentation's own examples
        return
    tree = ast.parse(source, str(page))
    assert tree.body, f"{page}:{block.line}: a `# raises` block needs a statement"
    *before, last = tree.body
    exec(compile(ast.Module(before, []), str(page), "exec"), namespace)  # noqa: S102
    expected = namespace.get(block.raises)
    assert isinstance(expected, type) and issubclass(expected, BaseException), (
        f"{page}:{block.line}: `# raises {block.raises}`: the page does not import {block.raises}"
    )
    with pytest.raises(expected) as info:
        exec(compile(ast.Module([last], []), str(page), "exec"), namespace)  # noqa: S102
    assert message_matches(block.message, str(info.value)), (
        f"{page}:{last.lineno}: the message shown in the page is not the one raised:\n"
        f"  page:   {block.message}\n  raised: {info.value}"
    )
