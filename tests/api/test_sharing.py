"""Organizations working together (seed 004): a social-welfare centre (cpas)
and its municipality (commune) share staff and, under a recorded agreement,
an address file; social data stays refused without one. Also the
confidentiality commitment (seed norm 7.1)."""

import json

import pytest

from conftest import (assert_problem, assert_status, create_org, create_security_manager, create_user, next_nid,
                      password_for, records_path)

ADDR = {
    "fields": {
        "first_name": {"type": "string", "category": "identity", "required": True, "max_length": 100},
        "last_name": {"type": "string", "category": "identity", "required": True, "max_length": 100},
        "street": {"type": "string", "category": "contact", "max_length": 200},
        "postal_code": {"type": "postal_code", "category": "contact"},
        "aid_amount": {"type": "integer", "category": "financial"},
        "case_notes": {"type": "string", "category": "social", "max_length": 2000},
    },
    "purposes": {"social-aid": {"legal_basis": "organic law on welfare centres, art. 60"}},
    "retention": "P10Y",
}
SOCIAL = {
    "fields": {"situation": {"type": "string", "category": "social", "max_length": 500}},
    "purposes": {"social-aid": {"legal_basis": "organic law on welfare centres, art. 60"}},
    "retention": "P10Y",
}
P_CPAS = "social-aid"
P_SHARE = "address-check"


class Scenario:
    def __init__(self, daemon):
        self.d = daemon
        self.admin = daemon.admin()
        create_org(self.admin, "cpas", "CPAS")
        create_org(self.admin, "commune", "Commune")
        self.sm_cpas = create_security_manager(daemon, self.admin, "cpas", "sm_cpas")
        self.sm_com = create_security_manager(daemon, self.admin, "commune", "sm_commune")
        assert_status(self.sm_cpas.put("/v1/orgs/cpas/collections/social_aid", ADDR), 200)
        assert_status(self.sm_cpas.put("/v1/orgs/cpas/collections/social_file", SOCIAL), 200)
        assert_status(self.sm_cpas.put("/v1/orgs/cpas/roles/agent/grants", [
            {"collection": "social_aid", "actions": ["read", "write"], "purposes": [P_CPAS], "fields": ["*"]},
            {"collection": "social_file", "actions": ["read", "write"], "purposes": [P_CPAS], "fields": ["*"]}]), 200)
        # shared staff: marc is an agent at the cpas and a population clerk at the commune
        create_user(self.sm_cpas, "cpas", "marc", ["agent"])
        create_user(self.sm_com, "commune", "marc", ["population"], password=None)
        create_user(self.sm_com, "commune", "zoe", ["clerk"])
        create_user(self.sm_cpas, "cpas", "aud_cpas", ["auditor"])
        create_user(self.sm_com, "commune", "aud_commune", ["auditor"])
        create_user(self.sm_cpas, "cpas", "dpo_cpas", ["dpo"])
        r = self.admin.post("/v1/users", {"username": "authority", "password": password_for("authority"),
                                          "roles": ["authority"]})
        assert_status(r, 201)
        self.authority = daemon.login("authority", password_for("authority"))
        self.marc_cpas = daemon.login("marc", password_for("marc"), "cpas")
        self.marc_com = daemon.login("marc", password_for("marc"), "commune")
        self.zoe = daemon.login("zoe", password_for("zoe"), "commune")
        self.nid = next_nid()
        r = self.marc_cpas.post(records_path("cpas"), {"subject": {"national_id": self.nid}, "fields": {
            "first_name": "Jeanne", "last_name": "Dupont", "street": "Rue Haute 12", "postal_code": "5000",
            "aid_amount": 950, "case_notes": "CANARY-NOTES"}}, purpose=P_CPAS)
        assert_status(r, 201)
        self.rec = r.json()
        r = self.marc_cpas.post(records_path("cpas", c="social_file"), {"subject": {"national_id": self.nid},
                                                                        "fields": {"situation": "difficult"}},
                                purpose=P_CPAS)
        assert_status(r, 201)
        self.social = r.json()

    def agreement(self, **over):
        body = {"provider": "cpas", "consumer": "commune", "collection": "social_aid",
                "fields": ["first_name", "last_name", "street", "postal_code"], "purposes": [P_SHARE],
                "legal_basis": "deliberation 14/082", "valid_from": "2026-01-01", "valid_until": "2027-12-31"}
        body.update(over)
        r = self.authority.post("/v1/agreements", body)
        assert_status(r, 201)
        return r.json()

    def grant(self, role, agreements):
        r = self.sm_com.put(f"/v1/orgs/commune/roles/{role}/grants",
                            [{"agreement": a, "actions": ["read"], "purposes": [P_SHARE]} for a in agreements])
        assert_status(r, 200)


