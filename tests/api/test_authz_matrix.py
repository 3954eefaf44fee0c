"""The authorization matrix: every route the daemon serves (`coffre routes
--json`) x every kind of caller x, for /v1/orgs/{org}/... routes, three
targets, each cell asserted against the explicit table below.

Callers: unauthenticated; the instance administrator, an instance auditor,
the sharing authority (instance users); in organization ville: the main
security manager, the local and co-local managers of domain social, the
subdivision manager of social/aide, an agent of social/aide holding a grant
on collection social_aid, a data protection officer, a technical user
(social) calling with an API key; and the security manager of another
organization, autre.

Targets of organization routes: "dom", real objects of ville's social
domain (its users, subdivision aide, technical user, the agent role and the
social_aid collection with a record whose subject is under a legal hold,
and a second subject, never held, with a pending erasure request); "odom",
the same in ville's population domain (subdivision etat-civil, role
registrar, collection pop_reg); "xorg", the same in organization autre
(where the autre caller is at home; autre's own data protection officer only
prepares its hold and erasure request). Bodies are valid and minimal,
personal-data routes carry the purpose of the target's collection, so that
the decision, not validation, is what each cell tests. A cell expected to
succeed on a destructive route gets a fresh object of its own (a user, a
manager, a key, a record, an agreement, a session, a subject, an erasure
request, a legal hold).

A route the table does not list fails test_every_route_is_in_the_table.
"""

import itertools
import json
import subprocess

import pytest

from conftest import (COFFRE_BIN, SOCIAL_AID, Client, assert_problem, assert_status, create_org,
                      create_security_manager, daemon_env, next_nid, password_for)

CALLERS = ("anon", "admin", "iaud", "authority", "sm", "loc", "coloc", "sub", "agent", "dpo", "tech", "xorg")
TARGETS = ("dom", "odom", "xorg")

CODES = {
    "U": (401, "unauthenticated"),
    "F": (403, "forbidden"),
    "W": (403, "wrong-organization"),
    "N": (404, "not-found"),
    # a lookup whose purpose none of the caller's reachable collections declares
    "P": (403, "purpose-not-allowed"),
    # not an authorization answer: a request that means nothing for this caller
    # (logging out an API key; an instance user has no organization commitment)
    "I": (400, "invalid-value"),
}

