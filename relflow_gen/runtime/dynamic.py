"""Pipelines built at run time from metadata, without generated code.

``pipeline_class(meta)`` gives a :class:`Pipeline` subclass whose tables are
the generic tier classes (rows are plain dicts).  The generated packages are
the typed way to use a pipeline; this is for tools and tests that only have a
:class:`SchemaMeta` (e.g. from ``relflow_gen.compiler.metadata.schema_meta``).
"""

from __future__ import annotations

from typing import Any

from relflow_gen.core.meta import SchemaMeta, TableMeta
from relflow_gen.runtime.pipeline import Pipeline
from relflow_gen.runtime.populate.auto import ComputedTable, ImportedTable
from relflow_gen.runtime.tables.table import LookupTable, ManualTable, PartTable

TIER_CLASSES: dict[str, type[Any]] = {
    "lookup": LookupTable,
    "manual": ManualTable,
    "imported": ImportedTable,
    "computed": ComputedTable,
    "part": PartTable,
}


def binding_path(meta: SchemaMeta, table: TableMeta) -> str:
    """Where a table hangs in the pipeline: ``Subject``, ``Session.Trial``, ``common.Species``."""
    return table.name if table.schema == meta.name else f"{table.schema}.{table.name}"


def pipeline_class(meta: SchemaMeta, name: str = "DynamicPipeline") -> type[Pipeline]:
    bindings = tuple((binding_path(meta, t), t.full_name, TIER_CLASSES[t.tier]) for t in meta.tables)
    return type(name, (Pipeline,), {"meta": meta, "bindings": bindings})
