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

import dataclasses
import enum
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
    The text is ``json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False)``
    of that data, written straight from the IR in a fraction of the time.
    """
    if positions:
        return dumps({"_generated": header, **to_data(project)}) + "\n"
    return _ir_json(project, 0, (('"_generated": ', _encode_str(header)),)) + "\n"


def without_spans(data: Any) -> Any:
    """JSON data with the source positions (:data:`SPAN_KEYS`) left out."""
    if isinstance(data, dict):
        return {k: without_spans(v) for k, v in data.items() if k not in SPAN_KEYS}
    if isinstance(data, list):
        return [without_spans(v) for v in data]
    return data


_encode_str = json.encoder.encode_basestring  # the C function where CPython has it
_TAGGED = frozenset({"Attribute", "ForeignKey"})  # union members tagged with "kind" (relflow_gen.compiler.ir.to_data)

#: Per IR class: its members in key order, as (``"key": ``, attribute name or None for the kind tag).
_SHAPES: dict[type, tuple[tuple[str, str | None], ...]] = {}
#: Per IR class: the members left out when empty (``field(metadata={"omit_empty": True})``).
_OMIT: dict[type, frozenset[str]] = {}


def _shape(cls: type) -> tuple[tuple[str, str | None], ...]:
    fields = dataclasses.fields(cls)
    _OMIT[cls] = frozenset(f.name for f in fields if f.metadata.get("omit_empty"))
    names: list[str | None] = [f.name for f in fields if f.name not in SPAN_KEYS]
    if cls.__name__ in _TAGGED:
        names.append(None)
    ordered = sorted(names, key=lambda n: "kind" if n is None else n)
    shape = _SHAPES[cls] = tuple((_encode_str("kind" if n is None else n) + ": ", n) for n in ordered)
    return shape


def _ir_json(obj: Any, level: int, extra: tuple[tuple[str, str], ...] = ()) -> str:
    """The JSON text of IR data without spans, indented like ``json.dumps(indent=1)`` at ``level``."""
    kind = type(obj)
    if kind is str:
        return _encode_str(obj)
    if kind is tuple or kind is list:
        if not obj:
            return "[]"
        pad = "\n" + " " * (level + 1)
        return "[" + ",".join([pad + _ir_json(v, level + 1) for v in obj]) + "\n" + " " * level + "]"
    shape = _SHAPES.get(kind)
    if shape is None:
        if not (dataclasses.is_dataclass(obj) and not isinstance(obj, type)):
            return dumps(obj.value if isinstance(obj, enum.Enum) else obj, level)
        shape = _shape(kind)
    pad = "\n" + " " * (level + 1)
    omit = _OMIT[kind]
    items = [
        (key, _encode_str(kind.__name__) if name is None else _ir_json(getattr(obj, name), level + 1))
        for key, name in shape
        if not (name in omit and not getattr(obj, name))
    ]
    if extra:
        items = sorted([*items, *extra])
    if not items:
        return "{}"
    return "{" + ",".join([pad + key + value for key, value in items]) + "\n" + " " * level + "}"


def dumps(value: Any, level: int = 0) -> str:
    """``json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False)`` for str-keyed JSON data."""
    if isinstance(value, str):
        return _encode_str(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return json.dumps(value)
    pad = "\n" + " " * (level + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [pad + _encode_str(k) + ": " + dumps(value[k], level + 1) for k in sorted(value)]
        return "{" + ",".join(items) + "\n" + " " * level + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        return "[" + ",".join([pad + dumps(v, level + 1) for v in value]) + "\n" + " " * level + "]"
    raise AssertionError(f"not JSON data: {type(value).__name__}")  # the IR holds JSON data only


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
