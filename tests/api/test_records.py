"""Records: create, read, update, delete and subject lookup, always for a purpose."""

import pytest

from conftest import (TIME_RE, assert_problem, assert_status, format_nid, invalid_nid, make_nid, next_nid,
                      record_fields, records_path)

P = "social-aid"
CREATED_KEYS = {"id", "subject", "collection", "version", "created_at"}
RECORD_KEYS = {"id", "subject", "collection", "version", "fields", "created_at", "updated_at"}


def test_create_read_patch_delete(world):
    alice = world.alice
    nid = next_nid()
    fields = record_fields(email="jeanne.dupont@example.org", phone="+32 81 24 60 11", postal_code="5000",
                           notes="first visit")
    r = alice.post(records_path("cpas"), {"subject": {"national_id": nid}, "fields": fields}, purpose=P)
    assert_status(r, 201)
    created = r.json()
    assert set(created) == CREATED_KEYS
    assert created["collection"] == "social_aid"
    assert created["version"] == 1
    assert TIME_RE.match(created["created_at"])
    assert nid not in r.text
    rid, subject = created["id"], created["subject"]
    assert rid and subject and nid not in subject and nid not in rid

    r = alice.get(records_path("cpas", rid), purpose=P)
    assert_status(r, 200)
    rec = r.json()
    assert set(rec) == RECORD_KEYS
    assert (rec["id"], rec["subject"], rec["collection"], rec["version"]) == (rid, subject, "social_aid", 1)
    assert rec["fields"] == fields
    assert rec["created_at"] == created["created_at"]
    assert TIME_RE.match(rec["updated_at"])

    r = alice.patch(records_path("cpas", rid), {"fields": {"aid_amount": 1500}, "version": 1}, purpose=P)
    assert_status(r, 200)
    upd = r.json()
    assert set(upd) == CREATED_KEYS
    assert (upd["id"], upd["subject"], upd["version"], upd["created_at"]) == (rid, subject, 2,
                                                                            created["created_at"])
    rec2 = alice.get(records_path("cpas", rid), purpose=P).json()
    assert rec2["version"] == 2
    assert rec2["fields"] == dict(fields, aid_amount=1500)
    assert rec2["updated_at"] >= rec2["created_at"]

    # a stale version loses
    r = alice.patch(records_path("cpas", rid), {"fields": {"aid_amount": 1}, "version": 1}, purpose=P)
    assert_problem(r, 409, "version-conflict")
    assert alice.get(records_path("cpas", rid), purpose=P).json()["fields"]["aid_amount"] == 1500
    # without version: last writer wins
    r = alice.patch(records_path("cpas", rid), {"fields": {"notes": "second visit"}}, purpose=P)
    assert_status(r, 200)
    assert r.json()["version"] == 3

    r = alice.delete(records_path("cpas", rid), purpose=P)
    assert_status(r, 204)
    assert r.content == b""
    assert_problem(alice.get(records_path("cpas", rid), purpose=P), 404, "not-found")
    assert_problem(alice.delete(records_path("cpas", rid), purpose=P), 404, "not-found")
    assert_problem(alice.patch(records_path("cpas", rid), {"fields": {"aid_amount": 2}}, purpose=P),
                   404, "not-found")


def test_purpose_required(world):
    alice = world.alice
    rec, nid = world.create_record(alice)
    rid = rec["id"]
    for purpose in (None, ""):
        h = {"X-Purpose": purpose} if purpose is not None else None
        assert_problem(alice.get(records_path("cpas", rid), headers=h), 400, "purpose-required")
        assert_problem(alice.patch(records_path("cpas", rid), {"fields": {"aid_amount": 3}}, headers=h),
                       400, "purpose-required")
        assert_problem(alice.delete(records_path("cpas", rid), headers=h), 400, "purpose-required")
        assert_problem(alice.post(records_path("cpas"), {"subject": {"national_id": next_nid()},
                                                         "fields": record_fields()}, headers=h),
                       400, "purpose-required")
        assert_problem(alice.post("/v1/orgs/cpas/subjects/lookup", {"national_id": nid}, headers=h),
                       400, "purpose-required")
    r = alice.get(records_path("cpas", rid), purpose=P)
    assert_status(r, 200)
    assert r.json()["version"] == 1


