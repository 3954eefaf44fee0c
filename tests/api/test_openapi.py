"""docs/openapi.yaml is the contract: the daemon serves it, its route table
matches the document's paths exactly, request bodies are closed, and the
daemon's live answers (statuses, media types, bodies, and the audit entries
inside them) validate against the documented schemas."""

import json
import re
import subprocess
import time

import pytest
import yaml

from conftest import (AGENT_GRANTS, COFFRE_BIN, REPO, SOCIAL_AID, World, assert_problem, assert_status,
                      daemon_env, next_nid, password_for, record_fields)

SPEC_PATH = REPO / "docs" / "openapi.yaml"
METHODS = ("get", "put", "post", "patch", "delete", "head", "options", "trace")
# the retention sweeper runs every second, so that a short retention yields a disposal record here
DAEMON_CONF = {"retention_sweep_interval_seconds": 1}
EXPORT = "/v1/orgs/{org}/subjects/{pseudonym}/export"
MARKDOWN = "text/markdown; charset=utf-8"
DATASET_FORMAT = "coffre-pseudonymized-dataset/1"


@pytest.fixture(scope="module")
def spec():
    with open(SPEC_PATH, encoding="utf-8") as f:
        return yaml.safe_load(f)


def spec_routes(spec):
    return {(m.upper(), p) for p, item in spec["paths"].items() for m in item if m in METHODS}


def test_spec_is_json_compatible(spec):
    # keys are strings, no YAML-only types (dates...), so JSON round-trips exactly
    assert json.loads(json.dumps(spec)) == spec
    assert spec["openapi"].startswith("3.1")
    bearer = spec["components"]["securitySchemes"]["bearer"]
    assert (bearer["type"], bearer["scheme"]) == ("http", "bearer")


def test_served_document_equals_repo_document(daemon, spec):
    r = daemon.client().get("/v1/openapi.json")
    assert_status(r, 200)
    assert r.headers["Content-Type"].split(";")[0].strip() == "application/json"
    assert r.json() == spec


def test_routes_command_matches_spec(spec):
    r = subprocess.run([COFFRE_BIN, "routes", "--json"], capture_output=True, timeout=30, env=daemon_env())
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    table = json.loads(r.stdout)
    assert isinstance(table, list)
    routes = set()
    for row in table:
        assert set(row) >= {"method", "path"}, row
        routes.add((row["method"].upper(), row["path"]))
    assert len(routes) == len(table), "duplicate routes"
    want = spec_routes(spec)
    assert routes - want == set(), f"routes missing from docs/openapi.yaml: {sorted(routes - want)}"
    assert want - routes == set(), f"documented routes the daemon lacks: {sorted(want - routes)}"


def test_routes_command_plain(spec):
    r = subprocess.run([COFFRE_BIN, "routes"], capture_output=True, timeout=30, env=daemon_env())
    assert r.returncode == 0
    out = r.stdout.decode()
    for method, path in spec_routes(spec):
        assert re.search(rf"^.*\b{method}\b.*\s{re.escape(path)}(\s|$)", out, re.M), (method, path)


def test_every_documented_route_is_served(daemon, spec):
    """Unauthenticated calls: public routes answer (not 404/405); protected ones 401."""
    c = daemon.client()
    for method, path in sorted(spec_routes(spec)):
        op = spec["paths"][path][method.lower()]
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        body = {} if method in ("POST", "PUT", "PATCH") else None
        headers = {"X-Purpose": "social-aid"}
        if body is not None:
            r = c.request(method, concrete, body, headers=headers)
        else:
            r = c.request(method, concrete, headers=headers)
        public = op.get("security", spec.get("security")) == []
        if public:
            assert r.status_code not in (404, 405), f"{method} {path}: {r.status_code} {r.text[:200]}"
        else:
            assert_problem(r, 401, "unauthenticated")


def test_spec_parameters_match_templates(spec):
    def resolve(o):
        while "$ref" in o:
            node = spec
            for part in o["$ref"][2:].split("/"):
                node = node[part]
            o = node
        return o
    personal = {"/v1/orgs/{org}/collections/{c}/records", "/v1/orgs/{org}/collections/{c}/records/{id}",
                "/v1/orgs/{org}/subjects/lookup"}
    for path, item in spec["paths"].items():
        params = [resolve(p) for p in item.get("parameters", [])]
        names = {p["name"] for p in params if p["in"] == "path"}
        assert names == set(re.findall(r"\{(\w+)\}", path)), path
        has_purpose = any(p["in"] == "header" and p["name"] == "X-Purpose" and p["required"] for p in params)
        assert has_purpose == (path in personal), path


