"""The audit trail, read straight from disk while the daemon runs (vault.db's
audit table plus the audit journal, conftest.audit_entries): one
canonical entry per access (allowed or denied) that states its own index,
users named by a keyed pseudonym, no personal values, refusals on an
organization's own records naming their subject, reading the trail audited
too, instance users who read it, and fail closed when the audit tables cannot
be written (writes refused, reads answered only with their entry journaled)."""

import json
import re

import pytest

from conftest import (PROBLEM_PREFIX, SOCIAL_AID, SOCIAL_AID_LEGAL_BASIS, assert_problem, assert_status,
                      audit_count, audit_entries, audit_next_idx, audit_table_count, audit_verify, canonical,
                      create_user, entry_by_trace, format_nid, journal_entries, next_nid, password_for,
                      problem_text, record_fields, records_path, table_entries)

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


def test_create_for_a_known_person_audited(daemon, world):
    """A create prepares a new subject; the writer finds the person known and
    names the existing subject in the entry instead."""
    alice = world.alice
    nid = next_nid()
    first, _ = world.create_record(alice, nid=nid)
    r, raw, e = one_new_entry(daemon, lambda: alice.post(
        records_path("cpas"), {"subject": {"national_id": nid}, "fields": record_fields()}, purpose=P))
    assert_status(r, 201)
    assert r.json()["subject"] == first["subject"]
    check_entry(daemon, raw, e, r, action="record.create", outcome="allowed", user="alice", org="cpas", roles=["agent"])
    check_resource(e, "cpas", r.json()["id"], first["subject"])
    assert sorted(e["fields"]) == sorted(record_fields())


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
    check_entry(daemon, raw, e, r, action="record.read", outcome="allowed", user="carol", org="cpas",
                roles=["reception"])
    assert e["fields"] == ["first_name"]


def test_denied_attempts_audited(daemon, world):
    rec, _ = world.create_record(world.alice)
    rid, subject = rec["id"], rec["subject"]
    named = {"collection": "social_aid", "org": "cpas", "record": rid, "subject": subject}
    unnamed = {"collection": "social_aid", "org": "cpas", "record": rid}

    # refusals on the caller's own organization's existing record name its subject
    r, raw, e = one_new_entry(daemon, lambda: world.alice.get(records_path("cpas", rid), purpose="statistics"))
    assert_problem(r, 403, "purpose-not-allowed")
    check_entry(daemon, raw, e, r, action="record.read", outcome="denied", user="alice", org="cpas",
                roles=["agent"])
    assert e["purpose"] == "statistics"
    assert e["resource"] == named

    r, raw, e = one_new_entry(daemon, lambda: world.alice.get(records_path("cpas", rid), purpose="marketing"))
    assert_problem(r, 403, "purpose-not-allowed")
    check_entry(daemon, raw, e, r, action="record.read", outcome="denied", user="alice", org="cpas",
                roles=["agent"])
    assert e["resource"] == named

    r, raw, e = one_new_entry(daemon, lambda: world.carol.patch(records_path("cpas", rid),
                                                                {"fields": {"aid_amount": 1}}, purpose=P))
    assert_problem(r, 403, "field-not-granted")
    check_entry(daemon, raw, e, r, action="record.update", outcome="denied", user="carol", org="cpas",
                roles=["reception"])
    assert e["resource"] == named

    r, raw, e = one_new_entry(daemon, lambda: world.carol.delete(records_path("cpas", rid), purpose=P))
    assert_problem(r, 403, "forbidden")
    check_entry(daemon, raw, e, r, action="record.delete", outcome="denied", user="carol", org="cpas",
                roles=["reception"])
    assert e["resource"] == named

    # refusals on another organization's path never name (nor look up) the subject
    r, raw, e = one_new_entry(daemon, lambda: world.victor.get(records_path("cpas", rid), purpose=P))
    assert_problem(r, 403, "wrong-organization")
    check_entry(daemon, raw, e, r, action="record.read", outcome="denied", user="victor", org="ville",
                roles=["agent"])
    assert e["resource"] == unnamed

    r, raw, e = one_new_entry(daemon, lambda: world.victor.delete(records_path("cpas", rid), purpose=P))
    assert_problem(r, 403, "wrong-organization")
    check_entry(daemon, raw, e, r, action="record.delete", outcome="denied", user="victor", org="ville",
                roles=["agent"])
    assert e["resource"] == unnamed

    r, raw, e = one_new_entry(daemon, lambda: world.admin.get(records_path("cpas", rid), purpose=P))
    assert_problem(r, 403, "forbidden")
    assert e["action"] == "record.read" and e["outcome"] == "denied"
    assert e["actor"] == {"auth": "password", "ip": "127.0.0.1", "roles": ["admin"],
                          "user": uid(daemon, daemon.admin_user)}
    assert e["resource"] == unnamed

    r, raw, e = one_new_entry(daemon, lambda: world.alice.post("/v1/orgs/cpas/subjects/lookup",
                                                               {"national_id": next_nid()}, purpose="statistics"))
    assert_problem(r, 403, "purpose-not-allowed")
    check_entry(daemon, raw, e, r, action="subject.lookup", outcome="denied", user="alice", org="cpas",
                roles=["agent"])
    assert e["resource"] == {"org": "cpas"}


