"""The data lifecycle (issue 5): retention with an injected clock (the
debug option debug_clock_offset_seconds, which production refuses),
disposal records and their audit entries, holds that suspend disposal;
rectification history and the readable export; environments (production
refuses debug options and test data) and pseudonymized datasets."""

import datetime
import json
import subprocess
import time

import pytest

from conftest import (COFFRE_BIN, START_TIMEOUT, Daemon, assert_problem, assert_status, create_org,
                      create_security_manager, create_user, daemon_env, next_nid, nid_check, password_for)

P = "case-work"
DAY = 86400

SHORT = {  # retention from creation
    "fields": {"note": {"type": "string", "category": "social", "required": True, "max_length": 200}},
    "purposes": {P: {"legal_basis": "Organic law of 8 July 1976, art. 60"}},
    "retention": "P30D",
}
TOUCHED = {  # retention from the last update
    "fields": {"note": {"type": "string", "category": "social", "required": True, "max_length": 200}},
    "purposes": {P: {"legal_basis": "Organic law of 8 July 1976, art. 60"}},
    "retention": "P30D",
    "retention_start": "updated",
}
CASES = {  # retention from a date field: the case's closing date
    "fields": {
        "summary": {"type": "string", "category": "social", "required": True, "max_length": 200},
        "closed_on": {"type": "date", "category": "social"},
    },
    "purposes": {P: {"legal_basis": "Organic law of 8 July 1976, art. 60"}},
    "retention": "P1Y",
    "retention_start": "closed_on",
}
GRANTS = [{"collection": c, "actions": ["read", "write", "delete"], "purposes": [P], "fields": ["*"]}
          for c in ("short", "touched", "cases")]

DAEMON_CONF = {"environment": "test", "retention_sweep_interval_seconds": 1}


def days_ago(n):
    return (datetime.date.today() - datetime.timedelta(days=n)).isoformat()


def rpath(c, rid=None):
    p = f"/v1/orgs/cpas/collections/{c}/records"
    return p if rid is None else f"{p}/{rid}"


class Life:
    def __init__(self, d):
        self.d = d
        admin = d.admin()
        create_org(admin, "cpas")
        create_org(admin, "ville")
        self.sm = create_security_manager(d, admin, "cpas", "sm_l")
        for name, body in (("short", SHORT), ("touched", TOUCHED), ("cases", CASES)):
            assert_status(self.sm.put(f"/v1/orgs/cpas/collections/{name}", body), 200)
        assert_status(self.sm.put("/v1/orgs/cpas/roles/agent/grants", GRANTS), 200)
        create_user(self.sm, "cpas", "agent_l", ["agent"])
        create_user(self.sm, "cpas", "dpo_l", ["dpo"])
        create_user(self.sm, "cpas", "aud_l", ["auditor"])
        sm_v = create_security_manager(d, admin, "ville", "sm_lv")
        create_user(sm_v, "ville", "dpo_lv", ["dpo"])
        self.login()

    def login(self):
        d = self.d
        self.sm = d.login("sm_l", password_for("sm_l"), "cpas")
        self.agent = d.login("agent_l", password_for("agent_l"), "cpas")
        self.dpo = d.login("dpo_l", password_for("dpo_l"), "cpas")
        self.aud = d.login("aud_l", password_for("aud_l"), "cpas")
        self.dpo_ville = d.login("dpo_lv", password_for("dpo_lv"), "ville")

    def create(self, coll, fields, nid=None):
        nid = nid or next_nid()
        r = self.agent.post(rpath(coll), {"subject": {"national_id": nid}, "fields": fields}, purpose=P)
        assert_status(r, 201)
        return r.json(), nid

    def exists(self, coll, rid):
        r = self.agent.get(rpath(coll, rid), purpose=P)
        assert r.status_code in (200, 404), r.text
        return r.status_code == 200

    def sweeps(self):
        return self.d.client().get("/v1/sys/health").json()["retention"]["sweeps"]

    def wait_sweeps(self, n=2):
        """Waits until n more sweeps completed (so at least one full sweep ran after this call)."""
        start = self.sweeps()
        deadline = time.monotonic() + 30
        while self.sweeps() < start + n:
            assert time.monotonic() < deadline, "the sweeper does not run:\n" + self.d.log_tail()
            time.sleep(0.2)

    def restart(self, offset_seconds):
        """Restarts the daemon with its clock shifted (a later line of the file wins)."""
        self.d.stop()
        with open(self.d.data / "coffre.conf", "a", encoding="utf-8") as f:
            f.write(f"debug_clock_offset_seconds = {offset_seconds}\n")
        self.d.start()
        self.login()  # tokens issued before the jump have expired

    def disposals(self):
        r = self.dpo.get("/v1/orgs/cpas/disposals")
        assert_status(r, 200)
        return r.json()["disposals"]


