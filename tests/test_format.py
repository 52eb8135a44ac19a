"""``relflow-gen format``: golden cases, idempotence, meaning preservation, CLI.

Golden cases live in ``tests/format_cases/<case>/input.rf`` with the expected
output beside it in ``expected.rf``; run ``pytest --update-golden`` to rewrite
the expected files after an intended change (and review the diff).
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from relflow_gen.cli.main import main
from relflow_gen.compiler.frontend import Compilation, compile_file, read_file
from relflow_gen.compiler.ir import to_data
from relflow_gen.core.types import quote
from relflow_gen.fmt.formatter import format_text

HERE = Path(__file__).parent
REPO = HERE.parent
CASES_DIR = HERE / "format_cases"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if (p / "input.rf").is_file())


def _examples() -> list[Path]:
    return sorted((REPO / "examples").rglob("*.rf"))


def _inputs() -> list[Any]:
    """Every input the formatter must handle: golden inputs and expected files, examples."""
    params: list[Any] = []
    for case in CASES:
        for name in ("input.rf", "expected.rf"):
            path = CASES_DIR / case / name
            if path.is_file():
                params.append(pytest.param(path, id=f"{case}/{name}"))
    for path in _examples():
        params.append(pytest.param(path, id=str(path.relative_to(REPO))))
    return params


def fmt(text: str, file: str = "input.rf") -> str:
    out, diags = format_text(text, file)
    assert diags == [], diags
    assert out is not None
    return out


# --------------------------------------------------------------------------
# Meaning: the IR without spans
# --------------------------------------------------------------------------


def strip_spans(data: Any) -> Any:
    """IR data with every span removed and string literals in one spelling.

    A string's ``text`` is how it was quoted (``'x'`` or ``"x"``); its value is
    what it means, so the text is replaced by the canonical quoting of the value.
    """
    if isinstance(data, dict):
        out = {k: strip_spans(v) for k, v in data.items() if k not in ("span", "name_span")}
        if out.get("kind") == "str" and "value" in out and "text" in out:
            out["text"] = quote(str(out["value"]))
        return out
    if isinstance(data, list):
        return [strip_spans(x) for x in data]
    return data


def _compile(path: Path, text: str) -> Compilation:
    """Compile ``path`` as if its content were ``text`` (imports read from disk)."""
    target = str(path)

    def reader(p: str) -> str | None:
        return text if Path(p) == path else read_file(p)

    return compile_file(target, reader)


def meaning(path: Path, text: str) -> tuple[Any, list[tuple[str, str]]]:
    comp = _compile(path, text)
    project = strip_spans(to_data(comp.project)) if comp.project is not None else None
    diags = sorted((d.code, d.message) for d in comp.diagnostics)
    return project, diags


def test_strip_spans_sees_differences() -> None:
    """The comparison is not vacuous: a changed type or comment is a different meaning."""
    path = Path("x.rf")
    base = meaning(path, "schema s\nmanual T {\n    a: int32  # c\n}\n")
    assert base == meaning(path, "schema s\n\n\nmanual T {\n  a:int32 # c\n}\n")
    assert base != meaning(path, "schema s\nmanual T {\n    a: int64  # c\n}\n")
    assert base != meaning(path, "schema s\nmanual T {\n    a: int32  # d\n}\n")
    assert base != meaning(path, "schema s\nmanual T {\n    # c\n    a: int32\n}\n")


# --------------------------------------------------------------------------
# Golden cases
# --------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str, update_golden: bool) -> None:
    source = (CASES_DIR / case / "input.rf").read_text(encoding="utf-8")
    expected_path = CASES_DIR / case / "expected.rf"
    out = fmt(source)
    if update_golden:
        expected_path.write_text(out, encoding="utf-8")
        return
    assert expected_path.is_file(), f"no {expected_path}; run pytest --update-golden"
    assert out == expected_path.read_text(encoding="utf-8")


def test_already_formatted_is_unchanged() -> None:
    source = (CASES_DIR / "already_formatted" / "input.rf").read_text(encoding="utf-8")
    assert fmt(source) == source


# --------------------------------------------------------------------------
# Properties over every input
# --------------------------------------------------------------------------


@pytest.mark.parametrize("path", _inputs())
def test_idempotent(path: Path) -> None:
    once = fmt(path.read_text(encoding="utf-8"), str(path))
    assert fmt(once, str(path)) == once


@pytest.mark.parametrize("path", _inputs())
def test_meaning_preserved(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    formatted = fmt(source, str(path))
    assert meaning(path, formatted) == meaning(path, source)


@pytest.mark.parametrize("path", _inputs())
def test_layout_basics(path: Path) -> None:
    out = fmt(path.read_text(encoding="utf-8"), str(path))
    assert out.endswith("\n") and not out.endswith("\n\n")
    assert "\t" not in out.replace("\\t", "")
    lines = out.split("\n")
    for line in lines:
        assert line == line.rstrip(), f"trailing whitespace: {line!r}"
        indent = len(line) - len(line.lstrip(" "))
        assert indent % 4 == 0, f"indent not a multiple of 4: {line!r}"
    assert "\n\n\n" not in out


@pytest.mark.parametrize("path", _inputs())
def test_comments_kept(path: Path) -> None:
    """Every comment survives, in order, full-line ones on their own line."""
    from relflow_gen.compiler.parse import parse

    source = path.read_text(encoding="utf-8")
    before = parse(source, "a.rf")
    after = parse(fmt(source), "b.rf")

    def kinds(text: str, comments: list[Any]) -> list[tuple[str, bool]]:
        lines = text.split("\n")
        return [(c.text, not lines[c.line - 1][: c.col - 1].strip()) for c in comments]

    assert [c.text for c in after.comments] == [c.text for c in before.comments]
    # trailing comments stay trailing and full-line ones full-line (the formatter
    # only hoists a trailing comment from the middle of a list item that spans
    # lines, which none of these inputs has)
    assert kinds(after.text, after.comments) == kinds(before.text, before.comments)


_TOKEN = re.compile(
    r"""(?P<keep>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|#.*)|(?P<punct>[(),:=\[\]{}])|(?P<space>[ \t]+)|(?P<other>.)"""
)