def test_not_found_refusals_audited_without_role(daemon, world):
    """An unknown record or subject of one's own organization: a refusal (outcome denied, 404)
    that names no subject and, being a refusal, no actor.role.

    At the time of writing the daemon records actor.role on both (it sets the role when the
    grants allow the attempt, before the record or subject is found). The contract says
    actor.role is absent on refusals: reported as a daemon disagreement; the assertions stay."""
    missing = "r_" + "A" * 22
    r, raw, e = one_new_entry(daemon, lambda: world.alice.get(records_path("cpas", missing), purpose=P))
    assert_problem(r, 404, "not-found")
    assert (e["action"], e["outcome"], e["reason"]) == ("record.read", "denied", "no such record")
    assert e["resource"] == {"collection": "social_aid", "org": "cpas", "record": missing}
    rec_entry = (raw, e, r)

    r, raw, e = one_new_entry(daemon, lambda: world.alice.post("/v1/orgs/cpas/subjects/lookup",
                                                               {"national_id": next_nid()}, purpose=P))
    assert_problem(r, 404, "not-found")
    assert (e["action"], e["outcome"], e["reason"]) == ("subject.lookup", "denied", "no such subject")
    assert e["resource"] == {"org": "cpas"}
    lookup_entry = (raw, e, r)

    for action, (raw, e, r) in (("record.read", rec_entry), ("subject.lookup", lookup_entry)):
        check_entry(daemon, raw, e, r, action=action, outcome="denied", user="alice", org="cpas", roles=["agent"])


def test_refusals_on_own_records_reach_the_access_report(daemon, world):
    sm = world.sm["cpas"]
    create_user(sm, "cpas", "dpo_audit", ["dpo"])
    dpo = daemon.login("dpo_audit", password_for("dpo_audit"), "cpas")
    rec, _ = world.create_record(world.alice)
    rid, subject = rec["id"], rec["subject"]
    assert_problem(world.carol.patch(records_path("cpas", rid), {"fields": {"aid_amount": 1}}, purpose=P),
                   403, "field-not-granted")
    assert_problem(world.carol.delete(records_path("cpas", rid), purpose=P), 403, "forbidden")
    assert_problem(world.victor.get(records_path("cpas", rid), purpose=P), 403, "wrong-organization")
    r = dpo.get(f"/v1/orgs/cpas/subjects/{subject}/access-log")
    assert_status(r, 200)
    report = r.json()
    seen = [(x["action"], x["outcome"], x["who"]) for x in report["entries"]]
    assert seen == [("record.create", "allowed", {"org": "cpas", "role": "agent"}),
                    ("record.update", "denied", {"org": "cpas"}),
                    ("record.delete", "denied", {"org": "cpas"}),
                    ("subject.access_log", "allowed", {"org": "cpas"})], seen
    for x in report["entries"]:
        assert json.loads(x["entry"])["index"] == x["index"]
        assert "ville" not in x["entry"]
    assert report["entries"][1]["what"] == {"collection": "social_aid", "record": rid}
    assert report["entries"][1]["why"] == {"purpose": P}
    assert report["entries"][1]["reason"]


