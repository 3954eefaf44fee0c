"""docs/openapi.yaml is the contract: the daemon serves it, and its route table
matches the document's paths exactly."""

import json
import re
import subprocess

import pytest
import yaml

from conftest import COFFRE_BIN, REPO, assert_problem, assert_status, daemon_env

SPEC_PATH = REPO / "docs" / "openapi.yaml"
METHODS = ("get", "put", "post", "patch", "delete", "head", "options", "trace")


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
