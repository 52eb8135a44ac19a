"""INSERT parameters for the rows of make() calls, prepared once per row shape.

A make() inserts rows of the same shape key after key, so the work of
:func:`~relflow_gen.runtime.tables.table.prepare_rows` (which attributes are given,
their checkers and encoders, the defaults of the others) is done once per
shape and replayed; any value the quick path does not accept goes through
the attribute's checker, and any problem through ``prepare_rows`` itself for
its exact :class:`InsertError`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from relflow_gen.core.meta import TableMeta
from relflow_gen.core.types import TypeSpec
from relflow_gen.runtime.engine.codec import ValueProblem, column_checker
from relflow_gen.runtime.tables.table import prepare_rows

if TYPE_CHECKING:
    from relflow_gen.runtime.engine.connection import Connection

Params = list[tuple[Any, ...]]

_FROM_ROW = object()
_SIZED = ("blob", "bytes", "json", "str", "attach")


@dataclass(frozen=True)
class Plan:
    """How rows of one shape become INSERT parameters (see :class:`RowPreparer`)."""

    columns: tuple[str, ...]
    steps: tuple[tuple[str, Any, Any, Any], ...]  # (name, checker, encoder, constant or _FROM_ROW)
    key_positions: tuple[int, ...] | None  # of the make key's attributes; None: one is missing
    sized: tuple[int, ...]  # positions of values whose size counts against GROUP_BYTES
    fast: tuple[Callable[[Any], bool] | None, ...]  # per column: accepts a value the checker would keep as is


def _accept(spec: TypeSpec) -> Callable[[Any], bool] | None:
    """A quick test for values the attribute's checker returns unchanged (ints in range,
    finite float64s, short enough varchars); anything else goes through the checker."""
    if spec.kind == "int" and spec.info.int_range is not None:
        lo, hi = spec.info.int_range
        return lambda v: type(v) is int and lo <= v <= hi
    if spec.name == "float64":
        return lambda v: type(v) is float and math.isfinite(v)
    if spec.name == "varchar":
        limit = int(spec.args[0])
        return lambda v: type(v) is str and len(v) <= limit
    return None


class RowPreparer:
    """:func:`prepare_rows` with the per-table work done once per row shape.

    The first batch of a given shape (the attribute names the rows give, in
    order) goes through ``prepare_rows``, which validates everything and fills
    defaults; from its output a plan is kept: per column the cached checker
    and encoder, or the constant default.  Later batches of that shape run the
    plan; any problem falls back to ``prepare_rows`` for its exact error.
    """

    def __init__(self, conn: Connection, meta: TableMeta, key_names: Sequence[str]) -> None:
        self.conn = conn
        self.meta = meta
        self.key_names = list(key_names)
        self.plans: dict[tuple[str, ...], Plan] = {}

    def prepare(self, rows: Sequence[Mapping[str, Any]]) -> tuple[Plan, Params]:
        shape = tuple(rows[0])
        if self.meta.has_files:  # values are files or stored objects: every batch is read and uploaded
            columns, params = prepare_rows(self.meta, self.conn, rows)
            return self._plan(shape, columns, params), params
        plan = self.plans.get(shape)
        if plan is None or (len(rows) > 1 and any(tuple(r) != shape for r in rows)):
            columns, params = prepare_rows(self.meta, self.conn, rows)
            plan = self._plan(shape, columns, params)
            if len(rows) == 1 or all(tuple(r) == shape for r in rows):
                self.plans[shape] = plan
            return plan, params
        n = len(rows)
        if n == 1:
            return plan, [self._one(plan, rows[0])]
        cols: list[list[Any]] = []
        try:
            for name, check, enc, const in plan.steps:
                if const is not _FROM_ROW:
                    cols.append([const] * n)
                    continue
                canon = check([r[name] for r in rows])
                if enc is not None:
                    canon = [None if v is None else enc(v) for v in canon]
                cols.append(canon)
        except ValueProblem:
            prepare_rows(self.meta, self.conn, rows)  # raises the InsertError
            raise
        return plan, list(zip(*cols))

    def _one(self, plan: Plan, row: Mapping[str, Any]) -> tuple[Any, ...]:
        values: list[Any] = []
        try:
            for (name, check, enc, const), fast in zip(plan.steps, plan.fast):
                if const is not _FROM_ROW:
                    values.append(const)
                    continue
                v = row[name]
                if fast is None or not fast(v):
                    v = check([v])[0]
                values.append(v if enc is None or v is None else enc(v))
        except ValueProblem:
            prepare_rows(self.meta, self.conn, [row])  # raises the InsertError
            raise
        return tuple(values)

    def _plan(self, shape: tuple[str, ...], columns: list[str], params: Params) -> Plan:
        backend = self.conn.backend
        given = set(shape)
        steps: list[tuple[str, Any, Any, Any]] = []
        for i, name in enumerate(columns):
            attr = self.meta.by_name[name]
            if name in given:
                check = column_checker(attr.type, attr.nullable and not attr.in_key)
                steps.append((name, check, backend.encoder(attr.type), _FROM_ROW))
            else:
                steps.append((name, None, None, params[0][i]))
        missing = [n for n in self.key_names if n not in columns]
        positions = None if missing else tuple(columns.index(n) for n in self.key_names)
        sized = tuple(i for i, c in enumerate(columns) if self.meta.by_name[c].type.kind in _SIZED)
        fast = tuple(_accept(self.meta.by_name[c].type) if s[3] is _FROM_ROW else None for c, s in zip(columns, steps))
        return Plan(tuple(columns), tuple(steps), positions, sized, fast)