def test_api_key_actor(daemon, world):
    sm = world.sm["cpas"]
    create_user(sm, "cpas", "batch_a", ["technical"])
    daemon.login("batch_a", password_for("batch_a"), "cpas")  # its pseudonym, from a login entry
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


def test_user_pseudonyms(daemon, world):
    """The same user is named the same in every entry and organization; users differ."""
    names = ["alice", "carol", "victor", "sm_cpas", "sm_ville", daemon.admin_user]
    ids = {n: uid(daemon, n) for n in names}
    assert len(set(ids.values())) == len(names), ids
    # alice's memberships in two organizations: one user, one pseudonym
    assert_status(world.sm["ville"].post("/v1/orgs/ville/users", {"username": "alice", "roles": ["agent"]}), 201)
    alice_ville = daemon.login("alice", password_for("alice"), "ville")
    assert uid(daemon, "alice") == ids["alice"]
    r, raw, e = one_new_entry(daemon, lambda: alice_ville.post(
        records_path("ville"), {"subject": {"national_id": next_nid()}, "fields": record_fields()}, purpose=P))
    assert_status(r, 201)
    check_entry(daemon, raw, e, r, action="record.create", outcome="allowed", user="alice", org="ville",
                roles=["agent"])
    assert e["actor"]["user"] == ids["alice"]
    # every entry's actor.user is a pseudonym, never a username
    for idx, raw, e in audit_entries(daemon):
        u = e.get("actor", {}).get("user")
        assert u is None or USER_ID.match(u), (idx, raw)


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
    idx, raw, e = new[0]
    assert canonical(e) == raw
    assert e["index"] == idx == start
    assert e["outcome"] == "allowed"
    assert e["trace_id"] == r.headers["X-Request-Id"]
    assert TIME6.match(e["time"])
    assert password_for("alice") not in raw and password_for(u) not in raw
    actor_name = {"org.create": daemon.admin_user, "auth.login": "alice", "auth.logout": "alice"}.get(action, "sm_cpas")
    assert e["actor"]["user"] == uid(daemon, actor_name)
    assert "role" not in e["actor"]  # no grant is involved
    if action == "auth.login":
        assert e["user"] == "alice"
        assert e["actor"] == {"ip": "127.0.0.1", "org": "cpas", "roles": ["agent"], "user": uid(daemon, "alice")}
    else:
        assert "user" not in e


@pytest.mark.parametrize("username,password,org", [
    ("alice", "Wr0ng-Pa55word-Canary", "cpas"),       # wrong password
    ("nobody_x", "Wr0ng-Pa55word-Canary", "cpas"),    # unknown user: the name typed is still recorded
    ("victor", password_for("victor"), "cpas"),       # right password, not a member
], ids=["wrong-password", "unknown-user", "not-a-member"])
def test_failed_login_audited_without_password(daemon, world, username, password, org):
    start = audit_next_idx(daemon)
    r = daemon.client().post("/v1/auth/login", {"username": username, "password": password, "org": org})
    assert_problem(r, 401, "invalid-credentials")
    new = audit_entries(daemon, start)
    assert len(new) == 1
    idx, raw, e = new[0]
    assert canonical(e) == raw
    assert set(e) == {"action", "actor", "index", "outcome", "reason", "resource", "time", "trace_id", "user"}
    assert e["index"] == idx
    assert e["action"] == "auth.login" and e["outcome"] == "denied"
    assert e["user"] == username
    assert e["actor"] == {"ip": "127.0.0.1"}  # nobody was authenticated
    assert e["resource"] == {"org": org}
    assert e["trace_id"] == r.headers["X-Request-Id"]
    assert isinstance(e["reason"], str) and e["reason"]
    assert password not in raw


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
    assert [idx for idx, _, _ in entries] == list(range(len(entries)))
    forbidden = [CANARY_FIRST, CANARY_NOTES, nid, format_nid(nid), password_for("alice")]
    for idx, raw, e in entries:
        assert canonical(e) == raw, (idx, raw)
        assert e["index"] == idx, (idx, raw)
        for s in forbidden:
            assert s not in raw, f"entry {idx} contains a personal value or secret"
        if e["action"].startswith(("record.", "subject.")):
            for name in ("alice", "victor", "carol"):
                assert name not in raw, f"entry {idx} names a user"