@pytest.fixture(scope="module")
def s(daemon):
    return Scenario(daemon)


def test_no_agreement_no_access(s):
    assert_problem(s.marc_com.get(records_path("cpas", s.rec["id"]), purpose=P_SHARE), 403, "wrong-organization")
    assert_problem(s.marc_com.post("/v1/orgs/cpas/subjects/lookup", {"national_id": s.nid}, purpose=P_SHARE), 403,
                   "wrong-organization")


def test_only_the_authority_records_agreements(s):
    body = {"provider": "cpas", "consumer": "commune", "collection": "social_aid", "fields": ["street"],
            "purposes": [P_SHARE], "legal_basis": "x", "valid_from": "2026-01-01", "valid_until": "2027-01-01"}
    for who in (s.admin, s.sm_cpas, s.sm_com, s.marc_cpas):
        assert_problem(who.post("/v1/agreements", body), 403, "forbidden")
    bad = [dict(body, provider="nope"), dict(body, consumer="cpas"), dict(body, collection="nope"),
           dict(body, fields=["nope"]), dict(body, valid_until="2025-01-01"), dict(body, valid_from="2026-02-30"),
           dict(body, purposes=[]), dict(body, max_accesses=0)]
    for b in bad:
        assert_problem(s.authority.post("/v1/agreements", b), 400, "invalid-value")
    b = dict(body)
    del b["fields"]
    assert_problem(s.authority.post("/v1/agreements", b), 400, "missing-key")
    assert_problem(s.authority.post("/v1/agreements", dict(body, extra=1)), 400, "unknown-key")


def test_shared_read_under_agreement(s):
    ag = s.agreement()
    assert ag["status"] == "active" and ag["accesses"] == 0 and ag["max_accesses"] is None
    # the consumer's security manager decides which role may use it
    assert_problem(s.marc_com.get(records_path("cpas", s.rec["id"]), purpose=P_SHARE), 403, "forbidden")
    s.grant("population", [ag["id"]])
    r = s.marc_com.get(records_path("cpas", s.rec["id"]), purpose=P_SHARE)
    assert_status(r, 200)
    assert r.json()["fields"] == {"first_name": "Jeanne", "last_name": "Dupont", "street": "Rue Haute 12",
                                  "postal_code": "5000"}
    assert "CANARY-NOTES" not in r.text and "aid_amount" not in r.json()["fields"]
    # named explicitly
    assert_status(s.marc_com.get(records_path("cpas", s.rec["id"]), purpose=P_SHARE,
                                 headers={"X-Agreement": ag["id"]}), 200)
    assert_problem(s.marc_com.get(records_path("cpas", s.rec["id"]), purpose=P_SHARE,
                                  headers={"X-Agreement": "ag_other"}), 403, "agreement-required")
    # outside the agreement: other purpose, other collection, a role without the grant, writes
    assert_problem(s.marc_com.get(records_path("cpas", s.rec["id"]), purpose="taxes"), 403, "purpose-not-allowed")
    assert_problem(s.marc_com.get(records_path("cpas", s.rec["id"]), purpose=None), 400, "purpose-required")
    assert_problem(s.marc_com.get(records_path("cpas", s.social["id"], c="social_file"), purpose=P_SHARE), 403,
                   "agreement-required")
    assert_problem(s.zoe.get(records_path("cpas", s.rec["id"]), purpose=P_SHARE), 403, "forbidden")
    assert_problem(s.marc_com.patch(records_path("cpas", s.rec["id"]), {"fields": {"street": "x"}}, purpose=P_SHARE),
                   403, "wrong-organization")
    assert_problem(s.marc_com.delete(records_path("cpas", s.rec["id"]), purpose=P_SHARE), 403, "wrong-organization")
    # lookup under the agreement lists only the agreed collection's records
    r = s.marc_com.post("/v1/orgs/cpas/subjects/lookup", {"national_id": s.nid}, purpose=P_SHARE)
    assert_status(r, 200)
    assert [x["collection"] for x in r.json()["records"]] == ["social_aid"]
    # the same person acting for the cpas reads everything the agent grant allows
    r = s.marc_cpas.get(records_path("cpas", s.rec["id"]), purpose=P_CPAS)
    assert_status(r, 200)
    assert r.json()["fields"]["case_notes"] == "CANARY-NOTES"


