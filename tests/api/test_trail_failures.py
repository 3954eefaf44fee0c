"""It never hangs and fails closed: nothing is answered without its entry on
disk, requests fail with 503 at once when their entry cannot be made durable,
health says why, and service resumes by itself when the cause goes away, with
the trail still verifying.

Entries of reads, lookups and refusals are made durable by an append to the
audit journal (DIR/audit.journal); record writes insert theirs into the audit
tables, after moving the journal's backlog there. Hence two failures:
- the store locked past the timeout (another connection holds BEGIN
  EXCLUSIVE on vault.db): writes and trail reads (which move the journal into
  the tables first) fail; reads are answered, each with its entry journaled;
- a full disk: the journal is not preallocated, so once its last page is used
  up reads are refused too; writes are refused at once.
"""

import json
import os
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (Daemon, World, assert_problem, assert_status, audit_entries, audit_verify, create_user,
                      entry_by_trace, journal_entries, next_nid, password_for, problem_text, record_fields,
                      records_path, table_entries)

P = "social-aid"


def entries_for(daemon, rid, action="record.read", outcome="allowed"):
    """Entries of the durable trail (the audit table and the journal) about record rid."""
    return sum(1 for _, _, d in audit_entries(daemon)
               if d["action"] == action and d.get("outcome") == outcome and d.get("resource", {}).get("record") == rid)


def verify(daemon):
    r = audit_verify(daemon.data)
    assert r.returncode == 0, r.stdout + r.stderr


def trace(r):
    return r.headers["X-Request-Id"]


def show(r):
    return f"{r.request.method} {r.request.path_url} -> {r.status_code}"


def count(daemon, table):
    con = daemon.db()
    try:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        con.close()


def assert_health_unavailable(daemon):
    h = daemon.client().get("/v1/sys/health")
    assert h.status_code == 503, h.text
    body = h.json()
    assert body["status"] == "audit-unavailable" and body["sealed"] is False, body
    assert body["audit"]["status"] == "unavailable" and body["audit"]["detail"], body


def assert_health_ok(daemon, within=5.0):
    """Health is back to ok within `within` seconds: an answered read says the journal takes
    entries again, but the trail's tables are retried by the mover on its own clock (once per
    checkpoint interval), and health reports them until then."""
    deadline = time.monotonic() + within
    while True:
        h = daemon.client().get("/v1/sys/health")
        if h.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert_status(h, 200)
    assert h.json()["audit"] == {"status": "ok"}


def trail_readers(d, w):
    """A cpas auditor and data protection officer: both read the trail."""
    create_user(w.sm["cpas"], "cpas", "aud_f", ["auditor"])
    create_user(w.sm["cpas"], "cpas", "dpo_f", ["dpo"])
    return d.login("aud_f", password_for("aud_f"), "cpas"), d.login("dpo_f", password_for("dpo_f"), "cpas")


@pytest.fixture
def locked_daemon(tmp_path):
    d = Daemon(tmp_path, {"store_busy_timeout_ms": 300}).init()
    d.start()
    yield d
    d.stop()


