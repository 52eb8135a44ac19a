"""Python literals for the generated package: values, docstrings and runtime metadata.

The generated ``tables.py`` carries the runtime metadata
(:class:`~relflow_gen.core.meta.SchemaMeta`) as source text.  This module
turns the objects :func:`relflow_gen.compiler.metadata.schema_meta` builds into that
text, so the metadata is rendered, never re-derived from the IR.  Values are
spelled so that evaluating them gives back an equal object: ``REQUIRED``,
``SqlDefault("CURRENT_TIMESTAMP")``, ``Decimal("4.00")``,
``datetime.date(2020, 1, 2)``, ``uuid.UUID("...")``, ``float("nan")``.

Scalar values are rendered as text; calls and tuples as layout nodes
(:mod:`relflow_gen.emit.layout`), which lay themselves out over lines the way
black does.  Every function is pure; the imports a rendered literal needs
are collected in an :class:`Imports` object passed by the caller.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import math
import re
import uuid
from collections.abc import Iterable

from relflow_gen.core.errors import RelflowError
from relflow_gen.core.meta import FK, REQUIRED, Attr, Idx, SqlDefault, TableMeta
from relflow_gen.core.types import TypeSpec
from relflow_gen.emit.layout import Atom, Group, Node, call, kw, tup


class LiteralError(RelflowError, ValueError):
    """A value the generated code cannot spell (a bug upstream: the IR was validated)."""


@dataclasses.dataclass
class Imports:
    """Modules and names a piece of generated code uses (filled while rendering)."""

    modules: set[str] = dataclasses.field(default_factory=set)  # import datetime
    names: set[tuple[str, str]] = dataclasses.field(default_factory=set)  # from decimal import Decimal
    #: attribute types spelled as a module constant (``_VARCHAR_32``), defined once in tables.py
    type_specs: dict[str, TypeSpec] = dataclasses.field(default_factory=dict)

    def lines(self, *, first_party: bool = False) -> list[str]:
        """Import statements, sorted: the standard library's, or (``first_party``) relflow_gen's."""

        def wanted(module: str) -> bool:
            return module.startswith("relflow_gen") == first_party

        out = [f"import {m}" for m in sorted(self.modules) if wanted(m)]
        by_module: dict[str, list[str]] = {}
        for module, name in sorted(self.names):
            if wanted(module):
                by_module.setdefault(module, []).append(name)
        out += [f"from {m} import {', '.join(names)}" for m, names in sorted(by_module.items())]
        return out


#: Text that needs no escaping in a double-quoted literal.
_PLAIN = re.compile("[^\\\\\"\\x00-\\x1f\\x7f\\ud800-\\udfff]*\\Z")


def py_str(text: str) -> str:
    """A Python string literal, quoted the way black quotes it.

    Double quotes, unless single quotes need fewer backslashes (the text holds
    more double than single quotes).
    """
    if _PLAIN.match(text):
        return '"' + text + '"'
    quote = "'" if text.count("'") < text.count('"') else '"'
    body = []
    for ch in text:
        if ch == "\\":
            body.append("\\\\")
        elif ch == quote:
            body.append("\\" + ch)
        elif ch == "\n":
            body.append("\\n")
        elif ch == "\r":
            body.append("\\r")
        elif ch == "\t":
            body.append("\\t")
        elif ord(ch) < 32 or ord(ch) == 127 or 0xD800 <= ord(ch) <= 0xDFFF:
            body.append(f"\\x{ord(ch):02x}" if ord(ch) < 256 else f"\\u{ord(ch):04x}")
        else:
            body.append(ch)
    return quote + "".join(body) + quote


def py_docstring(text: str) -> str:
    """A triple-quoted docstring holding ``text`` on one logical line."""
    body = " ".join(text.split())  # docstrings of tables are one line
    body = body.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if body.endswith('"'):
        body = body[:-1] + '\\"'
    return f'"""{body}"""'


def py_value(value: object, imports: Imports) -> str:
    """The Python literal of a default or lookup-contents value."""
    if value is REQUIRED:
        imports.names.add(("relflow_gen.runtime", "REQUIRED"))
        return "REQUIRED"
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return 'float("nan")'
        if math.isinf(value):
            return 'float("inf")' if value > 0 else '-float("inf")'
        return repr(value)
    if isinstance(value, str):
        return py_str(value)
    if isinstance(value, bytes):
        return repr(value)
    if isinstance(value, decimal.Decimal):
        imports.names.add(("decimal", "Decimal"))
        return f"Decimal({py_str(str(value))})"
    if isinstance(value, SqlDefault):
        imports.names.add(("relflow_gen.runtime", "SqlDefault"))
        return f"SqlDefault({py_str(value.keyword)})"
    if isinstance(value, uuid.UUID):
        imports.modules.add("uuid")
        return f"uuid.UUID({py_str(str(value))})"
    if isinstance(value, (datetime.date, datetime.time)):
        imports.modules.add("datetime")
        return _temporal(value)
    if isinstance(value, tuple):
        return py_tuple(py_value(v, imports) for v in value)
    raise LiteralError(f"cannot spell a {type(value).__name__} value as a Python literal: {value!r}")


def _temporal(value: datetime.date | datetime.time) -> str:
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            raise LiteralError(f"time zones are not supported in generated literals: {value!r}")
        fields = [value.year, value.month, value.day, value.hour, value.minute, value.second, value.microsecond]
        return f"datetime.datetime({_trim(fields, 3)})"
    if isinstance(value, datetime.date):
        return f"datetime.date({value.year}, {value.month}, {value.day})"
    if value.tzinfo is not None:
        raise LiteralError(f"time zones are not supported in generated literals: {value!r}")
    return f"datetime.time({_trim([value.hour, value.minute, value.second, value.microsecond], 2)})"


def _trim(fields: list[int], keep: int) -> str:
    """Constructor arguments without trailing zeros beyond the first ``keep``."""
    while len(fields) > keep and fields[-1] == 0:
        fields.pop()
    return ", ".join(str(f) for f in fields)


def py_tuple(items: Iterable[str]) -> str:
    """A tuple display of already-rendered items (``()``, ``(a,)``, ``(a, b)``)."""
    parts = list(items)
    if not parts:
        return "()"
    if len(parts) == 1:
        return f"({parts[0]},)"
    return "(" + ", ".join(parts) + ")"


def type_spec(spec: TypeSpec) -> Node:
    args = [Atom(str(a) if isinstance(a, int) else py_str(a)) for a in spec.args]
    name = Atom(py_str(spec.name))
    return call("TypeSpec", name) if not spec.args else call("TypeSpec", name, tup(args))


_SHAREABLE = re.compile("[a-z][a-z0-9]*\\Z")


def type_spec_constant(spec: TypeSpec) -> str | None:
    """The module constant that holds ``spec`` in tables.py (``_INT32``, ``_VARCHAR_32``,
    ``_DECIMAL_10_2``), or None for a type spelled inline (enums, object stores).

    A 500-table package names a few distinct types thousands of times: one shared
    ``TypeSpec`` per type is built once at import instead of once per attribute.  The
    name is a function of the type alone (lower-case name, integer arguments), so two
    types never share a name and the text does not depend on which tables use them.
    """
    if not _SHAREABLE.match(spec.name) or not all(isinstance(a, int) and a >= 0 for a in spec.args):
        return None
    return "_" + "_".join([spec.name.upper(), *(str(a) for a in spec.args)])


def type_ref(spec: TypeSpec, imports: Imports) -> Node:
    """``spec`` as its shared constant (recorded in ``imports``) or, when it has none, inline."""
    const = type_spec_constant(spec)
    if const is None:
        return type_spec(spec)
    imports.type_specs[const] = spec
    return Atom(const)


def value_node(value: object, imports: Imports) -> Node:
    """A value as a layout node (tuples can be split over lines, other values cannot)."""
    if isinstance(value, tuple):
        return tup([value_node(v, imports) for v in value])
    return Atom(py_value(value, imports))


def attr(a: Attr, imports: Imports) -> Node:
    """``Attr("name", _VARCHAR_32, True, nullable=True, default=None, ...)`` (a shared type
    constant where the type has one, see :func:`type_spec_constant`)."""
    args: list[Node] = [Atom(py_str(a.name)), type_ref(a.type, imports), Atom(repr(a.in_key))]
    if a.nullable:
        args.append(Atom("nullable=True"))
    if a.default is not REQUIRED:
        args.append(kw("default", value_node(a.default, imports)))
    if a.comment:
        args.append(Atom(f"comment={py_str(a.comment)}"))
    if a.lineage:
        args.append(Atom(f"lineage={py_str(a.lineage)}"))
    return call("Attr", *args)


def foreign_key(fk: FK) -> Node:
    pairs = tup([tup([Atom(py_str(c)), Atom(py_str(p))]) for c, p in fk.attrs])
    args: list[Node] = [Atom(py_str(fk.parent)), pairs, Atom(repr(fk.in_key))]
    for flag in ("nullable", "unique", "renamed", "is_master"):
        if getattr(fk, flag):
            args.append(Atom(f"{flag}=True"))
    return call("FK", *args)


def index(idx: Idx) -> Node:
    attrs = tup([Atom(py_str(a)) for a in idx.attrs])
    return call("Idx", attrs, Atom("unique=True")) if idx.unique else call("Idx", attrs)


def table_meta(meta: TableMeta, imports: Imports) -> Group:
    """The ``TableMeta(...)`` literal, one keyword argument per line, defaults left out.

    Attributes, foreign keys, indexes, parts and contents are written one item
    per line (a magic trailing comma keeps them so).
    """
    fields: list[Node] = [
        Atom(f"schema={py_str(meta.schema)}"),
        Atom(f"name={py_str(meta.name)}"),
        Atom(f"tier={py_str(meta.tier)}"),
        Atom(f"sql_name={py_str(meta.sql_name)}"),
        kw("attributes", tup([attr(a, imports) for a in meta.attributes], magic=True)),
    ]
    if meta.foreign_keys:
        fields.append(kw("foreign_keys", tup([foreign_key(fk) for fk in meta.foreign_keys], magic=True)))
    if meta.indexes:
        fields.append(kw("indexes", tup([index(i) for i in meta.indexes], magic=True)))
    if meta.master is not None:
        fields.append(Atom(f"master={py_str(meta.master)}"))
    if meta.parts:
        fields.append(kw("parts", tup([Atom(py_str(p)) for p in meta.parts], magic=True)))
    if meta.contents:
        fields.append(kw("contents", tup([value_node(row, imports) for row in meta.contents], magic=True)))
    if meta.doc:
        fields.append(Atom(f"doc={py_str(meta.doc)}"))
    if meta.make_timeout is not None:
        fields.append(Atom(f"make_timeout={meta.make_timeout!r}"))
    if meta.retries is not None:
        fields.append(Atom(f"retries={meta.retries!r}"))
    if meta.retry_on:
        fields.append(kw("retry_on", tup([Atom(py_str(n)) for n in meta.retry_on])))
    if meta.retry_backoff is not None:
        fields.append(Atom(f"retry_backoff={meta.retry_backoff!r}"))
    return call("TableMeta", *fields, magic=True)
