"""The slurm command: the sbatch array script (golden file) and a real single-node Slurm.

The real cluster (slurmctld + slurmd + munge from Debian's slurm-wlm and munge
packages, facts in ../shared/notes/slurm-single-node.md) is started by the
test as root in a temp folder on free ports; the test is skipped with the
reason when the packages are missing or the test does not run as root.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from runtime_fixtures import pipeline_from

from relflow_gen.runtime import U
from relflow_gen.runtime.cli import main

GOLDEN = Path(__file__).parent / "golden" / "slurm" / "worker.sbatch"

LAB = """
schema sl

manual Src {
    src_id: int32
    ---
    value: float64
}

manual MakeCall "one row per make() call" {
    call_id: char(32)
    ---
    src_id: int32
    host: varchar(255)
    task: varchar(40)
}

computed Dst {
    -> Src
    ---
    doubled: float64
}
"""

MAKERS = '''
import os
import socket
import time
import uuid

from relflow_gen.runtime import Maker


class MakeDst(Maker):
    __table__ = "sl.Dst"

    def make(self, key):
        task = os.environ.get("SLURM_ARRAY_JOB_ID", "") + "_" + os.environ.get("SLURM_ARRAY_TASK_ID", "")
        self.db.MakeCall.insert1(
            {"call_id": uuid.uuid4().hex, "src_id": key["src_id"], "host": socket.gethostname(), "task": task}
        )
        time.sleep(0.01)
        src = (self.db.Src & key).fetch1()
        self.insert1({**key, "doubled": src["value"] * 2})
'''


def _cls() -> Any:
    db = pipeline_from(LAB, "sqlite://")
    cls = type(db)
    db.close()
    return cls


def test_the_sbatch_script_matches_the_golden_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "w.sbatch"
    argv = [
        "--db", "mysql://lab:s3cret@db.example:3306/",
        "--makers", "lab_makers",
        "slurm", "Dst",
        "--workers", "8",
        "--time", "4:00:00",
        "--partition", "short",
        "--mem", "8G",
        "--cpus", "2",
        "--account", "neuro",
        "--make-timeout", "600",
        "--python", "/opt/lab/venv/bin/python",
        "--program", "/opt/lab/venv/bin/python -m lab_pipeline",
        "--workdir", "/home/lab/run",
        "--logs", "/home/lab/run/logs",
        "--output", str(out),
    ]  # fmt: skip
    assert main(_cls(), argv, prog="lab") == 0
    assert f"wrote {out} (8 worker task(s); logs in /home/lab/run/logs)" in capsys.readouterr().out
    text = out.read_text()
    assert "s3cret" not in text and "db.example" not in text  # the URL stays in the environment
    if os.environ.get("RELFLOW_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()
    bash = shutil.which("bash")
    if bash:
        assert subprocess.run([bash, "-n", str(out)]).returncode == 0  # valid shell


def test_slurm_option_errors_are_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["slurm", "--output", str(tmp_path / "x.sbatch"), "--logs", str(tmp_path / "logs")]
    assert main(_cls(), [*base, "--workers", "0", "--program", "lab"], prog="lab") == 2
    assert "--workers must be at least 1" in capsys.readouterr().err
    assert main(_cls(), [*base, "--workers", "2"], prog="lab") == 2  # a pipeline without package
    assert "give --program" in capsys.readouterr().err
    assert main(_cls(), [*base, "--program", "lab", "--time", "1 day"], prog="lab") == 2
    assert "no spaces in a Slurm option" in capsys.readouterr().err


# -- a real single-node Slurm ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _binary(name: str) -> str | None:
    return shutil.which(name) or next((str(p) for p in (Path("/usr/sbin") / name,) if p.exists()), None)


@pytest.fixture(scope="module")
def slurm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """munged, slurmctld and slurmd in a temp folder; yields the environment for the client commands."""
    missing = [b for b in ("munged", "slurmctld", "slurmd", "sbatch", "squeue") if _binary(b) is None]
    if missing:
        pytest.skip(f"Slurm is not installed ({', '.join(missing)} missing: apt-get install slurm-wlm munge)")
    if os.geteuid() != 0:
        pytest.skip("a private Slurm cluster is started as root (SlurmUser=root)")
    root = tmp_path_factory.mktemp("slurm")
    for d in ("state", "spool", "log", "munge"):
        (root / d).mkdir()
    (root / "munge").chmod(0o700)
    key = root / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    sock = root / "munge" / "munge.sock"
    procs: list[Path] = []
    subprocess.run(
        [_binary("munged") or "munged", f"--key-file={key}", f"--socket={sock}",
         f"--pid-file={root / 'munge' / 'munged.pid'}", f"--log-file={root / 'munge' / 'munged.log'}",
         f"--seed-file={root / 'munge' / 'seed'}", "--force"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    procs.append(root / "munge" / "munged.pid")
    host = socket.gethostname()
    cpus = os.cpu_count() or 1
    mem = max(256, int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20 * 0.8))
    conf = root / "slurm.conf"
    conf.write_text(
        textwrap.dedent(
            f"""\
            ClusterName=relflowtest
            SlurmctldHost={host}
            SlurmUser=root
            SlurmdUser=root
            AuthType=auth/munge
            AuthInfo=socket={sock}
            CredType=cred/munge
            StateSaveLocation={root / 'state'}
            SlurmdSpoolDir={root / 'spool'}
            SlurmctldPidFile={root / 'slurmctld.pid'}
            SlurmdPidFile={root / 'slurmd.pid'}
            SlurmctldPort={_free_port()}
            SlurmdPort={_free_port()}
            ProctrackType=proctrack/linuxproc
            TaskPlugin=task/none
            ReturnToService=2
            SchedulerType=sched/backfill
            SelectType=select/cons_tres
            SelectTypeParameters=CR_Core
            JobCompType=jobcomp/none
            AccountingStorageType=accounting_storage/none
            SlurmctldLogFile={root / 'log' / 'slurmctld.log'}
            SlurmdLogFile={root / 'log' / 'slurmd.log'}
            MpiDefault=none
            NodeName={host} CPUs={cpus} RealMemory={mem} State=UNKNOWN
            PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
            """
        )
    )
    env = {**os.environ, "SLURM_CONF": str(conf)}
    try:
        for daemon, pid in (("slurmctld", "slurmctld.pid"), ("slurmd", "slurmd.pid")):
            subprocess.run([_binary(daemon) or daemon, "-f", str(conf)], check=True, env=env, timeout=60)
            procs.append(root / pid)
        deadline = time.monotonic() + 60
        while True:
            out = subprocess.run(["sinfo", "-h", "-o", "%t"], env=env, capture_output=True, text=True).stdout
            if out.strip() in ("idle", "mix", "alloc"):
                break
            if time.monotonic() > deadline:
                pytest.skip(f"the private Slurm node did not come up: sinfo says {out.strip()!r}")
            time.sleep(0.5)
        yield env
    finally:
        for pid_file in reversed(procs):
            try:
                os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
            except (OSError, ValueError):
                pass
        time.sleep(1)


def test_an_array_job_on_a_real_slurm_populates_the_pipeline(
    slurm: dict[str, str], db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    n = 200
    db: Any = pipeline_from(LAB, db_url)
    db.Src.insert([{"src_id": i, "value": float(i)} for i in range(n)])
    rf = tmp_path / "sl.rf"
    rf.write_text(LAB)
    makers = tmp_path / "sl_makers.py"
    makers.write_text(MAKERS)
    relflow = Path(sys.executable).parent / "relflow-gen"
    argv = [
        "--db", db_url, "--makers", str(makers),
        "slurm", "--workers", "3", "--program", f"{relflow} run {rf}",
        "--workdir", str(tmp_path), "--logs", str(tmp_path / "logs"),
        "--output", str(tmp_path / "sl.sbatch"), "--submit",
    ]  # fmt: skip
    saved = dict(os.environ)
    os.environ.update(slurm)
    try:
        assert main(type(db), argv, prog="sl") == 0
    finally:
        os.environ.clear()
        os.environ.update(saved)
    out = capsys.readouterr().out
    job = out.split("submitted job ")[1].split()[0]
    assert job.isdigit()
    deadline = time.monotonic() + 240
    while True:
        queued = subprocess.run(["squeue", "-h", "-j", job], env=slurm, capture_output=True, text=True).stdout
        if not queued.strip():
            break
        assert time.monotonic() < deadline, queued
        time.sleep(1)
    logs = sorted((tmp_path / "logs").glob("*.out"))
    text = "\n".join(p.read_text() for p in logs)
    assert len(logs) == 3, text
    assert len(db.Dst) == n, text
    assert len(db.MakeCall) == len(U("src_id") & db.MakeCall) == n  # each key made once
    tasks = set(db.MakeCall.column("task"))
    assert all(t.startswith(f"{job}_") for t in tasks) and len(tasks) >= 2  # shared by the array tasks
    assert db.jobs.fetch() == []
    assert "worker:" in text
    made_by = {r["made_by"] for r in db.Dst.provenance()}
    assert all(f" slurm:{job}_" in m for m in made_by), made_by  # which array task made each row
    db.close()


def test_status_shows_the_slurm_task_holding_reservations(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from relflow_gen.runtime.populate.identity import ServerClock, WorkerIdentity
    from relflow_gen.runtime.populate.jobs import JobStore

    db: Any = pipeline_from(LAB, db_url)
    monkeypatch.setenv("SLURM_JOB_ID", "1001")
    monkeypatch.setenv("SLURM_ARRAY_JOB_ID", "1000")
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "3")
    me = WorkerIdentity.current(db.connection)
    assert me.host == socket.gethostname() + " slurm:1000_3"
    JobStore(db.connection, "sl").reserve("sl.Dst", [("a" * 32, '{"src_id":1}')], me, ServerClock(db.connection).now())
    assert main(type(db), ["--db", db_url, "status"], prog="sl") == 0
    out = capsys.readouterr().out
    assert f"reserved by:\n  {socket.gethostname()} slurm:1000_3 pid {os.getpid()}: 1 key(s)" in out
    db.close()
