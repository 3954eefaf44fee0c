"""Record and lookup routes read in the transaction authentication began.

The daemon runs with one read connection (threads = 1): a request that
left its transaction open would hold that connection, and the next request
would wait for it until its client gives up. So every refused and every
allowed path of the five routes is followed by a read that must answer.
"""
from conftest import (assert_problem, assert_status, next_nid, record_fields, records_path)

DAEMON_CONF = {"threads": 1}


def read_answers(world, rid):
    r = world.alice.get(records_path("cpas", rid), purpose="social-aid")
    assert_status(r, 200)
    return r.json()


def test_every_path_lets_the_connection_go(world):
    rec, nid = world.create_record(world.alice)
    rid = rec["id"]
    alice, victor, carol = world.alice, world.victor, world.carol

    # refused before any read: another organization's token on a write route
    assert_problem(victor.post(records_path("cpas"), {"subject": {"national_id": next_nid()},
                                                      "fields": record_fields()}, purpose="social-aid"),
                   403, "wrong-organization")
    read_answers(world, rid)
    # refused by policy: no purpose, a purpose not granted, an unknown collection, an unknown record
    assert_problem(alice.get(records_path("cpas", rid)), 400, "purpose-required")
    read_answers(world, rid)
    assert_status(alice.get(records_path("cpas", rid), purpose="marketing"), 403)
    read_answers(world, rid)
    assert_status(alice.get(records_path("cpas", rid, c="nope"), purpose="social-aid"), 404)
    read_answers(world, rid)
    assert_status(alice.get(records_path("cpas", "r_unknown0000000000000000"), purpose="social-aid"), 404)
    read_answers(world, rid)
    # a body refused after authentication (create and lookup)
    assert_status(alice.post(records_path("cpas"), {"fields": record_fields()}, purpose="social-aid"), 400)
    read_answers(world, rid)
    assert_status(alice.post("/v1/orgs/cpas/subjects/lookup", {"nid": nid}, purpose="social-aid"), 400)
    read_answers(world, rid)
    # a field the role may not write
    assert_status(carol.patch(records_path("cpas", rid), {"fields": {"aid_amount": 1}}, purpose="social-aid"), 403)
    read_answers(world, rid)

    # the allowed paths, each seen by the next request (no older snapshot kept anywhere)
    r = alice.patch(records_path("cpas", rid), {"fields": {"aid_amount": 1300}}, purpose="social-aid")
    assert_status(r, 200)
    assert read_answers(world, rid)["fields"]["aid_amount"] == 1300
    r = alice.post("/v1/orgs/cpas/subjects/lookup", {"national_id": nid}, purpose="social-aid")
    assert_status(r, 200)
    assert rid in r.text
    assert_status(alice.delete(records_path("cpas", rid), purpose="social-aid"), 204)
    assert_status(alice.get(records_path("cpas", rid), purpose="social-aid"), 404)
    rec2, _ = world.create_record(world.alice)
    read_answers(world, rec2["id"])
