"""The audit trail, read straight from vault.db while the daemon runs: one
canonical entry per access (allowed or denied) that states its own index,
users named by a keyed pseudonym, no personal values, refusals on an
organization's own records naming their subject, reading the trail audited
too, instance users who read it, and fail closed when the trail cannot be
written."""

import json
import re

import pytest

from conftest import (SOCIAL_AID, SOCIAL_AID_LEGAL_BASIS, assert_problem, assert_status, audit_count,
                      audit_entries, audit_next_idx, canonical, create_user, format_nid, next_nid,
                      password_for, record_fields, records_path)

P = "social-aid"
ENTRY_KEYS = {"action", "actor", "fields", "index", "legal_basis", "outcome", "purpose", "reason", "resource",
              "time", "trace_id"}
TIME6 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
USER_ID = re.compile(r"^u_[0-9a-f]{24}$")
CANARY_FIRST = "Zorglubette"
CANARY_NOTES = "audit-canary-q7w8e9r0"


def uid(daemon, username):
    """How the trail names a user: the actor.user of their successful logins, which must all agree."""
    seen = {e["actor"].get("user") for _, _, e in audit_entries(daemon)
            if e["action"] == "auth.login" and e["outcome"] == "allowed" and e.get("user") == username}
    assert len(seen) == 1, f"{username}: actor.user values in its logins: {seen}"
    (u,) = seen
    assert isinstance(u, str) and USER_ID.match(u), u
    assert username not in u
    return u


def one_new_entry(daemon, fn):
    """Runs fn(); asserts exactly one audit entry was appended; returns (response, raw, entry)."""
    start = audit_next_idx(daemon)
    before = audit_count(daemon)
    r = fn()
    after = audit_count(daemon)
    new = audit_entries(daemon, start)
    assert after - before == 1, f"{after - before} entries for {r.request.method} {r.request.path_url}: " \
                                f"{[e[2].get('action') for e in new]}"
    assert len(new) == 1
    idx, raw, entry = new[0]
    assert idx == start
    assert entry["index"] == idx, raw
    return r, raw, entry


def check_entry(daemon, raw, e, r, *, action, outcome, user, org, roles, auth="password", role=None):
    """user: the username (the entry names its pseudonym, never the name itself).
    role: the role whose grant allowed the access (actor.role); absent on refusals."""
    assert canonical(e) == raw, raw
    assert set(e) <= ENTRY_KEYS, set(e) - ENTRY_KEYS
    assert isinstance(e["index"], int) and e["index"] >= 0
    assert e["action"] == action
    assert e["outcome"] == outcome
    actor = {"auth": auth, "ip": "127.0.0.1", "org": org, "roles": roles, "user": uid(daemon, user)}
    if outcome == "allowed":
        actor["role"] = role if role is not None else roles[0]
    assert e["actor"] == actor
    assert user not in raw, raw
    assert TIME6.match(e["time"]), e["time"]
    assert e["trace_id"] == r.headers["X-Request-Id"]
    if outcome == "denied":
        assert isinstance(e.get("reason"), str) and e["reason"]


def check_resource(e, org, record=None, subject=None, collection="social_aid"):
    res = e["resource"]
    assert res["org"] == org
    assert res["collection"] == collection
    if record is not None:
        assert res["record"] == record
    if subject is not None:
        assert res["subject"] == subject
    assert set(res) <= {"collection", "org", "record", "subject"}