def audit_of(client):
    r = client.get("/v1/audit/checkpoint")
    assert_status(r, 200)
    size = int(r.text.split("\n")[1])
    out, start = [], 0
    while start < size:
        r = client.get(f"/v1/audit/entries?start={start}&end={min(size, start + 1000)}")
        assert_status(r, 200)
        out += [json.loads(e["entry"]) for e in r.json()["entries"]]
        start += 1000
    return out


def test_shared_access_audited_for_both_organizations(s):
    ag = s.agreement(fields=["street"])
    s.grant("population", [ag["id"]])
    assert_status(s.marc_com.get(records_path("cpas", s.rec["id"]), purpose=P_SHARE,
                                 headers={"X-Agreement": ag["id"]}), 200)
    for who in ("aud_cpas", "aud_commune"):
        org = "cpas" if who == "aud_cpas" else "commune"
        aud = s.d.login(who, password_for(who), org)
        mine = [e for e in audit_of(aud) if e.get("agreement") == ag["id"] and e["action"] == "record.read"]
        assert mine, who
        e = mine[-1]
        assert e["actor"]["org"] == "commune" and e["actor"]["role"] == "population"
        assert e["resource"]["org"] == "cpas" and e["resource"]["subject"] == s.rec["subject"]
        assert e["legal_basis"] == "deliberation 14/082" and e["purpose"] == P_SHARE
        assert e["fields"] == ["street"]
    # the citizen's access report: organization B consulted data held by A for purpose P under authorization D
    dpo = s.d.login("dpo_cpas", password_for("dpo_cpas"), "cpas")
    r = dpo.get(f"/v1/orgs/cpas/subjects/{s.rec['subject']}/access-log")
    assert_status(r, 200)
    shared = [e for e in r.json()["entries"] if e["why"].get("agreement") == ag["id"]]
    assert shared and shared[-1]["who"] == {"org": "commune", "role": "population"}
    assert shared[-1]["why"]["purpose"] == P_SHARE
    assert "marc" not in r.text


def test_suspend_resume_revoke(s):
    ag = s.agreement()
    s.grant("population", [ag["id"]])
    path = records_path("cpas", s.rec["id"])
    hdr = {"X-Agreement": ag["id"]}
    assert_status(s.marc_com.get(path, purpose=P_SHARE, headers=hdr), 200)
    assert_problem(s.sm_cpas.post(f"/v1/agreements/{ag['id']}/suspend"), 403, "forbidden")
    assert_status(s.authority.post(f"/v1/agreements/{ag['id']}/suspend"), 200)
    r = s.marc_com.get(path, purpose=P_SHARE, headers=hdr)
    assert_problem(r, 403, "agreement-required")
    assert "suspended" in r.json()["detail"]
    assert_status(s.authority.post(f"/v1/agreements/{ag['id']}/resume"), 200)
    assert_status(s.marc_com.get(path, purpose=P_SHARE, headers=hdr), 200)
    r = s.authority.post(f"/v1/agreements/{ag['id']}/revoke")
    assert_status(r, 200)
    assert r.json()["status"] == "revoked"
    r = s.marc_com.get(path, purpose=P_SHARE, headers=hdr)
    assert_problem(r, 403, "agreement-required")
    assert "revoked" in r.json()["detail"]
    assert_problem(s.authority.post(f"/v1/agreements/{ag['id']}/resume"), 409, "conflict")
    # a revoked agreement cannot be granted any more
    r = s.sm_com.put("/v1/orgs/commune/roles/population/grants",
                     [{"agreement": ag["id"], "actions": ["read"], "purposes": [P_SHARE]}])
    assert_problem(r, 400, "invalid-value")


def test_expired_and_future_agreements(s):
    old = s.agreement(valid_from="2020-01-01", valid_until="2021-12-31")
    future = s.agreement(valid_from="2099-01-01", valid_until="2099-12-31")
    s.grant("population", [old["id"], future["id"]])
    r = s.marc_com.get(records_path("cpas", s.rec["id"]), purpose=P_SHARE, headers={"X-Agreement": old["id"]})
    assert_problem(r, 403, "agreement-required")
    assert "expired" in r.json()["detail"]
    r = s.marc_com.get(records_path("cpas", s.rec["id"]), purpose=P_SHARE, headers={"X-Agreement": future["id"]})
    assert_problem(r, 403, "agreement-required")
    assert "not yet valid" in r.json()["detail"]


def test_volume_cap(s):
    ag = s.agreement(max_accesses=2)
    s.grant("population", [ag["id"]])
    hdr = {"X-Agreement": ag["id"]}
    for _ in range(2):
        assert_status(s.marc_com.get(records_path("cpas", s.rec["id"]), purpose=P_SHARE, headers=hdr), 200)
    r = s.marc_com.get(records_path("cpas", s.rec["id"]), purpose=P_SHARE, headers=hdr)
    assert_problem(r, 403, "agreement-cap-reached")
    assert "Jeanne" not in r.text
    r = s.authority.get(f"/v1/agreements/{ag['id']}")
    assert_status(r, 200)
    assert r.json()["accesses"] == 2


