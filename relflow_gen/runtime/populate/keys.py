"""Keys of make() calls: canonical JSON, the hash the jobs table is keyed by, and back.

A key is identified in the jobs table by ``md5`` of its canonical JSON: a JSON
object with the primary-key attributes in primary-key order, compact
separators, and values in a canonical spelling (dates, times and datetimes as
ISO-8601, decimals as their exact text at the attribute's scale, UUIDs in
their hyphenated form, numpy scalars as Python numbers).  Values are first
canonicalised by the attribute's type, so ``{"day": "2024-01-05"}`` and
``{"day": datetime.date(2024, 1, 5)}`` hash alike.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from relflow_gen.core.meta import TableMeta
from relflow_gen.runtime.engine.codec import ValueProblem, check_value
from relflow_gen.runtime.errors import QueryError


def _plain(value: Any) -> Any:
    """The JSON spelling of a canonical key value."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    item = getattr(value, "item", None)  # numpy scalar
    if callable(item):
        return _plain(item())
    return str(value)


def key_json(key: Mapping[str, Any], names: Sequence[str]) -> str:
    """Canonical JSON of a key whose values are already canonical (as fetched)."""
    return json.dumps({n: _plain(key[n]) for n in names}, separators=(",", ":"), ensure_ascii=False)


class KeyText:
    """:func:`key_json` made fast for one list of names (same text, built by hand for ints and strings)."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)
        self.prefixes = [("," if i else "{") + json.dumps(n, ensure_ascii=False) + ":" for i, n in enumerate(names)]

    def __call__(self, key: Mapping[str, Any]) -> str:
        parts = []
        for prefix, name in zip(self.prefixes, self.names):
            v = key[name]
            t = type(v)
            if t is int:
                parts.append(prefix + str(v))
            elif t is str:
                parts.append(prefix + _dumps(v))
            else:
                parts.append(prefix + _dumps(_plain(v)))
        return "".join(parts) + "}" if parts else "{}"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def hash_json(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def key_hash(key: Mapping[str, Any], names: Sequence[str]) -> str:
    """The jobs-table hash of a key (values already canonical)."""
    return hash_json(key_json(key, names))


def canonical_key(meta: TableMeta, key: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """A key given by a person (strings for dates, ...) canonicalised by the table's types."""
    out: dict[str, Any] = {}
    for n in names:
        if n not in key:
            raise QueryError(f"the key of {meta.full_name} needs `{n}` (its key attributes: {', '.join(names)})")
        attr = meta.by_name.get(n)
        if attr is None:
            out[n] = key[n]
            continue
        try:
            out[n] = check_value(attr.type, False, key[n])
        except ValueProblem as exc:
            raise QueryError(f"key value for `{n}` {exc.message}") from None
    return out


def key_from_json(meta: TableMeta, text: str) -> dict[str, Any]:
    """The key a jobs row stands for, with values of the attributes' Python types."""
    raw = json.loads(text)
    if not isinstance(raw, dict):
        return {}
    out: dict[str, Any] = {}
    for name, value in raw.items():
        attr = meta.by_name.get(name)
        if attr is None or value is None:
            out[name] = value
            continue
        kind = attr.type.kind
        if kind == "date":
            out[name] = dt.date.fromisoformat(value)
        elif kind == "datetime":
            out[name] = dt.datetime.fromisoformat(value)
        elif kind == "time":
            out[name] = dt.time.fromisoformat(value)
        elif kind == "decimal":
            out[name] = decimal.Decimal(value)
        elif kind == "uuid":
            out[name] = uuid.UUID(value)
        elif kind == "bytes":
            out[name] = bytes.fromhex(value)
        else:
            out[name] = value
    return out
