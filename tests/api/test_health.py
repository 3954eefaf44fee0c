"""Health, the headers every answer carries, and trace id propagation."""

import secrets
import time

import pytest

from conftest import (HEX32, World, assert_problem, assert_status, assert_std_headers, audit_count, audit_entries,
                      audit_table_count, create_org, create_user, entry_by_trace, journal_entries, next_nid,
                      password_for, record_fields, records_path)


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


def _records(daemon):
    con = daemon.db()
    try:
        return con.execute("SELECT count(*) FROM records").fetchone()[0]
    finally:
        con.close()


def _journal_moved(daemon, timeout=10.0):
    """Waits until the audit table holds the whole durable trail (the writer moves the journal
    into it within about a second of the last entry)."""
    deadline = time.monotonic() + timeout
    while audit_table_count(daemon) != audit_count(daemon):
        assert time.monotonic() < deadline, "the journal was not moved into the audit table"
        time.sleep(0.1)


def _assert_unavailable_health(r):
    assert_status(r, 503)
    assert r.headers["Content-Type"].split(";")[0].strip() == "application/json"
    assert_std_headers(r)
    body = r.json()
    assert set(body) == {"status", "sealed", "version", "audit", "retention"}
    assert (body["status"], body["sealed"], body["version"]) == ("audit-unavailable", False, "0.1.0")
    assert set(body["audit"]) == {"status", "detail"}
    assert body["audit"]["status"] == "unavailable"
    assert isinstance(body["audit"]["detail"], str) and body["audit"]["detail"]


def test_health_reports_an_unwritable_trail(daemon, admin):
    """While the audit tables cannot be written: writes fail 503 audit-unavailable (nothing stored),
    and health right after a refused record write is 503 audit-unavailable with a detail (and no
    answer leaks); what needs no store work (a refusal) is still answered, its entry in the
    journal; once a write succeeds again: 200 ok."""
    c = daemon.client()
    w = World(daemon)
    records_before = _records(daemon)
    _journal_moved(daemon)  # the writes below start with nothing to move (with a backlog: next test)
    _sql(daemon, TRIGGER)
    try:
        # an administrative write (its own transaction: health is the trail writer's, not its)
        r = admin.post("/v1/orgs", {"id": "unwritable", "name": "Not stored"})
        assert_problem(r, 503, "audit-unavailable")
        assert "unwritable" not in r.text
        # a record write (through the trail's writer): refused, and health says why right after
        r = w.alice.post(records_path("cpas"), {"subject": {"national_id": next_nid()},
                                               "fields": record_fields(first_name="Healthcanary")},
                         purpose="social-aid")
        body = assert_problem(r, 503, "audit-unavailable")
        assert "Healthcanary" not in r.text and "id" not in body
        _assert_unavailable_health(c.get("/v1/sys/health"))
        assert daemon.alive()
        # a refused trail read needs no store work: answered, its entry durable in the journal
        r = admin.get("/v1/audit/checkpoint")
        assert_problem(r, 403, "forbidden")
        assert entry_by_trace(journal_entries(daemon), r.headers["X-Request-Id"]) is not None
    finally:
        _sql(daemon, "DROP TRIGGER IF EXISTS health_fail")
    assert _records(daemon) == records_before  # nothing of the refused record write was stored
    # the next write is recorded again (the journal moved in first), and health says so
    w.create_record(w.alice)
    assert audit_table_count(daemon) == audit_count(daemon)
    r = c.get("/v1/sys/health")
    assert_status(r, 200)
    body = r.json()
    del body["retention"]
    assert body == {"status": "ok", "sealed": False, "version": "0.1.0", "audit": {"status": "ok"}}
    # nor of the refused organization
    assert_status(admin.post("/v1/orgs", {"id": "unwritable", "name": "Stored now"}), 201)
    assert [e["outcome"] for _, _, e in audit_entries(daemon)
            if e["action"] == "org.create" and e.get("resource", {}).get("org") == "unwritable"] == ["allowed"]


def test_admin_write_with_a_journal_backlog_is_audit_unavailable(daemon, admin):
    _sql(daemon, TRIGGER)
    try:
        # a refusal: its entry waits in the journal, which the tables cannot take now
        assert_problem(admin.get("/v1/audit/checkpoint"), 403, "forbidden")
        assert audit_count(daemon) > audit_table_count(daemon)
        r = admin.post("/v1/orgs", {"id": "backlogged", "name": "Not stored"})
        assert r.status_code == 503, r.text
        assert_problem(r, 503, "audit-unavailable")
    finally:
        _sql(daemon, "DROP TRIGGER IF EXISTS health_fail")
        assert_status(admin.post("/v1/orgs", {"id": "backlogged", "name": "Stored now"}), 201)


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