def test_agreement_visibility_and_flows_report(s):
    ag = s.agreement(fields=["postal_code"])
    s.grant("population", [ag["id"]])
    assert_status(s.marc_com.get(records_path("cpas", s.rec["id"]), purpose=P_SHARE,
                                 headers={"X-Agreement": ag["id"]}), 200)
    assert_status(s.authority.get("/v1/agreements"), 200)
    assert_problem(s.sm_cpas.get("/v1/agreements"), 403, "forbidden")
    r = s.sm_cpas.get("/v1/orgs/cpas/agreements")
    assert_status(r, 200)
    assert ag["id"] in [a["id"] for a in r.json()["agreements"]]
    assert_problem(s.sm_cpas.get("/v1/orgs/commune/agreements"), 403, "wrong-organization")
    assert_status(s.sm_com.get(f"/v1/agreements/{ag['id']}"), 200)
    r = s.authority.get("/v1/reports/flows")
    assert_status(r, 200)
    flow = next(f for f in r.json()["flows"] if f["agreement"] == ag["id"])
    assert flow["provider"] == "cpas" and flow["consumer"] == "commune" and flow["accesses"] == 1
    assert flow["fields"] == ["postal_code"] and flow["legal_basis"] == "deliberation 14/082"
    assert_problem(s.sm_cpas.get("/v1/reports/flows"), 403, "forbidden")
    assert_problem(s.authority.get("/v1/reports/flows?from=2026-13-01"), 400, "invalid-value")


def test_staff_act_for_the_right_organization(s):
    """One person, two memberships: each token acts for exactly one organization."""
    r = s.marc_cpas.get("/v1/me")
    assert r.json()["org"] == "cpas" and r.json()["roles"] == ["agent"]
    r = s.marc_com.get("/v1/me")
    assert r.json()["org"] == "commune" and r.json()["roles"] == ["population"]
    # the commune token cannot use the cpas agent role
    assert_problem(s.marc_com.post(records_path("cpas"), {"subject": {"national_id": next_nid()},
                                                          "fields": {"first_name": "a", "last_name": "b"}},
                                   purpose=P_CPAS), 403, "wrong-organization")


def test_confidentiality_commitment(s):
    path = records_path("cpas", s.rec["id"])
    assert_status(s.marc_cpas.get(path, purpose=P_CPAS), 200)
    assert_problem(s.marc_cpas.put("/v1/orgs/cpas/commitment", {"text": "I keep it secret."}), 403, "forbidden")
    r = s.sm_cpas.put("/v1/orgs/cpas/commitment", {"text": "I keep what I learn here secret."})
    assert_status(r, 200)
    assert r.json()["version"] == 1
    r = s.marc_cpas.get(path, purpose=P_CPAS)
    assert_problem(r, 403, "commitment-required")
    assert "Jeanne" not in r.text
    r = s.marc_cpas.get("/v1/me/commitment")
    assert_status(r, 200)
    assert r.json()["version"] == 1 and r.json()["accepted"] is False
    assert_problem(s.marc_cpas.post("/v1/me/commitment/accept", {"version": 2}), 409, "version-conflict")
    assert_status(s.marc_cpas.post("/v1/me/commitment/accept", {"version": 1}), 200)
    assert_status(s.marc_cpas.get(path, purpose=P_CPAS), 200)
    # a new version requires acceptance again
    assert_status(s.sm_cpas.put("/v1/orgs/cpas/commitment", {"text": "Version two."}), 200)
    assert_problem(s.marc_cpas.get(path, purpose=P_CPAS), 403, "commitment-required")
    assert_status(s.marc_cpas.post("/v1/me/commitment/accept", {"version": 2}), 200)
    assert_status(s.marc_cpas.get(path, purpose=P_CPAS), 200)
    # the commune has no commitment: its members are not blocked by the cpas's
    assert s.marc_com.get("/v1/me/commitment").json()["version"] is None
    # acceptances are audited
    aud = s.d.login("aud_cpas", password_for("aud_cpas"), "cpas")
    actions = [e["action"] for e in audit_of(aud)]
    assert actions.count("commitment.accept") >= 2 and actions.count("commitment.put") >= 2
    denied = [e for e in audit_of(aud) if e.get("reason", "").startswith("accept version")]
    assert denied
