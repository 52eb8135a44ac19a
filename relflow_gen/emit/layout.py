"""Line layout of generated Python expressions, the way black lays them out.

The emitter does not run black: it writes code that is already in black's
style, and the golden tests prove that black leaves every generated file
unchanged.  The view-model lays out the big literals with this module,
following black's rules for the shapes it produces (calls, tuples, keyword
arguments, no comments):

- an expression that fits on its line stays on one line, unless a *magic
  trailing comma* inside it forces it open;
- otherwise it is split at its own brackets: ``head(``, the body, ``)``;
- the body stays on one line (without a trailing comma) when it fits there;
  otherwise every item gets its own line with a trailing comma, each item laid
  out by the same rules.

A shape black would lay out differently is a bug caught by the golden tests
and by the unit tests that compare this layout with black's
(``tests/test_emit_units.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

INDENT = 4


@dataclass(slots=True)  # not frozen: nodes are made by the thousand, and frozen init is 3x slower
class Atom:
    """An expression that is never split (a name, a number, a string)."""

    text: str


@dataclass(slots=True)  # not frozen: nodes are made by the thousand, and frozen init is 3x slower
class Group:
    """A bracketed expression: ``head`` (ending in its opening bracket), items, ``close``."""

    head: str
    items: tuple[Node, ...]
    close: str = ")"
    magic: bool = False  # written with a trailing comma: one item per line


Node = Atom | Group


def call(func: str, *items: Node, magic: bool = False) -> Group:
    return Group(f"{func}(", tuple(items), ")", magic)


def tup(items: Sequence[Node], magic: bool = False) -> Node:
    """A tuple display; ``(x,)`` for one item and ``()`` for none."""
    if not items:
        return Atom("()")
    return Group("(", tuple(items), ")", magic)


def kw(name: str, value: Node) -> Node:
    """``name=value`` as an argument."""
    if isinstance(value, Atom):
        return Atom(f"{name}={value.text}")
    return Group(f"{name}={value.head}", value.items, value.close, value.magic)


def prefixed(prefix: str, value: Node) -> Node:
    """``prefix`` glued in front of an expression, e.g. ``NAME = `` for an assignment."""
    if isinstance(value, Atom):
        return Atom(prefix + value.text)
    return Group(prefix + value.head, value.items, value.close, value.magic)


def subscript(text: str, prefix: str = "") -> Node:
    """A type expression such as ``NotRequired[Literal["a", "b"]]`` as a node (``prefix`` glued in front)."""
    open_at = text.find("[")
    if open_at < 0 or not text.endswith("]") or _matching(text, open_at) != len(text) - 1:
        return Atom(prefix + text)
    items = tuple(subscript(part) for part in _split_top_level(text[open_at + 1 : -1]))
    return Group(prefix + text[: open_at + 1], items, "]")


def _matching(text: str, open_at: int) -> int:
    depth = 0
    in_string = ""
    for i in range(open_at, len(text)):
        ch = text[i]
        if in_string:
            if ch == "\\":
                continue
            if ch == in_string and text[i - 1] != "\\":
                in_string = ""
        elif ch in "\"'":
            in_string = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth == 0:
                return i
    return -1


def _split_top_level(text: str) -> list[str]:
    parts, depth, start, in_string = [], 0, 0, ""
    for i, ch in enumerate(text):
        if in_string:
            if ch == in_string and text[i - 1] != "\\":
                in_string = ""
        elif ch in "\"'":
            in_string = ch
        elif ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return parts


def _one_tuple(node: Group) -> bool:
    return node.head.endswith("(") and node.close == ")" and len(node.items) == 1 and not _is_call(node)


def _is_call(node: Group) -> bool:
    head = node.head[:-1]
    return bool(head) and (head[-1].isalnum() or head[-1] == "_") and not head.endswith("=")


def _magic(node: Group) -> bool:
    """Whether the group's own trailing comma forces it open (a one-tuple's comma does not)."""
    return node.magic and len(node.items) > 1


def has_magic(node: Node) -> bool:
    return isinstance(node, Group) and (_magic(node) or any(has_magic(i) for i in node.items))


def body(node: Group) -> str:
    return _Printer().body(node)


def flat(node: Node) -> str:
    """The expression on one line."""
    return _Printer().flat(node)


class _Printer:
    """Lays out one statement; remembers each node's one-line text and magic comma (by identity)."""

    def __init__(self) -> None:
        self._flat: dict[int, str] = {}
        self._magic: dict[int, bool] = {}

    def flat(self, node: Node) -> str:
        if isinstance(node, Atom):
            return node.text
        key = id(node)
        text = self._flat.get(key)
        if text is None:
            text = self._flat[key] = node.head + self.body(node) + node.close
        return text

    def body(self, node: Group) -> str:
        text = ", ".join([self.flat(i) for i in node.items])
        if _magic(node) or _one_tuple(node):
            text += ","
        return text

    def has_magic(self, node: Node) -> bool:
        if isinstance(node, Atom):
            return False
        key = id(node)
        found = self._magic.get(key)
        if found is None:
            found = self._magic[key] = _magic(node) or any([self.has_magic(i) for i in node.items])
        return found

    def layout(self, node: Node, indent: int, suffix: str, width: int) -> list[str]:
        pad = " " * indent
        if isinstance(node, Atom):
            return [pad + node.text + suffix]
        magic = self.has_magic(node)
        if not magic and indent + len(self.flat(node)) + len(suffix) <= width:
            return [pad + self.flat(node) + suffix]
        inner = indent + INDENT
        if not magic:
            one_line = ", ".join([self.flat(i) for i in node.items]) + ("," if _one_tuple(node) else "")
            if inner + len(one_line) <= width:
                return [pad + node.head, " " * inner + one_line, pad + node.close + suffix]
        lines = [pad + node.head]
        for item in node.items:
            lines.extend(self.layout(item, inner, ",", width))
        lines.append(pad + node.close + suffix)
        return lines


def layout(node: Node, indent: int, suffix: str = "", width: int = 100) -> list[str]:
    """The lines of ``node`` at ``indent`` spaces, ``suffix`` (``,`` or ``""``) after it."""
    return _Printer().layout(node, indent, suffix, width)


def block(node: Node, indent: int = 0, suffix: str = "", width: int = 100) -> str:
    """``node`` laid out as a statement (no trailing newline), ``suffix`` (e.g. ``:``) at its end."""
    return "\n".join(_Printer().layout(node, indent, suffix, width))
