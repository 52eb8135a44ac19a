"""The make() contract: typed maker classes the user implements.

For every imported/computed table the generated package has an abstract base,
e.g. ``FilteredRecordingMaker(Maker[FilteredRecordingKey, FilteredRecordingRow])``.
The user subclasses it in their own module::

    class MakeFilteredRecording(lab.FilteredRecordingMaker):
        def make(self, key: lab.FilteredRecordingKey) -> None:
            rec = (self.db.Recording & key).fetch1()
            self.insert1({**key, "filtered": bandpass(rec["samples"])})

mypy checks the key type, the fields read from it and the rows inserted
(master rows with ``self.insert1``/``self.insert``, part rows with
``self.<Part>.insert``).  Rows are collected while make() runs and written by
populate in one short transaction after make() returns, so make() never holds
a database transaction open while it computes.
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from relflow_gen.runtime.errors import PopulateError
from relflow_gen.runtime.populate.keysource import parents_join

if TYPE_CHECKING:
    from relflow_gen.core.meta import TableMeta
    from relflow_gen.runtime.populate.host import PopulateHost
    from relflow_gen.runtime.query.api import Query

K = TypeVar("K")
R = TypeVar("R")
P = TypeVar("P")


class PartSink(Generic[P]):
    """Collects the part rows a make() inserts."""

    def __init__(self, full_name: str) -> None:
        self.full_name = full_name
        self.rows: list[Mapping[str, Any]] = []

    def insert1(self, row: P) -> None:
        self.rows.append(row)  # type: ignore[arg-type]

    def insert(self, rows: Iterable[P]) -> None:
        self.rows.extend(rows)  # type: ignore[arg-type]


class Maker(ABC, Generic[K, R]):
    """Base of the generated maker classes (one per imported/computed table)."""

    if not TYPE_CHECKING:

        def __class_getitem__(cls, params: object) -> type:
            """``Maker[Key, Insert]`` is for type checkers; at run time it is the class itself
            (as for the table classes: no parameterised alias built per generated maker)."""
            return cls

    __table__: ClassVar[str]
    __parts__: ClassVar[tuple[tuple[str, str], ...]] = ()

    #: stop a make() that runs longer than this many seconds (None: no limit); makes then run
    #: in a child process of the worker.  ``populate(make_timeout=...)`` overrides it.
    make_timeout: ClassVar[float | None] = None
    #: call make() again this many times when it raises one of ``retry_on``
    retries: ClassVar[int] = 0
    #: the exceptions worth another attempt (e.g. ``(OSError, TimeoutError)``)
    retry_on: ClassVar[tuple[type[BaseException], ...]] = ()
    #: seconds before the first retry; doubled for each later one, with +-50 % jitter
    retry_backoff: ClassVar[float] = 1.0

    def __init__(self, db: PopulateHost) -> None:
        self.db: Any = db
        self._rows: list[Mapping[str, Any]] = []
        self._sinks: list[PartSink[Any]] = []
        for attr, full_name in self.__parts__:
            sink: PartSink[Any] = PartSink(full_name)
            setattr(self, attr, sink)
            self._sinks.append(sink)

    @abstractmethod
    def make(self, key: K) -> None:
        """Compute the rows of one key and insert them with ``self.insert1`` (and parts)."""

    def key_source(self) -> Query[Any] | None:
        """Override to restrict or replace the keys populate() makes.

        Return a query whose primary key is part of this table's primary key,
        e.g. ``return self.parent_keys() & {"paradigm": "go-nogo"}``; populate
        subtracts the keys already made.  None (the default) means
        :meth:`parent_keys`.
        """
        return None

    def parent_keys(self) -> Query[Any]:
        """The default key source: the join of the table's primary-key parents' keys."""
        return parents_join(self.db, self.db.meta.by_name[self.__table__])

    def insert1(self, row: R) -> None:
        self._rows.append(row)  # type: ignore[arg-type]

    def insert(self, rows: Iterable[R]) -> None:
        self._rows.extend(rows)  # type: ignore[arg-type]

    # -- used by populate ---------------------------------------------------------
    def _reset(self) -> None:
        self._rows = []
        for sink in self._sinks:
            sink.rows = []

    def _collected(self) -> tuple[list[Mapping[str, Any]], list[tuple[str, list[Mapping[str, Any]]]]]:
        return self._rows, [(s.full_name, s.rows) for s in self._sinks]

    def _take(self) -> tuple[list[Mapping[str, Any]], list[tuple[str, list[Mapping[str, Any]]]]]:
        """What make() collected (master rows, (part, rows) pairs); the buffers start empty again."""
        rows, self._rows = self._rows, []
        parts: list[tuple[str, list[Mapping[str, Any]]]] = []
        for sink in self._sinks:
            parts.append((sink.full_name, sink.rows))
            sink.rows = []
        return rows, parts


@dataclass(frozen=True)
class MakeSettings:
    """How populate runs the makes of one table (timeout and retry policy), resolved."""

    make_timeout: float | None
    retries: int
    retry_on: tuple[type[BaseException], ...]
    retry_backoff: float


def _declared_exception(name: str) -> type[BaseException]:
    cls = getattr(builtins, name, None)
    if not (isinstance(cls, type) and issubclass(cls, BaseException)):  # the compiler checked it (E0151)
        raise PopulateError(f"retry_on names {name!r}, which is not a built-in exception")
    return cls


def make_settings(maker_cls: type[Maker[Any, Any]], meta: TableMeta, make_timeout: float | None = None) -> MakeSettings:
    """The settings populate uses, each from the first of: ``make_timeout`` (populate's argument,
    ``--make-timeout``), the maker class or a base of it other than :class:`Maker` (the user's
    class, then the generated ``<Table>Maker``, which carries the .rf options), the table's make
    options in the metadata, :class:`Maker`'s defaults."""

    def own(name: str) -> bool:
        for cls in maker_cls.__mro__:
            if cls is Maker:
                return False
            if name in vars(cls):
                return True
        return False

    timeout = make_timeout
    if timeout is None:
        timeout = maker_cls.make_timeout if own("make_timeout") or meta.make_timeout is None else meta.make_timeout
    retries = maker_cls.retries if own("retries") or meta.retries is None else meta.retries
    if own("retry_on") or not meta.retry_on:
        retry_on = tuple(maker_cls.retry_on)
    else:
        retry_on = tuple(_declared_exception(n) for n in meta.retry_on)
    backoff = maker_cls.retry_backoff if own("retry_backoff") or meta.retry_backoff is None else meta.retry_backoff
    return MakeSettings(
        make_timeout=timeout if timeout is not None and timeout > 0 else None,
        retries=int(retries),
        retry_on=retry_on,
        retry_backoff=float(backoff),
    )
