"""docs/language.md stays true: its type tables and its examples are checked.

- The type tables between the ``<!-- types:begin -->`` / ``<!-- types:end -->``
  markers are generated from :data:`relflow_gen.core.types.TYPES` and
  :data:`~relflow_gen.core.types.ALIASES`; ``pytest --update-golden`` rewrites them.
- Every canonical type and every alias is named in the document.
- Every fenced ```` ```rf ```` block that starts with a ``schema`` line (after
  any comments) compiles
  without any diagnostic.  A block may ``import "x.rf"`` where ``x`` is the
  schema of another such block of the document.
- Every ```` ```rf-invalid ```` block (an example of what is rejected) compiles
  with at least one error.
- The grammar's keywords are listed as reserved words.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from relflow_gen.compiler.frontend import Compilation, compile_file
from relflow_gen.core.types import ALIASES, TYPES, TypeInfo

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "language.md"
GRAMMAR = REPO / "grammar" / "relflow.lark"

BEGIN = "<!-- types:begin (generated from relflow_gen/types.py; pytest --update-golden rewrites it) -->"
END = "<!-- types:end -->"

_PARAMS = {"": "", "n": "`(n)`", "p,s": "`(p, s)`", "fsp": "`(fsp)`", "values": '`("a", "b", ...)`', "store": "`NAME` (the store)"}
_PLACEHOLDERS = {"n": ("n",), "p,s": ("p", "s"), "fsp": ("fsp",)}
_DEFAULT_ARGS = {"decimal": "`decimal` = `decimal(10, 0)`", "time": "default fsp 6", "datetime": "default fsp 6",
                 "timestamp": "default fsp 6"}


def _mysql(info: TypeInfo) -> str:
    if info.params == "values":
        return '`enum("a", "b", ...)`'
    names = _PLACEHOLDERS.get(info.params, ())
    return "`" + info.mysql.format(*names) + "`"


def _sqlite(info: TypeInfo) -> str:
    names = _PLACEHOLDERS.get(info.params, ())
    return "`" + info.sqlite.format(*names) + "`"


def _python(info: TypeInfo) -> str:
    if info.params == "values":
        return '`Literal["a", "b", ...]`'
    if info.insert_python:
        also = [t for t in info.insert_python.split(" | ") if t != info.python]
        return f"`{info.python}` (insert also " + ", ".join(f"`{t}`" for t in also) + ")"
    return f"`{info.python}`"


def _meaning(info: TypeInfo) -> str:
    text = info.doc
    if info.int_range is not None:
        lo, hi = info.int_range
        text += f", {lo} … {hi}"
    if info.name in _DEFAULT_ARGS:
        text += f"; {_DEFAULT_ARGS[info.name]}"
    return text


def render_type_tables() -> str:
    """The markdown of the two type tables (canonical types, then aliases)."""
    lines = [
        BEGIN,
        "",
        "| type | arguments | meaning | in a key | MySQL / MariaDB | SQLite | Python |",
        "|---|---|---|---|---|---|---|",
    ]
    for info in TYPES.values():
        name = f"{info.name}NAME" if info.params == "store" else info.name
        lines.append(
            f"| `{name}` | {_PARAMS[info.params]} | {_meaning(info)} | {'yes' if info.key_ok else 'no'} "
            f"| {_mysql(info)} | {_sqlite(info)} | {_python(info)} |"
        )
    lines += [
        "",
        "Aliases (MySQL and other common spellings) mean exactly their canonical type:",
        "",
        "| alias | means |",
        "|---|---|",
    ]
    for alias, canonical in ALIASES.items():
        lines.append(f"| `{alias}` | `{canonical}` |")
    lines += ["", END]
    return "\n".join(lines)


def _doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def test_type_tables_are_generated_from_the_type_table(update_golden: bool) -> None:
    text = _doc_text()
    assert BEGIN in text and END in text, "docs/language.md lost the type-table markers"
    start = text.index(BEGIN)
    end = text.index(END) + len(END)
    expected = render_type_tables()
    if update_golden and text[start:end] != expected:
        DOC.write_text(text[:start] + expected + text[end:], encoding="utf-8")
        text = _doc_text()
    assert text[start : start + len(expected)] == expected, (
        "the type tables of docs/language.md are out of date; run pytest --update-golden"
    )


@pytest.mark.parametrize("name", sorted(TYPES) + sorted(ALIASES))
def test_every_type_and_alias_is_documented(name: str) -> None:
    shown = f"{name}NAME" if TYPES.get(name) is not None and TYPES[name].params == "store" else name
    assert f"`{shown}`" in _doc_text()


# ---------------------------------------------------------------------------
# The examples of the document
# ---------------------------------------------------------------------------

_FENCE = re.compile(r"^```([A-Za-z0-9_-]*)[^\n]*\n(.*?)^```\s*$", re.M | re.S)
_SCHEMA_LINE = re.compile(r"^schema\s+([A-Za-z_][A-Za-z0-9_]*)")


def _blocks(language: str) -> list[tuple[int, str]]:
    """(line number, text) of every fenced block of ``language``."""
    text = _doc_text()
    out = []
    for m in _FENCE.finditer(text):
        if m.group(1) == language:
            out.append((text.count("\n", 0, m.start()) + 1, m.group(2)))
    return out


def _schema_name(block: str) -> str | None:
    for line in block.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue  # comments and blank lines may precede the schema line
        m = _SCHEMA_LINE.match(stripped)
        return m.group(1) if m else None
    return None


def _schema_blocks(language: str) -> list[tuple[int, str, str]]:
    out = []
    for line, block in _blocks(language):
        name = _schema_name(block)
        if name is not None:
            out.append((line, name, block))
    return out


def _compile(name: str, block: str) -> Compilation:
    files = {f"{n}.rf": b for _, n, b in _schema_blocks("rf")}
    files[f"{name}.rf"] = block
    return compile_file(f"{name}.rf", files.get)


def _render(comp: Compilation) -> str:
    return "\n".join(f"{d.code} line {d.span.line}:{d.span.col} {d.message}" for d in comp.diagnostics)


def test_the_document_has_compiled_examples() -> None:
    assert len(_schema_blocks("rf")) >= 10
    assert len(_schema_blocks("rf-invalid")) >= 3


@pytest.mark.parametrize(
    ("line", "name", "block"), _schema_blocks("rf"), ids=[f"line{n}" for n, _, _ in _schema_blocks("rf")]
)
def test_rf_examples_compile_without_diagnostics(line: int, name: str, block: str) -> None:
    comp = _compile(name, block)
    assert comp.diagnostics == [], f"docs/language.md:{line}:\n{_render(comp)}"
    assert comp.ok


@pytest.mark.parametrize(
    ("line", "name", "block"),
    _schema_blocks("rf-invalid"),
    ids=[f"line{n}" for n, _, _ in _schema_blocks("rf-invalid")],
)
def test_rf_invalid_examples_are_rejected(line: int, name: str, block: str) -> None:
    comp = _compile(name, block)
    assert not comp.ok and any(d.is_error for d in comp.diagnostics), f"docs/language.md:{line} compiles"


def test_unlabelled_rf_blocks_are_fragments() -> None:
    """Every ```rf block either is a whole schema or is meant as a fragment (no `schema` line anywhere)."""
    for line, block in _blocks("rf"):
        if _schema_name(block) is None:
            assert not re.search(r"^\s*schema\s", block, re.M), f"docs/language.md:{line}: `schema` is not the first line"


def test_grammar_keywords_are_listed_as_reserved() -> None:
    grammar = GRAMMAR.read_text(encoding="utf-8")
    keywords: set[str] = set()
    for m in re.finditer(r"^[A-Z]+(?:\.\d)?:\s*(\"[a-z]+\".*)$", grammar, re.M):
        keywords |= set(re.findall(r'"([a-z]+)"', m.group(1)))
    assert {"lookup", "manual", "imported", "computed", "part", "contents", "index", "unique", "proj"} <= keywords
    text = _doc_text()
    section = text[text.index("## Reserved words") :]
    section = section[: section.index("\n## ", 1)]
    for word in sorted(keywords):
        assert f"`{word}`" in section, word
