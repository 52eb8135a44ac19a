"""Does a literal fit a type?  Shared by default checks and lookup contents.

:func:`check_value` answers for any literal (a default or a contents cell);
:func:`check_default` adds what only defaults must obey (the SQL keyword
``CURRENT_TIMESTAMP``; no literal defaults for long types).  Both return a
one-line problem message, or None when the value fits.  ``null`` fits every
type here: whether an attribute may be null is the caller's question.

What fits (docs/diagnostics.md, E0108 and E0113):

- integers: an integer literal inside the type's range;
- floats: any number within the type's finite range;
- ``bool``: ``true``/``false`` or ``0``/``1``;
- ``decimal(p,s)``: a number with at most ``p-s`` digits before the point and
  ``s`` after it;
- ``char(n)``/``varchar(n)``/``text``: a string (at most ``n`` characters);
- ``enum``: one of the listed strings;
- ``date`` ``YYYY-MM-DD``; ``time`` ``HH:MM[:SS[.ffffff]]``; ``datetime`` and
  ``timestamp`` ``YYYY-MM-DD[ HH:MM[:SS[.ffffff]]]`` (``T`` also separates),
  at most ``fsp`` fractional digits; ``timestamp`` within 1970-01-01 00:00:01
  .. 2038-01-19 03:14:07;
- ``uuid``: a string ``uuid.UUID`` accepts;
- ``json``: a number, ``true``/``false`` or a string holding a JSON document;
- ``bytes``: a string (stored UTF-8 encoded); ``blob``: any literal.
"""

from __future__ import annotations

import datetime
import json
import math
import re
import uuid
from decimal import Decimal, InvalidOperation

from relflow_gen.compiler.ir import Value
from relflow_gen.core.types import TypeSpec

FLOAT32_MAX = 3.4028234663852886e38
FLOAT64_MAX = 1.7976931348623157e308

_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_TIME_RE = re.compile(r"^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?$")
_DATETIME_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?$")
_TIMESTAMP_MIN = datetime.datetime(1970, 1, 1, 0, 0, 1)
_TIMESTAMP_MAX = datetime.datetime(2038, 1, 19, 3, 14, 7)

#: Types whose column cannot have a literal default in MySQL.
NO_LITERAL_DEFAULT = ("text", "json", "bytes", "blob")


def describe(value: Value) -> str:
    """How a value is quoted in messages: ``"abc"``, ``12``, ``true``."""
    text = value.text if len(value.text) <= 40 else value.text[:37] + "..."
    return f"`{text}`"


def check_value(spec: TypeSpec, value: Value) -> str | None:
    """Why ``value`` does not fit ``spec``, or None when it does."""
    if value.kind == "null":
        return None
    if value.kind == "keyword":
        if spec.kind == "datetime":
            return None
        return f"{describe(value)} is only a default for datetime or timestamp attributes"
    kind = spec.kind
    checker = _CHECKERS.get(kind)
    if checker is None:  # pragma: no cover - every kind of the type table has a checker
        return None
    return checker(spec, value)


def check_default(spec: TypeSpec, value: Value) -> str | None:
    """Why ``value`` cannot be the default of an attribute of type ``spec``."""
    if value.kind == "null":
        return None
    if spec.name in NO_LITERAL_DEFAULT:
        return f"a {spec.name} attribute can only default to null"
    return check_value(spec, value)


def _int(spec: TypeSpec, value: Value) -> str | None:
    if value.kind != "int" or not isinstance(value.value, int) or isinstance(value.value, bool):
        return f"{describe(value)} is not an integer"
    lo, hi = spec.info.int_range or (-(2**63), 2**63 - 1)
    if not lo <= value.value <= hi:
        return f"{describe(value)} is out of range for {spec.render()} ({lo} .. {hi})"
    return None


