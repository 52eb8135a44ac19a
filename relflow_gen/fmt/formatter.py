"""``relflow-gen format``: the canonical layout of `.rf` files.

The formatter works from the lark parse tree (:func:`relflow_gen.compiler.parse.parse`)
and the comments the parser collects.  It walks the tree and produces one
:class:`~relflow_gen.fmt.layout.Line` per output line of code, in source
order and with the source lines each came from; :func:`format_layout.render`
puts the comments back, decides blank lines and aligns trailing comments.

Canonical spelling (docs/formatting.md is the user-facing description):

* 4 spaces per nesting level; ``schema name "doc"``, ``import "x.rf"``,
  ``tier Name "doc" {``, ``name = default: type``, ``---``,
  ``-> [nullable, unique] Table.proj(new="old")``, ``index(a, b)``,
  ``unique index(a)``, ``contents {`` with one row per line.
* Types keep the user's spelling, in lower case with single spaces:
  ``int unsigned``, ``varchar(32)``, ``decimal(5, 2)``, ``enum("a", "b")``.
* Strings are double-quoted unless that needs more escaping; the words
  ``null``, ``true``, ``false`` are lower case and ``CURRENT_TIMESTAMP`` upper
  case; numbers are kept exactly as written.
* A parenthesised list is written on one line, unless a comment sits inside
  it or it was written across lines with a trailing comma (where the grammar
  allows one): then it is broken one item per line.
* Positional rows of a contents block are aligned in columns.

Before returning, the result is checked: it must parse, keep every comment
and lower to the same IR (spans aside) as the input.  A failed check is a bug
in the formatter and raises :class:`FormatterBug` instead of writing a file
that means something else.
"""

from __future__ import annotations

import ast
import bisect
import warnings
from dataclasses import dataclass
from typing import Any

from lark import Token, Tree

from relflow_gen.compiler.diagnostics import Diagnostic
from relflow_gen.compiler.ir import Span, to_data
from relflow_gen.compiler.lower import lower
from relflow_gen.compiler.parse import ParseResult, parse
from relflow_gen.core.errors import RelflowError
from relflow_gen.core.types import quote
from relflow_gen.fmt.layout import Line, Source, display_width, render

KEYWORD_WORDS = {"null": "null", "true": "true", "false": "false", "current_timestamp": "CURRENT_TIMESTAMP"}


class FormatterBug(RelflowError):
    """The formatted text would not mean what the input meant (a formatter bug)."""


def format_text(text: str, file: str) -> tuple[str | None, list[Diagnostic]]:
    """Format `.rf` text.  Returns ``(formatted, [])``, or ``(None, syntax diagnostics)``."""
    result = parse(text, file)
    if result.tree is None:
        return None, list(result.diagnostics)
    try:
        lines = _Builder(result).build()
        formatted = render(lines, result.comments, result.text)
        _verify(result, formatted)
    except RecursionError:
        return None, [Diagnostic("E0001", "input nested too deeply", Span(file, 1, 1, 1, 2))]
    return formatted, []


# --------------------------------------------------------------------------
# Literals
# --------------------------------------------------------------------------


def _decode(literal: str) -> str:
    """The value of a string literal, as :mod:`relflow_gen.compiler.lower` reads it."""
    try:
        with warnings.catch_warnings():  # invalid escapes such as "\d" only warn
            warnings.simplefilter("ignore")
            value = ast.literal_eval(literal)
    except (ValueError, SyntaxError):
        return literal[1:-1]
    return value if isinstance(value, str) else literal[1:-1]


def string_text(literal: str) -> str:
    """A string literal in double quotes, unless that would need more escaping."""
    if literal.startswith('"'):
        return literal
    body = literal[1:-1]
    if '"' in body:
        return literal
    out: list[str] = []
    i = 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            pair = body[i : i + 2]
            out.append("'" if pair == "\\'" else pair)
            i += 2
        else:
            out.append(body[i])
            i += 1
    requoted = '"' + "".join(out) + '"'
    return requoted if _decode(requoted) == _decode(literal) else literal


def value_text(node: Tree[Token] | Token) -> str:
    """The canonical spelling of a value node (``string``, ``number`` or ``word``)."""
    tok = node.children[0] if isinstance(node, Tree) else node
    assert isinstance(tok, Token)
    text = str(tok)
    if tok.type == "STRING":
        return string_text(text)
    if tok.type == "NAME":
        return KEYWORD_WORDS.get(text.lower(), text)
    return text


# --------------------------------------------------------------------------
# Tree -> lines
# --------------------------------------------------------------------------