# A: allowed, answered with the route's success status (column ok).
# Organization routes: three letters for the targets dom, odom, xorg; one letter for all three.
TABLE_TEXT = """
#method path                                                              ok  anon admin iaud auth sm  loc coloc sub agent dpo tech xorg
GET     /v1/sys/health                                                    200 A    A     A    A    A   A   A     A   A     A   A    A
POST    /v1/sys/unseal                                                    200 A    A     A    A    A   A   A     A   A     A   A    A
GET     /v1/openapi.json                                                  200 A    A     A    A    A   A   A     A   A     A   A    A
POST    /v1/auth/login                                                    200 A    A     A    A    A   A   A     A   A     A   A    A
POST    /v1/auth/logout                                                   204 U    A     A    A    A   A   A     A   A     A   I    A
GET     /v1/me                                                            200 U    A     A    A    A   A   A     A   A     A   A    A
POST    /v1/orgs                                                          201 U    A     F    F    F   F   F     F   F     F   F    F
GET     /v1/orgs                                                          200 U    A     F    F    F   F   F     F   F     F   F    F
GET     /v1/orgs/{org}                                                    200 U    AAA   F    F    AAW AAW AAW   AAW AAW   AAW AAW  WWA
POST    /v1/orgs/{org}/users                                              201 U    F     F    F    AAW AFW AFW   AFW FFW   FFW FFW  WWA
GET     /v1/orgs/{org}/users                                              200 U    F     F    F    AAW AFW AFW   AFW FFW   FFW FFW  WWA
GET     /v1/orgs/{org}/users/{username}                                   200 U    F     F    F    AAW AFW AFW   AFW FFW   FFW FFW  WWA
PATCH   /v1/orgs/{org}/users/{username}                                   200 U    F     F    F    AAW AFW AFW   AFW FFW   FFW FFW  WWA
DELETE  /v1/orgs/{org}/users/{username}                                   204 U    F     F    F    AAW AFW AFW   AFW FFW   FFW FFW  WWA
GET     /v1/orgs/{org}/domains                                            200 U    F     F    F    AAW AAW AAW   AAW AAW   AAW AAW  WWA
PUT     /v1/orgs/{org}/domains/{domain}                                   200 U    F     F    F    AAW FFW FFW   FFW FFW   FFW FFW  WWA
PUT     /v1/orgs/{org}/domains/{domain}/contact                           200 U    F     F    F    AAW AFW AFW   FFW FFW   FFW FFW  WWA
PUT     /v1/orgs/{org}/domains/{domain}/technical-user                    200 U    F     F    F    AAW AFW AFW   FFW FFW   FFW FFW  WWA
PUT     /v1/orgs/{org}/domains/{domain}/subdivisions/{subdivision}        200 U    F     F    F    AAW AFW AFW   FFW FFW   FFW FFW  WWA
PUT     /v1/orgs/{org}/domains/{domain}/managers/{username}               200 U    F     F    F    AAW AFW AFW   FFW FFW   FFW FFW  WWA
DELETE  /v1/orgs/{org}/domains/{domain}/managers/{username}               204 U    F     F    F    AAW AFW AFW   FFW FFW   FFW FFW  WWA
POST    /v1/orgs/{org}/api-keys                                           201 U    F     F    F    AAW FFW FFW   FFW FFW   FFW FFW  WWA
GET     /v1/orgs/{org}/api-keys                                           200 U    F     F    F    AAW FFW FFW   FFW FFW   FFW FFW  WWA
DELETE  /v1/orgs/{org}/api-keys/{id}                                      204 U    F     F    F    AAW FFW FFW   FFW FFW   FFW FFW  WWA
GET     /v1/orgs/{org}/collections                                        200 U    AAA   F    F    AAW AAW AAW   AAW AAW   AAW AAW  WWA
PUT     /v1/orgs/{org}/collections/{name}                                 200 U    F     F    F    AAW FFW FFW   FFW FFW   FFW FFW  WWA
GET     /v1/orgs/{org}/collections/{name}                                 200 U    AAA   F    F    AAW AAW AAW   AAW AAW   AAW AAW  WWA
PUT     /v1/orgs/{org}/roles/{role}/grants                                200 U    F     F    F    AAW FFW FFW   FFW FFW   FFW FFW  WWA
GET     /v1/orgs/{org}/roles/{role}/grants                                200 U    F     F    F    AAW FFW FFW   FFW FFW   FFW FFW  WWA
POST    /v1/orgs/{org}/collections/{c}/records                            201 U    F     F    F    FFW FFW FFW   FFW AFW   FFW FFW  WWF
GET     /v1/orgs/{org}/collections/{c}/records/{id}                       200 U    F     F    F    FFW FFW FFW   FFW AFW   FFW FFW  WWF
PATCH   /v1/orgs/{org}/collections/{c}/records/{id}                       200 U    F     F    F    FFW FFW FFW   FFW AFW   FFW FFW  WWF
DELETE  /v1/orgs/{org}/collections/{c}/records/{id}                       204 U    F     F    F    FFW FFW FFW   FFW AFW   FFW FFW  WWF
POST    /v1/orgs/{org}/subjects/lookup                                    200 U    F     F    F    FFW FFW FFW   FPW APW   FFW FFW  WWF
GET     /v1/orgs/{org}/subjects/{pseudonym}/access-log                    200 U    F     F    F    FFW FFW FFW   FFW FFW   AAW FFW  WWF
POST    /v1/users                                                         201 U    A     F    F    F   F   F     F   F     F   F    F
GET     /v1/audit/checkpoint                                              200 U    F     A    F    F   F   F     F   F     F   F    F
GET     /v1/audit/key                                                     200 U    F     A    F    F   F   F     F   F     F   F    F
GET     /v1/audit/entries                                                 200 U    F     A    F    F   F   F     F   F     F   F    F
GET     /v1/audit/proofs/inclusion                                        200 U    F     A    F    F   F   F     F   F     F   F    F
GET     /v1/audit/proofs/consistency                                      200 U    F     A    F    F   F   F     F   F     F   F    F
POST    /v1/agreements                                                    201 U    F     F    A    F   F   F     F   F     F   F    F
GET     /v1/agreements                                                    200 U    F     F    A    F   F   F     F   F     F   F    F
GET     /v1/agreements/{id}                                               200 U    N     N    A    A   A   A     A   A     A   A    N
POST    /v1/agreements/{id}/suspend                                       200 U    F     F    A    F   F   F     F   F     F   F    F
POST    /v1/agreements/{id}/resume                                        200 U    F     F    A    F   F   F     F   F     F   F    F
POST    /v1/agreements/{id}/revoke                                        200 U    F     F    A    F   F   F     F   F     F   F    F
GET     /v1/orgs/{org}/agreements                                         200 U    F     F    F    AAW AAW AAW   AAW AAW   AAW AAW  WWA
GET     /v1/reports/flows                                                 200 U    F     A    A    F   F   F     F   F     F   F    F
GET     /v1/orgs/{org}/subjects/{pseudonym}/export                        200 U    F     F    F    FFW FFW FFW   FFW FFW   AAW FFW  WWF
POST    /v1/orgs/{org}/subjects/{pseudonym}/erasure-requests              201 U    F     F    F    FFW FFW FFW   FFW FFW   AAW FFW  WWF
GET     /v1/orgs/{org}/subjects/{pseudonym}/erasure-requests              200 U    F     F    F    FFW FFW FFW   FFW FFW   AAW FFW  WWF
POST    /v1/orgs/{org}/subjects/{pseudonym}/erasure-requests/{id}/approve 200 U    F     F    F    FFW FFW FFW   FFW FFW   AAW FFW  WWF
POST    /v1/orgs/{org}/subjects/{pseudonym}/erasure-requests/{id}/refuse  200 U    F     F    F    FFW FFW FFW   FFW FFW   AAW FFW  WWF
POST    /v1/orgs/{org}/subjects/{pseudonym}/holds                         201 U    F     F    F    FFW FFW FFW   FFW FFW   AAW FFW  WWF
POST    /v1/orgs/{org}/subjects/{pseudonym}/holds/{id}/release            200 U    F     F    F    FFW FFW FFW   FFW FFW   AAW FFW  WWF
GET     /v1/orgs/{org}/disposals                                          200 U    F     F    F    FFW FFW FFW   FFW FFW   AAW FFW  WWF
GET     /v1/orgs/{org}/dataset                                            200 U    F     F    F    FFW FFW FFW   FFW FFW   AAW FFW  WWF
POST    /v1/orgs/{org}/dataset                                            201 U    F     F    F    AAW FFW FFW   FFW FFW   FFW FFW  WWA
GET     /v1/reports/processing                                            200 U    A     A    A    A   F   F     F   F     A   F    W
PUT     /v1/orgs/{org}/commitment                                         200 U    F     F    F    AAW FFW FFW   FFW FFW   FFW FFW  WWA
GET     /v1/orgs/{org}/commitment                                         200 U    F     F    F    AAW AAW AAW   AAW AAW   AAW AAW  WWA
GET     /v1/me/commitment                                                 200 U    I     I    I    A   A   A     A   A     A   A    A
POST    /v1/me/commitment/accept                                          200 U    I     I    I    A   A   A     A   A     A   A    A
"""