@pytest.fixture(scope="module")
def life(daemon):
    return Life(daemon)


def disposed_ids(life):
    return {rec["id"]: d for d in life.disposals() for rec in d["records"]}


def test_retention_with_a_shifted_clock(life):
    L = life
    # a case closed 400 days ago is past its one-year retention already
    old_case, old_nid = L.create("cases", {"summary": "closed long ago", "closed_on": days_ago(400)})
    recent_case, _ = L.create("cases", {"summary": "closed recently", "closed_on": days_ago(100)})
    open_case, _ = L.create("cases", {"summary": "still open"})
    short, short_nid = L.create("short", {"note": "thirty days"})
    held_rec, _ = L.create("short", {"note": "held record"})
    held_subj, held_nid = L.create("short", {"note": "held subject"})
    touched, _ = L.create("touched", {"note": "v1"})
    assert_status(L.agent.patch(rpath("touched", touched["id"]), {"fields": {"note": "v2"}}, purpose=P), 200)

    L.wait_sweeps()
    gone = disposed_ids(L)
    assert old_case["id"] in gone, "an expired case is disposed of at the next sweep"
    assert not L.exists("cases", old_case["id"])
    for rec, coll in ((recent_case, "cases"), (open_case, "cases"), (short, "short"), (touched, "touched")):
        assert rec["id"] not in gone and L.exists(coll, rec["id"])
    # the subject had nothing else: it is forgotten (no lookup finds it, its export says erased)
    r = L.agent.post("/v1/orgs/cpas/subjects/lookup", {"national_id": old_nid}, purpose=P)
    assert_problem(r, 404, "not-found")
    assert_problem(L.dpo.get(f"/v1/orgs/cpas/subjects/{old_case['subject']}/export"), 410, "erased")

    # holds on one record and on a whole subject
    r = L.dpo.post(f"/v1/orgs/cpas/subjects/{held_rec['subject']}/holds",
                   {"reason": "litigation 2026/17", "record": held_rec["id"]})
    assert_status(r, 201)
    rec_hold = r.json()["id"]
    assert_status(L.dpo.post(f"/v1/orgs/cpas/subjects/{held_subj['subject']}/holds", {"reason": "inquiry"}), 201)

    # two minutes before the 30 days: nothing of "short" or "touched" goes
    L.restart(30 * DAY - 120)
    L.wait_sweeps()
    gone = disposed_ids(L)
    for rec, coll in ((short, "short"), (held_rec, "short"), (held_subj, "short"), (touched, "touched"),
                      (recent_case, "cases"), (open_case, "cases")):
        assert rec["id"] not in gone and L.exists(coll, rec["id"]), rec

    # a few seconds past them: the records go, except the held ones
    L.restart(30 * DAY + 5)
    L.wait_sweeps()
    gone = disposed_ids(L)
    assert short["id"] in gone and touched["id"] in gone
    assert not L.exists("short", short["id"]) and not L.exists("touched", touched["id"])
    for rec, coll in ((held_rec, "short"), (held_subj, "short"), (recent_case, "cases"), (open_case, "cases")):
        assert rec["id"] not in gone and L.exists(coll, rec["id"]), rec

    # releasing the record's hold lets the next sweep dispose of it; the subject's hold still holds
    assert_status(L.dpo.post(f"/v1/orgs/cpas/subjects/{held_rec['subject']}/holds/{rec_hold}/release", {}), 200)
    L.wait_sweeps()
    gone = disposed_ids(L)
    assert held_rec["id"] in gone and not L.exists("short", held_rec["id"])
    assert held_subj["id"] not in gone and L.exists("short", held_subj["id"])

    # a year after the recent case closed (and more), it goes too; the open case never starts its retention
    L.restart(300 * DAY)
    L.wait_sweeps()
    gone = disposed_ids(L)
    assert recent_case["id"] in gone and open_case["id"] not in gone and L.exists("cases", open_case["id"])


