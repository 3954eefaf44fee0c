"""Ciphertexts are bound to their organization, collection, record, version and
field: a row swapped or replayed in the database is detected on read."""

from conftest import assert_problem, assert_status, password_for, record_fields, records_path

P = "social-aid"


def test_swapped_and_replayed_ciphertexts_detected(daemon, world):
    alice = world.alice
    a, _ = world.create_record(alice, fields=record_fields(first_name="Alpha-Original"))
    b, _ = world.create_record(alice, fields=record_fields(first_name="Bravo-Other"))
    c, _ = world.create_record(alice, fields=record_fields(first_name="Charlie-v1"))
    assert_status(alice.patch(records_path("cpas", c["id"]), {"fields": {"first_name": "Charlie-v2"}},
                              purpose=P), 200)
    daemon.stop()

    con = daemon.db()
    try:
        cur = con.execute(
            "UPDATE record_fields SET ct = (SELECT ct FROM record_fields WHERE record_id = ? AND field = ? "
            "AND version = 1) WHERE record_id = ? AND field = ? AND version = 1",
            (b["id"], "first_name", a["id"], "first_name"))
        assert cur.rowcount == 1
        cur = con.execute(
            "UPDATE record_fields SET ct = (SELECT ct FROM record_fields WHERE record_id = ? AND field = ? "
            "AND version = 1) WHERE record_id = ? AND field = ? AND version = 2",
            (c["id"], "first_name", c["id"], "first_name"))
        assert cur.rowcount == 1
    finally:
        con.close()

    daemon.start()
    alice = daemon.login("alice", password_for("alice"), "cpas")

    r = alice.get(records_path("cpas", a["id"]), purpose=P)
    assert_problem(r, 500, "integrity-error")
    assert "Bravo-Other" not in r.text and "Alpha-Original" not in r.text
    daemon.health_ok()

    r = alice.get(records_path("cpas", c["id"]), purpose=P)
    assert_problem(r, 500, "integrity-error")
    assert "Charlie" not in r.text
    daemon.health_ok()

    # untouched records still read fine
    r = alice.get(records_path("cpas", b["id"]), purpose=P)
    assert_status(r, 200)
    assert r.json()["fields"]["first_name"] == "Bravo-Other"
