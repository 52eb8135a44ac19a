"""Manners of both command lines: --version, a description on every subcommand, help on every argument,
and one set of exit codes."""

from __future__ import annotations

import argparse
import importlib.metadata
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from relflow_gen.cli import main as gen_cli
from relflow_gen.cli.run import load_pipeline
from relflow_gen.core.errors import ExitCode
from relflow_gen.runtime import cli as pipeline_cli

ROOT = Path(__file__).resolve().parents[1]


def _parsers(parser: argparse.ArgumentParser, path: str) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, child in action.choices.items():
                assert helps.get(name), f"{path} {name}: no one-line help in the command list"
                yield from _parsers(child, f"{path} {name}")


def _problems(parser: argparse.ArgumentParser, path: str) -> list[str]:
    found = []
    for where, p in _parsers(parser, path):
        if not (p.description or "").strip():
            found.append(f"{where}: no description")
        for action in p._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            if not action.help or action.help == argparse.SUPPRESS:
                found.append(f"{where} {'/'.join(action.option_strings) or action.dest}: no help")
    return found


def test_every_relflow_gen_command_and_argument_is_described() -> None:
    parser = gen_cli.build_parser()
    assert len(list(_parsers(parser, "relflow-gen"))) >= 6  # the walk reaches the subcommands
    assert _problems(parser, "relflow-gen") == []


def test_every_pipeline_command_and_argument_is_described() -> None:
    pipeline = load_pipeline(str(ROOT / "examples" / "lab" / "lab.rf"))
    parser = pipeline_cli.build_parser(pipeline, "python -m lab_pipeline")
    assert len(list(_parsers(parser, "python -m lab_pipeline"))) >= 10
    assert _problems(parser, "python -m lab_pipeline") == []


def test_the_walk_finds_an_undescribed_argument() -> None:
    parser = argparse.ArgumentParser(prog="x", description="x")
    sub = parser.add_subparsers()
    p = sub.add_parser("go", help="go")
    p.add_argument("--fast")
    assert _problems(parser, "x") == ["x go: no description", "x go --fast: no help"]


def test_version_comes_from_the_package_metadata(capsys: pytest.CaptureFixture[str]) -> None:
    assert gen_cli.main(["--version"]) == ExitCode.OK
    assert capsys.readouterr().out.strip() == f"relflow-gen {importlib.metadata.version('relflow-gen')}"


def test_version_from_the_installed_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "relflow_gen", "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == importlib.metadata.version("relflow-gen")


def test_exit_codes_are_one_enum(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert [int(c) for c in ExitCode] == [0, 1, 2, 123, 130]
    assert ExitCode.DIAGNOSTICS is ExitCode.FAILURES
    assert gen_cli.main(["no-such-command"]) == ExitCode.USAGE
    bad = tmp_path / "bad.rf"
    bad.write_text("schema s\n\nmanual T {\n  a: int\n  ---\n  a: int\n}\n")
    assert gen_cli.main(["check", str(bad)]) == ExitCode.DIAGNOSTICS
    assert gen_cli.main(["format", str(tmp_path / "missing.rf")]) == ExitCode.USAGE


def test_no_scattered_exit_constants() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "relflow_gen").rglob("*.py")
        if "EXIT_" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
