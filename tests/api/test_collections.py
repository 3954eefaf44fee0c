"""Collections (the data inventory) and role grants."""

import copy

import pytest

from conftest import (AGENT_GRANTS, RECEPTION_GRANTS, SOCIAL_AID, assert_problem, assert_status, next_nid)

COLL = "/v1/orgs/cpas/collections"


def coll_def(**over):
    d = copy.deepcopy(SOCIAL_AID)
    d.update(over)
    return d


def test_example_collection_declared(world):
    sm = world.sm["cpas"]
    r = sm.get(f"{COLL}/social_aid")
    assert_status(r, 200)
    body = r.json()
    assert set(body) == {"name", "version", "definition"}
    assert body["name"] == "social_aid"
    assert body["version"] >= 1
    d = body["definition"]
    assert set(d["fields"]) == set(SOCIAL_AID["fields"])
    for name, f in SOCIAL_AID["fields"].items():
        for k, v in f.items():
            assert d["fields"][name][k] == v, (name, k)
    assert d["fields"]["birth_date"].get("required", False) is False
    assert set(d["purposes"]) == set(SOCIAL_AID["purposes"])
    for p, decl in SOCIAL_AID["purposes"].items():
        for k, v in decl.items():
            assert d["purposes"][p][k] == v, (p, k)
    assert d["retention"] == "P10Y"
    assert d.get("retention_start", "created") == "created"


def test_put_bumps_version_and_members_can_read(world):
    sm = world.sm["cpas"]
    small = {"fields": {"label": {"type": "string", "category": "other"}},
             "purposes": {"testing": {"legal_basis": "GDPR art. 6.1.e"}},
             "retention": "P30D"}
    r1 = sm.put(f"{COLL}/versioned", small)
    assert_status(r1, 200)
    b1 = r1.json()
    assert set(b1) == {"name", "version", "definition"}
    assert (b1["name"], b1["version"]) == ("versioned", 1)
    assert b1["definition"]["retention"] == "P30D"
    assert b1["definition"]["fields"]["label"]["type"] == "string"
    r2 = sm.put(f"{COLL}/versioned", dict(small, retention="P1Y6M"))
    assert_status(r2, 200)
    assert r2.json()["version"] == 2
    assert r2.json()["definition"]["retention"] == "P1Y6M"

    r = world.alice.get(COLL)
    assert_status(r, 200)
    cols = r.json()["collections"]
    assert {"name": "versioned", "version": 2} in cols
    assert [c["name"] for c in cols] == sorted(c["name"] for c in cols)
    for c in cols:
        assert set(c) == {"name", "version"}
    r = world.alice.get(f"{COLL}/versioned")
    assert_status(r, 200)
    assert r.json() == r2.json()
    assert_problem(world.alice.get(f"{COLL}/nosuchcollection"), 404, "not-found")


def test_only_security_manager_declares(world):
    assert_problem(world.alice.put(f"{COLL}/by_agent", SOCIAL_AID), 403, "forbidden")
    assert_problem(world.admin.put(f"{COLL}/by_admin", SOCIAL_AID), 403, "forbidden")
    assert_problem(world.sm["ville"].put(f"{COLL}/by_other_sm", SOCIAL_AID), 403, "wrong-organization")
    assert_problem(world.alice.get(f"{COLL}/by_agent"), 404, "not-found")


def _field(**over):
    f = {"type": "string", "category": "identity"}
    f.update(over)
    return f