# ---- instance users, and reading the trail ---------------------------------

INSTANCE_USER_ERRORS = [
    ({"username": "iu_agent", "password": "p" * 12, "roles": ["agent"]}, 400, "invalid-value"),
    ({"username": "iu_admin", "password": "p" * 12, "roles": ["admin"]}, 400, "invalid-value"),
    ({"username": "iu_sm", "password": "p" * 12, "roles": ["security_manager"]}, 400, "invalid-value"),
    ({"username": "iu_mixed", "password": "p" * 12, "roles": ["auditor", "dpo"]}, 400, "invalid-value"),
    ({"username": "iu_none", "password": "p" * 12, "roles": []}, 400, "invalid-value"),
    ({"username": "iu_twice", "password": "p" * 12, "roles": ["auditor", "auditor"]}, 400, "invalid-value"),
    ({"username": "iu_short", "password": "p" * 11, "roles": ["auditor"]}, 400, "invalid-value"),
    ({"username": "Bad Name", "password": "p" * 12, "roles": ["auditor"]}, 400, "invalid-value"),
    ({"username": "iu_nopw", "roles": ["auditor"]}, 400, "missing-key"),
    ({"username": "iu_extra", "password": "p" * 12, "roles": ["auditor"], "org": "cpas"}, 400, "unknown-key"),
    ({"username": "iu_type", "password": 123456789012, "roles": ["auditor"]}, 400, "wrong-type"),
]


@pytest.fixture(scope="module")
def readers(daemon, world):
    """inspector (instance auditor), authority_a (instance authority), cpas_aud (cpas auditor),
    dpo_r (cpas data protection officer)."""
    for name, roles in (("inspector", ["auditor"]), ("authority_a", ["authority"])):
        r = world.admin.post("/v1/users", {"username": name, "password": password_for(name), "roles": roles})
        assert_status(r, 201)
        assert r.json() == {"username": name, "roles": roles}
    create_user(world.sm["cpas"], "cpas", "cpas_aud", ["auditor"])
    create_user(world.sm["cpas"], "cpas", "dpo_r", ["dpo"])
    return {"inspector": daemon.login("inspector", password_for("inspector")),
            "authority": daemon.login("authority_a", password_for("authority_a")),
            "cpas_aud": daemon.login("cpas_aud", password_for("cpas_aud"), "cpas"),
            "dpo": daemon.login("dpo_r", password_for("dpo_r"), "cpas")}


