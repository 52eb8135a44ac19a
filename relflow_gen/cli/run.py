"""``relflow-gen run PIPELINE [options] COMMAND``: the pipeline command line from anywhere.

``PIPELINE`` is a generated package (``lab_pipeline``, importable from the
current directory or the environment) or a ``.rf`` file, from which the
pipeline is built at run time without generated code.  Everything after it is
the pipeline's own command line (:mod:`relflow_gen.runtime.cli`), e.g.::

    relflow-gen run lab_pipeline --db sqlite:///lab.db --makers lab_makers populate --workers 4
    relflow-gen run examples/lab/lab.rf --db sqlite:///lab.db status
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Any

from relflow_gen.compiler.diagnostics import render_all
from relflow_gen.compiler.frontend import compile_file
from relflow_gen.compiler.metadata import schema_meta
from relflow_gen.core.errors import UsageError
from relflow_gen.runtime.cli import main
from relflow_gen.runtime.dynamic import pipeline_class
from relflow_gen.runtime.pipeline import Pipeline


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "run",
        help="run a pipeline's command line (status, populate, worker, jobs, errors, retry, ignore, diagram, diff, migrate)",
        description=(
            "Run the command line of a pipeline: PIPELINE is a generated package (importable from the current "
            "directory) or a .rf file; everything after it is the pipeline's own command line.\n\n"
            "  relflow-gen run lab_pipeline --db sqlite:///lab.db --makers lab_makers populate --workers 4\n"
            "  relflow-gen run examples/lab/lab.rf --db sqlite:///lab.db status"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("pipeline", metavar="PIPELINE", help="generated package or .rf file")
    p.add_argument("rest", nargs=argparse.REMAINDER, metavar="...", help="the pipeline's options and command")
    p.set_defaults(func=_cmd_run)


def _cmd_run(args: argparse.Namespace) -> int:
    pipeline_cls = load_pipeline(args.pipeline)
    return main(pipeline_cls, args.rest, prog=f"relflow-gen run {args.pipeline}")


def load_pipeline(target: str) -> type[Any]:
    """The pipeline class of a generated package, or one built from a .rf file."""
    if target.endswith(".rf"):
        return _from_rf(target)
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(target)
    except ModuleNotFoundError as exc:
        raise UsageError(f"cannot import the pipeline package {target!r}: {exc}") from None
    found = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, Pipeline) and obj is not Pipeline and hasattr(obj, "meta")
    ]
    if not found:
        tables = sys.modules.get(f"{target}.tables")
        if tables is not None:
            found = [
                obj
                for obj in vars(tables).values()
                if isinstance(obj, type) and issubclass(obj, Pipeline) and obj is not Pipeline and hasattr(obj, "meta")
            ]
    if len(found) != 1:
        raise UsageError(f"{target} is not a generated pipeline package (no single Pipeline class in it)")
    return found[0]


def _from_rf(path: str) -> type[Any]:
    if not os.path.isfile(path):
        raise UsageError(f"{path}: no such file")
    comp = compile_file(path)
    errors = [d for d in comp.diagnostics if d.is_error]
    if errors or comp.project is None:
        print(render_all(comp.diagnostics, comp.sources), file=sys.stderr)
        raise UsageError(f"{path} has errors; fix them first (relflow-gen check {path})")
    return pipeline_class(schema_meta(comp.project), name="RfPipeline")
