"""Build configuration: ``[tool.relflow-gen]`` in ``pyproject.toml``, overridden by flags.

.. code-block:: toml

    [tool.relflow-gen]
    schema = "schemas/lab.rf"     # the root .rf file (its imports follow)
    output = "src"                # directory that holds the package directory
    package = "lab_pipeline"      # default: <schema name>_pipeline
    makers = "src/lab_makers"     # where `relflow-gen stubs` writes make() scaffolds
    source_positions = false      # keep source positions in schema.json
    svg = true                    # accepted for old configurations; does nothing

The *project root* is the directory of the nearest ``pyproject.toml`` at or
above the working directory (or of ``--config``); without one it is the
working directory.  Paths in the file are relative to the root; paths given as
flags are relative to the working directory.  Every path is kept relative to
the root, so the headers of generated files and ``schema.json`` never contain
an absolute path and do not depend on where the build runs; a schema outside
the root is named as :meth:`BuildConfig.source` says.

Unknown keys, values of the wrong type and unreadable files are
:class:`ConfigError` (exit code 2).
"""

from __future__ import annotations

import difflib
import keyword
import os
import posixpath
import tomllib
from dataclasses import dataclass
from pathlib import Path

from relflow_gen.core.errors import UsageError

TABLE = "relflow-gen"

#: The keys of ``[tool.relflow-gen]`` and their types.
KEYS: dict[str, type] = {"schema": str, "output": str, "package": str, "makers": str, "svg": bool, "source_positions": bool}


class ConfigError(UsageError):
    """A problem with the build configuration (exit code 2)."""


@dataclass(frozen=True)
class Overrides:
    """Values given on the command line (paths relative to ``cwd``); None: not given."""

    schema: str | None = None
    output: str | None = None
    package: str | None = None
    makers: str | None = None
    svg: bool | None = None
    source_positions: bool | None = None
    config: str | None = None


@dataclass(frozen=True)
class BuildConfig:
    """A resolved configuration.  Paths are relative to ``root`` with ``/`` separators."""

    root: Path
    schema: str
    output: str
    package: str | None
    makers: str | None
    svg: bool  # no effect since build stopped drawing diagram.svg; kept so old configurations load
    config_file: Path | None
    source_positions: bool = False

    def path(self, rel: str) -> Path:
        """An absolute path for a root-relative one."""
        return self.root / rel

    def package_dir(self, package: str) -> Path:
        return self.root / self.output / package

    def source(self) -> tuple[Path, str]:
        """The directory the sources are read from and the root `.rf` file's path in it.

        Generated files name their source by this path, so it never depends on the
        machine: relative to the project root, or, for a schema outside the root,
        to the output directory when the schema lies below it, else to the
        schema's own directory (its file name).
        """
        if not _climbs(self.schema):
            return self.root, self.schema
        schema = Path(os.path.normpath(self.root / self.schema))
        output = Path(os.path.normpath(self.root / self.output))
        rel = _relative(schema, output)
        if not _climbs(rel):
            return output, rel
        return schema.parent, schema.name


def find_pyproject(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` at or above ``start``."""
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def read_table(pyproject: Path) -> dict[str, object]:
    """The ``[tool.relflow-gen]`` table of a pyproject file (empty when absent)."""
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{pyproject}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{pyproject}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{pyproject}: invalid TOML: {exc}") from None
    tool = data.get("tool", {})
    table = tool.get(TABLE, {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.{TABLE}] must be a table")
    return table


def check_table(table: dict[str, object], where: str) -> None:
    """Reject unknown keys and values of the wrong type."""
    for key, value in table.items():
        expected = KEYS.get(key)
        if expected is None:
            close = difflib.get_close_matches(key, sorted(KEYS), n=1)
            hint = f"; did you mean `{close[0]}`?" if close else f"; known keys: {', '.join(sorted(KEYS))}"
            raise ConfigError(f"{where}: unknown key `{key}` in [tool.{TABLE}]{hint}")
        if type(value) is not expected:
            raise ConfigError(
                f"{where}: `{key}` in [tool.{TABLE}] must be a {expected.__name__}, not {type(value).__name__}"
            )


def resolve(overrides: Overrides, cwd: Path | None = None) -> BuildConfig:
    """The configuration of a build run from ``cwd`` with ``overrides``."""
    cwd = (cwd or Path.cwd()).resolve()
    if overrides.config is not None:
        pyproject: Path | None = (cwd / overrides.config).resolve()
        assert pyproject is not None
        if not pyproject.is_file():
            raise ConfigError(f"{overrides.config}: no such configuration file")
    else:
        pyproject = find_pyproject(cwd)
    root = pyproject.parent if pyproject is not None else cwd
    table = read_table(pyproject) if pyproject is not None else {}
    check_table(table, str(pyproject))

    def from_file(key: str) -> str | None:
        value = table.get(key)
        return _clean(str(value), key) if isinstance(value, str) else None

    def from_flag(value: str | None) -> str | None:
        return _relative(cwd / value, root) if value is not None else None

    schema = from_flag(overrides.schema) or from_file("schema")
    if schema is None:
        raise ConfigError(
            f"no schema: give the root .rf file as an argument or set `schema` in [tool.{TABLE}] of pyproject.toml"
        )
    svg_value = table.get("svg", True)
    svg = overrides.svg if overrides.svg is not None else bool(svg_value)
    positions_value = table.get("source_positions", False)
    positions = overrides.source_positions if overrides.source_positions is not None else bool(positions_value)
    package = overrides.package if overrides.package is not None else _str_or_none(table.get("package"))
    if package is not None:
        check_package_name(package)
    return BuildConfig(
        root=root,
        schema=schema,
        output=from_flag(overrides.output) or from_file("output") or ".",
        package=package,
        makers=from_flag(overrides.makers) or from_file("makers"),
        svg=svg,
        config_file=pyproject,
        source_positions=positions,
    )


def check_package_name(name: str) -> None:
    if not name.isidentifier() or keyword.iskeyword(name) or not name.isascii():
        raise ConfigError(f"package name `{name}` is not a valid Python identifier")


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _clean(path: str, key: str) -> str:
    if not path or os.path.isabs(path):
        raise ConfigError(f"`{key}` in [tool.{TABLE}] must be a relative path, not {path!r}")
    return posixpath.normpath(path.replace("\\", "/"))


def _climbs(rel: str) -> bool:
    """Whether a relative path leaves its base directory."""
    return rel == ".." or rel.startswith("../")


def _relative(path: Path, root: Path) -> str:
    rel = os.path.relpath(os.path.normpath(path), root)
    return Path(rel).as_posix()
