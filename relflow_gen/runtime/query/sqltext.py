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

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from relflow_gen.core.types import TypeSpec
from relflow_gen.runtime.errors import QueryError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from relflow_gen.runtime.backends.base import Backend

_COMMON = r"""
  | (?P<btick>`(?:[^`]|``)+`)
  | (?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<space>\s+)
  | (?P<other>.)
"""

# MySQL/MariaDB read a backslash in a string literal as an escape ('it\'s'); SQLite
# does not: there 'a\' is a complete literal and only '' escapes a quote.  The
# guard must split a fragment exactly as the server will, or a crafted literal
# hides SQL from it.
_TOKEN_BACKSLASH = re.compile(
    r"""
    (?P<squote>'(?:[^'\\]|\\.|'')*')
  | (?P<dquote>"(?:[^"\\]|\\.|"")*")"""
    + _COMMON,
    re.VERBOSE | re.DOTALL,
)
_TOKEN_STANDARD = re.compile(
    r"""
    (?P<squote>'(?:[^']|'')*')
  | (?P<dquote>"(?:[^"]|"")*")"""
    + _COMMON,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str


def tokenize(text: str, *, backslash_escapes: bool = True) -> list[Token]:
    """Split ``text`` into tokens as the dialect does (``backslash_escapes``: MySQL's string literals)."""
    pattern = _TOKEN_BACKSLASH if backslash_escapes else _TOKEN_STANDARD
    tokens = []
    for m in pattern.finditer(text):
        kind = m.lastgroup or "other"
        tokens.append(Token(kind, m.group(0)))
    return tokens


class UnterminatedString(QueryError, ValueError):
    """A quote in an SQL fragment that is never closed."""


class BadFragment(QueryError, ValueError):
    """A fragment that is not one SQL expression (it could change the statement around it)."""


def check_fragment(text: str, tokens: list[Token] | None = None, *, backslash_escapes: bool = True) -> None:
    """Refuse what would let a fragment reach outside its parentheses.

    A fragment is spliced into a statement as ``(fragment)``: unterminated
    quotes, unbalanced parentheses, ``;`` and comments (``--``, ``#``,
    ``/* */``) outside string literals could end it early or hide the rest of
    the statement, so they are errors.
    """
    toks = tokenize(text, backslash_escapes=backslash_escapes) if tokens is None else tokens
    depth = 0
    for i, tok in enumerate(toks):
        if tok.kind != "other":
            continue
        t = tok.text
        if t in "'\"`":
            raise UnterminatedString(f"unterminated quote in SQL fragment: {text!r}")
        nxt = toks[i + 1].text if i + 1 < len(toks) else ""
        if t == ";" or t == "#" or t == "\x00" or (t == "-" and nxt == "-") or (t == "/" and nxt == "*"):
            shown = {"-": "--", "/": "/*", "\x00": "NUL"}.get(t, t)
            raise BadFragment(f"`{shown}` outside a string literal is not allowed in an SQL fragment: {text!r}")
        if t == "(":
            depth += 1
        elif t == ")":
            depth -= 1
            if depth < 0:
                break
    if depth != 0:
        raise BadFragment(f"unbalanced parentheses in SQL fragment: {text!r}")


def rewrite(
    text: str,
    resolve: Callable[[str], str | None],
    *,
    percent: bool = False,
    special: Callable[[list[Token], int], tuple[str, int] | None] | None = None,
    real_division: bool = False,
    backslash_escapes: bool = True,
) -> str:
    """Rewrite attribute names in ``text`` via ``resolve(name) -> sql | None``.

    ``special(tokens, i)`` may consume tokens starting at ``i`` and return
    ``(replacement, next_index)`` (used to rewrite ``count(*)`` in aggregations).
    ``real_division``: write ``a / b`` as ``a * 1.0 / b`` (for SQLite, whose
    ``/`` truncates integers, where MySQL's does not).
    ``backslash_escapes``: string literals follow MySQL's backslash escapes.
    An identifier standing where SQL wants a keyword (an interval unit, a
    ``CAST ... AS`` type, ...) is left alone even if an attribute has its name.
    """
    tokens, names = parse(text, backslash_escapes)
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
        name = names[i]
        if tok.kind == "dquote":
            inner = tok.text[1:-1].replace('""', '"').replace("'", "''")
            out.append("'" + inner + "'")
        elif name is not None:
            target = resolve(name)
            out.append(target if target is not None else tok.text)
        elif real_division and tok.kind == "other" and tok.text == "/":
            out.append("* 1.0 /")
        else:
            out.append(tok.text)
        i += 1
    result = "".join(out)
    return result.replace("%", "%%") if percent else result


#: fragments up to this long keep their parse (queries are built again and again from the same
#: few fragments; a parse costs tens of microseconds)
_CACHED_TEXT = 2000


def _parse(text: str, backslash_escapes: bool) -> tuple[list[Token], tuple[str | None, ...]]:
    """The tokens of a checked fragment, and per token the attribute name it stands for (None
    for everything else: literals, function names, qualified names, keywords)."""
    tokens = tokenize(text, backslash_escapes=backslash_escapes)
    check_fragment(text, tokens)
    keywords = keyword_positions(tokens)
    names: list[str | None] = []
    for i, tok in enumerate(tokens):
        name = None
        if tok.kind in ("ident", "btick") and i not in keywords:
            prev = _prev_significant(tokens, i)
            nxt = _next_significant(tokens, i)
            is_function = nxt is not None and nxt.text == "(" and tok.kind == "ident"
            qualified = prev is not None and prev.text == "."
            if not (is_function or qualified):
                name = tok.text[1:-1].replace("``", "`") if tok.kind == "btick" else tok.text
        names.append(name)
    return tokens, tuple(names)


_parsed = functools.lru_cache(maxsize=1024)(_parse)  # callers never change the token list


def parse(text: str, backslash_escapes: bool) -> tuple[list[Token], tuple[str | None, ...]]:
    """:func:`_parse`, from the cache for fragments up to ``_CACHED_TEXT`` long (errors are never cached)."""
    return _parsed(text, backslash_escapes) if len(text) <= _CACHED_TEXT else _parse(text, backslash_escapes)


def attribute_mentions(text: str, *, backslash_escapes: bool = True) -> list[tuple[str, bool]]:
    """The names in attribute position in ``text`` (as :func:`rewrite` resolves them), each with
    whether it is only tested for NULL (``name IS NULL`` / ``name IS NOT NULL``).

    Raises :class:`UnterminatedString` / :class:`BadFragment` for what :func:`rewrite` refuses."""
    tokens, names = parse(text, backslash_escapes)
    out: list[tuple[str, bool]] = []
    for i, name in enumerate(names):
        if name is None:
            continue
        words = [t.text.lower() for _, t in _take(significant(tokens, i + 1), 3)]
        null_test = words[:2] == ["is", "null"] or words == ["is", "not", "null"]
        out.append((name, null_test))
    return out


def fragment(
    text: str,
    resolve: Callable[[str], str | None],
    backend: Backend,
    special: Callable[[list[Token], int], tuple[str, int] | None] | None = None,
) -> str:
    """:func:`rewrite` for ``backend``; malformed fragments raise :class:`QueryError`."""
    if not isinstance(text, str):
        raise QueryError(f"an SQL fragment is a string, not {type(text).__name__}")
    try:
        return rewrite(
            text,
            resolve,
            percent=backend.placeholder == "%s",
            special=special,
            real_division=backend.int_division,
            backslash_escapes=backend.backslash_escapes,
        )
    except (UnterminatedString, BadFragment) as exc:
        raise QueryError(str(exc)) from None


# Units after INTERVAL n (MySQL/MariaDB), also the first argument of EXTRACT,
# TIMESTAMPDIFF and TIMESTAMPADD.
INTERVAL_UNITS = frozenset(
    """microsecond second minute hour day week month quarter year second_microsecond
    minute_microsecond minute_second hour_microsecond hour_second hour_minute day_microsecond
    day_second day_minute day_hour year_month""".split()
)
# Words that introduce a type or a keyword argument: the next word is not an attribute.
_TYPE_AFTER = frozenset({"as", "using", "collate", "separator"})
_UNIT_FUNCTIONS = frozenset({"extract", "timestampdiff", "timestampadd", "get_format"})
_TYPED_LITERALS = frozenset({"date", "time", "timestamp", "datetime"})
_TRIM_WORDS = frozenset({"leading", "trailing", "both"})


def keyword_positions(tokens: list[Token]) -> set[int]:
    """Indexes of identifier tokens that stand where SQL expects a keyword.

    - the unit of ``INTERVAL expr unit`` (``- interval 30 day``) and ``INTERVAL`` itself;
    - the unit that opens ``EXTRACT(day FROM d)``, ``TIMESTAMPDIFF(day, a, b)``, ...;
    - the type after ``AS`` / ``USING`` (``CAST(x AS unsigned integer)``, ``CONVERT(x USING utf8)``)
      and the word after ``COLLATE``/``SEPARATOR``, up to the next comma or closing parenthesis;
    - ``date``/``time``/``timestamp`` directly before a string literal (``date '2024-01-01'``);
    - ``LEADING``/``TRAILING``/``BOTH`` opening ``TRIM(...)``.
    """
    sig = [(j, t) for j, t in significant(tokens, 0)]
    out: set[int] = set()
    for k, (j, tok) in enumerate(sig):
        if tok.kind != "ident":
            continue
        word = tok.text.lower()
        nxt = sig[k + 1][1] if k + 1 < len(sig) else None
        prev = sig[k - 1][1] if k > 0 else None
        if word == "interval" and nxt is not None:
            unit = _interval_unit(sig, k + 1)
            if unit is not None:
                out.add(j)
                out.add(unit)
        elif word in _TYPE_AFTER and prev is not None:
            depth = 0
            for j2, t2 in sig[k + 1 :]:
                if t2.text == "(":
                    depth += 1
                elif t2.text == ")":
                    depth -= 1
                    if depth < 0:
                        break
                elif t2.text == "," and depth == 0:
                    break
                elif t2.kind == "ident" and depth == 0:
                    out.add(j2)
                if word in ("collate", "separator"):
                    break
        elif word in _UNIT_FUNCTIONS and nxt is not None and nxt.text == "(" and k + 2 < len(sig):
            j2, t2 = sig[k + 2]
            if t2.kind == "ident" and t2.text.lower() in INTERVAL_UNITS | {"date", "time", "datetime", "timestamp"}:
                after = sig[k + 3][1] if k + 3 < len(sig) else None
                if after is not None and (after.text == "," or after.text.lower() == "from"):
                    out.add(j2)
        elif word in _TYPED_LITERALS and nxt is not None and nxt.kind == "squote":
            out.add(j)
        elif word == "trim" and nxt is not None and nxt.text == "(" and k + 2 < len(sig):
            j2, t2 = sig[k + 2]
            if t2.kind == "ident" and t2.text.lower() in _TRIM_WORDS:
                out.add(j2)
    return out


def _interval_unit(sig: list[tuple[int, Token]], k: int) -> int | None:
    """The token index of the unit of ``INTERVAL <expr> <unit>`` whose expression starts at ``sig[k]``."""
    if k < len(sig) and sig[k][1].text in ("-", "+"):
        k += 1
    if k >= len(sig):
        return None
    tok = sig[k][1]
    if tok.text == "(":
        depth = 0
        while k < len(sig):
            if sig[k][1].text == "(":
                depth += 1
            elif sig[k][1].text == ")":
                depth -= 1
                if depth == 0:
                    break
            k += 1
    elif tok.kind not in ("number", "squote", "dquote", "ident", "btick"):
        return None
    k += 1
    if k < len(sig) and sig[k][1].kind == "ident" and sig[k][1].text.lower() in INTERVAL_UNITS:
        return sig[k][0]
    return None


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


_INT64 = TypeSpec("int64")
_FLOAT64 = TypeSpec("float64")


def infer_type(text: str, attribute_type: Callable[[str], TypeSpec | None]) -> TypeSpec | None:
    """The type of a computed attribute, where it follows from the expression alone.

    ``count(...)`` is an integer, ``avg(a)`` a float, ``sum(a)`` an integer,
    decimal (with ``a``'s scale) or float by ``a``'s type, ``min(a)``/``max(a)``
    have ``a``'s type (dates stay dates, enums enums).  Anything else is
    untyped: numbers come back as the database computes them.
    ``attribute_type(name)`` is the type of an attribute, or None.
    """
    toks = [t for t in tokenize(text) if t.kind != "space"]
    if len(toks) < 3 or toks[0].kind != "ident" or toks[1].text != "(" or toks[-1].text != ")":
        return None
    if _closing_paren(toks, 1) != len(toks) - 1:
        return None  # e.g. count(a) + sum(b)
    func = toks[0].text.lower()
    if func == "count":
        return _INT64
    inner = toks[2:-1]
    if inner and inner[0].kind == "ident" and inner[0].text.lower() == "distinct":
        inner = inner[1:]
    if len(inner) != 1 or inner[0].kind not in ("ident", "btick"):
        return _FLOAT64 if func == "avg" else None
    name = inner[0].text[1:-1].replace("``", "`") if inner[0].kind == "btick" else inner[0].text
    spec = attribute_type(name)
    if func == "avg":
        return _FLOAT64
    if spec is None:
        return None
    kind = spec.kind
    if func == "sum":
        if kind in ("int", "bool"):
            return _INT64
        if kind == "float":
            return _FLOAT64
        if kind == "decimal":
            return TypeSpec("decimal", (65, spec.args[1]))
        return None
    if func in ("min", "max") and kind not in ("blob", "json", "attach", "external"):
        return spec
    return None


def _closing_paren(toks: list[Token], open_index: int) -> int:
    depth = 0
    for j in range(open_index, len(toks)):
        if toks[j].text == "(":
            depth += 1
        elif toks[j].text == ")":
            depth -= 1
            if depth == 0:
                return j
    return -1
