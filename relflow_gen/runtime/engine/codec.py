"""Validation and canonicalisation of attribute values, a column at a time.

:func:`column_checker` returns, for one attribute type, a function that takes
the list of values of a column and returns the list of canonical Python values
(ints for ints, ``datetime.date`` for dates, encoded bytes for blobs ...), or
raises :class:`ValueProblem` naming the first bad row.  Columns are checked in
bulk with C-level fast paths (``set(map(type, col))``, ``max(map(len, col))``)
and fall back to a per-value check only when the fast path does not apply, so
validation costs little next to the database work.  Backend-specific
conversion for the driver happens afterwards (:meth:`Backend.encoder`).
"""

from __future__ import annotations

import array
import datetime as dt
import decimal
import functools
import json
import math
import re
import struct
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from relflow_gen.core.errors import RelflowError
from relflow_gen.core.types import TypeSpec
from relflow_gen.runtime import blob
from relflow_gen.runtime.errors import StoredValueError
from relflow_gen.runtime.stores.refs import Stored
from relflow_gen.runtime.stores.registry import StoreValueError, attachment_bytes

Column = list[Any]
Checker = Callable[[Column], Column]

_NoneType = type(None)


class ValueProblem(RelflowError):
    """A value that does not fit its attribute; ``index`` is its row in the batch."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index
        self.message = message


def _describe(value: object) -> str:
    try:
        text = repr(value)
    except RecursionError:  # a structure nested thousands deep
        return f"a {type(value).__name__} nested too deeply to show"
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


_CONVERSION_ERRORS: tuple[type[BaseException], ...] = (ValueError, TypeError, OverflowError, ArithmeticError)


def _per_value(
    convert: Callable[[Any], Any], nullable: bool, errors: tuple[type[BaseException], ...] = _CONVERSION_ERRORS
) -> Checker:
    """Build a checker from a per-value conversion that raises one of ``errors`` for a bad value."""

    def check(col: Column) -> Column:
        out: Column = []
        for i, v in enumerate(col):
            if v is None:
                if not nullable:
                    raise ValueProblem(i, "is None but the attribute is not nullable")
                out.append(None)
                continue
            try:
                out.append(convert(v))
            except errors as exc:
                raise ValueProblem(i, f"{_describe(v)}: {exc}") from None
        return out

    return check


def _null_ok(col: Column, nullable: bool, types: set[type]) -> bool:
    if _NoneType in types:
        if not nullable:
            raise ValueProblem(col.index(None), "is None but the attribute is not nullable")
        types.discard(_NoneType)
    return True


# ---------------------------------------------------------------- ints / floats


def _int_checker(spec: TypeSpec, nullable: bool) -> Checker:
    lo, hi = spec.info.int_range or (-(2**63), 2**64 - 1)

    def convert(v: Any) -> int:
        if isinstance(v, bool) or not _is_integral(v):
            raise TypeError(f"expected an integer for {spec.render()}")
        n = int(v)
        if not lo <= n <= hi:
            raise ValueError(f"out of range for {spec.render()} ({lo}..{hi})")
        return n

    slow = _per_value(convert, nullable)

    def check(col: Column) -> Column:
        types = set(map(type, col))
        _null_ok(col, nullable, types)
        if types <= {int}:
            present = [v for v in col if v is not None] if nullable else col
            if not present or (lo <= min(present) and max(present) <= hi):
                return col
        return slow(col)

    return check


def _is_integral(v: Any) -> bool:
    if isinstance(v, int):
        return True
    integer = getattr(v, "dtype", None)
    if integer is not None and getattr(integer, "kind", "") in "iu" and getattr(v, "ndim", 1) == 0:
        return True
    return False


def _float_checker(spec: TypeSpec, nullable: bool) -> Checker:
    single = spec.name == "float32"

    def convert(v: Any) -> float | None:
        if isinstance(v, bool) or isinstance(v, (str, bytes)):
            raise TypeError("expected a number")
        f = float(v)
        if math.isnan(f):
            if nullable:
                return None
            raise ValueError("NaN is not allowed in a non-nullable attribute (declare it `= null`)")
        if math.isinf(f):
            raise ValueError("infinite values cannot be stored")
        if single:
            try:
                return float(_F32.unpack(_F32.pack(f))[0])  # rounded to the nearest float32
            except OverflowError:
                raise ValueError("out of range for float32") from None
        return f

    slow = _per_value(convert, nullable)

    def check(col: Column) -> Column:
        if single:
            return _float32_column(col, nullable) or slow(col)
        types = set(map(type, col))
        _null_ok(col, nullable, types)
        if types <= {float, int} and int not in types:
            present = [v for v in col if v is not None] if nullable else col
            if present and math.isfinite(sum(present)):
                return col
            if not present:
                return col
        return slow(col)

    return check


_F32 = struct.Struct("<f")


def _float32_column(col: Column, nullable: bool) -> Column | None:
    """A column of floats rounded to float32 at once (None: the per-value check decides)."""
    types = set(map(type, col))
    _null_ok(col, nullable, types)
    if not types <= {float, int} or not col:
        return None
    present = [v for v in col if v is not None] if nullable else col
    try:
        rounded: Column = array.array("f", present).tolist()  # C's double -> float, round to nearest
    except (OverflowError, TypeError):
        return None
    if not all(map(math.isfinite, rounded)):  # NaN, infinity or out of range: the per-value check says which
        return None
    if len(present) == len(col):
        return rounded
    it = iter(rounded)
    return [None if v is None else next(it) for v in col]


def _bool_checker(spec: TypeSpec, nullable: bool) -> Checker:
    def convert(v: Any) -> bool:
        if isinstance(v, bool):
            return v
        if _is_integral(v) and int(v) in (0, 1):
            return bool(int(v))
        if type(v).__name__ == "bool_":
            return bool(v)
        raise TypeError("expected True or False")

    slow = _per_value(convert, nullable)

    def check(col: Column) -> Column:
        types = set(map(type, col))
        _null_ok(col, nullable, types)
        if types <= {bool}:
            return col
        return slow(col)

    return check


#: enough digits for decimal(65, 30), the largest decimal type (the default context has 28)
DECIMAL_CONTEXT = decimal.Context(prec=80, Emax=999, Emin=-999)


def _decimal_checker(spec: TypeSpec, nullable: bool) -> Checker:
    p, s = int(spec.args[0]), int(spec.args[1])
    quantum = decimal.Decimal(1).scaleb(-s)
    limit = decimal.Decimal(10) ** (p - s)

    def convert(v: Any) -> decimal.Decimal:
        try:
            with decimal.localcontext(DECIMAL_CONTEXT):
                return checked(v)
        except decimal.InvalidOperation:
            raise ValueError(f"is not a number that fits decimal({p},{s})") from None

    def checked(v: Any) -> decimal.Decimal:
        if isinstance(v, bool):
            raise TypeError("expected a decimal number")
        if isinstance(v, decimal.Decimal):
            d = v
            if not d.is_finite():
                raise ValueError("not a finite number")
            if d != d.quantize(quantum, rounding=decimal.ROUND_HALF_EVEN):
                raise ValueError(f"has more than {s} decimal places")
        elif isinstance(v, (int, str)) or _is_integral(v):
            d = decimal.Decimal(v if isinstance(v, str) else int(v))
            if not d.is_finite() or d != d.quantize(quantum):
                raise ValueError(f"has more than {s} decimal places" if d.is_finite() else "not a finite number")
        elif isinstance(v, float) or hasattr(v, "__float__"):
            f = float(v)
            if not math.isfinite(f):
                raise ValueError("not a finite number")
            d = decimal.Decimal(repr(f))
        else:
            raise TypeError("expected a decimal number")
        d = d.quantize(quantum, rounding=decimal.ROUND_HALF_EVEN)
        if abs(d) >= limit:
            raise ValueError(f"does not fit decimal({p},{s})")
        return d

    return _per_value(convert, nullable)


# ---------------------------------------------------------------- strings


#: MySQL's TEXT holds 65 535 bytes; the limit applies on every backend
TEXT_BYTES = 65535


def _encodable(values: list[str]) -> bool:
    """Whether the strings are valid Unicode (no lone surrogates), checked in one call."""
    try:
        "".join(values).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _str_checker(spec: TypeSpec, nullable: bool) -> Checker:
    limit = int(spec.args[0]) if spec.args else None
    is_char = spec.name == "char"

    def convert(v: Any) -> str:
        if not isinstance(v, str):
            raise TypeError("expected a string")
        if limit is not None and len(v) > limit:
            raise ValueError(f"is {len(v)} characters long; {spec.render()} allows {limit}")
        try:
            size = len(v.encode("utf-8"))
        except UnicodeEncodeError:
            raise ValueError("is not valid Unicode text (it holds a lone surrogate)") from None
        if limit is None and size > TEXT_BYTES:
            raise ValueError(f"is {size} bytes long in UTF-8; {spec.render()} allows {TEXT_BYTES}")
        return v.rstrip(" ") if is_char else v

    slow = _per_value(convert, nullable)

    def check(col: Column) -> Column:
        types = set(map(type, col))
        _null_ok(col, nullable, types)
        if types <= {str} and not is_char:
            present = [v for v in col if v is not None] if nullable else col
            if not present:
                return col
            longest = max(map(len, present))
            # a character takes at most 4 bytes in UTF-8: short texts cannot exceed TEXT_BYTES
            if longest <= (limit if limit is not None else TEXT_BYTES // 4) and _encodable(present):
                return col
        return slow(col)

    return check


def _enum_checker(spec: TypeSpec, nullable: bool) -> Checker:
    allowed = frozenset(str(a) for a in spec.args)
    shown = ", ".join(repr(str(a)) for a in spec.args)

    def convert(v: Any) -> str:
        if not isinstance(v, str):
            raise TypeError(f"expected one of {shown}")
        if v not in allowed:
            raise ValueError(f"is not one of {shown}")
        return v

    slow = _per_value(convert, nullable)

    def check(col: Column) -> Column:
        values = set(col)
        if None in values:
            if not nullable:
                raise ValueProblem(col.index(None), "is None but the attribute is not nullable")
            values.discard(None)
        if values <= allowed and all(type(v) is str for v in values):
            return col
        return slow(col)

    return check


# ---------------------------------------------------------------- dates and times


def _date(v: Any) -> dt.date:
    if isinstance(v, dt.datetime):
        raise TypeError("expected a date, not a datetime")
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str):
        return dt.date.fromisoformat(v.strip())
    if type(v).__name__ == "datetime64":
        return dt.date.fromisoformat(str(v)[:10])
    raise TypeError("expected a datetime.date or an ISO date string")


def _truncate(micro: int, fsp: int) -> int:
    unit: int = 10 ** (6 - fsp)
    return micro - micro % unit


#: the range of MySQL's TIMESTAMP (seconds since 1970 in 32 bits), enforced on every backend
TIMESTAMP_MIN = dt.datetime(1970, 1, 1, 0, 0, 1)
TIMESTAMP_MAX = dt.datetime(2038, 1, 19, 3, 14, 7, 999999)


def _timestamp(fsp: int) -> Callable[[Any], dt.datetime]:
    convert_datetime = _datetime(fsp)

    def convert(v: Any) -> dt.datetime:
        value = convert_datetime(v)
        if not TIMESTAMP_MIN <= value <= TIMESTAMP_MAX:
            raise ValueError(
                "is outside the timestamp range 1970-01-01 00:00:01 .. 2038-01-19 03:14:07 (UTC); use datetime"
            )
        return value

    return convert


def _datetime(fsp: int) -> Callable[[Any], dt.datetime]:
    def convert(v: Any) -> dt.datetime:
        if isinstance(v, str):
            v = dt.datetime.fromisoformat(v.strip())
        elif not isinstance(v, dt.datetime):
            if hasattr(v, "to_pydatetime"):
                v = v.to_pydatetime()
            elif type(v).__name__ == "datetime64":
                v = dt.datetime.fromisoformat(str(v.astype("datetime64[us]")))
            elif isinstance(v, dt.date):
                raise TypeError("expected a datetime, not a date")
            else:
                raise TypeError("expected a datetime.datetime or an ISO string")
        assert isinstance(v, dt.datetime)
        if v.tzinfo is not None:
            raise ValueError("timezone-aware datetimes are not stored; convert to naive UTC first")
        return v.replace(microsecond=_truncate(v.microsecond, fsp)) if fsp < 6 else v

    return convert


def _time(fsp: int) -> Callable[[Any], dt.time]:
    def convert(v: Any) -> dt.time:
        t: dt.time
        if isinstance(v, str):
            t = dt.time.fromisoformat(v.strip())
        elif isinstance(v, dt.timedelta):
            total = v.total_seconds()
            if not 0 <= total < 86400:
                raise ValueError("a time of day must be within 00:00:00 and 23:59:59.999999")
            t = (dt.datetime.min + v).time()
        elif isinstance(v, dt.time):
            t = v
        else:
            raise TypeError("expected a datetime.time or an ISO time string")
        if t.tzinfo is not None:
            raise ValueError("timezone-aware times are not stored")
        return t.replace(microsecond=_truncate(t.microsecond, fsp)) if fsp < 6 else t

    return convert


def _typed(cls: type, convert: Callable[[Any], Any], nullable: bool) -> Checker:
    slow = _per_value(convert, nullable)

    def check(col: Column) -> Column:
        types = set(map(type, col))
        _null_ok(col, nullable, types)
        if types <= {cls} and cls is not dt.datetime and cls is not dt.time:
            return col
        return slow(col)

    return check


# ---------------------------------------------------------------- others


def _uuid(v: Any) -> uuid.UUID:
    if isinstance(v, uuid.UUID):
        return v
    if isinstance(v, str):
        return uuid.UUID(v)
    if isinstance(v, (bytes, bytearray)) and len(v) == 16:
        return uuid.UUID(bytes=bytes(v))
    raise TypeError("expected a uuid.UUID")


def _json(v: Any) -> str:
    try:
        text = json.dumps(v, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_json_default)
    except ValueError as exc:
        raise ValueError(f"not valid JSON: {exc}") from None
    except RecursionError:
        raise ValueError(f"is nested too deeply to store as JSON (at most {MAX_JSON_DEPTH} levels)") from None
    depth = _json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"is nested {depth} levels deep; a json value nests at most {MAX_JSON_DEPTH} levels")
    if not _encodable([text]):
        raise ValueError("is not valid Unicode text (a string holds a lone surrogate)")
    return text


#: MariaDB's JSON_VALID (the CHECK of its json columns) refuses deeper values; the
#: same limit on every backend keeps a value storable wherever the schema runs
MAX_JSON_DEPTH = 31
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def _json_depth(text: str) -> int:
    """How deeply arrays and objects nest in JSON ``text``."""
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return 0  # cannot be too deep (the common case, without a scan)
    depth = deepest = 0
    for ch in _JSON_STRING.sub("", text):
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _json_default(v: Any) -> Any:
    if hasattr(v, "tolist"):
        return v.tolist()
    if isinstance(v, (dt.date, dt.datetime, dt.time)):
        return v.isoformat()
    if isinstance(v, (decimal.Decimal, uuid.UUID)):
        return str(v)
    raise TypeError(f"{type(v).__name__} is not JSON serialisable")


def _bytes(v: Any) -> bytes:
    if isinstance(v, bytes):
        return v
    if isinstance(v, (bytearray, memoryview)):
        return bytes(v)
    raise TypeError("expected bytes")


def _blob(v: Any) -> bytes:
    return blob.encode(v)


def _blob_checker(nullable: bool) -> Checker:
    # None is a value a blob can hold; a nullable blob stores SQL NULL for it.
    def check(col: Column) -> Column:
        out: Column = []
        for i, v in enumerate(col):
            if v is None and nullable:
                out.append(None)
                continue
            try:
                out.append(blob.encode(v))
            except blob.BlobError as exc:
                raise ValueProblem(i, f"cannot be stored in a blob: {exc}") from None
        return out

    return check


def _external_checker(spec: TypeSpec, nullable: bool) -> Checker:
    # values were uploaded by the table layer (Stores.upload) and arrive as references
    kind, store = spec.name[:-1], spec.store

    def check(col: Column) -> Column:
        out: Column = []
        for i, v in enumerate(col):
            if v is None:
                if not nullable:
                    raise ValueProblem(i, "is None but the attribute is not nullable")
                out.append(None)
            elif isinstance(v, Stored) and v.kind == kind and v.store == store:
                out.append(v.to_json())
            else:
                raise ValueProblem(i, f"{_describe(v)} is not a stored {spec.render()} value")
        return out

    return check


@functools.lru_cache(maxsize=1024)
def column_checker(spec: TypeSpec, nullable: bool) -> Checker:
    """The validating/canonicalising function for a column of this type."""
    kind = spec.kind
    if kind == "int":
        return _int_checker(spec, nullable)
    if kind == "float":
        return _float_checker(spec, nullable)
    if kind == "bool":
        return _bool_checker(spec, nullable)
    if kind == "decimal":
        return _decimal_checker(spec, nullable)
    if kind == "str":
        return _str_checker(spec, nullable)
    if kind == "enum":
        return _enum_checker(spec, nullable)
    if kind == "date":
        return _typed(dt.date, _date, nullable)
    if kind == "datetime":
        fsp = int(spec.args[0]) if spec.args else 6
        return _typed(dt.datetime, _timestamp(fsp) if spec.name == "timestamp" else _datetime(fsp), nullable)
    if kind == "time":
        return _typed(dt.time, _time(int(spec.args[0]) if spec.args else 6), nullable)
    if kind == "uuid":
        return _typed(uuid.UUID, _uuid, nullable)
    if kind == "json":
        return _per_value(_json, nullable)
    if kind == "bytes":
        return _typed(bytes, _bytes, nullable)
    if kind == "blob":
        return _blob_checker(nullable)
    if kind == "attach":
        return _per_value(attachment_bytes, nullable, (StoreValueError, OSError))
    if kind == "external":
        return _external_checker(spec, nullable)
    raise AssertionError(f"no checker for kind {kind}")


def load_json(text: str | bytes) -> Any:
    """A stored json value; text that is not JSON raises :class:`StoredValueError`."""
    try:
        return json.loads(text)
    except ValueError as exc:  # json.JSONDecodeError, a bad encoding
        raise StoredValueError(f"is not valid JSON ({exc})") from None
    except RecursionError:
        raise StoredValueError("is not valid JSON (nested too deeply to read)") from None


def decode_rows(
    names: Sequence[str], rows: Sequence[Sequence[Any]], decoders: Sequence[Callable[[Any], Any] | None]
) -> list[dict[str, Any]]:
    """Rows from the driver as dicts, each value decoded by its column's decoder (None: as is).

    Builds the dicts first (``dict(zip(...))`` runs in C) and then decodes only the columns
    that need it, in place; NULL stays None.  This is as fast as a driver's own dict rows.
    """
    out = [dict(zip(names, r)) for r in rows]
    for name, decode in zip(names, decoders):
        if decode is None:
            continue
        try:
            for d in out:
                v = d[name]
                if v is not None:
                    d[name] = decode(v)
        except StoredValueError as exc:
            raise StoredValueError(str(exc), attribute=name, row=d) from None
    return out


def check_value(spec: TypeSpec, nullable: bool, value: object) -> object:
    """Validate one value (for restrictions); raises ValueProblem."""
    return column_checker(spec, nullable)([value])[0]
