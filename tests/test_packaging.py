"""grammar/ and templates/ ship in the wheel and are found from a checkout and from the wheel."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import sys
import relflow_gen, relflow_gen.core.resources as r
from relflow_gen.compiler.frontend import compile_text
from relflow_gen.emit.package import EmitOptions, emit
print(relflow_gen.__file__)
print(r.grammar_path())
print(r.templates_dir())
comp = compile_text('schema s\\n\\nmanual A {\\n    a: int32\\n}\\n')
assert comp.ok and comp.project is not None
files = emit(comp.project, EmitOptions(package="s_pipeline", source="s.rf"))
assert "tables.py" in files, sorted(files)
print("ok")
"""


def _probe(env: dict[str, str], cwd: Path) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[-1] == "ok"
    return lines


def test_found_from_source_checkout(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    package, grammar, templates = _probe(env, tmp_path)[:3]
    assert Path(package).resolve().is_relative_to(ROOT)
    assert Path(grammar).resolve() == (ROOT / "grammar" / "relflow.lark").resolve()
    assert Path(templates).resolve() == (ROOT / "templates").resolve()


@pytest.mark.slow
def test_wheel_contains_and_finds_grammar_and_templates(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = wheels.glob("relflow_gen-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "relflow_gen/grammar/relflow.lark" in names
    for template in (ROOT / "templates").glob("*.jinja"):
        assert f"relflow_gen/templates/{template.name}" in names
    assert "relflow_gen/py.typed" in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    env = dict(os.environ, PYTHONPATH=str(site))
    package, grammar, templates = _probe(env, tmp_path)[:3]
    assert Path(package).resolve().is_relative_to(site.resolve())
    assert Path(grammar).resolve() == (site / "relflow_gen" / "grammar" / "relflow.lark").resolve()
    assert Path(templates).resolve() == (site / "relflow_gen" / "templates").resolve()
