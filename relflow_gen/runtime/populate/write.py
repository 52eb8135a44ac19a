"""Writing what make() calls collected: contract checks, provenance, group commits.

:class:`ResultBuilder` turns the rows one make() collected into validated
INSERT parameters (or raises :class:`MakeError` / :class:`InsertError` for
that key); :class:`ResultWriter` commits results, several keys per
transaction when makes are cheap.  A group that fails as a whole (a key made
meanwhile by someone else, inputs deleted meanwhile) is rolled back and
written again one key per transaction, so every key stays all-or-nothing and
the offending keys are told apart.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from relflow_gen.core.meta import PROVENANCE_COLUMNS, TableMeta
from relflow_gen.core.types import TypeSpec
from relflow_gen.runtime.errors import (
    ConnectError,
    DuplicateError,
    LockError,
    MakeError,
    MissingParentError,
    PopulateError,
)
from relflow_gen.runtime.populate.inputs import INPUT_HASH, InputStamp
from relflow_gen.runtime.populate.rows import Params, Plan, RowPreparer
from relflow_gen.runtime.tables.table import write_rows

if TYPE_CHECKING:
    from relflow_gen.runtime.backends.base import Computed
    from relflow_gen.runtime.engine.connection import Connection
    from relflow_gen.runtime.populate.jobs import JobStore

#: the provenance columns an INSERT of results writes (the input fingerprint: see InputStamp)
PROVENANCE_NAMES: tuple[str, ...] = tuple(name for name, _ in PROVENANCE_COLUMNS if name != INPUT_HASH)


@dataclass(slots=True)
class Result:
    """The prepared rows of one make() call, ready to insert."""

    key: dict[str, Any]
    hash: str | None
    text: str | None
    writes: list[tuple[TableMeta, tuple[str, ...], Params]]
    nbytes: int
    seconds: float


def retry_locked(action: Callable[[], Any], attempts: int = 12) -> Any:
    """Run ``action``; when the database is locked or a deadlock is detected, back off and retry."""
    delay = 0.01
    for attempt in range(attempts):
        try:
            return action()
        except LockError:
            if attempt == attempts - 1:
                raise
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 2.0)
    raise AssertionError("unreachable")


def retry_transient(conn: Connection, action: Callable[[], Any], attempts: int = 12) -> Any:
    """:func:`retry_locked`, and once more on a fresh connection when the connection was lost
    (when the connection reconnects: ``reconnect_seconds`` > 0, outside a transaction)."""
    try:
        return retry_locked(action, attempts)
    except ConnectError as exc:
        if conn.reconnect_seconds <= 0 or conn.in_transaction:
            raise
        conn.reconnect(exc)
        return retry_locked(action, attempts)


class KeyLookup:
    """Which keys already have rows in a table (one query per batch)."""

    def __init__(self, conn: Connection, meta: TableMeta, names: Sequence[str]) -> None:
        backend = conn.backend
        self.conn = conn
        self.names = list(names)
        attrs = [meta.by_name[n] for n in self.names]
        self.encoders = [backend.encoder(a.type) for a in attrs]
        self.decoders = [backend.decoder(a.type) for a in attrs]
        q = backend.quote
        cols = ", ".join(backend.select_expr(a.type, q(a.name)) for a in attrs)
        self.head = f"SELECT {cols} FROM {backend.table_ref(meta.schema, meta.sql_name)} WHERE "
        ph = backend.placeholder
        self.one = "(" + " AND ".join(f"{q(n)} = {ph}" for n in self.names) + ")"

    def existing(self, keys: Sequence[Mapping[str, Any]]) -> list[bool]:
        found: set[tuple[Any, ...]] = set()
        for start in range(0, len(keys), 200):
            chunk = keys[start : start + 200]
            params: list[Any] = []
            for k in chunk:
                for n, enc in zip(self.names, self.encoders):
                    v = k[n]
                    params.append(enc(v) if enc is not None else v)
            sql = self.head + " OR ".join([self.one] * len(chunk))
            for row in self.conn.query(sql, params):
                found.add(tuple(v if d is None or v is None else d(v) for v, d in zip(row, self.decoders)))
        return [tuple(k[n] for n in self.names) in found for k in keys]


class ResultBuilder:
    """Checks the rows one make() collected against its key; prepares them for INSERT."""

    def __init__(
        self,
        conn: Connection,
        meta: TableMeta,
        parts: Mapping[str, TableMeta],
        key_names: Sequence[str],
        made_by: str,
        code_hash: str,
    ) -> None:
        backend = conn.backend
        self.conn = conn
        self.meta = meta
        self.parts = parts
        self.key_names = list(key_names)
        self.key_enc = [(n, backend.encoder(meta.by_name[n].type)) for n in key_names]
        enc_time = backend.encoder(TypeSpec("datetime", (6,)))
        self.enc_time: Callable[[dt.datetime], Any] = enc_time if enc_time is not None else (lambda v: v)
        self.made_by = made_by
        self.code_hash = code_hash
        self.preparers = {t.full_name: RowPreparer(conn, t, key_names) for t in (meta, *parts.values())}
        self.master = self.preparers[meta.full_name]
        self.master_columns: dict[tuple[str, ...], tuple[str, ...]] = {}

    def build(
        self,
        key: dict[str, Any],
        hash_: str | None,
        text: str | None,
        rows: Sequence[Mapping[str, Any]],
        parts: Sequence[tuple[str, Sequence[Mapping[str, Any]]]],
        seconds: float,
        made_at: dt.datetime,
    ) -> Result:
        meta = self.meta
        if not rows:
            raise MakeError(
                f"make() for {meta.full_name} {_show(key)} inserted no row into {meta.full_name} "
                "(call self.insert1({**key, ...}) before make() returns)"
            )
        encoded = [key[n] if enc is None else enc(key[n]) for n, enc in self.key_enc]
        plan, params = self.master.prepare(rows)
        self._check(meta, key, encoded, plan, params, rows)
        prov = (self.enc_time(made_at), seconds, self.made_by, self.code_hash)  # _input_hash: InputStamp
        columns = self.master_columns.get(plan.columns)
        if columns is None:
            columns = self.master_columns[plan.columns] = plan.columns + PROVENANCE_NAMES
        writes = [(meta, columns, [p + prov for p in params])]
        nbytes = _size(params, plan.sized) if plan.sized else 0
        for full_name, part_rows in parts:
            if not part_rows:
                continue
            part = self.parts[full_name]
            pplan, pparams = self.preparers[full_name].prepare(part_rows)
            self._check(part, key, encoded, pplan, pparams, part_rows)
            writes.append((part, pplan.columns, pparams))
            nbytes += _size(pparams, pplan.sized) if pplan.sized else 0
        return Result(key, hash_, text, writes, nbytes, seconds)

    def _check(
        self,
        table: TableMeta,
        key: Mapping[str, Any],
        encoded: Sequence[Any],
        plan: Plan,
        params: Params,
        rows: Sequence[Mapping[str, Any]],
    ) -> None:
        positions = plan.key_positions
        if positions is None:
            name = next(n for n in self.key_names if n not in plan.columns)
            raise MakeError(
                f"make() for {self.meta.full_name} {_show(key)} inserted a row into {table.full_name} "
                f"without `{name}`; rows must carry the key they are made for"
            )
        for i, p in enumerate(params):
            for pos, value in zip(positions, encoded):
                if p[pos] != value:
                    name = plan.columns[pos]
                    raise MakeError(
                        f"make() for {self.meta.full_name} {_show(key)} inserted a row into {table.full_name} "
                        f"with {name}={rows[i].get(name)!r}; rows must carry the key they are made for "
                        f"({name}={key[name]!r})"
                    )


class ReservationLost(PopulateError):
    """The worker no longer holds the reservation of a result it is committing: another worker
    reclaimed it (its heartbeat stopped, its connection was closed); the result is refused."""


@dataclass
class Outcome:
    made: list[Result] = field(default_factory=list)
    skipped: list[Result] = field(default_factory=list)
    failed: list[tuple[Result, Exception]] = field(default_factory=list)
    #: results refused because their reservations were reclaimed (also counted in skipped)
    refused: list[Result] = field(default_factory=list)

    def add(self, other: Outcome) -> Outcome:
        self.made += other.made
        self.skipped += other.skipped
        self.failed += other.failed
        self.refused += other.refused
        return self


class ResultWriter:
    """Commits results: master rows, part rows and the release of their reservations, atomically."""

    def __init__(
        self,
        conn: Connection,
        table: TableMeta,
        order: Mapping[str, int],
        lookup: KeyLookup,
        store: JobStore | None,
        token: str,
        stamp: InputStamp | None = None,
        parents: Mapping[str, TableMeta] | None = None,
    ) -> None:
        self.stamp = stamp  # records the input fingerprints of the rows written, in their transaction
        self.parents = parents  # tables by full name: a foreign-key error names the missing parent rows
        self.conn = conn
        self.table = table
        self.order = order
        self.lookup = lookup
        self.store = store
        self.token = token

    def flush(self, results: Sequence[Result]) -> Outcome:
        if not results:
            return Outcome()
        try:
            retry_transient(self.conn, lambda: self._write(results))
            self.conn.stores.confirm()  # objects of committed rows are still there (a racing gc)
            return Outcome(made=list(results))
        except ReservationLost:
            held, refused = self._held(results)
            if refused:
                return Outcome(skipped=refused, refused=refused).add(self.flush(held))
            # (all still held: a key per transaction below tells them apart)
        except (DuplicateError, MissingParentError) as exc:
            if len(results) == 1:
                return self._classify(results[0], exc)
        outcome = Outcome()
        self.conn.stores.confirm()
        for r in results:  # one key per transaction to find the culprits
            try:
                retry_transient(self.conn, lambda: self._write([r]))  # noqa: B023 - called at once
                outcome.made.append(r)
            except ReservationLost:
                outcome.skipped.append(r)
                outcome.refused.append(r)
            except (DuplicateError, MissingParentError) as exc:
                outcome.add(self._classify(r, exc))
        return outcome

    def _held(self, results: Sequence[Result]) -> tuple[list[Result], list[Result]]:
        """The results whose reservations this worker still holds, and the others."""
        assert self.store is not None
        store = self.store
        hashes = [r.hash for r in results if r.hash is not None]
        mine: set[str] = retry_transient(self.conn, lambda: store.held(self.table.full_name, hashes, self.token))
        held = [r for r in results if r.hash is None or r.hash in mine]
        return held, [r for r in results if r.hash is not None and r.hash not in mine]

    def _write(self, results: Sequence[Result]) -> None:
        groups: dict[tuple[str, tuple[str, ...]], tuple[TableMeta, Params]] = {}
        for r in results:
            for meta, columns, params in r.writes:
                slot = groups.get((meta.full_name, columns))
                if slot is None:
                    groups[(meta.full_name, columns)] = (meta, list(params))
                else:
                    slot[1].extend(params)
        ordered = sorted(groups.items(), key=lambda item: self.order.get(item[0][0], 0))
        stamp, update = self.stamp, False
        with self.conn.transaction():
            # first the release: a reservation another worker reclaimed (this worker was cut off
            # or stalled past the heartbeat window) refuses its result before anything is written
            if self.store is not None:
                hashes = [r.hash for r in results if r.hash is not None]
                if hashes and self.store.release(self.table.full_name, hashes, self.token) != len(hashes):
                    raise ReservationLost(f"reservations of {self.table.full_name} were reclaimed")
            for (name, columns), (meta, params) in ordered:
                computed: Sequence[Computed] | None = ()
                if stamp is not None and name == self.table.full_name:
                    computed = stamp.computed(columns)  # the INSERT computes the input fingerprint
                    update = update or computed is None
                write_rows(
                    self.conn, meta, columns, params, skip_duplicates=False, parents=self.parents, computed=computed or ()
                )
            if stamp is not None and update:
                stamp([r.key for r in results])

    def _classify(self, r: Result, exc: Exception) -> Outcome:
        if isinstance(exc, DuplicateError):
            if self.lookup.existing([r.key])[0]:  # made by another worker meanwhile
                if self.store is not None and r.hash is not None:
                    store, h = self.store, r.hash
                    retry_locked(lambda: store.release(self.table.full_name, [h], self.token))
                return Outcome(skipped=[r])
            error: Exception = MakeError(
                f"make() for {self.table.full_name} {_show(r.key)} inserted two rows with the same primary key: {exc}"
            )
        else:
            error = MissingParentError(
                f"the rows made for {self.table.full_name} {_show(r.key)} reference rows that do not exist: "
                f"its inputs were deleted while make() ran, or make() inserted a reference to a missing row ({exc})"
            )
        return Outcome(failed=[(r, error)])


def _size(params: Params, positions: tuple[int, ...]) -> int:
    return sum(len(p[i]) for p in params for i in positions if p[i] is not None)


def _show(key: Mapping[str, Any]) -> str:
    return "{" + ", ".join(f"{k}={v!r}" for k, v in key.items()) + "}"
