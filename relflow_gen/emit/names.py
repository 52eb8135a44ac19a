"""Python names of the generated package.

Every table gets a *stem* from which all of its names derive:

=========================  =========================  ==============================
table                      stem                       names
=========================  =========================  ==============================
``lab.Subject``            ``Subject``                ``SubjectTable`` ``SubjectRow``
                                                      ``SubjectKey`` ``SubjectInsert``
``lab.Session.Trial``      ``SessionTrial``           ``SessionTrialTable`` ...
``lab.Recording``          ``Recording``              ... and ``RecordingMaker``
``common.Species``         ``CommonSpecies``          ``CommonSpeciesTable`` ...
=========================  =========================  ==============================

Tables of the root schema keep their own name; parts join the master's name and
their own; tables of imported schemas are prefixed with the CamelCase schema
name.  Two tables can ask for the same stem (a part ``Foo.Bar`` and a table
``FooBar``; ``common.Species`` and a root table ``CommonSpecies``) and a stem
can clash with a name the generated modules import (a table ``Part`` would make
``PartTable``).  The table that keeps the name is decided first by kind (plain
root-schema tables before parts and imported tables), then by topological
order; the others get ``_2``, ``_3``, ... appended (``FooBar_2Table``), which no
CamelCase table name can produce.  All of this is deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from relflow_gen.compiler.naming import camel_case, snake_case
from relflow_gen.core.meta import SchemaMeta, TableMeta

#: Suffixes of the per-table class names.
SUFFIXES = ("Table", "Row", "Key", "Insert", "Maker")

#: Names the generated modules import or define besides the per-table names.
RESERVED: frozenset[str] = frozenset(
    {
        # relflow_gen.runtime
        "FK", "REQUIRED", "AndList", "Attr", "AutoTable", "ComputedTable", "Connection", "Idx",
        "ImportedTable", "LookupTable", "Maker", "ManualTable", "Namespace", "Not", "PartSink",
        "PartTable", "Pipeline", "SchemaMeta", "SqlDefault", "Table", "TableMeta", "TypeSpec", "U",
        # typing, collections.abc and the standard library
        "Any", "ClassVar", "Iterable", "Literal", "NotRequired", "TypedDict", "Decimal",
        "datetime", "uuid", "annotations",
        # module-level names of the generated package
        "SCHEMA", "connect", "main", "sys",
    }
)  # fmt: skip


def unique(preferred: Sequence[str], taken: Iterable[str], variants: Sequence[str] = ("",)) -> list[str]:
    """Make ``preferred`` names unique, in order: later duplicates get ``_2``, ``_3``...

    A name is free when none of ``name + variant`` is in ``taken`` or already
    handed out.
    """
    used = set(taken)
    out: list[str] = []
    for name in preferred:
        candidate, n = name, 1
        while any(candidate + v in used for v in variants):
            n += 1
            candidate = f"{name}_{n}"
        used.update(candidate + v for v in variants)
        out.append(candidate)
    return out


def schema_camel(schema: str) -> str:
    return camel_case(schema) or schema


def preferred_stem(table: TableMeta, root: str) -> str:
    stem = "".join(table.name.split("."))
    return stem if table.schema == root else schema_camel(table.schema) + stem


def is_composite(table: TableMeta, root: str) -> bool:
    """Whether the preferred stem is made of several names (part or imported table)."""
    return table.schema != root or table.master is not None


def table_stems(meta: SchemaMeta) -> dict[str, str]:
    """Full table name -> stem, for every table (see the module docstring)."""
    tables = list(meta.tables)
    order = sorted(range(len(tables)), key=lambda i: (is_composite(tables[i], meta.name), i))
    preferred = [preferred_stem(tables[i], meta.name) for i in order]
    stems = unique(preferred, RESERVED, SUFFIXES)
    return {tables[i].full_name: stem for i, stem in zip(order, stems)}


def constant_names(meta: SchemaMeta, stems: dict[str, str]) -> dict[str, str]:
    """Full table name -> module constant holding its ``TableMeta`` (``SESSION_TRIAL``)."""
    names = [t.full_name for t in meta.tables]
    consts = unique([snake_case(stems[n]).upper() for n in names], RESERVED)
    return dict(zip(names, consts))


def namespace_names(meta: SchemaMeta, taken: Iterable[str]) -> dict[str, str]:
    """Imported schema -> its namespace class (``CommonTables``)."""
    imported = [s for s in meta.schemas if s != meta.name]
    classes = unique([schema_camel(s) + "Tables" for s in imported], taken)
    return dict(zip(imported, classes))


def pipeline_name(meta: SchemaMeta) -> str:
    return schema_camel(meta.name) + "Pipeline"


def module_name(stem: str) -> str:
    """The module of a make() scaffold: ``SpikeSorting`` -> ``spike_sorting``."""
    return snake_case(stem)