def test_disposal_records_and_their_audit_entries(life):
    L = life
    L.wait_sweeps(1)
    ds = L.disposals()
    assert ds, "the previous test disposed of records"
    for d in ds:
        assert d["id"].startswith("d_") and d["count"] == len(d["records"]) >= 1
        assert d["collection"] in ("short", "touched", "cases")
        assert d["retention"] in ("P30D", "P1Y") and d["retention_start"] in ("created", "updated", "closed_on")
        for rec in d["records"]:
            assert rec["id"].startswith("r_") and rec["subject"].startswith("s_")
            assert rec["expired_at"] <= d["disposed_at"]
        # the audit entry the disposal names, read by the organization's auditor
        r = L.aud.get(f"/v1/audit/entries?start={d['audit_index']}&end={d['audit_index'] + 1}")
        assert_status(r, 200)
        (item,) = r.json()["entries"]
        e = json.loads(item["entry"])
        assert e["action"] == "retention.dispose" and e["outcome"] == "allowed"
        assert e["disposal"] == d["id"] and e["count"] == d["count"]
        assert e["resource"] == {"org": "cpas", "collection": d["collection"]}
        assert e["actor"] == {"auth": "system", "ip": "local"}
        assert d["retention"] in e["reason"]
    # newest first
    times = [d["disposed_at"] for d in ds]
    assert times == sorted(times, reverse=True)


def test_disposal_records_are_for_the_dpo_and_auditors(life):
    L = life
    assert_status(L.aud.get("/v1/orgs/cpas/disposals"), 200)
    assert_problem(L.agent.get("/v1/orgs/cpas/disposals"), 403, "forbidden")
    assert_problem(L.sm.get("/v1/orgs/cpas/disposals"), 403, "forbidden")
    assert_problem(L.dpo_ville.get("/v1/orgs/cpas/disposals"), 403, "wrong-organization")
    assert_problem(L.d.admin().get("/v1/orgs/cpas/disposals"), 403, "forbidden")


def test_disposal_tables_cannot_be_rewritten(life):
    con = life.d.db()
    try:
        for sql in ("UPDATE disposals SET count = 99", "DELETE FROM disposals"):
            with pytest.raises(Exception):
                con.execute(sql)
        assert con.execute("SELECT count(*) FROM disposals").fetchone()[0] >= 1
    finally:
        con.close()


# ---- rectification history and the readable export ----

def test_export_shows_corrections_and_reads_as_markdown(life):
    L = life
    rec, _ = L.create("cases", {"summary": "Zorglub first version"})
    for text in ("Zorglub second version", "Zorglub third version"):
        assert_status(L.agent.patch(rpath("cases", rec["id"]), {"fields": {"summary": text}}, purpose=P), 200)
    assert_status(L.agent.patch(rpath("cases", rec["id"]), {"fields": {"closed_on": days_ago(1)}}, purpose=P), 200)
    r = L.dpo.get(f"/v1/orgs/cpas/subjects/{rec['subject']}/export")
    assert_status(r, 200)
    (one,) = r.json()["records"]
    hist = one["history"]
    assert [h["version"] for h in hist] == [1, 2, 3, 4]
    assert hist[0]["changes"] == {"summary": {"from": None, "to": "Zorglub first version"}}
    assert hist[1]["changes"] == {"summary": {"from": "Zorglub first version", "to": "Zorglub second version"}}
    assert hist[2]["changes"] == {"summary": {"from": "Zorglub second version", "to": "Zorglub third version"}}
    assert hist[3]["changes"] == {"closed_on": {"from": None, "to": days_ago(1)}}
    assert all(a["at"] <= b["at"] for a, b in zip(hist, hist[1:]))

    r = L.dpo.get(f"/v1/orgs/cpas/subjects/{rec['subject']}/export?format=markdown")
    assert_status(r, 200)
    assert r.headers["Content-Type"].startswith("text/markdown")
    md = r.text
    # Markdown escapes the underscore of identifiers
    assert md.startswith("# Personal data held about subject " + rec["subject"].replace("_", "\\_"))
    for text in ("## Records", "## Who accessed this data", "Zorglub third version", "Zorglub first version",
                 "| Version | When | Field | Before | After |", "P1Y"):
        assert text in md, text
    assert_problem(L.dpo.get(f"/v1/orgs/cpas/subjects/{rec['subject']}/export?format=pdf"), 400, "invalid-value")
    assert_problem(L.agent.get(f"/v1/orgs/cpas/subjects/{rec['subject']}/export?format=markdown"), 403, "forbidden")


