"""The audit journal (DIR/audit.journal), through the API and on disk.

A batch of entries with no store work (reads, lookups, refusals) is appended
to the journal with one write and one fdatasync, and only then answered; the
daemon moves the journal into the audit tables later (the next write, a trail
read, a checkpoint, 4096 entries, the checkpoint interval, a clean stop), and
the next round of frames is written over the moved one from offset 0 (the file
keeps its size: a sync then writes no inode). At open (daemon start, `coffre audit verify`) the
journal is replayed: whole frames that follow one another, beyond the
table, are appended to it; a torn or damaged tail is dropped. The frame
format is conftest.parse_journal's.

The daemons here move the journal on no timer (audit_checkpoint_interval_ms
= 60000): what the journal holds stays there until a write, a trail read or
a stop moves it, so the tests see each step.
"""

import json
import os
import stat

import pytest

from conftest import (Daemon, World, assert_status, audit_count, audit_entries, audit_table_count,
                      audit_verify, create_user, entry_by_trace, format_nid, next_nid, parse_journal, password_for,
                      read_journal, record_fields, records_path)

P = "social-aid"
NO_TIMER = {"audit_checkpoint_interval_ms": 60000}
DAEMON_CONF = NO_TIMER
CANARY_FIRST = "Journalina"
CANARY_NOTES = "journal-canary-p4o3i2"


def trace(r):
    return r.headers["X-Request-Id"]


def table_rows(daemon):
    """{idx: (entry bytes, leaf, actor_org, resource_org, subject)} of the audit table alone."""
    con = daemon.db()
    try:
        rows = con.execute("SELECT idx, entry, leaf, actor_org, resource_org, subject FROM audit").fetchall()
    finally:
        con.close()
    return {r[0]: (bytes(r[1]) if isinstance(r[1], (bytes, bytearray)) else r[1].encode(), bytes(r[2]), *r[3:])
            for r in rows}


def as_row(frame):
    return (frame.entry, frame.leaf, frame.actor_org, frame.resource_org, frame.subject)


def frame_of(frames, r):
    found = [f for f in frames if json.loads(f.entry)["trace_id"] == trace(r)]
    assert len(found) <= 1
    return found[0] if found else None


def verify_ok(data, entries=None):
    v = audit_verify(data)
    assert v.returncode == 0, v.stdout + v.stderr
    if entries is not None:
        assert f"OK: {entries} entries" in v.stdout, v.stdout
    return v


@pytest.fixture(scope="module")
def readers(daemon, world):
    create_user(world.sm["cpas"], "cpas", "aud_j", ["auditor"])
    return {"auditor": daemon.login("aud_j", password_for("aud_j"), "cpas")}


def nothing_beyond_the_table(daemon):
    """The journal holds no frame the table lacks: what it holds (read as the replay reads it,
    from offset 0) is a moved round, every index below the table's size."""
    table = audit_table_count(daemon)
    return all(f.index < table for f in read_journal(daemon.journal))


def audited_calls(w, rid, nid):
    """(name, call, status, action, outcome): requests whose entries need no store work."""
    path = records_path("cpas", rid)
    return [
        ("read", lambda: w.alice.get(path, purpose=P), 200, "record.read", "allowed"),
        ("field-limited read", lambda: w.carol.get(path, purpose=P), 200, "record.read", "allowed"),
        ("lookup", lambda: w.alice.post("/v1/orgs/cpas/subjects/lookup", {"national_id": nid}, purpose=P),
         200, "subject.lookup", "allowed"),
        ("purpose refused", lambda: w.alice.get(path, purpose="statistics"), 403, "record.read", "denied"),
        ("delete refused", lambda: w.carol.delete(path, purpose=P), 403, "record.delete", "denied"),
        ("other organization", lambda: w.victor.get(path, purpose=P), 403, "record.read", "denied"),
        ("unknown subject", lambda: w.alice.post("/v1/orgs/cpas/subjects/lookup", {"national_id": next_nid()},
                                                 purpose=P), 404, "subject.lookup", "denied"),
    ]