def test_instance_users(daemon, world, readers):
    me = readers["inspector"].get("/v1/me")
    assert_status(me, 200)
    assert me.json() == {"username": "inspector", "org": None, "roles": ["auditor"], "auth_method": "password"}
    # both roles at once
    r, raw, e = one_new_entry(daemon, lambda: world.admin.post(
        "/v1/users", {"username": "iu_both", "password": password_for("iu_both"), "roles": ["authority", "auditor"]}))
    assert_status(r, 201)
    assert r.json() == {"username": "iu_both", "roles": ["authority", "auditor"]}
    assert canonical(e) == raw
    assert set(e) == {"action", "actor", "index", "outcome", "target", "time", "trace_id"}
    assert (e["action"], e["outcome"], e["target"]) == ("user.create", "allowed", "iu_both")
    assert e["actor"] == {"auth": "password", "ip": "127.0.0.1", "roles": ["admin"],
                          "user": uid(daemon, daemon.admin_user)}
    assert password_for("iu_both") not in raw
    # an existing username (instance user or organization member)
    for name in ("inspector", "alice"):
        assert_problem(world.admin.post("/v1/users", {"username": name, "password": password_for(name),
                                                      "roles": ["auditor"]}), 409, "conflict")
    # only the administrator, and the refusal is audited
    for who in (world.sm["cpas"], world.alice, readers["inspector"], readers["cpas_aud"]):
        r, raw, e = one_new_entry(daemon, lambda: who.post(
            "/v1/users", {"username": "iu_refused", "password": "p" * 12, "roles": ["auditor"]}))
        assert_problem(r, 403, "forbidden")
        assert (e["action"], e["outcome"]) == ("user.create", "denied")
    assert_problem(daemon.client().post("/v1/users", {"username": "iu_anon", "password": "p" * 12,
                                                      "roles": ["auditor"]}), 401, "unauthenticated")


@pytest.mark.parametrize("body,status,slug", INSTANCE_USER_ERRORS,
                         ids=[b[0]["username"].replace(" ", "_") for b in INSTANCE_USER_ERRORS])
def test_instance_user_refused(world, body, status, slug):
    assert_problem(world.admin.post("/v1/users", body), status, slug)


def test_instance_users_never_reach_personal_data(world, readers):
    rec, _ = world.create_record(world.alice)
    for who in (readers["inspector"], readers["authority"]):
        assert_problem(who.get(records_path("cpas", rec["id"]), purpose=P), 403, "forbidden")
        assert_problem(who.post("/v1/orgs/cpas/subjects/lookup", {"national_id": next_nid()}, purpose=P),
                       403, "forbidden")
    # the authority role alone does not read the trail
    for path in ("/v1/audit/checkpoint", "/v1/audit/key", "/v1/audit/entries"):
        assert_problem(readers["authority"].get(path), 403, "forbidden")


