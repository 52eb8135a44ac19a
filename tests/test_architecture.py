"""The layer rule of docs/architecture.md, read from the import graph of every module.

* imports flow one way: a module imports only from its own layer or from the
  layers its layer may use (LAYERS below); a ``TYPE_CHECKING`` import counts too;
* no import cycles among modules (deferred imports count);
* no import inside a function, except to delay a heavy optional dependency;
* the generated package imports the runtime and the shared core only: never
  lark, jinja2, black or networkx, and numpy/pandas/pymysql only when used.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "relflow_gen"

# layer -> (module prefixes, layers it uses). A layer may import its own modules, the layers it uses and,
# transitively, what those use; nothing else.
LAYERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "cli": (("relflow_gen.cli", "relflow_gen.__main__"), ("emit", "fmt", "runtime-cli")),
    "emit": (("relflow_gen.emit",), ("compiler", "pipeline")),
    "fmt": (("relflow_gen.fmt",), ("compiler", "core")),
    "compiler": (("relflow_gen.compiler",), ("core",)),
    "runtime-cli": (
        (
            "relflow_gen.runtime.cli",
            "relflow_gen.runtime.commands",
            "relflow_gen.runtime.dynamic",
            "relflow_gen.runtime.staleness_cli",
            "relflow_gen.runtime.stores_cli",
        ),
        ("pipeline", "evolve"),
    ),
    "pipeline": (("relflow_gen.runtime.pipeline", "relflow_gen.runtime"), ("populate",)),
    "populate": (("relflow_gen.runtime.populate",), ("tables",)),
    "evolve": (("relflow_gen.runtime.evolve",), ("tables",)),
    "tables": (("relflow_gen.runtime.tables",), ("query",)),
    "query": (("relflow_gen.runtime.query",), ("engine",)),
    "engine": (
        ("relflow_gen.runtime.engine", "relflow_gen.runtime.backends", "relflow_gen.runtime.errors"),
        ("stores", "blob", "core"),
    ),
    "stores": (("relflow_gen.runtime.stores",), ("blob", "core")),
    "blob": (("relflow_gen.runtime.blob", "relflow_gen.runtime.diagram"), ("core",)),
    "core": (("relflow_gen.core", "relflow_gen"), ()),
}

# imports allowed inside functions: heavy dependencies loaded only when used
DEFERRED_OK = {
    "numpy",
    "pandas",
    "distributed",  # populate --dask
    "relflow_gen.runtime.backends.mysql",  # pymysql
    "relflow_gen.runtime.blob.format",  # numpy
    "tqdm",  # populate's progress bar: its import pulls importlib.metadata, email and csv
    "fsspec",  # object stores, only when a store is used
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def layer_of(module: str) -> str:
    best = ""
    found = ""
    for layer, (prefixes, _) in LAYERS.items():
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > len(best):
                best, found = prefix, layer
    assert found, f"{module} belongs to no layer of tests/test_architecture.py"
    return found


def is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


LAZY_LOADERS = ("lazy_module", "lazy_attributes")  # relflow_gen/core/lazy.py


def lazy_call(node: ast.Call) -> bool:
    f = node.func
    return (isinstance(f, ast.Name) and f.id in LAZY_LOADERS) or (
        isinstance(f, ast.Attribute) and f.attr in LAZY_LOADERS
    )


def lazy_targets(node: ast.Call) -> list[str]:
    """The modules a lazy loader names: ``lazy_module("m")``, or the keys of the table given to
    ``lazy_attributes(__name__, TABLE)`` (a dict literal, inline or assigned at the module's top)."""
    found: list[str] = []
    for arg in node.args:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value.startswith("relflow_gen"):
            found.append(arg.value)
        elif isinstance(arg, ast.Dict):
            found += [k.value for k in arg.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)]
    return found


def lazy_tables(tree: ast.Module) -> dict[str, ast.Dict]:
    """Module-level ``NAME = {...}`` / ``NAME: T = {...}`` dict literals, by name."""
    out: dict[str, ast.Dict] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
            out.update({t.id: node.value for t in node.targets if isinstance(t, ast.Name)})
        elif isinstance(node, ast.AnnAssign) and isinstance(node.value, ast.Dict) and isinstance(node.target, ast.Name):
            out[node.target.id] = node.value
    return out


