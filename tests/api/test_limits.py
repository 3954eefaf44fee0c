"""Connection limits and slow-client timeouts (configured low for the test)."""

import socket
import ssl
import time

from conftest import assert_status

DAEMON_CONF = {"connection_timeout_seconds": 2, "per_ip_connection_limit": 3}


def tls_connect(daemon):
    ctx = ssl.create_default_context(cafile=daemon.ca_cert)
    raw = socket.create_connection(("127.0.0.1", daemon.port), timeout=10)
    return ctx.wrap_socket(raw, server_hostname="localhost")


def closed_by_peer(sock, wait):
    """True when the server closes the connection within `wait` seconds."""
    sock.settimeout(wait)
    try:
        return sock.recv(1) == b""
    except (ConnectionResetError, ssl.SSLError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def test_slow_client_is_dropped(daemon):
    s = tls_connect(daemon)
    s.sendall(b"GET /v1/sys/health HTTP/1.1\r\nHost: localhost\r\n")  # headers never finished
    started = time.monotonic()
    assert closed_by_peer(s, 10), "a client that never finishes its request must be dropped"
    assert time.monotonic() - started < 9
    s.close()
    daemon.health_ok()


def test_idle_keepalive_is_dropped(daemon):
    s = tls_connect(daemon)
    try:
        s.sendall(b"GET /v1/sys/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            data += s.recv(4096)
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length")))
        while len(body) < length:
            body += s.recv(4096)
        # the connection stays open for keep-alive, then the idle timeout closes it
        assert closed_by_peer(s, 10)
    finally:
        s.close()


def test_per_ip_connection_limit(daemon):
    time.sleep(0.5)  # connections of earlier tests are gone
    held = [tls_connect(daemon) for _ in range(3)]
    try:
        refused = False
        try:
            extra = tls_connect(daemon)
            extra.sendall(b"GET /v1/sys/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            refused = closed_by_peer(extra, 5)
            extra.close()
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError, socket.timeout):
            refused = True
        assert refused, "a fourth concurrent connection from one address must be refused"
    finally:
        for s in held:
            s.close()
    time.sleep(0.3)
    assert_status(daemon.client().get("/v1/sys/health"), 200)
