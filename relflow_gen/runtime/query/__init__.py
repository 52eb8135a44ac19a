"""The query algebra (see docs/queries.md)."""

from .api import Query, Row, U
from .condition import AndList, Not, RowKey

__all__ = ["AndList", "Not", "Query", "Row", "RowKey", "U"]
