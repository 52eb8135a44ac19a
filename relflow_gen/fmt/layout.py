"""Layout of formatted `.rf` text: comments, blank lines and comment alignment.

:mod:`relflow_gen.fmt.formatter` turns a parse tree into a list of :class:`Line`
values (the code of the file, one output line each, with the range of source
lines it came from).  :func:`render` weaves the source comments back in and
decides blank lines and the column of trailing comments:

* A *trailing* comment (code before it on its source line) stays trailing on
  the last output line that ends on that source line.
* A *full-line* comment goes on its own line before the first output line that
  starts below it, indented like that line (like the body for a closing ``}``
  or ``)``); comments after the last line end the file.
* Blank lines: none after an opening line or before a closing line, exactly
  one before a top-level section (``import`` group, table block) and the
  comments leading it, elsewhere one where the source had at least one.
* Trailing comments of a *run* -- consecutive lines of the same family
  (members of a block, rows of a contents block, items of a broken list,
  schema/import lines) at the same depth, with no blank line or full-line
  comment between them -- start in one column: two spaces after the longest
  of the run's lines that carry a comment (a long line without a comment
  does not push the others to the right).  Widths are display widths
  (:func:`display_width`).
"""

from __future__ import annotations

import bisect
import unicodedata
from dataclasses import dataclass, field

from relflow_gen.compiler.parse import Comment

INDENT = "    "


@dataclass
class Line:
    """One output line of code (without indentation and comment).

    ``first``/``last`` are the source lines it covers (comment placement),
    ``family`` names the alignment family ("" aligns with nothing),
    ``comment_depth`` the depth of full-line comments placed before it.
    """

    text: str
    depth: int
    first: int
    last: int
    family: str = ""
    opener: bool = False
    closer: bool = False
    top: bool = False
    comment_depth: int | None = None
    leading: list[Comment] = field(default_factory=list)
    trailing: Comment | None = None


@dataclass
class _Entry:
    """An output line: a code line or a full-line comment."""

    text: str
    depth: int
    first: int
    last: int
    line: Line | None = None
    comment: str | None = None  # trailing comment text
    blank_before: bool = False


class Source:
    """The source text with line lookups."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.split("\n")
        self.starts: list[int] = [0]
        for ln in self.lines[:-1]:
            self.starts.append(self.starts[-1] + len(ln) + 1)
        self._blank_prefix = [0]
        for ln in self.lines:
            self._blank_prefix.append(self._blank_prefix[-1] + (1 if not ln.strip() else 0))

    def line_of(self, offset: int) -> int:
        """1-based line of a character offset."""
        return bisect.bisect_right(self.starts, offset)

    def offset(self, line: int, col: int) -> int:
        return self.starts[line - 1] + col - 1

    def blank_between(self, after: int, before: int) -> bool:
        """Is there a blank source line strictly between lines ``after`` and ``before``?"""
        if before - after < 2:
            return False
        return self._blank_prefix[before - 1] - self._blank_prefix[after] > 0

    def is_trailing(self, comment: Comment) -> bool:
        """Does code precede the comment on its line?"""
        return bool(self.lines[comment.line - 1][: comment.col - 1].strip())

    def comment_text(self, comment: Comment) -> str:
        """The comment as written, normalised to ``# text``."""
        raw = self.lines[comment.line - 1][comment.col - 1 :].rstrip()
        body = raw[1:]
        if body and body[0] not in " \t#!:":
            body = " " + body
        return "#" + body


def attach_comments(lines: list[Line], comments: list[Comment], src: Source) -> list[Comment]:
    """Attach every comment to a line; return the comments that end the file."""
    last_ending: dict[int, int] = {}
    for i, ln in enumerate(lines):
        last_ending[ln.last] = i
    firsts = [ln.first for ln in lines]
    tail: list[Comment] = []
    for c in sorted(comments, key=lambda c: (c.line, c.col)):
        if src.is_trailing(c):
            at = last_ending.get(c.line)
            if at is not None and lines[at].trailing is None:
                lines[at].trailing = c
                continue
            container = next((ln for ln in lines if ln.first <= c.line <= ln.last), None)
            if container is not None:  # inside a multi-line construct: keep it just before
                container.leading.append(c)
                continue
        j = bisect.bisect_right(firsts, c.line)
        if j < len(lines):
            lines[j].leading.append(c)
        else:
            tail.append(c)
    return tail


def render(lines: list[Line], comments: list[Comment], text: str) -> str:
    """The formatted file: code lines with comments, blank lines and alignment."""
    src = Source(text)
    tail = attach_comments(lines, comments, src)
    entries = _entries(lines, tail, src)
    _align(entries)
    out: list[str] = []
    for e in entries:
        if e.blank_before and out:
            out.append("")
        code = INDENT * e.depth + e.text if e.text else ""
        if e.comment is not None:
            out.append(code + e.comment)
        else:
            out.append(code)
    return "\n".join(out).rstrip("\n") + "\n"


def _entries(lines: list[Line], tail: list[Comment], src: Source) -> list[_Entry]:
    entries: list[_Entry] = []
    prev: _Entry | None = None

    def add(entry: _Entry, force_blank: bool) -> None:
        nonlocal prev
        if prev is None:
            entry.blank_before = False
        elif prev.line is not None and prev.line.opener:
            entry.blank_before = False
        elif entry.line is not None and entry.line.closer:
            entry.blank_before = False
        elif force_blank:
            entry.blank_before = True
        else:
            entry.blank_before = src.blank_between(prev.last, entry.first)
        entries.append(entry)
        prev = entry

    for ln in lines:
        force = ln.top
        depth = ln.comment_depth if ln.comment_depth is not None else ln.depth
        for c in ln.leading:
            add(_Entry(src.comment_text(c), depth, c.line, c.line), force)
            force = False
        entry = _Entry(ln.text, ln.depth, ln.first, ln.last, line=ln)
        if ln.trailing is not None:
            entry.comment = src.comment_text(ln.trailing)
        add(entry, force)
    for c in tail:
        add(_Entry(src.comment_text(c), 0, c.line, c.line), False)
    return entries


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: wide East Asian characters take two,
    combining marks and format characters none."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def _align(entries: list[_Entry]) -> None:
    """Give trailing comments their column: one per run, else two spaces."""
    run: list[_Entry] = []

    def code_width(e: _Entry) -> int:
        return len(INDENT) * e.depth + display_width(e.text)

    def flush() -> None:
        commented = [e for e in run if e.comment is not None]
        if commented:
            column = max(code_width(e) for e in commented) + 2
            for e in commented:
                assert e.comment is not None
                e.comment = " " * (column - code_width(e)) + e.comment
        run.clear()

    for e in entries:
        fam = e.line.family if e.line is not None else ""
        if run:
            head = run[0]
            assert head.line is not None
            if not fam or e.blank_before or fam != head.line.family or e.depth != head.depth:
                flush()
        if fam:
            run.append(e)
        elif e.comment is not None:
            e.comment = "  " + e.comment
    flush()