def resolve(spec, o):
    while isinstance(o, dict) and "$ref" in o:
        node = spec
        for part in o["$ref"][2:].split("/"):
            node = node[part]
        o = node
    return o


def operations(spec):
    for path, item in spec["paths"].items():
        for m, op in item.items():
            if m in METHODS:
                yield path, m, op


def test_request_bodies_are_closed(spec):
    """Every object a request body may hold refuses unknown members (additionalProperties false,
    or a schema for the members of an open map), as the daemon does."""
    def walk(schema, where, seen):
        schema = resolve(spec, schema)
        if id(schema) in seen:
            return
        seen.add(id(schema))
        if schema.get("type") == "object" or "properties" in schema:
            ap = schema.get("additionalProperties", True)
            assert ap is False or isinstance(ap, dict), f"{where}: an open object"
            for k, sub in schema.get("properties", {}).items():
                walk(sub, f"{where}.{k}", seen)
            if isinstance(ap, dict):
                walk(ap, f"{where}.*", seen)
        if "items" in schema:
            walk(schema["items"], f"{where}[]", seen)
    bodies = 0
    for path, m, op in operations(spec):
        if "requestBody" not in op:
            assert m.upper() not in ("PUT", "PATCH"), f"{m.upper()} {path} without a request body"
            continue
        content = op["requestBody"]["content"]
        assert set(content) == {"application/json"}, f"{m.upper()} {path}"
        assert op["requestBody"]["required"] is True
        walk(content["application/json"]["schema"], f"{m.upper()} {path}", set())
        bodies += 1
    assert bodies >= 12


def test_every_operation_documents_its_answers(spec):
    """A success answer with its media type (none for 204), 401 on protected routes, a problem
    schema on every error, and the standard headers on every answer."""
    std = {"X-Request-Id", "Strict-Transport-Security", "Cache-Control", "X-Content-Type-Options"}
    text_routes = {("GET", "/v1/audit/checkpoint"), ("GET", "/v1/audit/key")}
    # the subject export answers JSON, or Markdown with ?format=markdown
    media_of = {("GET", EXPORT): {"application/json", MARKDOWN}}
    for path, m, op in operations(spec):
        responses = {k: resolve(spec, v) for k, v in op["responses"].items()}
        ok = [k for k in responses if k.startswith("2")]
        assert len(ok) == 1, f"{m.upper()} {path}: {ok}"
        success = responses[ok[0]]
        if ok[0] == "204":
            assert "content" not in success
        else:
            media = set(success["content"])
            want = {"text/plain; charset=utf-8"} if (m.upper(), path) in text_routes else {"application/json"}
            want = media_of.get((m.upper(), path), want)
            assert media == want, f"{m.upper()} {path}: {media}"
        if op.get("security", spec.get("security")) != []:
            assert "401" in responses, f"{m.upper()} {path}"
        for status, resp in responses.items():
            assert std <= set(resp.get("headers", {})), f"{m.upper()} {path} {status}"
            if status.startswith(("4", "5")) and (m.upper(), path, status) != ("GET", "/v1/sys/health", "503"):
                assert set(resp["content"]) == {"application/problem+json"}, f"{m.upper()} {path} {status}"


def test_audit_query_parameters_documented(spec):
    want = {"/v1/audit/entries": ({"start", "end"}, set()),
            "/v1/audit/proofs/inclusion": ({"index", "tree_size"}, {"index", "tree_size"}),
            "/v1/audit/proofs/consistency": ({"first", "second"}, {"first", "second"})}
    for path, item in spec["paths"].items():
        params = [resolve(spec, p) for p in item.get("parameters", [])]
        query = {p["name"] for p in params if p["in"] == "query"}
        required = {p["name"] for p in params if p["in"] == "query" and p.get("required")}
        assert (query, required) == want.get(path, (set(), set())), path


# ---- live answers validated against the document ---------------------------

SHORT_LIVED = {
    "fields": {"note": {"type": "string", "category": "social", "required": True, "max_length": 200}},
    "purposes": {"social-aid": {"legal_basis": "Organic law of 8 July 1976, art. 60"}},
    "retention": "PT1S",
}
ARCHIVIST_GRANTS = [{"collection": "short_lived", "actions": ["read", "write"], "purposes": ["social-aid"],
                     "fields": ["*"]}]


def tree_size(auditor):
    """The audit trail's size, from a signed checkpoint (its second line)."""
    r = auditor.get("/v1/audit/checkpoint")
    assert_status(r, 200)
    return int(r.text.split("\n")[1])