BAD_DEFINITIONS = [
    ("unknown-type", coll_def(fields={"x": _field(type="blob")}), "invalid-value"),
    ("unknown-category", coll_def(fields={"x": _field(category="secret")}), "invalid-value"),
    ("bad-retention-text", coll_def(retention="10 years"), "invalid-value"),
    ("bad-retention-empty", coll_def(retention="P"), "invalid-value"),
    ("bad-retention-fraction", coll_def(retention="P1.5Y"), "invalid-value"),
    ("unknown-top-key", coll_def(colour="blue"), "unknown-key"),
    ("unknown-field-key", coll_def(fields={"x": _field(encrypted=False)}), "unknown-key"),
    ("unknown-purpose-key", coll_def(purposes={"p": {"legal_basis": "x", "consent": True}}), "unknown-key"),
    ("missing-retention", {k: v for k, v in SOCIAL_AID.items() if k != "retention"}, "missing-key"),
    ("missing-type", coll_def(fields={"x": {"category": "identity"}}), "missing-key"),
    ("missing-legal-basis", coll_def(purposes={"p": {"description": "no basis"}}), "missing-key"),
    ("fields-not-object", coll_def(fields=["first_name"]), "wrong-type"),
    ("required-not-bool", coll_def(fields={"x": _field(required="yes")}), "wrong-type"),
    ("no-fields", coll_def(fields={}), "invalid-value"),
    ("no-purposes", coll_def(purposes={}), "invalid-value"),
    ("enum-without-values", coll_def(fields={"x": _field(type="enum")}), "missing-key"),
    ("bad-field-name", coll_def(fields={"First Name": _field()}), "invalid-value"),
    ("bad-purpose-name", coll_def(purposes={"Social Aid": {"legal_basis": "x"}}), "invalid-value"),
    ("bad-retention-start", coll_def(retention_start="first_name"), "invalid-value"),
]


@pytest.mark.parametrize("name,definition,slug", BAD_DEFINITIONS, ids=[b[0] for b in BAD_DEFINITIONS])
def test_invalid_definitions(world, name, definition, slug):
    r = world.sm["cpas"].put(f"{COLL}/bad_{name.replace('-', '_')}", definition)
    assert_problem(r, 400, slug)
    assert_problem(world.sm["cpas"].get(f"{COLL}/bad_{name.replace('-', '_')}"), 404, "not-found")


@pytest.mark.parametrize("cname", ["Social", "1abc", "a-b"])
def test_invalid_collection_name(world, cname):
    assert_problem(world.sm["cpas"].put(f"{COLL}/{cname}", SOCIAL_AID), 400, "invalid-value")


# ---- grants ---------------------------------------------------------------

GRANTS = "/v1/orgs/cpas/roles"


def test_example_grants(world):
    sm = world.sm["cpas"]
    r = sm.get(f"{GRANTS}/agent/grants")
    assert_status(r, 200)
    body = r.json()
    assert set(body) == {"role", "grants"}
    assert body["role"] == "agent"
    assert len(body["grants"]) == 1
    g = body["grants"][0]
    for k, v in AGENT_GRANTS[0].items():
        assert sorted(g[k]) == sorted(v) if isinstance(v, list) else g[k] == v, (k, g)

    r = sm.put(f"{GRANTS}/statistician/grants",
               [{"collection": "social_aid", "actions": ["read"], "purposes": ["statistics"],
                 "categories": ["financial", "social"]}])
    assert_status(r, 200)
    assert r.json()["role"] == "statistician"
    assert sorted(r.json()["grants"][0]["categories"]) == ["financial", "social"]
    # replacing with an empty list removes the grants
    r = sm.put(f"{GRANTS}/statistician/grants", [])
    assert_status(r, 200)
    assert r.json() == {"role": "statistician", "grants": []}


def test_reception_grant_limited(world):
    r = world.sm["cpas"].get(f"{GRANTS}/reception/grants")
    assert_status(r, 200)
    assert r.json()["grants"][0]["fields"] == RECEPTION_GRANTS[0]["fields"]


BAD_GRANTS = [
    ("unknown-collection", [dict(AGENT_GRANTS[0], collection="nosuch")], "invalid-value"),
    ("unknown-field", [dict(AGENT_GRANTS[0], fields=["first_name", "shoe_size"])], "invalid-value"),
    ("unknown-purpose", [dict(AGENT_GRANTS[0], purposes=["marketing"])], "invalid-value"),
    ("unknown-action", [dict(AGENT_GRANTS[0], actions=["read", "export"])], "invalid-value"),
    ("unknown-category", [{"collection": "social_aid", "actions": ["read"], "purposes": ["social-aid"],
                           "categories": ["gossip"]}], "invalid-value"),
    ("no-actions", [dict(AGENT_GRANTS[0], actions=[])], "invalid-value"),
    ("no-purposes", [dict(AGENT_GRANTS[0], purposes=[])], "invalid-value"),
    ("no-fields-or-categories", [{"collection": "social_aid", "actions": ["read"], "purposes": ["social-aid"]}],
     "missing-key"),
    ("unknown-key", [dict(AGENT_GRANTS[0], until="2030-01-01")], "unknown-key"),
    ("missing-collection", [{"actions": ["read"], "purposes": ["social-aid"], "fields": ["*"]}], "missing-key"),
    ("not-an-array", AGENT_GRANTS[0], "wrong-type"),
    ("actions-not-array", [dict(AGENT_GRANTS[0], actions="read")], "wrong-type"),
]


