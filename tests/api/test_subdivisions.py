"""Subdivisions reach their members: a blocked subdivision blocks them, and
the collections ("applications") associated with a subdivision are the only
ones its members reach, whatever their grants."""

from conftest import (AGENT_GRANTS, SOCIAL_AID, assert_problem, assert_status, create_org, create_security_manager,
                      create_user, next_nid, password_for, records_path, record_fields)

P = "social-aid"
OTHER = {"fields": {"note": {"type": "string", "category": "social", "max_length": 100}},
         "purposes": {P: {"legal_basis": "organic law on welfare centres, art. 60"}}, "retention": "P1Y"}


def test_subdivision_block_and_applications(daemon):
    admin = daemon.admin()
    create_org(admin, "sub_org")
    sm = create_security_manager(daemon, admin, "sub_org", "sm_sub")
    assert_status(sm.put("/v1/orgs/sub_org/collections/social_aid", SOCIAL_AID), 200)
    assert_status(sm.put("/v1/orgs/sub_org/collections/other_app", OTHER), 200)
    grants = AGENT_GRANTS + [{"collection": "other_app", "actions": ["read", "write"], "purposes": [P],
                              "fields": ["*"]}]
    assert_status(sm.put("/v1/orgs/sub_org/roles/agent/grants", grants), 200)
    assert_status(sm.put("/v1/orgs/sub_org/domains/social", {"name": "Social action"}), 200)
    r = sm.put("/v1/orgs/sub_org/domains/social/subdivisions/antenna", {"name": "Antenna", "collections": ["social_aid"]})
    assert_status(r, 200)
    assert r.json()["collections"] == ["social_aid"] and r.json()["blocked"] is False
    create_user(sm, "sub_org", "ana", ["agent"])
    body = {"username": "bea", "password": password_for("bea"), "roles": ["agent"], "domain": "social",
            "subdivision": "antenna"}
    assert_status(sm.post("/v1/orgs/sub_org/users", body), 201)
    ana = daemon.login("ana", password_for("ana"), "sub_org")
    bea = daemon.login("bea", password_for("bea"), "sub_org")
    # the subdivision's applications: social_aid yes, other_app no (ana, outside any subdivision, reaches both)
    r = bea.post(records_path("sub_org"), {"subject": {"national_id": next_nid()}, "fields": record_fields()},
                 purpose=P)
    assert_status(r, 201)
    other = {"subject": {"national_id": next_nid()}, "fields": {"note": "n"}}
    assert_problem(bea.post(records_path("sub_org", c="other_app"), other, purpose=P), 403, "forbidden")
    assert_status(ana.post(records_path("sub_org", c="other_app"), other, purpose=P), 201)
    # blocking the subdivision blocks its members at once, not the others
    assert_status(sm.put("/v1/orgs/sub_org/domains/social/subdivisions/antenna",
                         {"name": "Antenna", "collections": ["social_aid"], "blocked": True}), 200)
    assert_problem(bea.get("/v1/me"), 403, "account-blocked")
    assert_problem(daemon.client().post("/v1/auth/login", {"username": "bea", "password": password_for("bea"),
                                                           "org": "sub_org"}), 403, "account-blocked")
    assert_status(ana.get("/v1/me"), 200)
    assert_status(sm.put("/v1/orgs/sub_org/domains/social/subdivisions/antenna",
                         {"name": "Antenna", "collections": ["social_aid"], "blocked": False}), 200)
    assert_status(bea.get("/v1/me"), 200)


def test_member_access_to_collections(daemon):
    """A manager changes a member's "access to collections": the member then reaches only those."""
    admin = daemon.admin()
    create_org(admin, "acc_org")
    sm = create_security_manager(daemon, admin, "acc_org", "sm_acc")
    assert_status(sm.put("/v1/orgs/acc_org/collections/social_aid", SOCIAL_AID), 200)
    assert_status(sm.put("/v1/orgs/acc_org/collections/other_app", OTHER), 200)
    grants = AGENT_GRANTS + [{"collection": "other_app", "actions": ["read", "write"], "purposes": [P],
                              "fields": ["*"]}]
    assert_status(sm.put("/v1/orgs/acc_org/roles/agent/grants", grants), 200)
    create_user(sm, "acc_org", "cleo", ["agent"])
    cleo = daemon.login("cleo", password_for("cleo"), "acc_org")
    other = {"subject": {"national_id": next_nid()}, "fields": {"note": "n"}}
    assert_status(cleo.post(records_path("acc_org", c="other_app"), other, purpose=P), 201)
    assert_problem(sm.patch("/v1/orgs/acc_org/users/cleo", {"collections": ["nope"]}), 400, "invalid-value")
    assert_problem(sm.patch("/v1/orgs/acc_org/users/cleo", {"collections": "social_aid"}), 400, "wrong-type")
    r = sm.patch("/v1/orgs/acc_org/users/cleo", {"collections": ["social_aid"]})
    assert_status(r, 200)
    assert r.json()["collections"] == ["social_aid"]
    assert_problem(cleo.post(records_path("acc_org", c="other_app"), other, purpose=P), 403, "forbidden")
    r = cleo.post(records_path("acc_org"), {"subject": {"national_id": next_nid()}, "fields": record_fields()},
                  purpose=P)
    assert_status(r, 201)
    # nobody changes their own access
    assert_problem(cleo.patch("/v1/orgs/acc_org/users/cleo", {"collections": None}), 403, "forbidden")
    r = sm.patch("/v1/orgs/acc_org/users/cleo", {"collections": None})
    assert_status(r, 200)
    assert "collections" not in r.json()
    assert_status(cleo.post(records_path("acc_org", c="other_app"), other, purpose=P), 201)
