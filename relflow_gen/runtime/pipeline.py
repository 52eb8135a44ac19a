"""A pipeline: a connection plus one bound table object per table.

A generated package defines ``class LabPipeline(Pipeline)`` with the schema
metadata, typed attributes per table and :attr:`Pipeline.bindings`;
``connect(url)`` returns an instance.  Tables of the root schema are
attributes (``db.Subject``), parts hang off their master
(``db.Session.Trial``) and tables of imported schemas sit in a namespace named
after their schema (``db.common.Species``).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from relflow_gen.core.lazy import lazy_module
from relflow_gen.core.meta import SchemaMeta
from relflow_gen.runtime.errors import QueryError
from relflow_gen.runtime.populate.jobs_table import jobs_table_meta, upgrade_jobs_table
from relflow_gen.runtime.populate.make import Maker
from relflow_gen.runtime.tables.storage import (
    DEFAULT_GRACE_SECONDS,
    GcReport,
    VerifyReport,
    gc,
    mark_columns,
    store_uses,
    verify,
)
from relflow_gen.runtime.tables.table import Table

# what only some programs use is loaded when first used (relflow_gen/core/lazy.py): connecting
# does not import populate's worker machinery, the diagram's subprocess or the stores' tomllib
if TYPE_CHECKING:
    from relflow_gen.runtime import diagram
    from relflow_gen.runtime.backends.base import ConnectionParams
    from relflow_gen.runtime.diagram import Diagram
    from relflow_gen.runtime.engine import connection
    from relflow_gen.runtime.engine.connection import Connection
    from relflow_gen.runtime.populate import manage, plan, run, staleness
    from relflow_gen.runtime.populate.manage import Jobs
    from relflow_gen.runtime.populate.plan import Plan
    from relflow_gen.runtime.populate.run import PopulateReport
    from relflow_gen.runtime.populate.staleness import Outdated, RefreshPlan
    from relflow_gen.runtime.stores import config as store_config
    from relflow_gen.runtime.stores import registry as store_registry
    from relflow_gen.runtime.stores.config import StoreConfig
    from relflow_gen.runtime.tables import declare as declaring
    from relflow_gen.runtime.tables.declare import DeclareReport
else:  # connection: sqlite3 and the backends load when a pipeline first connects
    connection = lazy_module("relflow_gen.runtime.engine.connection")
    diagram = lazy_module("relflow_gen.runtime.diagram")
    manage = lazy_module("relflow_gen.runtime.populate.manage")
    plan = lazy_module("relflow_gen.runtime.populate.plan")
    run = lazy_module("relflow_gen.runtime.populate.run")
    staleness = lazy_module("relflow_gen.runtime.populate.staleness")
    store_config = lazy_module("relflow_gen.runtime.stores.config")
    store_registry = lazy_module("relflow_gen.runtime.stores.registry")
    declaring = lazy_module("relflow_gen.runtime.tables.declare")


class Namespace:
    """Tables of an imported schema (``db.common``)."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"<tables of schema {self._name}>"


