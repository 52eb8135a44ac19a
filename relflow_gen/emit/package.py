"""The emitter: a validated :class:`~relflow_gen.compiler.ir.Project` -> the files of the generated package.

:func:`emit` is pure: it returns ``{relative path: text}`` and touches nothing.
Writing (atomically, removing stale generated files, or comparing for
``--check``) is :mod:`relflow_gen.emit.write`; the SVG diagram, which needs the
external ``dot`` program, is :mod:`relflow_gen.emit.svg`.

Stages: :func:`relflow_gen.compiler.metadata.schema_meta` gives the runtime metadata;
:func:`relflow_gen.emit.models.package_model` makes every naming and typing
decision; the Jinja templates in ``templates/`` print the model; black
formats the Python with fixed settings (never a user's configuration).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

import black
import jinja2
from black.mode import TargetVersion

from relflow_gen.compiler.ir import Project, to_data
from relflow_gen.compiler.metadata import schema_meta
from relflow_gen.core.errors import RelflowError
from relflow_gen.core.resources import templates_dir
from relflow_gen.emit.models import NamingError, PackageModel, header_text, package_model
from relflow_gen.emit.sql import DIALECTS, ddl_text
from relflow_gen.runtime.diagram import to_dot, to_mermaid

#: black's settings for generated code; fixed so that output never depends on the user's setup.
LINE_LENGTH = 100
BLACK_MODE = black.Mode(line_length=LINE_LENGTH, target_versions={TargetVersion.PY311})

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
    configures the build, or the working directory).
    """

    package: str
    source: str


def emit(project: Project, options: EmitOptions) -> dict[str, str]:
    """Every file of the package, by path relative to the package directory, sorted by path."""
    meta = schema_meta(project)
    try:
        model = package_model(meta, options.package, options.source)
    except NamingError as exc:
        raise EmitError(str(exc)) from None
    header = model.header
    files = {path: render_python(template, model) for path, template in PYTHON_FILES}
    files["schema.json"] = schema_json(project, header)
    for dialect in DIALECTS:
        files[f"sql/{dialect}.sql"] = ddl_text(meta, dialect, header)
    files["diagram.dot"] = to_dot(meta, header)
    files["diagram.mmd"] = to_mermaid(meta, header)
    files["py.typed"] = f"# {header}\n"
    return dict(sorted(files.items()))


def default_package_name(project: Project) -> str:
    return f"{project.root}_pipeline"


def schema_json(project: Project, header: str) -> str:
    """``schema.json``: the IR (:func:`relflow_gen.compiler.ir.to_json`'s layout) with a ``_generated`` header key.

    :func:`relflow_gen.compiler.ir.from_json` reads it back (unknown keys are ignored).
    """
    data = {"_generated": header, **to_data(project)}
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


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
    return format_python(render(template, m=model))


def format_python(source: str) -> str:
    """``source`` formatted by black with :data:`BLACK_MODE`."""
    return black.format_str(source, mode=BLACK_MODE)


__all__ = ["EmitError", "EmitOptions", "emit", "default_package_name", "header_text", "format_python"]
