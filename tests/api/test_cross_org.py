"""Organizations are sealed from each other, and existence never leaks."""

import secrets

import pytest

from conftest import (assert_problem, assert_status, next_nid, problem_text, record_fields, records_path,
                      without_trace)

P = "social-aid"


def fake_id_like(rid):
    """A random id of the same shape (prefix and length) as a real one."""
    prefix = rid.split("_", 1)[0] + "_" if "_" in rid else ""
    body_len = len(rid) - len(prefix)
    alphabet = "abcdefghijklmnopqrstuvwxyz234567" if rid[len(prefix):].islower() else \
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return prefix + "".join(secrets.choice(alphabet) for _ in range(body_len))


@pytest.fixture(scope="module")
def a_record(world):
    rec, nid = world.create_record(world.alice, fields=record_fields(first_name="Secretia", aid_amount=4242))
    return rec, nid


OPS = ["GET", "PATCH", "DELETE"]


def _do(client, method, path):
    if method == "PATCH":
        return client.patch(path, {"fields": {"aid_amount": 1}}, purpose=P)
    return client.request(method, path, purpose=P)


@pytest.mark.parametrize("method", OPS)
def test_other_org_path_is_wrong_organization(world, a_record, method):
    rec, _ = a_record
    real = _do(world.victor, method, records_path("cpas", rec["id"]))
    fake_id = fake_id_like(rec["id"])
    fake = _do(world.victor, method, records_path("cpas", fake_id))
    b_real = assert_problem(real, 403, "wrong-organization")
    b_fake = assert_problem(fake, 403, "wrong-organization")
    assert without_trace(b_real, rec["id"], fake_id) == without_trace(b_fake, rec["id"], fake_id)
    said = problem_text(real)
    assert "Secretia" not in said and "4242" not in said
    # whatever the rest of the path: unknown collection, unknown org
    other = _do(world.victor, method, records_path("cpas", fake_id, c="nosuch"))
    b_other = assert_problem(other, 403, "wrong-organization")
    assert without_trace(b_other, rec["id"], fake_id, "nosuch", "social_aid") == \
        without_trace(b_real, rec["id"], fake_id, "nosuch", "social_aid")
    ghost = _do(world.victor, method, records_path("noorg", fake_id))
    b_ghost = assert_problem(ghost, 403, "wrong-organization")
    assert without_trace(b_ghost, fake_id, "noorg") == without_trace(b_fake, fake_id, "cpas")


def test_other_org_create_and_lookup_and_misc(world, a_record):
    _, nid = a_record
    v = world.victor
    r = v.post(records_path("cpas"), {"subject": {"national_id": next_nid()}, "fields": record_fields()},
               purpose=P)
    assert_problem(r, 403, "wrong-organization")
    r = v.post("/v1/orgs/cpas/subjects/lookup", {"national_id": nid}, purpose=P)
    assert_problem(r, 403, "wrong-organization")
    r2 = v.post("/v1/orgs/cpas/subjects/lookup", {"national_id": next_nid()}, purpose=P)
    assert without_trace(r.json()) == without_trace(assert_problem(r2, 403, "wrong-organization"))
    for path in ("/v1/orgs/cpas", "/v1/orgs/cpas/collections", "/v1/orgs/cpas/collections/social_aid",
                 "/v1/orgs/cpas/users", "/v1/orgs/cpas/roles/agent/grants"):
        assert_problem(v.get(path), 403, "wrong-organization")


def test_record_untouched_after_cross_org_attempts(world, a_record):
    rec, _ = a_record
    for method in OPS:
        _do(world.victor, method, records_path("cpas", rec["id"]))
    r = world.alice.get(records_path("cpas", rec["id"]), purpose=P)
    assert_status(r, 200)
    assert r.json()["version"] == 1
    assert r.json()["fields"]["aid_amount"] == 4242


@pytest.mark.parametrize("method", OPS)
def test_own_org_path_with_foreign_id_is_plain_404(world, a_record, method):
    rec, _ = a_record
    fake_id = fake_id_like(rec["id"])
    foreign = _do(world.victor, method, records_path("ville", rec["id"]))
    random_ = _do(world.victor, method, records_path("ville", fake_id))
    b1 = assert_problem(foreign, 404, "not-found")
    b2 = assert_problem(random_, 404, "not-found")
    assert without_trace(b1, rec["id"], fake_id) == without_trace(b2, rec["id"], fake_id)
    assert "Secretia" not in foreign.text


def test_lookup_of_subject_known_only_elsewhere(world, a_record):
    _, nid = a_record
    known_elsewhere = world.victor.post("/v1/orgs/ville/subjects/lookup", {"national_id": nid}, purpose=P)
    never_seen = world.victor.post("/v1/orgs/ville/subjects/lookup", {"national_id": next_nid()}, purpose=P)
    b1 = assert_problem(known_elsewhere, 404, "not-found")
    b2 = assert_problem(never_seen, 404, "not-found")
    assert without_trace(b1) == without_trace(b2)


def test_same_subject_in_two_orgs_sees_only_own_records(world):
    rec, nid = world.create_record(world.alice)
    v_rec, _ = world.create_record(world.victor, nid=nid)
    r = world.victor.post("/v1/orgs/ville/subjects/lookup", {"national_id": nid}, purpose=P)
    assert_status(r, 200)
    assert [x["id"] for x in r.json()["records"]] == [v_rec["id"]]
    assert r.json()["subject"] != rec["subject"]
