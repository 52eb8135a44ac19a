"""What populate needs from the pipeline: the table host plus the registered makers.

:class:`relflow_gen.runtime.pipeline.Pipeline` implements it; the protocol
keeps the populate layer from importing the pipeline above it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from relflow_gen.runtime.tables.host import TableHost

if TYPE_CHECKING:
    from relflow_gen.runtime.populate.make import Maker


class PopulateHost(TableHost, Protocol):
    """A table host that knows the make() implementations of its tables."""

    def maker_for(self, full_name: str) -> type[Maker[Any, Any]] | None: ...

    def register(self, *makers: type[Maker[Any, Any]]) -> None: ...

    def reopener(self) -> Callable[[], PopulateHost]:
        """A picklable function that opens this pipeline again on a new connection,
        with the same makers registered (used by worker processes)."""
        ...

    def close(self) -> None: ...
