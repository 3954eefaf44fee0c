"""The register of processing activities (issue 5) for the seed scenario: a
social-welfare centre (cpas) and its municipality (commune) under a
recorded agreement. Every collection, category, purpose, legal basis,
retention and recipient is listed, as JSON and as Markdown (`coffre
report processing`), to those who keep or check it, and to nobody else."""

import json
import subprocess

import pytest

from conftest import (COFFRE_BIN, assert_problem, assert_status, create_user, daemon_env, password_for)
from test_sharing import ADDR, P_SHARE, SOCIAL, Scenario


@pytest.fixture(scope="module")
def reg(daemon):
    s = Scenario(daemon)
    s.agr = s.agreement()
    s.dpo = daemon.login("dpo_cpas", password_for("dpo_cpas"), "cpas")
    s.aud = daemon.login("aud_cpas", password_for("aud_cpas"), "cpas")
    s.aud_com = daemon.login("aud_commune", password_for("aud_commune"), "commune")
    return s


def org_of(body, org):
    (o,) = [o for o in body["organizations"] if o["id"] == org]
    return o


def test_register_lists_every_declaration(reg):
    r = reg.dpo.get("/v1/reports/processing")
    assert_status(r, 200)
    body = r.json()
    assert [o["id"] for o in body["organizations"]] == ["cpas"], "a member reads their own organization"
    cpas = org_of(body, "cpas")
    assert cpas["name"] == "CPAS"
    colls = {c["name"]: c for c in cpas["collections"]}
    assert set(colls) == {"social_aid", "social_file"}
    for name, decl in (("social_aid", ADDR), ("social_file", SOCIAL)):
        c = colls[name]
        assert {f["name"]: (f["type"], f["category"]) for f in c["fields"]} == {
            k: (v["type"], v["category"]) for k, v in decl["fields"].items()}
        assert set(c["categories"]) == {v["category"] for v in decl["fields"].values()}
        assert {(p["purpose"], p["legal_basis"]) for p in c["purposes"]} == {
            (k, v["legal_basis"]) for k, v in decl["purposes"].items()}
        assert c["retention"] == decl["retention"] and c["retention_start"] == "created"
        assert c["records"] == 1
    (rcp,) = colls["social_aid"]["recipients"]
    assert rcp["organization"] == "commune" and rcp["agreement"] == reg.agr["id"]
    assert rcp["purposes"] == [P_SHARE] and rcp["legal_basis"] == "deliberation 14/082"
    assert set(rcp["fields"]) == {"first_name", "last_name", "street", "postal_code"}
    assert rcp["status"] == "active" and rcp["valid_from"] == "2026-01-01"
    assert colls["social_file"]["recipients"] == []
    assert body["instance"]["environment"] == "development"
    assert body["instance"]["storage"]["records"].endswith("vault.db")
    assert body["instance"]["storage"]["keystore"].endswith("keys.db")
    assert any("TLS 1.2 and 1.3" in m for m in body["instance"]["security_measures"])
    # nothing personal in it
    assert "Jeanne" not in r.text and reg.nid not in r.text


def test_register_shows_what_an_organization_receives(reg):
    r = reg.aud_com.get("/v1/reports/processing")
    assert_status(r, 200)
    com = org_of(r.json(), "commune")
    assert com["collections"] == []
    (rec,) = com["received"]
    assert rec["provider"] == "cpas" and rec["collection"] == "social_aid" and rec["agreement"] == reg.agr["id"]


def test_instance_roles_read_every_organization(reg):
    for who in (reg.admin, reg.authority):
        r = who.get("/v1/reports/processing")
        assert_status(r, 200)
        assert {o["id"] for o in r.json()["organizations"]} >= {"cpas", "commune"}
        r = who.get("/v1/reports/processing?org=commune")
        assert_status(r, 200)
        assert [o["id"] for o in r.json()["organizations"]] == ["commune"]
    assert_problem(reg.admin.get("/v1/reports/processing?org=nowhere"), 404, "not-found")


def test_register_refusals(reg):
    # case workers do not keep the register; another organization's members do not read ours
    assert_problem(reg.marc_cpas.get("/v1/reports/processing"), 403, "forbidden")
    assert_problem(reg.zoe.get("/v1/reports/processing"), 403, "forbidden")
    assert_problem(reg.aud_com.get("/v1/reports/processing?org=cpas"), 403, "wrong-organization")
    assert_problem(reg.d.client().get("/v1/reports/processing"), 401, "unauthenticated")


def test_register_readings_are_audited(reg, daemon):
    from conftest import audit_entries, audit_next_idx
    start = audit_next_idx(daemon)
    assert_status(reg.dpo.get("/v1/reports/processing"), 200)
    assert_problem(reg.marc_cpas.get("/v1/reports/processing"), 403, "forbidden")
    acts = [(e["action"], e["outcome"]) for _, _, e in audit_entries(daemon, start)]
    assert ("report.processing", "allowed") in acts and ("report.processing", "denied") in acts


def test_cli_prints_the_register_as_markdown(reg, tmp_path):
    env = daemon_env({"HOME": str(tmp_path), "COFFRE_ADDR": reg.d.url, "COFFRE_CACERT": reg.d.ca_cert,
                      "COFFRE_TOKEN": reg.admin.token})
    r = subprocess.run([COFFRE_BIN, "report", "processing", "--org", "cpas"], capture_output=True, env=env,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    md = r.stdout.decode()
    assert md.startswith("# Register of processing activities")
    # identifiers are escaped for Markdown (social\\_aid renders as social_aid)
    for text in ("## CPAS (cpas)", "### social\\_aid", "### social\\_file", "organic law on welfare centres, art. 60",
                 "deliberation 14/082", "P10Y", "commune", "## Storage and security measures"):
        assert text in md, text
    r = subprocess.run([COFFRE_BIN, "report", "processing", "--json"], capture_output=True, env=env, timeout=60)
    assert r.returncode == 0 and {o["id"] for o in json.loads(r.stdout)["organizations"]} >= {"cpas", "commune"}
    r = subprocess.run([COFFRE_BIN, "report", "processing", "--org", "Bad Org"], capture_output=True, env=env,
                       timeout=60)
    assert r.returncode == 2 and b"--org" in r.stderr
