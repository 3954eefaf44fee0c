"""The tamper-evident audit trail: C2SP checkpoints, RFC 9162 proofs checked
with independent implementations (rfc6962.py, c2sp.py), who may read the
trail, the subject's access report, group commit under concurrency, and
`coffre audit verify` detecting edits, deletions, swaps and rollbacks."""

import base64
import json
import re
import shutil
import subprocess
import threading

import pytest

import c2sp
import rfc6962
from conftest import (COFFRE_BIN, START_TIMEOUT, World, assert_problem, assert_status, create_user, daemon_env,
                      next_nid, password_for, records_path)

P = "social-aid"


@pytest.fixture(scope="module")
def w(daemon):
    world = World(daemon)
    r = world.admin.post("/v1/users", {"username": "inspector", "password": password_for("inspector"),
                                       "roles": ["auditor"]})
    assert_status(r, 201)
    world.inspector = daemon.login("inspector", password_for("inspector"))
    create_user(world.sm["cpas"], "cpas", "cpas_auditor", ["auditor"])
    world.cpas_auditor = daemon.login("cpas_auditor", password_for("cpas_auditor"), "cpas")
    create_user(world.sm["cpas"], "cpas", "dora", ["dpo"])
    world.dpo = daemon.login("dora", password_for("dora"), "cpas")
    return world


def all_entries(client):
    """Every entry the client may see, up to the trail's size when the call starts.
    (Reading the trail is itself recorded, so paging must stop at a fixed end.)"""
    r = client.get("/v1/audit/entries?start=0&end=0")
    assert_status(r, 200)
    size = None
    r = client.get("/v1/audit/checkpoint")
    assert_status(r, 200)
    size = int(r.text.split("\n")[1])
    out, start = [], 0
    while start < size:
        end = min(size, start + 1000)
        r = client.get(f"/v1/audit/entries?start={start}&end={end}")
        assert_status(r, 200)
        out.extend(r.json()["entries"])
        start = end
    return out


def checkpoint(client):
    r = client.get("/v1/audit/checkpoint")
    assert_status(r, 200)
    assert r.headers["Content-Type"].startswith("text/plain")
    return r.text


def verifier_key(client):
    r = client.get("/v1/audit/key")
    assert_status(r, 200)
    return r.text.strip()


def test_only_auditors_read_the_trail(daemon, w):
    for who in (w.alice, w.sm["cpas"], w.admin, w.victor, w.dpo):
        for path in ("/v1/audit/checkpoint", "/v1/audit/key", "/v1/audit/entries",
                     "/v1/audit/proofs/inclusion?index=0&tree_size=1",
                     "/v1/audit/proofs/consistency?first=1&second=1"):
            assert_problem(who.get(path), 403, "forbidden")
    assert_problem(daemon.client().get("/v1/audit/checkpoint"), 401, "unauthenticated")
    # only the administrator creates instance users, and only auditor/authority ones
    assert_problem(w.sm["cpas"].post("/v1/users", {"username": "x1", "password": "p" * 12, "roles": ["auditor"]}),
                   403, "forbidden")
    assert_problem(w.admin.post("/v1/users", {"username": "x2", "password": "p" * 12, "roles": ["agent"]}),
                   400, "invalid-value")


def test_checkpoint_is_c2sp_and_verifies(w):
    vkey = verifier_key(w.inspector)
    assert re.fullmatch(r"[^+\s]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*", vkey), vkey
    note = checkpoint(w.inspector)
    assert re.fullmatch(r"[^\n]+\n(0|[1-9][0-9]*)\n[A-Za-z0-9+/]{43}=\n\n(\u2014 [^ \n]+ [A-Za-z0-9+/=]+\n)+", note), note
    origin, size, root = c2sp.verify_checkpoint(note, vkey)
    assert origin == vkey.split("+")[0]
    # the root is the RFC 9162 root of exactly the entries the instance auditor sees
    entries = all_entries(w.inspector)
    assert len(entries) >= size
    assert [e["index"] for e in entries] == list(range(len(entries)))
    leaves = [e["entry"].encode() for e in entries[:size]]
    assert rfc6962.root_from_leaves(leaves) == root
    # a flipped byte anywhere in the note fails the independent verifier
    bad = note.replace(note.split("\n")[1], str(size + 1), 1)
    with pytest.raises(AssertionError):
        c2sp.verify_checkpoint(bad, vkey)
    # the org auditor gets the same key and checkpoints
    assert verifier_key(w.cpas_auditor) == vkey
    c2sp.verify_checkpoint(checkpoint(w.cpas_auditor), vkey)


def test_entries_are_canonical_and_state_their_index(w):
    for e in all_entries(w.inspector):
        parsed = json.loads(e["entry"])
        assert json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False) == e["entry"]
        assert parsed["index"] == e["index"]


