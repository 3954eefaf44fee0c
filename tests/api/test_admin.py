"""The instance administrator: organizations and security managers, never personal data."""

import pytest

from conftest import (TIME_RE, assert_problem, assert_status, create_org, next_nid,
                      password_for, record_fields, records_path, unique)


def test_admin_login_and_me(daemon):
    r = daemon.client().post("/v1/auth/login", {"username": daemon.admin_user,
                                                "password": daemon.admin_password})
    assert_status(r, 200)
    body = r.json()
    assert set(body) == {"token", "expires_at", "username", "org", "roles"}
    assert body["token"].startswith("cft_")
    assert TIME_RE.match(body["expires_at"]), body["expires_at"]
    assert body["username"] == daemon.admin_user
    assert body["org"] is None
    assert isinstance(body["roles"], list)
    me = daemon.client(body["token"]).get("/v1/me")
    assert_status(me, 200)
    assert me.json() == {"username": daemon.admin_user, "org": None, "roles": body["roles"],
                         "auth_method": "password"}


def test_admin_is_not_a_member_of_an_org(daemon, admin):
    create_org(admin, "nomember")
    r = daemon.client().post("/v1/auth/login", {"username": daemon.admin_user,
                                                "password": daemon.admin_password, "org": "nomember"})
    assert_problem(r, 401, "invalid-credentials")


def test_create_and_list_orgs(admin):
    r = admin.post("/v1/orgs", {"id": "zeta-org_1", "name": "Zeta"})
    assert_status(r, 201)
    assert r.json() == {"id": "zeta-org_1", "name": "Zeta"}
    assert_status(admin.post("/v1/orgs", {"id": "alpha", "name": "Alpha"}), 201)
    r = admin.get("/v1/orgs")
    assert_status(r, 200)
    body = r.json()
    assert set(body) == {"orgs"}
    ids = [o["id"] for o in body["orgs"]]
    assert {"zeta-org_1", "alpha"} <= set(ids)
    assert ids == sorted(ids)
    assert {"id": "alpha", "name": "Alpha"} in body["orgs"]
    r = admin.get("/v1/orgs/alpha")
    assert_status(r, 200)
    assert r.json() == {"id": "alpha", "name": "Alpha"}


def test_duplicate_org(admin):
    create_org(admin, "dup")
    assert_problem(admin.post("/v1/orgs", {"id": "dup", "name": "Other name"}), 409, "conflict")


@pytest.mark.parametrize("org_id", ["Bad", "1abc", "-abc", "a b", "a.b", "a/b", "", "été"])
def test_invalid_org_id(admin, org_id):
    assert_problem(admin.post("/v1/orgs", {"id": org_id, "name": "x"}), 400, "invalid-value")


def test_org_id_too_long(admin):
    assert_status(admin.post("/v1/orgs", {"id": "a" * 64, "name": "x"}), 201)
    r = admin.post("/v1/orgs", {"id": "b" * 65, "name": "x"})
    assert r.status_code == 400, r.text
    assert r.json()["type"] in ("urn:coffre:problem:too-long", "urn:coffre:problem:invalid-value"), r.text


def test_org_body_strict(admin):
    assert_problem(admin.post("/v1/orgs", {"id": "strict1"}), 400, "missing-key")
    assert_problem(admin.post("/v1/orgs", {"id": "strict1", "name": "x", "x": 1}), 400, "unknown-key")
    assert_problem(admin.post("/v1/orgs", {"id": 5, "name": "x"}), 400, "wrong-type")


def test_unknown_org_is_404_for_admin(admin):
    assert_problem(admin.get("/v1/orgs/nosuchorg"), 404, "not-found")


def test_org_routes_need_authentication(daemon):
    c = daemon.client()
    assert_problem(c.get("/v1/orgs"), 401, "unauthenticated")
    assert_problem(c.post("/v1/orgs", {"id": "x", "name": "x"}), 401, "unauthenticated")
    assert_problem(c.get("/v1/orgs", token="cft_not_a_real_token"), 401, "unauthenticated")


def test_admin_appoints_security_manager(daemon, admin):
    create_org(admin, "appoint")
    r = admin.post("/v1/orgs/appoint/users", {"username": "sm_appoint", "password": password_for("sm_appoint"),
                                              "roles": ["security_manager"]})
    assert_status(r, 201)
    assert r.json() == {"username": "sm_appoint", "org": "appoint", "roles": ["security_manager"],
                        "blocked": False}
    sm = daemon.login("sm_appoint", password_for("sm_appoint"), "appoint")
    me = sm.get("/v1/me")
    assert_status(me, 200)
    assert me.json() == {"username": "sm_appoint", "org": "appoint", "roles": ["security_manager"],
                         "auth_method": "password"}
    # a security manager is not an instance administrator
    assert_problem(sm.get("/v1/orgs"), 403, "forbidden")
    assert_problem(sm.post("/v1/orgs", {"id": "smorg", "name": "x"}), 403, "forbidden")
    r = sm.get("/v1/orgs/appoint")
    assert_status(r, 200)
    assert r.json()["id"] == "appoint"


@pytest.mark.parametrize("roles", [["agent"], ["security_manager", "agent"], ["technical"]])
def test_admin_cannot_create_other_roles(admin, roles):
    org = unique("roles")
    create_org(admin, org)
    r = admin.post(f"/v1/orgs/{org}/users", {"username": f"u_{org}", "password": password_for("x"),
                                             "roles": roles})
    assert_problem(r, 403, "forbidden")


def test_admin_never_reaches_personal_data(daemon, world):
    admin = world.admin
    rec, nid = world.create_record(world.alice)
    rid = rec["id"]
    assert_problem(admin.get(records_path("cpas", rid), purpose="social-aid"), 403, "forbidden")
    assert_problem(admin.patch(records_path("cpas", rid), {"fields": {"aid_amount": 1}}, purpose="social-aid"),
                   403, "forbidden")
    assert_problem(admin.delete(records_path("cpas", rid), purpose="social-aid"), 403, "forbidden")
    assert_problem(admin.post(records_path("cpas"), {"subject": {"national_id": next_nid()},
                                                     "fields": record_fields()},
                              purpose="social-aid"), 403, "forbidden")
    r = admin.post("/v1/orgs/cpas/subjects/lookup", {"national_id": nid}, purpose="social-aid")
    assert_problem(r, 403, "forbidden")
    assert nid not in r.text
    # the record is untouched
    r = world.alice.get(records_path("cpas", rid), purpose="social-aid")
    assert_status(r, 200)
    assert r.json()["version"] == 1
