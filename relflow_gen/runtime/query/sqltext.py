"""Rewriting user SQL fragments (conditions, computed attributes, order_by).

Users write fragments in terms of attribute names: ``"rate > 10"``,
``"count(*)"``, ``"avg(grade_point)"``.  :func:`rewrite` replaces every bare
identifier that names an attribute of the expression's heading with that
attribute's SQL (an alias-qualified column or an expression), so fragments
stay correct however the query is flattened or nested.  String literals are
kept (double-quoted strings become single-quoted, which both backends read as
strings) and ``%`` is doubled for drivers that use ``%s`` placeholders.
Function names (identifiers followed by ``(``) and qualified names are left
alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

_TOKEN = re.compile(
    r"""
    (?P<squote>'(?:[^'\\]|\\.|'')*')
  | (?P<dquote>"(?:[^"\\]|\\.|"")*")
  | (?P<btick>`(?:[^`]|``)+`)
  | (?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<space>\s+)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str


def tokenize(text: str) -> list[Token]:
    tokens = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or "other"
        tokens.append(Token(kind, m.group(0)))
    return tokens


class UnterminatedString(ValueError):
    pass


def _check_balanced(text: str) -> None:
    # a lone quote ends up as an "other" token
    for tok in tokenize(text):
        if tok.kind == "other" and tok.text in "'\"`":
            raise UnterminatedString(f"unterminated quote in SQL fragment: {text!r}")


def rewrite(
    text: str,
    resolve: Callable[[str], str | None],
    *,
    percent: bool = False,
    special: Callable[[list[Token], int], tuple[str, int] | None] | None = None,
) -> str:
    """Rewrite attribute names in ``text`` via ``resolve(name) -> sql | None``.

    ``special(tokens, i)`` may consume tokens starting at ``i`` and return
    ``(replacement, next_index)`` (used to rewrite ``count(*)`` in aggregations).
    """
    _check_balanced(text)
    tokens = tokenize(text)
    out: list[str] = []
    i = 0
    n = len(tokens)
    while i < n:
        tok = tokens[i]
        if special is not None:
            hit = special(tokens, i)
            if hit is not None:
                out.append(hit[0])
                i = hit[1]
                continue
        if tok.kind == "dquote":
            inner = tok.text[1:-1].replace('""', '"').replace("'", "''")
            out.append("'" + inner + "'")
        elif tok.kind in ("ident", "btick"):
            name = tok.text[1:-1].replace("``", "`") if tok.kind == "btick" else tok.text
            prev = _prev_significant(tokens, i)
            nxt = _next_significant(tokens, i)
            is_function = nxt is not None and nxt.text == "(" and tok.kind == "ident"
            qualified = prev is not None and prev.text == "."
            target = None if (is_function or qualified) else resolve(name)
            out.append(target if target is not None else tok.text)
        else:
            out.append(tok.text)
        i += 1
    result = "".join(out)
    return result.replace("%", "%%") if percent else result


def _prev_significant(tokens: list[Token], i: int) -> Token | None:
    for j in range(i - 1, -1, -1):
        if tokens[j].kind != "space":
            return tokens[j]
    return None


def _next_significant(tokens: list[Token], i: int) -> Token | None:
    for j in range(i + 1, len(tokens)):
        if tokens[j].kind != "space":
            return tokens[j]
    return None


def significant(tokens: list[Token], start: int) -> Iterator[tuple[int, Token]]:
    for j in range(start, len(tokens)):
        if tokens[j].kind != "space":
            yield j, tokens[j]


def count_star(replacement: str) -> Callable[[list[Token], int], tuple[str, int] | None]:
    """A ``special`` hook turning ``count(*)`` into ``count(<replacement>)``."""

    def hook(tokens: list[Token], i: int) -> tuple[str, int] | None:
        tok = tokens[i]
        if tok.kind != "ident" or tok.text.lower() != "count":
            return None
        seq = list(_take(significant(tokens, i + 1), 3))
        if len(seq) == 3 and [t.text for _, t in seq] == ["(", "*", ")"]:
            return f"count({replacement})", seq[-1][0] + 1
        return None

    return hook


def _take(it: Iterator[tuple[int, Token]], k: int) -> Iterator[tuple[int, Token]]:
    for _ in range(k):
        try:
            yield next(it)
        except StopIteration:
            return


def is_identifier(text: str) -> bool:
    return re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text) is not None
