"""The jobs table of a schema: reservations, errors and ignores of make() calls.

One table per schema, ``~jobs`` (a DataJoint-style hidden name), keyed by
(table_name, key_hash): ``table_name`` is the table's full name
(``lab.Recording``), ``key_hash`` the md5 of the key's canonical JSON
(:mod:`.worker_keys`).  A row is one of

* ``reserved``: a worker is making the key (host, pid, connection id, a token
  unique to that worker, reserved_at, heartbeat);
* ``error``: make() failed (error_message, error_stack with the traceback);
* ``ignore``: a person decided the key is not to be made.

Keys in error or ignore status are skipped by populate until the row is
cleared.  Reservations of dead workers are reclaimed (:meth:`JobStore.reclaim`).
Timestamps are on the database server's clock (:class:`ServerClock`), so
workers on machines whose clocks disagree still judge heartbeats alike.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from relflow_gen.core.meta import TableMeta
from relflow_gen.core.types import TypeSpec
from relflow_gen.runtime.populate.identity import ServerClock, WorkerIdentity, dead_reason, pid_alive
from relflow_gen.runtime.populate.jobs_table import JOB_STATUSES, jobs_table_meta, upgrade_jobs_table
from relflow_gen.runtime.populate.keys import canonical_key, hash_json, key_from_json, key_json

if TYPE_CHECKING:
    from relflow_gen.runtime.engine.connection import Connection

__all__ = [
    "HEARTBEAT_SECONDS",
    "JOB_STATUSES",
    "STALE_SECONDS",
    "Job",
    "JobStore",
    "ServerClock",
    "WorkerIdentity",
    "jobs_table_meta",
    "pid_alive",
    "upgrade_jobs_table",
]

log = logging.getLogger("relflow_gen")

#: seconds between heartbeats of a worker's reservations
HEARTBEAT_SECONDS = 5.0
#: a reservation whose heartbeat is older than this is reclaimed
STALE_SECONDS = 120.0
MAX_MESSAGE = 2000
MAX_STACK = 15000

JOB_COLUMNS = (
    "table_name",
    "key_hash",
    "status",
    "key_json",
    "error_message",
    "error_stack",
    "host",
    "pid",
    "connection_id",
    "user",
    "token",
    "reserved_at",
    "heartbeat",
    "attempts",
)

#: what a reservation row sets (the error columns and attempts default to NULL)
RESERVE_COLUMNS = tuple(c for c in JOB_COLUMNS if c not in ("error_message", "error_stack", "attempts"))


@dataclass(frozen=True)
class Job:
    """One row of a jobs table."""

    table: str
    key: dict[str, Any]
    key_hash: str
    status: str
    error_message: str | None
    error_stack: str | None
    host: str
    pid: int
    connection_id: int
    user: str
    token: str
    reserved_at: dt.datetime | None
    heartbeat: dt.datetime | None
    #: make() calls: of an error, how many failed; of a reservation, the attempt running (None: the first)
    attempts: int | None = None


class JobStore:
    """SQL on the jobs table of one schema, through one connection."""

    def __init__(self, conn: Connection, schema: str) -> None:
        self.conn = conn
        self.schema = schema
        self.meta = jobs_table_meta(schema)
        backend = conn.backend
        self.ref = backend.table_ref(schema, "~jobs")
        self.ph = backend.placeholder
        enc = backend.encoder(TypeSpec("datetime", (6,)))
        self._enc_time = enc if enc is not None else (lambda v: v)
        self._dec_time = backend.decoder(TypeSpec("datetime", (6,)))
        self._q = {c: backend.quote(c) for c in JOB_COLUMNS}
        self._reserve_sql: dict[int, str] = {}
        self._release_sql: dict[int, str] = {}

    # -- helpers -------------------------------------------------------------
    def _time(self, value: Any) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, dt.datetime):
            return value
        return dt.datetime.fromisoformat(str(value))

    def _row(self, values: Sequence[Any], tables: Mapping[str, TableMeta]) -> Job:
        r = dict(zip(JOB_COLUMNS, values))
        table = str(r["table_name"])
        meta = tables.get(table)
        key = key_from_json(meta, str(r["key_json"])) if meta is not None else _raw_key(str(r["key_json"]))
        return Job(
            table=table,
            key=key,
            key_hash=str(r["key_hash"]),
            status=str(r["status"]),
            error_message=r["error_message"],
            error_stack=r["error_stack"],
            host=str(r["host"]),
            pid=int(r["pid"]),
            connection_id=int(r["connection_id"]),
            user=str(r["user"]),
            token=str(r["token"]),
            reserved_at=self._time(r["reserved_at"]),
            heartbeat=self._time(r["heartbeat"]),
            attempts=None if r["attempts"] is None else int(r["attempts"]),
        )

    def _params(
        self,
        table: str,
        hash_: str,
        status: str,
        text: str,
        me: WorkerIdentity,
        now: dt.datetime,
        message: str | None = None,
        stack: str | None = None,
        attempts: int | None = None,
    ) -> tuple[Any, ...]:
        t = self._enc_time(now)
        return (
            *(table, hash_, status, text, message, stack),
            *(me.host, me.pid, me.connection_id, me.user, me.token, t, t, attempts),
        )

    def _in_list(self, n: int) -> str:
        return "(" + ", ".join([self.ph] * n) + ")"

    # -- reservations --------------------------------------------------------
    def reserve(
        self, table: str, entries: Sequence[tuple[str, str]], me: WorkerIdentity, now: dt.datetime
    ) -> set[str]:
        """Reserve keys given as (hash, json); returns the hashes this worker now holds."""
        if not entries:
            return set()
        n = len(entries)
        sql = self._reserve_sql.get(n)
        if sql is None:
            sql = self.conn.backend.insert_new_sql(self.ref, RESERVE_COLUMNS, n)
            self._reserve_sql[n] = sql
        t = self._enc_time(now)
        same = (me.host, me.pid, me.connection_id, me.user, me.token, t, t)
        params: list[Any] = []
        for h, text in entries:
            params += (table, h, "reserved", text)
            params += same
        self.conn.execute(sql, params)
        got = self.conn.rowcount()
        if got == n:
            return {h for h, _ in entries}
        if got == 0:
            return set()
        q = self._q
        rows = self.conn.query(
            f"SELECT {q['key_hash']} FROM {self.ref} WHERE {q['table_name']} = {self.ph} AND {q['token']} = {self.ph} "
            f"AND {q['key_hash']} IN {self._in_list(n)}",
            [table, me.token, *(h for h, _ in entries)],
        )
        return {str(r[0]) for r in rows}

    def release(self, table: str, hashes: Sequence[str], token: str) -> int:
        """Delete this worker's reservations of these keys (inside the caller's transaction, if any);
        returns how many it still held."""
        released = 0
        for start in range(0, len(hashes), 500):
            chunk = hashes[start : start + 500]
            sql = self._release_sql.get(len(chunk))
            if sql is None:
                q = self._q
                sql = (
                    f"DELETE FROM {self.ref} WHERE {q['table_name']} = {self.ph} AND {q['token']} = {self.ph} "
                    f"AND {q['status']} = 'reserved' AND {q['key_hash']} IN {self._in_list(len(chunk))}"
                )
                self._release_sql[len(chunk)] = sql
            self.conn.execute(sql, [table, token, *chunk])
            released += self.conn.rowcount()
        return released

    def held(self, table: str, hashes: Sequence[str], token: str) -> set[str]:
        """Which of these keys this worker still holds (the others were reclaimed)."""
        q = self._q
        out: set[str] = set()
        for start in range(0, len(hashes), 500):
            chunk = hashes[start : start + 500]
            rows = self.conn.query(
                f"SELECT {q['key_hash']} FROM {self.ref} WHERE {q['table_name']} = {self.ph} "
                f"AND {q['token']} = {self.ph} AND {q['status']} = 'reserved' "
                f"AND {q['key_hash']} IN {self._in_list(len(chunk))}",
                [table, token, *chunk],
            )
            out.update(str(r[0]) for r in rows)
        return out

    def release_all(self, token: str) -> None:
        q = self._q
        self.conn.execute(
            f"DELETE FROM {self.ref} WHERE {q['token']} = {self.ph} AND {q['status']} = 'reserved'", [token]
        )

    def adopt(self, token: str, connection_id: int) -> None:
        """Move this worker's reservations to its new connection id (after a reconnect)."""
        q = self._q
        self.conn.execute(
            f"UPDATE {self.ref} SET {q['connection_id']} = {self.ph} WHERE {q['token']} = {self.ph} "
            f"AND {q['status']} = 'reserved'",
            [connection_id, token],
        )

    def attempt(self, table: str, hash_: str, token: str, attempt: int) -> None:
        """Note on this worker's reservation of a key that make() runs its ``attempt``-th time."""
        q = self._q
        self.conn.execute(
            f"UPDATE {self.ref} SET {q['attempts']} = {self.ph} WHERE {q['table_name']} = {self.ph} "
            f"AND {q['key_hash']} = {self.ph} AND {q['token']} = {self.ph} AND {q['status']} = 'reserved'",
            [attempt, table, hash_, token],
        )

    def heartbeat(self, token: str, now: dt.datetime) -> None:
        q = self._q
        self.conn.execute(
            f"UPDATE {self.ref} SET {q['heartbeat']} = {self.ph} WHERE {q['token']} = {self.ph} "
            f"AND {q['status']} = 'reserved'",
            [self._enc_time(now), token],
        )

    # -- errors and ignores -------------------------------------------------------
    def record(
        self,
        table: str,
        hash_: str,
        text: str,
        status: str,
        me: WorkerIdentity,
        now: dt.datetime,
        message: str | None = None,
        stack: str | None = None,
        attempts: int | None = None,
    ) -> bool:
        """Write an error/ignore row for a key, replacing this worker's reservation or an
        earlier error/ignore row; False when another live worker holds the key.  ``attempts``:
        the make() calls that failed (errors)."""
        q = self._q
        with self.conn.transaction():
            self.conn.execute(
                f"DELETE FROM {self.ref} WHERE {q['table_name']} = {self.ph} AND {q['key_hash']} = {self.ph} "
                f"AND ({q['token']} = {self.ph} OR {q['status']} <> 'reserved')",
                [table, hash_, me.token],
            )
            sql = self.conn.backend.insert_new_sql(self.ref, JOB_COLUMNS, 1)
            params = self._params(
                table,
                hash_,
                status,
                text,
                me,
                now,
                (message or "")[:MAX_MESSAGE] or None,
                _tail(stack, MAX_STACK),
                attempts,
            )
            self.conn.execute(sql, params)
            return self.conn.rowcount() == 1

    def blocked(self, table: str) -> dict[str, str]:
        """Hash -> status of the keys of a table in error or ignore status."""
        q = self._q
        rows = self.conn.query(
            f"SELECT {q['key_hash']}, {q['status']} FROM {self.ref} WHERE {q['table_name']} = {self.ph} "
            f"AND {q['status']} <> 'reserved'",
            [table],
        )
        return {str(h): str(s) for h, s in rows}

    # -- listing and clearing -------------------------------------------------------
    def _where(
        self, tables: Sequence[str] | None, statuses: Sequence[str] | None, hashes: Sequence[str] | None = None
    ) -> tuple[str, list[Any]]:
        q = self._q
        conds: list[str] = []
        params: list[Any] = []
        for column, values in (("table_name", tables), ("status", statuses), ("key_hash", hashes)):
            if values is not None:
                if not values:
                    return " WHERE 1=0", []
                conds.append(f"{q[column]} IN {self._in_list(len(values))}")
                params.extend(values)
        return (" WHERE " + " AND ".join(conds) if conds else ""), params

    def rows(
        self,
        tables: Sequence[str] | None,
        statuses: Sequence[str] | None,
        known: Mapping[str, TableMeta],
    ) -> list[Job]:
        where, params = self._where(tables, statuses)
        cols = ", ".join(self._q[c] for c in JOB_COLUMNS)
        out = self.conn.query(
            f"SELECT {cols} FROM {self.ref}{where} ORDER BY {self._q['table_name']}, {self._q['reserved_at']}", params
        )
        return [self._row(r, known) for r in out]

    def counts(self) -> dict[tuple[str, str], int]:
        q = self._q
        out = self.conn.query(
            f"SELECT {q['table_name']}, {q['status']}, COUNT(*) FROM {self.ref} "
            f"GROUP BY {q['table_name']}, {q['status']}"
        )
        return {(str(t), str(s)): int(n) for t, s, n in out}

    def delete(
        self, tables: Sequence[str] | None, statuses: Sequence[str], hashes: Sequence[str] | None = None
    ) -> int:
        where, params = self._where(tables, statuses, hashes)
        self.conn.execute(f"DELETE FROM {self.ref}{where}", params)
        return self.conn.rowcount()

    # -- reclaim ---------------------------------------------------------------------
    def reclaim(
        self,
        tables: Sequence[str] | None,
        me: WorkerIdentity,
        now: dt.datetime,
        known: Mapping[str, TableMeta],
        stale_after: float = STALE_SECONDS,
    ) -> list[tuple[Job, str]]:
        """Delete reservations of dead workers; returns (job, why) for each one reclaimed."""
        held = [j for j in self.rows(tables, ["reserved"], known) if j.token != me.token]
        if not held:
            return []
        live = self.conn.backend.live_connections(self.conn._cursor)
        out: list[tuple[Job, str]] = []
        for job in held:
            why = dead_reason(job, me, live, now, stale_after)
            if why is None:
                continue
            q = self._q
            self.conn.execute(
                f"DELETE FROM {self.ref} WHERE {q['table_name']} = {self.ph} AND {q['key_hash']} = {self.ph} "
                f"AND {q['token']} = {self.ph} AND {q['status']} = 'reserved'",
                [job.table, job.key_hash, job.token],
            )
            if self.conn.rowcount():
                log.warning(
                    "reclaimed the reservation of %s %s held by %s (connection %s): %s",
                    job.table,
                    job.key,
                    job.host,
                    job.connection_id,
                    why,
                )
                out.append((job, why))
        return out


def _tail(text: str | None, limit: int) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return "...\n" + text[-limit:]


def _raw_key(text: str) -> dict[str, Any]:
    value = json.loads(text)
    return value if isinstance(value, dict) else {}


def make_key_names(meta: TableMeta) -> list[str]:
    """The attributes of a make() key by default: the primary-key attributes that come from
    primary-key parents, in primary-key order (what the default key source yields)."""
    inherited = {child for fk in meta.foreign_keys if fk.in_key for child, _ in fk.attrs}
    return [n for n in meta.primary_key if n in inherited]


def key_names_given(meta: TableMeta, key: Mapping[str, Any]) -> list[str]:
    """The key attributes a person's key stands for (the make key when it has them all)."""
    names = make_key_names(meta)
    if names and all(n in key for n in names):
        return names
    return [n for n in meta.primary_key if n in key]


def hash_of_key(meta: TableMeta, key: Mapping[str, Any]) -> str:
    names = key_names_given(meta, key)
    return hash_json(key_json(canonical_key(meta, key, names), names))