def imports(path: Path, *, type_checking: bool = True) -> list[tuple[str, bool, int]]:
    """(imported module, inside a function, line) for every import of a file; with
    ``type_checking=False`` the imports under ``if TYPE_CHECKING:`` are left out."""
    out: list[tuple[str, bool, int]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if not type_checking and isinstance(child, ast.If) and is_type_checking(child):
                for other in child.orelse:
                    visit(other, in_function)
                continue
            if isinstance(child, ast.Import):
                out.extend((a.name, in_function, child.lineno) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                assert child.level == 0, f"{path}:{child.lineno}: relative import (the project imports absolutely)"
                base = child.module or ""
                subs = [f"{base}.{a.name}" for a in child.names if f"{base}.{a.name}" in MODULES]
                targets = subs if len(subs) == len(child.names) else [*subs, base]
                out.extend((t, in_function, child.lineno) for t in targets)
            elif isinstance(child, ast.Call) and lazy_call(child):
                # a module loaded on first use (relflow_gen/core/lazy.py) is a dependency like any import
                out.extend((t, in_function, child.lineno) for t in lazy_targets(child))
                visit(child, inner)
            else:
                visit(child, inner)

    tree = ast.parse(path.read_text(encoding="utf-8"))
    tables = lazy_tables(tree)

    def resolve_tables(node: ast.AST) -> None:  # lazy_attributes(__name__, _TABLE): read the named table
        for call in ast.walk(node):
            if isinstance(call, ast.Call) and lazy_call(call):
                call.args = [tables.get(a.id, a) if isinstance(a, ast.Name) else a for a in call.args]

    resolve_tables(tree)
    visit(tree, False)
    return out


def project_edges(*, type_checking: bool = True) -> list[tuple[str, str, bool, int]]:
    edges = []
    for mod, path in MODULES.items():
        for target, deferred, line in imports(path, type_checking=type_checking):
            if target.startswith("relflow_gen"):
                while target not in MODULES:
                    target = target.rpartition(".")[0]
                if target != mod:
                    edges.append((mod, target, deferred, line))
    return edges


def test_every_module_belongs_to_a_layer() -> None:
    for mod in MODULES:
        layer_of(mod)


def allowed(layer: str) -> set[str]:
    """The layers ``layer`` may import: those it uses, and what they use in turn."""
    graph = nx.DiGraph([(name, used) for name, (_, uses) in LAYERS.items() for used in uses])
    graph.add_nodes_from(LAYERS)
    return set(nx.descendants(graph, layer)) | {layer}


def test_the_layers_form_a_dag() -> None:
    graph = nx.DiGraph([(name, used) for name, (_, uses) in LAYERS.items() for used in uses])
    assert nx.is_directed_acyclic_graph(graph)


def test_imports_flow_down_the_layers() -> None:
    wrong = []
    for mod, target, _, line in project_edges():
        src, dst = layer_of(mod), layer_of(target)
        if dst not in allowed(src):
            wrong.append(f"{MODULES[mod].relative_to(ROOT)}:{line}: {mod} ({src}) imports {target} ({dst})")
    assert not wrong, "imports against the layer rule (docs/architecture.md):\n" + "\n".join(wrong)


def test_no_import_cycles() -> None:
    graph = nx.DiGraph()
    graph.add_nodes_from(MODULES)
    for mod, target, _, _ in project_edges(type_checking=False):  # type-only imports run nothing
        if mod.startswith(target + ".") and MODULES[target].name == "__init__.py":
            continue  # a module importing a name from its own package's __init__ is not a loop of modules
        graph.add_edge(mod, target)
    cycles = [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1]
    assert not cycles, f"import cycles: {cycles}"


def test_imports_inside_functions_only_delay_heavy_dependencies() -> None:
    wrong = []
    for path in MODULES.values():
        for target, deferred, line in imports(path):
            if deferred and target.split(".")[0] not in DEFERRED_OK and target not in DEFERRED_OK:
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {target}")
    assert not wrong, "imports inside functions (move them to the top of the module):\n" + "\n".join(wrong)


@pytest.mark.parametrize("module", ["relflow_gen.runtime", "relflow_gen.core.meta"])
def test_light_modules_load_no_heavy_dependency(module: str) -> None:
    code = textwrap.dedent(
        f"""
        import sys
        import {module}
        heavy = sorted(m for m in ("numpy", "pandas", "pymysql", "lark", "jinja2", "black", "networkx", "tqdm") if m in sys.modules)
        print(",".join(heavy))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "", f"import {module} loads {out.stdout.strip()}"


def test_a_generated_package_imports_only_the_runtime(tmp_path: Path) -> None:
    from relflow_gen.cli.main import main

    assert main(["build", str(ROOT / "examples" / "lab" / "lab.rf"), "--out", str(tmp_path), "--no-svg"]) == 0
    code = textwrap.dedent(
        """
        import sys
        import lab_pipeline
        db = lab_pipeline.connect("sqlite://")
        db.Subject.fetch()
        heavy = sorted(m for m in ("numpy", "pandas", "pymysql", "lark", "jinja2", "black", "networkx", "tqdm") if m in sys.modules)
        print(",".join(heavy))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert out.stdout.strip() == "", f"the generated package loads {out.stdout.strip()}"


def test_a_generated_package_loads_its_row_types_on_first_use(tmp_path: Path) -> None:
    """rows.py (three TypedDicts per table) is for type checkers; the package re-exports its
    names and imports it when one is first asked for (relflow_gen/core/lazy.py)."""
    from relflow_gen.cli.main import main

    assert main(["build", str(ROOT / "examples" / "lab" / "lab.rf"), "--out", str(tmp_path), "--no-svg"]) == 0
    code = textwrap.dedent(
        """
        import sys
        import lab_pipeline
        db = lab_pipeline.connect("sqlite://")
        db.Subject.fetch()
        print("rows loaded:", "lab_pipeline.rows" in sys.modules)
        from lab_pipeline import SessionKey
        print("rows loaded:", "lab_pipeline.rows" in sys.modules, SessionKey(subject_id="m1", session_idx=1))
        print(lab_pipeline.SessionRow is lab_pipeline.rows.SessionRow, "SessionRow" in lab_pipeline.__dict__)
        print("SubjectInsert" in dir(lab_pipeline))
        try:
            lab_pipeline.SessionRoww
        except AttributeError as exc:
            print(exc)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert out.stdout.splitlines() == [
        "rows loaded: False",
        "rows loaded: True {'subject_id': 'm1', 'session_idx': 1}",
        "True True",
        "True",
        "module 'lab_pipeline' has no attribute 'SessionRoww'",
    ]
