"""The doc-block runner (doc_blocks.py) fails when a shown error is not raised, or not as shown."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from doc_blocks import message_matches, python_blocks, run_block

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGE = Path("page.md")


def _block(code: str) -> Any:
    (block,) = python_blocks(f"text\n\n```python\n{code}```\n")
    return block


def test_a_raises_comment_is_read() -> None:
    block = _block('x = 1\nint("a")\n# raises ValueError: invalid literal ...\n#   \'a\'\n')
    assert (block.raises, block.message) == ("ValueError", "invalid literal ... 'a'")
    assert _block("x = 1\n# raises ValueError: not at the end\nx = 2\n").raises is None


def test_the_shown_error_passes_and_earlier_statements_run() -> None:
    ns: dict[str, Any] = {"ValueError": ValueError}
    run_block(_block('x = 1\nint("a")\n# raises ValueError: invalid literal ... \'a\'\n'), ns, PAGE)
    assert ns["x"] == 1


def test_no_error_fails() -> None:
    with pytest.raises(pytest.fail.Exception):
        run_block(_block('int("1")\n# raises ValueError: invalid\n'), {"ValueError": ValueError}, PAGE)


def test_an_earlier_statement_raising_fails() -> None:
    with pytest.raises(ValueError):
        run_block(_block('int("a")\nint("1")\n# raises ValueError\n'), {"ValueError": ValueError}, PAGE)


def test_another_message_fails() -> None:
    with pytest.raises(AssertionError, match="not the one raised"):
        run_block(_block('int("a")\n# raises ValueError: something else\n'), {"ValueError": ValueError}, PAGE)


def test_another_error_class_fails() -> None:
    with pytest.raises(ValueError):
        run_block(_block('int("a")\n# raises KeyError\n'), {"KeyError": KeyError}, PAGE)


def test_the_class_must_be_imported_by_the_page() -> None:
    with pytest.raises(AssertionError, match="does not import"):
        run_block(_block('int("a")\n# raises ValueError\n'), {}, PAGE)


def test_message_matching() -> None:
    assert message_matches("a ... c", "a b\n  c")
    assert not message_matches("a ... c", "c b a")


def test_no_doc_block_swallows_an_error() -> None:
    swallowing = re.compile(r"except[^\n]*:\n\s+pass\b")
    for page in sorted(DOCS.glob("*.md")):
        for block in python_blocks(page.read_text(encoding="utf-8")):
            body = block.code.replace("except RuntimeError:\n        pass", "")  # the transactions example
            assert not swallowing.search(body), f"{page.name}:{block.line}: use `# raises X: message`"