def test_reading_the_trail_is_audited(daemon, world, readers):
    inspector, cpas_aud = readers["inspector"], readers["cpas_aud"]

    r, raw, e = one_new_entry(daemon, lambda: inspector.get("/v1/audit/checkpoint"))
    assert_status(r, 200)
    assert canonical(e) == raw
    assert set(e) == {"action", "actor", "index", "outcome", "time", "trace_id"}
    assert (e["action"], e["outcome"]) == ("audit.checkpoint", "allowed")
    assert e["actor"] == {"auth": "password", "ip": "127.0.0.1", "roles": ["auditor"],
                          "user": uid(daemon, "inspector")}
    assert e["trace_id"] == r.headers["X-Request-Id"]
    # the checkpoint covers its own reading
    assert int(r.text.split("\n")[1]) == e["index"] + 1

    n = audit_count(daemon)
    r, raw, e = one_new_entry(daemon, lambda: inspector.get(f"/v1/audit/entries?start={n - 3}"))
    assert_status(r, 200)
    # end defaults to the trail's size when the call starts: the call's own entry is not in the answer
    assert [x["index"] for x in r.json()["entries"]] == [n - 3, n - 2, n - 1]
    assert set(e) == {"action", "actor", "index", "outcome", "range", "time", "trace_id"}
    assert (e["action"], e["outcome"], e["range"], e["index"]) == ("audit.entries", "allowed", f"{n - 3}-{n}", n)
    assert e["actor"]["user"] == uid(daemon, "inspector")

    r, raw, e = one_new_entry(daemon, lambda: cpas_aud.get("/v1/audit/entries?start=0&end=2"))
    assert_status(r, 200)
    assert (e["action"], e["outcome"], e["range"]) == ("audit.entries", "allowed", "0-2")
    assert e["actor"] == {"auth": "password", "ip": "127.0.0.1", "org": "cpas", "roles": ["auditor"],
                          "user": uid(daemon, "cpas_aud")}

    # refused reads are audited too
    for path, action in (("/v1/audit/checkpoint", "audit.checkpoint"), ("/v1/audit/entries", "audit.entries")):
        r, raw, e = one_new_entry(daemon, lambda: world.alice.get(path))
        assert_problem(r, 403, "forbidden")
        check_entry(daemon, raw, e, r, action=action, outcome="denied", user="alice", org="cpas", roles=["agent"])

    # the access report: audited, naming the subject, and listing its own reading
    rec, _ = world.create_record(world.alice)
    subject = rec["subject"]
    r, raw, e = one_new_entry(daemon, lambda: readers["dpo"].get(f"/v1/orgs/cpas/subjects/{subject}/access-log"))
    assert_status(r, 200)
    assert set(e) == {"action", "actor", "index", "outcome", "resource", "time", "trace_id"}
    assert (e["action"], e["outcome"]) == ("subject.access_log", "allowed")
    assert e["resource"] == {"org": "cpas", "subject": subject}
    assert e["actor"] == {"auth": "password", "ip": "127.0.0.1", "org": "cpas", "roles": ["dpo"],
                          "user": uid(daemon, "dpo_r")}
    report = r.json()
    assert report["tree_size"] == e["index"] + 1
    last = report["entries"][-1]
    assert (last["index"], last["action"], last["entry"]) == (e["index"], "subject.access_log", raw)

    r, raw, e = one_new_entry(daemon, lambda: readers["cpas_aud"].get(f"/v1/orgs/cpas/subjects/{subject}/access-log"))
    assert_problem(r, 403, "forbidden")
    assert (e["action"], e["outcome"]) == ("subject.access_log", "denied")


def test_entries_answer_at_most_1000(daemon, readers):
    inspector = readers["inspector"]
    while audit_count(daemon) < 1010:
        assert_status(inspector.get("/v1/audit/checkpoint"), 200)
    n = audit_count(daemon)
    r = inspector.get("/v1/audit/entries")
    assert_status(r, 200)
    assert [x["index"] for x in r.json()["entries"]] == list(range(1000))
    r = inspector.get(f"/v1/audit/entries?start=5&end={n + 50}")
    assert_status(r, 200)
    assert [x["index"] for x in r.json()["entries"]] == list(range(5, 1005))
    r = inspector.get(f"/v1/audit/entries?start={n - 2}&end={n + 50}")  # end is capped at the trail's size
    assert_status(r, 200)
    # (the two calls above added entries n and n + 1)
    assert [x["index"] for x in r.json()["entries"]] == [n - 2, n - 1, n, n + 1]
    for x in r.json()["entries"]:
        assert json.loads(x["entry"])["index"] == x["index"]
    assert_problem(inspector.get(f"/v1/audit/entries?start={n + 100}"), 400, "invalid-value")
    assert_problem(inspector.get("/v1/audit/entries?start=7&end=6"), 400, "invalid-value")
    assert_problem(inspector.get("/v1/audit/entries?start=01"), 400, "invalid-value")
    assert_problem(inspector.get("/v1/audit/entries?end=x"), 400, "invalid-value")


# ---- fail closed -----------------------------------------------------------
#
# An SQL trigger on INSERT INTO audit makes the audit tables unwritable. What
# writes to the tables fails: every record write (its entry goes in with it)
# and the move of the journal into the tables, hence every trail read. Reads,
# lookups and refusals have their entries made durable in audit.journal and
# are answered. The read path's own fail-closed behaviour (no answer without
# a durable entry) is tested on a full disk: test_trail_failures.py.

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