def parse_table(text):
    table = {}
    for line in text.strip().splitlines():
        if line.startswith("#"):
            continue
        parts = line.split()
        method, path, ok, codes = parts[0], parts[1], int(parts[2]), parts[3:]
        assert len(codes) == len(CALLERS), f"{method} {path}: {len(codes)} callers"
        org_route = path.startswith("/v1/orgs/{org}")
        row = {}
        for caller, code in zip(CALLERS, codes):
            if org_route and len(code) == 1:
                code = code * 3
            assert len(code) == (3 if org_route else 1), f"{method} {path} {caller}: {code!r}"
            assert set(code) <= set(CODES) | {"A"}, f"{method} {path} {caller}: {code!r}"
            targets = TARGETS if org_route else ("-",)
            for target, c in zip(targets, code):
                row[(caller, target)] = ok if c == "A" else CODES[c]
        assert (method, path) not in table, f"{method} {path} listed twice"
        table[(method, path)] = row
    return table


TABLE = parse_table(TABLE_TEXT)


def served_routes():
    r = subprocess.run([COFFRE_BIN, "routes", "--json"], capture_output=True, timeout=30, env=daemon_env())
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return [(x["method"], x["path"]) for x in json.loads(r.stdout)]


ROUTES = served_routes()
CELLS = [(m, p, caller, target) for (m, p) in ROUTES if (m, p) in TABLE
         for (caller, target) in TABLE[(m, p)]]


def test_every_route_is_in_the_table():
    missing = [f"{m} {p}" for (m, p) in ROUTES if (m, p) not in TABLE]
    assert not missing, "routes without an authorization expectation:\n" + "\n".join(missing)
    stale = [f"{m} {p}" for (m, p) in TABLE if (m, p) not in ROUTES]
    assert not stale, "the table lists routes the daemon does not serve:\n" + "\n".join(stale)
    assert len(ROUTES) == len(set(ROUTES))


# --------------------------------------------------------------------------
# The world
# --------------------------------------------------------------------------

POP_REG = {
    "description": "Population register extracts",
    "fields": {
        "last_name": {"type": "string", "category": "identity", "required": True, "max_length": 100},
        "street": {"type": "string", "category": "contact", "max_length": 200},
    },
    "purposes": {"population-register": {"legal_basis": "law of 19 July 1991 on population registers"}},
    "retention": "P5Y",
}
AGENT_GRANTS = [{"collection": "social_aid", "actions": ["read", "write", "delete"], "purposes": ["social-aid"],
                 "fields": ["*"]}]
REGISTRAR_GRANTS = [{"collection": "pop_reg", "actions": ["read", "write", "delete"],
                     "purposes": ["population-register"], "fields": ["*"]}]
SOCIAL_FIELDS = {"first_name": "Jeanne", "last_name": "Dupont", "aid_kind": "ris", "aid_amount": 1250}
POP_FIELDS = {"last_name": "Martin", "street": "Rue Haute 1"}


