"""The ``stores`` command of the pipeline command line: ``stores gc [--dry-run]`` and ``stores verify``."""

from __future__ import annotations

import argparse
from typing import Any

from relflow_gen.core.errors import ExitCode
from relflow_gen.runtime.pipeline import Pipeline
from relflow_gen.runtime.tables.storage import DEFAULT_GRACE_SECONDS


def add_stores_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "stores",
        help="object stores: collect unreferenced objects, verify",
        description="Object stores (docs/stores.md): collect objects no row refers to, or verify every object.",
    )
    verbs = p.add_subparsers(dest="stores_command", required=True, metavar="ACTION", help="gc or verify")
    g = verbs.add_parser(
        "gc",
        help="delete objects no row refers to (older than the grace period)",
        description="Delete the objects no row refers to and older than the grace period.",
    )
    g.add_argument("--store", action="append", default=[], metavar="NAME", help="only this store (repeatable)")
    g.add_argument("--dry-run", action="store_true", help="list what would be deleted, delete nothing")
    g.add_argument(
        "--grace",
        type=float,
        default=DEFAULT_GRACE_SECONDS,
        metavar="SECONDS",
        help=f"keep unreferenced objects younger than this (default {DEFAULT_GRACE_SECONDS:g} s)",
    )
    v = verbs.add_parser(
        "verify",
        help="re-check every referenced object (exists, size, sha256)",
        description="Re-read every object the rows refer to; exit 1 when one is missing or corrupt.",
    )
    v.add_argument("--store", action="append", default=[], metavar="NAME", help="only this store (repeatable)")


def cmd_stores(db: Pipeline, args: Any) -> int:
    names = args.store or db.store_names()
    if args.stores_command == "gc":
        for report in db.gc_stores(*names, grace_seconds=args.grace, dry_run=args.dry_run):
            print(report.summary())
            for path in report.collected:
                print(f"  {'would delete' if report.dry_run else 'deleted'} {path}")
        return ExitCode.OK
    checked = 0
    problems = 0
    for name in names:
        result = db.verify_stores(name)
        checked += result.checked
        for p in result.problems:
            problems += 1
            print(f"{p.kind}: {p.message}")
    print(f"{checked} objects checked: " + (f"{problems} missing or corrupt" if problems else "all present and intact"))
    return ExitCode.FAILURES if problems else ExitCode.OK
