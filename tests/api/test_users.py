"""Security managers: members, roles, blocking, memberships in several
organizations, API keys for technical users."""

import pytest

from conftest import (assert_problem, assert_status, create_user, password_for, records_path)


def _user(username, org, roles, blocked=False):
    return {"username": username, "org": org, "roles": roles, "blocked": blocked}


def test_sm_creates_users_with_roles(world):
    sm = world.sm["cpas"]
    r = sm.post("/v1/orgs/cpas/users", {"username": "ursula", "password": password_for("ursula"),
                                        "roles": ["agent"]})
    assert_status(r, 201)
    assert r.json() == _user("ursula", "cpas", ["agent"])
    r = sm.get("/v1/orgs/cpas/users/ursula")
    assert_status(r, 200)
    assert r.json() == _user("ursula", "cpas", ["agent"])
    r = sm.get("/v1/orgs/cpas/users")
    assert_status(r, 200)
    body = r.json()
    assert set(body) == {"users"}
    names = [u["username"] for u in body["users"]]
    assert names == sorted(names)
    assert {"username": "ursula", "roles": ["agent"], "blocked": False} in body["users"]
    assert {"username": "sm_cpas", "roles": ["security_manager"], "blocked": False} in body["users"]
    for u in body["users"]:
        assert set(u) == {"username", "roles", "blocked"}
    # the new user can log in to this organization
    me = world.daemon.login("ursula", password_for("ursula"), "cpas").get("/v1/me")
    assert_status(me, 200)
    assert me.json() == {"username": "ursula", "org": "cpas", "roles": ["agent"], "auth_method": "password"}


def test_custom_role_names_accepted(world):
    sm = world.sm["cpas"]
    r = sm.post("/v1/orgs/cpas/users", {"username": "rosa", "password": password_for("rosa"),
                                        "roles": ["front-desk", "case_worker2"]})
    assert_status(r, 201)
    assert sorted(r.json()["roles"]) == ["case_worker2", "front-desk"]


@pytest.mark.parametrize("role", ["Bad Role", "UPPER", "1st", "", "a" * 65])
def test_invalid_role_names(world, role):
    r = world.sm["cpas"].post("/v1/orgs/cpas/users", {"username": "badrole", "password": password_for("badrole"),
                                                      "roles": [role]})
    assert r.status_code == 400, r.text
    slug = "invalid-value"
    if len(role) > 64:
        assert r.json()["type"] in ("urn:coffre:problem:too-long", "urn:coffre:problem:invalid-value"), r.text
    else:
        assert_problem(r, 400, slug)


def test_user_creation_errors(world):
    sm = world.sm["cpas"]
    # new user without password
    assert_problem(sm.post("/v1/orgs/cpas/users", {"username": "nopw", "roles": ["agent"]}), 400, "missing-key")
    # password under 12 characters
    assert_problem(sm.post("/v1/orgs/cpas/users", {"username": "shortpw", "password": "elevenchars",
                                                   "roles": ["agent"]}), 400, "invalid-value")
    # existing membership
    assert_problem(sm.post("/v1/orgs/cpas/users", {"username": "alice", "roles": ["agent"]}), 409, "conflict")
    assert_problem(sm.post("/v1/orgs/cpas/users", {"username": "alice", "password": password_for("alice"),
                                                   "roles": ["agent"]}), 409, "conflict")
    # strictness
    assert_problem(sm.post("/v1/orgs/cpas/users", {"username": "x1", "password": password_for("x1"),
                                                   "roles": ["agent"], "admin": True}), 400, "unknown-key")
    assert_problem(sm.post("/v1/orgs/cpas/users", {"username": "x1", "password": password_for("x1"),
                                                   "roles": "agent"}), 400, "wrong-type")
    assert_problem(sm.get("/v1/orgs/cpas/users/nosuchuser"), 404, "not-found")


def test_block_and_unblock(world):
    d, sm = world.daemon, world.sm["cpas"]
    create_user(sm, "cpas", "bob", ["agent"])
    bob = d.login("bob", password_for("bob"), "cpas")
    assert_status(bob.get("/v1/me"), 200)
    rec, _ = world.create_record(world.alice)

    r = sm.patch("/v1/orgs/cpas/users/bob", {"blocked": True})
    assert_status(r, 200)
    assert r.json() == _user("bob", "cpas", ["agent"], blocked=True)

    assert_problem(bob.get("/v1/me"), 403, "account-blocked")
    r = bob.get(records_path("cpas", rec["id"]), purpose="social-aid")
    assert_problem(r, 403, "account-blocked")
    assert "fields" not in r.json()
    r = d.client().post("/v1/auth/login", {"username": "bob", "password": password_for("bob"), "org": "cpas"})
    assert_problem(r, 403, "account-blocked")
    assert "token" not in r.json()

    r = sm.patch("/v1/orgs/cpas/users/bob", {"blocked": False})
    assert_status(r, 200)
    assert r.json() == _user("bob", "cpas", ["agent"], blocked=False)
    bob2 = d.login("bob", password_for("bob"), "cpas")
    assert_status(bob2.get(records_path("cpas", rec["id"]), purpose="social-aid"), 200)


