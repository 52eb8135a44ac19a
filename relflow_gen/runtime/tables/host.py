"""What the table layer needs from the pipeline that owns its tables.

The table operations (insert, fetch, delete, declare) run against a *host*:
a connection, the schema metadata and a way to find a table by name.
:class:`relflow_gen.runtime.pipeline.Pipeline` is the host in practice; the
protocol keeps this layer from importing the layers above it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from relflow_gen.core.meta import SchemaMeta
    from relflow_gen.runtime.engine.connection import Connection
    from relflow_gen.runtime.tables.table import Table


class TableHost(Protocol):
    """A connection, the schema metadata and the bound tables."""

    @property
    def connection(self) -> Connection: ...

    @property
    def meta(self) -> SchemaMeta: ...

    def table(self, full_name: str) -> Table[Any, Any, Any]: ...
