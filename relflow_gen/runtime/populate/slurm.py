"""``python -m PKG slurm``: an sbatch array script whose tasks are populate workers.

Each array task runs the pipeline's ``worker`` command: it reserves keys in the
jobs table, makes them, and stops when a round finds nothing left to do and no
other worker holds keys.  Tasks therefore share the work like workers started
by hand, and a task that dies is reclaimed like any dead worker.

The database URL is never written into the script or put on a command line
(where ``ps`` and ``squeue`` would show a password): the tasks read
``RELFLOW_DB_URL`` (and ``RELFLOW_DB_PASSWORD`` etc.) from the environment,
which sbatch passes on from the submitting shell (``--export=ALL``, its
default).  Each task logs to its own file, ``LOGS/%x-%A_%a.out`` (job name,
array job id, task index).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from relflow_gen.core.errors import UsageError

__all__ = ["SlurmOptions", "sbatch_script", "submit"]


@dataclass
class SlurmOptions:
    """What goes into the script (sbatch directives and the worker command)."""

    program: Sequence[str]  # the pipeline's program: [python, "-m", package]
    workers: int
    workdir: str
    logs: str
    makers: Sequence[str] = ()
    tables: Sequence[str] = ()
    job_name: str = "relflow"
    time: str | None = None
    partition: str | None = None
    mem: str | None = None
    cpus: int | None = None
    account: str | None = None
    make_timeout: float | None = None
    extra: Sequence[str] = field(default_factory=tuple)  # more #SBATCH lines, as given


def sbatch_script(o: SlurmOptions) -> str:
    """The text of the array script (deterministic: the same options give the same text)."""
    if o.workers < 1:
        raise UsageError("--workers must be at least 1")
    if o.cpus is not None and o.cpus < 1:
        raise UsageError("--cpus must be at least 1")
    lines = [
        "#!/bin/bash",
        f"#SBATCH --job-name={o.job_name}",
        f"#SBATCH --array=0-{o.workers - 1}",
        f"#SBATCH --output={o.logs}/%x-%A_%a.out",
        "#SBATCH --ntasks=1",
    ]
    for flag, value in (
        ("time", o.time),
        ("partition", o.partition),
        ("mem", o.mem),
        ("cpus-per-task", str(o.cpus) if o.cpus is not None else None),
        ("account", o.account),
    ):
        if value:
            if any(c.isspace() for c in value):
                raise UsageError(f"--{flag.split('-')[0]} {value!r}: no spaces in a Slurm option")
            lines.append(f"#SBATCH --{flag}={value}")
    lines += [f"#SBATCH {x}" for x in o.extra]
    worker = [*o.program]
    for m in o.makers:
        worker += ["--makers", m]
    worker += ["worker", *o.tables, "--no-progress"]
    if o.make_timeout is not None:
        worker += ["--make-timeout", f"{o.make_timeout:g}"]
    lines += [
        "#",
        "# Written by the pipeline's `slurm` command. Each array task is one populate worker: it",
        "# reserves keys in the jobs table and stops when no work is left. The database URL comes",
        "# from the environment sbatch passes on (RELFLOW_DB_URL, RELFLOW_DB_PASSWORD, ...), never",
        "# from this file or the command line.",
        "set -euo pipefail",
        ': "${RELFLOW_DB_URL:?set RELFLOW_DB_URL in the environment that runs sbatch}"',
        f"cd {shlex.quote(o.workdir)}",
        'echo "worker ${SLURM_ARRAY_JOB_ID:-?}_${SLURM_ARRAY_TASK_ID:-?} on $(hostname), pid $$"',
        "exec " + " ".join(shlex.quote(w) for w in worker),
        "",
    ]
    return "\n".join(lines)


def submit(script: Path, url: str | None, env: Mapping[str, str] | None = None) -> str:
    """Run sbatch on the script; returns the job id.  The URL goes to the tasks through the
    environment (never as an argument)."""
    sbatch = shutil.which("sbatch")
    if sbatch is None:
        raise UsageError("--submit needs sbatch on the PATH (is this a Slurm login node?)")
    environ = dict(env if env is not None else os.environ)
    if url:
        environ["RELFLOW_DB_URL"] = url
    if not environ.get("RELFLOW_DB_URL"):
        raise UsageError("give the database with --db URL or RELFLOW_DB_URL: the tasks read it from the environment")
    proc = subprocess.run(
        [sbatch, "--parsable", str(script)], capture_output=True, text=True, env=environ, timeout=120
    )
    if proc.returncode != 0:
        raise UsageError(f"sbatch refused {script}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout.strip().split(";")[0]
