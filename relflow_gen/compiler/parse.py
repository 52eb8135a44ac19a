"""Stage 1: `.rf` text -> lark parse tree, comments and syntax diagnostics.

The grammar lives in ``grammar/relflow.lark``.  A syntax error does not stop
at the first problem: the offending line is blanked out and the file parsed
again, so every broken line of a file is reported in one run.  When any
syntax error was found no tree is returned (later stages would only report
consequences of the blanked lines).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.lark import PostLex

from relflow_gen.compiler.diagnostics import Diagnostic
from relflow_gen.compiler.ir import Span
from relflow_gen.core.resources import grammar_path

MAX_SYNTAX_ERRORS = 20


@dataclass(frozen=True)
class Comment:
    line: int
    col: int
    text: str  # without the leading '#', stripped


@dataclass
class ParseResult:
    file: str
    text: str
    tree: Tree[Token] | None
    comments: list[Comment] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)


_COMMENT_RE = re.compile(r"#[^\n]*")


class _ParenNewlines(PostLex):
    """Drops newlines inside parentheses and collects comments from newline tokens."""

    always_accept = ("_NL",)

    def __init__(self) -> None:
        self.comments: list[Comment] = []
        self.open_parens: list[Token] = []  # the `(` tokens not closed yet, outermost first

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        opened = self.open_parens
        for tok in stream:
            if tok.type == "_NL":
                self._collect(tok)
                if opened:
                    continue
            elif tok.type == "LPAR":
                opened.append(tok)
            elif tok.type == "RPAR" and opened:
                opened.pop()
            yield tok

    def _collect(self, tok: Token) -> None:
        line = tok.line or 1
        col = tok.column or 1
        for i, chunk in enumerate(str(tok).split("\n")):
            if i > 0:
                line += 1
                col = 1
            m = _COMMENT_RE.search(chunk)
            if m:
                self.comments.append(Comment(line, col + m.start(), m.group(0)[1:].strip()))


@lru_cache(maxsize=1)
def _parser() -> tuple[Lark, _ParenNewlines]:
    postlex = _ParenNewlines()
    lark = Lark(
        grammar_path().read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        postlex=postlex,
        propagate_positions=True,
        maybe_placeholders=False,
    )
    return lark, postlex


_TERMINAL_NAMES = {
    "NAME": "a name",
    "STRING": "a string",
    "NUMBER": "a number",
    "_NL": "end of line",
    "$END": "end of file",
    "LBRACE": "`{`",
    "RBRACE": "`}`",
    "LPAR": "`(`",
    "RPAR": "`)`",
    "LSQB": "`[`",
    "RSQB": "`]`",
    "COLON": "`:`",
    "COMMA": "`,`",
    "DOT": "`.`",
    "EQUAL": "`=`",
    "VBAR": "`|`",
    "DIVIDER": "`---`",
    "LOOKUP": "`lookup`",
    "MANUAL": "`manual`",
    "IMPORTED": "`imported`",
    "COMPUTED": "`computed`",
    "PART": "`part`",
    "PROJ": "`proj`",
    "INDEX": "`index`",
    "UNIQUE": "`unique`",
    "CONTENTS": "`contents`",
    "__ANON_0": "`->`",
    "SCHEMA": "`schema`",
    "IMPORT": "`import`",
}


def _describe_expected(expected: set[str] | frozenset[str]) -> str:
    names = sorted({_TERMINAL_NAMES.get(e, f"`{e.lower()}`") for e in expected})
    if not names:
        return ""
    if len(names) == 1:
        return f", expected {names[0]}"
    if len(names) > 6:
        names = names[:6] + ["..."]
    return ", expected one of: " + ", ".join(names)


def _token_text(tok: Token) -> str:
    if tok.type == "_NL":
        return "end of line"
    if tok.type == "$END":
        return "end of file"
    text = str(tok)
    return f"`{text if len(text) <= 30 else text[:27] + '...'}`"


def _diagnose(err: UnexpectedInput, file: str, text: str, parsed: str) -> Diagnostic:
    """A diagnostic for a lark error; ``parsed`` is the text lark saw (lines blanked)."""
    line = max(1, getattr(err, "line", 1) or 1)
    col = max(1, getattr(err, "column", 1) or 1)
    hint: str | None = None
    if isinstance(err, UnexpectedToken):
        tok = err.token
        width = max(1, len(str(tok))) if tok.type not in ("_NL", "$END") else 1
        if tok.type == "$END":
            lines = text.rstrip("\n").split("\n")
            line, col = len(lines), len(lines[-1]) + 1
            if "RBRACE" in err.expected:
                hint = "is a `}` missing?"
        elif tok.type == "_NL":
            # report at the end of the line the newline terminates
            all_lines = text.split("\n")
            src_line = all_lines[line - 1] if line - 1 < len(all_lines) else ""
            stripped = _COMMENT_RE.sub("", src_line).rstrip()
            col = max(1, len(stripped) + 1)
        expected = set(err.expected) if err.expected else set()
        message = f"unexpected {_token_text(tok)}{_describe_expected(expected)}"
        if "COLON" in expected and tok.type == "NAME":
            hint = "attributes are written `name: type` (or `name = default: type`)"
        elif tok.type == "NAME" and "MANUAL" in expected:
            hint = "table blocks start with lookup, manual, imported or computed"
        span = Span(file, line, col, line, col + width)
    elif isinstance(err, UnexpectedCharacters):
        pos = err.pos_in_stream
        ch = parsed[pos] if pos is not None and 0 <= pos < len(parsed) else ""
        if ch and not ch.isprintable():
            message = f"unexpected character U+{ord(ch):04X}"
        else:
            message = f"unexpected character `{ch}`" if ch.strip() else "unexpected character"
        if ch and ch in "\"'":
            message = "unterminated string"
            hint = "strings end on the line they start on"
        span = Span(file, line, col, line, col + 1)
    elif isinstance(err, UnexpectedEOF):
        lines = text.rstrip("\n").split("\n")
        line, col = len(lines), len(lines[-1]) + 1
        message = "unexpected end of file" + _describe_expected(set(err.expected))
        hint = "is a `}` missing?"
        span = Span(file, line, col, line, col + 1)
    else:  # pragma: no cover - lark raises only the three above
        message = "syntax error"
        span = Span(file, line, col, line, col + 1)
    if "RBRACE" in str(message) and hint is None:
        hint = "is a `}` missing?"
    return Diagnostic("E0001", message, span, hint)


def parse(text: str, file: str) -> ParseResult:
    """Parse `.rf` text; on syntax errors, report them all and return no tree."""
    lark, postlex = _parser()
    text = text.replace("\r\n", "\n").removeprefix("\ufeff")  # a BOM is not part of the text
    if not text.endswith("\n"):
        text += "\n"
    diags: list[Diagnostic] = []
    current = text
    blanked: set[int] = set()
    while True:
        postlex.comments = []
        postlex.open_parens = []
        try:
            tree = lark.parse(current)
        except UnexpectedInput as err:
            diag = _unclosed(postlex.open_parens, file, current, blanked) or _diagnose(err, file, text, current)
            line = diag.span.line
            if not any(d.span.line == line for d in diags):
                diags.append(diag)
            if line in blanked or len(diags) >= MAX_SYNTAX_ERRORS:
                break
            blanked.add(line)
            current = _blank_line(current, line)
            continue
        except RecursionError:
            diags.append(Diagnostic("E0001", "input nested too deeply", Span(file, 1, 1, 1, 2)))
            break
        if diags:
            break
        return ParseResult(file, text, tree, list(postlex.comments), [])
    return ParseResult(file, text, None, [], diags)


def _unclosed(opened: list[Token], file: str, text: str, blanked: set[int]) -> Diagnostic | None:
    """An error for the outermost `(` open at a syntax error that no `)` closes.

    A parenthesis may span lines (enum values, contents rows), so newlines do not
    end it; a `{`, a `}` or the end of the file before its `)` does.  Without this
    check the parser would report every following line instead of the one place
    that is wrong.  A parenthesis whose `)` may have been on a line blanked after an
    earlier error is left alone.
    """
    for tok in opened:
        if any(b > (tok.line or 0) for b in blanked):
            continue
        if tok.start_pos is not None and not _closes(text, tok.start_pos + 1):
            line, col = tok.line or 1, tok.column or 1
            return Diagnostic(
                "E0001",
                "unclosed `(`",
                Span(file, line, col, line, col + 1),
                "close it with `)`; a parenthesis may continue on the next lines but not past a `{` or `}`",
            )
    return None


def _closes(text: str, pos: int) -> bool:
    """Whether the parenthesis opened just before ``pos`` is closed before a brace or the end."""
    depth = 1
    n = len(text)
    while pos < n:
        ch = text[pos]
        if ch in "\"'":
            end = pos + 1
            while end < n and text[end] not in (ch, "\n"):
                end += 2 if text[end] == "\\" else 1
            pos = end
        elif ch == "#":
            end = text.find("\n", pos)
            pos = n if end < 0 else end
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return True
        elif ch in "{}":
            return False
        pos += 1
    return False


def _blank_line(text: str, line: int) -> str:
    lines = text.split("\n")
    if 1 <= line <= len(lines):
        lines[line - 1] = ""
    return "\n".join(lines)