def test_org_auditor_sees_only_its_organization(w):
    # activity in both organizations, and a cross-organization attempt
    rec, _ = w.create_record(w.alice)
    w.create_record(w.victor)
    assert_problem(w.victor.get(records_path("cpas", rec["id"]), purpose=P), 403, "wrong-organization")
    everything = all_entries(w.inspector)
    mine = all_entries(w.cpas_auditor)

    def concerns_cpas(e):
        d = json.loads(e["entry"])
        return d.get("actor", {}).get("org") == "cpas" or d.get("resource", {}).get("org") == "cpas"

    expected = [e["index"] for e in everything if concerns_cpas(e)]
    got = [e["index"] for e in mine if e["index"] < len(everything)]
    assert got == expected
    assert all(concerns_cpas(e) for e in mine)
    assert any(json.loads(e["entry"]).get("actor", {}).get("org") == "ville" for e in mine), \
        "the attempt by ville's user on cpas's record concerns cpas"
    assert not any(json.loads(e["entry"]).get("resource", {}).get("org") == "ville" and
                   json.loads(e["entry"]).get("actor", {}).get("org") == "ville" for e in mine)


def test_inclusion_and_consistency_proofs_verify_independently(w):
    for _ in range(5):
        w.create_record(w.alice)
    entries = all_entries(w.inspector)
    leaves = [rfc6962.leaf_hash(e["entry"].encode()) for e in entries]
    n = len(leaves)
    sizes = sorted({1, 2, 3, 5, 7, 8, 9, 13, 16, 17, n - 1, n} & set(range(1, n + 1)))
    roots = {m: rfc6962.root_from_leaves([e["entry"].encode() for e in entries[:m]]) for m in sizes}
    checked = 0
    for m in sizes:
        for i in sorted({0, 1, m // 2, m - 2, m - 1} & set(range(m))):
            r = w.inspector.get(f"/v1/audit/proofs/inclusion?index={i}&tree_size={m}")
            assert_status(r, 200)
            body = r.json()
            assert body["leaf_index"] == i and body["tree_size"] == m
            proof = [base64.b64decode(h) for h in body["hashes"]]
            assert rfc6962.verify_inclusion(i, m, leaves[i], proof, roots[m])
            assert not rfc6962.verify_inclusion(i, m, leaves[(i + 1) % m], proof, roots[m]) or m == 1
            checked += 1
        for m2 in sizes:
            if m2 < m:
                continue
            r = w.inspector.get(f"/v1/audit/proofs/consistency?first={m}&second={m2}")
            assert_status(r, 200)
            proof = [base64.b64decode(h) for h in r.json()["hashes"]]
            assert rfc6962.verify_consistency(m, m2, roots[m], roots[m2], proof)
            checked += 1
    assert checked > 40
    # refused: out of range, malformed, missing
    assert_problem(w.inspector.get(f"/v1/audit/proofs/inclusion?index={n}&tree_size={n}"), 400, "invalid-value")
    assert_problem(w.inspector.get(f"/v1/audit/proofs/inclusion?index=0&tree_size={n + 1000}"), 400, "invalid-value")
    assert_problem(w.inspector.get("/v1/audit/proofs/inclusion?index=x&tree_size=3"), 400, "invalid-value")
    assert_problem(w.inspector.get("/v1/audit/proofs/inclusion?index=1"), 400, "missing-key")
    assert_problem(w.inspector.get("/v1/audit/proofs/consistency?first=3&second=2"), 400, "invalid-value")
    assert_problem(w.inspector.get("/v1/audit/proofs/consistency?first=0&second=2"), 400, "invalid-value")
    assert_problem(w.inspector.get("/v1/audit/entries?start=-1"), 400, "invalid-value")


def test_subject_access_report(w):
    nid = next_nid()
    rec, _ = w.create_record(w.alice, nid=nid)
    assert_status(w.alice.get(records_path("cpas", rec["id"]), purpose=P), 200)
    assert_problem(w.alice.get(records_path("cpas", rec["id"]), purpose="marketing"), 403, "purpose-not-allowed")
    subject = rec["subject"]
    path = f"/v1/orgs/cpas/subjects/{subject}/access-log"
    # only the organization's data protection officer
    for who in (w.alice, w.sm["cpas"], w.cpas_auditor, w.inspector, w.admin):
        r = who.get(path)
        assert r.status_code == 403, r.text
    assert_problem(w.victor.get(path), 403, "wrong-organization")
    assert_problem(w.dpo.get("/v1/orgs/cpas/subjects/s_doesnotexist0000000000/access-log"), 404, "not-found")
    r = w.dpo.get(path)
    assert_status(r, 200)
    report = r.json()
    assert report["subject"] == subject
    assert "alice" not in r.text and nid not in r.text and "Jeanne" not in r.text
    vkey = verifier_key(w.inspector)
    origin, size, root = c2sp.verify_checkpoint(report["checkpoint"], vkey)
    assert size == report["tree_size"]
    actions = [e["action"] for e in report["entries"]]
    assert actions[:3] == ["record.create", "record.read", "record.read"]
    denied = report["entries"][2]
    assert denied["outcome"] == "denied" and denied["why"]["purpose"] == "marketing"
    first = report["entries"][0]
    assert first["who"] == {"org": "cpas", "role": "agent"}
    assert first["why"]["purpose"] == P and first["why"]["legal_basis"]
    for e in report["entries"]:
        proof = [base64.b64decode(h) for h in e["inclusion_proof"]["hashes"]]
        assert e["inclusion_proof"]["tree_size"] == size
        leaf = rfc6962.leaf_hash(e["entry"].encode())
        assert rfc6962.verify_inclusion(e["index"], size, leaf, proof, root), e["index"]
        assert json.loads(e["entry"])["resource"]["subject"] == subject


def test_group_commit_under_concurrency(daemon, w):
    before = all_entries(w.inspector)[-1]["index"] + 1
    rec, _ = w.create_record(w.alice)
    answered, errors = [], []
    lock = threading.Lock()

    def worker(k):
        client = daemon.login("alice", password_for("alice"), "cpas")
        for j in range(15):
            if j % 3 == 0:
                r = client.post(records_path("cpas"), {"subject": {"national_id": next_nid()},
                                                       "fields": {"first_name": "A", "last_name": "B"}}, purpose=P)
                ok = r.status_code == 201
            else:
                r = client.get(records_path("cpas", rec["id"]), purpose=P)
                ok = r.status_code == 200
            with lock:
                (answered if ok else errors).append(r.status_code)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    after = [json.loads(e["entry"]) for e in all_entries(w.inspector) if e["index"] >= before]
    personal = [e for e in after if e["action"] in ("record.create", "record.read") and
                e.get("actor", {}).get("org") == "cpas" and e["outcome"] == "allowed"]
    assert len(personal) == len(answered) + 1  # + the record created first


def run_verify(data, *extra):
    return subprocess.run([COFFRE_BIN, "audit", "verify", "--data", str(data), *extra], capture_output=True,
                          env=daemon_env(), timeout=START_TIMEOUT, text=True)


def sql(path, *statements):
    import sqlite3
    con = sqlite3.connect(str(path), isolation_level=None)
    try:
        for s in statements:
            con.execute(s)
    finally:
        con.close()


def test_verify_detects_tampering(daemon, w, tmp_path):
    # keep an older checkpoint and a copy of the database from that time elsewhere
    vkey = verifier_key(w.inspector)
    old_note = checkpoint(w.inspector)
    daemon.stop()
    old_copy = tmp_path / "old"
    shutil.copytree(daemon.data, old_copy)
    daemon.start()
    w.alice = daemon.login("alice", password_for("alice"), "cpas")
    for _ in range(3):
        w.create_record(w.alice)
    inspector = daemon.login("inspector", password_for("inspector"))
    new_note = checkpoint(inspector)
    (tmp_path / "old.ckpt").write_text(old_note)
    (tmp_path / "new.ckpt").write_text(new_note)
    daemon.stop()

    good = run_verify(daemon.data, "--key", vkey, "--checkpoint", str(tmp_path / "old.ckpt"))
    assert good.returncode == 0, good.stdout + good.stderr
    assert "OK" in good.stdout
    n = int(new_note.split("\n")[1])

    def attempt(name, *statements, ckpt="new.ckpt"):
        d = tmp_path / name
        shutil.copytree(daemon.data, d)
        sql(d / "vault.db", *statements)
        return run_verify(d, "--key", vkey, "--checkpoint", str(tmp_path / ckpt))

    target = n // 2
    r = attempt("edit", "DROP TRIGGER audit_no_update",
                f"UPDATE audit SET entry = CAST(replace(CAST(entry AS TEXT), '\"outcome\":\"allowed\"', "
                f"'\"outcome\":\"allowex\"') AS BLOB) WHERE idx = {target}")
    assert r.returncode == 1 and f"index {target}" in r.stdout, r.stdout

    r = attempt("truncate", "DROP TRIGGER audit_no_delete", f"DELETE FROM audit WHERE idx >= {n - 2}")
    assert r.returncode == 1 and f"index {n - 2}" in r.stdout, r.stdout

    r = attempt("swap", "DROP TRIGGER audit_no_update",
                "CREATE TEMP TABLE t AS SELECT idx, entry, leaf FROM audit WHERE idx IN (3, 4)",
                "UPDATE audit SET entry = (SELECT entry FROM t WHERE t.idx = 7 - audit.idx), "
                "leaf = (SELECT leaf FROM t WHERE t.idx = 7 - audit.idx) WHERE idx IN (3, 4)")
    assert r.returncode == 1 and "index 3" in r.stdout, r.stdout

    # the whole database rolled back to the older copy: internally consistent, caught by the newer checkpoint
    r = run_verify(old_copy, "--key", vkey, "--checkpoint", str(tmp_path / "new.ckpt"))
    assert r.returncode == 1 and "rolled back" in r.stdout, r.stdout
    assert f"index {int(old_note.split(chr(10))[1])}" in r.stdout or "index" in r.stdout

    # a checkpoint whose root was altered no longer verifies
    forged = tmp_path / "forged.ckpt"
    forged.write_text(new_note.replace(new_note.split("\n")[2], base64.b64encode(b"\0" * 32).decode()))
    r = run_verify(daemon.data, "--key", vkey, "--checkpoint", str(forged))
    assert r.returncode == 1 and "does not verify" in r.stdout, r.stdout
    daemon.start()