# ---- environments ----

def run_serve(d, timeout=START_TIMEOUT):
    return subprocess.run([COFFRE_BIN, "serve", "--data", str(d.data), "--listen", "127.0.0.1:1"],
                          capture_output=True, timeout=timeout, env=daemon_env())


@pytest.mark.parametrize("conf,message", [
    ({"debug_clock_offset_seconds": 60}, b"debug_clock_offset_seconds: debug options are refused in production"),
    ({"log_level": "debug"}, b"log_level: debug logging is refused in production"),
])
def test_production_refuses_debug_options(tmp_path, conf, message):
    d = Daemon(tmp_path, {"environment": "production", **conf}).init()
    r = run_serve(d)
    assert r.returncode == 2 and message in r.stderr, r.stderr


# ---- pseudonymized datasets ----

PEOPLE = {
    "fields": {
        "first_name": {"type": "string", "category": "identity", "required": True, "max_length": 60},
        "file_ref": {"type": "string", "category": "social", "pattern": "^[A-Z]{2}-[0-9]{4}$"},
        "birth_date": {"type": "date", "category": "identity"},
        "email": {"type": "email", "category": "contact"},
        "phone": {"type": "phone", "category": "contact"},
        "postal_code": {"type": "postal_code", "category": "contact"},
        "partner_nid": {"type": "national_id", "category": "family"},
        "own_nid": {"type": "national_id", "category": "identity"},
        "income": {"type": "integer", "category": "financial", "min": 0, "max": 1000000},
        "aid_kind": {"type": "enum", "category": "social", "values": ["ris", "emergency", "housing"]},
        "housed": {"type": "boolean", "category": "housing"},
    },
    "purposes": {P: {"legal_basis": "Organic law of 8 July 1976, art. 60"}},
    "retention": "P10Y",
}


def valid_nid(n):
    return (len(n) == 11 and n.isdigit() and
            int(n[9:]) in (nid_check(n[:9], False), nid_check(n[:9], True)))


def scalars(x, out):
    """Every string and number in a JSON value (keys excluded)."""
    if isinstance(x, dict):
        for v in x.values():
            scalars(v, out)
    elif isinstance(x, list):
        for v in x:
            scalars(v, out)
    elif isinstance(x, (str, int, float)) and not isinstance(x, bool):
        out.add(x)
    return out


@pytest.fixture(scope="module")
def dataset_source(life):
    """Three people in the 'people' collection, one of them also with a case; the source values kept."""
    L = life
    assert_status(L.sm.put("/v1/orgs/cpas/collections/people", PEOPLE), 200)
    assert_status(L.sm.put("/v1/orgs/cpas/roles/agent/grants", GRANTS + [
        {"collection": "people", "actions": ["read", "write"], "purposes": [P], "fields": ["*"]}]), 200)
    L.login()
    a, b, c = next_nid(), next_nid(), next_nid()
    values = []
    # one birth date and one postal code for the three: a synthetic value differs from its own source by
    # construction, but may by chance equal another person's (a date within three years, one of 9,000 codes)
    for i, (nid, partner) in enumerate(((a, b), (b, a), (c, a))):
        f = {"first_name": f"Zorglubette{i}", "file_ref": f"AB-{1200 + i}", "birth_date": "1980-03-10",
             "email": f"person{i}@mail.example.be", "phone": f"+32 470 12 34 5{i}", "postal_code": "4000",
             "partner_nid": partner, "own_nid": nid, "income": 21000 + i, "aid_kind": "ris", "housed": True}
        L.create("people", f, nid=nid)
        values.append(f)
    case, _ = L.create("cases", {"summary": "Zorglub case of the first person", "closed_on": days_ago(3)}, nid=a)
    r = L.dpo.get("/v1/orgs/cpas/dataset?pseudonymize=true")
    assert_status(r, 200)
    return {"nids": (a, b, c), "values": values, "case": case, "dataset": r.json(), "text": r.text}


