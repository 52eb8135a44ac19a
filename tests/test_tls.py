"""TLS to MySQL/MariaDB (``tls`` and ``tls_ca`` URL options), against real servers with and
without TLS; the certificates are made by ``openssl`` for the test."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from mariadb import server_binary, throwaway_server

from relflow_gen.runtime.backends import tls
from relflow_gen.runtime.engine.connection import Connection, parse_url
from relflow_gen.runtime.errors import ConnectError, UrlError

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _authority(d: Path, name: str) -> None:
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout", f"{name}.key",
        "-out", f"{name}.pem", "-subj", f"/CN=relflow test {name}",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=d,
    )  # fmt: skip


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("openssl") is None:
        if IN_CI:
            pytest.fail("CI=true but openssl is not installed")
        pytest.skip("openssl is not installed")
    d = tmp_path_factory.mktemp("tls")
    _authority(d, "ca")
    _authority(d, "other")
    (d / "server.ext").write_text(
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n"
    )
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=127.0.0.1", cwd=d)  # fmt: skip
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-days", "2", "-out", "server.pem", "-extfile", "server.ext", cwd=d)  # fmt: skip
    return d


@pytest.fixture(scope="module")
def tls_server(certs: Path) -> Iterator[str]:
    if server_binary() is None:
        if IN_CI:
            pytest.fail("CI=true but no mariadbd/mysqld binary is installed")
        pytest.skip("no mariadbd/mysqld binary on this machine")
    with throwaway_server(
        f"--ssl-ca={certs / 'ca.pem'}", f"--ssl-cert={certs / 'server.pem'}", f"--ssl-key={certs / 'server.key'}"
    ) as url:
        yield url


def cipher(url: str) -> str:
    conn = Connection(url)
    try:
        rows = conn.query("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        return str(rows[0][1]) if rows else ""
    finally:
        conn.close()


def test_a_server_on_this_machine_is_reached_without_tls_unless_asked(tls_server: str) -> None:
    assert cipher(tls_server) == ""  # loopback: off by default, no certificates loaded
    assert cipher(tls_server + "?tls=off") == ""
    assert cipher(tls_server + "?tls=preferred") != ""


def test_required_and_verified_tls(tls_server: str, certs: Path) -> None:
    assert cipher(tls_server + "?tls=required") != ""
    assert cipher(f"{tls_server}?tls=verify&tls_ca={certs / 'ca.pem'}") != ""
    assert cipher(f"{tls_server}?tls_ca={certs / 'ca.pem'}") != ""  # tls_ca implies verify


def test_a_certificate_from_another_authority_is_refused(tls_server: str, certs: Path) -> None:
    with pytest.raises(ConnectError, match="CERTIFICATE_VERIFY_FAILED") as err:
        cipher(f"{tls_server}?tls=verify&tls_ca={certs / 'other.pem'}")
    assert "cannot connect to mysql://root@127.0.0.1" in str(err.value)
    with pytest.raises(ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        cipher(f"{tls_server}?tls=verify")  # the system's authorities do not know the test's


def test_required_tls_against_a_server_without_it_is_refused(mysql_server_url: str) -> None:
    with pytest.raises(ConnectError, match="(?i)ssl|tls"):
        cipher(mysql_server_url + "?tls=required")
    assert cipher(mysql_server_url + "?tls=preferred") == ""  # preferred falls back to plain TCP


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("tls=yes", "tls='yes' is not a TLS mode: use one of off, preferred, required, verify"),
        ("tls=required&tls_ca=/x.pem", "tls_ca= .* needs tls=verify, not tls=required"),
    ],
)
def test_bad_tls_options_are_url_errors(query: str, message: str) -> None:
    with pytest.raises(UrlError, match=message) as err:
        parse_url(f"mysql://alice:s3cret@db.example.org/?{query}")
    assert "s3cret" not in str(err.value)


@pytest.mark.parametrize(
    ("host", "options", "mode"),
    [
        ("127.0.0.1", (), "off"),
        ("127.0.1.1", (), "off"),
        ("localhost", (), "off"),
        ("::1", (), "off"),
        ("db.example.org", (), "preferred"),
        ("10.0.0.5", (), "preferred"),
        ("127.0.0.1", (("tls", "required"),), "required"),
        ("db.example.org", (("tls_ca", "/ca.pem"),), "verify"),
    ],
)
def test_the_mode_by_default_follows_where_the_server_is(
    host: str, options: tuple[tuple[str, str], ...], mode: str
) -> None:
    assert tls.mode_for(host, options) == mode
