"""``relflow-gen build`` and ``relflow-gen stubs``.

``build`` compiles the root `.rf` file (and its imports), emits the package
and writes it (or, with ``--check``, compares it with what is on disk and
prints a unified diff).  The output depends on the schema and relflow-gen's
version only: no external program runs, so no SVG is written (the pipeline
draws one on demand: ``python -m PKG diagram --svg``).  ``stubs`` writes make() scaffolds that do not exist
yet.  Exit codes: 0 success / up to date, 1 diagnostics or differences,
2 configuration or usage errors.
"""

from __future__ import annotations

import argparse
import gc
import sys
from dataclasses import dataclass
from pathlib import Path

from relflow_gen.cli.config import BuildConfig, Overrides, resolve
from relflow_gen.compiler.diagnostics import render_all
from relflow_gen.compiler.frontend import compile_file, read_file
from relflow_gen.compiler.ir import Project
from relflow_gen.core.errors import ExitCode, UsageError
from relflow_gen.emit.package import EmitError, EmitOptions, default_package_name, emit
from relflow_gen.emit.stubs import stub_files
from relflow_gen.emit.write import ForeignFileError, apply, create_new, diff, plan, summary


@dataclass(frozen=True)
class Generated:
    """The outcome of compiling and emitting: files, or the text of the problems found."""

    project: Project | None
    package: str
    files: dict[str, str]
    problems: str  # rendered diagnostics or emit errors ("" when there are none)
    warnings: str


def generate(root: Path, schema: str, package: str | None = None, *, source_positions: bool = False) -> Generated:
    """Compile ``schema`` (a path relative to ``root``) and emit its package.

    Sources are read relative to ``root`` and named by root-relative paths, so
    nothing in the output depends on the working directory.  With
    ``source_positions``, ``schema.json`` keeps the source span of every element.
    """
    comp = compile_file(schema, reader=lambda p: read_file(str(root / p)))
    rendered = render_all(comp.diagnostics, comp.sources) if comp.diagnostics else ""
    if not comp.ok or comp.project is None:
        return Generated(None, package or "", {}, rendered, "")
    project = comp.project
    name = package or default_package_name(project)
    # The IR lives until the end; moving it out of the collector's reach spares the
    # full collections that the emitter's allocations trigger a quarter of its time.
    gc.freeze()
    try:
        files = emit(project, EmitOptions(package=name, source=schema, source_positions=source_positions))
    except EmitError as exc:
        return Generated(project, name, {}, f"error: {exc}", rendered)
    finally:
        gc.unfreeze()
    return Generated(project, name, files, "", rendered)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "build",
        help="emit the typed pipeline package (tables, rows, DDL, diagrams)",
        description="Emit the typed pipeline package of a .rf schema. Settings come from "
        "[tool.relflow-gen] in pyproject.toml; flags override them.",
    )
    _common(p)
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 and print a diff if the package is stale")
    p.add_argument("--stubs", action="store_true", help="also write make() scaffolds that do not exist yet")
    p.add_argument(
        "--source-positions",
        dest="source_positions",
        action="store_true",
        default=None,
        help="keep the source position of every element in schema.json (default: left out)",
    )
    p.add_argument(
        "--no-svg",
        dest="svg",
        action="store_false",
        default=None,
        help="accepted for old scripts; does nothing (build never writes an SVG: `python -m PKG diagram --svg`)",
    )
    p.set_defaults(func=cmd_build)

    p = sub.add_parser(
        "stubs",
        help="write make() scaffolds for imported/computed tables (never overwrites)",
        description="Write a make() scaffold for every imported/computed table whose module does not exist yet.",
    )
    _common(p)
    p.set_defaults(func=cmd_stubs, svg=None, source_positions=None)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("schema", nargs="?", metavar="SCHEMA", help="root .rf file (default: `schema` in the config)")
    p.add_argument("--package", help="package name (default: <schema name>_pipeline)")
    p.add_argument("-o", "--output", "--out", dest="output", metavar="DIR", help="directory that holds the package directory")
    p.add_argument("--makers", metavar="DIR", help="makers package directory for make() scaffolds")
    p.add_argument("--config", metavar="PYPROJECT", help="pyproject.toml to read [tool.relflow-gen] from")


def _config(args: argparse.Namespace) -> BuildConfig:
    return resolve(
        Overrides(
            schema=args.schema,
            output=args.output,
            package=args.package,
            makers=args.makers,
            svg=args.svg,
            source_positions=args.source_positions,
            config=args.config,
        )
    )


def _generate(cfg: BuildConfig) -> Generated | None:
    base, schema = cfg.source()
    gen = generate(base, schema, cfg.package, source_positions=cfg.source_positions)
    if gen.warnings:
        print(gen.warnings, file=sys.stderr)
    if gen.problems:
        print(gen.problems, file=sys.stderr)
        print("relflow-gen: nothing written", file=sys.stderr)
        return None
    return gen


def cmd_build(args: argparse.Namespace) -> int:
    cfg = _config(args)
    gen = _generate(cfg)
    if gen is None:
        return ExitCode.DIAGNOSTICS
    out_dir = cfg.package_dir(gen.package)
    try:
        changes = plan(gen.files, out_dir)
    except ForeignFileError as exc:
        raise UsageError(str(exc)) from None
    shown = _display(cfg, out_dir)
    if args.check:
        if changes:
            sys.stdout.write(diff(changes, shown))
            print(f"relflow-gen: {shown} is stale ({summary(changes)}); run `relflow-gen build`", file=sys.stderr)
            return ExitCode.DIAGNOSTICS
        print(f"{shown}: up to date ({len(gen.files)} files)")
        return ExitCode.OK
    try:
        apply(changes, out_dir)
    except OSError as exc:
        raise UsageError(f"cannot write {shown}: {exc}") from None
    print(f"{shown}: {summary(changes)} ({len(gen.files)} files)")
    if args.stubs:
        return _write_stubs(cfg, gen)
    return ExitCode.OK


def cmd_stubs(args: argparse.Namespace) -> int:
    cfg = _config(args)
    gen = _generate(cfg)
    if gen is None:
        return ExitCode.DIAGNOSTICS
    return _write_stubs(cfg, gen)


def _write_stubs(cfg: BuildConfig, gen: Generated) -> int:
    if cfg.makers is None:
        raise UsageError("no makers directory: pass --makers DIR or set `makers` in [tool.relflow-gen]")
    assert gen.project is not None
    makers_dir = cfg.path(cfg.makers)
    makers_package = makers_dir.name
    try:
        files = stub_files(gen.project, EmitOptions(gen.package, cfg.source()[1]), makers_package)
    except EmitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.DIAGNOSTICS
    try:
        created = create_new(files, makers_dir)
    except OSError as exc:
        raise UsageError(f"cannot write {cfg.makers}: {exc}") from None
    shown = _display(cfg, makers_dir)
    for name in created:
        print(f"wrote {shown}/{name}")
    existing = len(files) - len(created)
    if existing:
        print(f"{shown}: {existing} file(s) exist and were left unchanged")
    if created and "__init__.py" not in created and any(n != "__init__.py" for n in created):
        print(f"{shown}: add the new classes to MAKERS in {shown}/__init__.py", file=sys.stderr)
    return ExitCode.OK


def _display(cfg: BuildConfig, path: Path) -> str:
    """A path for messages: relative to the working directory when below it."""
    try:
        return path.relative_to(Path.cwd().resolve()).as_posix() or "."
    except ValueError:
        return str(path)
