"""Record ids and subject pseudonyms: opaque, 16 bytes of base64url after
their prefix, the first two bytes shared by every id the vault makes in the
same 64-second window (a keyed hash of the window), the next two the
millisecond in the window plus a keyed offset (so that new rows sit side
by side in the indexes, in the order they were made), the other 12 random;
other ids stay random."""

import base64
import re
import time

from conftest import assert_status, next_nid, records_path

P = "social-aid"
ID = re.compile(r"^(r|s)_[A-Za-z0-9_-]{22}$")


def raw(i):
    """The 16 bytes behind an id."""
    body = i.split("_", 1)[1]
    b = base64.urlsafe_b64decode(body + "==")
    assert len(b) == 16, i
    return b


def test_ids_of_one_window_share_a_keyed_prefix(world):
    made = []
    for _ in range(8):
        rec, _nid = world.create_record(world.alice)
        made.append(rec)
    rids = [r["id"] for r in made]
    subjects = [r["subject"] for r in made]
    for i in rids + subjects:
        assert ID.match(i), i
    assert len(set(rids)) == 8 and len(set(subjects)) == 8
    # eight creates take well under a window: at most two windows (a boundary crossed)
    prefixes = {raw(i)[:2] for i in rids + subjects}
    assert 1 <= len(prefixes) <= 2, prefixes
    most = max(prefixes, key=lambda p: sum(raw(i)[:2] == p for i in rids + subjects))
    sharing = [i for i in rids + subjects if raw(i)[:2] == most]
    assert len(sharing) >= 8
    # the rest is random: no two share their last twelve bytes
    assert len({raw(i)[4:] for i in rids + subjects}) == 16
    # within the window, ids ascend in the order they were made (the tick wraps at most once)
    for ids in (rids, subjects):
        ticks = [int.from_bytes(raw(i)[2:4], "big") for i in ids if raw(i)[:2] == most]
        drops = [b for a, b in zip(ticks, ticks[1:]) if b < a]
        assert len(drops) <= 1 and all(b < 1000 for b in drops), ticks
        # made within a few seconds: a few thousand milliseconds apart at most (modulo the wrap)
        assert (ticks[-1] - ticks[0]) % 65536 < 30000, ticks
    # the prefix is keyed, not the time: not the window's number, nor the seconds, around now
    now = int(time.time())
    for t in range(now - 20, now + 1):
        for cand in (t // 64, t):
            assert (cand & 0xffff).to_bytes(2, "big") not in prefixes, cand


def test_a_new_subject_and_its_records_are_still_found(world):
    """Ordering aside, ids work as before: read back by id, listed by subject lookup."""
    nid = next_nid()
    rec, _ = world.create_record(world.alice, nid=nid)
    r = world.alice.get(records_path("cpas", rec["id"]), purpose=P)
    assert_status(r, 200)
    assert r.json()["subject"] == rec["subject"]
    r = world.alice.post("/v1/orgs/cpas/subjects/lookup", {"national_id": nid}, purpose=P)
    assert_status(r, 200)
    assert r.json()["subject"] == rec["subject"]
