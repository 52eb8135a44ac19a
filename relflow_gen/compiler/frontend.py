"""The front end: files -> validated :class:`~relflow_gen.compiler.ir.Project` or diagnostics.

Runs the stages in order: read, :func:`~relflow_gen.compiler.parse.parse`,
:func:`~relflow_gen.compiler.lower.lower` (following ``import`` statements),
:func:`~relflow_gen.compiler.resolve.resolve` and :func:`~relflow_gen.compiler.validate.validate`.
Only :func:`read_file` touches the file system; :func:`compile_sources` is pure
over a ``{path: text}`` mapping.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from relflow_gen.compiler.diagnostics import Diagnostic
from relflow_gen.compiler.ir import Import, Project, Schema, Span
from relflow_gen.compiler.lower import lower
from relflow_gen.compiler.parse import parse
from relflow_gen.compiler.resolve import resolve
from relflow_gen.compiler.validate import validate

Reader = Callable[[str], str | None]


@dataclass
class Compilation:
    project: Project | None
    diagnostics: list[Diagnostic]
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.project is not None and not any(d.is_error for d in self.diagnostics)


def read_file(path: str) -> str | None:
    """The text of a regular file; None when it is missing, not a file (a directory,
    a device such as /dev/zero) or not UTF-8."""
    try:
        file = Path(path)
        if not file.is_file():
            return None
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def compile_file(path: str, reader: Reader = read_file) -> Compilation:
    """Compile a root `.rf` file and everything it imports."""
    sources: dict[str, str] = {}
    diags: list[Diagnostic] = []
    schemas: dict[str, Schema] = {}  # by file
    ordered: list[Schema] = []
    root = posixpath.normpath(path.replace("\\", "/"))

    real_files = reader is read_file
    shown: dict[str, str] = {}  # identity -> path as first written

    def identity(file: str) -> str:
        """One key per file however its path is spelled (symlinks, ``../a/x.rf``)."""
        return os.path.realpath(file) if real_files else file

    def visit(file: str, via: Import | None, stack: tuple[str, ...]) -> Schema | None:
        key = identity(file)
        if key in stack:
            assert via is not None
            names = [shown.get(k, k) for k in stack[stack.index(key) :]]
            cycle = " -> ".join([*names, shown.get(key, file)])
            diags.append(Diagnostic("E0004", f"import cycle: {cycle}", via.span))
            return None
        if key in schemas:
            return schemas[key]
        shown.setdefault(key, file)
        stack = (*stack, key)
        text = reader(file)
        if text is None:
            if via is None:
                diags.append(Diagnostic("E0002", f"cannot read `{file}`", Span.none(file)))
            else:
                diags.append(
                    Diagnostic("E0003", f"cannot import `{via.path}`: no readable file `{file}`", via.span)
                )
            return None
        result = parse(text, file)
        sources[file] = result.text
        schema, lowered = lower(result)
        diags.extend(lowered)
        if schema is None:
            return None
        resolved_imports: list[Import] = []
        for imp in schema.imports:
            target = posixpath.normpath(posixpath.join(posixpath.dirname(file), imp.path))
            child = visit(target, imp, stack)
            resolved_imports.append(Import(imp.path, child.name if child else "", imp.span))
        schema = Schema(schema.name, schema.doc, schema.file, tuple(resolved_imports), schema.tables, schema.span)
        schemas[key] = schema
        ordered.append(schema)
        return schema

    root_schema = visit(root, None, ())
    if root_schema is None:
        return Compilation(None, diags, sources)
    names: dict[str, Schema] = {}
    unique: list[Schema] = []
    for s in ordered:
        if s.name in names:
            first = names[s.name]
            diags.append(
                Diagnostic(
                    "E0127",
                    f"schema name `{s.name}` is used by both `{first.file}` and `{s.file}`",
                    s.span,
                    "every schema of a build needs its own name",
                )
            )
            continue
        names[s.name] = s
        unique.append(s)
    visible = {s.name: tuple(i.schema for i in s.imports if i.schema) for s in unique}
    resolved, res_diags = resolve(tuple(unique), visible)
    diags.extend(res_diags)
    project = Project(resolved, root_schema.name)
    diags.extend(validate(project))
    return Compilation(project, _dedupe(diags), sources)


def compile_text(text: str, file: str = "input.rf") -> Compilation:
    """Compile a single in-memory source (imports are not available)."""
    return compile_file(file, lambda p: text if p == posixpath.normpath(file) else None)


def _dedupe(diags: list[Diagnostic]) -> list[Diagnostic]:
    seen: set[tuple[str, str, Span]] = set()
    out: list[Diagnostic] = []
    for d in diags:
        key = (d.code, d.message, d.span)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return sorted(out, key=Diagnostic.sort_key)
