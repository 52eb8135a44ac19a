"""The run-time stand-in for TypedDict that generated ``rows.py`` modules use (relflow_gen/core/rowtypes.py)."""

from __future__ import annotations

from typing import NotRequired

import pytest

from relflow_gen.core.rowtypes import TypedDict


class Key(TypedDict, closed=True):
    a: int


class Insert(TypedDict, closed=True):
    a: int
    b: NotRequired[str]
    c: float | None


class Partial(TypedDict, total=False):
    x: int


def test_calling_a_row_type_gives_a_plain_dict() -> None:
    row = Insert(a=1, c=None)
    assert type(row) is dict and row == {"a": 1, "c": None}
    assert type(Key({"a": 2})) is dict


def test_instance_and_class_checks_are_errors_as_for_typeddict() -> None:
    with pytest.raises(TypeError, match="instance and class checks"):
        isinstance({"a": 1}, Key)
    with pytest.raises(TypeError, match="instance and class checks"):
        issubclass(dict, Key)


def test_required_and_optional_keys_come_from_the_annotations() -> None:
    assert Insert.__required_keys__ == frozenset({"a", "c"})
    assert Insert.__optional_keys__ == frozenset({"b"})
    assert Insert.__total__ is True
    assert Partial.__required_keys__ == frozenset() and Partial.__optional_keys__ == frozenset({"x"})
    assert list(Insert.__annotations__) == ["a", "b", "c"]
