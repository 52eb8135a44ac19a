"""The ``diff`` and ``migrate`` commands of the pipeline command line, and the drift check
the other data commands run first (registered by :mod:`relflow_gen.runtime.cli`)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from relflow_gen.core.errors import ExitCode
from relflow_gen.core.meta import TableMeta
from relflow_gen.runtime.errors import MigrateError
from relflow_gen.runtime.evolve.diff import diff
from relflow_gen.runtime.evolve.migrate import apply, parse_fills, plan, refusal_text
from relflow_gen.runtime.tables.host import TableHost


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "diff",
        help="list the differences between the database and the schema (exit 1 if any)",
        description="List every difference between the live database and the schema, per table, each classified "
        "SAFE (migrate applies it), DATA (needs an option saying how) or KEY (drop and recompute). "
        "Exit 0 when nothing differs, 1 when something does. See docs/evolving.md.",
    )
    p.add_argument("--json", action="store_true", help="the differences as JSON")
    p = sub.add_parser(
        "migrate",
        help="print the SQL that makes the database match the schema, then apply it",
        description="Print the exact SQL for this backend that makes the database match the schema, then apply "
        "it: SAFE changes always, DATA changes when an option says how, KEY changes never (they are refused "
        "with the tables and rows concerned). A rerun finishes an interrupted migrate. See docs/evolving.md.",
    )
    p.add_argument("--dry-run", action="store_true", help="print the SQL only")
    p.add_argument("--allow-drop", action="store_true", help="drop attributes and tables the schema no longer has")
    p.add_argument(
        "--fill",
        action="append",
        default=[],
        metavar="ATTR=VALUE",
        help="value for existing rows of a new NOT NULL attribute (or for the NULLs of one that becomes NOT NULL)",
    )
    p.add_argument("--update-contents", action="store_true", help="update lookup rows that differ from the schema")


def cmd_diff(host: TableHost, extra: Sequence[TableMeta], as_json: bool) -> int:
    d = diff(host, extra)
    if as_json:
        print(json.dumps({"differs": bool(d), "changes": [c.as_json() for c in d.changes]}, indent=2))
    elif d:
        print(d.text())
        print(d.summary())
    else:
        print(f"the database matches the schema ({host.connection.url})")
    return ExitCode.FAILURES if d else ExitCode.OK


def cmd_migrate(host: TableHost, extra: Sequence[TableMeta], args: argparse.Namespace, prog: str) -> int:
    fills = parse_fills(args.fill, host, extra)
    allow_drop, update = bool(args.allow_drop), bool(args.update_contents)
    p = plan(host, extra, allow_drop=allow_drop, fills=fills, update_contents=update, prog=prog)
    if not p.ok:
        print(refusal_text(p), file=sys.stderr)
        return ExitCode.FAILURES
    if not p.diff:
        print("nothing to migrate: the database matches the schema")
        return ExitCode.OK
    print(f"-- {host.connection.backend.name}: {p.diff.summary()}")
    for stmt in p.statements:
        print(stmt.rstrip() + ";")
    for table in p.contents:
        print(f"-- then the declared lookup contents of {table}")
    if args.dry_run:
        print("-- dry run: nothing was changed")
        return ExitCode.OK
    apply(host, p, extra, update_contents=update)
    print(f"migrated: {len(p.applied)} change(s) applied; the database matches the schema")
    return ExitCode.OK


def drift_error(host: TableHost, extra: Sequence[TableMeta], prog: str) -> MigrateError | None:
    """The difference between the database's tables and the schema (columns, types, keys,
    missing or extra tables), as the error a data command stops with; None when they match."""
    d = diff(host, extra, contents=False, checks=False)
    # indexes and comments change no result: a missing one does not stop the work (diff still lists it)
    d.changes = [c for c in d.changes if c.code not in ("add_index", "drop_index", "add_unique", "comment", "doc")]
    if not d:
        return None
    return MigrateError(
        f"the database ({host.connection.url}) does not match the schema:\n{d.text()}\n"
        f"`{prog} diff` shows the differences, `{prog} migrate` applies them "
        f"(`declare` creates missing tables)"
    )
