"""Bad input gets a precise problem (and never a crash): size caps, strict JSON,
unknown routes and methods, media types."""

import json
import re
import select
import socket
import ssl

import pytest
import requests

from conftest import (assert_problem, records_path, record_fields, next_nid,
                      start_daemon)

LOGIN = "/v1/auth/login"
MIB = 1024 * 1024
PW = "wrong-password-123"


def login_body_padded(size):
    """A valid (wrong-credentials) login body padded with JSON whitespace to exactly size bytes."""
    core = json.dumps({"username": "nobody", "password": PW}).encode()
    assert len(core) <= size
    return core + b" " * (size - len(core))


def test_body_of_exactly_1mib_is_accepted(daemon):
    r = daemon.client().post(LOGIN, data=login_body_padded(MIB))
    assert_problem(r, 401, "invalid-credentials")
    daemon.health_ok()


def _send_body_and_read_answer(daemon, headers, pieces):
    """Sends headers then body pieces over one TLS connection, stopping as soon as the
    daemon answers (a server may answer 413 before reading the body); returns (head, body)."""
    with _raw_tls(daemon) as s:
        s.sendall(headers)
        try:
            for piece in pieces:
                r, _, _ = select.select([s], [], [], 0.02)
                if r:
                    break  # the daemon answered early
                s.sendall(piece)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass
        return _read_response(s)


def _assert_413(head, body):
    assert head.startswith("HTTP/1.1 413"), head[:200] or "connection closed without an answer"
    problem = json.loads(body)
    assert problem["type"] == "urn:coffre:problem:body-too-large"
    assert problem["status"] == 413
    assert re.search(r"(?im)^strict-transport-security: max-age=63072000; includeSubDomains", head)
    assert re.search(r"(?im)^x-request-id: [0-9a-f]{32}\r?$", head)