class Target:
    """The real ids one target stands for."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


class Matrix:
    def __init__(self, daemon):
        self.d = daemon
        self.n = itertools.count(1)
        admin = daemon.admin()
        self.creds = {"admin": (daemon.admin_user, daemon.admin_password, None)}
        for org in ("ville", "autre", "tiers"):
            create_org(admin, org, org.capitalize())
        for name, role in (("m_iaud", "auditor"), ("m_authority", "authority")):
            assert_status(admin.post("/v1/users", {"username": name, "password": password_for(name),
                                                   "roles": [role]}), 201)
        self.creds["iaud"] = ("m_iaud", password_for("m_iaud"), None)
        self.creds["authority"] = ("m_authority", password_for("m_authority"), None)

        sm = create_security_manager(daemon, admin, "ville", "m_sm")
        xsm = create_security_manager(daemon, admin, "autre", "x_sm")
        self.creds["sm"] = ("m_sm", password_for("m_sm"), "ville")
        self.creds["xorg"] = ("x_sm", password_for("x_sm"), "autre")
        self.main = {"ville": sm, "autre": xsm}

        for s, org in ((sm, "ville"), (xsm, "autre")):
            p = f"/v1/orgs/{org}"
            assert_status(s.put(f"{p}/collections/social_aid", SOCIAL_AID), 200)
            assert_status(s.put(f"{p}/roles/agent/grants", AGENT_GRANTS), 200)
            assert_status(s.put(f"{p}/domains/social", {"name": "Action sociale"}), 200)
            assert_status(s.put(f"{p}/domains/social/subdivisions/aide",
                                {"name": "Aide sociale", "collections": ["social_aid"]}), 200)
        assert_status(sm.put("/v1/orgs/ville/collections/pop_reg", POP_REG), 200)
        assert_status(sm.put("/v1/orgs/ville/roles/registrar/grants", REGISTRAR_GRANTS), 200)
        assert_status(sm.put("/v1/orgs/ville/domains/population", {"name": "Population"}), 200)
        assert_status(sm.put("/v1/orgs/ville/domains/population/subdivisions/etat-civil",
                             {"name": "Etat civil", "collections": ["pop_reg"]}), 200)

        def member(s, org, username, roles, domain=None, sub=None, level=None):
            body = {"username": username, "password": password_for(username), "roles": roles}
            if domain:
                body["domain"] = domain
            if sub:
                body["subdivision"] = sub
            assert_status(s.post(f"/v1/orgs/{org}/users", body), 201)
            if level:
                lb = {"level": level}
                if level == "subdivision":
                    lb["subdivision"] = sub
                assert_status(s.put(f"/v1/orgs/{org}/domains/{domain}/managers/{username}", lb), 200)

        member(sm, "ville", "m_loc", ["manager"], "social", level="local")
        member(sm, "ville", "m_coloc", ["manager"], "social", level="co_local")
        member(sm, "ville", "m_sub", ["manager"], "social", "aide", level="subdivision")
        member(sm, "ville", "m_agent", ["agent"], "social", "aide")
        member(sm, "ville", "m_dpo", ["dpo"])
        member(sm, "ville", "m_tech", ["technical"], "social")
        member(sm, "ville", "m_registrar", ["registrar"], "population", "etat-civil")
        member(sm, "ville", "t_soc", ["clerk"], "social", "aide")
        member(sm, "ville", "t_pop", ["clerk"], "population", "etat-civil")
        member(sm, "ville", "c_soc", ["clerk"], "social", "aide")
        member(sm, "ville", "c_pop", ["clerk"], "population", "etat-civil")
        member(sm, "ville", "r_soc", ["manager"], "social", "aide", level="subdivision")
        member(sm, "ville", "r_pop", ["manager"], "population", "etat-civil", level="subdivision")
        member(sm, "ville", "t_tech_pop", ["technical"], "population")
        member(xsm, "autre", "x_agent", ["agent"], "social", "aide")
        member(xsm, "autre", "x_t_soc", ["clerk"], "social", "aide")
        member(xsm, "autre", "x_c_soc", ["clerk"], "social", "aide")
        member(xsm, "autre", "x_r_soc", ["manager"], "social", "aide", level="subdivision")
        member(xsm, "autre", "x_tech", ["technical"], "social")
        member(xsm, "autre", "x_dpo", ["dpo"])
        for caller, username in (("loc", "m_loc"), ("coloc", "m_coloc"), ("sub", "m_sub"), ("agent", "m_agent"),
                                 ("dpo", "m_dpo")):
            self.creds[caller] = (username, password_for(username), "ville")

        # the callers' sessions (one each, reused); the technical user calls with an API key
        self.clients = {"anon": Client(daemon)}
        for caller, (u, pw, org) in self.creds.items():
            self.clients[caller] = daemon.login(u, pw, org)
        self.clients["tech"] = Client(daemon, self.key_for("ville", "m_tech"), username="m_tech", org="ville")
        registrar = daemon.login("m_registrar", password_for("m_registrar"), "ville")
        x_agent = daemon.login("x_agent", password_for("x_agent"), "autre")
        x_dpo = daemon.login("x_dpo", password_for("x_dpo"), "autre")
        # who must accept a new confidentiality commitment to keep working
        self.org_clients = {"ville": [self.clients[c] for c in ("sm", "loc", "coloc", "sub", "agent", "dpo", "tech")]
                            + [registrar], "autre": [xsm, self.clients["xorg"], x_agent, x_dpo]}
        for org in ("ville", "autre"):
            r = self.main[org].put(f"/v1/orgs/{org}/commitment", {"text": f"I keep {org}'s data confidential."})
            assert_status(r, 200)
            self.accept_all(org, r.json()["version"])

        soc_rec, soc_nid = self.record(self.clients["agent"], "ville", "social_aid", "social-aid", SOCIAL_FIELDS)
        pop_rec, pop_nid = self.record(registrar, "ville", "pop_reg", "population-register", POP_FIELDS)
        x_rec, x_nid = self.record(x_agent, "autre", "social_aid", "social-aid", SOCIAL_FIELDS)
        self.registrar = registrar

        self.authority = self.clients["authority"]
        self.agreement_id = self.new_agreement()

        self.t = {
            "dom": Target(org="ville", domain="social", sub="aide", sub_name="Aide sociale", dom_name="Action sociale",
                          coll="social_aid", coll_def=SOCIAL_AID, purpose="social-aid", fields=SOCIAL_FIELDS,
                          patch={"aid_amount": 10}, record=soc_rec["id"], subject=soc_rec["subject"], nid=soc_nid,
                          user="t_soc", cand="c_soc", mgr="r_soc", tech="m_tech", role="agent",
                          grants=AGENT_GRANTS, apikey=self.key_id("ville", "m_tech"), writer=self.clients["agent"]),
            "odom": Target(org="ville", domain="population", sub="etat-civil", sub_name="Etat civil",
                           dom_name="Population", coll="pop_reg", coll_def=POP_REG, purpose="population-register",
                           fields=POP_FIELDS, patch={"street": "Rue Basse 2"}, record=pop_rec["id"],
                           subject=pop_rec["subject"], nid=pop_nid, user="t_pop", cand="c_pop", mgr="r_pop",
                           tech="t_tech_pop", role="registrar", grants=REGISTRAR_GRANTS,
                           apikey=self.key_id("ville", "t_tech_pop"), writer=registrar),
            "xorg": Target(org="autre", domain="social", sub="aide", sub_name="Aide sociale",
                           dom_name="Action sociale", coll="social_aid", coll_def=SOCIAL_AID, purpose="social-aid",
                           fields=SOCIAL_FIELDS, patch={"aid_amount": 10}, record=x_rec["id"],
                           subject=x_rec["subject"], nid=x_nid, user="x_t_soc", cand="x_c_soc", mgr="x_r_soc",
                           tech="x_tech", role="agent", grants=AGENT_GRANTS, apikey=self.key_id("autre", "x_tech"),
                           writer=x_agent),
        }
        # who prepares the citizens' rights objects of each organization
        self.dpo = {"ville": self.clients["dpo"], "autre": x_dpo}
        for t in self.t.values():
            t.hold = self.hold(t, t.subject)
            t.erasable, t.erasure = self.pending_request(t)

    # -- helpers ------------------------------------------------------------
    def uniq(self, prefix):
        return f"{prefix}{next(self.n)}"

    def key(self, org, username):
        r = self.main[org].post(f"/v1/orgs/{org}/api-keys", {"username": username})
        assert_status(r, 201)
        return r.json()

    def key_for(self, org, username):
        return self.key(org, username)["key"]

    def key_id(self, org, username):
        return self.key(org, username)["id"]

    def accept_all(self, org, version):
        for c in self.org_clients[org]:
            assert_status(c.post("/v1/me/commitment/accept", {"version": version}), 200)

    def record(self, client, org, coll, purpose, fields):
        nid = next_nid()
        r = client.post(f"/v1/orgs/{org}/collections/{coll}/records",
                        {"subject": {"national_id": nid}, "fields": fields}, purpose=purpose)
        assert_status(r, 201)
        return r.json(), nid

    def new_agreement(self):
        r = self.authority.post("/v1/agreements", {
            "provider": "ville", "consumer": "tiers", "collection": "social_aid", "fields": ["first_name"],
            "purposes": ["statistics"], "legal_basis": "deliberation 24/001", "valid_from": "2020-01-01",
            "valid_until": "2099-12-31"})
        assert_status(r, 201)
        return r.json()["id"]

    def fresh_user(self, t, level=None):
        """A new member placed like the target's user (a manager of its subdivision when level is given)."""
        s = self.main[t.org]
        name = self.uniq("fresh")
        assert_status(s.post(f"/v1/orgs/{t.org}/users", {"username": name, "password": password_for(name),
                                                         "roles": ["clerk"], "domain": t.domain,
                                                         "subdivision": t.sub}), 201)
        if level:
            assert_status(s.put(f"/v1/orgs/{t.org}/domains/{t.domain}/managers/{name}",
                                {"level": level, "subdivision": t.sub}), 200)
        return name

    def fresh_subject(self, t):
        """A new subject in the target's collection (its own record, written like the target's)."""
        return self.record(t.writer, t.org, t.coll, t.purpose, t.fields)[0]["subject"]

    def erasure_request(self, t, subject):
        r = self.dpo[t.org].post(f"/v1/orgs/{t.org}/subjects/{subject}/erasure-requests", {"reason": "matrix"})
        assert_status(r, 201)
        return r.json()["id"]

    def hold(self, t, subject):
        r = self.dpo[t.org].post(f"/v1/orgs/{t.org}/subjects/{subject}/holds", {"reason": "matrix"})
        assert_status(r, 201)
        return r.json()["id"]

    def pending_request(self, t):
        """A fresh subject with a pending erasure request: (subject, request id)."""
        subject = self.fresh_subject(t)
        return subject, self.erasure_request(t, subject)

    def client_for(self, caller, fresh_session=False):
        if fresh_session and caller in self.creds:
            u, pw, org = self.creds[caller]
            return self.d.login(u, pw, org)
        return self.clients[caller]


