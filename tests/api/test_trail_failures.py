"""It never hangs and fails closed: when the trail cannot be written (the
disk is full, the store is locked past the timeout) personal-data requests
fail with 503 at once, health says why, nothing is returned without its
entry, and service resumes by itself when the cause goes away, with the
trail still verifying."""

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (COFFRE_BIN, START_TIMEOUT, Daemon, World, assert_problem, assert_status, daemon_env,
                      records_path)

P = "social-aid"


def entries_for(daemon, rid, action="record.read", outcome="allowed"):
    con = daemon.db()
    try:
        rows = con.execute("SELECT entry FROM audit").fetchall()
    finally:
        con.close()
    n = 0
    for (e,) in rows:
        d = json.loads(bytes(e).decode() if isinstance(e, (bytes, bytearray)) else e)
        if d["action"] == action and d.get("outcome") == outcome and d.get("resource", {}).get("record") == rid:
            n += 1
    return n


def verify(daemon):
    r = subprocess.run([COFFRE_BIN, "audit", "verify", "--data", str(daemon.data)], capture_output=True, text=True,
                       env=daemon_env(), timeout=START_TIMEOUT)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.fixture
def locked_daemon(tmp_path):
    d = Daemon(tmp_path, {"store_busy_timeout_ms": 300}).init()
    d.start()
    yield d
    d.stop()


def test_store_locked_past_the_timeout(locked_daemon):
    d = locked_daemon
    w = World(d)
    rec, _ = w.create_record(w.alice)
    import sqlite3
    con = sqlite3.connect(str(d.data / "vault.db"), isolation_level=None, timeout=5)
    con.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        r = w.alice.get(records_path("cpas", rec["id"]), purpose=P)
        elapsed = time.monotonic() - started
        assert r.status_code == 503, r.text
        assert "Jeanne" not in r.text
        assert elapsed < 5, f"took {elapsed:.1f}s: a locked store must not hang requests"
        h = d.client().get("/v1/sys/health")
        assert h.status_code == 503 and h.json()["audit"]["status"] == "unavailable", h.text
    finally:
        con.execute("ROLLBACK")
        con.close()
    # resumes by itself
    deadline = time.monotonic() + 10
    while True:
        r = w.alice.get(records_path("cpas", rec["id"]), purpose=P)
        if r.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert_status(r, 200)
    assert_status(d.client().get("/v1/sys/health"), 200)
    assert entries_for(d, rec["id"]) == 1
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


def test_disk_full_fails_closed_and_recovers(small_disk):
    d = Daemon(small_disk, {"store_busy_timeout_ms": 1000}).init()
    d.start()
    try:
        w = World(d)
        rec, _ = w.create_record(w.alice)
        filler = small_disk / "filler"
        fill(filler)
        ok = refused = 0
        saw_unhealthy = False
        for i in range(400):
            if i % 2:
                r = w.alice.get(records_path("cpas", rec["id"]), purpose=P)
                if r.status_code == 200:
                    ok += 1
                else:
                    assert_problem(r, 503, "audit-unavailable")
                    assert "Jeanne" not in r.text
                    refused += 1
            else:
                r = w.alice.post(records_path("cpas"), {"subject": {"national_id": "85073003328"},
                                                        "fields": {"first_name": "F" * 100, "last_name": "X" * 100, "notes": "N" * 2000}},
                                 purpose=P)
                assert r.status_code in (201, 503), r.text
                if r.status_code == 503:
                    refused += 1
            if refused:
                h = d.client().get("/v1/sys/health")
                if h.status_code == 503 and h.json()["audit"]["status"] == "unavailable":
                    saw_unhealthy = True
                    break
        assert refused > 0, "a full disk must make audited requests fail"
        assert saw_unhealthy, "health must report the unwritable trail"
        # every read that was answered has its entry
        assert entries_for(d, rec["id"]) == ok
        # space returns: service resumes by itself
        os.unlink(filler)
        deadline = time.monotonic() + 15
        while True:
            r = w.alice.get(records_path("cpas", rec["id"]), purpose=P)
            if r.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert_status(r, 200)
        assert_status(d.client().get("/v1/sys/health"), 200)
        assert entries_for(d, rec["id"]) == ok + 1
    finally:
        d.stop()
    verify(d)
