"""Citizens' rights (issue 5, first part): the DPO's export of everything
held about a subject, erasure requests decided with a reason, legal holds
that suspend erasure, crypto-shredding that no restored copy of the record
store undoes, and an audit trail that still verifies."""

import shutil
import subprocess

import pytest

import c2sp
from conftest import (AGENT_GRANTS, COFFRE_BIN, SOCIAL_AID, START_TIMEOUT, assert_problem, assert_status, create_org,
                      create_security_manager, create_user, daemon_env, next_nid, password_for, records_path,
                      record_fields)

P = "social-aid"
CANARY = "Zorglub-Erasure-Canary"


class Rights:
    def __init__(self, d):
        self.d = d
        admin = d.admin()
        create_org(admin, "cpas")
        self.sm = create_security_manager(d, admin, "cpas", "sm_r")
        assert_status(self.sm.put("/v1/orgs/cpas/collections/social_aid", SOCIAL_AID), 200)
        assert_status(self.sm.put("/v1/orgs/cpas/roles/agent/grants", AGENT_GRANTS), 200)
        create_user(self.sm, "cpas", "alice_r", ["agent"])
        create_user(self.sm, "cpas", "dora_r", ["dpo"])
        r = admin.post("/v1/users", {"username": "insp_r", "password": password_for("insp_r"), "roles": ["auditor"]})
        assert_status(r, 201)
        self.alice = d.login("alice_r", password_for("alice_r"), "cpas")
        self.dpo = d.login("dora_r", password_for("dora_r"), "cpas")
        self.inspector = d.login("insp_r", password_for("insp_r"))

    def record(self, nid=None, **over):
        nid = nid or next_nid()
        r = self.alice.post(records_path("cpas"), {"subject": {"national_id": nid}, "fields": record_fields(**over)},
                            purpose=P)
        assert_status(r, 201)
        return r.json(), nid


@pytest.fixture(scope="module")
def w(daemon):
    return Rights(daemon)


def subj(rec, tail=""):
    return f"/v1/orgs/cpas/subjects/{rec['subject']}{tail}"


def test_export_is_for_the_dpo_and_complete(w):
    rec, nid = w.record(first_name=CANARY)
    assert_status(w.alice.get(records_path("cpas", rec["id"]), purpose=P), 200)
    for who in (w.alice, w.sm):
        assert_problem(who.get(subj(rec, "/export")), 403, "forbidden")
    assert_problem(w.dpo.get("/v1/orgs/cpas/subjects/s_nobody000000000000000/export"), 404, "not-found")
    r = w.dpo.get(subj(rec, "/export"))
    assert_status(r, 200)
    body = r.json()
    assert body["subject"] == rec["subject"] and body["org"] == "cpas"
    (one,) = body["records"]
    assert one["id"] == rec["id"] and one["collection"] == "social_aid"
    assert one["fields"]["first_name"] == {"value": CANARY, "category": "identity"}
    assert one["fields"]["aid_amount"]["category"] == "financial"
    assert {"purpose": P, "legal_basis": SOCIAL_AID["purposes"][P]["legal_basis"]} in one["purposes"]
    assert one["retention"] == "P10Y"
    assert nid not in r.text
    actions = [e["action"] for e in body["access_report"]["entries"]]
    assert "record.create" in actions and "record.read" in actions and "subject.export" in actions


