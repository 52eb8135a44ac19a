"""The front end: files -> validated :class:`~relflow_gen.compiler.ir.Project` or diagnostics.

Runs the stages in order: read, :func:`~relflow_gen.compiler.parse.parse`,
:func:`~relflow_gen.compiler.lower.lower` (following ``import`` statements),
:func:`~relflow_gen.compiler.resolve.resolve` and :func:`~relflow_gen.compiler.validate.validate`.
Only :func:`read_file` touches the file system; :func:`compile_sources` is pure
over a ``{path: text}`` mapping.
"""

from __future__ import annotations

import dataclasses
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
    """Compile a root `.rf` file and everything it imports.

    Reads, parses and lowers the root file and, depth first, every file it
    imports; then checks schema names are unique, resolves all schemas together
    and validates the project.
    """
    loader = _Loader(reader)
    root_schema = loader.visit(posixpath.normpath(path.replace("\\", "/")), None, ())
    if root_schema is None:
        return Compilation(None, loader.diags, loader.sources)
    diags = loader.diags
    unique = _unique_names(loader.ordered, diags)
    visible = {s.name: tuple(i.schema for i in s.imports if i.schema) for s in unique}
    resolved, res_diags = resolve(tuple(unique), visible)
    diags.extend(res_diags)
    project = Project(resolved, root_schema.name)
    diags.extend(validate(project))
    return Compilation(project, _dedupe(diags), loader.sources)


@dataclass
class _Loader:
    """Reads, parses and lowers files, following imports (read stage: E0002, E0003, E0004)."""

    reader: Reader
    sources: dict[str, str] = field(default_factory=dict)
    diags: list[Diagnostic] = field(default_factory=list)
    schemas: dict[str, Schema] = field(default_factory=dict)  # by file identity
    ordered: list[Schema] = field(default_factory=list)  # imports before the files importing them
    shown: dict[str, str] = field(default_factory=dict)  # identity -> path as first written

    def identity(self, file: str) -> str:
        """One key per file however its path is spelled (symlinks, ``../a/x.rf``)."""
        return os.path.realpath(file) if self.reader is read_file else file

    def visit(self, file: str, via: Import | None, stack: tuple[str, ...]) -> Schema | None:
        """The schema of ``file`` (imported ``via`` an import statement), or None when it has none."""
        key = self.identity(file)
        if key in stack:
            assert via is not None
            names = [self.shown.get(k, k) for k in stack[stack.index(key) :]]
            cycle = " -> ".join([*names, self.shown.get(key, file)])
            self.diags.append(Diagnostic("E0004", f"import cycle: {cycle}", via.span))
            return None
        if key in self.schemas:
            return self.schemas[key]
        self.shown.setdefault(key, file)
        schema = self._load(file, via)
        if schema is None:
            return None
        schema = self._follow_imports(file, schema, (*stack, key))
        self.schemas[key] = schema
        self.ordered.append(schema)
        return schema

    def _load(self, file: str, via: Import | None) -> Schema | None:
        """Read, parse and lower one file."""
        text = self.reader(file)
        if text is None:
            if via is None:
                self.diags.append(Diagnostic("E0002", f"cannot read `{file}`", Span.none(file)))
            else:
                self.diags.append(
                    Diagnostic("E0003", f"cannot import `{via.path}`: no readable file `{file}`", via.span)
                )
            return None
        result = parse(text, file)
        self.sources[file] = result.text
        schema, lowered = lower(result)
        self.diags.extend(lowered)
        return schema

    def _follow_imports(self, file: str, schema: Schema, stack: tuple[str, ...]) -> Schema:
        """Visit the imports of ``schema`` (paths relative to its file) and record whose schema each is."""
        resolved: list[Import] = []
        for imp in schema.imports:
            target = posixpath.normpath(posixpath.join(posixpath.dirname(file), imp.path))
            child = self.visit(target, imp, stack)
            resolved.append(Import(imp.path, child.name if child else "", imp.span))
        return dataclasses.replace(schema, imports=tuple(resolved))


def _unique_names(schemas: list[Schema], diags: list[Diagnostic]) -> list[Schema]:
    """The schemas with distinct names; a name used by a second file is E0127 (read stage)."""
    names: dict[str, Schema] = {}
    unique: list[Schema] = []
    for s in schemas:
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
    return unique


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
