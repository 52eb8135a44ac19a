"""Command line of a generated pipeline: ``python -m lab_pipeline --db URL COMMAND``.

The generated ``__main__.py`` calls :func:`main` with the package's pipeline
class.  Commands: ``declare``, ``status``.  (populate, worker, jobs, errors,
retry and diagram are added with the populate machinery.)
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from ..errors import RelflowError
from .pipeline import Pipeline


def build_parser(pipeline_cls: type[Pipeline]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m {pipeline_cls.__module__.split('.')[0]}",
        description=f"Run the {pipeline_cls.meta.name} pipeline.",
    )
    parser.add_argument(
        "--db",
        default=os.environ.get("RELFLOW_DB_URL", ""),
        help="database URL, e.g. sqlite:///lab.db or mysql://user@host:3306/ (default: $RELFLOW_DB_URL)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("declare", help="create missing tables and insert lookup contents")
    sub.add_parser("status", help="rows per table")
    return parser


def main(pipeline_cls: type[Pipeline], argv: Sequence[str] | None = None) -> int:
    parser = build_parser(pipeline_cls)
    args = parser.parse_args(argv)
    if not args.db:
        parser.error("give the database with --db URL (or set RELFLOW_DB_URL)")
    try:
        db = pipeline_cls(args.db, declare=args.command == "declare")
        try:
            return _run(db, args)
        finally:
            db.close()
    except RelflowError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _run(db: Pipeline, args: Any) -> int:
    if args.command == "declare":
        print(f"declared {len(db.meta.tables)} tables of {db.meta.name} on {db.connection.url}")
        return 0
    for t in db.tables():
        print(f"{t.full_name:40s} {t.meta.tier:9s} {len(t):>10d}")
    return 0
