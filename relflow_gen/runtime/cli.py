"""Command line of a generated pipeline: ``python -m lab_pipeline --db URL [--makers MODULE] COMMAND``.

The generated ``__main__.py`` calls :func:`main` with the package's pipeline
class (``relflow-gen run PACKAGE ...`` does the same).  Commands:

``declare``   create missing tables and lookup contents
``status``    per table: rows done, keys pending, reserved, errors, ignored
``populate``  make the missing keys (``--workers N``, ``--restrict COND``, ...)
``worker``    reserve, make, repeat until nothing is left (``--watch``: forever)
``jobs``      list reservations, errors and ignored keys
``errors``    list errors (``--traceback`` for the stacks)
``retry``     clear errors and populate again
``ignore``    mark keys not to be made (``--clear`` to undo)
``diagram``   the Mermaid text, the dot source, or an SVG drawn by Graphviz (``--svg -o FILE``)
``diff``      the differences between the database and the schema (exit 1 if any)
``migrate``   print the SQL that makes the database match the schema, then apply it

Every command that touches data first checks that the tables match the schema
and stops (exit 1) with the differences otherwise.

``--makers MODULE`` (repeatable; a module name or a ``.py`` path) registers the
module's ``MAKERS`` tuple, or else every concrete Maker subclass defined in it.
Exit codes: 0 ok, 1 failures (make errors, database errors), 2 usage.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from relflow_gen.core.errors import ExitCode, RelflowError, UsageError
from relflow_gen.runtime import staleness_cli
from relflow_gen.runtime.commands import COMMANDS, add_populate_options, add_retry_filters, add_slurm_options, run_slurm
from relflow_gen.runtime.diagram import NO_GRAPHVIZ, Diagram, dot_program
from relflow_gen.runtime.evolve import commands as evolve_commands
from relflow_gen.runtime.pipeline import Pipeline
from relflow_gen.runtime.populate.jobs import jobs_table_meta
from relflow_gen.runtime.populate.keysource import key_source
from relflow_gen.runtime.populate.make import Maker
from relflow_gen.runtime.stores_cli import add_stores_parser, cmd_stores


def build_parser(pipeline_cls: type[Pipeline], prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog or f"python -m {pipeline_cls.__module__.split('.')[0]}",
        description=f"Run the {pipeline_cls.meta.name} pipeline.",
    )
    parser.add_argument(
        "--db",
        default=os.environ.get("RELFLOW_DB_URL", ""),
        help="database URL, e.g. sqlite:///lab.db or mysql://user@host:3306/ (default: $RELFLOW_DB_URL)",
    )
    parser.add_argument(
        "--makers",
        action="append",
        default=[],
        metavar="MODULE",
        help="module (name or .py path) with the make() implementations; repeatable",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what populate does")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _command(sub, "declare", "create missing tables and insert lookup contents")
    _command(sub, "status", "per table: done, pending, reserved, errors, ignored")

    p = _command(sub, "populate", "make the missing keys of imported/computed tables")
    add_populate_options(p)
    _add_run_options(p)

    p = _command(
        sub,
        "worker",
        "reserve, make, repeat until nothing is left (or forever with --watch)",
        "Reserve keys, make them and repeat until a round finds nothing to do; other workers (on this or "
        "other hosts) share the work through the jobs table. SIGTERM or Ctrl-C stops after the current key.",
    )
    add_populate_options(p)
    p.add_argument("--watch", action="store_true", help="keep polling for new work instead of stopping")
    p.add_argument("--poll", type=float, default=10.0, metavar="SECONDS", help="seconds between polls (default 10)")
    p.add_argument("--stop-on-error", action="store_true", help="stop at the first failure")

    p = _command(sub, "jobs", "list reservations, errors and ignored keys")
    p.add_argument("tables", nargs="*", metavar="TABLE", help="tables to list (default: all)")
    p.add_argument(
        "--status",
        choices=("reserved", "error", "ignore"),
        action="append",
        help="list only jobs of this status; repeatable (default: all)",
    )

    p = _command(sub, "errors", "list recorded errors")
    p.add_argument("tables", nargs="*", metavar="TABLE", help="tables to list (default: all)")
    p.add_argument("--traceback", action="store_true", help="print the stack of each error")
    p.add_argument("--keys", action="store_true", help="one line per key instead of groups by type and message")

    p = _command(sub, "retry", "clear the errors of tables (all when none given) and populate them again")
    add_populate_options(p)
    _add_run_options(p)
    add_retry_filters(p)

    staleness_cli.register(sub)

    p = _command(sub, "ignore", "mark keys of a table not to be made (or --clear the marks)")
    p.add_argument("table", metavar="TABLE", help="the imported/computed table")
    p.add_argument("--key", action="append", default=[], metavar="JSON", help='a key, e.g. \'{"session_id": 3}\'')
    p.add_argument("--restrict", action="append", default=[], metavar="COND", help="all pending keys that match")
    p.add_argument("--all", action="store_true", help="all pending keys of the table")
    p.add_argument("--clear", action="store_true", help="remove ignore marks instead (all of the table without --key)")

    add_stores_parser(sub)
    evolve_commands.add_parsers(sub)
    add_slurm_options(sub)

    p = _command(
        sub,
        "diagram",
        "the workflow diagram: Mermaid text, Graphviz dot, or an SVG drawn by Graphviz",
        "Print or write the pipeline's diagram (no database needed). --svg draws it with "
        "Graphviz; without Graphviz the Mermaid text is printed instead.",
    )
    p.add_argument("--format", choices=("mermaid", "dot", "svg"), default="mermaid", help="default: mermaid")
    p.add_argument("--svg", dest="format", action="store_const", const="svg", help="same as --format svg")
    p.add_argument("-o", "--output", metavar="FILE", help="write the diagram to FILE instead of standard output")
    return parser


def _command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, summary: str, description: str = ""
) -> argparse.ArgumentParser:
    """A subcommand with its one-line help and a description (the summary when none is given)."""
    text = description or summary[0].upper() + summary[1:] + "."
    return sub.add_parser(name, help=summary, description=text)


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workers", type=int, default=1, metavar="N", help="worker processes (implies --reserve-jobs)")
    p.add_argument("--reserve-jobs", action="store_true", help="reserve keys so other workers can share the work")
    p.add_argument("--suppress-errors", action="store_true", help="record failures and go on with other keys")
    p.add_argument(
        "--dask", metavar="ADDRESS", help="run the makes on a Dask cluster (tcp://HOST:8786), reserving keys as workers do"
    )


def main(pipeline_cls: type[Pipeline], argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    parser = build_parser(pipeline_cls, prog)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return ExitCode(exc.code) if isinstance(exc.code, int) else ExitCode.USAGE
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.command == "diagram":
        return _diagram(pipeline_cls, args.format, args.output)
    if args.command == "slurm":
        try:
            return run_slurm(pipeline_cls, args, args.db)
        except UsageError as exc:
            print(f"{parser.prog}: error: {exc}", file=sys.stderr)
            return ExitCode.USAGE
    if not args.db:
        print(f"{parser.prog}: error: give the database with --db URL (or set RELFLOW_DB_URL)", file=sys.stderr)
        return ExitCode.USAGE
    try:
        makers = [m for spec in args.makers for m in load_makers(pipeline_cls, spec)]
        check_unique(makers)
        db = pipeline_cls(args.db, declare=args.command == "declare", makers=makers)
    except UsageError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except RelflowError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.FAILURES
    try:
        return _run(db, args, f"{parser.prog} --db URL")
    except UsageError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except RelflowError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.FAILURES
    except BrokenPipeError:  # the reader went away (`errors | head`): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return ExitCode.OK
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - an error of a make(): show where it happened
        if args.verbose:
            traceback.print_exc()
        where = _user_frame(exc)
        print(f"error: {type(exc).__name__}: {exc}{where}", file=sys.stderr)
        print("  (-v for the traceback; with --reserve-jobs it is recorded: errors --traceback)", file=sys.stderr)
        return ExitCode.FAILURES
    finally:
        db.close()


def _user_frame(exc: BaseException) -> str:
    """`` (at file:line in function)`` of the innermost frame outside relflow_gen, if any."""
    frames = traceback.extract_tb(exc.__traceback__)
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for frame in reversed(frames):
        if not os.path.abspath(frame.filename).startswith(package):
            return f" (at {frame.filename}:{frame.lineno} in {frame.name})"
    return ""


def _run(db: Pipeline, args: Any, prog: str) -> int:
    if args.command == "declare":
        print(f"declared {len(db.meta.tables)} tables of {db.meta.name} on {db.connection.url}")
        return ExitCode.OK
    extra = [jobs_table_meta(s) for s in db.meta.schemas]
    if args.command == "diff":
        return evolve_commands.cmd_diff(db, extra, args.json)
    if args.command == "migrate":
        return evolve_commands.cmd_migrate(db, extra, args, prog)
    drift = evolve_commands.drift_error(db, extra, prog)  # before any work: not raw SQL errors later
    if drift is not None:
        raise drift
    if args.command == "status":
        return _status(db)
    if args.command == "stores":
        return cmd_stores(db, args)
    command = COMMANDS.get(args.command) or staleness_cli.COMMANDS[args.command]
    code: int = command(db, args)
    return code


def _status(db: Pipeline) -> int:
    counts = db.jobs.counts()
    stale = {name: len(o.keys) for name, o in db.outdated().items()}
    header = (
        f"{'table':34s} {'tier':9s} {'done':>9s} {'pending':>9s} {'reserved':>9s} {'errors':>7s} "
        f"{'ignored':>8s} {'outdated':>9s}"
    )
    print(header)
    print("-" * len(header))
    for t in db.tables():
        meta = t.meta
        done = len(t)
        if meta.is_auto:
            pending = str(len(key_source(db, meta)))
            c = counts.get(meta.full_name, {})
            extra = (
                f"{c.get('reserved', 0):>9d} {c.get('error', 0):>7d} {c.get('ignore', 0):>8d} "
                f"{stale.get(meta.full_name, 0):>9d}"
            )
        else:
            pending, extra = "-", f"{'-':>9s} {'-':>7s} {'-':>8s} {'-':>9s}"
        print(f"{meta.full_name:34s} {meta.tier:9s} {done:>9d} {pending:>9s} {extra}")
    _print_holders(db)
    missing = [m.full_name for m in db.meta.tables if m.is_auto and db.maker_for(m.full_name) is None]
    if missing:
        print(f"\nno maker registered for: {', '.join(missing)} (give --makers MODULE; outdated counts input changes only)")
    return ExitCode.OK


# ------------------------------------------------------------------ makers


def _print_holders(db: Pipeline) -> None:
    """Who holds the reservations: host (with the Slurm job and array task) and pid."""
    holders: dict[tuple[str, int], int] = {}
    for j in db.jobs.reserved():
        holders[(j.host, j.pid)] = holders.get((j.host, j.pid), 0) + 1
    if holders:
        print("\nreserved by:")
        for (host, pid), n in sorted(holders.items()):
            print(f"  {host} pid {pid}: {n} key(s)")


def _import(spec: str) -> ModuleType:
    if spec.endswith(".py") or os.sep in spec:
        path = Path(spec).resolve()
        if not path.is_file():
            raise UsageError(f"--makers {spec}: no such file")
        name = path.stem
        loader = importlib.util.spec_from_file_location(name, path)
        if loader is None or loader.loader is None:
            raise UsageError(f"--makers {spec}: cannot import this file")
        module = importlib.util.module_from_spec(loader)
        sys.modules[name] = module
        loader.loader.exec_module(module)
        return module
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(spec)
    except ModuleNotFoundError as exc:
        if exc.name and spec.startswith(exc.name):
            raise UsageError(f"--makers {spec}: no module named {exc.name!r}") from None
        raise


def load_makers(pipeline_cls: type[Pipeline], spec: str) -> list[type[Maker[Any, Any]]]:
    """The makers of a module: its ``MAKERS`` tuple, or every concrete Maker subclass defined in it."""
    module = _import(spec)
    listed = getattr(module, "MAKERS", None)
    if listed is not None:
        found = [m for m in listed if isinstance(m, type) and issubclass(m, Maker)]
    else:
        prefix = module.__name__ + "."
        found = [
            obj
            for obj in vars(module).values()
            if isinstance(obj, type)
            and issubclass(obj, Maker)
            and not inspect.isabstract(obj)
            and (obj.__module__ == module.__name__ or obj.__module__.startswith(prefix))
        ]
    if not found:
        raise UsageError(f"--makers {spec}: the module defines no Maker subclass")
    for m in found:
        table = getattr(m, "__table__", None)
        if table not in pipeline_cls.meta.by_name:
            raise UsageError(f"--makers {spec}: {m.__name__} makes {table!r}, which is not a table of this pipeline")
        if inspect.isabstract(m):
            raise UsageError(f"--makers {spec}: {m.__name__} does not implement make()")
    return found


def check_unique(makers: Sequence[type[Maker[Any, Any]]]) -> None:
    seen: dict[str, type[Maker[Any, Any]]] = {}
    for m in makers:
        other = seen.get(m.__table__)
        if other is not None and other is not m:
            raise UsageError(f"two makers for {m.__table__}: {other.__qualname__} and {m.__qualname__}")
        seen[m.__table__] = m


# ------------------------------------------------------------------ diagram


def _diagram(pipeline_cls: type[Pipeline], fmt: str, output: str | None) -> int:
    diagram = Diagram(pipeline_cls.meta)
    if fmt == "svg" and dot_program() is None:
        if output is not None:
            print(f"error: {NO_GRAPHVIZ}; {output} not written (`--format mermaid -o FILE.mmd` works)", file=sys.stderr)
            return ExitCode.FAILURES
        print(f"note: {NO_GRAPHVIZ}; printing the Mermaid text instead (https://mermaid.live draws it)", file=sys.stderr)
        fmt = "mermaid"
    try:
        text = diagram.svg() if fmt == "svg" else diagram.dot if fmt == "dot" else diagram.mermaid
    except RelflowError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.FAILURES
    if output is None:
        sys.stdout.write(text)
        return ExitCode.OK
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        print(f"error: cannot write {output}: {exc}", file=sys.stderr)
        return ExitCode.FAILURES
    print(f"wrote {output}")
    return ExitCode.OK