def test_body_over_1mib_refused(daemon):
    body = login_body_padded(MIB + 1)
    head = (b"POST /v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body))
    _assert_413(*_send_body_and_read_answer(daemon, head, [body[i:i + 65536] for i in range(0, len(body), 65536)]))
    daemon.health_ok()


def test_body_over_1mib_refused_with_expect_continue(daemon):
    """With Expect: 100-continue the 413 comes before any byte of the body is sent."""
    with _raw_tls(daemon) as s:
        s.sendall(b"POST /v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n" % (MIB + 1))
        head, body = _read_response(s)
    _assert_413(head, body)
    daemon.health_ok()


def test_body_over_1mib_refused_plain_client(daemon):
    """An ordinary client that writes the whole body before reading (requests, curl without
    Expect) must still get the 413: the daemon may not reset the connection under it.
    Repeated, because without a lingering close (RFC 9112 section 9.6) the answer is lost
    only most of the time."""
    body = login_body_padded(MIB + 1)
    outcomes = []
    for _ in range(10):
        try:
            r = daemon.client().post(LOGIN, data=body)
            outcomes.append(r.status_code)
            if r.status_code == 413:
                assert_problem(r, 413, "body-too-large")
        except requests.ConnectionError as e:
            outcomes.append(type(e).__name__)
    assert outcomes == [413] * 10, outcomes
    daemon.health_ok()


def _raw_tls(daemon):
    ctx = ssl.create_default_context(cafile=daemon.ca_cert)
    raw = socket.create_connection(("127.0.0.1", daemon.port), timeout=30)
    return ctx.wrap_socket(raw, server_hostname="127.0.0.1")


def _read_response(s):
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        want = int(m.group(1)) if m else 0
        while len(rest) < want:
            chunk = s.recv(65536)
            if not chunk:
                break
            rest += chunk
        return head.decode("latin-1"), rest
    except (ssl.SSLError, OSError):
        return data.decode("latin-1"), b""


def test_chunked_body_over_1mib_refused(daemon):
    """No Content-Length: the cap applies while reading; the answer is still a 413 problem."""
    head = (b"POST /v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    payload = b'{"username":"nobody","password":"' + b"x" * (MIB + 10) + b'"}'
    pieces = [payload[i:i + 65536] for i in range(0, len(payload), 65536)]
    chunks = [b"%x\r\n" % len(p) + p + b"\r\n" for p in pieces] + [b"0\r\n\r\n"]
    _assert_413(*_send_body_and_read_answer(daemon, head, chunks))
    daemon.health_ok()


@pytest.mark.parametrize("body,slug", [
    (b'{"username":', "malformed-json"),
    (b"not json", "malformed-json"),
    (b"", "malformed-json"),
    (b'{"username":"a","password":"' + PW.encode() + b'"} trailing', "malformed-json"),
    (b'{"username":"\xff\xfe","password":"' + PW.encode() + b'"}', "malformed-json"),
    (b'{"username":"a\\u0000b","password":"' + PW.encode() + b'"}', "malformed-json"),
    (b'{"username":"a","username":"b","password":"' + PW.encode() + b'"}', "duplicate-key"),
    (b'{"username":"a","password":"' + PW.encode() + b'","extra":1}', "unknown-key"),
    (b'{"username":1,"password":"' + PW.encode() + b'"}', "wrong-type"),
    (b'{"username":"a","password":true}', "wrong-type"),
    (b'["username","password"]', "wrong-type"),
    (b'{"username":"a"}', "missing-key"),
    (b"[" * 100 + b"]" * 100, "too-deep"),
    (b'{"a":' * 100 + b"1" + b"}" * 100, "too-deep"),
    (b"[" * 33 + b"]" * 33, "too-deep"),
], ids=["truncated", "not-json", "empty", "trailing", "bad-utf8", "nul", "duplicate", "unknown",
        "int-for-string", "bool-for-string", "array-root", "missing", "arrays-100", "objects-100",
        "arrays-33"])
def test_strict_json(daemon, body, slug):
    r = daemon.client().post(LOGIN, data=body)
    assert_problem(r, 400, slug)
    daemon.health_ok()


def test_duplicate_key_in_nested_object(daemon, world):
    body = (b'{"subject":{"national_id":"' + next_nid().encode() + b'","national_id":"x"},'
            b'"fields":{"first_name":"A","last_name":"B"}}')
    r = world.alice.post(records_path("cpas"), data=body, purpose="social-aid")
    assert_problem(r, 400, "duplicate-key")
    daemon.health_ok()


@pytest.mark.parametrize("fields,slug", [
    (record_fields(first_name="x" * 101), "too-long"),
    (record_fields(notes="n" * 2001), "too-long"),
    (record_fields(aid_amount="1250"), "wrong-type"),
    (record_fields(first_name=12), "wrong-type"),
    (record_fields(unknown_field="x"), "unknown-key"),
    (record_fields(aid_kind="lottery"), "invalid-value"),
    (record_fields(birth_date="1972-02-30"), "invalid-value"),
    (record_fields(email="not-an-email"), "invalid-value"),
    (record_fields(aid_amount=100001), "invalid-value"),
    (record_fields(first_name=None), "wrong-type"),
], ids=["max-length", "max-length-notes", "string-for-int", "int-for-string", "unknown-field",
        "enum", "date", "email", "max", "null"])
def test_record_values_validated(daemon, world, fields, slug):
    r = world.alice.post(records_path("cpas"), {"subject": {"national_id": next_nid()}, "fields": fields},
                         purpose="social-aid")
    assert_problem(r, 400, slug)
    daemon.health_ok()


def test_missing_required_field(daemon, world):
    f = record_fields()
    del f["last_name"]
    r = world.alice.post(records_path("cpas"), {"subject": {"national_id": next_nid()}, "fields": f},
                         purpose="social-aid")
    assert_problem(r, 400, "missing-key")


@pytest.mark.parametrize("path", ["/v1/nope", "/nope", "/", "/v2/sys/health", "/v1/sys/health/extra"])
def test_unknown_route(daemon, path):
    r = daemon.client().get(path)
    assert_problem(r, 404, "not-found")
    daemon.health_ok()


@pytest.mark.parametrize("method,path,allowed", [
    ("DELETE", "/v1/sys/health", {"GET"}),
    ("POST", "/v1/sys/health", {"GET"}),
    ("GET", "/v1/auth/login", {"POST"}),
    ("PUT", "/v1/auth/login", {"POST"}),
    ("DELETE", "/v1/orgs", {"GET", "POST"}),
])
def test_wrong_method(daemon, method, path, allowed):
    r = daemon.client().request(method, path)
    assert_problem(r, 405, "method-not-allowed")
    allow = {m.strip().upper() for m in r.headers.get("Allow", "").split(",") if m.strip()}
    assert allowed <= allow, r.headers.get("Allow")
    assert allow <= allowed | {"HEAD", "OPTIONS"}, r.headers.get("Allow")
    daemon.health_ok()


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded",
                                   "application/xml", "multipart/form-data; boundary=x", None])
