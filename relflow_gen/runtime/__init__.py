"""The runtime every generated pipeline package runs on.

Generated code imports from here; users mostly meet it through the generated
package (``lab_pipeline.connect(url)``), the query operators and the errors.
"""

from __future__ import annotations

from relflow_gen.core.lazy import lazy_attributes, lazy_dir

TYPE_CHECKING = False
if TYPE_CHECKING:
    from relflow_gen.core.meta import FK, REQUIRED, Attr, Idx, SchemaMeta, SqlDefault, TableMeta
    from relflow_gen.core.types import TypeSpec
    from relflow_gen.runtime.engine.connection import Connection
    from relflow_gen.runtime.errors import (
        ConnectError,
        DatabaseError,
        DeclareError,
        DuplicateError,
        FetchOneError,
        InsertError,
        LockError,
        MakeError,
        MigrateError,
        MissingDatabaseError,
        MissingMakerError,
        MissingParentError,
        MissingTableError,
        PopulateError,
        QueryError,
        StoredValueError,
        TierError,
        UrlError,
    )
    from relflow_gen.runtime.pipeline import Namespace, Pipeline
    from relflow_gen.runtime.populate.auto import AutoTable, ComputedTable, ImportedTable
    from relflow_gen.runtime.populate.make import Maker, PartSink
    from relflow_gen.runtime.populate.run import PopulateReport
    from relflow_gen.runtime.query import AndList, Not, Query, Row, RowKey, U
    from relflow_gen.runtime.tables.table import LookupTable, ManualTable, PartTable, Table

#: every public name and the module that defines it, imported on first use (PEP 562): ``import
#: relflow_gen.runtime`` loads nothing more, ``from relflow_gen.runtime import Query`` loads the query layer
_LAZY: dict[str, tuple[str, ...]] = {
    "relflow_gen.core.meta": ("FK", "REQUIRED", "Attr", "Idx", "SchemaMeta", "SqlDefault", "TableMeta"),
    "relflow_gen.core.types": ("TypeSpec",),
    "relflow_gen.runtime.engine.connection": ("Connection",),
    "relflow_gen.runtime.errors": (
        "ConnectError",
        "DatabaseError",
        "DeclareError",
        "DuplicateError",
        "FetchOneError",
        "InsertError",
        "LockError",
        "MakeError",
        "MigrateError",
        "MissingDatabaseError",
        "MissingMakerError",
        "MissingParentError",
        "MissingTableError",
        "PopulateError",
        "QueryError",
        "StoredValueError",
        "TierError",
        "UrlError",
    ),
    "relflow_gen.runtime.pipeline": ("Namespace", "Pipeline"),
    "relflow_gen.runtime.populate.auto": ("AutoTable", "ComputedTable", "ImportedTable"),
    "relflow_gen.runtime.populate.make": ("Maker", "PartSink"),
    "relflow_gen.runtime.populate.run": ("PopulateReport",),
    "relflow_gen.runtime.query": ("AndList", "Not", "Query", "Row", "RowKey", "U"),
    "relflow_gen.runtime.tables.table": ("LookupTable", "ManualTable", "PartTable", "Table"),
}

__getattr__ = lazy_attributes(__name__, _LAZY)

__all__ = [
    "FK",
    "REQUIRED",
    "AndList",
    "AutoTable",
    "ComputedTable",
    "ImportedTable",
    "Attr",
    "ConnectError",
    "Connection",
    "DatabaseError",
    "DeclareError",
    "DuplicateError",
    "FetchOneError",
    "Idx",
    "InsertError",
    "LockError",
    "LookupTable",
    "MakeError",
    "Maker",
    "ManualTable",
    "MigrateError",
    "MissingDatabaseError",
    "MissingMakerError",
    "MissingParentError",
    "MissingTableError",
    "Namespace",
    "Not",
    "PartSink",
    "PartTable",
    "Pipeline",
    "PopulateError",
    "PopulateReport",
    "Query",
    "QueryError",
    "Row",
    "RowKey",
    "SchemaMeta",
    "SqlDefault",
    "StoredValueError",
    "Table",
    "TableMeta",
    "TierError",
    "TypeSpec",
    "U",
    "UrlError",
]

__dir__ = lazy_dir(__name__, __all__)  # dir() lists the names not loaded yet too