def test_create_read_update_delete_lookup_audited(daemon, world):
    alice = world.alice
    nid = next_nid()
    fields = record_fields(first_name=CANARY_FIRST, notes=CANARY_NOTES)

    r, raw, e = one_new_entry(daemon, lambda: alice.post(
        records_path("cpas"), {"subject": {"national_id": nid}, "fields": fields}, purpose=P))
    assert_status(r, 201)
    rid, subject = r.json()["id"], r.json()["subject"]
    check_entry(daemon, raw, e, r, action="record.create", outcome="allowed", user="alice", org="cpas", roles=["agent"])
    check_resource(e, "cpas", rid, subject)
    assert e["purpose"] == P and e["legal_basis"] == SOCIAL_AID_LEGAL_BASIS
    assert sorted(e["fields"]) == sorted(fields)

    r, raw, e = one_new_entry(daemon, lambda: alice.get(records_path("cpas", rid), purpose=P))
    assert_status(r, 200)
    check_entry(daemon, raw, e, r, action="record.read", outcome="allowed", user="alice", org="cpas", roles=["agent"])
    check_resource(e, "cpas", rid, subject)
    assert e["purpose"] == P and e["legal_basis"] == SOCIAL_AID_LEGAL_BASIS
    assert set(r.json()["fields"]) <= set(e["fields"]) <= set(SOCIAL_AID["fields"])
    assert len(e["fields"]) == len(set(e["fields"]))

    r, raw, e = one_new_entry(daemon, lambda: alice.patch(records_path("cpas", rid),
                                                          {"fields": {"aid_amount": 99}}, purpose=P))
    assert_status(r, 200)
    check_entry(daemon, raw, e, r, action="record.update", outcome="allowed", user="alice", org="cpas", roles=["agent"])
    check_resource(e, "cpas", rid, subject)
    assert e["fields"] == ["aid_amount"]

    r, raw, e = one_new_entry(daemon, lambda: alice.post("/v1/orgs/cpas/subjects/lookup",
                                                         {"national_id": nid}, purpose=P))
    assert_status(r, 200)
    # actor.role on an allowed lookup: the role whose read grant allowed it (contract point 2)
    check_entry(daemon, raw, e, r, action="subject.lookup", outcome="allowed", user="alice", org="cpas",
                roles=["agent"])
    assert e["resource"] == {"org": "cpas", "subject": subject}
    assert e["purpose"] == P

    r, raw, e = one_new_entry(daemon, lambda: alice.delete(records_path("cpas", rid), purpose=P))
    assert_status(r, 204)
    check_entry(daemon, raw, e, r, action="record.delete", outcome="allowed", user="alice", org="cpas", roles=["agent"])
    check_resource(e, "cpas", rid, subject)


def test_field_limited_read_names_only_granted_fields(daemon, world):
    rec, _ = world.create_record(world.alice)
    r, raw, e = one_new_entry(daemon, lambda: world.carol.get(records_path("cpas", rec["id"]), purpose=P))
    assert_status(r, 200)
    check_entry(daemon, raw, e, r, action="record.read", outcome="allowed", user="carol", org="cpas", roles=["reception"])
    assert e["fields"] == ["first_name"]


def test_denied_attempts_audited(daemon, world):
    rec, _ = world.create_record(world.alice)
    rid = rec["id"]

    r, raw, e = one_new_entry(daemon, lambda: world.alice.get(records_path("cpas", rid), purpose="statistics"))
    assert_problem(r, 403, "purpose-not-allowed")
    check_entry(daemon, raw, e, r, action="record.read", outcome="denied", user="alice", org="cpas", roles=["agent"])
    assert e["purpose"] == "statistics"
    check_resource(e, "cpas", rid)

    r, raw, e = one_new_entry(daemon, lambda: world.alice.get(records_path("cpas", rid), purpose="marketing"))
    assert_problem(r, 403, "purpose-not-allowed")
    check_entry(daemon, raw, e, r, action="record.read", outcome="denied", user="alice", org="cpas", roles=["agent"])

    r, raw, e = one_new_entry(daemon, lambda: world.carol.patch(records_path("cpas", rid),
                                                                {"fields": {"aid_amount": 1}}, purpose=P))
    assert_problem(r, 403, "field-not-granted")
    check_entry(daemon, raw, e, r, action="record.update", outcome="denied", user="carol", org="cpas",
                roles=["reception"])

    r, raw, e = one_new_entry(daemon, lambda: world.carol.delete(records_path("cpas", rid), purpose=P))
    assert_problem(r, 403, "forbidden")
    check_entry(daemon, raw, e, r, action="record.delete", outcome="denied", user="carol", org="cpas",
                roles=["reception"])

    r, raw, e = one_new_entry(daemon, lambda: world.victor.get(records_path("cpas", rid), purpose=P))
    assert_problem(r, 403, "wrong-organization")
    check_entry(daemon, raw, e, r, action="record.read", outcome="denied", user="victor", org="ville", roles=["agent"])

    r, raw, e = one_new_entry(daemon, lambda: world.admin.get(records_path("cpas", rid), purpose=P))
    assert_problem(r, 403, "forbidden")
    assert e["action"] == "record.read" and e["outcome"] == "denied"
    assert e["actor"]["user"] == daemon.admin_user and e["actor"].get("org") is None
    assert "role" not in e["actor"]


