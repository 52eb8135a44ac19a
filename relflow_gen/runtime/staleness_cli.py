"""The ``outdated``, ``refresh`` and ``plan`` commands of the pipeline command line (see :mod:`.cli`)."""

from __future__ import annotations

import argparse
import datetime
import decimal
import json
import sys
import uuid
from typing import Any

from relflow_gen.core.errors import ExitCode, UsageError
from relflow_gen.runtime.pipeline import Pipeline
from relflow_gen.runtime.populate.plan import Plan

SHOWN = 10  # keys listed per table in text output


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "outdated",
        help="rows made by other code or from other inputs than now, and what depends on them",
        description="List the outdated rows of imported/computed tables with their reasons: code (the maker "
        "changed), inputs (a parent row changed), upstream (made from an outdated row). Exit 1 when any.",
    )
    p.add_argument("tables", nargs="*", metavar="TABLE", help="tables to report (default: all)")
    p.add_argument("--json", action="store_true", help="print the rows and reasons as JSON")
    _reason_options(p)

    p = sub.add_parser(
        "refresh",
        help="delete outdated rows with their dependents and make them again",
        description="Delete the outdated rows of the tables (all when none given) with everything made from "
        "them, then populate exactly those keys again (the makers must be registered with --makers).",
    )
    p.add_argument("tables", nargs="*", metavar="TABLE", help="tables whose outdated rows to refresh (default: all)")
    p.add_argument("--dry-run", action="store_true", help="show what would be deleted and made; change nothing")
    p.add_argument("--workers", type=int, default=1, metavar="N", help="worker processes (implies --reserve-jobs)")
    p.add_argument("--reserve-jobs", action="store_true", help="reserve keys so other workers can share the work")
    p.add_argument("--suppress-errors", action="store_true", help="record failures and go on with other keys")
    _reason_options(p)

    p = sub.add_parser(
        "plan",
        help="a whole-pipeline dry run: what would be made, in what order, and how long it may take",
        description="Per imported/computed table in dependency order: keys ready now, keys that become ready "
        "when upstream tables are populated, reserved, in error, ignored and outdated rows, and an estimate "
        "of the time from the median recorded make duration. Nothing is written.",
    )
    p.add_argument("--json", action="store_true", help="print the plan as JSON")


