"""The intermediate representation: what a schema means.

Frozen dataclasses, each carrying the source :class:`Span` it came from.
:mod:`relflow_gen.compiler.lower` builds them from the parse tree and resolves every
table's full heading (inherited attributes with their lineage);
:mod:`relflow_gen.compiler.validate` checks them; :mod:`relflow_gen.emit.package` reads them.
The IR serialises to ``schema.json`` (:func:`to_json` / :func:`from_json`,
a lossless round trip).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

from relflow_gen.core.types import TypeSpec

IR_VERSION = 1


@dataclass(frozen=True, order=True)
class Span:
    file: str
    line: int
    col: int
    end_line: int
    end_col: int

    @staticmethod
    def none(file: str = "<unknown>") -> Span:
        return Span(file, 1, 1, 1, 1)


class Tier(str, enum.Enum):
    LOOKUP = "lookup"
    MANUAL = "manual"
    IMPORTED = "imported"
    COMPUTED = "computed"
    PART = "part"

    @property
    def is_auto(self) -> bool:
        """Populated by make() (imported or computed)."""
        return self in (Tier.IMPORTED, Tier.COMPUTED)


ValueKind = Literal["str", "int", "float", "bool", "null", "keyword", "name"]


@dataclass(frozen=True)
class Value:
    """A literal as written: a default or a contents cell.

    ``text`` keeps the spelling (numbers stay exact for decimals); ``keyword``
    is a SQL keyword default such as ``CURRENT_TIMESTAMP``; ``name`` is a bare word
    where a name is a value (the exception names of a ``retry_on`` make option).
    """

    kind: ValueKind
    value: str | int | float | bool | None
    text: str
    span: Span = field(default_factory=Span.none)  # schema.json leaves spans out unless asked


@dataclass(frozen=True)
class Attribute:
    """One attribute of a table's heading.

    ``lineage`` names where the attribute was first declared
    (``schema.Table.attribute``); attributes that arrive through a foreign key
    carry the parent's lineage (renames followed) and ``fk``, the index of that
    foreign key in :attr:`Table.foreign_keys`.
    """

    name: str
    type: TypeSpec
    in_key: bool
    nullable: bool = False
    default: Value | None = None
    comment: str = ""
    lineage: str = ""
    fk: int | None = None
    span: Span = field(default_factory=Span.none)


@dataclass(frozen=True)
class ForeignKey:
    """A dependency ``-> Parent`` as written and as resolved.

    ``target`` is the reference as written (``Species``, ``master``,
    ``common.Subject``, ``Session.Trial``); ``parent`` is the resolved full
    name (``lab.Species``), empty when it did not resolve.  ``attr_map`` pairs
    every child attribute with the parent primary-key attribute it refers to,
    in the parent's key order; ``renames`` are the ``.proj(new="old")`` pairs
    as written.
    """

    target: str
    in_key: bool
    nullable: bool = False
    unique: bool = False
    options: tuple[str, ...] = ()
    renames: tuple[tuple[str, str], ...] = ()
    parent: str = ""
    attr_map: tuple[tuple[str, str], ...] = ()
    span: Span = field(default_factory=Span.none)

    @property
    def is_master(self) -> bool:
        return self.target == "master"

    @property
    def renamed(self) -> bool:
        return bool(self.renames)


@dataclass(frozen=True)
class Index:
    attributes: tuple[str, ...]
    unique: bool
    span: Span = field(default_factory=Span.none)


@dataclass(frozen=True)
class ContentRow:
    """A row of lookup contents: positional ``values`` or ``names`` = ``values``."""

    values: tuple[Value, ...]
    names: tuple[str, ...] = ()
    span: Span = field(default_factory=Span.none)


@dataclass(frozen=True)
class MakeOption:
    """A make option of a table's header, as written: ``make_timeout = 600``,
    ``retry_on = OSError | TimeoutError`` (``values`` holds the alternatives)."""

    name: str
    values: tuple[Value, ...]
    span: Span = field(default_factory=Span.none)


BodyItem = Attribute | ForeignKey


@dataclass(frozen=True)
class Table:
    """A table: tier, declared body and resolved heading.

    ``name`` is ``Session`` for a master and ``Session.Trial`` for a part.
    ``body`` holds what was declared, in order (local attributes and foreign
    keys); ``attributes`` is the full heading in order (primary key first),
    filled by resolution.
    """

    schema: str
    name: str
    tier: Tier
    doc: str = ""
    master: str | None = None
    body: tuple[BodyItem, ...] = ()
    attributes: tuple[Attribute, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    indexes: tuple[Index, ...] = ()
    contents: tuple[ContentRow, ...] = ()
    parts: tuple[str, ...] = ()
    span: Span = field(default_factory=Span.none)
    name_span: Span = field(default_factory=Span.none)
    #: ``[make_timeout = ..., retries = ...]`` after the tier (left out of schema.json when empty)
    make_options: tuple[MakeOption, ...] = field(default=(), metadata={"omit_empty": True})

    @property
    def full_name(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def short_name(self) -> str:
        """The last component: ``Trial`` for ``Session.Trial``."""
        return self.name.rsplit(".", 1)[-1]

    @property
    def primary_key(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.attributes if a.in_key)

    @property
    def secondary(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.attributes if not a.in_key)

    def attribute(self, name: str) -> Attribute | None:
        for a in self.attributes:
            if a.name == name:
                return a
        return None


@dataclass(frozen=True)
class Import:
    path: str
    schema: str = ""
    span: Span = field(default_factory=Span.none)


@dataclass(frozen=True)
class Schema:
    name: str
    doc: str = ""
    file: str = ""
    imports: tuple[Import, ...] = ()
    tables: tuple[Table, ...] = ()
    span: Span = field(default_factory=Span.none)

    def table(self, name: str) -> Table | None:
        for t in self.tables:
            if t.name == name:
                return t
        return None


@dataclass(frozen=True)
class Project:
    """Everything one build compiles: the root schema and all it imports.

    ``schemas`` is ordered so that every schema comes after the schemas it
    imports (the root is last).
    """

    schemas: tuple[Schema, ...]
    root: str
    version: int = IR_VERSION

    @property
    def root_schema(self) -> Schema:
        for s in self.schemas:
            if s.name == self.root:
                return s
        raise KeyError(self.root)

    def tables(self) -> tuple[Table, ...]:
        return tuple(t for s in self.schemas for t in s.tables)

    def table(self, full_name: str) -> Table | None:
        schema, _, name = full_name.partition(".")
        for s in self.schemas:
            if s.name == schema:
                return s.table(name)
        return None


# --------------------------------------------------------------------------
# JSON round trip (schema.json)
# --------------------------------------------------------------------------

_UNION_TAGS: dict[str, type] = {"Attribute": Attribute, "ForeignKey": ForeignKey}


def to_data(obj: object) -> Any:
    """Plain JSON-able data for an IR object."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out: dict[str, Any] = {}
        if type(obj).__name__ in _UNION_TAGS:
            out["kind"] = type(obj).__name__
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if f.metadata.get("omit_empty") and not value:
                continue
            out[f.name] = to_data(value)
        return out
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, tuple):
        return [to_data(x) for x in obj]
    return obj


def to_json(project: Project) -> str:
    """``schema.json`` text: sorted keys, stable, newline-terminated."""
    return json.dumps(to_data(project), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def from_json(text: str) -> Project:
    """Load a :class:`Project` back from :func:`to_json` output."""
    data = json.loads(text)
    result = _build(Project, data)
    assert isinstance(result, Project)
    return result


def _build(tp: Any, data: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if data is None:
            return None
        if isinstance(data, dict) and "kind" in data and data["kind"] in _UNION_TAGS:
            return _build(_UNION_TAGS[data["kind"]], data)
        if len(args) == 1:
            return _build(args[0], data)
        return data  # scalar unions (str | int | ...)
    if origin is tuple:
        items = typing.get_args(tp)
        if len(items) == 2 and items[1] is Ellipsis:
            return tuple(_build(items[0], x) for x in data)
        return tuple(_build(a, x) for a, x in zip(items, data))
    if origin is Literal:
        return data
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(data)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        hints = typing.get_type_hints(tp)
        kwargs = {f.name: _build(hints[f.name], data[f.name]) for f in dataclasses.fields(tp) if f.name in data}
        return tp(**kwargs)
    if tp is Any:
        return data
    return data
