"""Golden cases of the emitter, shared by the emit, typing and DDL tests.

A case is a folder of `.rf` files and a golden folder holding the expected
package (``expected/``) and the expected make() scaffolds (``stubs/``):

- ``tests/golden/<case>/*.rf`` with ``tests/golden/<case>/expected`` and ``stubs``;
- every example, ``examples/<name>/*.rf``, with its golden folder
  ``tests/golden/examples/<name>/``.

The root of a case is the `.rf` file no other file of its folder imports.
``pytest --update-golden`` rewrites the golden folders.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import black
from black.mode import TargetVersion

from relflow_gen.cli.build import Generated, generate
from relflow_gen.emit.package import LINE_LENGTH, EmitOptions
from relflow_gen.emit.stubs import stub_files

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden"
EXAMPLES = REPO / "examples"
MYPY_CACHE = Path(tempfile.gettempdir()) / "relflow-gen-test-mypy-cache"

#: black's settings for generated code. The build does not run black; the tests prove its output is black's.
BLACK_MODE = black.Mode(line_length=LINE_LENGTH, target_versions={TargetVersion.PY311})

_IMPORT = re.compile(r'^\s*import\s+"([^"]+)"', re.MULTILINE)


@dataclass(frozen=True)
class Case:
    name: str  # "examples/lab" or "clashes"
    source_dir: Path  # the folder holding the .rf files
    schema: str  # the root .rf file, relative to source_dir
    golden_dir: Path

    @property
    def expected_dir(self) -> Path:
        return self.golden_dir / "expected"

    @property
    def stubs_dir(self) -> Path:
        return self.golden_dir / "stubs"


def roots(folder: Path) -> list[str]:
    """The `.rf` files of ``folder`` that no other file of the folder imports."""
    files = sorted(p.name for p in folder.glob("*.rf"))
    imported = {
        os.path.normpath(m) for name in files for m in _IMPORT.findall((folder / name).read_text(encoding="utf-8"))
    }
    return [f for f in files if f not in imported]


def discover() -> list[Case]:
    cases: list[Case] = []
    for folder in sorted(p for p in GOLDEN.iterdir() if p.is_dir() and p.name != "examples"):
        for root in roots(folder):
            cases.append(Case(folder.name if len(roots(folder)) == 1 else f"{folder.name}/{root}", folder, root, folder))
    for folder in sorted(p for p in EXAMPLES.iterdir() if p.is_dir()):
        found = roots(folder)
        for root in found:
            name = f"examples/{folder.name}" + ("" if len(found) == 1 else f"/{Path(root).stem}")
            cases.append(Case(name, folder, root, GOLDEN / name))
    return cases


CASES = discover()
CASE_IDS = [c.name for c in CASES]


@lru_cache(maxsize=None)
def generated(case: Case) -> Generated:
    gen = generate(case.source_dir, case.schema)
    assert not gen.problems, f"{case.name} does not build:\n{gen.problems}"
    return gen


def makers_package(gen: Generated) -> str:
    assert gen.project is not None
    return f"{gen.project.root}_makers"


@lru_cache(maxsize=None)
def stubs(case: Case) -> dict[str, str]:
    gen = generated(case)
    assert gen.project is not None
    return stub_files(gen.project, EmitOptions(gen.package, case.schema), makers_package(gen))


def read_tree(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` by relative path (exact bytes, decoded)."""
    if not folder.is_dir():
        return {}
    return {
        p.relative_to(folder).as_posix(): p.read_bytes().decode("utf-8")
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def write_tree(folder: Path, files: dict[str, str]) -> None:
    """Make ``folder`` hold exactly ``files``."""
    if folder.exists():
        shutil.rmtree(folder)
    for rel, text in files.items():
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode("utf-8"))


def run_mypy(paths: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``mypy --strict`` on ``paths`` (relative to ``cwd``) with the repository on MYPYPATH.

    Errors in followed modules (the runtime) are not reported: the runtime is
    checked by the repository's own mypy run.
    """
    env = {**os.environ, "MYPYPATH": str(REPO)}
    cmd = [
        sys.executable,
        "-m",
        "mypy",
        "--strict",
        "--follow-imports=silent",
        "--no-error-summary",
        "--show-error-codes",
        "--hide-error-context",
        "--no-color-output",
        "--cache-dir",
        str(MYPY_CACHE),
        *paths,
    ]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)


def black_format(source: str) -> str:
    """``source`` as black formats it with :data:`BLACK_MODE`."""
    return black.format_str(source, mode=BLACK_MODE)