def test_api_key_actor(daemon, world):
    sm = world.sm["cpas"]
    create_user(sm, "cpas", "batch_a", ["technical"])
    assert_status(sm.put("/v1/orgs/cpas/roles/technical/grants",
                         [{"collection": "social_aid", "actions": ["read", "write"], "purposes": [P],
                           "fields": ["*"]}]), 200)
    key = sm.post("/v1/orgs/cpas/api-keys", {"username": "batch_a"}).json()["key"]
    tech = daemon.client(key)
    r, raw, e = one_new_entry(daemon, lambda: tech.post(
        records_path("cpas"), {"subject": {"national_id": next_nid()}, "fields": record_fields()}, purpose=P))
    assert_status(r, 201)
    check_entry(daemon, raw, e, r, action="record.create", outcome="allowed", user="batch_a", org="cpas",
                roles=["technical"], auth="api_key")


@pytest.mark.parametrize("action", ["org.create", "user.create", "user.update", "collection.put", "grants.put",
                                    "auth.login", "auth.logout", "apikey.create", "apikey.revoke"])
def test_administrative_actions_audited(daemon, world, action):
    sm = world.sm["cpas"]
    u = f"adm_{action.replace('.', '_')}"
    setup = {
        "user.update": lambda: create_user(sm, "cpas", u, ["agent"]),
        "auth.logout": lambda: None,
        "apikey.revoke": lambda: (create_user(sm, "cpas", u, ["technical"]),
                                  sm.post("/v1/orgs/cpas/api-keys", {"username": u}).json()["id"])[1],
        "apikey.create": lambda: create_user(sm, "cpas", u, ["technical"]),
    }.get(action, lambda: None)()
    if action == "auth.logout":
        session = daemon.login("alice", password_for("alice"), "cpas")
    ops = {
        "org.create": lambda: world.admin.post("/v1/orgs", {"id": "audited", "name": "Audited"}),
        "user.create": lambda: sm.post("/v1/orgs/cpas/users", {"username": u, "password": password_for(u),
                                                                "roles": ["agent"]}),
        "user.update": lambda: sm.patch(f"/v1/orgs/cpas/users/{u}", {"blocked": True}),
        "collection.put": lambda: sm.put("/v1/orgs/cpas/collections/audited_c", {
            "fields": {"x": {"type": "string", "category": "other"}},
            "purposes": {"p": {"legal_basis": "art. 6.1.e"}}, "retention": "P1Y"}),
        "grants.put": lambda: sm.put("/v1/orgs/cpas/roles/audited_role/grants", []),
        "auth.login": lambda: daemon.client().post("/v1/auth/login", {"username": "alice",
                                                                      "password": password_for("alice"),
                                                                      "org": "cpas"}),
        "auth.logout": lambda: session.post("/v1/auth/logout"),
        "apikey.create": lambda: sm.post("/v1/orgs/cpas/api-keys", {"username": u}),
        "apikey.revoke": lambda: sm.delete(f"/v1/orgs/cpas/api-keys/{setup}"),
    }
    start = audit_next_idx(daemon)
    r = ops[action]()
    assert r.status_code in (200, 201, 204), r.text
    new = audit_entries(daemon, start)
    assert [e["action"] for _, _, e in new] == [action], [e for _, _, e in new]
    _, raw, e = new[0]
    assert canonical(e) == raw
    assert e["outcome"] == "allowed"
    assert e["trace_id"] == r.headers["X-Request-Id"]
    assert TIME6.match(e["time"])
    assert password_for("alice") not in raw and password_for(u) not in raw


def test_failed_login_audited_without_password(daemon, world):
    start = audit_next_idx(daemon)
    r = daemon.client().post("/v1/auth/login", {"username": "alice", "password": "Wr0ng-Pa55word-Canary",
                                                "org": "cpas"})
    assert_problem(r, 401, "invalid-credentials")
    new = audit_entries(daemon, start)
    assert len(new) == 1
    _, raw, e = new[0]
    assert e["action"] == "auth.login" and e["outcome"] == "denied"
    assert "Wr0ng-Pa55word-Canary" not in raw