def test_an_answered_entry_is_in_the_journal_before_any_move(daemon, world):
    """Each answer arrives with its entry already a whole frame of the journal file (the table
    does not have it yet), appended after the earlier ones, at the trail's next index, its ids
    those of the entry; the next write moves them all into the table first, byte for byte, and
    the journal starts over at offset 0, over the frames it moved."""
    rec, nid = world.create_record(world.alice, fields=record_fields(first_name=CANARY_FIRST, notes=CANARY_NOTES))
    table0 = audit_table_count(daemon)
    assert nothing_beyond_the_table(daemon), "a write leaves nothing in the journal beyond the table"
    before = b""
    frames = []
    for k, (name, call, status, action, outcome) in enumerate(audited_calls(world, rec["id"], nid)):
        r = call()
        assert r.status_code == status, f"{name}: {r.status_code} {r.text[:300]}"
        data = daemon.journal.read_bytes()  # right after the answer, before anything moves it
        frames, end = parse_journal(data)
        assert frames and frames[0].offset == 0, f"{name}: the round does not start at offset 0"
        assert data.startswith(before), f"{name}: the journal's earlier frames changed"
        before = data[:end]  # beyond it: the moved round's bytes, if any
        assert len(frames) == k + 1, f"{name}: {len(frames)} frames after {k + 1} answers"
        f = frames[-1]
        e = json.loads(f.entry)
        assert e["trace_id"] == trace(r), f"{name}: the newest frame is not this answer's"
        assert (e["action"], e["outcome"], e["index"], f.index) == (action, outcome, table0 + k, table0 + k), e
        assert f.actor_org == e["actor"].get("org")
        assert f.resource_org == e["resource"].get("org")
        assert f.subject == e["resource"].get("subject")
        assert audit_table_count(daemon) == table0, f"{name}: the table took the entry: not the journal's doing"
        assert audit_count(daemon) == table0 + k + 1
    # a write moves the journal into the table before its own entry, then empties the journal
    r = world.alice.patch(records_path("cpas", rec["id"]), {"fields": {"aid_amount": 5}}, purpose=P)
    assert_status(r, 200)
    rows = table_rows(daemon)
    for f in frames:
        assert rows[f.index] == as_row(f), f"entry {f.index} in the table differs from its journal frame"
    mine = json.loads(rows[table0 + len(frames)][0])
    assert (mine["action"], mine["trace_id"]) == ("record.update", trace(r))
    assert len(rows) == table0 + len(frames) + 1
    assert nothing_beyond_the_table(daemon)
    # the next round goes over the moved one, from offset 0, and the replay's reading stops after it
    size = daemon.journal.stat().st_size
    assert size > 0, "the moved round's bytes stay: the file is not truncated"
    r = world.alice.get(records_path("cpas", rec["id"]), purpose=P)
    assert_status(r, 200)
    frames = read_journal(daemon.journal)
    assert [(f.offset, f.index, json.loads(f.entry)["trace_id"]) for f in frames] == \
        [(0, len(rows), trace(r))]
    assert daemon.journal.stat().st_size == size, "a round no longer than the one before does not grow the file"


def test_a_trail_read_moves_the_journal_first(daemon, world, readers):
    """The trail's readers see what the journal holds: an entries call, a checkpoint."""
    rec, _ = world.create_record(world.alice)
    start = audit_table_count(daemon)
    answered = [world.alice.get(records_path("cpas", rec["id"]), purpose=P) for _ in range(3)]
    for r in answered:
        assert_status(r, 200)
    frames = read_journal(daemon.journal)
    assert [json.loads(f.entry)["trace_id"] for f in frames] == [trace(r) for r in answered]
    r = readers["auditor"].get(f"/v1/audit/entries?start={start}&end={start + 3}")
    assert_status(r, 200)
    assert [(x["index"], x["entry"]) for x in r.json()["entries"]] == [(f.index, f.text) for f in frames]
    # the call's own entry was moved in as well: nothing waits in the journal
    assert audit_table_count(daemon) == audit_count(daemon) == start + 4
    assert nothing_beyond_the_table(daemon)
    # a checkpoint covers what the journal held: its own entry is its last
    r = world.alice.get(records_path("cpas", rec["id"]), purpose=P)
    assert_status(r, 200)
    n = audit_count(daemon)
    assert n == audit_table_count(daemon) + 1
    r = readers["auditor"].get("/v1/audit/checkpoint")
    assert_status(r, 200)
    assert int(r.text.split("\n")[1]) == n + 1
    assert audit_table_count(daemon) == n + 1


