"""Diagnostics: coded, located, rendered problems in `.rf` sources.

Every problem the front end finds is a :class:`Diagnostic` with a stable code
from :data:`CODES`, a source span and an optional hint.  :func:`render` prints
them like a compiler (``error[E0101]: ...`` / ``--> file:line:col`` / source
line with a caret); :func:`to_json` gives the same for tools.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from relflow_gen.compiler.ir import Span

Severity = Literal["error", "warning"]

#: Stable diagnostic codes and their one-line meaning (docs/diagnostics.md lists them).
CODES: dict[str, str] = {
    "E0001": "syntax error",
    "E0002": "file cannot be read",
    "E0003": "import cannot be resolved",
    "E0004": "import cycle",
    "E0101": "unknown reference",
    "E0102": "dependency cycle",
    "E0103": "duplicate table",
    "E0104": "duplicate attribute",
    "E0105": "nullable primary-key attribute",
    "E0106": "blob, json or text attribute in the primary key",
    "E0107": "nullable foreign key in the primary key",
    "E0108": "default does not fit its type",
    "E0109": "enum default not among its values",
    "E0110": "imported/computed table without a foreign key in its primary key",
    "E0111": "part table outside a master",
    "E0112": "part table nested in a part table",
    "E0113": "lookup contents row does not fit the heading",
    "E0114": "lookup contents repeat a primary key",
    "E0115": "rename of an attribute the parent does not have",
    "E0116": "self-reference that is not a renamed secondary foreign key",
    "E0117": "name that Python or the generated package reserves",
    "E0118": "identifier too long",
    "E0119": "unknown type",
    "E0120": "naming convention",
    "E0121": "bad type arguments",
    "E0122": "unknown foreign-key option",
    "E0123": "index on an unknown attribute",
    "E0124": "contents outside a lookup table",
    "E0125": "table without a primary key",
    "E0126": "`-> master` outside a part table",
    "E0127": "duplicate schema name",
    "E0128": "duplicate index",
    "E0129": "schema without tables: nothing to build",
    "E0130": "text holds a character no generated file can hold",
    "E0131": "enum value the server would change",
    "E0140": "table other than a part nested in a table",
    "E0141": "second `---` divider",
    "E0142": "table blocks nested too deep",
    "E0143": "bare word where a value is expected",
    "E0144": "`.proj(...)` not last in a reference, or given twice",
    "E0145": "index without attributes",
    "E0146": "second `contents` block",
    "E0147": "contents row mixes positional and named values",
    "E0150": "store or attach attribute used where values are compared or literal",
    # warnings: the schema works, but something in it is redundant
    "W0201": "redundant index or foreign-key option",
}

#: The stage that reports each code (one stage per code; docs/diagnostics.md shows it):
#: read (files and imports, :mod:`.frontend`), parse (the grammar, :mod:`.parse`), lower
#: (one file's tree to IR, :mod:`.lower`), resolve (references and headings across files,
#: :mod:`.resolve`), validate (the rules of the language, :mod:`.validate`).
STAGES: dict[str, str] = {
    "E0001": "parse",
    **dict.fromkeys(("E0002", "E0003", "E0004", "E0127"), "read"),
    **dict.fromkeys(("E0119", "E0121", "E0122", "E0140", "E0141", "E0142", "E0143", "E0144", "E0145", "E0146", "E0147"), "lower"),
    **dict.fromkeys(("E0101", "E0102", "E0103", "E0104", "E0115", "E0116", "E0126"), "resolve"),
    **dict.fromkeys(
        (
            "E0105", "E0106", "E0107", "E0108", "E0109", "E0110", "E0111", "E0112", "E0113", "E0114",
            "E0117", "E0118", "E0120", "E0123", "E0124", "E0125", "E0128", "E0129", "E0130", "E0131",
            "E0150", "W0201",
        ),
        "validate",
    ),
}


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    span: Span
    hint: str | None = None
    severity: Severity = "error"
    notes: tuple[str, ...] = ()

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.span.file, self.span.line, self.span.col, self.code)


def render(diag: Diagnostic, sources: dict[str, str]) -> str:
    """Render one diagnostic in the human format."""
    s = diag.span
    out = [f"{diag.severity}[{diag.code}]: {diag.message}", f"  --> {s.file}:{s.line}:{s.col}"]
    text = sources.get(s.file)
    if text is not None and s.line >= 1:
        lines = text.split("\n")
        if s.line <= len(lines):
            line = "".join(ch if ch.isprintable() else " " for ch in lines[s.line - 1].expandtabs(1))
            gutter = str(s.line)
            pad = " " * len(gutter)
            end = s.end_col if s.end_line == s.line and s.end_col > s.col else s.col + 1
            end = min(max(end, s.col + 1), max(len(line) + 1, s.col + 1))
            out.append(f"{pad} |")
            out.append(f"{gutter} | {line}")
            out.append(f"{pad} | " + " " * (s.col - 1) + "^" * (end - s.col))
    for note in diag.notes:
        out.append(f"   = note: {note}")
    if diag.hint:
        out.append(f"   = hint: {diag.hint}")
    return "\n".join(out)


def render_all(diags: list[Diagnostic], sources: dict[str, str]) -> str:
    """Render diagnostics followed by a summary line."""
    parts = [render(d, sources) for d in sorted(diags, key=Diagnostic.sort_key)]
    errors = sum(1 for d in diags if d.is_error)
    warnings = len(diags) - errors
    summary = f"{errors} error{'s' if errors != 1 else ''}"
    if warnings:
        summary += f", {warnings} warning{'s' if warnings != 1 else ''}"
    return "\n\n".join(parts) + ("\n\n" if parts else "") + summary + " found"


def to_json(diags: list[Diagnostic]) -> str:
    """Diagnostics as a JSON document for tools (``--error-format json``)."""
    items = [
        {
            "code": d.code,
            "severity": d.severity,
            "message": d.message,
            "file": d.span.file,
            "line": d.span.line,
            "column": d.span.col,
            "end_line": d.span.end_line,
            "end_column": d.span.end_col,
            "hint": d.hint,
            "notes": list(d.notes),
        }
        for d in sorted(diags, key=Diagnostic.sort_key)
    ]
    return json.dumps({"diagnostics": items, "errors": sum(1 for d in diags if d.is_error)}, indent=2)
