"""The ``relflow-gen`` command line.

Exit codes of every command (:class:`~relflow_gen.core.errors.ExitCode`): 0 success,
1 diagnostics or differences found, 2 usage or configuration error, 123 internal
error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from relflow_gen.cli import build as build_cli
from relflow_gen.cli import run as run_cli
from relflow_gen.compiler.diagnostics import render_all, to_json
from relflow_gen.compiler.frontend import compile_file
from relflow_gen.core.errors import ExitCode, RelflowError, UsageError
from relflow_gen.fmt.formatter import FormatterBug, format_text


def _cmd_check(args: argparse.Namespace) -> int:
    all_diags = []
    sources: dict[str, str] = {}
    for path in args.files:
        comp = compile_file(path)
        all_diags.extend(comp.diagnostics)
        sources.update(comp.sources)
    if args.error_format == "json":
        print(to_json(all_diags))
    elif all_diags:
        print(render_all(all_diags, sources), file=sys.stderr)
    else:
        n = len({os.path.realpath(name) for name in sources})  # the roots and every file they import
        print(f"ok: {n} file{'s' if n != 1 else ''} checked, no problems found")
    return ExitCode.DIAGNOSTICS if any(d.is_error for d in all_diags) else ExitCode.OK


def _cmd_format(args: argparse.Namespace) -> int:
    # Read every file first: a usage error (missing file, directory, not UTF-8)
    # stops the command before anything is written.  Bytes are decoded without
    # newline translation so that CRLF files count as "would change".
    sources: dict[str, str] = {}
    for path in args.files:
        try:
            data = Path(path).read_bytes()
        except FileNotFoundError:
            raise UsageError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise UsageError(f"{path}: is a directory, not a .rf file") from None
        except OSError as exc:
            raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
        try:
            sources[path] = data.decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"{path}: not UTF-8 text") from None

    status = ExitCode.OK
    for path, text in sources.items():
        try:
            formatted, diags = format_text(text, path)
        except FormatterBug as exc:
            print(
                f"relflow-gen: internal error: {path} left unchanged: {exc} "
                "(please report this with the input that caused it)",
                file=sys.stderr,
            )
            status = ExitCode.INTERNAL
            continue
        if formatted is None:
            print(render_all(diags, {path: text.replace("\r\n", "\n")}), file=sys.stderr)
            status = max(status, ExitCode.DIAGNOSTICS)
            continue
        if formatted != text:
            if args.check:
                print(f"would reformat {path}", file=sys.stderr)
                status = max(status, ExitCode.DIAGNOSTICS)
            else:
                Path(path).write_bytes(formatted.encode("utf-8"))
                print(f"reformatted {path}")
    return status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="relflow-gen",
        description="Compile .rf relational-workflow schemas into typed Python pipeline packages.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "check",
        help="check .rf files and report diagnostics",
        description="Parse and validate .rf files (and the files they import); print every diagnostic. "
        "Exit 1 when there is an error.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help=".rf files to check")
    p.add_argument(
        "--error-format",
        choices=("human", "json"),
        default="human",
        help="human: source excerpts on stderr (default); json: one JSON list on stdout",
    )
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser(
        "format",
        help="rewrite .rf files in canonical layout",
        description="Rewrite .rf files in the canonical layout (comments kept). With --check, write nothing "
        "and exit 1 when a file would change.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help=".rf files to format in place")
    p.add_argument("--check", action="store_true", help="exit 1 when a file would change; write nothing")
    p.set_defaults(func=_cmd_format)

    _register_more(sub)
    return parser


def _register_more(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Commands defined by later stages (build, stubs, run) register here."""
    build_cli.register(sub)
    run_cli.register(sub)


def version() -> str:
    """The installed relflow-gen version (from the package metadata)."""
    try:
        return importlib.metadata.version("relflow-gen")
    except importlib.metadata.PackageNotFoundError:  # running from a checkout that is not installed
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help / --version (0) or a usage error (2)
        return ExitCode(exc.code) if isinstance(exc.code, int) else ExitCode.USAGE
    try:
        code: int = args.func(args)
        return code
    except UsageError as exc:
        print(f"relflow-gen: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except RelflowError as exc:  # a problem relflow-gen detected and explained: not a bug
        print(f"relflow-gen: error: {exc}", file=sys.stderr)
        return ExitCode.FAILURES
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    except Exception:  # noqa: BLE001 - last line of defence: report as internal error
        print("relflow-gen: internal error (please report this with the input that caused it)", file=sys.stderr)
        traceback.print_exc()
        return ExitCode.INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
