"""The tiers populated by make(): imported and computed tables.

They are tables (insert, fetch, delete as any table) with the populate
operations on top: the key source, populate(), progress and provenance.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self, TypeVar

from relflow_gen.core.lazy import lazy_module
from relflow_gen.runtime.errors import TierError
from relflow_gen.runtime.populate.keysource import key_source, progress
from relflow_gen.runtime.query.api import Query
from relflow_gen.runtime.tables.table import Table

if TYPE_CHECKING:
    from relflow_gen.core.meta import TableMeta
    from relflow_gen.runtime.populate import fingerprint, run, staleness
    from relflow_gen.runtime.populate.host import PopulateHost
    from relflow_gen.runtime.populate.make import Maker
    from relflow_gen.runtime.populate.run import PopulateReport
else:  # loaded when first used (relflow_gen/core/lazy.py): declaring the tables needs none of them
    fingerprint = lazy_module("relflow_gen.runtime.populate.fingerprint")
    run = lazy_module("relflow_gen.runtime.populate.run")
    staleness = lazy_module("relflow_gen.runtime.populate.staleness")

R = TypeVar("R")
K = TypeVar("K")
I = TypeVar("I")  # noqa: E741 - the insert row type


class AutoTable(Table[R, K, I]):
    """A table populated by make(): imported or computed."""

    def __init__(self, host: PopulateHost, meta: TableMeta) -> None:
        super().__init__(host, meta)
        self._host = host

    def _register(self, maker: type[Maker[Any, Any]]) -> None:
        """Register a make() implementation of this table (the generated ``register`` calls it)."""
        if maker.__table__ != self.full_name:
            raise TierError(f"{maker.__name__} makes {maker.__table__}, not {self.full_name}")
        self._host.register(maker)

    def key_source(self) -> Query[Any]:
        """The keys still to make: the registered maker's key source (default: the join
        of the primary-key parents' keys) minus the keys already present."""
        return key_source(self._host, self._meta)

    def populate(
        self,
        *restrictions: object,
        reserve_jobs: bool = False,
        processes: int = 1,
        max_calls: int | None = None,
        suppress_errors: bool = False,
        display_progress: bool = False,
        order: str = "original",
        maker: type[Maker[Any, Any]] | None = None,
        group_commit: bool = True,
        make_timeout: float | None = None,
        executor: object | None = None,
    ) -> PopulateReport:
        """Call make() for every missing key (see :func:`relflow_gen.runtime.populate.run.populate`)."""
        return run.populate(
            self._host,
            self,
            *restrictions,
            reserve_jobs=reserve_jobs,
            processes=processes,
            max_calls=max_calls,
            suppress_errors=suppress_errors,
            display_progress=display_progress,
            order=order,
            maker=maker,
            group_commit=group_commit,
            make_timeout=make_timeout,
            executor=executor,
        )

    def progress(self) -> tuple[int, int]:
        """(keys done, keys in the key source)."""
        return progress(self._host, self._meta)

    def outdated(self, *, code: bool = True, inputs: bool = True) -> Self:
        """These rows where they are out of date: made by other code than the registered maker's
        (``code``), from parent rows that changed since (``inputs``), or from upstream rows that
        are out of date. A query: it composes with the algebra (docs/staleness.md)."""
        found = staleness.outdated(self._host, code=code, inputs=inputs).get(self.full_name)
        if found is None or not found.keys:
            return self & []
        pk = self.primary_key
        return self & [dict(zip(pk, k)) for k in sorted(found.keys, key=repr)]

    def code_fingerprint(self) -> str | None:
        """The fingerprint of the registered maker's code (None without a maker); rows record it."""
        maker = self._host.maker_for(self.full_name)
        return fingerprint.code_fingerprint(maker) if maker is not None else None

    def provenance(self, *restrictions: object) -> list[dict[str, Any]]:
        """How each row was made: its key with made_at, make_seconds, made_by (host:pid), make_hash."""
        return run.provenance(self._host, self._meta, *restrictions, base=self)


class ImportedTable(AutoTable[R, K, I]):
    """Rows imported by make() from outside the database (instruments, files)."""

    _tier = "imported"


class ComputedTable(AutoTable[R, K, I]):
    """Rows computed by make() from rows upstream."""

    _tier = "computed"