def test_change_roles(world):
    d, sm = world.daemon, world.sm["cpas"]
    create_user(sm, "cpas", "rita", ["reception"])
    r = sm.patch("/v1/orgs/cpas/users/rita", {"roles": ["agent"]})
    assert_status(r, 200)
    assert r.json() == _user("rita", "cpas", ["agent"])
    me = d.login("rita", password_for("rita"), "cpas").get("/v1/me")
    assert me.json()["roles"] == ["agent"]
    assert_problem(sm.patch("/v1/orgs/cpas/users/rita", {"roles": ["agent"], "org": "ville"}), 400, "unknown-key")
    assert_problem(sm.patch("/v1/orgs/cpas/users/rita", {"blocked": "yes"}), 400, "wrong-type")
    assert_problem(sm.patch("/v1/orgs/cpas/users/nosuchuser", {"blocked": True}), 404, "not-found")


def test_sm_cannot_change_own_roles_or_block_self(world):
    sm = world.sm["cpas"]
    assert_problem(sm.patch("/v1/orgs/cpas/users/sm_cpas", {"roles": ["security_manager", "agent"]}),
                   403, "forbidden")
    assert_problem(sm.patch("/v1/orgs/cpas/users/sm_cpas", {"roles": ["agent"]}), 403, "forbidden")
    assert_problem(sm.patch("/v1/orgs/cpas/users/sm_cpas", {"blocked": True}), 403, "forbidden")
    r = sm.get("/v1/orgs/cpas/users/sm_cpas")
    assert_status(r, 200)
    assert r.json() == _user("sm_cpas", "cpas", ["security_manager"])


def test_sm_cannot_manage_another_org(world):
    sm = world.sm["cpas"]
    assert_problem(sm.post("/v1/orgs/ville/users", {"username": "intruder", "password": password_for("intruder"),
                                                    "roles": ["agent"]}), 403, "wrong-organization")
    assert_problem(sm.get("/v1/orgs/ville/users"), 403, "wrong-organization")
    assert_problem(sm.get("/v1/orgs/ville/users/victor"), 403, "wrong-organization")
    assert_problem(sm.patch("/v1/orgs/ville/users/victor", {"blocked": True}), 403, "wrong-organization")
    assert_problem(sm.post("/v1/orgs/ville/api-keys", {"username": "victor"}), 403, "wrong-organization")
    assert_problem(sm.get("/v1/orgs/ville"), 403, "wrong-organization")
    assert_problem(sm.put("/v1/orgs/ville/roles/agent/grants", []), 403, "wrong-organization")
    r = world.sm["ville"].get("/v1/orgs/ville/users/victor")
    assert_status(r, 200)
    assert r.json()["blocked"] is False


def test_agent_cannot_manage_users(world):
    alice = world.alice
    assert_problem(alice.get("/v1/orgs/cpas/users"), 403, "forbidden")
    assert_problem(alice.post("/v1/orgs/cpas/users", {"username": "alice_friend",
                                                      "password": password_for("alice_friend"),
                                                      "roles": ["agent"]}), 403, "forbidden")
    assert_problem(alice.patch("/v1/orgs/cpas/users/alice", {"roles": ["security_manager"]}), 403, "forbidden")
    assert_problem(alice.patch("/v1/orgs/cpas/users/carol", {"blocked": True}), 403, "forbidden")
    assert_problem(alice.post("/v1/orgs/cpas/api-keys", {"username": "alice"}), 403, "forbidden")
    r = alice.get("/v1/orgs/cpas")
    assert_status(r, 200)
    assert r.json() == {"id": "cpas", "name": "CPAS test"}