@pytest.fixture(scope="module")
def mx(daemon):
    return Matrix(daemon)


# --------------------------------------------------------------------------
# One request per route: (method, path) -> build(mx, caller, target, allowed) -> (path, body, purpose, headers)
# --------------------------------------------------------------------------

NOBODY = object()


def org_req(fn):
    """Builds a /v1/orgs/{org}/... request from the target t."""
    return lambda mx, caller, t, allowed: fn(mx, caller, mx.t[t], allowed)


def personal(path, body=NOBODY):
    return lambda mx, caller, t, allowed: (path(mx.t[t]), body if body is NOBODY else body(mx.t[t]), mx.t[t].purpose)


def commitment_version(mx, caller):
    c = mx.clients[caller]
    if c.org is None:
        return 1
    r = c.get("/v1/me/commitment")
    assert_status(r, 200)
    return r.json()["version"]


def approve_erasure(mx, caller, t, allowed):
    """Approving crypto-shreds the subject: an allowed cell erases a fresh subject of its own."""
    subject, rid = mx.pending_request(t) if allowed else (t.erasable, t.erasure)
    return (f"/v1/orgs/{t.org}/subjects/{subject}/erasure-requests/{rid}/approve",
            {"reason": "no legal obligation to keep (matrix)"}, None)