class Pipeline:
    """Base class of generated pipelines."""

    meta: ClassVar[SchemaMeta]
    #: (attribute path, table full name, table class), in dependency order
    bindings: ClassVar[tuple[tuple[str, str, type[Any]], ...]]
    #: namespace classes of imported schemas, by attribute name (``common``)
    namespaces: ClassVar[dict[str, type[Namespace]]] = {}

    def __init__(
        self,
        url: str | Connection,
        *,
        declare: bool = True,
        makers: Iterable[type[Maker[Any, Any]]] = (),
        create: bool | None = None,
        stores: Mapping[str, str | Mapping[str, Any]] | None = None,
    ) -> None:
        uses = store_uses(self.meta)
        configs: tuple[StoreConfig, ...] | None = None
        if stores is not None:
            configs = store_config.configs_from(stores)
        elif uses and (isinstance(url, str) or not url.params.stores):
            found = store_config.find_pyproject()
            configs = store_config.configs_from_pyproject(found) if found is not None else ()
        if isinstance(url, connection.Connection):
            self.connection = url
            if configs is not None:
                url.params = dataclasses.replace(url.params, stores=configs)
                url.stores = store_registry.Stores(configs)
        else:
            # an SQLite file is created only when asked (by default: when declaring)
            params = connection.parse_url(url)
            if configs is not None:
                params = dataclasses.replace(params, stores=configs)
            self.connection = connection.Connection(params, create=declare if create is None else create)
        try:
            self.connection.stores.check(uses)
        except Exception:
            if not isinstance(url, connection.Connection):
                self.connection.close()
            raise
        self._tables: dict[str, Table[Any, Any, Any]] = {}
        for path, full_name, cls in self.bindings:
            table = cls(self, self.meta.by_name[full_name])
            self._tables[full_name] = table
            _bind(self, path, table)
        self._makers: dict[str, type[Maker[Any, Any]]] = {}
        for m in makers:
            self.register(m)
        if declare:
            self.declare()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.meta.name} on {self.connection.url}>"

    def diagram(self) -> Diagram:
        """The workflow diagram: an SVG drawn by Graphviz in a notebook (Mermaid without it); ``.save(path)``."""
        return diagram.Diagram(self.meta)

    # -- tables --------------------------------------------------------------
    def table(self, full_name: str) -> Table[Any, Any, Any]:
        """A table by full name (``lab.Session.Trial``) or by name in the root schema."""
        t = self._tables.get(full_name)
        if t is None:
            t = self._tables.get(f"{self.meta.name}.{full_name}")
        if t is None:
            raise QueryError(f"no table {full_name!r} in pipeline {self.meta.name}")
        return t

    def tables(self) -> list[Table[Any, Any, Any]]:
        """All tables in dependency order."""
        return [self._tables[t.full_name] for t in self.meta.tables]

    def declare(self, *, update_contents: bool = False) -> DeclareReport:
        """Create missing tables, check existing ones, insert lookup contents."""
        for schema in self.meta.schemas:  # a jobs table of an older release gains its new columns
            upgrade_jobs_table(self.connection, schema)
        report = declaring.declare(
            self, update_contents=update_contents, extra=[jobs_table_meta(s) for s in self.meta.schemas]
        )
        mark_columns(self.connection, self.meta)
        return report

    # -- object stores -------------------------------------------------------------
    def store_names(self) -> list[str]:
        """The stores this pipeline's tables use (docs/stores.md)."""
        return sorted(store_uses(self.meta))

    def gc_stores(
        self, *stores: str, grace_seconds: float = DEFAULT_GRACE_SECONDS, dry_run: bool = False
    ) -> list[GcReport]:
        """Delete the objects no row refers to and older than the grace period (all used stores when none given)."""
        return [
            gc(self, name, grace_seconds=grace_seconds, dry_run=dry_run) for name in (stores or self.store_names())
        ]

    def verify_stores(self, store: str | None = None) -> VerifyReport:
        """Re-read every referenced object (exists, size, sha256); the report lists the rows with problems."""
        return verify(self, store)

    # -- makers and populate -----------------------------------------------------
    def register(self, *makers: type[Maker[Any, Any]]) -> None:
        """Use these make() implementations for their tables."""
        for maker in makers:
            name = getattr(maker, "__table__", None)
            if not isinstance(name, str) or name not in self.meta.by_name:
                raise QueryError(f"{maker.__name__} is not a maker for a table of this pipeline")
            self._makers[name] = maker

    def maker_for(self, full_name: str) -> type[Maker[Any, Any]] | None:
        return self._makers.get(full_name)

    def reopener(self) -> Callable[[], Pipeline]:
        """A picklable function that opens this pipeline again on a new connection with the
        same makers registered (worker processes call it)."""
        return functools.partial(_reopen, type(self), self.connection.params, tuple(self._makers.values()))

    def populate_all(
        self,
        *restrictions: object,
        tables: Sequence[str] | None = None,
        reserve_jobs: bool = False,
        processes: int = 1,
        max_calls: int | None = None,
        suppress_errors: bool = False,
        display_progress: bool = False,
        order: str = "original",
        group_commit: bool = True,
        make_timeout: float | None = None,
        executor: object | None = None,
    ) -> PopulateReport:
        """Populate every imported/computed table in dependency order (options as for populate())."""
        return run.populate_all(
            self,
            *restrictions,
            tables=tables,
            reserve_jobs=reserve_jobs,
            processes=processes,
            max_calls=max_calls,
            suppress_errors=suppress_errors,
            display_progress=display_progress,
            order=order,
            group_commit=group_commit,
            make_timeout=make_timeout,
            executor=executor,
        )

    def outdated(self, *tables: str, code: bool = True, inputs: bool = True) -> dict[str, Outdated]:
        """Outdated rows per imported/computed table, with their reasons (docs/staleness.md)."""
        return staleness.outdated(self, tables or None, code=code, inputs=inputs)

    def refresh(
        self,
        *tables: str,
        code: bool = True,
        inputs: bool = True,
        dry_run: bool = False,
        reserve_jobs: bool = False,
        processes: int = 1,
        suppress_errors: bool = False,
        display_progress: bool = False,
    ) -> tuple[RefreshPlan, PopulateReport | None]:
        """Delete outdated rows with their dependents and make them again (docs/staleness.md)."""
        return staleness.refresh(
            self,
            tables or None,
            code=code,
            inputs=inputs,
            dry_run=dry_run,
            reserve_jobs=reserve_jobs,
            processes=processes,
            suppress_errors=suppress_errors,
            display_progress=display_progress,
        )

    def plan(self) -> Plan:
        """A whole-pipeline dry run: per table, keys ready now and later, jobs, outdated rows, time."""
        return plan.plan(self)

    @property
    def jobs(self) -> Jobs:
        """Reservations, errors and ignored keys of populate (the schemas' jobs tables)."""
        return manage.Jobs(self)

    # -- lifetime ----------------------------------------------------------------
    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _reopen(
    cls: type[Pipeline], params: ConnectionParams, makers: tuple[type[Maker[Any, Any]], ...]
) -> Pipeline:
    return cls(connection.Connection(params), declare=False, makers=makers)


def _bind(pipeline: Pipeline, path: str, table: Table[Any, Any, Any]) -> None:
    parts = path.split(".")
    owner: Any = pipeline
    for i, name in enumerate(parts[:-1]):
        nxt = owner.__dict__.get(name)
        if nxt is None:
            ns_class = pipeline.namespaces.get(name, Namespace) if i == 0 else Namespace
            nxt = ns_class(".".join(parts[: i + 1]))
            setattr(owner, name, nxt)
        owner = nxt
    setattr(owner, parts[-1], table)
