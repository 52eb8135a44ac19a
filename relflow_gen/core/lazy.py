"""Modules and names loaded on first use, declared at the top of the module that uses them.

Importing the runtime should cost what a program uses, not what the runtime
could do: ``populate`` pulls worker pools, host identity and code fingerprints,
``diagram`` pulls subprocess, object stores pull tomllib and hashlib.  A module
that needs such a module only in a rarely used method declares it here, at its
top, in plain sight of a reader and of ``tests/test_architecture.py`` (which
reads the module names given to :func:`lazy_module` and :func:`lazy_attributes`
as import edges, for the layer rule and the cycle check alike)::

    TYPE_CHECKING = False
    if TYPE_CHECKING:
        from relflow_gen.runtime.populate import run
    else:
        run = lazy_module("relflow_gen.runtime.populate.run")

Type checkers see the real import; at run time ``run.populate`` imports the
module the first time an attribute is asked for.  :func:`lazy_attributes` makes
a package's ``__getattr__`` (PEP 562) from an explicit table, so that
``from package import Name`` loads only the module that defines ``Name``.

This module imports nothing at run time but ``importlib`` (its package module:
the machinery is loaded at start-up), so that using it costs next to nothing.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from types import ModuleType
    from typing import Any


class LazyModule:
    """A stand-in for a module, imported when one of its attributes is first read."""

    __slots__ = ("_lazy_name", "_lazy_module")

    def __init__(self, name: str) -> None:
        self._lazy_name = name
        self._lazy_module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        module = self._lazy_module
        if module is None:  # import_module is thread-safe (the import lock) and returns sys.modules' entry
            module = self._lazy_module = importlib.import_module(self._lazy_name)
        return getattr(module, attr)

    def __repr__(self) -> str:
        state = "loaded" if self._lazy_module is not None else "not loaded yet"
        return f"<lazy module {self._lazy_name!r} ({state})>"


def lazy_module(name: str) -> Any:
    """``name`` (an absolute module name), imported when an attribute of it is first read."""
    return LazyModule(name)


def lazy_attributes(package: str, table: Mapping[str, tuple[str, ...]]) -> Callable[[str], Any]:
    """A module ``__getattr__`` (PEP 562) for ``package``: each name of ``table[module]`` is
    imported from ``module`` when first asked for, then kept in the package's namespace."""
    where = {name: module for module, names in table.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(importlib.import_module(package), name, value)  # the next look-up is a plain one
        return value

    return __getattr__


def lazy_submodule(package: str, submodule: str) -> Callable[[str], Any]:
    """A package ``__getattr__`` (PEP 562) that finds a name in ``package.submodule``, imported
    when a name is first asked for.  A generated package re-exports its row types so: its
    tables do not need them at run time, and the 1,500 TypedDicts of a 500-table schema
    cost about as much to import as the rest of the package."""
    name_of_module = f"{package}.{submodule}"

    def __getattr__(name: str) -> Any:
        if not name.startswith("__"):  # dunder probes (copy, doctest, inspect) never load it
            module = importlib.import_module(name_of_module)
            if hasattr(module, name):
                value = getattr(module, name)
                setattr(importlib.import_module(package), name, value)
                return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__


def lazy_dir(package: str, names: Iterable[str]) -> Callable[[], list[str]]:
    """A module ``__dir__`` (PEP 562) that lists ``names`` (its ``__all__``) loaded or not, so
    that ``dir()`` and a notebook's completion show what ``__getattr__`` would give."""
    public = frozenset(names)

    def __dir__() -> list[str]:
        return sorted(public.union(vars(importlib.import_module(package))))

    return __dir__