@pytest.fixture(scope="module")
def exchanges(daemon):
    """Calls every documented route (successes and typical refusals); returns
    [(METHOD, template, response)]."""
    w = World(daemon)
    P = {"purpose": "social-aid"}
    out = []

    def call(client, method, template, concrete, body=None, **kw):
        r = client.request(method, concrete, body, **kw) if body is not None else \
            client.request(method, concrete, **kw)
        out.append((method, template, r))
        return r

    anon, admin, sm, alice = daemon.client(), w.admin, w.sm["cpas"], w.alice
    call(anon, "GET", "/v1/sys/health", "/v1/sys/health")
    call(anon, "POST", "/v1/sys/unseal", "/v1/sys/unseal", {"passphrase": "not-needed-here"})
    call(anon, "GET", "/v1/openapi.json", "/v1/openapi.json")
    call(anon, "POST", "/v1/auth/login", "/v1/auth/login", {"username": "alice", "password": "Wrong-password-1"})
    call(anon, "POST", "/v1/auth/login", "/v1/auth/login",
         {"username": "alice", "password": password_for("alice"), "org": "cpas"})
    session = daemon.login("alice", password_for("alice"), "cpas")
    call(session, "POST", "/v1/auth/logout", "/v1/auth/logout")
    call(alice, "GET", "/v1/me", "/v1/me")
    call(admin, "POST", "/v1/orgs", "/v1/orgs", {"id": "schemas", "name": "Schemas"})
    call(admin, "POST", "/v1/orgs", "/v1/orgs", {"id": "schemas", "name": "Again"})
    call(admin, "GET", "/v1/orgs", "/v1/orgs")
    call(admin, "GET", "/v1/orgs/{org}", "/v1/orgs/cpas")
    call(admin, "GET", "/v1/orgs/{org}", "/v1/orgs/nosuchorg")
    call(sm, "POST", "/v1/orgs/{org}/users", "/v1/orgs/cpas/users",
         {"username": "tech_s", "password": password_for("tech_s"), "roles": ["technical"]})
    call(sm, "POST", "/v1/orgs/{org}/users", "/v1/orgs/cpas/users",
         {"username": "dpo_s", "password": password_for("dpo_s"), "roles": ["dpo"]})
    call(sm, "POST", "/v1/orgs/{org}/users", "/v1/orgs/cpas/users",
         {"username": "aud_s", "password": password_for("aud_s"), "roles": ["auditor"]})
    call(sm, "GET", "/v1/orgs/{org}/users", "/v1/orgs/cpas/users")
    call(sm, "GET", "/v1/orgs/{org}/users/{username}", "/v1/orgs/cpas/users/alice")
    call(sm, "PATCH", "/v1/orgs/{org}/users/{username}", "/v1/orgs/cpas/users/carol", {"roles": ["reception"]})
    r = call(sm, "POST", "/v1/orgs/{org}/api-keys", "/v1/orgs/cpas/api-keys", {"username": "tech_s"})
    call(sm, "GET", "/v1/orgs/{org}/api-keys", "/v1/orgs/cpas/api-keys")
    call(sm, "DELETE", "/v1/orgs/{org}/api-keys/{id}", f"/v1/orgs/cpas/api-keys/{r.json()['id']}")
    call(sm, "GET", "/v1/orgs/{org}/collections", "/v1/orgs/cpas/collections")
    call(sm, "PUT", "/v1/orgs/{org}/collections/{name}", "/v1/orgs/cpas/collections/social_aid", SOCIAL_AID)
    call(alice, "GET", "/v1/orgs/{org}/collections/{name}", "/v1/orgs/cpas/collections/social_aid")
    call(sm, "PUT", "/v1/orgs/{org}/roles/{role}/grants", "/v1/orgs/cpas/roles/agent/grants", AGENT_GRANTS)
    call(sm, "GET", "/v1/orgs/{org}/roles/{role}/grants", "/v1/orgs/cpas/roles/agent/grants")
    records = "/v1/orgs/{org}/collections/{c}/records"
    # retention: a collection kept one second and a role that writes in it; the sweeper (every second
    # here) disposes of its record, whose disposal record is read further down
    assert_status(call(sm, "PUT", "/v1/orgs/{org}/collections/{name}", "/v1/orgs/cpas/collections/short_lived",
                       SHORT_LIVED), 200)
    assert_status(call(sm, "PUT", "/v1/orgs/{org}/roles/{role}/grants", "/v1/orgs/cpas/roles/archivist/grants",
                       ARCHIVIST_GRANTS), 200)
    assert_status(call(sm, "POST", "/v1/orgs/{org}/users", "/v1/orgs/cpas/users",
                       {"username": "arch_s", "password": password_for("arch_s"), "roles": ["archivist"]}), 201)
    archivist = daemon.login("arch_s", password_for("arch_s"), "cpas")
    r = call(archivist, "POST", records, "/v1/orgs/cpas/collections/short_lived/records",
             {"subject": {"national_id": next_nid()}, "fields": {"note": "kept one second"}}, **P)
    assert_status(r, 201)
    short_rid, short_subject = r.json()["id"], r.json()["subject"]
    nid = next_nid()
    r = call(alice, "POST", records, "/v1/orgs/cpas/collections/social_aid/records",
             {"subject": {"national_id": nid}, "fields": record_fields()}, **P)
    rid, subject = r.json()["id"], r.json()["subject"]
    one = records + "/{id}"
    concrete = f"/v1/orgs/cpas/collections/social_aid/records/{rid}"
    call(alice, "GET", one, concrete, **P)
    call(alice, "GET", one, concrete, purpose="marketing")
    call(w.victor, "GET", one, concrete, **P)
    call(alice, "PATCH", one, concrete, {"fields": {"aid_amount": 7}, "version": 1}, **P)
    call(alice, "PATCH", one, concrete, {"fields": {"aid_amount": 8}, "version": 1}, **P)
    call(alice, "POST", "/v1/orgs/{org}/subjects/lookup", "/v1/orgs/cpas/subjects/lookup", {"national_id": nid}, **P)
    call(alice, "POST", "/v1/orgs/{org}/subjects/lookup", "/v1/orgs/cpas/subjects/lookup",
         {"national_id": nid[:10] + str((int(nid[10]) + 1) % 10)}, **P)
    call(alice, "DELETE", one, concrete, **P)
    call(alice, "GET", one, concrete, **P)
    call(admin, "POST", "/v1/users", "/v1/users",
         {"username": "inspector_s", "password": password_for("inspector_s"), "roles": ["auditor", "authority"]})
    call(admin, "POST", "/v1/users", "/v1/users",
         {"username": "inspector_s", "password": password_for("inspector_s"), "roles": ["auditor"]})
    call(admin, "POST", "/v1/users", "/v1/users", {"username": "x_s", "password": "p" * 12, "roles": ["agent"]})
    call(sm, "POST", "/v1/users", "/v1/users", {"username": "y_s", "password": "p" * 12, "roles": ["auditor"]})
    inspector = daemon.login("inspector_s", password_for("inspector_s"))
    org_auditor = daemon.login("aud_s", password_for("aud_s"), "cpas")
    dpo = daemon.login("dpo_s", password_for("dpo_s"), "cpas")
    log = "/v1/orgs/{org}/subjects/{pseudonym}/access-log"
    call(dpo, "GET", log, f"/v1/orgs/cpas/subjects/{subject}/access-log")
    call(dpo, "GET", log, "/v1/orgs/cpas/subjects/s_AAAAAAAAAAAAAAAAAAAAAA/access-log")
    call(alice, "GET", log, f"/v1/orgs/cpas/subjects/{subject}/access-log")
    call(w.victor, "GET", log, f"/v1/orgs/cpas/subjects/{subject}/access-log")
    for who in (inspector, org_auditor):
        call(who, "GET", "/v1/audit/checkpoint", "/v1/audit/checkpoint")
        call(who, "GET", "/v1/audit/key", "/v1/audit/key")
        call(who, "GET", "/v1/audit/entries", "/v1/audit/entries?start=0&end=50")
    call(alice, "GET", "/v1/audit/checkpoint", "/v1/audit/checkpoint")
    call(inspector, "GET", "/v1/audit/entries", "/v1/audit/entries?start=9&end=3")
    call(inspector, "GET", "/v1/audit/entries", "/v1/audit/entries")
    call(inspector, "GET", "/v1/audit/proofs/inclusion", "/v1/audit/proofs/inclusion?index=3&tree_size=10")
    call(inspector, "GET", "/v1/audit/proofs/inclusion", "/v1/audit/proofs/inclusion?index=3")
    call(inspector, "GET", "/v1/audit/proofs/consistency", "/v1/audit/proofs/consistency?first=3&second=10")
    call(inspector, "GET", "/v1/audit/proofs/consistency", "/v1/audit/proofs/consistency?first=10&second=3")
    # sharing agreements and the flows report (inspector_s also holds the authority role)
    ag = {"provider": "cpas", "consumer": "ville", "collection": "social_aid", "fields": ["first_name"],
          "purposes": ["address-check"], "legal_basis": "deliberation 14/082", "valid_from": "2026-01-01",
          "valid_until": "2027-12-31"}
    r = call(inspector, "POST", "/v1/agreements", "/v1/agreements", ag)
    agid = r.json()["id"]
    call(sm, "POST", "/v1/agreements", "/v1/agreements", ag)
    call(inspector, "GET", "/v1/agreements", "/v1/agreements")
    call(inspector, "GET", "/v1/agreements/{id}", f"/v1/agreements/{agid}")
    call(sm, "GET", "/v1/orgs/{org}/agreements", "/v1/orgs/cpas/agreements")
    call(inspector, "POST", "/v1/agreements/{id}/suspend", f"/v1/agreements/{agid}/suspend")
    call(inspector, "POST", "/v1/agreements/{id}/resume", f"/v1/agreements/{agid}/resume")
    call(inspector, "GET", "/v1/reports/flows", "/v1/reports/flows?from=2026-01-01")
    call(inspector, "POST", "/v1/agreements/{id}/revoke", f"/v1/agreements/{agid}/revoke")
    call(inspector, "POST", "/v1/agreements/{id}/revoke", f"/v1/agreements/{agid}/revoke")
    # citizens' rights (the data protection officer), on a subject of its own; the collection
    # now has an agreement, so the export lists a recipient
    r = call(alice, "POST", records, "/v1/orgs/cpas/collections/social_aid/records",
             {"subject": {"national_id": next_nid()}, "fields": record_fields()}, **P)
    erid, esubj = r.json()["id"], r.json()["subject"]
    # a rectification, so that the export's history has two versions
    assert_status(call(alice, "PATCH", one, f"/v1/orgs/cpas/collections/social_aid/records/{erid}",
                       {"fields": {"aid_amount": 9}, "version": 1}, **P), 200)
    subj = "/v1/orgs/{org}/subjects/{pseudonym}"
    here = f"/v1/orgs/cpas/subjects/{esubj}"
    call(alice, "GET", subj + "/export", here + "/export")
    call(w.victor, "GET", subj + "/export", here + "/export")
    call(dpo, "GET", subj + "/export", "/v1/orgs/cpas/subjects/s_AAAAAAAAAAAAAAAAAAAAAA/export")
    r = call(dpo, "GET", subj + "/export", here + "/export")
    assert_status(r, 200)
    [rec] = r.json()["records"]
    assert [(h["version"], h["changes"].get("aid_amount")) for h in rec["history"]] == [
        (1, {"from": None, "to": 1250}), (2, {"from": 1250, "to": 9})]
    assert set(rec["history"][0]["changes"]) == set(record_fields())
    assert list(rec["history"][1]["changes"]) == ["aid_amount"]
    # the same export as a readable document; another format is refused
    r = call(dpo, "GET", subj + "/export", here + "/export?format=markdown")
    assert_status(r, 200)
    assert r.headers["Content-Type"] == MARKDOWN
    assert r.text.startswith("# Personal data held about subject ") and "Corrections:" in r.text
    call(dpo, "GET", subj + "/export", here + "/export?format=json")
    call(dpo, "GET", subj + "/export", here + "/export?format=pdf")
    ers = subj + "/erasure-requests"
    call(alice, "POST", ers, here + "/erasure-requests", {})
    call(dpo, "POST", ers, here + "/erasure-requests", {"reason": "x" * 1001})
    erase_id = call(dpo, "POST", ers, here + "/erasure-requests", {"reason": "the citizen's letter of 2026-11-20"}).json()["id"]
    refuse_id = call(dpo, "POST", ers, here + "/erasure-requests", {}).json()["id"]
    call(dpo, "GET", ers, here + "/erasure-requests")
    call(w.victor, "GET", ers, here + "/erasure-requests")
    holds = subj + "/holds"
    call(dpo, "POST", holds, here + "/holds", {"record": erid})
    record_hold = call(dpo, "POST", holds, here + "/holds", {"reason": "litigation 2026/117", "record": erid})
    r = call(dpo, "POST", holds, here + "/holds", {"reason": "litigation 2026/117"})
    hold_id = r.json()["id"]
    approve, refuse = ers + "/{id}/approve", ers + "/{id}/refuse"
    call(dpo, "POST", approve, f"{here}/erasure-requests/{erase_id}/approve", {"reason": "no obligation to keep"})
    release = holds + "/{id}/release"
    call(alice, "POST", release, f"{here}/holds/{hold_id}/release")
    call(dpo, "POST", release, f"{here}/holds/{hold_id}/release")
    call(dpo, "POST", release, f"{here}/holds/{hold_id}/release")
    # a hold on one of the subject's records suspends erasure too
    call(dpo, "POST", approve, f"{here}/erasure-requests/{erase_id}/approve", {"reason": "no obligation to keep"})
    call(dpo, "POST", release, f"{here}/holds/{record_hold.json()['id']}/release")
    call(dpo, "POST", refuse, f"{here}/erasure-requests/{refuse_id}/refuse", {})
    call(dpo, "POST", refuse, f"{here}/erasure-requests/{refuse_id}/refuse", {"reason": "kept 10 years by law"})
    call(dpo, "POST", refuse, f"{here}/erasure-requests/{refuse_id}/refuse", {"reason": "again"})
    call(dpo, "POST", approve, f"{here}/erasure-requests/er_nosuchrequest/approve", {"reason": "x"})
    call(dpo, "POST", approve, f"{here}/erasure-requests/{erase_id}/approve", {})
    call(dpo, "POST", approve, f"{here}/erasure-requests/{erase_id}/approve", {"reason": "no obligation to keep"})
    call(dpo, "POST", approve, f"{here}/erasure-requests/{erase_id}/approve", {"reason": "again"})
    call(alice, "GET", one, f"/v1/orgs/cpas/collections/social_aid/records/{erid}", **P)
    call(alice, "PATCH", one, f"/v1/orgs/cpas/collections/social_aid/records/{erid}", {"fields": {"aid_amount": 9}},
         **P)
    call(dpo, "GET", subj + "/export", here + "/export")
    # the rights actions' audit entries, inside the subject's access report
    call(dpo, "GET", log, here + "/access-log")
    mark = tree_size(inspector)
    # retention: the sweeper disposed of the short-lived record (and forgot its subject, left with nothing)
    disposals = "/v1/orgs/{org}/disposals"
    deadline = time.monotonic() + 30
    while not dpo.get("/v1/orgs/cpas/disposals").json()["disposals"]:
        assert time.monotonic() < deadline, "the retention sweeper disposed of nothing:\n" + daemon.log_tail()
        time.sleep(0.2)
    r = call(dpo, "GET", disposals, "/v1/orgs/cpas/disposals")
    [d] = r.json()["disposals"]
    assert (d["collection"], d["retention"], d["retention_start"], d["count"]) == ("short_lived", "PT1S", "created", 1)
    assert [(x["id"], x["subject"], x.get("subject_forgotten")) for x in d["records"]] == [
        (short_rid, short_subject, True)]
    call(org_auditor, "GET", disposals, "/v1/orgs/cpas/disposals")
    call(alice, "GET", disposals, "/v1/orgs/cpas/disposals")
    call(w.victor, "GET", disposals, "/v1/orgs/cpas/disposals")
    call(inspector, "GET", disposals, "/v1/orgs/cpas/disposals")
    r = call(inspector, "GET", "/v1/audit/entries",
             f"/v1/audit/entries?start={d['audit_index']}&end={d['audit_index'] + 1}")
    swept = json.loads(r.json()["entries"][0]["entry"])
    assert (swept["action"], swept["actor"], swept["resource"], swept["disposal"], swept["count"]) == (
        "retention.dispose", {"auth": "system", "ip": "local"}, {"org": "cpas", "collection": "short_lived"},
        d["id"], 1)
    # the register of processing activities (the agreement cpas -> ville, revoked above, is listed)
    reg = "/v1/reports/processing"
    r = call(admin, "GET", reg, reg)
    orgs = {o["id"]: o for o in r.json()["organizations"]}
    assert set(orgs) == {"cpas", "ville", "schemas"}
    aid = next(c for c in orgs["cpas"]["collections"] if c["name"] == "social_aid")
    assert [(x["organization"], x["agreement"], x["status"]) for x in aid["recipients"]] == [("ville", agid, "revoked")]
    assert [(x["provider"], x["agreement"]) for x in orgs["ville"]["received"]] == [("cpas", agid)]
    call(inspector, "GET", reg, reg + "?org=cpas")
    r = call(dpo, "GET", reg, reg)
    assert [o["id"] for o in r.json()["organizations"]] == ["cpas"]
    call(dpo, "GET", reg, reg + "?org=ville")
    call(alice, "GET", reg, reg)
    call(admin, "GET", reg, reg + "?org=nosuchorg")
    # a pseudonymized dataset (the data protection officer) and its import (a security manager)
    kept = next_nid()
    r = call(alice, "POST", records, "/v1/orgs/cpas/collections/social_aid/records",
             {"subject": {"national_id": kept}, "fields": record_fields()}, **P)
    assert_status(r, 201)
    ds = "/v1/orgs/{org}/dataset"
    call(dpo, "GET", ds, "/v1/orgs/cpas/dataset")
    call(alice, "GET", ds, "/v1/orgs/cpas/dataset?pseudonymize=true")
    call(w.victor, "GET", ds, "/v1/orgs/cpas/dataset?pseudonymize=true")
    r = call(dpo, "GET", ds, "/v1/orgs/cpas/dataset?pseudonymize=true")
    assert_status(r, 200)
    dataset = r.json()
    assert (dataset["format"], dataset["pseudonymized"], dataset["source_org"]) == (DATASET_FORMAT, True, "cpas")
    assert set(dataset["collections"]) == {"social_aid", "short_lived"}
    synthetic = [x for s in dataset["subjects"] for x in s["records"]]
    assert synthetic and all(x["fields"]["first_name"] != "Jeanne" for x in synthetic)
    assert kept not in r.text and rid not in r.text
    empty = {"format": DATASET_FORMAT, "pseudonymized": True, "collections": {}, "subjects": []}
    r = call(sm, "POST", ds, "/v1/orgs/cpas/dataset", empty)
    assert_status(r, 201)
    assert r.json() == {"org": "cpas", "collections": 0, "subjects": 0, "records": 0}
    r = call(w.sm["ville"], "POST", ds, "/v1/orgs/ville/dataset", dataset)
    assert_status(r, 201)
    assert r.json() == {"org": "ville", "collections": 2, "subjects": len(dataset["subjects"]),
                        "records": len(synthetic)}
    call(sm, "POST", ds, "/v1/orgs/cpas/dataset", dict(empty, format="csv"))
    call(sm, "POST", ds, "/v1/orgs/cpas/dataset",
         dict(empty, collections={"social_aid": dict(SOCIAL_AID, retention="P1Y")}))
    call(dpo, "POST", ds, "/v1/orgs/cpas/dataset", empty)
    call(w.victor, "POST", ds, "/v1/orgs/cpas/dataset", empty)
    # the new actions' audit entries (validated against AuditEntry with the rest of the answer)
    r = call(inspector, "GET", "/v1/audit/entries", f"/v1/audit/entries?start={mark}&end={tree_size(inspector)}")
    entries = [json.loads(e["entry"]) for e in r.json()["entries"]]
    actions = {(e["action"], e["outcome"]) for e in entries}
    assert {("disposal.list", "allowed"), ("disposal.list", "denied"), ("report.processing", "allowed"),
            ("report.processing", "denied"), ("dataset.export", "allowed"), ("dataset.export", "denied"),
            ("dataset.import", "allowed"), ("dataset.import", "denied")} <= actions
    imports = [e for e in entries if (e["action"], e["outcome"]) == ("dataset.import", "allowed")]
    assert [e["count"] for e in imports] == [0, len(synthetic)]
    assert [e["count"] for e in entries if (e["action"], e["outcome"]) == ("dataset.export", "allowed")] == [
        len(synthetic)]
    # the confidentiality commitment
    call(sm, "PUT", "/v1/orgs/{org}/commitment", "/v1/orgs/cpas/commitment", {"text": "I keep it confidential."})
    call(alice, "GET", "/v1/orgs/{org}/commitment", "/v1/orgs/cpas/commitment")
    call(alice, "GET", "/v1/me/commitment", "/v1/me/commitment")
    call(alice, "POST", "/v1/me/commitment/accept", "/v1/me/commitment/accept", {"version": 9})
    call(alice, "POST", "/v1/me/commitment/accept", "/v1/me/commitment/accept", {"version": 1})
    # delegated administration
    call(sm, "PUT", "/v1/orgs/{org}/domains/{domain}", "/v1/orgs/cpas/domains/social", {"name": "Social action"})
    call(alice, "PUT", "/v1/orgs/{org}/domains/{domain}", "/v1/orgs/cpas/domains/social", {"name": "x"})
    call(sm, "PUT", "/v1/orgs/{org}/domains/{domain}/contact", "/v1/orgs/cpas/domains/social/contact",
         {"email": "social@cpas.example"})
    call(sm, "PUT", "/v1/orgs/{org}/domains/{domain}/subdivisions/{subdivision}",
         "/v1/orgs/cpas/domains/social/subdivisions/antenna", {"name": "Antenna", "collections": ["social_aid"]})
    call(sm, "POST", "/v1/orgs/{org}/users", "/v1/orgs/cpas/users",
         {"username": "tech_d", "password": password_for("tech_d"), "roles": ["technical"], "domain": "social",
          "language": "fr", "email": "tech@cpas.example"})
    call(sm, "PUT", "/v1/orgs/{org}/domains/{domain}/technical-user", "/v1/orgs/cpas/domains/social/technical-user",
         {"username": "tech_d"})
    call(sm, "GET", "/v1/orgs/{org}/domains", "/v1/orgs/cpas/domains")
    call(sm, "POST", "/v1/orgs/{org}/users", "/v1/orgs/cpas/users",
         {"username": "loc_m", "password": password_for("loc_m"), "roles": ["agent"]})
    mgr = "/v1/orgs/{org}/domains/{domain}/managers/{username}"
    call(sm, "PUT", mgr, "/v1/orgs/cpas/domains/social/managers/loc_m", {"level": "local"})
    call(sm, "PUT", mgr, "/v1/orgs/cpas/domains/social/managers/loc_m", {"level": "boss"})
    call(sm, "GET", "/v1/orgs/{org}/users", "/v1/orgs/cpas/users?domain=social&q=loc")
    call(sm, "DELETE", mgr, "/v1/orgs/cpas/domains/social/managers/loc_m")
    call(sm, "DELETE", "/v1/orgs/{org}/users/{username}", "/v1/orgs/cpas/users/loc_m")
    call(sm, "DELETE", "/v1/orgs/{org}/users/{username}", "/v1/orgs/cpas/users/loc_m")
    return out


