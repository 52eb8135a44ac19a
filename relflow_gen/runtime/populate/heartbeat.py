"""The heartbeat of a worker's reservations.

While populate holds reservations, a daemon thread with its own database
connection sets their ``heartbeat`` to the current time every few seconds.
A reservation whose heartbeat stops (the machine died, the process hangs or
was suspended) is reclaimed by other workers after
:data:`~relflow_gen.runtime.populate.jobs.STALE_SECONDS`.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from relflow_gen.runtime.backends.base import ConnectionParams
from relflow_gen.runtime.engine.connection import Connection
from relflow_gen.runtime.populate.jobs import JobStore

log = logging.getLogger("relflow_gen")


class Heartbeat:
    def __init__(
        self, params: ConnectionParams, schema: str, token: str, offset: dt.timedelta, interval: float
    ) -> None:
        self.params = params
        self.schema = schema
        self.token = token
        self.offset = offset
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="relflow-heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        conn: Connection | None = None
        try:
            while not self._stop.wait(self.interval):
                try:
                    if conn is None:
                        conn = Connection(self.params)
                    JobStore(conn, self.schema).heartbeat(self.token, dt.datetime.now() + self.offset)
                except Exception as exc:  # noqa: BLE001 - a missed beat is retried at the next one
                    log.debug("heartbeat failed: %s", exc)
                    if conn is not None:
                        conn.close()
                    conn = None
        finally:
            if conn is not None:
                conn.close()