def test_no_personal_value_in_trail(daemon, world):
    nid = next_nid()
    rec, _ = world.create_record(world.alice, nid=format_nid(nid),
                                 fields=record_fields(first_name=CANARY_FIRST, notes=CANARY_NOTES))
    world.alice.get(records_path("cpas", rec["id"]), purpose=P)
    world.alice.patch(records_path("cpas", rec["id"]), {"fields": {"notes": CANARY_NOTES + "-2"}}, purpose=P)
    world.alice.post("/v1/orgs/cpas/subjects/lookup", {"national_id": nid}, purpose=P)
    world.victor.post("/v1/orgs/ville/subjects/lookup", {"national_id": nid}, purpose=P)
    world.alice.post(records_path("cpas"), {"subject": {"national_id": nid[:10] + "0"}, "fields": {}}, purpose=P)
    entries = audit_entries(daemon, 0)
    assert entries
    forbidden = [CANARY_FIRST, CANARY_NOTES, nid, format_nid(nid), password_for("alice")]
    for idx, raw, e in entries:
        assert canonical(e) == raw, (idx, raw)
        for s in forbidden:
            assert s not in raw, f"entry {idx} contains a personal value or secret"


# ---- fail closed -----------------------------------------------------------

TRIGGER = "CREATE TRIGGER inject_fail BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT,'injected'); END;"


class FailingTrail:
    def __init__(self, daemon):
        self.daemon = daemon

    def __enter__(self):
        con = self.daemon.db()
        con.execute(TRIGGER)
        con.close()
        return self

    def __exit__(self, *exc):
        con = self.daemon.db()
        con.execute("DROP TRIGGER IF EXISTS inject_fail")
        con.close()


def _count(daemon, sql):
    con = daemon.db()
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def test_fail_closed(daemon, world):
    alice = world.alice
    secret_value = "failclosed-canary-5x9z"
    rec, nid = world.create_record(alice, fields=record_fields(notes=secret_value, aid_amount=321))
    rid = rec["id"]
    new_nid = next_nid()
    fields_before = _count(daemon, "SELECT count(*) FROM record_fields")
    audit_before = audit_count(daemon)

    with FailingTrail(daemon):
        r = alice.get(records_path("cpas", rid), purpose=P)
        assert_problem(r, 503, "audit-unavailable")
        assert secret_value not in r.text and "321" not in r.text and "Jeanne" not in r.text
        assert "fields" not in r.json()

        r = alice.post(records_path("cpas"), {"subject": {"national_id": new_nid},
                                              "fields": record_fields(notes=secret_value)}, purpose=P)
        assert_problem(r, 503, "audit-unavailable")
        assert "id" not in r.json()

        r = alice.patch(records_path("cpas", rid), {"fields": {"aid_amount": 1}}, purpose=P)
        assert_problem(r, 503, "audit-unavailable")

        r = alice.delete(records_path("cpas", rid), purpose=P)
        assert_problem(r, 503, "audit-unavailable")

        r = alice.post("/v1/orgs/cpas/subjects/lookup", {"national_id": nid}, purpose=P)
        assert_problem(r, 503, "audit-unavailable")
        assert rec["subject"] not in r.text

        # a denied attempt cannot be recorded either: still no answer but 503
        r = alice.get(records_path("cpas", rid), purpose="statistics")
        assert_problem(r, 503, "audit-unavailable")

        # the daemon stays up (what health says during the outage is not part of this test)
        assert daemon.alive()
        r = daemon.client().get("/v1/sys/health")
        assert r.status_code in (200, 503) and r.json()["sealed"] is False

    # nothing was written while the trail was down
    assert audit_count(daemon) == audit_before
    assert _count(daemon, "SELECT count(*) FROM record_fields") == fields_before
    # service resumes by itself
    r = alice.get(records_path("cpas", rid), purpose=P)
    assert_status(r, 200)
    assert r.json()["version"] == 1
    assert r.json()["fields"]["aid_amount"] == 321
    assert_problem(alice.post("/v1/orgs/cpas/subjects/lookup", {"national_id": new_nid}, purpose=P),
                   404, "not-found")
    world.create_record(alice, nid=new_nid)
