"""The populate options are spelt out in every signature that forwards them (so that editors and
``help()`` show them): they must agree everywhere, name for name, default for default."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest

from relflow_gen.runtime.pipeline import Pipeline
from relflow_gen.runtime.populate import run
from relflow_gen.runtime.populate.auto import AutoTable
from relflow_gen.runtime.populate.manage import Jobs

#: options of one entry point that the others do not take
OWN = {"maker", "tables", "error_type", "older_than"}


def options(fn: Callable[..., Any]) -> dict[str, tuple[object, object]]:
    params = inspect.signature(fn).parameters.values()
    return {p.name: (p.default, p.annotation) for p in params if p.kind is p.KEYWORD_ONLY and p.name not in OWN}


@pytest.mark.parametrize(
    "forwarder", [run.populate_all, AutoTable.populate, Pipeline.populate_all, Jobs.retry], ids=lambda f: f.__qualname__
)
def test_every_entry_point_takes_the_options_of_populate(forwarder: Callable[..., Any]) -> None:
    assert options(forwarder) == options(run.populate)
    assert len(options(run.populate)) >= 9