@pytest.mark.parametrize("purpose", ["marketing", "statistics"], ids=["undeclared", "not-granted"])
def test_purpose_not_allowed(world, purpose):
    alice = world.alice
    rec, nid = world.create_record(alice, fields=record_fields(first_name="Purposeful"))
    rid = rec["id"]
    r = alice.get(records_path("cpas", rid), purpose=purpose)
    assert_problem(r, 403, "purpose-not-allowed")
    assert "Purposeful" not in r.text
    assert_problem(alice.patch(records_path("cpas", rid), {"fields": {"aid_amount": 3}}, purpose=purpose),
                   403, "purpose-not-allowed")
    assert_problem(alice.delete(records_path("cpas", rid), purpose=purpose), 403, "purpose-not-allowed")
    assert_problem(alice.post(records_path("cpas"), {"subject": {"national_id": next_nid()},
                                                     "fields": record_fields()}, purpose=purpose),
                   403, "purpose-not-allowed")
    r = alice.post("/v1/orgs/cpas/subjects/lookup", {"national_id": nid}, purpose=purpose)
    assert_problem(r, 403, "purpose-not-allowed")
    assert rec["subject"] not in r.text
    assert alice.get(records_path("cpas", rid), purpose=P).json()["version"] == 1


def test_field_limited_role(world):
    rec, nid = world.create_record(world.alice, fields=record_fields(first_name="Marie", aid_amount=777))
    rid = rec["id"]
    carol = world.carol
    r = carol.get(records_path("cpas", rid), purpose=P)
    assert_status(r, 200)
    body = r.json()
    assert set(body) == RECORD_KEYS
    assert body["fields"] == {"first_name": "Marie"}
    # nothing of the other fields anywhere in the answer (the random id and the times may hold any digits)
    rest = r.text
    for k in ("id", "subject", "created_at", "updated_at"):
        rest = rest.replace(body[k], "")
    assert "777" not in rest and "Dupont" not in rest and "aid_amount" not in rest

    r = carol.patch(records_path("cpas", rid), {"fields": {"aid_amount": 1}}, purpose=P)
    assert_problem(r, 403, "field-not-granted")
    r = carol.patch(records_path("cpas", rid), {"fields": {"first_name": "Marie-Claire", "aid_amount": 1}},
                    purpose=P)
    assert_problem(r, 403, "field-not-granted")
    r = carol.post(records_path("cpas"), {"subject": {"national_id": next_nid()}, "fields": record_fields()},
                   purpose=P)
    assert_problem(r, 403, "field-not-granted")
    assert_problem(carol.delete(records_path("cpas", rid), purpose=P), 403, "forbidden")

    # within the grant it works
    r = carol.patch(records_path("cpas", rid), {"fields": {"first_name": "Marie-Claire"}}, purpose=P)
    assert_status(r, 200)
    assert r.json()["version"] == 2
    full = world.alice.get(records_path("cpas", rid), purpose=P).json()
    assert full["fields"] == record_fields(first_name="Marie-Claire", aid_amount=777)

    # lookup lists the records the role may read for the purpose
    r = carol.post("/v1/orgs/cpas/subjects/lookup", {"national_id": nid}, purpose=P)
    assert_status(r, 200)
    assert {"collection": "social_aid", "id": rid, "version": 2} in r.json()["records"]