def test_the_journal_is_private_and_holds_no_personal_value(daemon, world):
    nid = next_nid()
    rec, _ = world.create_record(world.alice, nid=format_nid(nid),
                                 fields=record_fields(first_name=CANARY_FIRST, notes=CANARY_NOTES))
    snapshots = []
    answered = []
    for name, call, status, _, _ in audited_calls(world, rec["id"], nid) + [
            ("formatted lookup", lambda: world.alice.post("/v1/orgs/cpas/subjects/lookup",
                                                          {"national_id": format_nid(nid)}, purpose=P),
             200, None, None)]:
        r = call()
        assert r.status_code == status, f"{name}: {r.status_code} {r.text[:300]}"
        snapshots.append(daemon.journal.read_bytes())
        answered.append(r)
    mode = stat.S_IMODE(daemon.journal.stat().st_mode)
    assert mode == 0o600, f"audit.journal has mode {mode:o}"
    frames = parse_journal(snapshots[-1])[0]
    assert [json.loads(f.entry)["trace_id"] for f in frames] == [trace(r) for r in answered], \
        "the journal holds every answer's entry"
    assert CANARY_FIRST in answered[0].text  # the values were read, and answered
    forbidden = [CANARY_FIRST, CANARY_NOTES, nid, format_nid(nid), "Dupont", password_for("alice"),
                 password_for("carol"), password_for("victor")]
    for data in snapshots:
        for s in forbidden:
            for enc in (s.encode(), s.encode("utf-16-le")):
                assert enc not in data, f"audit.journal holds {s!r}"
    for f in frames:
        for name in ("alice", "carol", "victor"):
            assert name not in f.text, f"entry {f.index} names a user"
        assert f.subject in (None, rec["subject"])


# ---- crashes ----------------------------------------------------------------

def crash_daemon(base):
    """A daemon of its own with a world, a record, and reads whose entries are only in the journal."""
    d = Daemon(base, NO_TIMER).init()
    d.start()
    w = World(d)
    rec, nid = w.create_record(w.alice, fields=record_fields(first_name=CANARY_FIRST, notes=CANARY_NOTES))
    answered = []
    for name, call, status, _, _ in audited_calls(w, rec["id"], nid):
        r = call()
        assert r.status_code == status, f"{name}: {r.status_code} {r.text[:300]}"
        answered.append(r)
    return d, w, answered


def test_sigkill_loses_no_answered_entry(tmp_path):
    """Answered reads, then SIGKILL (no clean stop): the journal holds their frames, which the next
    open (here `coffre audit verify`) appends to the table, leaving the journal empty; the daemon
    starts on the whole trail, and it verifies."""
    d, w, answered = crash_daemon(tmp_path)
    try:
        table0 = audit_table_count(d)
        frames = read_journal(d.journal)
        assert [json.loads(f.entry)["trace_id"] for f in frames] == [trace(r) for r in answered]
        assert frames[0].index == table0
        # another process beside the running daemon reads the tables only, and leaves the journal alone
        held = d.journal.read_bytes()
        verify_ok(d.data, table0)
        assert d.journal.read_bytes() == held
        d.kill()
    finally:
        if d.alive():
            d.kill()
    assert d.journal.read_bytes() == held, "the frames are on disk as they were answered"
    assert audit_table_count(d) == table0
    os.chmod(d.journal, 0o644)
    # the replay: every answered entry into the table, byte for byte, at its index
    verify_ok(d.data, table0 + len(frames))
    rows = table_rows(d)
    assert len(rows) == table0 + len(frames)
    for f in frames:
        assert rows[f.index] == as_row(f)
    assert d.journal.stat().st_size == 0
    # the daemon starts on the whole trail and carries on after it
    d.start()
    try:
        assert stat.S_IMODE(d.journal.stat().st_mode) == 0o600
        d.health_ok()
        alice = d.login("alice", password_for("alice"), "cpas")
        r = alice.get(records_path("cpas", json.loads(frames[0].entry)["resource"]["record"]), purpose=P)
        assert_status(r, 200)
        e = entry_by_trace(audit_entries(d), trace(r))
        assert e is not None and e[0] > frames[-1].index
        assert [i for i, _, _ in audit_entries(d)] == list(range(audit_count(d)))
    finally:
        d.stop()
    verify_ok(d.data)