def perturb(text: str, seed: int) -> str:
    """The same file with different insignificant whitespace.

    Changes indentation, the spacing between tokens and around punctuation,
    and doubles existing blank lines; strings, comments and the line structure
    are untouched.
    """
    rng = random.Random(seed)
    out: list[str] = []
    for line in text.split("\n"):
        code = line.lstrip(" \t")
        if not code:
            out.extend([""] * rng.randint(1, 3))
            continue
        pieces = [rng.choice(["", "  ", "\t", "        ", " "])]
        for m in _TOKEN.finditer(code):
            if m.group("punct"):
                pieces.append(" " * rng.randint(0, 2) + m.group() + " " * rng.randint(0, 2))
            elif m.group("space"):
                pieces.append(" " * rng.randint(1, 3))
            else:
                pieces.append(m.group())
        out.append("".join(pieces))
    return "\n".join(out)


def test_perturb_keeps_tokens() -> None:
    src = "schema s 'd # not a comment'\nmanual T {  # c\n  a = \"x:(y)\": enum('a','b')\n}\n"
    messy = perturb(src, 1)
    assert "'d # not a comment'" in messy and '"x:(y)"' in messy


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("path", _inputs())
def test_whitespace_does_not_matter(path: Path, seed: int) -> None:
    """Formatting a file with scrambled whitespace gives the same result."""
    source = path.read_text(encoding="utf-8")
    assert fmt(perturb(source, seed), str(path)) == fmt(source, str(path))


# --------------------------------------------------------------------------
# Focused behaviour
# --------------------------------------------------------------------------


def test_syntax_error_returns_diagnostics() -> None:
    out, diags = format_text("schema lab\nmanual T {\n    a int32\n}\n", "bad.rf")
    assert out is None
    assert diags and diags[0].code == "E0001"
    assert diags[0].span.line == 3


def test_crlf_and_missing_final_newline() -> None:
    assert fmt("schema lab\r\nmanual T {\r\n  a: int32\r\n}") == "schema lab\n\nmanual T {\n    a: int32\n}\n"


def test_top_level_blocks_get_exactly_one_blank_line() -> None:
    src = "schema lab\nmanual A {\n    a: int32\n}\nmanual B {\n    -> A\n}\n\n\n\nmanual C {\n    -> B\n}\n"
    out = fmt(src)
    assert out == (
        "schema lab\n\nmanual A {\n    a: int32\n}\n\nmanual B {\n    -> A\n}\n\nmanual C {\n    -> B\n}\n"
    )


def test_contents_columns_are_aligned() -> None:
    src = 'schema s\nlookup L {\n k: varchar(8)\n ---\n v: int32\n contents {\n("a", 1)\n("bbbb", 22)\n}\n}\n'
    assert '        ("a",    1)\n        ("bbbb", 22)\n' in fmt(src)


def test_trailing_comments_align_per_run() -> None:
    src = "schema s\nmanual T {\n a: int32 # x\n long_name: int32 # y\n\n b: int32 # z\n}\n"
    out = fmt(src)
    assert "    a: int32          # x\n    long_name: int32  # y\n\n    b: int32  # z\n" in out


