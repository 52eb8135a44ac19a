"""Worker "hosts" in Linux network namespaces, for tests and bench/bench_workers.py (root only).

One namespace holds the database: a bridge with 10.77.0.1 and a MariaDB
server bound to that address.  Each host is another namespace with its own
address (10.77.0.10, .11, ...), joined to the bridge by a veth pair, and its
processes run in their own UTS namespace under their own hostname.  The
addresses and the port live inside the private namespaces, so parallel runs
cannot collide; the namespace names carry a random suffix.

* :func:`why_not` says why namespaces cannot be made here (None when they can);
* :class:`NetLab` creates the namespaces and removes them, with every process
  started in them, when its ``with`` block ends, even on failure;
* :meth:`NetLab.server` starts a throwaway MariaDB inside the database namespace;
* :meth:`NetLab.start_host` starts a host's worker processes in one process
  group (``kill_host`` kills them all), :meth:`NetLab.cut` / :meth:`NetLab.restore`
  pull and put back a host's cable (its port on the bridge);
* :func:`build_package` builds the pipeline below with ``relflow-gen build`` and
  writes its makers module (a make that sleeps, then fetches and inserts a row;
  with ``HW_READY``/``HW_GO`` set, every worker waits at a start line once it
  has connected and checked the schema).
"""

from __future__ import annotations

import ctypes
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import mariadb

T = TypeVar("T")

SUBNET = "10.77.0"
DB_ADDRESS = f"{SUBNET}.1"
CLONE_NEWNET = 0x40000000
USER = "relflow"

SCHEMA = """\
schema hw

manual Src {
    src_id: int32
    ---
    value: float64
}

computed Dst {
    -> Src
    ---
    doubled: float64
}
"""

MAKERS = '''\
"""make() for hw.Dst: sleep HW_SLEEP seconds, fetch the parent row, insert one row."""

import os
import socket
import time
from pathlib import Path

import hw_pipeline as hw
from relflow_gen.runtime.populate import jobs

# a short stale-heartbeat window, so that a host cut off is reclaimed within the test
jobs.STALE_SECONDS = float(os.environ.get("HW_STALE", jobs.STALE_SECONDS))
jobs.HEARTBEAT_SECONDS = float(os.environ.get("HW_BEAT", jobs.HEARTBEAT_SECONDS))
SLEEP = float(os.environ.get("HW_SLEEP", "0.005"))

# a start line, when the worker has connected and checked the schema (populate makes its
# maker): every worker reports ready, then waits until the go file exists
_ready, _go = os.environ.get("HW_READY"), os.environ.get("HW_GO")


class MakeDst(hw.DstMaker):
    def __init__(self, db: hw.HwPipeline) -> None:
        super().__init__(db)
        global _ready
        if _ready and _go:
            Path(_ready, f"{socket.gethostname()}-{os.getpid()}").touch()
            _ready = None
            while not Path(_go).exists():
                time.sleep(0.01)

    def make(self, key: hw.DstKey) -> None:
        time.sleep(SLEEP)
        src = (self.db.Src & key).fetch1()
        self.insert1({**key, "doubled": src["value"] * 2})


MAKERS = (MakeDst,)
'''

_libc = ctypes.CDLL(None, use_errno=True)