def test_pseudonymized_export_keeps_nothing_of_the_source(life, dataset_source):
    ds = dataset_source["dataset"]
    assert ds["format"] == "coffre-pseudonymized-dataset/1" and ds["pseudonymized"] is True
    assert ds["source_org"] == "cpas" and ds["source_environment"] == "test"
    assert ds["collections"]["people"] == life.sm.get("/v1/orgs/cpas/collections/people").json()["definition"]
    out = scalars(ds["subjects"], set())
    # no identifier of the source, no value of the source, field by field (enums and booleans are drawn at random)
    src = set(dataset_source["nids"]) | {dataset_source["case"]["subject"], dataset_source["case"]["id"]}
    for f in dataset_source["values"]:
        for k, v in f.items():
            if k not in ("aid_kind", "housed"):
                src.add(v)
    src.add("Zorglub case of the first person")
    leaked = src & out
    assert not leaked, leaked
    assert "Zorglub" not in dataset_source["text"] and "mail.example.be" not in dataset_source["text"]


def test_pseudonymized_export_is_consistent_and_valid(life, dataset_source):
    ds = dataset_source["dataset"]
    people = {}
    for s in ds["subjects"]:
        assert valid_nid(s["national_id"]), s["national_id"]
        for rec in s["records"]:
            if rec["collection"] == "people":
                f = rec["fields"]
                # the record naming its own subject still names the same (synthetic) person
                assert f["own_nid"] == s["national_id"]
                assert valid_nid(f["partner_nid"])
                assert len(f["file_ref"]) == 7 and f["file_ref"][2] == "-" and f["file_ref"][:2].isupper()
                assert f["aid_kind"] in ("ris", "emergency", "housing") and isinstance(f["housed"], bool)
                assert 0 <= f["income"] <= 1000000 and f["email"].endswith("@example.invalid")
                people[s["national_id"]] = (f, len(s["records"]))
    assert len(people) >= 3
    # partners map consistently: whoever was the partner of someone is, synthetically, that same person
    syn_nids = set(people)
    partners = [f["partner_nid"] for f, _ in people.values()]
    assert sum(p in syn_nids for p in partners) >= 3
    # the first person kept their two records (people + case) under one subject
    assert any(n == 2 for _, n in people.values())


def test_dataset_routes_refuse_what_they_must(life):
    L = life
    assert_problem(L.dpo.get("/v1/orgs/cpas/dataset"), 400, "invalid-value")
    assert_problem(L.agent.get("/v1/orgs/cpas/dataset?pseudonymize=true"), 403, "forbidden")
    assert_problem(L.dpo_ville.get("/v1/orgs/cpas/dataset?pseudonymize=true"), 403, "wrong-organization")
    assert_problem(L.dpo.post("/v1/orgs/cpas/dataset", {"format": "x"}), 403, "forbidden")
    good = {"format": "coffre-pseudonymized-dataset/1", "pseudonymized": True, "collections": {}, "subjects": []}
    assert_problem(L.sm.post("/v1/orgs/cpas/dataset", {**good, "format": "csv"}), 400, "invalid-value")
    assert_problem(L.sm.post("/v1/orgs/cpas/dataset", {**good, "pseudonymized": False}), 400, "invalid-value")
    assert_problem(L.sm.post("/v1/orgs/cpas/dataset", {**good, "extra": 1}), 400, "unknown-key")
    bad_rec = {**good, "collections": {"short": SHORT},
               "subjects": [{"national_id": next_nid(), "records": [{"collection": "nope", "fields": {}}]}]}
    assert_problem(L.sm.post("/v1/orgs/cpas/dataset", bad_rec), 400, "invalid-value")
    other_def = {**good, "collections": {"short": {**SHORT, "retention": "P1Y"}}}
    assert_problem(L.sm.post("/v1/orgs/cpas/dataset", other_def), 409, "conflict")


