"""TLS between a worker and a MySQL/MariaDB server: the ``tls`` and ``tls_ca`` URL options.

* ``tls=off``: plain TCP. The default for a server on this machine (``127.x.x.x``, ``::1``,
  ``localhost``), whose traffic never leaves it: TLS would protect nothing there, and setting
  it up costs each connection about 20 ms (loading the system's certificates).
* ``tls=preferred``: TLS when the server offers it, without checking its certificate (pymysql's
  own default). The default for every other host.
* ``tls=required``: TLS or no connection; the certificate is not checked.
* ``tls=verify``: TLS with the server's certificate and host name checked, against the
  system's certificate authorities or the one in ``tls_ca=/path/ca.pem`` (which implies it).

The SSL context of ``required`` and ``verify`` is made once per process and shared.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from relflow_gen.core.lazy import lazy_module

if TYPE_CHECKING:
    import ipaddress
    import ssl
else:  # only a MySQL connection needs them (the URL check does not; SQLite never)
    ipaddress = lazy_module("ipaddress")
    ssl = lazy_module("ssl")

MODES = ("off", "preferred", "required", "verify")


def option_problem(options: Sequence[tuple[str, str]]) -> str | None:
    """What is wrong with the URL's TLS options, or None."""
    given = dict(options)
    mode = given.get("tls")
    if mode is not None and mode not in MODES:
        return f"tls={mode!r} is not a TLS mode: use one of {', '.join(MODES)}"
    if given.get("tls_ca") is not None and mode not in (None, "verify"):
        return f"tls_ca= names the authority that verifies the server's certificate: it needs tls=verify, not tls={mode}"
    return None


def mode_for(host: str, options: Sequence[tuple[str, str]]) -> str:
    """The TLS mode of a connection: the URL's, else by where the server is."""
    given = dict(options)
    if "tls" in given:
        return given["tls"]
    if given.get("tls_ca"):
        return "verify"
    return "off" if is_loopback(host) else "preferred"


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def driver_arguments(host: str, options: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The keyword arguments of ``pymysql.connect`` for the connection's TLS mode."""
    mode = mode_for(host, options)
    if mode == "off":
        return {"ssl_disabled": True}
    if mode == "required":
        return {"ssl": _context(None, verify=False)}  # a context makes pymysql require TLS
    if mode == "verify":
        return {"ssl": _context(dict(options).get("tls_ca") or None, verify=True)}
    return {}  # preferred: pymysql's default


@functools.cache
def _context(ca: str | None, *, verify: bool) -> ssl.SSLContext:
    if not verify:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    ctx = ssl.create_default_context(cafile=ca)
    # the certificates MySQL and MariaDB generate for themselves fail the strict X.509 checks
    # Python 3.13 turns on; the chain and the host name are still verified
    ctx.verify_flags &= ~ssl.VERIFY_X509_STRICT
    return ctx