def why_not() -> str | None:
    """Why network namespaces cannot be created here, or None when they can."""
    if os.geteuid() != 0:
        return "network namespaces and veth pairs need root (this test runs as root in CI)"
    for tool in ("ip", "unshare"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed (iproute2, util-linux)"
    if mariadb.server_binary() is None:
        return "no mariadbd/mysqld binary"
    probe = f"rfprobe-{uuid.uuid4().hex[:8]}"
    done = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if done.returncode != 0:
        return f"`ip netns add` failed: {done.stderr.strip() or done.returncode}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


@dataclass
class Host:
    ns: str
    hostname: str
    address: str
    port: str  # its veth end on the bridge, in the database namespace
    proc: subprocess.Popen[bytes] | None = None
    logs: list[Path] = field(default_factory=list)

    def exit_codes(self) -> list[int | None]:
        """Exit code of each worker process (None: killed, or still running)."""
        out: list[int | None] = []
        for log in self.logs:
            rc = log.with_suffix(".rc")
            out.append(int(rc.read_text()) if rc.exists() and rc.read_text().strip() else None)
        return out


# starts N copies of a command under the host's name; each writes its log and its exit code
_HOST_SH = r"""
hostname "$1" || exit 97
n=$2; logs=$3; shift 3
i=0; pids=""
while [ $i -lt $n ]; do "$@" >"$logs-$i.log" 2>&1 & pids="$pids $!"; i=$((i+1)); done
i=0
for p in $pids; do wait $p; echo $? >"$logs-$i.rc"; i=$((i+1)); done
"""


class NetLab:
    """A database namespace and ``n_hosts`` worker namespaces on one bridge."""

    def __init__(self, n_hosts: int, root: Path) -> None:
        suffix = uuid.uuid4().hex[:8]
        self.root = root
        self.db_ns = f"rf-{suffix}-db"
        self.hosts = [
            Host(f"rf-{suffix}-h{i}", f"host{i}-{suffix}", f"{SUBNET}.{10 + i}", f"vh{i}") for i in range(n_hosts)
        ]
        self.made: list[str] = []

    def __enter__(self) -> NetLab:
        try:
            self._create()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _create(self) -> None:
        db = self.db_ns
        _ip("netns", "add", db)
        self.made.append(db)
        _ip("-n", db, "link", "set", "lo", "up")
        _ip("-n", db, "link", "add", "br0", "type", "bridge")
        _ip("-n", db, "addr", "add", f"{DB_ADDRESS}/24", "dev", "br0")
        _ip("-n", db, "link", "set", "br0", "up")
        for h in self.hosts:
            _ip("netns", "add", h.ns)
            self.made.append(h.ns)
            _ip("-n", h.ns, "link", "set", "lo", "up")
            _ip("-n", db, "link", "add", h.port, "type", "veth", "peer", "name", "eth0", "netns", h.ns)
            _ip("-n", db, "link", "set", h.port, "master", "br0", "up")
            _ip("-n", h.ns, "addr", "add", f"{h.address}/24", "dev", "eth0")
            _ip("-n", h.ns, "link", "set", "eth0", "up")

    def close(self) -> None:
        """Kill every process started in the hosts, then delete the namespaces (their veths go with them)."""
        for h in self.hosts:
            self.kill_host(h)
        for ns in reversed(self.made):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self.made = []

    # -- inside a namespace ----------------------------------------------------------
    def run_in(self, ns: str, action: Callable[[], T]) -> T:
        """Run ``action`` on a thread that entered namespace ``ns``: sockets it opens stay in ``ns``."""
        out: list[Any] = []

        def enter() -> None:
            try:
                fd = os.open(f"/var/run/netns/{ns}", os.O_RDONLY)
                try:
                    if _libc.setns(fd, CLONE_NEWNET) != 0:
                        err = ctypes.get_errno()
                        raise OSError(err, f"setns into {ns}: {os.strerror(err)}")
                finally:
                    os.close(fd)
                out.append((True, action()))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                out.append((False, exc))

        thread = threading.Thread(target=enter, name=f"in-{ns}")
        thread.start()
        thread.join()
        ok, value = out[0]
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    @contextmanager
    def server(self) -> Iterator[str]:
        """A throwaway MariaDB in the database namespace; yields ``mysql://relflow:PW@10.77.0.1:PORT/``."""
        import pymysql

        binary = mariadb.server_binary()
        assert binary is not None
        root = Path(tempfile.mkdtemp(prefix="relflow-nsdb-"))
        data, sock, pid_file, log, scratch = root / "data", root / "sock", root / "pid", root / "err.log", root / "tmp"
        scratch.mkdir()
        subprocess.run(
            [mariadb._install_db_binary(), "--no-defaults", f"--datadir={data}",
             "--auth-root-authentication-method=normal", "--skip-test-db", "--user=root"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        port = random.randint(20000, 60000)  # the namespace is private: nothing else listens there
        proc = subprocess.Popen(
            ["ip", "netns", "exec", self.db_ns, binary, "--no-defaults", f"--datadir={data}", f"--socket={sock}",
             f"--port={port}", f"--bind-address={DB_ADDRESS}", "--skip-name-resolve", f"--pid-file={pid_file}",
             f"--log-error={log}", f"--tmpdir={scratch}", "--innodb-flush-log-at-trx-commit=2", "--skip-log-bin",
             "--max-connections=500", "--user=root"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        password = uuid.uuid4().hex
        try:
            deadline = time.monotonic() + 60
            while True:  # the unix socket is not namespaced: root@localhost creates the workers' user
                if proc.poll() is not None:
                    raise RuntimeError(f"server exited early:\n{log.read_text(errors='replace')}")
                if _accepts(sock):
                    admin = pymysql.connect(unix_socket=str(sock), user="root", password="")
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not start in 60 s:\n{log.read_text(errors='replace')}")
                time.sleep(0.2)
            with admin.cursor() as cur:
                cur.execute(f"CREATE USER '{USER}'@'%' IDENTIFIED BY '{password}'")
                cur.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'%'")
            admin.close()
            yield f"mysql://{USER}:{password}@{DB_ADDRESS}:{port}/"
        finally:
            mariadb._stop(proc, pid_file)
            shutil.rmtree(root, ignore_errors=True)

    # -- hosts -------------------------------------------------------------------------
    def start_host(self, host: Host, workers: int, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        """Start ``workers`` copies of ``argv`` in the host: its namespace, its hostname, one process group."""
        prefix = self.root / host.hostname
        host.logs = [Path(f"{prefix}-{i}.log") for i in range(workers)]
        host.proc = subprocess.Popen(
            ["ip", "netns", "exec", host.ns, "unshare", "--uts", "sh", "-c", _HOST_SH, "sh",
             host.hostname, str(workers), str(prefix), *argv],
            env=env, cwd=cwd, start_new_session=True,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def kill_host(self, host: Host) -> None:
        """kill -9 every process of the host (its process group)."""
        proc = host.proc
        if proc is None:
            return
        if proc.poll() is None or _group_alive(proc.pid):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait()
        deadline = time.monotonic() + 10
        while _group_alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)

    def wait_host(self, host: Host, timeout: float) -> None:
        assert host.proc is not None
        host.proc.wait(timeout=timeout)

    def cut(self, host: Host) -> None:
        """Pull the host's cable: its port on the bridge goes down; packets are lost, nothing is refused."""
        _ip("-n", self.db_ns, "link", "set", host.port, "down")

    def restore(self, host: Host) -> None:
        _ip("-n", self.db_ns, "link", "set", host.port, "up")


def _accepts(sock: Path) -> bool:
    with socket.socket(socket.AF_UNIX) as s:
        try:
            s.connect(str(sock))
        except OSError:
            return False
    return True


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def build_package(root: Path) -> tuple[Path, Path]:
    """``relflow-gen build`` the hw pipeline into ``root``; returns (folder for PYTHONPATH, makers file)."""
    root.mkdir(parents=True, exist_ok=True)
    rf = root / "hw.rf"
    rf.write_text(SCHEMA)
    relflow = Path(sys.executable).parent / "relflow-gen"
    subprocess.run([str(relflow), "build", str(rf), "-o", str(root)], check=True, capture_output=True)
    makers = root / "hw_makers.py"
    makers.write_text(MAKERS)
    return root, makers


def worker_env(root: Path, url: str, **extra: str) -> dict[str, str]:
    """The environment of the workers: the URL (with its password) stays off their command lines."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH", "")) if p)
    env["RELFLOW_DB_URL"] = url
    env.update(extra)
    return env


def worker_argv(makers: Path, *options: str) -> list[str]:
    return [sys.executable, "-m", "hw_pipeline", "--makers", str(makers), *options]
