"""The populate loop of one process: reserve, make, write, record.

For each batch of keys taken from a :class:`KeyFeed`:

1. drop keys in error/ignore status; with ``reserve_jobs``, reserve the batch
   in the jobs table (one INSERT; a key someone else holds is skipped) and
   drop keys that were made meanwhile (one SELECT);
2. per key: reset the maker's buffers, call ``make(key)`` (its reads run in
   autocommit: no transaction is open), check and prepare what it collected;
3. commit prepared results (:mod:`.worker_write`): master rows with
   provenance, part rows, the release of the reservations, in one short
   transaction per group of cheap makes;
4. a failing key leaves nothing behind; its error replaces its reservation in
   the jobs table; without ``suppress_errors`` the error propagates after the
   results made before it are committed and the remaining reservations released.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from relflow_gen.runtime.errors import ConnectError, LockError
from relflow_gen.runtime.populate.execute import ChildFailed, ChildMaker, InProcessMaker
from relflow_gen.runtime.populate.heartbeat import Heartbeat
from relflow_gen.runtime.populate.inputs import InputStamp
from relflow_gen.runtime.populate.interrupts import shielded
from relflow_gen.runtime.populate.jobs import HEARTBEAT_SECONDS, STALE_SECONDS, JobStore, ServerClock, WorkerIdentity
from relflow_gen.runtime.populate.keys import KeyText, hash_json
from relflow_gen.runtime.populate.keysource import maker_source
from relflow_gen.runtime.populate.make import make_settings
from relflow_gen.runtime.populate.write import KeyLookup, Result, ResultBuilder, ResultWriter, retry_transient

if TYPE_CHECKING:
    from relflow_gen.core.meta import TableMeta
    from relflow_gen.runtime.engine.connection import Connection
    from relflow_gen.runtime.populate.host import PopulateHost
    from relflow_gen.runtime.populate.make import Maker

log = logging.getLogger("relflow_gen")


def _never() -> bool:
    return False


#: commit a group of results once it holds this much make() time, keys or bytes
GROUP_SECONDS = 0.1
GROUP_KEYS = 100
GROUP_BYTES = 8 << 20
#: reserve about this much work per round trip to the jobs table (1..MAX_BATCH keys)
BATCH_SECONDS = 0.2
MAX_BATCH = 64
#: failures kept with their tracebacks in a PopulateReport (the count is always exact)
MAX_REPORTED_ERRORS = 1000
#: a make running longer than this (seconds) has the worker commit the results it holds and
#: release the keys it has not started, so that other workers can make them meanwhile
LONG_MAKE_SECONDS = 1.0
#: how long a worker keeps trying to reconnect after losing its connection (seconds)
RECONNECT_SECONDS = 300.0
#: attempts of a make() that fails with a transient database error (lost connection, deadlock)
TRANSIENT_ATTEMPTS = 3


@dataclass
class RunOptions:
    reserve_jobs: bool = False
    suppress_errors: bool = False
    max_calls: int | None = None
    group_commit: bool = True
    stale_after: float = STALE_SECONDS
    heartbeat_seconds: float = HEARTBEAT_SECONDS
    make_timeout: float | None = None  # None: the maker's make_timeout
    reserve_window: float = BATCH_SECONDS
    long_make: float = LONG_MAKE_SECONDS
    reconnect_seconds: float = RECONNECT_SECONDS

    @property
    def record_errors(self) -> bool:
        return self.reserve_jobs or self.suppress_errors


@dataclass
class Failure:
    """A key whose make() failed (picklable: crosses process boundaries)."""

    table: str
    key: dict[str, Any]
    error_type: str
    message: str
    traceback: str

    def __str__(self) -> str:
        return f"{self.table} {self.key}: {self.error_type}: {self.message}"


def describe_error(exc: BaseException) -> str:
    """``Type: message``, never an empty message."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else f"{type(exc).__name__} (no message)"


@dataclass
class Tally:
    made: int = 0
    failed: int = 0
    skipped: int = 0
    busy: int = 0  # skipped because another worker holds the key
    blocked: int = 0  # skipped because the key is in error or ignore status
    vanished: int = 0  # skipped because the key left the key source (inputs deleted meanwhile)
    calls: int = 0
    errors: list[Failure] = field(default_factory=list)
    listener: Callable[[Tally], None] | None = None

    def changed(self) -> None:
        if self.listener is not None:
            self.listener(self)


