"""Invariant 1: no plaintext personal value, national identifier or secret is
ever written to disk or to a log. Canary values go in through the API; after
a clean stop every byte under the data directory (databases, -wal, -shm,
logs) and the daemon's own output are scanned."""

import secrets

import pytest

from conftest import (assert_problem, assert_status, create_user, format_nid, invalid_nid, next_nid,
                      password_for, record_fields, records_path)

P = "social-aid"
CANARY = "CanaryQx" + secrets.token_hex(6)
CANARY2 = "Kanarie" + secrets.token_hex(6)
CANARY_ERR = "errcanary" + secrets.token_hex(5)


@pytest.fixture(scope="module")
def scanned(daemon, world):
    d = daemon
    nid = next_nid()
    nid_unknown = next_nid()
    alice = world.alice
    r = alice.post(records_path("cpas"), {"subject": {"national_id": format_nid(nid)},
                                          "fields": record_fields(first_name=CANARY, notes=f"notes {CANARY}")},
                   purpose=P)
    assert_status(r, 201)
    rid = r.json()["id"]
    assert_status(alice.get(records_path("cpas", rid), purpose=P), 200)
    assert_status(alice.patch(records_path("cpas", rid), {"fields": {"last_name": CANARY2}}, purpose=P), 200)
    assert_status(alice.post("/v1/orgs/cpas/subjects/lookup", {"national_id": nid}, purpose=P), 200)
    assert_problem(alice.post("/v1/orgs/cpas/subjects/lookup", {"national_id": nid_unknown}, purpose=P),
                   404, "not-found")
    # the same subject in the other organization
    assert_status(world.victor.post(records_path("ville"), {"subject": {"national_id": nid},
                                                            "fields": record_fields(first_name=CANARY)},
                                    purpose=P), 201)
    # values in refused requests must not be logged either
    r = alice.post(records_path("cpas"), {"subject": {"national_id": nid},
                                          "fields": record_fields(email=f"{CANARY_ERR}@@invalid")}, purpose=P)
    assert_problem(r, 400, "invalid-value")
    assert CANARY_ERR not in r.text
    r = alice.post(records_path("cpas"), {"subject": {"national_id": nid},
                                          "fields": record_fields(first_name=CANARY_ERR * 20)}, purpose=P)
    assert_problem(r, 400, "too-long")
    assert CANARY_ERR not in r.text
    r = alice.post(records_path("cpas"), {"subject": {"national_id": invalid_nid(nid)},
                                          "fields": record_fields()}, purpose=P)
    assert_problem(r, 400, "invalid-national-id")
    assert_problem(alice.get(records_path("cpas", rid), purpose="statistics"), 403, "purpose-not-allowed")

    # secrets: session tokens and an API key secret
    sm = world.sm["cpas"]
    create_user(sm, "cpas", "batch_c", ["technical"])
    kr = sm.post("/v1/orgs/cpas/api-keys", {"username": "batch_c"}).json()
    key, key_secret = kr["key"], kr["key"][len(f"cfk_{kr['id']}."):]
    assert key.startswith(f"cfk_{kr['id']}.") and len(key_secret) >= 32
    assert_status(d.client(key).get("/v1/me"), 200)
    tokens = [c.token for c in (alice, world.carol, world.victor, sm, world.admin)]

    d.stop()

    files = {}
    for p in sorted(d.data.rglob("*")):
        if p.is_file():
            files[str(p.relative_to(d.base))] = p.read_bytes()
    files["daemon.log"] = d.log_path.read_bytes()
    if (d.base / "init.err").exists():
        files["init.err"] = (d.base / "init.err").read_bytes()
    return {
        "files": files,
        "personal": [CANARY, CANARY2, CANARY_ERR, nid, format_nid(nid), nid_unknown],
        "secrets": tokens + [key, key_secret, d.admin_password] +
                   [password_for(u) for u in ("alice", "carol", "victor", "sm_cpas", "sm_ville")],
        "daemon": d,
    }


def _scan(files, needles):
    hits = []
    for name, data in files.items():
        for n in needles:
            for enc in (n.encode(), n.encode("utf-16-le")):
                if enc in data:
                    hits.append((name, n))
    return hits


def test_keystore_apart_from_records(scanned):
    d = scanned["daemon"]
    assert (d.data / "vault.db").is_file()
    assert (d.data / "keys.db").is_file()
    assert (d.data / "vault.db").stat().st_size > 0 and (d.data / "keys.db").stat().st_size > 0
    for name in ("vault.db", "keys.db"):
        assert ((d.data / name).stat().st_mode & 0o077) == 0, f"{name} is readable by others"


def test_no_personal_value_on_disk_or_in_logs(scanned):
    files = scanned["files"]
    assert any(n.endswith("vault.db") for n in files)
    assert "daemon.log" in files
    hits = _scan(files, scanned["personal"])
    assert not hits, f"personal values found in: {sorted({h[0] for h in hits})}"


def test_no_secret_on_disk_or_in_logs(scanned):
    hits = _scan(scanned["files"], scanned["secrets"])
    assert not hits, f"secrets found in: {sorted({h[0] for h in hits})}"
