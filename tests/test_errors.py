"""Every exception relflow-gen defines derives from RelflowError."""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import pkgutil
from pathlib import Path

import relflow_gen
from relflow_gen.core.errors import RelflowError

#: modules that need an optional server driver or are entry points with side effects
SKIP = {"relflow_gen.__main__"}


#: exception classes allowed, for now, not to derive from RelflowError (none: emit.svg.SvgError is gone;
#: runtime.diagram.DiagramError derives from RelflowError)
PENDING: set[str] = set()

#: builtin exceptions a module may raise, and why
ALLOWED_BUILTIN_RAISES = {
    # per-value converters: every ValueError/TypeError is caught and becomes a ValueProblem
    ("runtime/engine/codec.py", "ValueError"),
    ("runtime/engine/codec.py", "TypeError"),
    # a bug marker / Ctrl-C forwarded from SIGTERM
    ("*", "AssertionError"),
    ("*", "KeyboardInterrupt"),
    ("*", "NotImplementedError"),
    # invariants that cannot fail on a Project the front end built / a DAG
    ("compiler/ir.py", "KeyError"),
    ("runtime/tables/delete.py", "RuntimeError"),
    # a broken installation (no grammar/templates folder): not a user error
    ("core/resources.py", "FileNotFoundError"),
    # populate_all(maker=...): goes away with the typed populate options (issue 9 item 6, `workers`)
    ("runtime/populate/run.py", "TypeError"),
    # the run-time stand-in for TypedDict behaves as TypedDict: isinstance/issubclass against it are TypeErrors
    ("core/rowtypes.py", "TypeError"),
    # __getattr__ of names loaded on first use (PEP 562) and of a table's lazily built Select:
    # the attribute protocol asks for AttributeError, which hasattr() and getattr(x, n, d) rely on
    ("core/lazy.py", "AttributeError"),
    ("runtime/tables/table.py", "AttributeError"),
}

PACKAGE = Path(relflow_gen.__file__).parent


def _modules() -> list[str]:
    return [
        m.name
        for m in pkgutil.walk_packages(relflow_gen.__path__, "relflow_gen.")
        if m.name not in SKIP
    ]


def test_every_project_exception_derives_from_relflow_error() -> None:
    strays = []
    seen = 0
    for name in _modules():
        module = importlib.import_module(name)
        for obj in vars(module).values():
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseException)
                and obj.__module__ == name
            ):
                seen += 1
                if not issubclass(obj, RelflowError):
                    strays.append(f"{name}.{obj.__qualname__}")
    assert seen >= 20  # the walk reaches the modules that define exceptions
    assert sorted(set(strays) - PENDING) == []


def _raised_builtins(path: Path) -> list[tuple[str, int]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Raise) and node.exc is not None:
            target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(target, ast.Name) and isinstance(getattr(builtins, target.id, None), type):
                found.append((target.id, node.lineno))
    return found


def test_no_builtin_exception_is_raised_where_a_project_one_belongs() -> None:
    strays = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        for name, line in _raised_builtins(path):
            if (rel, name) not in ALLOWED_BUILTIN_RAISES and ("*", name) not in ALLOWED_BUILTIN_RAISES:
                strays.append(f"relflow_gen/{rel}:{line}: raise {name}")
    assert strays == []