def _reason_options(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("--code", action="store_true", help="only rows made by other code (and their dependents)")
    group.add_argument("--inputs", action="store_true", help="only rows whose inputs changed (and their dependents)")


def _reasons(args: argparse.Namespace) -> dict[str, bool]:
    return {"code": not args.inputs, "inputs": not args.code}


def _tables(db: Pipeline, names: list[str]) -> list[str]:
    out = []
    for name in names:
        try:
            meta = db.table(name).meta
        except Exception:  # noqa: BLE001 - reported as a usage error
            auto = ", ".join(m.name for m in db.meta.tables if m.is_auto)
            raise UsageError(f"no table {name!r}; the populated tables are: {auto}") from None
        if not meta.is_auto:
            raise UsageError(f"{meta.full_name} is a {meta.tier} table; only imported/computed rows go out of date")
        out.append(meta.full_name)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime.date, datetime.time, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    return value


def cmd_outdated(db: Pipeline, args: argparse.Namespace) -> int:
    names = _tables(db, args.tables)
    found = db.outdated(*names, **_reasons(args))
    total = 0
    data: dict[str, Any] = {}
    for name, out in found.items():
        rows = out.rows()
        total += len(rows)
        data[name] = {
            "outdated": len(rows),
            "reasons": out.counts(),
            "rows": [{k: _plain(v) for k, v in r.items()} for r in rows],
        }
    missing = [m.full_name for m in db.meta.tables if m.is_auto and db.maker_for(m.full_name) is None]
    if args.json:
        print(json.dumps({"tables": data, "total": total, "code_not_checked": missing}, indent=2))
        return ExitCode.FAILURES if total else ExitCode.OK
    for name, entry in data.items():
        if not entry["outdated"]:
            continue
        why = ", ".join(f"{reason}: {n}" for reason, n in entry["reasons"].items() if n)
        print(f"{name}: {entry['outdated']} outdated ({why})")
        for r in entry["rows"][:SHOWN]:
            key = ", ".join(f"{k}={v!r}" for k, v in r.items() if k != "reasons")
            print(f"  {key}  [{', '.join(r['reasons'])}]")
        if entry["outdated"] > SHOWN:
            print(f"  ... and {entry['outdated'] - SHOWN} more (--json lists them all)")
    print(f"total: {total} outdated row(s)")
    if missing and not args.inputs:
        print(f"code not checked, no maker registered: {', '.join(missing)} (give --makers MODULE)", file=sys.stderr)
    return ExitCode.FAILURES if total else ExitCode.OK


def cmd_refresh(db: Pipeline, args: argparse.Namespace) -> int:
    names = _tables(db, args.tables)
    plan, report = db.refresh(
        *names,
        **_reasons(args),
        dry_run=args.dry_run,
        reserve_jobs=args.reserve_jobs or args.workers > 1,
        processes=args.workers,
        suppress_errors=args.suppress_errors,
    )
    verb = "would delete" if args.dry_run else "deleted"
    for table, n in plan.counts.items():
        print(f"{verb} {n} row(s) of {table}")
    for table, keys in plan.keys.items():
        print(f"{'would make' if args.dry_run else 'making'} {len(keys)} key(s) of {table} again")
    if not plan.counts:
        print("nothing is outdated")
    if report is None:
        return ExitCode.OK
    for r in report.tables:
        print(f"{r.table}: {r.made} made, {r.failed} failed, {r.skipped} skipped in {r.elapsed:.1f} s")
    if report.no_maker:
        print(f"not made again, no maker registered: {', '.join(report.no_maker)}", file=sys.stderr)
    return ExitCode.FAILURES if report.failed or report.no_maker else ExitCode.OK


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 60:
        return f"{value:.1f} s"
    if value < 3600:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"


def print_plan(plan: Plan) -> None:
    header = (
        f"{'table':34s} {'done':>8s} {'ready':>8s} {'later':>8s} {'reserved':>8s} {'errors':>7s} "
        f"{'ignored':>7s} {'outdated':>8s} {'estimate':>10s}"
    )
    print(header)
    print("-" * len(header))
    for t in plan.tables:
        later = f"{t.future}{'' if t.exact else '+'}"
        print(
            f"{t.table:34s} {t.done:>8d} {t.ready:>8d} {later:>8s} {t.reserved:>8d} {t.error:>7d} "
            f"{t.ignored:>7d} {t.outdated:>8d} {_seconds(t.estimate_seconds):>10s}"
        )
    tot = plan.totals
    print("-" * len(header))
    print(
        f"{'total':34s} {tot['done']:>8d} {tot['ready']:>8d} {tot['future']:>8d} {tot['reserved']:>8d} "
        f"{tot['error']:>7d} {tot['ignored']:>7d} {tot['outdated']:>8d} {_seconds(tot['estimate_seconds']):>10s}"
    )
    if any(not t.exact for t in plan.tables):
        print("\n+ at least: some keys are made by make() (parts, custom key sources) and cannot be foreseen")
    if any(not t.has_maker for t in plan.tables):
        names = ", ".join(t.table for t in plan.tables if not t.has_maker)
        print(f"no maker registered for: {names} (give --makers MODULE)")


def cmd_plan(db: Pipeline, args: argparse.Namespace) -> int:
    plan = db.plan()
    if args.json:
        print(json.dumps(plan.to_data(), indent=2))
    else:
        print_plan(plan)
    return ExitCode.OK


COMMANDS = {"outdated": cmd_outdated, "refresh": cmd_refresh, "plan": cmd_plan}
