"""Health, the headers every answer carries, and trace id propagation."""

import secrets

import pytest

from conftest import (HEX32, assert_problem, assert_status, assert_std_headers, password_for,
                      create_org, create_user)


def test_health_unauthenticated(daemon):
    r = daemon.client().get("/v1/sys/health")
    assert_status(r, 200)
    assert r.headers["Content-Type"].split(";")[0].strip() == "application/json"
    body = r.json()
    assert isinstance(body.pop("retention")["sweeps"], int)
    assert body == {"status": "ok", "sealed": False, "version": "0.1.0", "audit": {"status": "ok"}}
    assert_std_headers(r)


TRIGGER = "CREATE TRIGGER health_fail BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT,'injected'); END;"


def _sql(daemon, statement):
    con = daemon.db()
    try:
        con.execute(statement)
    finally:
        con.close()


def test_health_reports_an_unwritable_trail(daemon, admin):
    """While the trail cannot be written: 503 audit-unavailable with a detail (and no answer
    leaks); once a write succeeds again: 200 ok."""
    c = daemon.client()
    _sql(daemon, TRIGGER)
    try:
        # any audited request finds the trail unwritable (a refused trail read: 503, not 403)
        assert_problem(admin.get("/v1/audit/checkpoint"), 503, "audit-unavailable")
        r = c.get("/v1/sys/health")
        assert_status(r, 503)
        assert r.headers["Content-Type"].split(";")[0].strip() == "application/json"
        assert_std_headers(r)
        body = r.json()
        assert set(body) == {"status", "sealed", "version", "audit", "retention"}
        assert (body["status"], body["sealed"], body["version"]) == ("audit-unavailable", False, "0.1.0")
        assert set(body["audit"]) == {"status", "detail"}
        assert body["audit"]["status"] == "unavailable"
        assert isinstance(body["audit"]["detail"], str) and body["audit"]["detail"]
        assert daemon.alive()
    finally:
        _sql(daemon, "DROP TRIGGER IF EXISTS health_fail")
    # the next audited request is recorded again, and health says so
    assert_problem(admin.get("/v1/audit/checkpoint"), 403, "forbidden")
    r = c.get("/v1/sys/health")
    assert_status(r, 200)
    body = r.json()
    del body["retention"]
    assert body == {"status": "ok", "sealed": False, "version": "0.1.0", "audit": {"status": "ok"}}


def test_std_headers_on_every_kind_of_answer(daemon, admin):
    create_org(admin, "hdr")
    create_user(admin, "hdr", "sm_hdr", ["security_manager"])
    c = daemon.client()
    answers = {
        "200 health": c.get("/v1/sys/health"),
        "200 openapi": c.get("/v1/openapi.json"),
        "200 me": admin.get("/v1/me"),
        "201 org": admin.post("/v1/orgs", {"id": "hdr2", "name": "Headers 2"}),
        "400 malformed": c.post("/v1/auth/login", data="{", content_type="application/json"),
        "401 unauthenticated": c.get("/v1/me"),
        "401 invalid credentials": c.post("/v1/auth/login", {"username": "nobody", "password": "x" * 12}),
        "403 forbidden": daemon.login("sm_hdr", password_for("sm_hdr"), "hdr").get("/v1/orgs"),
        "404 unknown route": c.get("/v1/no/such/route"),
        "405 method": c.request("DELETE", "/v1/sys/health"),
        "409 duplicate org": admin.post("/v1/orgs", {"id": "hdr", "name": "again"}),
        "415 media type": c.post("/v1/auth/login", data="username=a", content_type="text/plain"),
    }
    sm = daemon.login("sm_hdr", password_for("sm_hdr"), "hdr")
    answers["204 logout"] = sm.post("/v1/auth/logout")
    expected = {k: int(k.split()[0]) for k in answers}
    for name, r in answers.items():
        assert r.status_code == expected[name], f"{name}: {r.status_code} {r.text[:300]}"
        assert_std_headers(r)
    assert_problem(answers["404 unknown route"], 404, "not-found")


def test_request_ids_are_fresh_per_request(daemon):
    c = daemon.client()
    ids = {c.get("/v1/sys/health").headers["X-Request-Id"] for _ in range(5)}
    assert len(ids) == 5
    for i in ids:
        assert HEX32.match(i)


def test_traceparent_trace_id_echoed(daemon):
    trace = secrets.token_hex(16)
    tp = f"00-{trace}-{secrets.token_hex(8)}-01"
    c = daemon.client()
    r = c.get("/v1/sys/health", headers={"traceparent": tp})
    assert_status(r, 200)
    assert r.headers["X-Request-Id"] == trace
    # also on an error answer, and in the problem body
    r = c.get("/v1/me", headers={"traceparent": tp})
    body = assert_problem(r, 401, "unauthenticated")
    assert r.headers["X-Request-Id"] == trace
    assert body["trace_id"] == trace


@pytest.mark.parametrize("tp", [
    "garbage",
    "00-" + "0" * 32 + "-" + "1" * 16 + "-01",          # all-zero trace id is invalid
    "00-" + "A" * 32 + "-" + "1" * 16 + "-01",          # uppercase is invalid
    "00-" + "ab" * 15 + "-" + "1" * 16 + "-01",         # too short
    "ff-" + "ab" * 16 + "-" + "1" * 16 + "-01",         # version ff is invalid
])
def test_invalid_traceparent_gets_fresh_id(daemon, tp):
    r = daemon.client().get("/v1/sys/health", headers={"traceparent": tp})
    assert_status(r, 200)
    rid = r.headers["X-Request-Id"]
    assert HEX32.match(rid)
    assert rid != "0" * 32
    assert rid not in tp.lower()