EMPTY_DATASET = {"format": "coffre-pseudonymized-dataset/1", "pseudonymized": True, "collections": {}, "subjects": []}

REQUESTS = {
    ("GET", "/v1/sys/health"): lambda mx, c, t, a: ("/v1/sys/health", NOBODY, None),
    ("POST", "/v1/sys/unseal"): lambda mx, c, t, a: ("/v1/sys/unseal", {"passphrase": "not-needed-here"}, None),
    ("GET", "/v1/openapi.json"): lambda mx, c, t, a: ("/v1/openapi.json", NOBODY, None),
    ("POST", "/v1/auth/login"): lambda mx, c, t, a: (
        "/v1/auth/login", {"username": "m_agent", "password": password_for("m_agent"), "org": "ville"}, None),
    ("POST", "/v1/auth/logout"): lambda mx, c, t, a: ("/v1/auth/logout", NOBODY, None),
    ("GET", "/v1/me"): lambda mx, c, t, a: ("/v1/me", NOBODY, None),
    ("POST", "/v1/orgs"): lambda mx, c, t, a: ("/v1/orgs", {"id": mx.uniq("neworg"), "name": "New"}, None),
    ("GET", "/v1/orgs"): lambda mx, c, t, a: ("/v1/orgs", NOBODY, None),
    ("GET", "/v1/orgs/{org}"): org_req(lambda mx, c, t, a: (f"/v1/orgs/{t.org}", NOBODY, None)),
    ("POST", "/v1/orgs/{org}/users"): org_req(lambda mx, c, t, a: (
        f"/v1/orgs/{t.org}/users", {"username": mx.uniq("newuser"), "password": password_for("newuser"),
                                    "roles": ["clerk"], "domain": t.domain, "subdivision": t.sub}, None)),
    ("GET", "/v1/orgs/{org}/users"): org_req(lambda mx, c, t, a: (
        f"/v1/orgs/{t.org}/users?domain={t.domain}&subdivision={t.sub}", NOBODY, None)),
    ("GET", "/v1/orgs/{org}/users/{username}"): org_req(lambda mx, c, t, a: (
        f"/v1/orgs/{t.org}/users/{t.user}", NOBODY, None)),
    ("PATCH", "/v1/orgs/{org}/users/{username}"): org_req(lambda mx, c, t, a: (
        f"/v1/orgs/{t.org}/users/{t.user}", {"language": "fr"}, None)),
    ("DELETE", "/v1/orgs/{org}/users/{username}"): org_req(lambda mx, c, t, a: (
        f"/v1/orgs/{t.org}/users/{mx.fresh_user(t) if a else t.user}", NOBODY, None)),
    ("GET", "/v1/orgs/{org}/domains"): org_req(lambda mx, c, t, a: (f"/v1/orgs/{t.org}/domains", NOBODY, None)),
    ("PUT", "/v1/orgs/{org}/domains/{domain}"): org_req(lambda mx, c, t, a: (
        f"/v1/orgs/{t.org}/domains/{t.domain}", {"name": t.dom_name}, None)),
    ("PUT", "/v1/orgs/{org}/domains/{domain}/contact"): org_req(lambda mx, c, t, a: (
        f"/v1/orgs/{t.org}/domains/{t.domain}/contact", {"email": f"{t.domain}@{t.org}.example"}, None)),
    ("PUT", "/v1/orgs/{org}/domains/{domain}/technical-user"): org_req(lambda mx, c, t, a: (
        f"/v1/orgs/{t.org}/domains/{t.domain}/technical-user", {"username": t.tech}, None)),
    ("PUT", "/v1/orgs/{org}/domains/{domain}/subdivisions/{subdivision}"): org_req(lambda mx, c, t, a: (
        f"/v1/orgs/{t.org}/domains/{t.domain}/subdivisions/{t.sub}", {"name": t.sub_name, "collections": [t.coll]},
        None)),
    ("PUT", "/v1/orgs/{org}/domains/{domain}/managers/{username}"): org_req(lambda mx, c, t, a: (
        f"/v1/orgs/{t.org}/domains/{t.domain}/managers/{t.cand}", {"level": "subdivision", "subdivision": t.sub},
        None)),
    ("DELETE", "/v1/orgs/{org}/domains/{domain}/managers/{username}"): org_req(lambda mx, c, t, a: (
        f"/v1/orgs/{t.org}/domains/{t.domain}/managers/{mx.fresh_user(t, 'subdivision') if a else t.mgr}",
        NOBODY, None)),
    ("POST", "/v1/orgs/{org}/api-keys"): org_req(lambda mx, c, t, a: (
        f"/v1/orgs/{t.org}/api-keys", {"username": t.tech, "description": "matrix"}, None)),
    ("GET", "/v1/orgs/{org}/api-keys"): org_req(lambda mx, c, t, a: (f"/v1/orgs/{t.org}/api-keys", NOBODY, None)),
    ("DELETE", "/v1/orgs/{org}/api-keys/{id}"): org_req(lambda mx, c, t, a: (
        f"/v1/orgs/{t.org}/api-keys/{mx.key_id(t.org, t.tech) if a else t.apikey}", NOBODY, None)),
    ("GET", "/v1/orgs/{org}/collections"): org_req(lambda mx, c, t, a: (
        f"/v1/orgs/{t.org}/collections", NOBODY, None)),
    ("PUT", "/v1/orgs/{org}/collections/{name}"): org_req(lambda mx, c, t, a: (
        f"/v1/orgs/{t.org}/collections/{t.coll}", t.coll_def, None)),
    ("GET", "/v1/orgs/{org}/collections/{name}"): org_req(lambda mx, c, t, a: (
        f"/v1/orgs/{t.org}/collections/{t.coll}", NOBODY, None)),
    ("PUT", "/v1/orgs/{org}/roles/{role}/grants"): org_req(lambda mx, c, t, a: (
        f"/v1/orgs/{t.org}/roles/{t.role}/grants", t.grants, None)),
    ("GET", "/v1/orgs/{org}/roles/{role}/grants"): org_req(lambda mx, c, t, a: (
        f"/v1/orgs/{t.org}/roles/{t.role}/grants", NOBODY, None)),
    ("POST", "/v1/orgs/{org}/collections/{c}/records"): org_req(lambda mx, c, t, a: (
        f"/v1/orgs/{t.org}/collections/{t.coll}/records", {"subject": {"national_id": next_nid()},
                                                            "fields": t.fields}, t.purpose)),
    ("GET", "/v1/orgs/{org}/collections/{c}/records/{id}"): org_req(lambda mx, c, t, a: (
        f"/v1/orgs/{t.org}/collections/{t.coll}/records/{t.record}", NOBODY, t.purpose)),
    ("PATCH", "/v1/orgs/{org}/collections/{c}/records/{id}"): org_req(lambda mx, c, t, a: (
        f"/v1/orgs/{t.org}/collections/{t.coll}/records/{t.record}", {"fields": t.patch}, t.purpose)),
    ("DELETE", "/v1/orgs/{org}/collections/{c}/records/{id}"): org_req(lambda mx, c, t, a: (
        f"/v1/orgs/{t.org}/collections/{t.coll}/records/"
        f"{mx.record(t.writer, t.org, t.coll, t.purpose, t.fields)[0]['id'] if a else t.record}",
        NOBODY, t.purpose)),
    ("POST", "/v1/orgs/{org}/subjects/lookup"): org_req(lambda mx, c, t, a: (
        f"/v1/orgs/{t.org}/subjects/lookup", {"national_id": t.nid}, t.purpose)),
    ("GET", "/v1/orgs/{org}/subjects/{pseudonym}/access-log"): org_req(lambda mx, c, t, a: (
        f"/v1/orgs/{t.org}/subjects/{t.subject}/access-log", NOBODY, None)),
    ("GET", "/v1/orgs/{org}/subjects/{pseudonym}/export"): org_req(lambda mx, c, t, a: (
        f"/v1/orgs/{t.org}/subjects/{t.subject}/export", NOBODY, None)),
    ("POST", "/v1/orgs/{org}/subjects/{pseudonym}/erasure-requests"): org_req(lambda mx, c, t, a: (
        f"/v1/orgs/{t.org}/subjects/{t.subject}/erasure-requests", {"reason": "citizen's request (matrix)"}, None)),
    ("GET", "/v1/orgs/{org}/subjects/{pseudonym}/erasure-requests"): org_req(lambda mx, c, t, a: (
        f"/v1/orgs/{t.org}/subjects/{t.subject}/erasure-requests", NOBODY, None)),
    ("POST", "/v1/orgs/{org}/subjects/{pseudonym}/erasure-requests/{id}/approve"): org_req(approve_erasure),
    ("POST", "/v1/orgs/{org}/subjects/{pseudonym}/erasure-requests/{id}/refuse"): org_req(lambda mx, c, t, a: (
        f"/v1/orgs/{t.org}/subjects/{t.erasable}/erasure-requests/"
        f"{mx.erasure_request(t, t.erasable) if a else t.erasure}/refuse",
        {"reason": "kept by law (matrix)"}, None)),
    ("POST", "/v1/orgs/{org}/subjects/{pseudonym}/holds"): org_req(lambda mx, c, t, a: (
        f"/v1/orgs/{t.org}/subjects/{t.subject}/holds", {"reason": "litigation (matrix)"}, None)),
    ("POST", "/v1/orgs/{org}/subjects/{pseudonym}/holds/{id}/release"): org_req(lambda mx, c, t, a: (
        f"/v1/orgs/{t.org}/subjects/{t.subject}/holds/{mx.hold(t, t.subject) if a else t.hold}/release",
        NOBODY, None)),
    ("POST", "/v1/users"): lambda mx, c, t, a: (
        "/v1/users", {"username": mx.uniq("instuser"), "password": password_for("instuser"), "roles": ["auditor"]},
        None),
    ("GET", "/v1/audit/checkpoint"): lambda mx, c, t, a: ("/v1/audit/checkpoint", NOBODY, None),
    ("GET", "/v1/audit/key"): lambda mx, c, t, a: ("/v1/audit/key", NOBODY, None),
    ("GET", "/v1/audit/entries"): lambda mx, c, t, a: ("/v1/audit/entries?start=0&end=1", NOBODY, None),
    ("GET", "/v1/audit/proofs/inclusion"): lambda mx, c, t, a: (
        "/v1/audit/proofs/inclusion?index=0&tree_size=1", NOBODY, None),
    ("GET", "/v1/audit/proofs/consistency"): lambda mx, c, t, a: (
        "/v1/audit/proofs/consistency?first=1&second=1", NOBODY, None),
    ("POST", "/v1/agreements"): lambda mx, c, t, a: ("/v1/agreements", {
        "provider": "ville", "consumer": "tiers", "collection": "social_aid", "fields": ["first_name"],
        "purposes": ["statistics"], "legal_basis": "deliberation 24/002", "valid_from": "2020-01-01",
        "valid_until": "2099-12-31"}, None),
    ("GET", "/v1/agreements"): lambda mx, c, t, a: ("/v1/agreements", NOBODY, None),
    ("GET", "/v1/agreements/{id}"): lambda mx, c, t, a: (f"/v1/agreements/{mx.agreement_id}", NOBODY, None),
    ("POST", "/v1/agreements/{id}/suspend"): lambda mx, c, t, a: (
        f"/v1/agreements/{mx.new_agreement() if a else mx.agreement_id}/suspend", NOBODY, None),
    ("POST", "/v1/agreements/{id}/resume"): lambda mx, c, t, a: (
        f"/v1/agreements/{mx.new_agreement() if a else mx.agreement_id}/resume", NOBODY, None),
    ("POST", "/v1/agreements/{id}/revoke"): lambda mx, c, t, a: (
        f"/v1/agreements/{mx.new_agreement() if a else mx.agreement_id}/revoke", NOBODY, None),
    ("GET", "/v1/orgs/{org}/agreements"): org_req(lambda mx, c, t, a: (
        f"/v1/orgs/{t.org}/agreements", NOBODY, None)),
    ("GET", "/v1/reports/flows"): lambda mx, c, t, a: ("/v1/reports/flows", NOBODY, None),
    ("GET", "/v1/orgs/{org}/disposals"): org_req(lambda mx, c, t, a: (f"/v1/orgs/{t.org}/disposals", NOBODY, None)),
    ("GET", "/v1/orgs/{org}/dataset"): org_req(lambda mx, c, t, a: (
        f"/v1/orgs/{t.org}/dataset?pseudonymize=true", NOBODY, None)),
    # an empty dataset: importing it twice changes nothing, so every allowed cell may
    ("POST", "/v1/orgs/{org}/dataset"): org_req(lambda mx, c, t, a: (f"/v1/orgs/{t.org}/dataset", EMPTY_DATASET, None)),
    # one organization named, ville: its members read their own, autre's security manager is refused
    ("GET", "/v1/reports/processing"): lambda mx, c, t, a: ("/v1/reports/processing?org=ville", NOBODY, None),
    ("PUT", "/v1/orgs/{org}/commitment"): org_req(lambda mx, c, t, a: (
        f"/v1/orgs/{t.org}/commitment", {"text": f"I keep {t.org}'s data confidential (matrix)."}, None)),
    ("GET", "/v1/orgs/{org}/commitment"): org_req(lambda mx, c, t, a: (
        f"/v1/orgs/{t.org}/commitment", NOBODY, None)),
    ("GET", "/v1/me/commitment"): lambda mx, c, t, a: ("/v1/me/commitment", NOBODY, None),
    ("POST", "/v1/me/commitment/accept"): lambda mx, c, t, a: (
        "/v1/me/commitment/accept", {"version": commitment_version(mx, c)}, None),
}


