"""The populate-related commands of the pipeline command line (see :mod:`.cli`)."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from relflow_gen.core.errors import ExitCode, UsageError
from relflow_gen.runtime.pipeline import Pipeline
from relflow_gen.runtime.populate.interrupts import interrupt
from relflow_gen.runtime.populate.jobs import Job
from relflow_gen.runtime.populate.keysource import pending_keys
from relflow_gen.runtime.populate.run import PopulateReport, generated_base, populate_all
from relflow_gen.runtime.populate.slurm import SlurmOptions, sbatch_script, submit


def add_populate_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("tables", nargs="*", metavar="TABLE", help="tables to populate (default: all)")
    p.add_argument(
        "--restrict",
        action="append",
        default=[],
        metavar="COND",
        help='restrict the keys: an SQL condition ("session_id > 3") or a JSON object; repeatable (AND)',
    )
    p.add_argument("--max-calls", type=int, default=None, metavar="N", help="at most N make() calls per table")
    p.add_argument(
        "--order",
        choices=("original", "reverse", "random"),
        default="original",
        help="order in which the keys are made (default: original)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--make-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="stop a make() that runs longer and record a timeout error (makes then run in a child process)",
    )


def add_retry_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--type", dest="error_type", metavar="NAME", help="only errors of this exception type")
    p.add_argument(
        "--older-than",
        type=_duration,
        default=None,
        metavar="AGE",
        help="only errors recorded longer ago than AGE (seconds, or 30m, 2h, 1d)",
    )


_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def _duration(text: str) -> float:
    t = text.strip().lower()
    unit = _UNITS.get(t[-1:], None)
    number = t[:-1] if unit is not None else t
    try:
        value = float(number) * (unit or 1.0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (seconds, or a number with s, m, h or d)") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"a duration is not negative: {text!r}")
    return value


def _condition(text: str) -> object:
    if text.lstrip().startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(f"--restrict {text!r}: not a JSON object: {exc}") from None
        if not isinstance(value, dict):
            raise UsageError(f"--restrict {text!r}: a JSON restriction is an object")
        return value
    return text


def _auto_tables(
    db: Pipeline, names: list[str], *, need_makers: bool, makers: list[str] | None = None
) -> list[str] | None:
    if not names:
        return None
    out = []
    for name in names:
        try:
            meta = db.table(name).meta
        except Exception:  # noqa: BLE001 - reported as a usage error
            auto = ", ".join(m.name for m in db.meta.tables if m.is_auto)
            raise UsageError(f"no table {name!r}; the populated tables are: {auto}") from None
        if not meta.is_auto:
            raise UsageError(f"{meta.full_name} is a {meta.tier} table; only imported/computed tables are populated")
        if need_makers and db.maker_for(meta.full_name) is None:
            base = generated_base(db, meta)
            if makers:
                given = ", ".join(makers)
                raise UsageError(
                    f"no maker registered for {meta.full_name}: --makers {given} has none; define a subclass "
                    f"of {base} there (and list it in MAKERS when the module has one)"
                )
            raise UsageError(f"no maker registered for {meta.full_name}: give --makers MODULE with a subclass of {base}")
        out.append(meta.full_name)
    return out


def _skipped_why(r: PopulateReport) -> str:
    why = []
    if r.busy:
        why.append(f"{r.busy} held by other workers")
    if r.blocked:
        why.append(f"{r.blocked} in error or ignored")
    if r.vanished:
        why.append(f"{r.vanished} left the key source")
    return f" ({', '.join(why)})" if why else ""


def _print_report(report: PopulateReport) -> None:
    for r in report.tables:
        if r.keys or r.failed:
            why = _skipped_why(r)
            print(f"{r.table}: {r.made} made, {r.failed} failed, {r.skipped} skipped{why} in {r.elapsed:.1f} s")
    for e in report.errors[:20]:
        print(f"  failed: {e}", file=sys.stderr)
    if len(report.errors) > 20:
        print(f"  ... and {len(report.errors) - 20} more (see the errors command)", file=sys.stderr)
    if report.no_maker:
        print(f"not populated, no maker registered: {', '.join(report.no_maker)}", file=sys.stderr)
    print(f"total: {report.made} made, {report.failed} failed, {report.skipped} skipped in {report.elapsed:.1f} s")


def _populate(db: Pipeline, args: Any, *, reserve: bool, suppress: bool, workers: int) -> PopulateReport:
    if workers < 1:
        raise UsageError("--workers must be at least 1")
    address = getattr(args, "dask", None)
    if address:
        return _populate_on_dask(db, args, address, suppress=suppress)
    return populate_all(
        db,
        *[_condition(c) for c in args.restrict],
        tables=_auto_tables(db, args.tables, need_makers=True, makers=getattr(args, "makers", None)),
        reserve_jobs=reserve,
        processes=workers,
        suppress_errors=suppress,
        max_calls=args.max_calls,
        order=args.order,
        display_progress=not args.no_progress,
        make_timeout=args.make_timeout,
    )


def _populate_on_dask(db: Pipeline, args: Any, address: str, *, suppress: bool) -> PopulateReport:
    try:
        import distributed  # deferred: only with --dask (pip install 'relflow-gen[dask]')
    except ImportError:
        raise UsageError("--dask needs the distributed package: pip install 'relflow-gen[dask]'") from None
    connect: Any = distributed.Client  # untyped
    try:
        client: Any = connect(address, timeout=30)
    except OSError as exc:
        raise UsageError(f"--dask {address}: cannot reach the Dask scheduler: {exc}") from None
    try:
        return populate_all(
            db,
            *[_condition(c) for c in args.restrict],
            tables=_auto_tables(db, args.tables, need_makers=True, makers=getattr(args, "makers", None)),
            suppress_errors=suppress,
            max_calls=args.max_calls,
            order=args.order,
            make_timeout=args.make_timeout,
            executor=client,
        )
    finally:
        client.close()


def cmd_populate(db: Pipeline, args: Any) -> int:
    report = _populate(db, args, reserve=args.reserve_jobs, suppress=args.suppress_errors, workers=args.workers)
    _print_report(report)
    return ExitCode.FAILURES if report.failed else ExitCode.OK


def cmd_retry(db: Pipeline, args: Any) -> int:
    tables = _auto_tables(db, args.tables, need_makers=False)
    cleared = db.jobs.clear_errors(tables, error_type=args.error_type, older_than=args.older_than)
    print(f"cleared {cleared} error(s)")
    return cmd_populate(db, args)


def cmd_worker(db: Pipeline, args: Any) -> int:
    """Rounds of populate with reservations until a round finds nothing to do."""
    signal.signal(signal.SIGTERM, interrupt)
    made = failed = 0
    try:
        while True:
            report = _populate(db, args, reserve=True, suppress=not args.stop_on_error, workers=1)
            made += report.made
            failed += report.failed
            if report.made or report.failed:
                _print_report(report)
                continue
            if report.busy or args.watch:  # others are still making keys that may unlock more work
                time.sleep(args.poll)
                continue
            if report.blocked:
                print(f"{report.blocked} key(s) in error or ignored were skipped (see the errors command)")
            break
    except KeyboardInterrupt as exc:
        partial = getattr(exc, "relflow_report", None)
        if isinstance(partial, PopulateReport):  # committed before the stop
            made += partial.made
            failed += partial.failed
        print("worker stopped", file=sys.stderr)
    print(f"worker: {made} made, {failed} failed")
    return ExitCode.FAILURES if failed else ExitCode.OK


def _short(text: str | None, width: int = 70) -> str:
    line = (text or "").splitlines()[0] if text else ""
    return line if len(line) <= width else line[: width - 3] + "..."


def _show_key(key: Mapping[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in key.items()) + "}"


def _job_line(j: Job) -> str:
    when = j.heartbeat if j.status == "reserved" else j.reserved_at
    stamp = when.strftime("%Y-%m-%d %H:%M:%S") if when is not None else ""
    tail = f"  {_short(j.error_message)}" if j.error_message else ""
    if j.attempts is not None and (j.attempts > 1 or j.status == "error"):
        n = j.attempts
        tail = f"  attempt {n}{tail}" if j.status == "reserved" else f"  {n} attempt{'s' if n > 1 else ''}{tail}"
    return f"{j.status:8s} {j.table} {_show_key(j.key)}  {j.host}:{j.pid} {stamp}{tail}"


def cmd_jobs(db: Pipeline, args: Any) -> int:
    jobs = db.jobs.fetch(_auto_tables(db, args.tables, need_makers=False), args.status)
    for j in jobs:
        print(_job_line(j))
    print(f"{len(jobs)} job(s)")
    return ExitCode.OK


def cmd_errors(db: Pipeline, args: Any) -> int:
    tables = _auto_tables(db, args.tables, need_makers=False)
    errors = db.jobs.errors(tables)
    if args.keys or args.traceback:
        for j in errors:
            print(_job_line(j))
            if args.traceback and j.error_stack:
                print("    " + j.error_stack.rstrip().replace("\n", "\n    "))
    else:  # grouped by exception type and message
        for g in db.jobs.error_groups(tables):
            text = f"{g.error_type}: {g.message}" if g.message else g.error_type
            print(f"{g.count:6d}  {_short(text, 90)}")
            print(f"        in {', '.join(g.tables)}, e.g. {_show_key(g.first_key)}")
    print(f"{len(errors)} error(s)")
    return ExitCode.OK


def cmd_ignore(db: Pipeline, args: Any) -> int:
    table = _auto_tables(db, [args.table], need_makers=False)
    assert table is not None
    name = table[0]
    keys: list[dict[str, Any]] = []
    for text in args.key:
        value = _condition(text if text.lstrip().startswith("{") else "{" + text + "}")
        assert isinstance(value, dict)
        keys.append(value)
    if args.clear:
        if keys:
            n = sum(db.jobs.clear_ignored(name, k) for k in keys)
        else:
            n = db.jobs.clear_ignored(name)
        print(f"cleared {n} ignore mark(s) of {name}")
        return ExitCode.OK
    if args.restrict or args.all:
        meta = db.table(name).meta
        maker = db.maker_for(name)
        found, _ = pending_keys(db, meta, maker(db) if maker else None, [_condition(c) for c in args.restrict])
        keys += found
    if not keys:
        raise UsageError("say which keys to ignore: --key JSON, --restrict COND or --all")
    n = db.jobs.ignore(name, keys)
    print(f"ignored {n} key(s) of {name}")
    return ExitCode.OK


def add_slurm_options(sub: Any) -> None:
    p = sub.add_parser(
        "slurm",
        help="write an sbatch array script of populate workers (--submit: and submit it)",
        description="Write an sbatch array script whose tasks each run `worker` until no work is left; the "
        "database URL is read by the tasks from the environment (RELFLOW_DB_URL), never written to the script.",
    )
    p.add_argument("tables", nargs="*", metavar="TABLE", help="tables to populate (default: all)")
    p.add_argument("--workers", type=int, default=4, metavar="N", help="array tasks, one worker each (default 4)")
    p.add_argument("--time", help="time limit of each task (sbatch --time, e.g. 4:00:00)")
    p.add_argument("--partition", help="sbatch --partition")
    p.add_argument("--mem", help="memory of each task (sbatch --mem, e.g. 8G)")
    p.add_argument("--cpus", type=int, help="CPUs of each task (sbatch --cpus-per-task)")
    p.add_argument("--account", help="sbatch --account")
    p.add_argument("--job-name", default=None, help="sbatch --job-name (default: relflow-SCHEMA)")
    p.add_argument("--sbatch", action="append", default=[], metavar="OPTION", help="another #SBATCH option, as is")
    p.add_argument("--make-timeout", type=float, default=None, metavar="SECONDS", help="passed to the workers")
    p.add_argument("--output", default=None, metavar="FILE", help="the script (default: relflow-SCHEMA.sbatch)")
    p.add_argument("--logs", default=None, metavar="DIR", help="per-task logs (default: ./slurm-logs)")
    p.add_argument("--workdir", default=None, metavar="DIR", help="where tasks run (default: the current directory)")
    p.add_argument("--python", default=None, metavar="PATH", help="the Python of the tasks (default: this one)")
    p.add_argument("--program", default=None, metavar="CMD", help="the pipeline program (default: PYTHON -m PACKAGE)")
    p.add_argument("--submit", action="store_true", help="submit the script with sbatch and print the job id")


def run_slurm(pipeline_cls: type[Pipeline], args: Any, db_url: str | None) -> int:
    """The slurm command: needs no database connection (the tasks open theirs)."""
    package = pipeline_cls.__module__.split(".")[0]
    name = pipeline_cls.meta.name
    if args.program:
        program = shlex.split(args.program)
    elif package == "relflow_gen":
        raise UsageError("slurm: give --program (e.g. \"relflow-gen run /path/lab.rf\") for a pipeline without package")
    else:
        program = [args.python or sys.executable, "-m", package]
    workdir = os.path.abspath(args.workdir or os.getcwd())
    logs = os.path.abspath(args.logs or os.path.join(workdir, "slurm-logs"))
    makers = [os.path.abspath(m) if m.endswith(".py") or os.sep in m else m for m in args.makers]
    options = SlurmOptions(
        program=program,
        workers=args.workers,
        workdir=workdir,
        logs=logs,
        makers=makers,
        tables=args.tables,
        job_name=args.job_name or f"relflow-{name}",
        time=args.time,
        partition=args.partition,
        mem=args.mem,
        cpus=args.cpus,
        account=args.account,
        make_timeout=args.make_timeout,
        extra=args.sbatch,
    )
    text = sbatch_script(options)
    out = Path(args.output or f"relflow-{name}.sbatch")
    out.write_text(text)
    print(f"wrote {out} ({args.workers} worker task(s); logs in {logs})")
    if args.submit:
        Path(logs).mkdir(parents=True, exist_ok=True)  # sbatch does not create it
        job = submit(out, db_url)
        print(f"submitted job {job}")
    return ExitCode.OK


COMMANDS: dict[str, Callable[[Pipeline, Any], int]] = {
    "populate": cmd_populate,
    "retry": cmd_retry,
    "worker": cmd_worker,
    "jobs": cmd_jobs,
    "errors": cmd_errors,
    "ignore": cmd_ignore,
}