@pytest.mark.parametrize("name,grants,slug", BAD_GRANTS, ids=[b[0] for b in BAD_GRANTS])
def test_invalid_grants(world, name, grants, slug):
    sm = world.sm["cpas"]
    r = sm.put(f"{GRANTS}/agent/grants", grants)
    assert_problem(r, 400, slug)
    # the existing grants are untouched
    r = sm.get(f"{GRANTS}/agent/grants")
    assert_status(r, 200)
    assert len(r.json()["grants"]) == 1
    assert r.json()["grants"][0]["collection"] == "social_aid"


@pytest.mark.parametrize("role", ["security_manager", "auditor"])
def test_no_grants_on_privileged_roles(world, role):
    r = world.sm["cpas"].put(f"{GRANTS}/{role}/grants", AGENT_GRANTS)
    assert_problem(r, 403, "forbidden")


def test_only_security_manager_sets_grants(world):
    assert_problem(world.alice.put(f"{GRANTS}/agent/grants", AGENT_GRANTS), 403, "forbidden")
    assert_problem(world.alice.get(f"{GRANTS}/agent/grants"), 403, "forbidden")
    assert_problem(world.admin.put(f"{GRANTS}/agent/grants", AGENT_GRANTS), 403, "forbidden")
    assert_problem(world.sm["ville"].get(f"{GRANTS}/agent/grants"), 403, "wrong-organization")


def test_changes_apply_to_the_very_next_request(world):
    """Definitions and grants are parsed once and shared between requests:
    a change must still decide the next request, every time."""
    sm, alice = world.sm["cpas"], world.alice
    small = {"fields": {"label": {"type": "string", "category": "other"}},
             "purposes": {"social-aid": {"legal_basis": "organic law on welfare centres, art. 60"}},
             "retention": "P30D"}
    extra = {"collection": "shared_parse", "actions": ["read", "write"], "purposes": ["social-aid"],
             "fields": ["*"]}
    records = "/v1/orgs/cpas/collections/shared_parse/records"
    assert_status(sm.put(f"{COLL}/shared_parse", small), 200)
    try:
        assert_status(sm.put(f"{GRANTS}/agent/grants", AGENT_GRANTS + [extra]), 200)
        r = alice.post(records, {"subject": {"national_id": next_nid()}, "fields": {"label": "a"}},
                       purpose="social-aid")
        assert_status(r, 201)
        rid = r.json()["id"]
        for _ in range(3):
            assert_status(alice.get(f"{records}/{rid}", purpose="social-aid"), 200)
            assert_status(sm.put(f"{GRANTS}/agent/grants", AGENT_GRANTS), 200)
            assert_problem(alice.get(f"{records}/{rid}", purpose="social-aid"), 403, "forbidden")
            assert_status(sm.put(f"{GRANTS}/agent/grants", AGENT_GRANTS + [extra]), 200)
        # a field the definition does not have yet is refused, and accepted once it has it
        body = {"subject": {"national_id": next_nid()}, "fields": {"label": "b", "note": "n"}}
        assert_status(alice.post(records, body, purpose="social-aid"), 400)
        with_note = copy.deepcopy(small)
        with_note["fields"]["note"] = {"type": "string", "category": "other"}
        assert_status(sm.put(f"{COLL}/shared_parse", with_note), 200)
        r = alice.post(records, body, purpose="social-aid")
        assert_status(r, 201)
        assert alice.get(f"{records}/{r.json()['id']}", purpose="social-aid").json()["fields"]["note"] == "n"
        # and the change back is seen as well
        assert_status(sm.put(f"{COLL}/shared_parse", small), 200)
        assert_status(alice.post(records, dict(body, subject={"national_id": next_nid()}), purpose="social-aid"),
                      400)
    finally:
        assert_status(sm.put(f"{GRANTS}/agent/grants", AGENT_GRANTS), 200)