def test_non_json_content_type(daemon, ctype):
    body = json.dumps({"username": "nobody", "password": PW})
    r = daemon.client().post(LOGIN, data=body, content_type=ctype)
    assert_problem(r, 415, "unsupported-media-type")
    daemon.health_ok()


def test_json_with_charset_accepted(daemon):
    r = daemon.client().post(LOGIN, data=json.dumps({"username": "nobody", "password": PW}),
                             content_type="application/json; charset=utf-8")
    assert_problem(r, 401, "invalid-credentials")


# ---- a second daemon with a lower body cap --------------------------------

SMALL_CAP = 4096


@pytest.fixture(scope="module")
def small_cap_daemon(tmp_path_factory):
    d = start_daemon(tmp_path_factory.mktemp("coffre-cap"), {"max_body_bytes": SMALL_CAP})
    try:
        yield d
    finally:
        d.stop()


def test_configured_body_cap(small_cap_daemon):
    d = small_cap_daemon
    assert_problem(d.client().post(LOGIN, data=login_body_padded(SMALL_CAP)), 401, "invalid-credentials")
    for size in (SMALL_CAP + 1, 64 * 1024):
        body = login_body_padded(size)
        head = (b"POST /v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n" % len(body))
        _assert_413(*_send_body_and_read_answer(d, head, [body[i:i + 1024] for i in range(0, len(body), 1024)]))
    d.health_ok()


@pytest.mark.parametrize("factor", [1, 2, 4], ids=["cap+1", "2x", "4x"])
def test_plain_client_gets_413_up_to_4x_cap(small_cap_daemon, factor):
    """Up to 4 x max_body_bytes, an oversized body is read and dropped, so that a client which
    writes its whole body before reading (requests) gets the 413 rather than a reset."""
    d = small_cap_daemon
    body = login_body_padded(SMALL_CAP * factor + (1 if factor == 1 else 0))
    outcomes = []
    for _ in range(5):
        try:
            r = d.client().post(LOGIN, data=body)
            outcomes.append(r.status_code)
            if r.status_code == 413:
                assert_problem(r, 413, "body-too-large")
        except requests.ConnectionError as e:
            outcomes.append(type(e).__name__)
    assert outcomes == [413] * 5, outcomes
    d.health_ok()


def test_413_waits_for_a_body_it_will_drop(small_cap_daemon):
    """A declared body over the cap but within 4 x the cap: the daemon reads it before answering."""
    d = small_cap_daemon
    size = 4 * SMALL_CAP
    with _raw_tls(d) as s:
        s.sendall(b"POST /v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % size)
        ready, _, _ = select.select([s], [], [], 0.5)
        assert not ready, "answered before the body was sent"
        s.sendall(login_body_padded(size))
        _assert_413(*_read_response(s))
    d.health_ok()


def test_declared_body_over_4x_cap_answered_at_once(small_cap_daemon):
    """Over 4 x the cap, the 413 comes without a byte of the body being sent, and the connection
    is closed."""
    d = small_cap_daemon
    with _raw_tls(d) as s:
        s.sendall(b"POST /v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % (4 * SMALL_CAP + 1))
        ready, _, _ = select.select([s], [], [], 10)
        assert ready, "no answer to an over-large declared body"
        _assert_413(*_read_response(s))
        try:
            rest = s.recv(1024)
        except (ssl.SSLError, OSError):
            rest = b""
        assert rest == b"", "the connection stays open after the early 413"
    d.health_ok()
