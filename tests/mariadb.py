"""A throwaway MariaDB/MySQL server for the test session.

Initialises a data directory in a temp folder, starts ``mariadbd`` (or
``mysqld``) on a free loopback port, waits until it answers, yields its URL and
shuts it down at the end.  Facts from ../shared/notes/mariadb-throwaway.md.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def server_binary() -> str | None:
    for name in ("mariadbd", "mysqld"):
        found = shutil.which(name) or next(
            (str(p) for p in (Path("/usr/sbin") / name, Path("/usr/libexec") / name) if p.exists()), None
        )
        if found:
            return found
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _install_db_binary() -> str:
    for name in ("mariadb-install-db", "mysql_install_db"):
        found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
        if found:
            return found
    raise RuntimeError("mariadb-install-db not found next to the server binary")


@contextmanager
def throwaway_server(*extra: str) -> Iterator[str]:
    """Start a private server (with ``extra`` server options); yield ``mysql://root@127.0.0.1:PORT/``."""
    binary = server_binary()
    if binary is None:
        raise RuntimeError("no mariadbd/mysqld binary")
    root = Path(tempfile.mkdtemp(prefix="relflow-mariadb-"))
    data, sock, pid_file, log = root / "data", root / "sock", root / "pid", root / "err.log"
    scratch = root / "tmp"  # the server's own temp folder: nothing else on the machine can touch its files
    scratch.mkdir()
    user = ["--user=root"] if os.geteuid() == 0 else []
    subprocess.run(
        [
            _install_db_binary(),
            "--no-defaults",
            f"--datadir={data}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            *user,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    port = _free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--no-defaults",
            f"--datadir={data}",
            f"--socket={sock}",
            f"--port={port}",
            "--bind-address=127.0.0.1",
            f"--pid-file={pid_file}",
            f"--log-error={log}",
            f"--tmpdir={scratch}",
            "--max-allowed-packet=256M",
            "--innodb-flush-log-at-trx-commit=2",
            "--skip-log-bin",
            *user,
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_ready(port, proc, log)
        yield f"mysql://root@127.0.0.1:{port}/"
    finally:
        _stop(proc, pid_file)
        shutil.rmtree(root, ignore_errors=True)


def _wait_ready(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> None:
    import pymysql

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text(errors='replace') if log.exists() else ''}")
        try:
            pymysql.connect(host="127.0.0.1", port=port, user="root", password="", connect_timeout=2).close()
            return
        except pymysql.err.OperationalError:
            time.sleep(0.2)
    raise RuntimeError(f"server did not become ready in {timeout}s")


def _stop(proc: subprocess.Popen[bytes], pid_file: Path) -> None:
    """Stop the server we started, by its own pid (never by name)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