def test_live_answers_match_the_document(spec, exchanges):
    jsonschema = pytest.importorskip("jsonschema")
    resolver = jsonschema.RefResolver.from_schema(spec)

    def validate(instance, schema, what):
        v = jsonschema.Draft202012Validator(schema, resolver=resolver)
        errors = sorted(v.iter_errors(instance), key=lambda e: list(e.path))
        assert not errors, f"{what}: {errors[0].message} at {list(errors[0].path)}"

    succeeded = set()
    for method, template, r in exchanges:
        what = f"{method} {r.request.path_url} -> {r.status_code}"
        op = spec["paths"][template][method.lower()]
        documented = op["responses"].get(str(r.status_code))
        assert documented is not None, f"{what}: status not documented ({r.text[:200]})"
        documented = resolve(spec, documented)
        if r.status_code < 300:
            succeeded.add((method, template))
        if r.status_code == 204:
            assert r.content == b"", what
            continue
        ctype = r.headers["Content-Type"].replace(" ", "").lower()
        media = {k.replace(" ", "").lower(): k for k in documented["content"]}
        assert ctype in media, f"{what}: Content-Type {ctype!r}, documented {sorted(media)}"
        schema = documented["content"][media[ctype]]["schema"]
        instance = r.text if ctype.startswith("text/") else r.json()
        validate(instance, schema, what)
        # the canonical entries inside the answers follow the AuditEntry schema too
        items = instance.get("entries", []) if isinstance(instance, dict) else []
        for item in items:
            if isinstance(item, dict) and "entry" in item:
                validate(json.loads(item["entry"]), {"$ref": "#/components/schemas/AuditEntry"}, what)
    assert succeeded == set(spec_routes(spec)), f"never answered with success: {set(spec_routes(spec)) - succeeded}"


def test_markdown_export_is_documented(spec, exchanges):
    """The export's format parameter and its Markdown answer are in the document, and the daemon answers it."""
    op = spec["paths"][EXPORT]["get"]
    params = [resolve(spec, p) for p in op.get("parameters", [])]
    [fmt] = [p for p in params if (p["in"], p["name"]) == ("query", "format")]
    assert (fmt.get("required", False), fmt["schema"]["enum"], fmt["schema"]["default"]) == (
        False, ["json", "markdown"], "json")
    content = resolve(spec, op["responses"]["200"])["content"]
    assert set(content) == {"application/json", MARKDOWN}
    assert resolve(spec, content[MARKDOWN]["schema"])["type"] == "string"
    answered = {(r.request.path_url.rsplit("?", 1)[-1] if "?" in r.request.path_url else "", r.status_code,
                 r.headers.get("Content-Type")) for m, t, r in exchanges if (m, t) == ("GET", EXPORT)}
    assert ("format=markdown", 200, MARKDOWN) in answered
    assert ("format=json", 200, "application/json") in answered
    assert ("format=pdf", 400, "application/problem+json") in answered