def test_every_table_route_has_a_request():
    assert set(TABLE) == set(REQUESTS), set(TABLE) ^ set(REQUESTS)


def cell_id(cell):
    method, path, caller, target = cell
    return f"{method} {path} | {caller}" + ("" if target == "-" else f" | {target}")


@pytest.mark.parametrize("cell", CELLS, ids=[cell_id(c) for c in CELLS])
def test_cell(mx, cell):
    method, path, caller, target = cell
    want = TABLE[(method, path)][(caller, target)]
    allowed = isinstance(want, int)
    url, body, purpose = REQUESTS[(method, path)](mx, caller, target, allowed)
    client = mx.client_for(caller, fresh_session=(path == "/v1/auth/logout" and allowed))
    kw = {"purpose": purpose}
    r = client.request(method, url, **kw) if body is NOBODY else client.request(method, url, body, **kw)
    if (method, path) == ("PUT", "/v1/orgs/{org}/commitment") and r.status_code == 200:
        # a new version: everyone of that organization accepts it, or their personal-data cells would change
        mx.accept_all(mx.t[target].org, r.json()["version"])
    where = f"[{caller} -> {method} {url}" + ("" if target == "-" else f" ({target})") + "]"
    if allowed:
        assert r.status_code == want, f"{where} expected {want}, got {r.status_code} {r.text[:300]!r}"
        if want == 204:
            assert r.content == b"", where
        elif r.headers.get("Content-Type", "").startswith("application/json"):
            assert isinstance(r.json(), (dict, list)), where
        else:
            assert r.text, where
    else:
        status, slug = want
        assert r.status_code == status, f"{where} expected {status} {slug}, got {r.status_code} {r.text[:300]!r}"
        assert_problem(r, status, slug)