def test_store_locked_past_the_timeout(locked_daemon):
    """vault.db locked by another connection: every write fails 503 audit-unavailable at once and
    stores nothing, health says why right after; reads, lookups and refusals are answered, each
    with its entry in the journal at the answer; trail reads fail 503 at once (the journal cannot
    be moved into the tables); once the lock goes, everything resumes by itself, the journal's
    entries reach the table, and the trail verifies."""
    d = locked_daemon
    w = World(d)
    aud, dpo = trail_readers(d, w)
    rec, nid = w.create_record(w.alice, fields=record_fields(notes="locked-canary-3k"))
    rid, subject = rec["id"], rec["subject"]
    path = records_path("cpas", rid)
    records_before = count(d, "records")
    answered, refused = [], []

    def timed(fn):
        started = time.monotonic()
        r = fn()
        elapsed = time.monotonic() - started
        assert elapsed < 5, f"{show(r)} took {elapsed:.1f}s: a locked store must not hang requests"
        return r

    def journaled(r, action, outcome):
        j = entry_by_trace(journal_entries(d), trace(r))
        assert j is not None, f"{show(r)} answered without its entry in the journal"
        assert (j[2]["action"], j[2]["outcome"], j[2]["index"]) == (action, outcome, j[0]), j[1]
        answered.append(r)

    con = sqlite3.connect(str(d.data / "vault.db"), isolation_level=None, timeout=5)
    con.execute("BEGIN EXCLUSIVE")
    try:
        # writes: refused at once, health says why right after each
        writes = [
            lambda: w.alice.post(records_path("cpas"), {"subject": {"national_id": next_nid()},
                                                        "fields": record_fields(notes="locked-canary-3k")},
                                 purpose=P),
            lambda: w.alice.patch(path, {"fields": {"aid_amount": 7}}, purpose=P),
            lambda: w.alice.delete(path, purpose=P),
        ]
        for write in writes:
            r = timed(write)
            body = assert_problem(r, 503, "audit-unavailable")
            assert "locked-canary-3k" not in r.text and "Jeanne" not in r.text and "id" not in body
            refused.append(r)
            assert_health_unavailable(d)
        # reads, lookups, refusals: answered, each entry durable in the journal when it arrives
        for _ in range(3):
            r = timed(lambda: w.alice.get(path, purpose=P))
            assert_status(r, 200)
            assert r.json()["fields"]["notes"] == "locked-canary-3k"
            journaled(r, "record.read", "allowed")
        r = timed(lambda: w.alice.post("/v1/orgs/cpas/subjects/lookup", {"national_id": nid}, purpose=P))
        assert_status(r, 200)
        journaled(r, "subject.lookup", "allowed")
        r = timed(lambda: w.alice.get(path, purpose="statistics"))
        assert_problem(r, 403, "purpose-not-allowed")
        journaled(r, "record.read", "denied")
        # trail reads need the journal in the tables: 503 at once, nothing of the trail answered
        r = timed(lambda: aud.get("/v1/audit/entries?start=0&end=5"))
        assert r.status_code == 503 and "entries" not in r.json(), r.text
        assert_problem(r, 503, "audit-unavailable")
        r = timed(lambda: dpo.get(f"/v1/orgs/cpas/subjects/{subject}/access-log"))
        assert_problem(r, 503, "audit-unavailable")
        assert "entries" not in r.json()
        assert d.alive()
    finally:
        con.execute("ROLLBACK")
        con.close()
    assert count(d, "records") == records_before
    # resumes by itself: the next write goes through, moving the journal into the table first
    deadline = time.monotonic() + 10
    while True:
        r = w.alice.post(records_path("cpas"), {"subject": {"national_id": next_nid()}, "fields": record_fields()},
                         purpose=P)
        if r.status_code == 201 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert_status(r, 201)
    assert_health_ok(d)
    table = assert_in_table(d, answered, refused)
    # and the trail reads again, listing them
    first = min(entry_by_trace(table, trace(a))[0] for a in answered)
    r = aud.get(f"/v1/audit/entries?start={first}&end={first + len(answered)}")
    assert_status(r, 200)
    assert sorted(json.loads(x["entry"])["trace_id"] for x in r.json()["entries"]) == sorted(map(trace, answered))
    assert entries_for(d, rid) == 3
    r = w.alice.get(path, purpose=P)
    assert_status(r, 200)
    assert r.json()["version"] == 1 and r.json()["fields"]["aid_amount"] == 1250
    d.stop()
    verify(d)
    d.start()


