"""A fast run-time stand-in for ``TypedDict`` in generated ``rows.py`` modules.

A generated package declares three TypedDicts per table (key, row, insert).
``typing_extensions.TypedDict`` builds each one in Python (bases, keys,
qualifiers, PEP 728 ``closed``), about 0.2 ms apiece: 0.3 s for a 500-table
schema, most of the package's import time.  Type checkers see the real
TypedDict (the generated module imports it under ``TYPE_CHECKING``); at run
time the classes are made by :class:`TypedDict` below, a plain class with a
small metaclass, which costs what an empty class costs.

What a program can observe at run time stays what TypedDict gives: calling
a row type returns a plain ``dict``; ``isinstance`` and ``issubclass``
against one are errors; ``__annotations__``, ``__required_keys__``,
``__optional_keys__`` and ``__total__`` are there (computed from the
annotations when first asked for).  ``typing.is_typeddict`` says False.
"""

from __future__ import annotations

from typing import Any

#: Qualifiers that make a key optional in a total TypedDict (annotations are strings: PEP 563).
_NOT_REQUIRED = ("NotRequired[", "typing.NotRequired[", "typing_extensions.NotRequired[")


class _TypedDictMeta(type):
    """Metaclass of :class:`TypedDict`: classes that build dicts."""

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **options: Any) -> _TypedDictMeta:
        # ``closed=True`` and ``total=...`` are accepted as in PEP 589/728
        namespace.setdefault("__total__", bool(options.get("total", True)))
        return super().__new__(mcs, name, bases, namespace)

    def __init__(cls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **options: Any) -> None:
        super().__init__(name, bases, namespace)

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return dict(*args, **kwargs)

    def __instancecheck__(cls, instance: object) -> bool:
        raise TypeError("TypedDict does not support instance and class checks")

    def __subclasscheck__(cls, subclass: type) -> bool:
        raise TypeError("TypedDict does not support instance and class checks")

    @property
    def __required_keys__(cls) -> frozenset[str]:
        return frozenset(k for k, optional in _keys(cls).items() if not optional)

    @property
    def __optional_keys__(cls) -> frozenset[str]:
        return frozenset(k for k, optional in _keys(cls).items() if optional)


def _keys(cls: type) -> dict[str, bool]:
    """Every key of ``cls`` (its bases' first) and whether it may be left out."""
    keys: dict[str, bool] = {}
    for klass in reversed(cls.__mro__):
        annotations = klass.__dict__.get("__annotations__", {})
        total = klass.__dict__.get("__total__", True)
        for key, annotation in annotations.items():
            text = annotation if isinstance(annotation, str) else repr(annotation)
            keys[key] = not total or text.startswith(_NOT_REQUIRED)
    return keys


class TypedDict(metaclass=_TypedDictMeta):
    """Base of the run-time row types of a generated package (see the module docstring)."""