def _float(spec: TypeSpec, value: Value) -> str | None:
    number = value.value
    if value.kind not in ("int", "float") or isinstance(number, bool) or not isinstance(number, (int, float)):
        return f"{describe(value)} is not a number"
    limit = FLOAT32_MAX if spec.name == "float32" else FLOAT64_MAX
    if isinstance(number, float) and not math.isfinite(number):
        return f"{describe(value)} is out of range for {spec.render()}"
    if abs(number) > limit:
        return f"{describe(value)} is out of range for {spec.render()}"
    return None


def _bool(spec: TypeSpec, value: Value) -> str | None:
    if value.kind == "bool" or (value.kind == "int" and value.value in (0, 1)):
        return None
    return f"{describe(value)} is not a bool (write true or false)"


def _decimal(spec: TypeSpec, value: Value) -> str | None:
    if value.kind not in ("int", "float"):
        return f"{describe(value)} is not a number"
    try:
        number = Decimal(value.text)
    except (InvalidOperation, ValueError):  # pragma: no cover - the grammar only lets numbers through
        return f"{describe(value)} is not a number"
    if not number.is_finite():
        return f"{describe(value)} is not a number"
    precision, scale = int(spec.args[0]), int(spec.args[1])
    int_digits, frac_digits = _digits(number)
    if frac_digits > scale:
        return f"{describe(value)} has {frac_digits} digits after the point; {spec.render()} keeps {scale}"
    if int_digits > precision - scale:
        return (
            f"{describe(value)} has {int_digits} digits before the point; "
            f"{spec.render()} allows {precision - scale}"
        )
    return None


def _digits(number: Decimal) -> tuple[int, int]:
    """Significant digits before and after the point (trailing zeros dropped)."""
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    ds = list(digits)
    while len(ds) > 1 and ds[-1] == 0:
        ds.pop()
        exponent += 1
    if ds == [0]:
        return 0, 0
    return max(0, len(ds) + exponent), max(0, -exponent)


def _str(spec: TypeSpec, value: Value) -> str | None:
    if value.kind != "str" or not isinstance(value.value, str):
        return f"{describe(value)} is not a string (write it in quotes)"
    if spec.args and len(value.value) > int(spec.args[0]):
        return f"{describe(value)} has {len(value.value)} characters; {spec.render()} holds at most {spec.args[0]}"
    return None


def _enum(spec: TypeSpec, value: Value) -> str | None:
    if value.kind == "str" and value.value in spec.args:
        return None
    return f"{describe(value)} is not one of {spec.render()}"


def _date(spec: TypeSpec, value: Value) -> str | None:
    if value.kind != "str" or not isinstance(value.value, str):
        return f'{describe(value)} is not a date; write it as a string "YYYY-MM-DD"'
    m = _DATE_RE.match(value.value)
    if m is None or _real_date(m.group(1), m.group(2), m.group(3)) is None:
        return f'{describe(value)} is not a date "YYYY-MM-DD"'
    return None


def _time(spec: TypeSpec, value: Value) -> str | None:
    if value.kind != "str" or not isinstance(value.value, str):
        return f'{describe(value)} is not a time; write it as a string "HH:MM:SS"'
    m = _TIME_RE.match(value.value)
    if m is None or _real_time(m.group(1), m.group(2), m.group(3)) is None:
        return f'{describe(value)} is not a time of day "HH:MM:SS[.ffffff]"'
    return _fsp(spec, value, m.group(4))


def _datetime(spec: TypeSpec, value: Value) -> str | None:
    if value.kind != "str" or not isinstance(value.value, str):
        return f'{describe(value)} is not a date and time; write it as a string "YYYY-MM-DD HH:MM:SS"'
    m = _DATETIME_RE.match(value.value)
    day = _real_date(m.group(1), m.group(2), m.group(3)) if m is not None else None
    clock = _real_time(m.group(4) or "0", m.group(5) or "0", m.group(6)) if m is not None else None
    if m is None or day is None or clock is None:
        return f'{describe(value)} is not a date and time "YYYY-MM-DD HH:MM:SS[.ffffff]"'
    if spec.name == "timestamp":
        moment = datetime.datetime.combine(day, clock)
        if not _TIMESTAMP_MIN <= moment <= _TIMESTAMP_MAX:
            return f"{describe(value)} is outside the timestamp range 1970-01-01 00:00:01 .. 2038-01-19 03:14:07"
    return _fsp(spec, value, m.group(7))