@pytest.fixture
def small_disk(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a small tmpfs (CI runs as root)")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount tmpfs: {r.stderr.decode(errors='replace')}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def fill(path: Path):
    """Writes a file until the filesystem is full, down to the last byte."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (1 << 16, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)


READS_BEFORE_REFUSAL = 40  # the journal's last page holds a handful of read entries


def read_until_refused(d, client, path, leaks, limit=READS_BEFORE_REFUSAL):
    """Reads until the first refusal (at most limit); every read answered has its entry on disk
    when the answer arrives. Returns (answered, the refusal)."""
    answered = []
    for _ in range(limit):
        r = client.get(path, purpose=P)
        if r.status_code == 200:
            assert entry_by_trace(audit_entries(d), trace(r)) is not None, f"{show(r)} answered without its entry"
            answered.append(r)
            continue
        body = assert_problem(r, 503, "audit-unavailable")
        assert "fields" not in body
        said = problem_text(r)
        for s in leaks:
            assert s not in said
        return answered, r
    raise AssertionError(f"{limit} reads answered on a full disk: the journal must run out of room")


def assert_in_table(d, answered, refused):
    """Every answered request's entry is in the trail's table, no refused one's; returns the table."""
    table = table_entries(d)
    for a in answered:
        assert entry_by_trace(table, trace(a)) is not None, f"the entry of {show(a)} did not reach the table"
    for x in refused:
        assert entry_by_trace(table, trace(x)) is None, f"an entry for the refused {show(x)}"
    return table


def world_with_reads(d, n):
    """A world on daemon d, one record of alice's and n reads of it, each answered.
    Returns (world, record, its path, the answers)."""
    w = World(d)
    rec, _ = w.create_record(w.alice)
    path = records_path("cpas", rec["id"])
    answered = []
    for _ in range(n):
        r = w.alice.get(path, purpose=P)
        assert_status(r, 200)
        answered.append(r)
    return w, rec, path, answered


def read_once_space_returns(client, path, refused):
    """Reads until one is answered (within 15 s: service resumes by itself); the refusals before
    it (503 audit-unavailable) go to refused. Returns the answer."""
    deadline = time.monotonic() + 15
    while True:
        r = client.get(path, purpose=P)
        if r.status_code == 200:
            return r
        assert_problem(r, 503, "audit-unavailable")
        refused.append(r)
        assert time.monotonic() < deadline, "service did not resume once space returned"
        time.sleep(0.2)


def test_disk_full_fails_closed_and_recovers(small_disk):
    """A full disk: reads are refused (503 audit-unavailable, no personal value) after at most a few
    dozen, and health says why; a read is answered only with its entry on disk; no refused request
    has an entry; when space returns service resumes by itself and the trail verifies."""
    d = Daemon(small_disk, {"store_busy_timeout_ms": 1000}).init()
    d.start()
    try:
        w, rec, path, answered = world_with_reads(d, 2)  # entries in the journal: its last page has room left
        filler = small_disk / "filler"
        fill(filler)
        ok, first = read_until_refused(d, w.alice, path, ["Jeanne", "Dupont", "1250"])
        answered += ok
        refused = [first]
        assert_health_unavailable(d)
        # while the disk stays full: an answer only with its entry on disk, else 503 without a leak
        for _ in range(10):
            r = w.alice.get(path, purpose=P)
            if r.status_code == 200:
                assert entry_by_trace(audit_entries(d), trace(r)) is not None, f"{show(r)} answered without its entry"
                answered.append(r)
            else:
                assert_problem(r, 503, "audit-unavailable")
                assert "Jeanne" not in r.text
                refused.append(r)
        assert d.alive()
        durable = audit_entries(d)
        for a in answered:
            assert entry_by_trace(durable, trace(a)) is not None
        for x in refused:
            assert entry_by_trace(durable, trace(x)) is None, f"an entry for the refused {show(x)}"
        assert entries_for(d, rec["id"]) == len(answered)
        # space returns: service resumes by itself
        os.unlink(filler)
        answered.append(read_once_space_returns(w.alice, path, refused))
        assert_health_ok(d)
        assert entries_for(d, rec["id"]) == len(answered)
        w.create_record(w.alice)
    finally:
        d.stop()
    # after a clean stop the table holds everything, the journal nothing
    assert_in_table(d, answered, refused)
    assert d.journal.stat().st_size == 0
    verify(d)


def test_disk_full_lets_through_no_more_than_the_moved_round(small_disk):
    """The journal keeps the size of its largest round (the next round is written over the moved
    one): on a full disk, reads go on while their round fits in that room, each answered only with
    its entry on disk, then are refused (503); no more get through than the room holds; when space
    returns the entries reach the tables and the trail verifies."""
    round_reads = 20
    # no timer moves the journal (a slow run would move part of the round and shrink the room)
    d = Daemon(small_disk, {"store_busy_timeout_ms": 1000, "audit_checkpoint_interval_ms": 60000}).init()
    d.start()
    try:
        w, rec, path, answered = world_with_reads(d, round_reads)
        room = d.journal.stat().st_size
        assert len(journal_entries(d)) == round_reads, "the room is the round of reads alone"
        w.create_record(w.alice)  # moves the round into the tables; the file keeps its bytes
        assert d.journal.stat().st_size == room
        fill(small_disk / "filler")
        ok, first = read_until_refused(d, w.alice, path, ["Jeanne", "Dupont", "1250"], limit=3 * round_reads)
        answered += ok
        # the room held about as many entries as the moved round (the file's last page adds a few)
        assert round_reads - 2 <= len(ok) <= round_reads + 8, f"{len(ok)} reads answered in {room} bytes of room"
        assert d.journal.stat().st_size > room - 1024  # it filled the room, and grew by a page at most
        assert entries_for(d, rec["id"]) == len(answered)
        assert entry_by_trace(audit_entries(d), trace(first)) is None
        os.unlink(small_disk / "filler")
        answered.append(read_once_space_returns(w.alice, path, []))
        w.create_record(w.alice)
    finally:
        d.stop()
    assert_in_table(d, answered, [first])
    verify(d)


def test_disk_full_refuses_without_leaking(small_disk):
    """On a full disk with the journal empty (no page to append to): reads, lookups and denied
    attempts get 503 audit-unavailable with no personal value; writes too; health 503 with a
    detail; the daemon stays up; nothing is written (no record, no entry); service resumes by
    itself when space returns."""
    d = Daemon(small_disk, {"store_busy_timeout_ms": 1000}).init()
    d.start()
    try:
        w = World(d)
        alice = w.alice
        secret_value = "diskfull-canary-7q2w"
        rec, nid = w.create_record(alice, fields=record_fields(notes=secret_value, aid_amount=321))
        rid, subject = rec["id"], rec["subject"]
        path = records_path("cpas", rid)
        new_nid = next_nid()
        leaks = [secret_value, "321", "Jeanne", "Dupont"]
        # the write moved the journal into the tables: it is empty, and stays so without reads
        assert d.journal.stat().st_size == 0
        fill(small_disk / "filler")
        fields_before, records_before = count(d, "record_cts"), count(d, "records")
        durable_before = audit_entries(d)
        refused = []

        r = alice.get(path, purpose=P)
        body = assert_problem(r, 503, "audit-unavailable")
        assert "fields" not in body and all(s not in problem_text(r) for s in leaks)
        refused.append(r)

        r = alice.post("/v1/orgs/cpas/subjects/lookup", {"national_id": nid}, purpose=P)
        assert_problem(r, 503, "audit-unavailable")
        assert subject not in r.text and nid not in r.text
        refused.append(r)

        # a denied attempt cannot be recorded either: no answer but 503
        r = alice.get(path, purpose="statistics")
        assert_problem(r, 503, "audit-unavailable")
        refused.append(r)
        r = w.victor.get(path, purpose=P)
        assert_problem(r, 503, "audit-unavailable")
        refused.append(r)

        r = alice.post(records_path("cpas"), {"subject": {"national_id": new_nid},
                                              "fields": record_fields(notes=secret_value)}, purpose=P)
        body = assert_problem(r, 503, "audit-unavailable")
        assert "id" not in body and secret_value not in r.text
        refused.append(r)
        r = alice.patch(path, {"fields": {"aid_amount": 1}}, purpose=P)
        assert_problem(r, 503, "audit-unavailable")
        refused.append(r)
        r = alice.delete(path, purpose=P)
        assert_problem(r, 503, "audit-unavailable")
        refused.append(r)

        # the daemon stays up, and health says the trail is unavailable
        assert d.alive()
        assert_health_unavailable(d)

        # nothing was written
        assert count(d, "record_cts") == fields_before and count(d, "records") == records_before
        assert audit_entries(d) == durable_before
        os.unlink(small_disk / "filler")
        # service resumes by itself
        r = alice.get(path, purpose=P)
        assert_status(r, 200)
        assert_health_ok(d)
        assert r.json()["version"] == 1
        assert r.json()["fields"]["aid_amount"] == 321 and r.json()["fields"]["notes"] == secret_value
        assert_problem(alice.post("/v1/orgs/cpas/subjects/lookup", {"national_id": new_nid}, purpose=P),
                       404, "not-found")
        w.create_record(alice, nid=new_nid)
        durable = audit_entries(d)
        for x in refused:
            assert entry_by_trace(durable, trace(x)) is None, f"an entry for the refused {show(x)}"
    finally:
        d.stop()
    verify(d)