@dataclass
class _Item:
    """One item of a parenthesised list, with the source lines it spans."""

    text: str
    first: int
    last: int


@dataclass
class _Group:
    """A parenthesised list: its items and where its parentheses are."""

    items: list[_Item]
    open_off: int
    close_off: int
    comma_ok: bool  # may the list end with a comma (the grammar allows it)?
    broken: bool = False  # laid out one item per line
    positional: bool = False  # a contents row without `name=value` cells

    def inline(self) -> str:
        return "(" + ", ".join(i.text for i in self.items) + ")"


_Piece = str | _Group


def _tok(node: Tree[Token] | Token) -> Token:
    assert isinstance(node, Token)
    return node


def _tree(node: Tree[Token] | Token) -> Tree[Token]:
    assert isinstance(node, Tree)
    return node


class _Builder:
    def __init__(self, result: ParseResult) -> None:
        assert result.tree is not None
        self.tree = result.tree
        self.src = Source(result.text)
        self.text = result.text
        self.comment_offs = sorted(self.src.offset(c.line, c.col) for c in result.comments)
        self.lines: list[Line] = []

    # -- helpers ------------------------------------------------------------

    def skip(self, pos: int) -> int:
        """The offset of the next token at or after ``pos`` (skips blanks and comments)."""
        text = self.text
        while pos < len(text):
            ch = text[pos]
            if ch in " \t\f\r\n":
                pos += 1
            elif ch == "#":
                end = text.find("\n", pos)
                pos = len(text) if end < 0 else end
            else:
                break
        return pos

    def expect(self, pos: int, ch: str) -> int:
        """The offset of punctuation ``ch``, the next token at or after ``pos``."""
        at = self.skip(pos)
        assert self.text[at : at + 1] == ch, f"expected {ch!r} at offset {at}"
        return at

    def line_at(self, offset: int) -> int:
        """The source line of an offset."""
        return self.src.line_of(offset)

    def has_comment(self, start: int, end: int) -> bool:
        """Is there a comment strictly between the two offsets?"""
        i = bisect.bisect_right(self.comment_offs, start)
        return i < len(self.comment_offs) and self.comment_offs[i] < end

    def group(self, items: list[_Item], open_off: int, last_end: int, comma_ok: bool) -> _Group:
        """A list whose ``(`` is at ``open_off`` and whose last item ends at ``last_end``."""
        after = self.skip(last_end)
        trailing_comma = bool(items) and self.text[after] == ","
        close = self.expect(after + 1 if trailing_comma else after, ")")
        g = _Group(items, open_off, close, comma_ok)
        magic = comma_ok and trailing_comma and self.line_at(open_off) != self.line_at(close)
        g.broken = magic or self.has_comment(open_off, close)
        return g

    def emit(self, pieces: list[_Piece], depth: int, first: int, last: int, family: str) -> None:
        """Emit code made of text and lists; broken lists take several lines."""
        cur = ""
        cur_first = first
        broke = False
        for p in pieces:
            if isinstance(p, str):
                cur += p
            elif not p.broken:
                cur += p.inline()
            else:
                self.lines.append(
                    Line(cur + "(", depth, cur_first, self.line_at(p.open_off), opener=True, closer=broke)
                )
                for k, item in enumerate(p.items):
                    comma = "," if k < len(p.items) - 1 or p.comma_ok else ""
                    self.lines.append(
                        Line(item.text + comma, depth + 1, item.first, item.last, family="item")
                    )
                cur = ")"
                cur_first = self.line_at(p.close_off)
                broke = True
        if broke:
            self.lines.append(Line(cur, depth, cur_first, last, closer=True, comment_depth=depth + 1))
        else:
            self.lines.append(Line(cur, depth, first, last, family=family))

    # -- top level ----------------------------------------------------------

    def build(self) -> list[Line]:
        first_import = True
        for child in self.tree.children:
            if not isinstance(child, Tree):
                continue
            if child.data == "schema_decl":
                name = _tok(child.children[0])
                text = f"schema {name}"
                last_tok = name
                if len(child.children) > 1:
                    last_tok = _tok(child.children[1])
                    text += " " + string_text(str(last_tok))
                self.lines.append(Line(text, 0, child.meta.line, last_tok.end_line or 1, family="decl"))
            elif child.data == "import_decl":
                path = _tok(child.children[0])
                self.lines.append(
                    Line(
                        "import " + string_text(str(path)),
                        0,
                        child.meta.line,
                        path.end_line or 1,
                        family="decl",
                        top=first_import,
                    )
                )
                first_import = False
            elif child.data == "block":
                self.block(child, 0)
        return self.lines

    def block(self, node: Tree[Token], depth: int) -> int:
        """Emit a table block; return the offset just after its ``}``."""
        tier_node, name_tok, *rest = node.children
        tier = _tok(_tree(tier_node).children[0])
        name = _tok(name_tok)
        header = f"{tier} {name}"
        head_end = name.end_pos or 0
        if rest and isinstance(rest[0], Token) and rest[0].type == "STRING":
            header += " " + string_text(str(rest[0]))
            head_end = rest[0].end_pos or 0
            rest = rest[1:]
        brace = self.expect(head_end, "{")
        self.lines.append(
            Line(header + " {", depth, node.meta.line, self.line_at(brace), opener=True, top=depth == 0)
        )
        pos = brace + 1
        for member in rest:
            pos = self.member(_tree(member), depth + 1)
        close = self.expect(pos, "}")
        self.lines.append(
            Line("}", depth, self.line_at(close), self.line_at(close), closer=True, comment_depth=depth + 1)
        )
        return close + 1

    def member(self, node: Tree[Token], depth: int) -> int:
        """Emit one member of a block; return the offset just after it."""
        kind = node.data
        if kind == "block":
            return self.block(node, depth)
        if kind == "contents":
            return self.contents(node, depth)
        first, last = node.meta.line, node.meta.end_line
        if kind == "divider":
            self.lines.append(Line("---", depth, first, last, family="member"))
        elif kind == "attribute":
            self.emit(self.attribute(node), depth, first, last, "member")
        elif kind == "foreign_key":
            self.emit(self.foreign_key(node), depth, first, last, "member")
        elif kind == "index":
            self.emit(self.index(node), depth, first, last, "member")
        else:  # pragma: no cover - the grammar has no other members
            raise AssertionError(f"unknown member {kind}")
        end: int = node.meta.end_pos
        return end

    # -- members ------------------------------------------------------------

    def attribute(self, node: Tree[Token]) -> list[_Piece]:
        name = _tok(node.children[0])
        text = str(name)
        pieces: list[_Piece] = []
        for child in node.children[1:]:
            child = _tree(child)
            if child.data == "default":
                text += " = " + value_text(child.children[0])
            elif child.data == "type":
                before: list[str] = []
                after: list[str] = []
                args = [a for a in child.children if isinstance(a, Tree)]
                for w in child.children:
                    if isinstance(w, Token):
                        late = bool(args) and (w.start_pos or 0) > args[0].meta.start_pos
                        (after if late else before).append(str(w).lower())
                words = [w for w in child.children if isinstance(w, Token)]
                if len(words) == 3 and str(words[1]) == "@":  # blob@store: the store's name keeps its case
                    text += ": " + str(words[0]).lower() + "@" + str(words[2])
                else:
                    text += ": " + " ".join(before)
                pieces.append(text)
                if args:
                    pieces.append(self.value_list(args[0]))
                if after:
                    pieces.append(" " + " ".join(after))
        return pieces

    def value_list(self, node: Tree[Token]) -> _Group:
        """``type_args``: ``(`` values ``)``."""
        items = [self.item(value_text(v), _tree(v)) for v in node.children]
        return self.group(items, node.meta.start_pos, _last_end(node), comma_ok=True)

    def item(self, text: str, node: Tree[Token]) -> _Item:
        return _Item(text, node.meta.line, node.meta.end_line)

    def foreign_key(self, node: Tree[Token]) -> list[_Piece]:
        pieces: list[_Piece] = []
        text = "-> "
        for child in node.children:
            if isinstance(child, Token):
                text += str(child)
            elif child.data == "fk_options":
                options = [str(o) for o in child.children]
                if options:
                    text += "[" + ", ".join(options) + "] "
            elif child.data == "ref_part":
                text += "." + str(child.children[0])
            elif child.data == "renames":
                proj = _tok(child.children[0])
                pieces.append(text + ".proj")
                text = ""
                renames = [_tree(r) for r in child.children[1:]]
                items = [self.item(f"{_tok(r.children[0])}={value_text(r.children[1])}", r) for r in renames]
                open_off = self.expect(proj.end_pos or 0, "(")
                last_end = renames[-1].meta.end_pos if renames else open_off + 1
                pieces.append(self.group(items, open_off, last_end, comma_ok=True))
        if text:
            pieces.append(text)
        return pieces

    def index(self, node: Tree[Token]) -> list[_Piece]:
        unique = any(isinstance(t, Token) and t.type == "UNIQUE" for t in node.children)
        kw = next(t for t in node.children if isinstance(t, Token) and t.type == "INDEX")
        names = [t for t in node.children if isinstance(t, Token) and t.type == "NAME"]
        items = [_Item(str(t), t.line or 1, t.end_line or 1) for t in names]
        open_off = self.expect(kw.end_pos or 0, "(")
        last_end = (names[-1].end_pos or 0) if names else open_off + 1
        return [
            ("unique " if unique else "") + "index",
            self.group(items, open_off, last_end, comma_ok=False),
        ]

    # -- contents -----------------------------------------------------------

    def contents(self, node: Tree[Token], depth: int) -> int:
        kw = _tok(node.children[0])
        brace = self.expect(kw.end_pos or 0, "{")
        self.lines.append(Line("contents {", depth, node.meta.line, self.line_at(brace), opener=True))
        rows = [_tree(r) for r in node.children[1:] if isinstance(r, Tree)]
        groups = [self.row(r) for r in rows]
        widths = _column_widths([g for g in groups if _aligned(g)])
        pos = brace + 1
        for row, g in zip(rows, groups):
            first, last = row.meta.line, row.meta.end_line
            if _aligned(g):
                self.lines.append(Line(_aligned_row(g, widths), depth + 1, first, last, family="row"))
            else:
                self.emit([g], depth + 1, first, last, "row")
            pos = row.meta.end_pos
        close = self.expect(pos, "}")
        self.lines.append(
            Line("}", depth, self.line_at(close), self.line_at(close), closer=True, comment_depth=depth + 1)
        )
        return close + 1

    def row(self, node: Tree[Token]) -> _Group:
        items: list[_Item] = []
        positional = True
        for cell in node.children:
            cell = _tree(cell)
            if cell.data == "named_cell":
                positional = False
                text = f"{_tok(cell.children[0])}={value_text(cell.children[1])}"
            else:
                text = value_text(cell)
            items.append(self.item(text, cell))
        g = self.group(items, node.meta.start_pos, _last_end(node), comma_ok=True)
        g.positional = positional
        return g