def _fsp(spec: TypeSpec, value: Value, fraction: str | None) -> str | None:
    fsp = int(spec.args[0]) if spec.args else 0
    if fraction is not None and len(fraction.rstrip("0")) > fsp:
        return f"{describe(value)} has more fractional-second digits than {spec.render()} keeps ({fsp})"
    return None


def _real_date(y: str, m: str, d: str) -> datetime.date | None:
    try:
        return datetime.date(int(y), int(m), int(d))
    except ValueError:
        return None


def _real_time(h: str, m: str, s: str | None) -> datetime.time | None:
    try:
        return datetime.time(int(h), int(m), int(s or "0"))
    except ValueError:
        return None


def _uuid(spec: TypeSpec, value: Value) -> str | None:
    if value.kind == "str" and isinstance(value.value, str):
        try:
            uuid.UUID(value.value)
            return None
        except ValueError:
            pass
    return f'{describe(value)} is not a UUID string such as "123e4567-e89b-12d3-a456-426614174000"'


def _json(spec: TypeSpec, value: Value) -> str | None:
    if value.kind in ("int", "float", "bool"):
        return None
    if isinstance(value.value, str):
        try:
            json.loads(value.value)
            return None
        except (ValueError, RecursionError):
            return f"{describe(value)} is not a JSON document"
    return f"{describe(value)} is not a JSON value"  # pragma: no cover - kinds above are exhaustive


def _bytes(spec: TypeSpec, value: Value) -> str | None:
    if value.kind == "str":
        return None
    return f"{describe(value)} is not a string; bytes values are written as strings (stored UTF-8 encoded)"


def _blob(spec: TypeSpec, value: Value) -> str | None:
    return None


_CHECKERS = {
    "int": _int,
    "float": _float,
    "bool": _bool,
    "decimal": _decimal,
    "str": _str,
    "enum": _enum,
    "date": _date,
    "time": _time,
    "datetime": _datetime,
    "uuid": _uuid,
    "json": _json,
    "bytes": _bytes,
    "blob": _blob,
}


def comparable(spec: TypeSpec, value: Value) -> object:
    """A form of a fitting value that compares equal when the database would.

    Numbers compare by value (``1`` and ``1.0``), uuids by their bytes, dates
    and times by what they denote; everything else by its Python value.
    """
    if value.kind == "null":
        return None
    kind = spec.kind
    if kind in ("int", "float", "decimal") and value.kind in ("int", "float"):
        try:
            return Decimal(value.text)
        except (InvalidOperation, ValueError):  # pragma: no cover - numbers always parse
            return (value.kind, value.value)
    if kind == "bool":
        return bool(value.value)
    if isinstance(value.value, str):
        if kind == "uuid":
            try:
                return uuid.UUID(value.value)
            except ValueError:
                pass
        moment = _temporal(kind, value.value)
        if moment is not None:
            return moment
    return (value.kind, value.value)


def _temporal(kind: str, text: str) -> object | None:
    if kind == "date":
        m = _DATE_RE.match(text)
        return _real_date(*m.groups()) if m else None
    if kind == "time":
        m = _TIME_RE.match(text)
        clock = _real_time(m.group(1), m.group(2), m.group(3)) if m else None
        return (clock, _micros(m.group(4))) if m and clock else None
    if kind == "datetime":
        m = _DATETIME_RE.match(text)
        if m is None:
            return None
        day = _real_date(m.group(1), m.group(2), m.group(3))
        clock = _real_time(m.group(4) or "0", m.group(5) or "0", m.group(6))
        return (day, clock, _micros(m.group(7))) if day and clock else None
    return None


def _micros(fraction: str | None) -> int:
    return int((fraction or "0").ljust(6, "0")[:6])