def test_import_into_a_test_vault_then_production_refuses_it(life, dataset_source, tmp_path):
    ds = dataset_source["dataset"]
    d = Daemon(tmp_path / "acc", {"environment": "acceptance"}).init()
    d.start()
    try:
        admin = d.admin()
        create_org(admin, "cpas")
        sm = create_security_manager(d, admin, "cpas", "sm_acc")
        r = sm.post("/v1/orgs/cpas/dataset", ds)
        assert_status(r, 201)
        n_records = sum(len(s["records"]) for s in ds["subjects"])
        assert r.json() == {"org": "cpas", "collections": len(ds["collections"]), "subjects": len(ds["subjects"]),
                            "records": n_records}
        assert_status(sm.put("/v1/orgs/cpas/roles/agent/grants", [
            {"collection": "people", "actions": ["read"], "purposes": [P], "fields": ["*"]}]), 200)
        create_user(sm, "cpas", "agent_acc", ["agent"])
        agent = d.login("agent_acc", password_for("agent_acc"), "cpas")
        s = next(s for s in ds["subjects"] if any(r["collection"] == "people" for r in s["records"]))
        r = agent.post("/v1/orgs/cpas/subjects/lookup", {"national_id": s["national_id"]}, purpose=P)
        assert_status(r, 200)
        (found,) = [x for x in r.json()["records"] if x["collection"] == "people"]
        r = agent.get(f"/v1/orgs/cpas/collections/people/records/{found['id']}", purpose=P)
        assert_status(r, 200)
        want = next(x for x in s["records"] if x["collection"] == "people")["fields"]
        assert r.json()["fields"] == want
    finally:
        d.stop()
    # the vault now holds test data: production does not start on it
    with open(d.data / "coffre.conf", "a", encoding="utf-8") as f:
        f.write("environment = production\n")
    r = run_serve(d)
    assert r.returncode != 0 and b"holds test data" in r.stderr, r.stderr


def test_production_refuses_an_import(tmp_path, dataset_source):
    from test_seal import PASSPHRASE, SealedDaemon
    d = SealedDaemon(tmp_path / "prod", {"environment": "production"})
    d.init()
    with open(d.data / "coffre.conf", "a", encoding="utf-8") as f:
        f.write("environment = production\n")
    d.start_sealed()
    try:
        assert_status(d.client().post("/v1/sys/unseal", {"passphrase": PASSPHRASE}), 200)
        admin = d.admin()
        create_org(admin, "cpas")
        sm = create_security_manager(d, admin, "cpas", "sm_prod")
        r = sm.post("/v1/orgs/cpas/dataset", dataset_source["dataset"])
        assert_problem(r, 403, "forbidden")
        assert "production refuses test data" in r.json()["detail"]
        assert sm.get("/v1/orgs/cpas/collections").json()["collections"] == []
    finally:
        d.stop()


def test_cli_export_and_disposals(life, tmp_path):
    L = life
    env = daemon_env({"HOME": str(tmp_path), "COFFRE_ADDR": L.d.url, "COFFRE_CACERT": L.d.ca_cert,
                      "COFFRE_TOKEN": L.dpo.token})
    r = subprocess.run([COFFRE_BIN, "export", "--pseudonymize", "--org", "cpas"], capture_output=True, env=env,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    ds = json.loads(r.stdout)
    assert ds["pseudonymized"] is True and ds["source_org"] == "cpas"
    r = subprocess.run([COFFRE_BIN, "export", "--org", "cpas"], capture_output=True, env=env, timeout=60)
    assert r.returncode == 2 and b"--pseudonymize is required" in r.stderr
    r = subprocess.run([COFFRE_BIN, "disposal", "list", "--org", "cpas"], capture_output=True, env=env, timeout=60)
    assert r.returncode == 0 and b"retention P30D from created" in r.stdout, r