def _table_entry(daemon, trace_id):
    """(idx, raw, parsed) of the audit table's row (the table alone) with this trace id, or None."""
    return entry_by_trace(table_entries(daemon), trace_id)


def _journaled(daemon, r, action, outcome):
    """r's entry is durable at the moment r is answered: a frame of the journal file (the tables
    cannot take it while the trigger is there), at the next index of the durable trail."""
    trace = r.headers["X-Request-Id"]
    j = entry_by_trace(journal_entries(daemon), trace)
    assert j is not None, f"no journal frame for the answered {_what(r)}"
    idx, raw, e = j
    assert (e["action"], e["outcome"], e["index"]) == (action, outcome, idx), raw
    assert canonical(e) == raw
    assert idx >= audit_table_count(daemon), "the table took an entry while its trigger refuses inserts"
    return j


def _what(r):
    return f"{r.request.method} {r.request.path_url} -> {r.status_code}"


def _unavailable(r, *slugs):
    """503 with one of the slugs, and not a word of an answer."""
    assert r.status_code == 503, _what(r) + " " + r.text[:300]
    body = r.json()
    assert body["type"] in [PROBLEM_PREFIX + s for s in slugs], body
    assert_problem(r, 503, body["type"][len(PROBLEM_PREFIX):])
    assert set(body) <= {"type", "title", "status", "detail", "trace_id"}, body
    return body


