"""The emitter: a validated :class:`~relflow_gen.compiler.ir.Project` -> the files of the generated package.

:func:`emit` is pure: it returns ``{relative path: text}`` and touches nothing.
Writing (atomically, removing stale generated files, or comparing for
``--check``) is :mod:`relflow_gen.emit.write`.  No SVG is emitted: its bytes
would depend on the Graphviz installed (see docs/architecture.md); the
pipeline draws one on demand (``python -m PKG diagram --svg``).

Stages: :func:`relflow_gen.compiler.metadata.schema_meta` gives the runtime metadata;
:func:`relflow_gen.emit.models.package_model` makes every naming and typing
decision, and lays out long expressions the way black does
(:mod:`relflow_gen.emit.layout`); the Jinja templates in ``templates/`` print
the model.  The output is already in black's style (line length
:data:`LINE_LENGTH`), so black does not run at build time; the golden tests
prove that black leaves every generated file unchanged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jinja2

from relflow_gen.compiler.ir import Project, to_data
from relflow_gen.compiler.metadata import schema_meta
from relflow_gen.core.errors import RelflowError
from relflow_gen.core.resources import templates_dir
from relflow_gen.emit.models import NamingError, PackageModel, header_text, package_model
from relflow_gen.emit.sql import DIALECTS, ddl_text
from relflow_gen.runtime.diagram import to_dot, to_mermaid

#: The line length of generated code (black's ``--line-length``; black itself does not run).
LINE_LENGTH = 100

#: Keys of ``schema.json`` that hold source positions (left out unless asked for).
SPAN_KEYS = frozenset({"span", "name_span"})

#: Python modules of the package and the template each comes from.
PYTHON_FILES: tuple[tuple[str, str], ...] = (
    ("__init__.py", "init.py.jinja"),
    ("__main__.py", "main.py.jinja"),
    ("rows.py", "rows.py.jinja"),
    ("tables.py", "tables.py.jinja"),
)


class EmitError(RelflowError):
    """The project cannot be emitted as asked (reported like a diagnostic, exit 1)."""


@dataclass(frozen=True)
class EmitOptions:
    """What the emitter needs besides the project.

    ``source`` is the path of the root `.rf` file written into every header,
    relative to the project root (the directory of the ``pyproject.toml`` that
    configures the build, or the working directory).  ``source_positions``
    keeps the source span of every element in ``schema.json`` (off by
    default: nothing at run time reads them, and they are most of its size).
    """

    package: str
    source: str
    source_positions: bool = False


def emit(project: Project, options: EmitOptions) -> dict[str, str]:
    """Every file of the package, by path relative to the package directory, sorted by path."""
    meta = schema_meta(project)
    try:
        model = package_model(meta, options.package, options.source)
    except NamingError as exc:
        raise EmitError(str(exc)) from None
    header = model.header
    files = {path: render_python(template, model) for path, template in PYTHON_FILES}
    files["schema.json"] = schema_json(project, header, positions=options.source_positions)
    for dialect in DIALECTS:
        files[f"sql/{dialect}.sql"] = ddl_text(meta, dialect, header)
    files["diagram.dot"] = to_dot(meta, header)
    files["diagram.mmd"] = to_mermaid(meta, header)
    files["py.typed"] = f"# {header}\n"
    return dict(sorted(files.items()))


def default_package_name(project: Project) -> str:
    return f"{project.root}_pipeline"


def schema_json(project: Project, header: str, *, positions: bool = False) -> str:
    """``schema.json``: the IR (:func:`relflow_gen.compiler.ir.to_json`'s layout) with a ``_generated`` header key.

    Without ``positions`` the source spans are left out.
    :func:`relflow_gen.compiler.ir.from_json` reads it back (unknown keys are
    ignored; a missing span is :meth:`relflow_gen.compiler.ir.Span.none`).
    """
    data = to_data(project)
    if not positions:
        data = without_spans(data)
    return json.dumps({"_generated": header, **data}, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def without_spans(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: without_spans(v) for k, v in data.items() if k not in SPAN_KEYS}
    if isinstance(data, list):
        return [without_spans(v) for v in data]
    return data


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The Jinja environment of the templates: strict, no escaping, newlines kept."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, **context: object) -> str:
    return environment().get_template(template).render(**context)


def render_python(template: str, model: PackageModel) -> str:
    return render(template, m=model)


__all__ = ["EmitError", "EmitOptions", "emit", "default_package_name", "header_text"]