class KeyFeed(Protocol):
    def take(self, n: int) -> list[dict[str, Any]]:
        """Up to ``n`` more keys ([] when there are none)."""

    def give_back(self, keys: Sequence[dict[str, Any]]) -> None:
        """Keys taken but released unmade (during a long make): hand them out again."""

    def holding(self, delta: int) -> None:
        """A worker starts (+1) or stops (-1) holding taken keys it may give back."""


class ListFeed:
    def __init__(self, keys: Sequence[dict[str, Any]]) -> None:
        self.keys = keys
        self.pos = 0
        self.back: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def take(self, n: int) -> list[dict[str, Any]]:
        with self.lock:
            out, self.back = self.back[:n], self.back[n:]
        rest = list(self.keys[self.pos : self.pos + n - len(out)])
        self.pos += len(rest)
        return out + rest

    def give_back(self, keys: Sequence[dict[str, Any]]) -> None:
        with self.lock:
            self.back += keys

    def holding(self, delta: int) -> None:
        pass


Entry = tuple[dict[str, Any], "str | None", "str | None"]  # key, hash, canonical json


class Runner:
    def __init__(
        self,
        pipeline: PopulateHost,
        meta: TableMeta,
        maker_cls: type[Maker[Any, Any]],
        key_names: Sequence[str],
        options: RunOptions,
        code_hash: str,
        tally: Tally,
        *,
        should_stop: Callable[[], bool] | None = None,
        take_call: Callable[[], bool] | None = None,
    ) -> None:
        self.conn = conn = pipeline.connection
        self.pipeline = pipeline
        self.meta = meta
        self.table = meta.full_name
        self.names = list(key_names)
        self.key_text = KeyText(self.names)
        self.options = options
        self.tally = tally
        self.should_stop = should_stop or _never
        self.take_call = take_call or (self._local_call if options.max_calls is not None else None)
        self.maker_cls = maker_cls
        self.maker = maker_cls(pipeline)
        self.settings = make_settings(maker_cls, meta, options.make_timeout)
        self.timeout = self.settings.make_timeout
        # the queries of setting up reconnect like the loop's (a connection lost right now is not fatal)
        saved, conn.reconnect_seconds = conn.reconnect_seconds, max(conn.reconnect_seconds, options.reconnect_seconds)
        try:
            self.clock = ServerClock(conn)
            self.me = WorkerIdentity.current(conn)  # after a reconnect in the clock's query: the new id
        finally:
            conn.reconnect_seconds = saved
        self.store = JobStore(conn, meta.schema)
        known = pipeline.meta.by_name
        parts = {p: known[p] for p in meta.parts}
        self.builder = ResultBuilder(conn, meta, parts, self.names, self.me.made_by, code_hash)
        self.lookup = KeyLookup(conn, meta, self.names)
        self.order = {t.full_name: i for i, t in enumerate(pipeline.meta.tables)}
        self.writer = self._writer(conn, self.store, self.lookup)
        self.pending: list[Result] = []
        self.pending_bytes = 0
        self.pending_since = 0.0
        self.avg_seconds: float | None = None
        self.blocked: dict[str, str] = {}
        self.busy: list[Entry] = []
        self.heartbeat: Heartbeat | None = None
        self.executor: InProcessMaker | ChildMaker | None = None
        # shared with the heartbeat thread, under self.lock
        self.lock = threading.Lock()
        self.unstarted: deque[Entry] = deque()  # reserved keys of the batch not started yet
        self.holds = False  # whether unstarted keys were announced to the feed
        self.feed: KeyFeed = ListFeed([])
        self.make_started: float | None = None  # monotonic start of the running make
        self.deferred: Exception | None = None  # a failure the heartbeat thread met, raised here
        self.side: tuple[Connection, ResultWriter, JobStore] | None = None

    def _writer(self, conn: Connection, store: JobStore, lookup: KeyLookup) -> ResultWriter:
        return ResultWriter(
            conn,
            self.meta,
            self.order,
            lookup,
            store if self.options.reserve_jobs else None,
            self.me.token,
            InputStamp(conn, self.pipeline.meta, self.meta, self.names),
            self.pipeline.meta.by_name,
        )

    # -- the loop ---------------------------------------------------------------
    def run(self, feed: KeyFeed) -> None:
        self.feed = feed
        saved = self.conn.reconnect_seconds
        self.conn.reconnect_seconds = max(saved, self.options.reconnect_seconds)
        self.conn.on_reconnect.append(self._reconnected)
        try:
            try:
                self._start()
                if self._loop(feed) and self.busy and not self.should_stop():
                    self._retry_reclaimed()
            except BaseException:
                self._finish(quiet=True)
                raise
            self._finish(quiet=False)
        finally:
            self.conn.reconnect_seconds = saved
            self.conn.on_reconnect.remove(self._reconnected)

    def _start(self) -> None:
        if self.timeout is not None:
            self.executor = ChildMaker(
                self.pipeline.reopener(), self.maker_cls, self.table, self.timeout, fork_guard=self._fork_guard
            )
        else:
            self.executor = InProcessMaker(self.maker)
        self.blocked = self.store.blocked(self.table)
        if self.options.reserve_jobs:
            self._reclaim()
            self.heartbeat = Heartbeat(
                self.conn.params,
                self.meta.schema,
                self.me.token,
                self.clock.offset,
                self.options.heartbeat_seconds,
                on_tick=self._on_tick,
            ).start()

    def _fork_guard(self) -> AbstractContextManager[Any]:
        """Held while a make() child is forked: the heartbeat thread is outside the database."""
        heartbeat = self.heartbeat
        return heartbeat.quiet() if heartbeat is not None else nullcontext()

    def _reconnected(self) -> None:
        """After a reconnect: our reservations carry the new connection id (others judge by it)."""
        self.me = dataclasses.replace(self.me, connection_id=self.conn.connection_id)
        if self.options.reserve_jobs:
            self.store.adopt(self.me.token, self.me.connection_id)

    def _reclaim(self) -> set[str]:
        got = retry_transient(
            self.conn,
            lambda: self.store.reclaim(
                [self.table], self.me, self.clock.now(), self.pipeline.meta.by_name, self.options.stale_after
            ),
        )
        return {job.key_hash for job, _ in got}

    def _loop(self, feed: KeyFeed) -> bool:
        """Make the keys of the feed; False when stopped early (max_calls, stop request)."""
        while not self.should_stop():
            keys = feed.take(self._batch_size())
            if not keys:
                return True
            if not self._make_all(self._admit(keys)):
                return False
        return False

    def _retry_reclaimed(self) -> None:
        """Keys skipped because others held them: retry those whose holder turned out dead."""
        reclaimed = self._reclaim()
        again = [e for e in self.busy if e[1] in reclaimed]
        self.busy = []
        if again:
            self.tally.skipped -= len(again)
            self.tally.busy -= len(again)
            self._make_all(self._admit([e[0] for e in again]))

    def _make_all(self, entries: list[Entry]) -> bool:
        """Make the admitted keys; False when populate must stop (max_calls, stop request)."""
        should_stop, take_call = self.should_stop, self.take_call
        lock = self.lock
        with lock:
            self.unstarted = deque(entries)
            self._hold()
        try:
            while True:
                with lock:
                    if not self.unstarted:
                        return True
                    if (should_stop is not _never and should_stop()) or (take_call is not None and not take_call()):
                        rest, self.unstarted = list(self.unstarted), deque()
                        break
                    entry = self.unstarted.popleft()
                    self.make_started = time.monotonic()
                self._make(entry)
                if self.deferred is not None:
                    error, self.deferred = self.deferred, None
                    raise error
                if self._should_flush():
                    self._flush()
        finally:
            with lock:
                self.unstarted = deque()
                self._hold()
        self._release(rest)
        return False

    def _hold(self) -> None:
        """Tell the feed whether this worker holds keys it has not started (under self.lock)."""
        now = bool(self.unstarted)
        if now != self.holds:
            self.holds = now
            self.feed.holding(1 if now else -1)

    def _batch_size(self) -> int:
        if not self.options.reserve_jobs:
            return MAX_BATCH
        if self.avg_seconds is None:
            return 1
        return max(1, min(MAX_BATCH, int(self.options.reserve_window / max(self.avg_seconds, 1e-6))))

    def _local_call(self) -> bool:
        limit = self.options.max_calls
        return limit is None or self.tally.calls < limit

    # -- admission: error/ignore, reservation, made meanwhile -------------------------
    def _admit(self, keys: list[dict[str, Any]]) -> list[Entry]:
        tally = self.tally
        hashing = self.options.reserve_jobs or bool(self.blocked)
        entries: list[Entry] = []
        for k in keys:
            if hashing:
                text = self.key_text(k)
                h = hash_json(text)
                if h in self.blocked:
                    tally.skipped += 1
                    tally.blocked += 1
                    continue
                entries.append((k, h, text))
            else:
                entries.append((k, None, None))
        if not self.options.reserve_jobs or not entries:
            tally.changed()
            return entries
        pairs = [(e[1] or "", e[2] or "") for e in entries]
        got: set[str] = retry_transient(
            self.conn, lambda: self.store.reserve(self.table, pairs, self.me, self.clock.now())
        )
        mine = [e for e in entries if e[1] in got]
        others = [e for e in entries if e[1] not in got]
        self.busy += others
        tally.skipped += len(others)
        tally.busy += len(others)
        done = self.lookup.existing([e[0] for e in mine]) if mine else []
        if any(done):
            tally.skipped += sum(done)
            self._release([e for e, d in zip(mine, done) if d])
            mine = [e for e, d in zip(mine, done) if not d]
        tally.changed()
        return mine

    def _release(self, entries: Sequence[Entry]) -> None:
        hashes = [e[1] for e in entries if e[1] is not None]
        if hashes and self.options.reserve_jobs:
            retry_transient(self.conn, lambda: self.store.release(self.table, hashes, self.me.token))

    # -- one key ----------------------------------------------------------------------
    def _make(self, entry: Entry) -> None:
        key, h, text = entry
        self.tally.calls += 1
        executor = self.executor
        assert executor is not None
        attempt = 1
        try:
            while True:
                try:
                    (rows, parts), seconds = executor.make(key)
                    break
                except ChildFailed as failed:
                    exc: Exception = failed.error if isinstance(failed.error, Exception) else failed
                    stack = failed.stack
                except Exception as error:
                    exc, stack = error, traceback.format_exc()
                wait = self._retry_wait(exc, attempt)
                if wait is None:
                    self._failed(key, h, text, exc, stack, attempts=attempt)
                    return
                log.warning(
                    "make() of %s %s failed (attempt %d): %s; trying again in %.1f s",
                    self.table,
                    key,
                    attempt,
                    describe_error(exc),
                    wait,
                )
                attempt += 1
                self._note_attempt(h, attempt)
                time.sleep(wait)
            try:
                result = self.builder.build(key, h, text, rows, parts, seconds, self.clock.now())
            except Exception as exc:
                self._failed(key, h, text, exc, traceback.format_exc())
                return
        finally:
            with self.lock:
                self.make_started = None
        avg = self.avg_seconds
        self.avg_seconds = seconds if avg is None else 0.8 * avg + 0.2 * seconds
        with self.lock:
            if not self.pending:
                self.pending_since = time.perf_counter() - seconds
            self.pending.append(result)
            self.pending_bytes += result.nbytes

    def _note_attempt(self, h: str | None, attempt: int) -> None:
        """Show on the key's reservation which attempt is next (``status``, ``db.jobs.reserved()``)."""
        if h is None or not self.options.reserve_jobs:
            return
        try:
            retry_transient(self.conn, lambda: self.store.attempt(self.table, h, self.me.token, attempt))
        except Exception as exc:  # noqa: BLE001 - the count is for people; the make goes on
            log.debug("could not note attempt %d of %s: %s", attempt, self.table, exc)

    def _retry_wait(self, exc: Exception, attempt: int) -> float | None:
        """Seconds to wait before calling make() again, or None when the key has failed."""
        policy = self.settings
        if isinstance(exc, (ConnectError, LockError)) and attempt < TRANSIENT_ATTEMPTS:
            return 0.2 * 2.0 ** (attempt - 1) * (0.5 + random.random())
        if policy.retry_on and isinstance(exc, policy.retry_on) and attempt <= policy.retries:
            return policy.retry_backoff * 2.0 ** (attempt - 1) * (0.5 + random.random())
        return None

    def _should_flush(self) -> bool:
        if not self.pending:
            return False
        if not self.options.group_commit or len(self.pending) >= GROUP_KEYS or self.pending_bytes >= GROUP_BYTES:
            return True
        expected = self.avg_seconds or 0.0
        return time.perf_counter() - self.pending_since + expected >= GROUP_SECONDS

    def _flush(self) -> None:
        with self.lock:
            results, self.pending, self.pending_bytes = self.pending, [], 0
        if not results:
            return
        first = self._commit(results, self.writer, self.store)
        if first is not None:
            raise first

    def _commit(self, results: list[Result], writer: ResultWriter, store: JobStore) -> Exception | None:
        """Write results; the first failure that is not suppressed is returned."""
        tally = self.tally
        with shielded():  # committed rows are counted before a stop signal is raised
            outcome = writer.flush(results)
            tally.made += len(outcome.made)
            tally.skipped += len(outcome.skipped)
        if outcome.refused:
            log.warning(
                "refused the results of %d key(s) of %s: this worker no longer held their reservations "
                "(another worker reclaimed them and makes them)",
                len(outcome.refused),
                self.table,
            )
            for r in outcome.refused:
                log.info("refused the result of %s %s: its reservation was reclaimed", self.table, r.key)
        first: Exception | None = None
        for r, exc in outcome.failed:
            text = "".join(traceback.format_exception_only(type(exc), exc))
            if not self._failed(r.key, r.hash, r.text, exc, text, reraise=False, store=store) and first is None:
                first = exc
        tally.changed()
        return first

    # -- a long make (called by the heartbeat thread, with its own connection) --------------
    def _on_tick(self, conn: Connection) -> None:
        with self.lock:
            started = self.make_started
            if started is None or time.monotonic() - started < self.options.long_make:
                return
            if not self.pending and not self.unstarted:
                return
            side = self.side
            if side is None or side[0] is not conn:
                store = JobStore(conn, self.meta.schema)
                side = self.side = (conn, self._writer(conn, store, KeyLookup(conn, self.meta, self.names)), store)
            _, writer, store = side
            waiting, self.unstarted = list(self.unstarted), deque()
            if waiting:
                try:
                    store.release(self.table, [e[1] for e in waiting if e[1] is not None], self.me.token)
                except BaseException:
                    self.unstarted.extend(waiting)
                    raise
                self.feed.give_back([e[0] for e in waiting])
                self._hold()
                log.info("a make() of %s runs long: released %d key(s) not started yet", self.table, len(waiting))
            results, self.pending, self.pending_bytes = self.pending, [], 0
            if results:
                try:
                    first = self._commit(results, writer, store)
                except BaseException:
                    self.pending = results + self.pending
                    raise
                if first is not None and self.deferred is None:
                    self.deferred = first

    # -- failures ------------------------------------------------------------------------
    def _failed(
        self,
        key: dict[str, Any],
        h: str | None,
        text: str | None,
        exc: Exception,
        stack: str,
        *,
        reraise: bool = True,
        attempts: int = 1,
        store: JobStore | None = None,
    ) -> bool:
        """Count and record a failed key; re-raises (or returns False) without suppress_errors.

        A key that is no longer in the key source (its inputs were deleted while populate ran)
        is dropped: counted as skipped, its reservation released, no error recorded."""
        tally = self.tally
        if store is None and self._vanished(key):
            tally.skipped += 1
            tally.vanished += 1
            tally.changed()
            log.info("%s %s left the key source while populate ran; dropped", self.table, key)
            if h is not None:
                self._release([(key, h, text)])
            return True
        tally.failed += 1
        message = describe_error(exc)
        if attempts > 1:
            message += f" (after {attempts} attempts)"
        if len(tally.errors) < MAX_REPORTED_ERRORS:  # all of them are in the jobs table
            shown = message.split(": ", 1)[1] if ": " in message else message
            tally.errors.append(Failure(self.table, dict(key), type(exc).__name__, shown, stack))
        tally.changed()
        log.warning("make() of %s %s failed: %s", self.table, key, message)
        if self.options.record_errors:
            if h is None or text is None:
                text = self.key_text(key)
                h = hash_json(text)
            hh, tt = h, text
            jobs = store if store is not None else self.store
            try:
                retry_transient(
                    jobs.conn,
                    lambda: jobs.record(
                        self.table, hh, tt, "error", self.me, self.clock.now(), message, stack, attempts
                    ),
                )
            except Exception as record_exc:  # noqa: BLE001 - the make error matters more
                log.error("could not record the error of %s %s: %s", self.table, key, record_exc)
        if self.options.suppress_errors:
            return True
        if reraise:
            raise exc
        return False

    def _vanished(self, key: dict[str, Any]) -> bool:
        try:
            source = maker_source(self.pipeline, self.meta, self.maker)
            return len(source & {n: key[n] for n in self.names if n in key}) == 0
        except Exception as exc:  # noqa: BLE001 - the make error matters more
            log.debug("could not check whether %s %s is still in the key source: %s", self.table, key, exc)
            return False

    # -- the end ----------------------------------------------------------------------------
    def _finish(self, *, quiet: bool) -> None:
        try:
            if self.heartbeat is not None:  # no more flushes from its thread
                self.heartbeat.stop()
                self.heartbeat = None
            if quiet:
                try:
                    self._flush()
                except Exception as exc:  # noqa: BLE001 - an error is already propagating
                    log.error("could not write the results made before the error: %s", exc)
            else:
                self._flush()
        finally:
            if self.executor is not None:
                self.executor.close()
            try:
                if self.options.reserve_jobs:
                    retry_transient(self.conn, lambda: self.store.release_all(self.me.token))
            except Exception as exc:  # noqa: BLE001
                log.error("could not release the reservations of this worker: %s", exc)
