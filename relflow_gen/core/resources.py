"""Where the grammar and templates are, from a source checkout or an installed wheel.

In the repository they live in the top-level ``grammar/`` and ``templates/``
folders (DESIGN.md); the wheel ships them as the data packages
``relflow_gen.grammar`` and ``relflow_gen.templates``.  Both are found here.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def _data_dir(package: str, folder: str) -> Path:
    try:
        root = resources.files(f"relflow_gen.{package}")
        path = Path(str(root))
        if path.is_dir():
            return path
    except ModuleNotFoundError:
        pass
    checkout = Path(__file__).resolve().parents[2] / folder  # relflow_gen/core/ -> repository
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"relflow-gen installation is missing its {folder}/ folder")


def grammar_path() -> Path:
    return _data_dir("grammar", "grammar") / "relflow.lark"


def templates_dir() -> Path:
    return _data_dir("templates", "templates")