def test_long_line_without_comment_does_not_push_comments() -> None:
    src = 'schema s\nmanual T {\n a: int32 # x\n b = "a long default value": varchar(64)\n cc: int32 # y\n}\n'
    out = fmt(src)
    assert '    a: int32   # x\n    b = "a long default value": varchar(64)\n    cc: int32  # y\n' in out


def test_alignment_uses_display_width() -> None:
    src = 'schema s\nlookup L {\n k: varchar(8)\n ---\n v: int32\n contents {\n("中文", 1)\n("abcdef", 2)\n}\n}\n'
    assert '        ("中文",   1)\n        ("abcdef", 2)\n' in fmt(src)


def test_requoting_only_when_it_needs_no_more_escaping() -> None:
    src = "schema s 'd'\nmanual T {\n a = 'it\\'s': varchar(8)\n ---\n b = 'say \"hi\"': varchar(8)\n}\n"
    out = fmt(src)
    assert 'schema s "d"' in out
    assert 'a = "it\'s": varchar(8)' in out
    assert "b = 'say \"hi\"': varchar(8)" in out


def test_type_spelling_is_kept() -> None:
    out = fmt("schema s\nmanual T {\n a: INT UNSIGNED\n ---\n b: Double\n c: decimal(5,2)\n}\n")
    assert "a: int unsigned\n" in out
    assert "b: double\n" in out
    assert "c: decimal(5, 2)\n" in out


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

MESSY = "schema lab\nmanual T {\n  a:int32\n}\n"
CLEAN = "schema lab\n\nmanual T {\n    a: int32\n}\n"


def test_cli_formatted_file_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "ok.rf"
    f.write_text(CLEAN, encoding="utf-8")
    assert main(["format", "--check", str(f)]) == 0
    assert main(["format", str(f)]) == 0
    assert f.read_text(encoding="utf-8") == CLEAN
    assert capsys.readouterr().err == ""


def test_cli_check_reports_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    messy, clean = tmp_path / "messy.rf", tmp_path / "clean.rf"
    messy.write_text(MESSY, encoding="utf-8")
    clean.write_text(CLEAN, encoding="utf-8")
    assert main(["format", "--check", str(messy), str(clean)]) == 1
    assert messy.read_text(encoding="utf-8") == MESSY
    err = capsys.readouterr().err
    assert f"would reformat {messy}" in err
    assert str(clean) not in err


def test_cli_rewrites_in_place(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "messy.rf"
    f.write_bytes(MESSY.replace("\n", "\r\n").encode())
    assert main(["format", str(f)]) == 0
    assert f.read_bytes() == CLEAN.encode()
    assert f"reformatted {f}" in capsys.readouterr().out
    assert main(["format", "--check", str(f)]) == 0


def test_cli_syntax_error_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.rf"
    bad.write_text("schema lab\nmanual T {\n    a int32\n}\n", encoding="utf-8")
    good = tmp_path / "good.rf"
    good.write_text(MESSY, encoding="utf-8")
    assert main(["format", str(bad), str(good)]) == 1
    err = capsys.readouterr().err
    assert "error[E0001]" in err and f"{bad}:3:" in err
    assert bad.read_text(encoding="utf-8") == "schema lab\nmanual T {\n    a int32\n}\n"
    assert good.read_text(encoding="utf-8") == CLEAN  # the other files are still formatted


def test_cli_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.rf"
    good.write_text(MESSY, encoding="utf-8")
    missing = tmp_path / "missing.rf"
    assert main(["format", str(good), str(missing)]) == 2
    err = capsys.readouterr().err
    assert f"relflow-gen: error: {missing}: no such file" in err
    assert "Traceback" not in err
    assert good.read_text(encoding="utf-8") == MESSY  # nothing is written on a usage error


def test_cli_directory_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["format", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_cli_not_utf8_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "latin1.rf"
    f.write_bytes("schema caf\xe9\n".encode("latin-1"))
    assert main(["format", str(f)]) == 2
    assert "not UTF-8" in capsys.readouterr().err


def test_cli_exit_codes_as_a_process(tmp_path: Path) -> None:
    f = tmp_path / "messy.rf"
    f.write_text(MESSY, encoding="utf-8")

    def run(*args: str) -> int:
        return subprocess.run(
            [sys.executable, "-m", "relflow_gen", "format", *args], capture_output=True
        ).returncode

    assert run("--check", str(f)) == 1
    assert run(str(tmp_path / "nope.rf")) == 2
    assert run(str(f)) == 0
    assert run("--check", str(f)) == 0
