"""What importing the runtime and connecting a generated package load (issue 9, fast import).

The figures are bench/bench_import.py's; these tests keep the structure that gives them:
``import relflow_gen.runtime`` loads only the table of its names, and connecting a package
loads neither populate's machinery nor the diagram, the object stores or the jobs store.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("package", ["relflow_gen.runtime", "relflow_gen.runtime.stores"])
def test_the_lazy_name_table_is_the_public_api(package: str) -> None:
    """The three lists of a lazily exporting package agree: ``__all__``, the table of
    ``__getattr__`` and the imports type checkers read; every name is the defining module's."""
    module = importlib.import_module(package)
    table: dict[str, tuple[str, ...]] = module._LAZY
    assert sorted(n for names in table.values() for n in names) == sorted(module.__all__)
    source = (ROOT / Path(*package.split(".")) / "__init__.py").read_text(encoding="utf-8")
    for defining, names in table.items():
        for name in names:
            assert getattr(module, name) is getattr(importlib.import_module(defining), name), name
        checked = f"from {defining} import"
        assert checked in source, f"{package}: no `{checked} ...` under TYPE_CHECKING"
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchName'"):
        module.NoSuchName  # noqa: B018
    assert set(module.__all__) <= set(dir(module))


def test_dir_lists_the_names_not_loaded_yet() -> None:
    code = "import relflow_gen.runtime as r, sys; print('Pipeline' in dir(r), 'relflow_gen.runtime.pipeline' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == ["True", "False"]


def _loaded_after(code: str, cwd: Path) -> set[str]:
    script = textwrap.dedent(code) + "\nimport sys\nprint(' '.join(sorted(sys.modules)))\n"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=cwd)
    return set(out.stdout.split())


def test_import_runtime_loads_only_its_name_table() -> None:
    loaded = _loaded_after("import relflow_gen.runtime", ROOT)
    assert {m for m in loaded if m.startswith("relflow_gen")} == {
        "relflow_gen",
        "relflow_gen.core",
        "relflow_gen.core.lazy",
        "relflow_gen.runtime",
    }
    assert "typing" not in loaded and "dataclasses" not in loaded


def test_connecting_loads_only_what_connecting_uses(tmp_path: Path) -> None:
    from relflow_gen.cli.main import main

    assert main(["build", str(ROOT / "examples" / "lab" / "lab.rf"), "--out", str(tmp_path), "--no-svg"]) == 0
    loaded = _loaded_after(
        """
        import lab_pipeline
        db = lab_pipeline.connect("sqlite://")
        db.Subject.insert1({"subject_id": "m1", "species": "mouse", "sex": "F", "date_of_birth": None})
        assert len(db.Subject & {"subject_id": "m1"}) == 1
        db.close()
        """,
        tmp_path,
    )
    not_for_connecting = {
        "lab_pipeline.rows",  # the row types: for type checkers, loaded when one is asked for
        "relflow_gen.runtime.diagram",
        "relflow_gen.runtime.populate.run",
        "relflow_gen.runtime.populate.runner",
        "relflow_gen.runtime.populate.pool",
        "relflow_gen.runtime.populate.manage",
        "relflow_gen.runtime.populate.jobs",
        "relflow_gen.runtime.populate.identity",
        "relflow_gen.runtime.populate.fingerprint",
        "relflow_gen.runtime.populate.staleness",
        "relflow_gen.runtime.stores.config",
        "relflow_gen.runtime.stores.store",
        "subprocess",
        "socket",
        "tomllib",
        "difflib",
        "html",
        "random",
        "multiprocessing",
    }
    assert loaded & not_for_connecting == set()


def test_importing_a_package_loads_only_what_defining_its_tables_needs(tmp_path: Path) -> None:
    """``import PACKAGE`` defines the table, maker and pipeline classes: the backends (sqlite3),
    the value codec (json, uuid, datetime), the object stores (pathlib), hashlib and logging
    load when the package first connects, queries or logs (issue 9, the 7x import target)."""
    from relflow_gen.cli.main import main

    assert main(["build", str(ROOT / "examples" / "lab" / "lab.rf"), "--out", str(tmp_path), "--no-svg"]) == 0
    loaded = _loaded_after("import lab_pipeline", tmp_path)
    not_for_importing = {
        "lab_pipeline.rows",
        "relflow_gen.runtime.engine.connection",
        "relflow_gen.runtime.engine.codec",
        "relflow_gen.runtime.backends.sqlite",
        "relflow_gen.runtime.stores.refs",
        "relflow_gen.runtime.stores.registry",
        "sqlite3",
        "hashlib",
        "logging",
        "json",
        "uuid",
        "datetime",
        "pathlib",
        "urllib.parse",
    }
    assert loaded & not_for_importing == set()
    connected = _loaded_after("import lab_pipeline\nlab_pipeline.connect('sqlite://').close()", tmp_path)
    assert {"relflow_gen.runtime.backends.sqlite", "sqlite3"} <= connected