def test_person_in_two_orgs(world):
    d = world.daemon
    create_user(world.sm["cpas"], "cpas", "dave", ["agent"])
    r = world.sm["ville"].post("/v1/orgs/ville/users", {"username": "dave", "roles": ["clerk"]})
    assert_status(r, 201)
    assert r.json() == _user("dave", "ville", ["clerk"])

    dave_cpas = d.login("dave", password_for("dave"), "cpas")
    dave_ville = d.login("dave", password_for("dave"), "ville")
    assert dave_cpas.get("/v1/me").json() == {"username": "dave", "org": "cpas", "roles": ["agent"],
                                              "auth_method": "password"}
    assert dave_ville.get("/v1/me").json() == {"username": "dave", "org": "ville", "roles": ["clerk"],
                                               "auth_method": "password"}
    # without org: dave is not an instance user
    r = d.client().post("/v1/auth/login", {"username": "dave", "password": password_for("dave")})
    assert_problem(r, 401, "invalid-credentials")

    rec_cpas, _ = world.create_record(world.alice)
    rec_ville, _ = world.create_record(world.victor)
    # the cpas token acts only for cpas
    assert_status(dave_cpas.get(records_path("cpas", rec_cpas["id"]), purpose="social-aid"), 200)
    assert_problem(dave_cpas.get(records_path("ville", rec_ville["id"]), purpose="social-aid"),
                   403, "wrong-organization")
    assert_problem(dave_cpas.get("/v1/orgs/ville/collections"), 403, "wrong-organization")
    # the ville token: a clerk without grants, and nothing in cpas
    assert_problem(dave_ville.get(records_path("ville", rec_ville["id"]), purpose="social-aid"), 403, "forbidden")
    assert_problem(dave_ville.get(records_path("cpas", rec_cpas["id"]), purpose="social-aid"),
                   403, "wrong-organization")
    r = dave_ville.get("/v1/orgs/ville/collections")
    assert_status(r, 200)

    # blocking dave in cpas leaves his ville membership alone
    assert_status(world.sm["cpas"].patch("/v1/orgs/cpas/users/dave", {"blocked": True}), 200)
    r = d.client().post("/v1/auth/login", {"username": "dave", "password": password_for("dave"), "org": "cpas"})
    assert_problem(r, 403, "account-blocked")
    assert_problem(dave_cpas.get("/v1/me"), 403, "account-blocked")
    assert_status(dave_ville.get("/v1/me"), 200)
    d.login("dave", password_for("dave"), "ville")


def test_api_key_lifecycle(world):
    d, sm = world.daemon, world.sm["cpas"]
    create_user(sm, "cpas", "batch1", ["technical"])
    r = sm.post("/v1/orgs/cpas/api-keys", {"username": "batch1", "description": "nightly exchange"})
    assert_status(r, 201)
    body = r.json()
    assert set(body) == {"id", "key", "username", "org"}
    assert body["username"] == "batch1" and body["org"] == "cpas"
    key, kid = body["key"], body["id"]
    assert key.startswith(f"cfk_{kid}.")
    secret = key[len(f"cfk_{kid}."):]
    assert len(secret) >= 32

    me = d.client(key).get("/v1/me")
    assert_status(me, 200)
    assert me.json() == {"username": "batch1", "org": "cpas", "roles": ["technical"], "auth_method": "api_key"}

    # shown once: the list carries no secret
    r = sm.get("/v1/orgs/cpas/api-keys")
    assert_status(r, 200)
    assert secret not in r.text and key not in r.text
    keys = r.json()["api_keys"]
    assert {"id": kid, "username": "batch1", "description": "nightly exchange", "revoked": False} in keys
    for k in keys:
        assert set(k) == {"id", "username", "description", "revoked"}

    # a wrong secret with a real id
    wrong = f"cfk_{kid}." + ("A" if secret[0] != "A" else "B") + secret[1:]
    assert_problem(d.client(wrong).get("/v1/me"), 401, "unauthenticated")

    # a technical key acts for its organization only
    assert_problem(d.client(key).get("/v1/orgs/ville/collections"), 403, "wrong-organization")

    r = sm.delete(f"/v1/orgs/cpas/api-keys/{kid}")
    assert_status(r, 204)
    assert r.content == b""
    assert_problem(d.client(key).get("/v1/me"), 401, "unauthenticated")
    keys = sm.get("/v1/orgs/cpas/api-keys").json()["api_keys"]
    assert {"id": kid, "username": "batch1", "description": "nightly exchange", "revoked": True} in keys
    assert_problem(sm.delete("/v1/orgs/cpas/api-keys/nosuchkey"), 404, "not-found")


def test_api_key_of_another_org_cannot_be_revoked(world):
    sm_v = world.sm["ville"]
    create_user(sm_v, "ville", "batch_v", ["technical"])
    r = sm_v.post("/v1/orgs/ville/api-keys", {"username": "batch_v"})
    assert_status(r, 201)
    kid, key = r.json()["id"], r.json()["key"]
    assert_problem(world.sm["cpas"].delete(f"/v1/orgs/ville/api-keys/{kid}"), 403, "wrong-organization")
    assert_problem(world.sm["cpas"].delete(f"/v1/orgs/cpas/api-keys/{kid}"), 404, "not-found")
    assert_status(world.daemon.client(key).get("/v1/me"), 200)