def _last_end(node: Tree[Token]) -> int:
    if node.children:
        end: int = _tree(node.children[-1]).meta.end_pos
        return end
    start: int = node.meta.start_pos
    return start + 1


def _aligned(g: _Group) -> bool:
    """Is this contents row a one-line positional row (aligned in columns)?"""
    return not g.broken and g.positional and len(g.items) > 1


def _column_widths(groups: list[_Group]) -> list[int]:
    """Width of each column (all cells but a row's last), over the aligned rows."""
    widths: list[int] = []
    for g in groups:
        for k, item in enumerate(g.items[:-1]):
            if k == len(widths):
                widths.append(0)
            widths[k] = max(widths[k], display_width(item.text))
    return widths


def _aligned_row(g: _Group, widths: list[int]) -> str:
    cells = [
        item.text + "," + " " * (widths[k] - display_width(item.text) + 1)
        for k, item in enumerate(g.items[:-1])
    ]
    return "(" + "".join(cells) + g.items[-1].text + ")"


# --------------------------------------------------------------------------
# Verification: the formatted text means what the input meant
# --------------------------------------------------------------------------


def meaning(data: Any) -> Any:
    """IR data (:func:`relflow_gen.compiler.ir.to_data`) without spans and literal spellings."""
    if isinstance(data, dict):
        out = {k: meaning(v) for k, v in data.items() if k not in ("span", "name_span")}
        if out.get("kind") == "str" and "text" in out:
            out["text"] = quote(str(out["value"]))
        return out
    if isinstance(data, list):
        return [meaning(x) for x in data]
    return data


def _verify(original: ParseResult, formatted: str) -> None:
    again = parse(formatted, original.file)
    if again.tree is None:
        raise FormatterBug(
            "the formatted text does not parse: " + "; ".join(d.message for d in again.diagnostics)
        )
    before = [c.text for c in original.comments]
    after = [c.text for c in again.comments]
    if before != after:
        raise FormatterBug(f"the formatter lost or reordered comments: {before} -> {after}")
    try:
        schema_a, diags_a = lower(original)
    except Exception:  # noqa: BLE001 - a lowering bug is not the formatter's to report
        return
    schema_b, diags_b = lower(again)
    if meaning(to_data(schema_a)) != meaning(to_data(schema_b)):
        raise FormatterBug("the formatted text lowers to a different schema")
    if sorted(d.code for d in diags_a) != sorted(d.code for d in diags_b):
        raise FormatterBug("the formatted text has different diagnostics")
