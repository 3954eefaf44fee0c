"""Ciphertexts are bound to their organization, collection, record, version and
field: a row swapped or replayed in the database is detected on read."""

import struct

from conftest import assert_problem, assert_status, password_for, record_fields, records_path

P = "social-aid"


def unpack(blob):
    """A version's packed ciphertexts (store_data.c): per field, a 1-byte name length, the name, a
    4-byte big-endian ciphertext length, the ciphertext."""
    fields, pos = [], 0
    while pos < len(blob):
        k = blob[pos]
        name = blob[pos + 1:pos + 1 + k].decode()
        (m,) = struct.unpack(">I", blob[pos + 1 + k:pos + 5 + k])
        fields.append((name, blob[pos + 5 + k:pos + 5 + k + m]))
        pos += 5 + k + m
    assert pos == len(blob)
    return fields


def pack(fields):
    return b"".join(bytes([len(n)]) + n.encode() + struct.pack(">I", len(ct)) + ct for n, ct in fields)


def version_blob(con, record_id, version):
    row = con.execute("SELECT c.id, c.cts FROM record_versions AS v JOIN record_cts AS c ON c.id = v.cts_id"
                      " WHERE v.record_id = ? AND v.version = ?", (record_id, version)).fetchone()
    assert row is not None
    return row[0], unpack(row[1])


def with_field(fields, name, ct):
    assert name in dict(fields)
    return [(n, ct if n == name else c) for n, c in fields]


def test_swapped_and_replayed_ciphertexts_detected(daemon, world):
    alice = world.alice
    a, _ = world.create_record(alice, fields=record_fields(first_name="Alpha-Original"))
    b, _ = world.create_record(alice, fields=record_fields(first_name="Bravo-Other"))
    c, _ = world.create_record(alice, fields=record_fields(first_name="Charlie-v1"))
    d, _ = world.create_record(alice, fields=record_fields(first_name="Delta-Own"))
    e, _ = world.create_record(alice, fields=record_fields(first_name="Echo-v1"))
    assert_status(alice.patch(records_path("cpas", c["id"]), {"fields": {"first_name": "Charlie-v2"}},
                              purpose=P), 200)
    assert_status(alice.patch(records_path("cpas", e["id"]), {"fields": {"first_name": "Echo-v2"}},
                              purpose=P), 200)
    daemon.stop()

    con = daemon.db()
    try:
        # a's first name replaced by b's (another record's ciphertext of the same field)
        a_id, a_fields = version_blob(con, a["id"], 1)
        _, b_fields = version_blob(con, b["id"], 1)
        con.execute("UPDATE record_cts SET cts = ? WHERE id = ?",
                    (pack(with_field(a_fields, "first_name", dict(b_fields)["first_name"])), a_id))
        # c's version 2 given back version 1's first name (a replay)
        c2_id, c2_fields = version_blob(con, c["id"], 2)
        _, c1_fields = version_blob(con, c["id"], 1)
        con.execute("UPDATE record_cts SET cts = ? WHERE id = ?",
                    (pack(with_field(c2_fields, "first_name", dict(c1_fields)["first_name"])), c2_id))
        # d's row and version named b's whole blob (a read goes through the row's)
        b_id, _ = version_blob(con, b["id"], 1)
        cur = con.execute("UPDATE record_versions SET cts_id = ? WHERE record_id = ? AND version = 1",
                          (b_id, d["id"]))
        assert cur.rowcount == 1
        cur = con.execute("UPDATE records SET cts_id = ? WHERE id = ?", (b_id, d["id"]))
        assert cur.rowcount == 1
        # e's row named its own version 1's blob (a rollback of the row alone)
        e1_id, _ = version_blob(con, e["id"], 1)
        cur = con.execute("UPDATE records SET cts_id = ? WHERE id = ?", (e1_id, e["id"]))
        assert cur.rowcount == 1
        con.commit()
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

    r = alice.get(records_path("cpas", d["id"]), purpose=P)
    assert_problem(r, 500, "integrity-error")
    assert "Bravo" not in r.text and "Delta" not in r.text
    daemon.health_ok()

    r = alice.get(records_path("cpas", e["id"]), purpose=P)
    assert_problem(r, 500, "integrity-error")
    assert "Echo" not in r.text
    daemon.health_ok()

    # untouched records still read fine
    r = alice.get(records_path("cpas", b["id"]), purpose=P)
    assert_status(r, 200)
    assert r.json()["fields"]["first_name"] == "Bravo-Other"
