"""Import time of the runtime and of a generated 500-table package, against bare start-up.

Run:  python bench/bench_import.py [--tables 500] [--repeat 15] [--datajoint PYTHON]

Every figure is a fresh ``python -c ...`` process with warm bytecode (the
script writes the bytecode to a private ``PYTHONPYCACHEPREFIX`` and runs each
command once before timing it, whatever ``PYTHONDONTWRITEBYTECODE`` says), all
measured in the same run, round-robin: the median wall time and the median
CPU time (user + system) of the process, which a loaded machine inflates less:

- ``bare``      ``python -c pass``: the floor;
- ``runtime``   ``import relflow_gen.runtime`` (target: at most 2.5x bare): its public
  names load on first use (PEP 562), so this is the package's own cost;
- ``rt-all``    ``from relflow_gen.runtime import *``: every public name, populate's
  machinery included (no target; what a program that uses everything pays);
- ``pkg-import`` ``import PACKAGE`` alone: the issue's "importing a generated package"
  (its tables and makers, the pipeline class; target: at most 7x bare);
- ``package``   import a generated package of ``--tables`` tables and connect it
  to ``sqlite://`` (an in-memory database: declares every table; no target: SQLite's
  own work creating the tables, ``sql-only`` below, is about 5x bare alone);
- ``pkg-check`` the same package connected to an SQLite file that holds its tables
  already (declare checks every table: the usual case of a program that connects);
- ``sql-only``  no relflow-gen at all: ``sqlite3`` runs the package's ``sql/sqlite.sql``
  (the statements declare runs on an empty database) on ``sqlite://`` in one
  transaction, the part of ``package`` that is SQLite's own work;
- ``datajoint`` ``import datajoint`` with the interpreter given by ``--datajoint``
  (a virtual environment where DataJoint is installed), the peer's figure, beside
  that interpreter's own ``python -c pass``.

Then the largest entries of ``python -X importtime`` for the package command
(self time and cumulative time, in ms, one run).

This is a script, not a test: numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench_build import synthetic_schema

from relflow_gen.cli.main import main as relflow_gen


@dataclass(frozen=True)
class Command:
    name: str
    python: str
    code: str
    cwd: Path


def environment(pycache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")}
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def run_once(cmd: Command, env: dict[str, str], *extra: str) -> tuple[float, float, str]:
    """Wall time, CPU time (user + system) and standard error of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        [cmd.python, *extra, "-c", cmd.code], cwd=cmd.cwd, env=env, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd.name}: exit {proc.returncode}\n{proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, proc.stderr


def build_package(work: Path, tables: int) -> str:
    (work / "synth.rf").write_text(synthetic_schema(tables), encoding="utf-8")
    with contextlib.redirect_stdout(io.StringIO()):
        code = relflow_gen(["build", str(work / "synth.rf"), "--out", str(work / "pkg")])
    if code != 0:
        raise SystemExit("relflow-gen build of the synthetic schema failed")
    return "synth_pipeline"


def importtime(cmd: Command, env: dict[str, str], top: int) -> list[tuple[int, int, str]]:
    """(self us, cumulative us, module) of the slowest imports, by self time."""
    _, _, err = run_once(cmd, env, "-X", "importtime")
    rows = []
    for line in err.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative, name = (part.strip() for part in line[len("import time:") :].split("|"))
        rows.append((int(self_us), int(cumulative), name))
    return sorted(rows, reverse=True)[:top]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tables", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--top", type=int, default=15, help="how many -X importtime entries to show")
    parser.add_argument("--datajoint", metavar="PYTHON", help="an interpreter that can `import datajoint`")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="relflow-bench-import-") as tmp:
        run(args, Path(tmp))


def run(args: argparse.Namespace, work: Path) -> None:
    package = build_package(work, args.tables)
    env = environment(work / "pycache")
    py = sys.executable
    existing = work / "existing.db"
    subprocess.run(  # the tables pkg-check connects to
        [py, "-c", f"import {package}; {package}.connect('sqlite:///{existing}').close()"],
        cwd=work / "pkg",
        env=env,
        check=True,
    )
    commands = [
        Command("bare", py, "pass", work),
        Command("runtime", py, "import relflow_gen.runtime", work),
        Command("rt-all", py, "from relflow_gen.runtime import *", work),
        Command("pkg-import", py, f"import {package}", work / "pkg"),
        Command("package", py, f"import {package}; {package}.connect('sqlite://').close()", work / "pkg"),
        Command(
            "pkg-check", py, f"import {package}; {package}.connect('sqlite:///{existing}').close()", work / "pkg"
        ),
        Command(
            "sql-only",
            py,
            "import sqlite3; sqlite3.connect(':memory:').executescript("
            f"'BEGIN;' + open('{package}/sql/sqlite.sql').read() + 'COMMIT;')",
            work / "pkg",
        ),
    ]
    if args.datajoint:
        commands += [
            Command("dj bare", args.datajoint, "pass", work),
            Command("datajoint", args.datajoint, "import datajoint", work),
        ]
    for cmd in commands:  # warm the bytecode and the file cache
        run_once(cmd, env)
        run_once(cmd, env)
    wall: dict[str, list[float]] = {cmd.name: [] for cmd in commands}
    cpu: dict[str, list[float]] = {cmd.name: [] for cmd in commands}
    for _ in range(args.repeat):
        for cmd in commands:
            elapsed, used, _ = run_once(cmd, env)
            wall[cmd.name].append(elapsed)
            cpu[cmd.name].append(used)
    mw = {name: statistics.median(values) for name, values in wall.items()}
    mc = {name: statistics.median(values) for name, values in cpu.items()}

    print(f"{'command':10s} {'wall':>9s} {'x bare':>7s} {'cpu':>9s} {'x bare':>7s}  target")
    targets = {"runtime": 2.5, "pkg-import": 7.0}
    for cmd in commands:
        floor = "dj bare" if cmd.name == "datajoint" else "bare"
        ratio_wall, ratio_cpu = mw[cmd.name] / mw[floor], mc[cmd.name] / mc[floor]
        target = f"<= {targets[cmd.name]}x" if cmd.name in targets else ""
        print(
            f"{cmd.name:10s} {mw[cmd.name] * 1000:7.1f}ms {ratio_wall:6.2f}x "
            f"{mc[cmd.name] * 1000:7.1f}ms {ratio_cpu:6.2f}x  {target}"
        )
    package_cmd = next(c for c in commands if c.name == "package")
    print(f"\nslowest imports of the package command (python -X importtime, one run, {args.tables} tables):")
    print(f"{'self ms':>8s} {'cumul ms':>9s}  module")
    for self_us, cumulative, name in importtime(package_cmd, env, args.top):
        print(f"{self_us / 1000:8.1f} {cumulative / 1000:9.1f}  {name.strip()}")


if __name__ == "__main__":
    main()
