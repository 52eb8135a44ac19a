"""The runtime every generated pipeline package runs on.

Generated code imports from here; users mostly meet it through the generated
package (``lab_pipeline.connect(url)``), the query operators and the errors.
"""

from ..types import TypeSpec
from .connection import Connection
from .errors import (
    ConnectError,
    DatabaseError,
    DeclareError,
    DuplicateError,
    FetchOneError,
    InsertError,
    LockError,
    MakeError,
    MissingMakerError,
    MissingParentError,
    MissingTableError,
    PopulateError,
    QueryError,
    TierError,
)
from .make import Maker, PartSink
from .meta import FK, REQUIRED, Attr, Idx, SchemaMeta, SqlDefault, TableMeta
from .pipeline import Namespace, Pipeline
from .populate import PopulateReport
from .query import AndList, Not, Query, Row, RowKey, U
from .table import AutoTable, ComputedTable, ImportedTable, LookupTable, ManualTable, PartTable, Table

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
    "Table",
    "TableMeta",
    "TierError",
    "TypeSpec",
    "U",
]
