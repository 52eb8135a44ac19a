"""The heartbeat of a worker's reservations, and its watch over long makes.

While populate holds reservations, a daemon thread with its own database
connection sets their ``heartbeat`` to the current time every few seconds.
A reservation whose heartbeat stops (the machine died, the process hangs or
was suspended) is reclaimed by other workers after
:data:`~relflow_gen.runtime.populate.jobs.STALE_SECONDS`.

The same thread calls ``on_tick(connection)`` several times a second; the
populate loop uses it to commit finished results and to release the keys it
has not started yet while one make runs long (:mod:`.runner`).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable

from relflow_gen.runtime.backends.base import ConnectionParams
from relflow_gen.runtime.engine.connection import Connection
from relflow_gen.runtime.populate.jobs import JobStore

log = logging.getLogger("relflow_gen")

#: how often the thread looks at the current make (seconds)
TICK_SECONDS = 0.1


class Heartbeat:
    def __init__(
        self,
        params: ConnectionParams,
        schema: str,
        token: str,
        offset: dt.timedelta,
        interval: float,
        on_tick: Callable[[Connection], None] | None = None,
    ) -> None:
        self.params = params
        self.schema = schema
        self.token = token
        self.offset = offset
        self.interval = interval
        self.on_tick = on_tick
        self._stop = threading.Event()
        #: held while the thread uses the database: a process forked meanwhile (the make() child of
        #: a make_timeout) would inherit a lock the thread holds, SQLite's global mutex for one
        #: (:meth:`quiet`)
        self.busy = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="relflow-heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def quiet(self) -> threading.Lock:
        """A lock to hold while forking: the thread is outside the database meanwhile."""
        return self.busy

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        conn: Connection | None = None
        tick = min(self.interval, TICK_SECONDS) if self.on_tick is not None else self.interval
        next_beat = time.monotonic() + self.interval
        try:
            try:  # connect now, so that the first beat is on time
                with self.busy:
                    conn = Connection(self.params)
            except Exception as exc:  # noqa: BLE001 - retried at the first tick
                log.debug("heartbeat connection failed: %s", exc)
            while not self._stop.wait(tick):
                self.busy.acquire()
                try:
                    if conn is None:
                        conn = Connection(self.params)
                    if time.monotonic() >= next_beat:
                        JobStore(conn, self.schema).heartbeat(self.token, dt.datetime.now() + self.offset)
                        next_beat = time.monotonic() + self.interval
                    if self.on_tick is not None:
                        self.on_tick(conn)
                except Exception as exc:  # noqa: BLE001 - a missed beat is retried at the next one
                    log.debug("heartbeat failed: %s", exc)
                    if conn is not None:
                        conn.close()
                    conn = None
                finally:
                    self.busy.release()
        finally:
            if conn is not None:
                conn.close()