@pytest.mark.parametrize("bad", [
    lambda n: invalid_nid(n),
    lambda n: n[:10],
    lambda n: n + "0",
    lambda n: "A" + n[1:],
    lambda n: "",
    lambda n: "00000000000",
    lambda n: n[:9] + "/" + n[9:],
], ids=["check-digits", "short", "long", "letter", "empty", "zeros", "slash-separator"])
def test_invalid_national_id(world, bad):
    value = bad(next_nid())
    r = world.alice.post(records_path("cpas"), {"subject": {"national_id": value}, "fields": record_fields()},
                         purpose=P)
    body = assert_problem(r, 400, "invalid-national-id")
    if value:
        assert value not in body.get("detail", "")
    r = world.alice.post("/v1/orgs/cpas/subjects/lookup", {"national_id": value}, purpose=P)
    assert_problem(r, 400, "invalid-national-id")


def test_national_id_forms(world):
    alice = world.alice
    nid = next_nid()
    a, _ = world.create_record(alice, nid=format_nid(nid))
    b, _ = world.create_record(alice, nid=nid)
    assert a["subject"] == b["subject"]
    r = alice.post("/v1/orgs/cpas/subjects/lookup", {"national_id": f"{nid[:6]} {nid[6:9]} {nid[9:]}"},
                   purpose=P)
    assert_status(r, 200)
    assert r.json()["subject"] == a["subject"]
    # born in 2000 or later: the check digits take the 2 prefix
    young = make_nid(5, 3, 14, 123, born_2000_or_later=True)
    y, _ = world.create_record(alice, nid=young)
    r = alice.post("/v1/orgs/cpas/subjects/lookup", {"national_id": young}, purpose=P)
    assert_status(r, 200)
    assert r.json()["subject"] == y["subject"]


def test_subject_lookup(world):
    alice = world.alice
    nid = next_nid()
    a, _ = world.create_record(alice, nid=nid)
    b, _ = world.create_record(alice, nid=nid, fields=record_fields(aid_kind="housing"))
    r = alice.post("/v1/orgs/cpas/subjects/lookup", {"national_id": nid}, purpose=P)
    assert_status(r, 200)
    body = r.json()
    assert set(body) == {"subject", "records"}
    assert body["subject"] == a["subject"] == b["subject"]
    assert nid not in r.text
    got = sorted(body["records"], key=lambda x: x["id"])
    want = sorted([{"collection": "social_aid", "id": a["id"], "version": 1},
                   {"collection": "social_aid", "id": b["id"], "version": 1}], key=lambda x: x["id"])
    assert got == want
    r = alice.post("/v1/orgs/cpas/subjects/lookup", {"national_id": next_nid()}, purpose=P)
    assert_problem(r, 404, "not-found")
    assert_problem(alice.post("/v1/orgs/cpas/subjects/lookup", {"national_id": nid, "name": "x"}, purpose=P),
                   400, "unknown-key")
    assert_problem(alice.post("/v1/orgs/cpas/subjects/lookup", {}, purpose=P), 400, "missing-key")
    assert_problem(alice.post("/v1/orgs/cpas/subjects/lookup", {"national_id": 72010100101}, purpose=P),
                   400, "wrong-type")


def test_pseudonyms_differ_between_orgs(world):
    nid = next_nid()
    a, _ = world.create_record(world.alice, nid=nid)
    v, _ = world.create_record(world.victor, nid=nid)
    assert a["subject"] != v["subject"]
    la = world.alice.post("/v1/orgs/cpas/subjects/lookup", {"national_id": nid}, purpose=P).json()
    lv = world.victor.post("/v1/orgs/ville/subjects/lookup", {"national_id": nid}, purpose=P).json()
    assert la["subject"] == a["subject"] and lv["subject"] == v["subject"]
    assert [x["id"] for x in la["records"]] == [a["id"]]
    assert [x["id"] for x in lv["records"]] == [v["id"]]


def test_unknown_record_and_collection(world):
    alice = world.alice
    assert_problem(alice.get(records_path("cpas", "r_doesnotexist"), purpose=P), 404, "not-found")
    assert_problem(alice.post(records_path("cpas", c="nosuch"), {"subject": {"national_id": next_nid()},
                                                                 "fields": record_fields()}, purpose=P),
                   404, "not-found")
    rec, _ = world.create_record(alice)
    assert_problem(alice.get(records_path("cpas", rec["id"], c="nosuch"), purpose=P), 404, "not-found")


