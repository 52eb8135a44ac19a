"""Who a worker is, the database server's clock, and whether a worker is still alive.

A reservation in the jobs table names its worker (host, pid, database user,
connection id, a token unique to the worker) and carries a heartbeat;
:func:`dead_reason` decides from these whether the worker is gone, so that
its reservations can be reclaimed.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import socket
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from relflow_gen.runtime.engine.connection import Connection


class Holder(Protocol):
    """What a reservation says about its worker (a :class:`~.jobs.Job`)."""

    @property
    def host(self) -> str: ...

    @property
    def pid(self) -> int: ...

    @property
    def connection_id(self) -> int: ...

    @property
    def user(self) -> str: ...

    @property
    def heartbeat(self) -> dt.datetime | None: ...


@dataclass(frozen=True)
class WorkerIdentity:
    """Who holds a reservation: one per populate call and process."""

    host: str
    pid: int
    user: str
    token: str
    connection_id: int

    @classmethod
    def current(cls, conn: Connection) -> WorkerIdentity:
        try:
            os_user = getpass.getuser()
        except Exception:  # noqa: BLE001 - no user name in some containers
            os_user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
        return cls(
            host=(socket.gethostname() + slurm_task())[:255],
            pid=os.getpid(),
            user=(conn.params.user or os_user)[:255],
            token=uuid.uuid4().hex,
            connection_id=conn.connection_id,
        )

    @property
    def made_by(self) -> str:
        return f"{self.host}:{self.pid}"[:255]


def slurm_task() -> str:
    """`` slurm:JOB_TASK`` inside a Slurm job (array job id and task index), else ""."""
    env = os.environ
    job = env.get("SLURM_ARRAY_JOB_ID") or env.get("SLURM_JOB_ID")
    if not job:
        return ""
    task = env.get("SLURM_ARRAY_TASK_ID")
    return f" slurm:{job}_{task}" if task and env.get("SLURM_ARRAY_JOB_ID") else f" slurm:{job}"


class ServerClock:
    """Local time corrected to the database server's clock (one query to measure the offset)."""

    def __init__(self, conn: Connection) -> None:
        before = dt.datetime.now()
        raw = conn.scalar(f"SELECT {conn.backend.now_sql()}")
        after = dt.datetime.now()
        server = raw if isinstance(raw, dt.datetime) else dt.datetime.fromisoformat(str(raw))
        self.offset = server - (before + (after - before) / 2)
        if abs(self.offset) < dt.timedelta(milliseconds=2):
            self.offset = dt.timedelta(0)
            self.now = dt.datetime.now  # type: ignore[method-assign]

    def now(self) -> dt.datetime:
        return dt.datetime.now() + self.offset


def pid_alive(pid: int) -> bool:
    """Whether a process of this host is alive (a zombie counts as dead)."""
    if os.name == "nt" or pid <= 0:
        return True  # cannot tell safely: leave it to the heartbeat rule
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[-1].split()[0]
        return state not in (b"Z", b"X")
    except (OSError, IndexError):
        return True


def dead_reason(
    holder: Holder,
    me: WorkerIdentity,
    live: dict[int, str] | None,
    now: dt.datetime,
    stale_after: float,
) -> str | None:
    """Why the worker holding a reservation is dead, or None when it may be alive.

    ``live``: connection id -> user of the server's connections (None: unknown).
    Without the PROCESS privilege a MySQL server shows only our user's
    connections, so a missing connection of another user proves nothing
    unless other users' connections are visible.
    """
    if holder.host == me.host and not pid_alive(holder.pid):
        return f"process {holder.pid} on {holder.host} is gone"
    if live is not None and holder.connection_id and holder.connection_id not in live:
        if holder.user == me.user or any(user != me.user for user in live.values()):
            return f"its database connection {holder.connection_id} is closed"
    if holder.heartbeat is not None and (now - holder.heartbeat).total_seconds() > stale_after:
        return f"no heartbeat for {(now - holder.heartbeat).total_seconds():.0f} s"
    return None
