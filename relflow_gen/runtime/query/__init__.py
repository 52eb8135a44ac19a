"""The query algebra (see docs/queries.md)."""

from relflow_gen.runtime.query.api import Query, Row, U
from relflow_gen.runtime.query.condition import AndList, Not, RowKey

__all__ = ["AndList", "Not", "Query", "Row", "RowKey", "U"]