def test_fail_closed(daemon, world, readers):
    """Audit tables unwritable: every write fails 503 at once and stores nothing (no record, no
    entry), health says why right after; reads, lookups and refusals are answered, each with its
    entry already in the journal; trail reads fail 503 (the journal cannot reach the tables);
    without the trigger everything resumes, the journal's entries reach the table and the trail
    verifies."""
    alice = world.alice
    secret_value = "failclosed-canary-5x9z"
    rec, nid = world.create_record(alice, fields=record_fields(notes=secret_value, aid_amount=321))
    rid, subject = rec["id"], rec["subject"]
    new_nid = next_nid()
    fields_before = _count(daemon, "SELECT count(*) FROM record_cts")
    records_before = _count(daemon, "SELECT count(*) FROM records")
    refused, journaled = [], []

    with FailingTrail(daemon):
        # writes: refused at once, and health says why right after each
        writes = [
            lambda: alice.post(records_path("cpas"), {"subject": {"national_id": new_nid},
                                                      "fields": record_fields(notes=secret_value)}, purpose=P),
            lambda: alice.patch(records_path("cpas", rid), {"fields": {"aid_amount": 1}}, purpose=P),
            lambda: alice.delete(records_path("cpas", rid), purpose=P),
        ]
        for write in writes:
            r = write()
            body = assert_problem(r, 503, "audit-unavailable")
            said = problem_text(r)
            assert secret_value not in said and "321" not in said and rid not in said
            assert "id" not in body and "fields" not in body
            refused.append(r)
            assert daemon.alive()
            h = daemon.client().get("/v1/sys/health")
            assert_status(h, 503)
            assert h.json()["status"] == "audit-unavailable" and h.json()["sealed"] is False
            assert h.json()["audit"]["status"] == "unavailable" and h.json()["audit"]["detail"]

        # reads, lookups and refusals: answered, each entry durable in the journal at the answer
        r = alice.get(records_path("cpas", rid), purpose=P)
        assert_status(r, 200)
        assert r.json()["fields"]["notes"] == secret_value and r.json()["fields"]["aid_amount"] == 321
        journaled.append(_journaled(daemon, r, "record.read", "allowed"))

        r = alice.post("/v1/orgs/cpas/subjects/lookup", {"national_id": nid}, purpose=P)
        assert_status(r, 200)
        assert r.json()["subject"] == subject
        journaled.append(_journaled(daemon, r, "subject.lookup", "allowed"))

        r = alice.get(records_path("cpas", rid), purpose="statistics")
        assert_problem(r, 403, "purpose-not-allowed")
        journaled.append(_journaled(daemon, r, "record.read", "denied"))

        r = world.carol.delete(records_path("cpas", rid), purpose=P)  # a refused write needs no store work
        assert_problem(r, 403, "forbidden")
        journaled.append(_journaled(daemon, r, "record.delete", "denied"))
        assert [j[0] for j in journaled] == list(range(journaled[0][0], journaled[0][0] + len(journaled)))

        # reading the trail needs the journal in the tables first: 503, nothing of the trail answered
        inspector, dpo = readers["inspector"], readers["dpo"]
        _unavailable(inspector.get("/v1/audit/entries?start=0&end=5"), "audit-unavailable")
        _unavailable(inspector.get("/v1/audit/checkpoint"), "audit-unavailable")
        r = dpo.get(f"/v1/orgs/cpas/subjects/{subject}/access-log")
        _unavailable(r, "audit-unavailable")
        assert "entries" not in r.text
        assert daemon.alive()

        # a write refused again after all that: still nothing stored
        r = alice.post(records_path("cpas"), {"subject": {"national_id": new_nid}, "fields": record_fields()},
                       purpose=P)
        assert_problem(r, 503, "audit-unavailable")
        refused.append(r)

    # nothing of the refused writes was stored, in the records or the trail
    assert _count(daemon, "SELECT count(*) FROM record_cts") == fields_before
    assert _count(daemon, "SELECT count(*) FROM records") == records_before
    durable = audit_entries(daemon)
    for r in refused:
        assert entry_by_trace(durable, r.headers["X-Request-Id"]) is None, f"an entry for the refused {_what(r)}"
    by_idx = {idx: raw for idx, raw, _ in durable}
    for idx, raw, _ in journaled:
        assert by_idx.get(idx) == raw

    # service resumes by itself: the next write moves the journal into the table first
    assert_problem(alice.post("/v1/orgs/cpas/subjects/lookup", {"national_id": new_nid}, purpose=P),
                   404, "not-found")
    created, _ = world.create_record(alice, nid=new_nid)
    for idx, raw, _ in journaled:
        t = _table_entry(daemon, json.loads(raw)["trace_id"])
        assert t is not None and t[:2] == (idx, raw), f"journal entry {idx} is not in the table"
    health = daemon.client().get("/v1/sys/health")
    assert_status(health, 200)
    assert health.json()["status"] == "ok" and health.json()["audit"] == {"status": "ok"}
    r = alice.get(records_path("cpas", rid), purpose=P)
    assert_status(r, 200)
    assert r.json()["version"] == 1
    assert r.json()["fields"]["aid_amount"] == 321
    # the trail reads again, and lists what was journaled while the tables were down
    r = readers["inspector"].get(f"/v1/audit/entries?start={journaled[0][0]}&end={journaled[-1][0] + 1}")
    assert_status(r, 200)
    assert [(x["index"], x["entry"]) for x in r.json()["entries"]] == [(j[0], j[1]) for j in journaled]
    # `coffre audit verify` beside the running daemon (it reads the tables only)
    v = audit_verify(daemon.data)
    assert v.returncode == 0, v.stdout + v.stderr


def test_trail_entries_refused_as_audit_unavailable(daemon, world, readers):
    with FailingTrail(daemon):
        # an entry waiting in the journal, which the tables cannot take now
        r = world.alice.get(records_path("cpas", "r_" + "B" * 22), purpose=P)
        assert_problem(r, 404, "not-found")
        assert audit_count(daemon) > audit_table_count(daemon)
        r = readers["inspector"].get("/v1/audit/entries?start=0&end=5")
        assert r.status_code == 503, r.text
        assert_problem(r, 503, "audit-unavailable")
        assert "entries" not in r.json()
        # the attempt itself is recorded (journaled), with an error outcome
        mine = [e for _, _, e in audit_entries(daemon) if e.get("trace_id") == r.json()["trace_id"]]
        assert [(e["action"], e["outcome"]) for e in mine] == [("audit.entries", "error")], mine
