"""HTTPS only: no plain HTTP answer, TLS 1.2 and 1.3 accepted, TLS 1.1 refused."""

import socket
import ssl

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _ctx(daemon, version, seclevel0=False):
    ctx = ssl.create_default_context(cafile=daemon.ca_cert)
    ctx.minimum_version = version
    ctx.maximum_version = version
    if seclevel0:
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    return ctx


def _https_get(daemon, ctx):
    with socket.create_connection(("127.0.0.1", daemon.port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            s.sendall(b"GET /v1/sys/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            return s.version(), data


def test_plain_http_gets_no_http_answer(daemon):
    with socket.create_connection(("127.0.0.1", daemon.port), timeout=10) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        try:
            while len(data) < 64:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except (ConnectionResetError, socket.timeout):
            pass
    assert not data.startswith(b"HTTP/"), data[:200]
    if data:
        # a TLS alert record (content type 21) is the only acceptable answer
        assert data[0] == 0x15, data[:32]
    daemon.health_ok()


@pytest.mark.parametrize("version,name", [
    (ssl.TLSVersion.TLSv1_2, "TLSv1.2"),
    (ssl.TLSVersion.TLSv1_3, "TLSv1.3"),
])
def test_tls_12_and_13_accepted(daemon, version, name):
    got, data = _https_get(daemon, _ctx(daemon, version))
    assert got == name
    assert data.startswith(b"HTTP/1.1 200"), data[:200]
    assert b'"status":"ok"' in data.replace(b" ", b"")


def test_tls_11_refused(daemon):
    try:
        ctx = _ctx(daemon, ssl.TLSVersion.TLSv1_1, seclevel0=True)
    except (ssl.SSLError, ValueError) as e:
        pytest.skip(f"this OpenSSL cannot offer TLS 1.1: {e}")
    with socket.create_connection(("127.0.0.1", daemon.port), timeout=10) as raw:
        with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError)) as ei:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                s.version()
    if isinstance(ei.value, ssl.SSLError) and "NO_PROTOCOLS_AVAILABLE" in str(ei.value).upper():
        pytest.skip("the client could not offer TLS 1.1, so the server's refusal is not exercised")
    daemon.health_ok()


def test_tls_10_refused(daemon):
    try:
        ctx = _ctx(daemon, ssl.TLSVersion.TLSv1, seclevel0=True)
    except (ssl.SSLError, ValueError) as e:
        pytest.skip(f"this OpenSSL cannot offer TLS 1.0: {e}")
    with socket.create_connection(("127.0.0.1", daemon.port), timeout=10) as raw:
        with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError)) as ei:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                s.version()
    if isinstance(ei.value, ssl.SSLError) and "NO_PROTOCOLS_AVAILABLE" in str(ei.value).upper():
        pytest.skip("the client could not offer TLS 1.0")
    daemon.health_ok()