def _cut_half(data, frames):
    last = frames[-1]
    return data[:last.offset + last.size // 2], frames[:-1]


def _damage_last(data, frames):
    last = frames[-1]
    at = last.offset + 58 + 10  # a byte of the entry: the check fails
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:], frames[:-1]


TEARS = {
    "garbage": lambda data, frames: (data + b"CFJ1" + os.urandom(300), frames),
    "half-frame": _cut_half,
    "damaged-frame": _damage_last,
    # a whole, valid frame whose index does not follow the last one's (an earlier round's)
    "stale-frame": lambda data, frames: (data + data[frames[0].offset:frames[0].offset + frames[0].size], frames),
}


@pytest.mark.parametrize("tear", sorted(TEARS))
def test_a_torn_journal_tail_is_dropped(tmp_path, tear):
    """After SIGKILL, a torn tail on the journal: the replay at the next start keeps every whole
    frame before it, drops the rest, empties the journal, and the trail verifies."""
    d, w, answered = crash_daemon(tmp_path)
    try:
        table0 = audit_table_count(d)
        d.kill()
    finally:
        if d.alive():
            d.kill()
    data = d.journal.read_bytes()
    frames, end = parse_journal(data)
    assert end == len(data) and len(frames) == len(answered)
    torn, kept = TEARS[tear](data, frames)
    d.journal.write_bytes(torn)
    # the reader here agrees with the daemon's rules
    assert [f.index for f in parse_journal(torn)[0]] == [f.index for f in kept]
    d.start()
    try:
        d.health_ok()
        assert d.journal.stat().st_size == 0, "the replay leaves the journal empty"
        rows = table_rows(d)
        assert len(rows) == table0 + len(kept)
        for f in kept:
            assert rows[f.index] == as_row(f)
        for r in answered[len(kept):]:
            assert entry_by_trace(audit_entries(d), trace(r)) is None, "a torn frame was replayed"
        # the trail carries on at the next index
        alice = d.login("alice", password_for("alice"), "cpas")
        r = alice.get(records_path("cpas", json.loads(frames[0].entry)["resource"]["record"]), purpose=P)
        assert_status(r, 200)
        idx, _, e = entry_by_trace(audit_entries(d), trace(r))
        assert idx == e["index"] == table0 + len(kept) + 1  # (the login's entry came first)
        assert [i for i, _, _ in audit_entries(d)] == list(range(audit_count(d)))
    finally:
        d.stop()
    verify_ok(d.data)


def test_a_second_daemon_on_the_same_directory_is_refused(daemon):
    """One daemon per data directory: a second one finds the audit journal locked and does not start
    (it could not write the trail); the first one serves on."""
    import subprocess
    from conftest import COFFRE_BIN, START_TIMEOUT, daemon_env, free_port
    r = subprocess.run([COFFRE_BIN, "serve", "--data", str(daemon.data), "--listen", f"127.0.0.1:{free_port()}"],
                       capture_output=True, text=True, env=daemon_env(), timeout=START_TIMEOUT)
    assert r.returncode != 0, r.stdout + r.stderr
    assert "another process has this data directory open" in r.stdout + r.stderr, r.stdout + r.stderr
    assert daemon.alive()
    assert_status(daemon.client().get("/v1/sys/health"), 200)
