"""Store configurations: a name, an fsspec URL and fsspec options; never credentials in files.

A pipeline finds its stores in ``connect(url, stores={...})`` or, when that is
not given, in the ``[tool.relflow-gen.stores.NAME]`` tables of the nearest
``pyproject.toml`` (from the current directory up).  Options are passed to
fsspec as they are (``endpoint_url``, ``client_kwargs``, ``anon`` ...).
Credentials come from the environment or the provider's usual chain (for S3:
``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``, instance
roles); a credential option in ``pyproject.toml`` is refused, and no repr or
message ever shows an option's value.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from relflow_gen.runtime.stores.errors import StoreConfigError

#: option names that carry secrets: accepted from code (a secret manager), refused in pyproject.toml
SECRET_OPTIONS = frozenset(
    {
        "key",
        "secret",
        "token",
        "password",
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "session_token",
        "account_key",
        "sas_token",
        "client_secret",
    }
)

#: options read by relflow itself (not passed to fsspec)
OWN_OPTIONS = frozenset({"url", "refresh_seconds"})


@dataclass(frozen=True)
class StoreConfig:
    """One configured store.  ``options_json`` holds the fsspec options (hidden from reprs)."""

    name: str
    url: str
    options_json: str = "{}"
    refresh_seconds: float = 3600.0

    def __repr__(self) -> str:
        return f"StoreConfig({self.name!r}, {redact(self.url)!r})"

    @property
    def options(self) -> dict[str, Any]:
        value = json.loads(self.options_json)
        assert isinstance(value, dict)
        return value


def redact(url: str) -> str:
    """The URL without user information (``s3://key:secret@bucket`` shows ``s3://bucket``)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def make_config(name: str, spec: str | Mapping[str, Any], *, where: str, allow_secrets: bool) -> StoreConfig:
    """A :class:`StoreConfig` from a URL or a table ``{url = ..., option = ...}``."""
    if isinstance(spec, str):
        spec = {"url": spec}
    if not isinstance(spec, Mapping):
        raise StoreConfigError(f"{where}: store {name!r} must be a URL or a table with `url`")
    url = spec.get("url")
    if not isinstance(url, str) or not url:
        raise StoreConfigError(f"{where}: store {name!r} has no `url` (e.g. url = \"file:///data/raw\")")
    if "://" not in url:
        raise StoreConfigError(
            f"{where}: store {name!r}: {redact(url)!r} is not a URL (use file:///absolute/path or s3://bucket/prefix)"
        )
    if urlsplit(url).password is not None:
        raise StoreConfigError(
            f"{where}: store {name!r}: the URL carries a password; take credentials from the environment"
        )
    options = {k: v for k, v in spec.items() if k not in OWN_OPTIONS}
    secrets = sorted(k for k in options if k.lower() in SECRET_OPTIONS)
    if secrets and not allow_secrets:
        raise StoreConfigError(
            f"{where}: store {name!r} has the credential option(s) {', '.join(secrets)}; credentials come "
            "from the environment or the provider's chain (docs/stores.md), never from a file in the repository"
        )
    refresh = spec.get("refresh_seconds", 3600.0)
    if not isinstance(refresh, (int, float)) or isinstance(refresh, bool) or refresh < 0:
        raise StoreConfigError(f"{where}: store {name!r}: refresh_seconds must be a number >= 0")
    try:
        options_json = json.dumps(options, sort_keys=True)
    except TypeError as exc:
        raise StoreConfigError(f"{where}: store {name!r}: options must be plain values ({exc})") from None
    return StoreConfig(name, url, options_json, float(refresh))


def configs_from(stores: Mapping[str, str | Mapping[str, Any]], *, where: str = "connect(stores=...)") -> tuple[
    StoreConfig, ...
]:
    """Configurations given in code: ``{"raw": "file:///data/raw", "s3": {"url": ..., ...}}``."""
    if not isinstance(stores, Mapping):
        raise StoreConfigError(f"{where}: stores must be a mapping of store name to URL or options")
    return tuple(make_config(str(n), s, where=where, allow_secrets=True) for n, s in sorted(stores.items()))


def find_pyproject(start: Path | None = None) -> Path | None:
    """The nearest ``pyproject.toml`` from ``start`` (the current directory) upwards."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def configs_from_pyproject(path: Path) -> tuple[StoreConfig, ...]:
    """The ``[tool.relflow-gen.stores.NAME]`` tables of a pyproject.toml."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise StoreConfigError(f"{path}: cannot read the store configuration: {exc}") from None
    table = data.get("tool", {}).get("relflow-gen", {}).get("stores", {})
    if not isinstance(table, dict):
        raise StoreConfigError(f"{path}: [tool.relflow-gen.stores] must be a table of stores")
    where = f"{path} [tool.relflow-gen.stores]"
    return tuple(make_config(n, s, where=where, allow_secrets=False) for n, s in sorted(table.items()))