def test_erasure_with_hold_refusal_and_certificate(w, daemon, tmp_path):
    rec, nid = w.record(first_name=CANARY)
    # a copy of the record store from before the erasure
    daemon.stop()
    shutil.copy(daemon.data / "vault.db", tmp_path / "vault.db.before")
    daemon.start()
    w.alice = daemon.login("alice_r", password_for("alice_r"), "cpas")
    w.dpo = daemon.login("dora_r", password_for("dora_r"), "cpas")
    w.inspector = daemon.login("insp_r", password_for("insp_r"))

    assert_problem(w.alice.post(subj(rec, "/erasure-requests"), {}), 403, "forbidden")
    r = w.dpo.post(subj(rec, "/erasure-requests"), {"reason": "citizen's request of 2026-11-20"})
    assert_status(r, 201)
    req = r.json()
    assert req["status"] == "pending" and req["subject"] == rec["subject"]
    # a legal hold suspends erasure
    r = w.dpo.post(subj(rec, "/holds"), {"reason": "litigation 2026/117"})
    assert_status(r, 201)
    hold = r.json()["id"]
    approve = subj(rec, f"/erasure-requests/{req['id']}/approve")
    assert_problem(w.dpo.post(approve, {"reason": "no legal obligation to keep"}), 409, "legal-hold")
    assert_status(w.alice.get(records_path("cpas", rec["id"]), purpose=P), 200)
    assert_status(w.dpo.post(subj(rec, f"/holds/{hold}/release")), 200)
    assert_problem(w.dpo.post(subj(rec, f"/holds/{hold}/release")), 404, "not-found")
    assert_problem(w.dpo.post(approve, {}), 400, "missing-key")
    r = w.dpo.post(approve, {"reason": "no legal obligation to keep"})
    assert_status(r, 200)
    cert = r.json()["certificate"]
    assert cert["subject"] == rec["subject"] and cert["data_key_destroyed"] is True
    assert cert["blind_index_removed"] is True and cert["request"] == req["id"]
    assert r.json()["request"]["status"] == "approved"
    vkey = w.inspector.get("/v1/audit/key").text.strip()
    _, size, _ = c2sp.verify_checkpoint(cert["checkpoint"], vkey)
    assert size > cert["audit_index"]
    assert_problem(w.dpo.post(approve, {"reason": "again"}), 409, "conflict")

    # erased: cannot be read, found or exported
    r = w.alice.get(records_path("cpas", rec["id"]), purpose=P)
    assert_problem(r, 410, "erased")
    assert CANARY not in r.text
    assert_problem(w.alice.post("/v1/orgs/cpas/subjects/lookup", {"national_id": nid}, purpose=P), 404, "not-found")
    assert_problem(w.dpo.get(subj(rec, "/export")), 410, "erased")
    # the same person coming back is a new subject with a new key
    again, _ = w.record(nid=nid)
    assert again["subject"] != rec["subject"]

    # the record store from before the erasure, put back in place, does not bring the subject back
    daemon.stop()
    shutil.copy(tmp_path / "vault.db.before", daemon.data / "vault.db")
    for suffix in ("-wal", "-shm"):
        p = daemon.data / ("vault.db" + suffix)
        if p.exists():
            p.unlink()
    daemon.start()
    alice = daemon.login("alice_r", password_for("alice_r"), "cpas")
    r = alice.get(records_path("cpas", rec["id"]), purpose=P)
    assert_problem(r, 410, "erased")
    assert CANARY not in r.text
    daemon.stop()
    # and nothing of the canary is readable anywhere on disk
    for f in daemon.data.rglob("*"):
        if f.is_file():
            assert CANARY.encode() not in f.read_bytes(), f
    daemon.start()


def test_refusal_is_recorded_with_its_reason(w, daemon):
    w.alice = daemon.login("alice_r", password_for("alice_r"), "cpas")
    w.dpo = daemon.login("dora_r", password_for("dora_r"), "cpas")
    rec, _ = w.record()
    r = w.dpo.post(subj(rec, "/erasure-requests"), {"reason": "request by letter"})
    assert_status(r, 201)
    rid = r.json()["id"]
    r = w.dpo.post(subj(rec, f"/erasure-requests/{rid}/refuse"), {"reason": "records kept 10 years by law"})
    assert_status(r, 200)
    assert r.json()["status"] == "refused" and r.json()["decision_reason"] == "records kept 10 years by law"
    assert_problem(w.dpo.post(subj(rec, f"/erasure-requests/{rid}/approve"), {"reason": "x"}), 409, "conflict")
    r = w.dpo.get(subj(rec, "/erasure-requests"))
    assert_status(r, 200)
    assert [e["status"] for e in r.json()["erasure_requests"]] == ["refused"]
    assert_status(w.alice.get(records_path("cpas", rec["id"]), purpose=P), 200)


def test_trail_still_verifies_after_erasures(daemon):
    daemon.stop()
    r = subprocess.run([COFFRE_BIN, "audit", "verify", "--data", str(daemon.data)], capture_output=True, text=True,
                       env=daemon_env(), timeout=START_TIMEOUT)
    assert r.returncode == 0, r.stdout + r.stderr
    daemon.start()


def test_record_hold_blocks_erasure_and_holds_belong_to_their_subject(w, daemon):
    w.alice = daemon.login("alice_r", password_for("alice_r"), "cpas")
    w.dpo = daemon.login("dora_r", password_for("dora_r"), "cpas")
    rec, _ = w.record()
    other, _ = w.record()
    r = w.dpo.post(subj(rec, "/holds"), {"reason": "audit of the file", "record": rec["id"]})
    assert_status(r, 201)
    hold = r.json()["id"]
    req = w.dpo.post(subj(rec, "/erasure-requests"), {}).json()["id"]
    approve = subj(rec, f"/erasure-requests/{req}/approve")
    r = w.dpo.post(approve, {"reason": "no obligation"})
    assert_problem(r, 409, "legal-hold")
    assert "legal hold" in r.json()["detail"]
    # a hold is released only through its own subject's path
    assert_problem(w.dpo.post(subj(other, f"/holds/{hold}/release")), 404, "not-found")
    assert_status(w.dpo.post(subj(rec, f"/holds/{hold}/release")), 200)
    assert_status(w.dpo.post(approve, {"reason": "no obligation"}), 200)
    # an erased subject takes no new request
    assert_problem(w.dpo.post(subj(rec, "/erasure-requests"), {}), 410, "erased")
