"""Table metadata: what a generated package tells the runtime about its tables.

Generated ``tables.py`` files build these objects from literals, so the runtime
never parses `.rf` text and never introspects the database at import time.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Final

from relflow_gen.core.types import TypeSpec


class _Required:
    """Marker: the attribute has no default (a value is required on insert)."""

    _instance: _Required | None = None

    def __new__(cls) -> _Required:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "REQUIRED"

    def __reduce__(self) -> str:
        return "REQUIRED"


REQUIRED: Final = _Required()


@dataclass(frozen=True, slots=True)
class SqlDefault:
    """A default computed by the database, e.g. ``CURRENT_TIMESTAMP``."""

    keyword: str


@dataclass(frozen=True, slots=True)
class Attr:
    name: str
    type: TypeSpec
    in_key: bool
    nullable: bool = False
    default: object = REQUIRED
    comment: str = ""
    lineage: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED and not self.nullable


@dataclass(frozen=True, slots=True)
class FK:
    """A foreign key: ``attrs`` pairs (child attribute, parent attribute)."""

    parent: str
    attrs: tuple[tuple[str, str], ...]
    in_key: bool
    nullable: bool = False
    unique: bool = False
    renamed: bool = False
    is_master: bool = False


@dataclass(frozen=True, slots=True)
class Idx:
    attrs: tuple[str, ...]
    unique: bool = False


@dataclass(frozen=True)
class TableMeta:
    schema: str
    name: str  # "Session" or "Session.Trial"
    tier: str  # lookup manual imported computed part
    sql_name: str
    attributes: tuple[Attr, ...]
    foreign_keys: tuple[FK, ...] = ()
    indexes: tuple[Idx, ...] = ()
    master: str | None = None  # full name of the master (parts)
    parts: tuple[str, ...] = ()  # full names of the parts (masters)
    contents: tuple[tuple[object, ...], ...] = ()  # lookup rows, in heading order
    doc: str = ""
    # make options declared in the .rf (imported/computed; None/(): not declared)
    make_timeout: float | None = None  # seconds
    retries: int | None = None
    retry_on: tuple[str, ...] = ()  # names of built-in exceptions
    retry_backoff: float | None = None  # seconds

    @cached_property
    def full_name(self) -> str:
        return f"{self.schema}.{self.name}"

    @cached_property
    def primary_key(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.attributes if a.in_key)

    @cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.attributes)

    @cached_property
    def by_name(self) -> dict[str, Attr]:
        return {a.name: a for a in self.attributes}

    @cached_property
    def external(self) -> tuple[Attr, ...]:
        """Attributes whose values live in an object store (``blob@NAME`` ...)."""
        return tuple(a for a in self.attributes if a.type.kind == "external")

    @cached_property
    def has_files(self) -> bool:
        """Attributes whose inserts read files or stores (``attach``, ``blob@NAME`` ...): no cached row plans."""
        return any(a.type.kind in ("external", "attach") for a in self.attributes)

    @property
    def is_auto(self) -> bool:
        """Populated by make(): imported or computed."""
        return self.tier in ("imported", "computed")

    @property
    def is_part(self) -> bool:
        return self.tier == "part"

    @cached_property
    def has_provenance(self) -> bool:
        """Imported/computed masters carry hidden provenance columns."""
        return self.is_auto


@dataclass(frozen=True)
class SchemaMeta:
    """All tables of a generated package, in topological (dependency) order."""

    name: str
    schemas: tuple[str, ...]
    tables: tuple[TableMeta, ...]
    doc: str = ""
    source: str = ""

    @cached_property
    def by_name(self) -> dict[str, TableMeta]:
        return {t.full_name: t for t in self.tables}

    @cached_property
    def children(self) -> dict[str, tuple[tuple[TableMeta, FK], ...]]:
        """Full name -> (child table, foreign key) for every table that references it."""
        out: dict[str, list[tuple[TableMeta, FK]]] = {t.full_name: [] for t in self.tables}
        for t in self.tables:
            for fk in t.foreign_keys:
                out.setdefault(fk.parent, []).append((t, fk))
        return {k: tuple(v) for k, v in out.items()}

    def descendants(self, full_name: str) -> list[TableMeta]:
        """Tables that depend on ``full_name`` directly or indirectly, topologically ordered."""
        seen: set[str] = set()
        stack = [full_name]
        while stack:
            cur = stack.pop()
            for child, _ in self.children.get(cur, ()):
                if child.full_name not in seen and child.full_name != full_name:
                    seen.add(child.full_name)
                    stack.append(child.full_name)
        return [t for t in self.tables if t.full_name in seen]


# Hidden provenance columns of imported/computed tables (not part of the heading).
PROVENANCE_COLUMNS: Final = (
    ("_made_at", TypeSpec("datetime", (6,))),
    ("_make_seconds", TypeSpec("float64")),
    ("_made_by", TypeSpec("varchar", (255,))),
    ("_make_hash", TypeSpec("char", (16,))),
    ("_input_hash", TypeSpec("char", (32,))),
)