@pytest.mark.parametrize("body,slug", [
    ({"fields": record_fields()}, "missing-key"),
    ({"subject": {"national_id": "x"}}, "missing-key"),
    ({"subject": "72010100101", "fields": record_fields()}, "wrong-type"),
    ({"subject": {"national_id": "x", "name": "y"}, "fields": record_fields()}, "unknown-key"),
    ({"subject": {}, "fields": record_fields()}, "missing-key"),
    ({"subject": {"national_id": "x"}, "fields": record_fields(), "version": 1}, "unknown-key"),
    ({"subject": {"national_id": "x"}, "fields": []}, "wrong-type"),
], ids=["no-subject", "no-fields", "subject-string", "subject-extra", "subject-empty", "extra", "fields-array"])
def test_create_body_strict(world, body, slug):
    body = dict(body)
    if isinstance(body.get("subject"), dict) and body["subject"].get("national_id") == "x":
        body["subject"] = dict(body["subject"], national_id=next_nid())
    assert_problem(world.alice.post(records_path("cpas"), body, purpose=P), 400, slug)


def test_patch_body_strict(world):
    alice = world.alice
    rec, _ = world.create_record(alice)
    path = records_path("cpas", rec["id"])
    assert_problem(alice.patch(path, {"version": 1}, purpose=P), 400, "missing-key")
    assert_problem(alice.patch(path, {"fields": {"shoe_size": 42}}, purpose=P), 400, "unknown-key")
    assert_problem(alice.patch(path, {"fields": {"aid_amount": "a lot"}}, purpose=P), 400, "wrong-type")
    assert_problem(alice.patch(path, {"fields": {"aid_kind": "lottery"}}, purpose=P), 400, "invalid-value")
    assert_problem(alice.patch(path, {"fields": {"aid_amount": 1}, "version": "1"}, purpose=P), 400, "wrong-type")
    assert_problem(alice.patch(path, {"fields": {"aid_amount": 1}, "subject": {}}, purpose=P), 400, "unknown-key")
    assert alice.get(path, purpose=P).json()["version"] == 1


def test_concurrent_creates_for_one_new_person(world):
    """Requests prepare a create (subject, key, sealed fields) before the writer takes it; when several
    create records for the same new person at once, all but the first find the subject created in the
    meantime and are rebuilt for it: one subject, every record readable with its own values."""
    import threading
    from conftest import Client
    alice, nid, n = world.alice, next_nid(), 12
    clients = [Client(alice.daemon, alice.token, "alice", "cpas") for _ in range(n)]  # a connection each
    answers, errors = [None] * n, []
    start = threading.Barrier(n)

    def create(k):
        try:
            start.wait(timeout=10)
            answers[k] = clients[k].post(records_path("cpas"), {"subject": {"national_id": nid},
                                                           "fields": record_fields(notes=f"visit {k}")}, purpose=P)
        except Exception as e:  # reported below with its thread
            errors.append((k, repr(e)))

    threads = [threading.Thread(target=create, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    for r in answers:
        assert_status(r, 201)
    subjects = {r.json()["subject"] for r in answers}
    assert len(subjects) == 1, subjects
    for k, r in enumerate(answers):
        rec = alice.get(records_path("cpas", r.json()["id"]), purpose=P)
        assert_status(rec, 200)
        assert rec.json()["fields"]["notes"] == f"visit {k}"
        assert rec.json()["subject"] in subjects
    found = alice.post("/v1/orgs/cpas/subjects/lookup", {"national_id": nid}, purpose=P)
    assert_status(found, 200)
    assert found.json()["subject"] in subjects
    assert {rec["id"] for rec in found.json()["records"]} == {r.json()["id"] for r in answers}
