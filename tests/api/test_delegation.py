"""Delegated administration (seed 004) end to end, line by line of the table
in docs/roles.md, with the allowed and the refused cases of each line.

One organization, ville, with two domains of activity: social (subdivisions
aide and logement) and population (subdivision etat-civil). Its managers:
sm_main (role security_manager: the main security manager), loc_social
(local manager of social), coloc_social (co-local manager of social,
appointed by loc_social), loc_pop (local manager of population), submgr
(subdivision manager of social/aide); ordinary members placed in domains
and subdivisions. A second organization, autre, with its own security
manager, for cross-organization attempts.

Every administrative act, allowed or refused, is an audit entry: each act a
test performs is remembered (its trace id, the action, the outcome), and the
last test reads the trail as an instance auditor and finds exactly one entry
per act with that action and outcome. Requests refused for their content
(400) or for naming nothing (404) are not acts and are not counted.
"""

import json

import pytest

from conftest import (SOCIAL_AID, _NO_BODY, assert_problem, assert_status, create_org, create_security_manager,
                      password_for)

ORG = "ville"
OTHER = "autre"


def users_path(org=ORG, username=None):
    return f"/v1/orgs/{org}/users" + ("" if username is None else f"/{username}")


def domain_path(domain, org=ORG, rest=""):
    return f"/v1/orgs/{org}/domains/{domain}{rest}"


class Act:
    def __init__(self, trace_id, action, outcome, what, org, target=None, domain=None):
        self.trace_id, self.action, self.outcome, self.what = trace_id, action, outcome, what
        self.org, self.target, self.domain = org, target, domain


class Deleg:
    """The organization and its managers; every administrative act goes through act()."""

    def __init__(self, daemon):
        self.d = daemon
        self.acts = []
        self.admin = daemon.admin()
        create_org(self.admin, ORG, "Ville test")
        create_org(self.admin, OTHER, "Autre test")
        self.sm = create_security_manager(daemon, self.admin, ORG, "sm_main")
        self.sm_autre = create_security_manager(daemon, self.admin, OTHER, "sm_autre")
        r = self.admin.post("/v1/users", {"username": "inspector", "password": password_for("inspector"),
                                          "roles": ["auditor"]})
        assert_status(r, 201)
        self.inspector = daemon.login("inspector", password_for("inspector"))

        # the main security manager defines the domains, a collection and the first subdivisions
        self.define(self.sm, "social", "Action sociale")
        self.define(self.sm, "population", "Population")
        self.define(self.sm_autre, "social", "Action sociale", org=OTHER)
        assert_status(self.sm.put(f"/v1/orgs/{ORG}/collections/social_aid", SOCIAL_AID), 200)
        self.subdivision(self.sm, "social", "aide", {"name": "Aide sociale", "collections": ["social_aid"]})
        self.subdivision(self.sm, "social", "logement", {"name": "Logement"})
        self.subdivision(self.sm, "population", "etat-civil", {"name": "Etat civil"})

        # the local managers: only the main security manager appoints them
        self.register(self.sm, "loc_social", ["manager"], "social")
        self.appoint(self.sm, "social", "loc_social", "local")
        self.register(self.sm, "loc_pop", ["manager"], "population")
        self.appoint(self.sm, "population", "loc_pop", "local")
        self.register(self.sm, "sm_second", ["security_manager"])
        self.loc = daemon.login("loc_social", password_for("loc_social"), ORG)
        self.loc_pop = daemon.login("loc_pop", password_for("loc_pop"), ORG)
        self.sm2 = daemon.login("sm_second", password_for("sm_second"), ORG)

        # the local manager of social appoints a co-local manager and a subdivision manager
        self.register(self.loc, "coloc_social", ["manager"], "social")
        self.appoint(self.loc, "social", "coloc_social", "co_local")
        self.register(self.loc, "submgr", ["manager"], "social", "aide")
        self.appoint(self.loc, "social", "submgr", "subdivision", sub="aide")
        self.coloc = daemon.login("coloc_social", password_for("coloc_social"), ORG)
        self.submgr = daemon.login("submgr", password_for("submgr"), ORG)

        # ordinary members
        self.register(self.loc, "u_aide", ["clerk"], "social", "aide")
        self.register(self.loc, "u_logement", ["clerk"], "social", "logement")
        self.register(self.loc, "u_social", ["clerk"], "social")
        self.register(self.loc_pop, "u_pop", ["clerk"], "population", "etat-civil")
        self.register(self.sm_autre, "u_autre", ["clerk"], "social", org=OTHER)
        self.u_aide = daemon.login("u_aide", password_for("u_aide"), ORG)

    # -- acts ------------------------------------------------------------
    def act(self, who, method, path, body, status, slug, action, org=ORG, target=None, domain=None):
        r = who.request(method, path, body)
        if slug is None:
            assert_status(r, status)
        else:
            assert_problem(r, status, slug)
        if 200 <= status < 300 or status == 403:
            self.acts.append(Act(r.headers["X-Request-Id"], action, "allowed" if status < 300 else "denied",
                                 f"{who.username} {method} {path} -> {status}", org, target, domain))
        return r

    def define(self, who, domain, name, status=200, slug=None, org=ORG):
        return self.act(who, "PUT", domain_path(domain, org), {"name": name}, status, slug, "domain.define", org,
                        domain=domain)

    def contact(self, who, domain, email, status=200, slug=None, org=ORG):
        return self.act(who, "PUT", domain_path(domain, org, "/contact"), {"email": email}, status, slug,
                        "domain.contact", org, domain=domain)

    def technical(self, who, domain, username, status=200, slug=None, org=ORG):
        return self.act(who, "PUT", domain_path(domain, org, "/technical-user"), {"username": username}, status,
                        slug, "domain.technical_user", org, domain=domain)

    def subdivision(self, who, domain, sub, body, status=200, slug=None, org=ORG):
        return self.act(who, "PUT", domain_path(domain, org, f"/subdivisions/{sub}"), body, status, slug,
                        "subdivision.manage", org, domain=domain)

    def appoint(self, who, domain, username, level, sub=None, status=200, slug=None, org=ORG):
        body = {"level": level}
        if sub is not None:
            body["subdivision"] = sub
        return self.act(who, "PUT", domain_path(domain, org, f"/managers/{username}"), body, status, slug,
                        "manager.appoint", org, target=username, domain=domain)

    def remove_manager(self, who, domain, username, status=204, slug=None, org=ORG):
        return self.act(who, "DELETE", domain_path(domain, org, f"/managers/{username}"), _NO_BODY, status, slug,
                        "manager.remove", org, target=username, domain=domain)

    def register(self, who, username, roles, domain=None, sub=None, status=201, slug=None, org=ORG, **extra):
        body = {"username": username, "password": password_for(username), "roles": roles, **extra}
        if domain is not None:
            body["domain"] = domain
        if sub is not None:
            body["subdivision"] = sub
        return self.act(who, "POST", users_path(org), body, status, slug, "user.create", org, target=username)

    def patch(self, who, username, body, status=200, slug=None, org=ORG):
        return self.act(who, "PATCH", users_path(org, username), body, status, slug, "user.update", org,
                        target=username)

    def delete(self, who, username, status=204, slug=None, org=ORG):
        return self.act(who, "DELETE", users_path(org, username), _NO_BODY, status, slug, "user.delete", org,
                        target=username)

    def search(self, who, query="", status=200, slug=None, org=ORG):
        path = users_path(org) + (f"?{query}" if query else "")
        r = who.get(path)
        if slug is None:
            assert_status(r, status)
        else:
            assert_problem(r, status, slug)
        if status == 403:  # reads that change nothing are audited when refused
            self.acts.append(Act(r.headers["X-Request-Id"], "user.search", "denied",
                                 f"{who.username} GET {path} -> 403", org))
        return r

    # -- reading ---------------------------------------------------------
    def member(self, username, org=ORG):
        sm = self.sm if org == ORG else self.sm_autre
        r = sm.get(users_path(org, username))
        assert_status(r, 200)
        return r.json()

    def domains(self):
        r = self.sm.get(f"/v1/orgs/{ORG}/domains")
        assert_status(r, 200)
        return {d["id"]: d for d in r.json()["domains"]}

    def login_status(self, username, org=ORG):
        return self.d.client().post("/v1/auth/login", {"username": username, "password": password_for(username),
                                                       "org": org})


@pytest.fixture(scope="module")
def o(daemon):
    return Deleg(daemon)


# --------------------------------------------------------------------------
# The structure the setup built
# --------------------------------------------------------------------------

def test_setup_places_everyone(o):
    doms = o.domains()
    assert set(doms) == {"social", "population"}
    assert doms["social"]["name"] == "Action sociale"
    subs = {s["id"]: s for s in doms["social"]["subdivisions"]}
    assert subs["aide"] == {"id": "aide", "domain": "social", "name": "Aide sociale", "blocked": False,
                            "collections": ["social_aid"]}
    assert subs["logement"]["collections"] == []
    assert [s["id"] for s in doms["population"]["subdivisions"]] == ["etat-civil"]
    assert o.member("loc_social") == {"username": "loc_social", "org": ORG, "roles": ["manager"], "blocked": False,
                                      "domain": "social", "admin_level": "local"}
    assert o.member("coloc_social")["admin_level"] == "co_local"
    sub = o.member("submgr")
    assert (sub["domain"], sub["subdivision"], sub["admin_level"]) == ("social", "aide", "subdivision")
    u = o.member("u_pop")
    assert (u["domain"], u["subdivision"], u.get("admin_level")) == ("population", "etat-civil", None)
    assert "domain" not in o.member("sm_main")


# --------------------------------------------------------------------------
# domain.define: main security manager only
# --------------------------------------------------------------------------

def test_domain_define_main_only(o):
    r = o.define(o.sm, "culture", "Culture")
    assert r.json() == {"id": "culture", "name": "Culture", "contact_email": None, "technical_user": None}
    r = o.define(o.sm, "culture", "Culture et loisirs")  # renaming keeps the id
    assert r.json()["name"] == "Culture et loisirs"
    for who in (o.loc, o.coloc, o.submgr, o.u_aide, o.loc_pop):
        o.define(who, "sport", "Sport", 403, "forbidden")
        o.define(who, "social", "Renamed", 403, "forbidden")
    assert "sport" not in o.domains() and o.domains()["social"]["name"] == "Action sociale"
    # the instance administrator does not run an organization
    o.define(o.admin, "sport", "Sport", 403, "forbidden")
    assert_problem(o.sm.put(domain_path("Bad Id"), {"name": "x"}), 400, "invalid-value")
    assert_problem(o.sm.put(domain_path("sport"), {"name": ""}), 400, "invalid-value")


# --------------------------------------------------------------------------
# manager.local: only the main security manager appoints, blocks, removes local managers
# --------------------------------------------------------------------------

def test_only_main_appoints_local_managers(o):
    o.register(o.sm, "cand_local", ["manager"], "population")
    for who in (o.loc, o.coloc, o.submgr, o.loc_pop):
        o.appoint(who, "social", "cand_local", "local", status=403, slug="forbidden")
        o.appoint(who, "population", "cand_local", "local", status=403, slug="forbidden")
    assert "admin_level" not in o.member("cand_local")
    r = o.appoint(o.sm, "population", "cand_local", "local")
    assert (r.json()["domain"], r.json()["admin_level"]) == ("population", "local")
    # block / unblock / remove a local manager: main only (loc_pop is of the same level)
    o.patch(o.loc_pop, "cand_local", {"blocked": True}, 403, "forbidden")
    o.patch(o.loc, "cand_local", {"blocked": True}, 403, "forbidden")
    o.remove_manager(o.loc_pop, "population", "cand_local", 403, "forbidden")
    r = o.patch(o.sm, "cand_local", {"blocked": True})
    assert r.json()["blocked"] is True
    assert_problem(o.login_status("cand_local"), 403, "account-blocked")
    o.patch(o.sm, "cand_local", {"blocked": False})
    assert_status(o.login_status("cand_local"), 200)
    o.remove_manager(o.sm, "population", "cand_local")
    m = o.member("cand_local")
    assert "admin_level" not in m and m["domain"] == "population"
    # removing someone who manages nothing there: not found
    assert_problem(o.sm.delete(domain_path("population", rest="/managers/cand_local")), 404, "not-found")
    assert_problem(o.sm.put(domain_path("social", rest="/managers/cand_local"), {"level": "chief"}), 400,
                   "invalid-value")
    assert_problem(o.sm.put(domain_path("social", rest="/managers/cand_local"),
                            {"level": "local", "subdivision": "aide"}), 400, "invalid-value")
    assert_problem(o.sm.put(domain_path("social", rest="/managers/nobody"), {"level": "local"}), 404,
                   "not-found")


# --------------------------------------------------------------------------
# manager.co_local: the local manager in their domain; not the co-local manager
# --------------------------------------------------------------------------

def test_local_appoints_and_removes_co_local(o):
    o.register(o.loc, "coloc2", ["manager"], "social")
    o.register(o.loc, "coloc3", ["manager"], "social")
    # a co-local manager does not appoint co-local managers
    o.appoint(o.coloc, "social", "coloc3", "co_local", status=403, slug="forbidden")
    o.appoint(o.submgr, "social", "coloc3", "co_local", status=403, slug="forbidden")
    # the local manager of population is outside social
    o.appoint(o.loc_pop, "social", "coloc3", "co_local", status=403, slug="forbidden")
    assert "admin_level" not in o.member("coloc3")
    r = o.appoint(o.loc, "social", "coloc2", "co_local")
    assert (r.json()["domain"], r.json()["admin_level"]) == ("social", "co_local")
    # nor does the local manager appoint co-local managers of another domain
    o.register(o.loc_pop, "cand_pop", ["manager"], "population")
    o.appoint(o.loc, "population", "cand_pop", "co_local", status=403, slug="forbidden")
    # block, unblock, remove: the local manager yes, the co-local manager (same level) no
    o.patch(o.coloc, "coloc2", {"blocked": True}, 403, "forbidden")
    o.remove_manager(o.coloc, "social", "coloc2", 403, "forbidden")
    o.remove_manager(o.loc_pop, "social", "coloc2", 403, "forbidden")
    o.patch(o.loc, "coloc2", {"blocked": True})
    assert_problem(o.login_status("coloc2"), 403, "account-blocked")
    o.patch(o.loc, "coloc2", {"blocked": False})
    o.remove_manager(o.loc, "social", "coloc2")
    assert "admin_level" not in o.member("coloc2")
    # the main security manager anywhere
    o.appoint(o.sm, "social", "coloc3", "co_local")
    o.remove_manager(o.sm, "social", "coloc3")


@pytest.mark.parametrize("level,sub", [("co_local", None), ("subdivision", "aide")])
def test_local_cannot_pull_a_member_out_of_another_domain(o, level, sub):
    """Appointing a member of population as a manager in social moves them out of a domain the local
    manager of social does not administer: refused, and they stay where they were."""
    username = f"pop_{level}"
    o.register(o.loc_pop, username, ["clerk"], "population", "etat-civil")
    o.appoint(o.loc, "social", username, level, sub=sub, status=403, slug="forbidden")
    m = o.member(username)
    assert (m["domain"], m.get("subdivision"), m.get("admin_level")) == ("population", "etat-civil", None)


# --------------------------------------------------------------------------
# subdivision.manage: local and co-local managers in their domain
# --------------------------------------------------------------------------

def test_subdivisions_by_local_and_co_local(o):
    r = o.subdivision(o.loc, "social", "jeunesse", {"name": "Jeunesse"})
    assert r.json() == {"id": "jeunesse", "domain": "social", "name": "Jeunesse", "blocked": False,
                        "collections": []}
    r = o.subdivision(o.loc, "social", "jeunesse", {"name": "Jeunesse et familles"})
    assert r.json()["name"] == "Jeunesse et familles"
    r = o.subdivision(o.coloc, "social", "jeunesse", {"name": "Jeunesse et familles", "collections": ["social_aid"]})
    assert r.json()["collections"] == ["social_aid"]
    # an unknown collection is refused for its content
    assert_problem(o.loc.put(domain_path("social", rest="/subdivisions/jeunesse"),
                             {"name": "Jeunesse", "collections": ["nope"]}), 400, "invalid-value")
    assert_problem(o.loc.put(domain_path("social", rest="/subdivisions/jeunesse"),
                             {"name": "Jeunesse", "blocked": "yes"}), 400, "wrong-type")
    r = o.subdivision(o.coloc, "social", "jeunesse",
                      {"name": "Jeunesse et familles", "collections": ["social_aid"], "blocked": True})
    assert r.json()["blocked"] is True and r.json()["collections"] == ["social_aid"]
    r = o.subdivision(o.loc, "social", "jeunesse",
                      {"name": "Jeunesse et familles", "collections": ["social_aid"], "blocked": False})
    assert r.json()["blocked"] is False
    o.subdivision(o.coloc, "social", "seniors", {"name": "Seniors"})
    # outside their domain, or below the level
    o.subdivision(o.loc, "population", "naturalisation", {"name": "Naturalisation"}, 403, "forbidden")
    o.subdivision(o.coloc, "population", "etat-civil", {"name": "Hijacked", "blocked": True}, 403, "forbidden")
    o.subdivision(o.submgr, "social", "aide", {"name": "Aide", "blocked": True}, 403, "forbidden")
    o.subdivision(o.u_aide, "social", "divers", {"name": "Divers"}, 403, "forbidden")
    o.subdivision(o.loc_pop, "social", "aide", {"name": "Hijacked"}, 403, "forbidden")
    # a subdivision of population cannot be taken over through social's path
    assert_problem(o.loc.put(domain_path("social", rest="/subdivisions/etat-civil"), {"name": "Hijacked"}), 400,
                   "invalid-value")
    doms = o.domains()
    subs = {s["id"]: s for d in doms.values() for s in d["subdivisions"]}
    assert subs["etat-civil"] == {"id": "etat-civil", "domain": "population", "name": "Etat civil",
                                  "blocked": False, "collections": []}
    assert subs["aide"]["name"] == "Aide sociale" and subs["aide"]["blocked"] is False
    assert "naturalisation" not in subs and "divers" not in subs
    # the main security manager anywhere
    o.subdivision(o.sm, "population", "naturalisation", {"name": "Naturalisation"})


# --------------------------------------------------------------------------
# manager.subdivision: local and co-local managers in their domain
# --------------------------------------------------------------------------

def test_subdivision_managers(o):
    o.register(o.loc, "sub_log", ["manager"], "social", "logement")
    o.register(o.loc, "sub_aide2", ["manager"], "social", "aide")
    r = o.appoint(o.coloc, "social", "sub_log", "subdivision", sub="logement")
    assert (r.json()["subdivision"], r.json()["admin_level"]) == ("logement", "subdivision")
    o.appoint(o.loc, "social", "sub_aide2", "subdivision", sub="aide")
    # a subdivision manager appoints nobody, even in their own subdivision
    o.register(o.submgr, "cand_sub", ["clerk"], "social", "aide")
    o.appoint(o.submgr, "social", "cand_sub", "subdivision", sub="aide", status=403, slug="forbidden")
    # other domain
    o.appoint(o.loc, "population", "u_pop", "subdivision", sub="etat-civil", status=403, slug="forbidden")
    o.appoint(o.coloc, "population", "u_pop", "subdivision", sub="etat-civil", status=403, slug="forbidden")
    # a subdivision of another domain through one's own domain's path
    assert_problem(o.loc.put(domain_path("social", rest="/managers/cand_sub"),
                             {"level": "subdivision", "subdivision": "etat-civil"}), 400, "invalid-value")
    assert "admin_level" not in o.member("cand_sub")
    # block and remove: local/co-local yes, a subdivision manager (same level) no
    o.patch(o.submgr, "sub_aide2", {"blocked": True}, 403, "forbidden")
    o.remove_manager(o.submgr, "social", "sub_aide2", 403, "forbidden")
    o.patch(o.coloc, "sub_aide2", {"blocked": True})
    o.patch(o.coloc, "sub_aide2", {"blocked": False})
    o.remove_manager(o.coloc, "social", "sub_aide2")
    m = o.member("sub_aide2")
    assert (m["domain"], m["subdivision"], m.get("admin_level")) == ("social", "aide", None)
    o.remove_manager(o.loc_pop, "social", "sub_log", 403, "forbidden")
    o.appoint(o.sm, "population", "u_pop", "subdivision", sub="etat-civil")
    o.remove_manager(o.sm, "population", "u_pop")


# --------------------------------------------------------------------------
# user.register
# --------------------------------------------------------------------------

def test_register_users_in_scope(o):
    r = o.register(o.loc, "reg_loc", ["clerk"], "social", "logement")
    assert r.json() == {"username": "reg_loc", "org": ORG, "roles": ["clerk"], "blocked": False, "domain": "social",
                        "subdivision": "logement"}
    o.register(o.coloc, "reg_coloc", ["clerk"], "social")
    r = o.register(o.submgr, "reg_sub", ["clerk"], "social", "aide", language="fr", email="reg.sub@ville.example")
    assert (r.json()["language"], r.json()["email"]) == ("fr", "reg.sub@ville.example")
    o.register(o.sm, "reg_sm", ["clerk"], "population", "etat-civil")
    o.register(o.sm, "reg_sm_nodom", ["clerk"])
    # a user for another domain, or for no domain at all, is outside a local manager's scope
    o.register(o.loc, "reg_x1", ["clerk"], "population", status=403, slug="forbidden")
    o.register(o.coloc, "reg_x2", ["clerk"], "population", "etat-civil", status=403, slug="forbidden")
    o.register(o.loc, "reg_x3", ["clerk"], status=403, slug="forbidden")
    o.register(o.loc_pop, "reg_x4", ["clerk"], "social", status=403, slug="forbidden")
    # a subdivision manager registers in their subdivision only
    o.register(o.submgr, "reg_x5", ["clerk"], "social", "logement", status=403, slug="forbidden")
    o.register(o.submgr, "reg_x6", ["clerk"], "social", status=403, slug="forbidden")
    o.register(o.submgr, "reg_x7", ["clerk"], "population", "etat-civil", status=403, slug="forbidden")
    # an ordinary member registers nobody
    o.register(o.u_aide, "reg_x8", ["clerk"], "social", "aide", status=403, slug="forbidden")
    for u in ("reg_x1", "reg_x2", "reg_x3", "reg_x4", "reg_x5", "reg_x6", "reg_x7", "reg_x8"):
        assert_problem(o.sm.get(users_path(username=u)), 404, "not-found")
        assert_problem(o.login_status(u), 401, "invalid-credentials")
    # content errors
    assert_problem(o.loc.post(users_path(), {"username": "reg_bad", "password": password_for("reg_bad"),
                                             "roles": ["clerk"], "domain": "social", "subdivision": "etat-civil"}),
                   400, "invalid-value")
    assert_problem(o.loc.post(users_path(), {"username": "reg_bad", "password": password_for("reg_bad"),
                                             "roles": ["clerk"], "subdivision": "aide"}), 400, "invalid-value")
    assert_problem(o.loc.post(users_path(), {"username": "reg_bad", "password": password_for("reg_bad"),
                                             "roles": ["clerk"], "domain": "social", "email": "not-an-email"}),
                   400, "invalid-value")


# --------------------------------------------------------------------------
# user.authorize, user.attributes, user.block, user.delete
# --------------------------------------------------------------------------

def test_assign_and_withdraw_roles(o):
    r = o.patch(o.loc, "u_aide", {"roles": ["clerk", "agent"]})
    assert sorted(r.json()["roles"]) == ["agent", "clerk"]
    r = o.patch(o.coloc, "u_aide", {"roles": ["clerk"]})
    assert r.json()["roles"] == ["clerk"]
    r = o.patch(o.submgr, "u_aide", {"roles": ["clerk", "reception"]})
    assert sorted(r.json()["roles"]) == ["clerk", "reception"]
    o.patch(o.submgr, "u_aide", {"roles": ["clerk"]})
    o.patch(o.submgr, "u_logement", {"roles": ["agent"]}, 403, "forbidden")
    o.patch(o.submgr, "u_social", {"roles": ["agent"]}, 403, "forbidden")
    o.patch(o.loc, "u_pop", {"roles": ["agent"]}, 403, "forbidden")
    o.patch(o.coloc, "u_pop", {"roles": ["agent"]}, 403, "forbidden")
    o.patch(o.loc_pop, "u_logement", {"roles": ["agent"]}, 403, "forbidden")
    o.patch(o.u_aide, "u_logement", {"roles": ["agent"]}, 403, "forbidden")
    assert o.member("u_logement")["roles"] == ["clerk"] and o.member("u_pop")["roles"] == ["clerk"]
    o.patch(o.sm, "u_pop", {"roles": ["clerk", "agent"]})
    o.patch(o.sm, "u_pop", {"roles": ["clerk"]})


def test_attributes(o):
    r = o.patch(o.loc, "u_logement", {"language": "nl", "email": "u.logement@ville.example"})
    assert (r.json()["language"], r.json()["email"]) == ("nl", "u.logement@ville.example")
    r = o.patch(o.submgr, "u_aide", {"language": "fr"})
    assert r.json()["language"] == "fr"
    r = o.patch(o.coloc, "u_aide", {"email": "u.aide@ville.example"})
    assert (r.json()["language"], r.json()["email"]) == ("fr", "u.aide@ville.example")
    o.patch(o.submgr, "u_logement", {"language": "de"}, 403, "forbidden")
    o.patch(o.loc, "u_pop", {"email": "x@ville.example"}, 403, "forbidden")
    o.patch(o.loc_pop, "u_aide", {"language": "de"}, 403, "forbidden")
    assert o.member("u_logement")["language"] == "nl" and "email" not in o.member("u_pop")
    assert_problem(o.loc.patch(users_path(username="u_aide"), {"language": "f r"}), 400, "invalid-value")
    assert_problem(o.loc.patch(users_path(username="u_aide"), {"email": "nope"}), 400, "invalid-value")
    assert_problem(o.loc.patch(users_path(username="u_aide"), {"language": "fr", "blocked": True}), 400,
                   "invalid-value")
    o.patch(o.sm, "u_pop", {"language": "fr"})


def test_block_and_unblock(o):
    o.register(o.loc, "u_blk", ["clerk"], "social", "aide")
    blk = o.d.login("u_blk", password_for("u_blk"), ORG)
    o.patch(o.submgr, "u_blk", {"blocked": True})
    assert_problem(blk.get("/v1/me"), 403, "account-blocked")
    assert_problem(o.login_status("u_blk"), 403, "account-blocked")
    o.patch(o.loc, "u_blk", {"blocked": False})
    assert_status(o.login_status("u_blk"), 200)
    o.patch(o.coloc, "u_blk", {"blocked": True})
    o.patch(o.coloc, "u_blk", {"blocked": False})
    # outside the scope
    o.patch(o.submgr, "u_logement", {"blocked": True}, 403, "forbidden")
    o.patch(o.loc, "u_pop", {"blocked": True}, 403, "forbidden")
    o.patch(o.loc_pop, "u_blk", {"blocked": True}, 403, "forbidden")
    assert o.member("u_pop")["blocked"] is False and o.member("u_logement")["blocked"] is False
    assert_status(o.login_status("u_blk"), 200)


def test_delete_users(o):
    for u, sub in (("del1", "aide"), ("del2", "logement"), ("del3", None), ("del4", "aide")):
        o.register(o.loc, u, ["clerk"], "social", sub)
    o.register(o.loc_pop, "del_pop", ["clerk"], "population")
    o.delete(o.submgr, "del2", 403, "forbidden")
    o.delete(o.submgr, "del3", 403, "forbidden")
    o.delete(o.loc, "del_pop", 403, "forbidden")
    o.delete(o.coloc, "del_pop", 403, "forbidden")
    o.delete(o.loc_pop, "del1", 403, "forbidden")
    o.delete(o.u_aide, "del4", 403, "forbidden")
    r = o.delete(o.submgr, "del1")
    assert r.content == b""
    o.delete(o.loc, "del2")
    o.delete(o.coloc, "del3")
    o.delete(o.sm, "del_pop")
    for u in ("del1", "del2", "del3", "del_pop"):
        assert_problem(o.sm.get(users_path(username=u)), 404, "not-found")
        assert_problem(o.login_status(u), 401, "invalid-credentials")
    assert o.member("del4")["username"] == "del4"
    assert_problem(o.loc.delete(users_path(username="del1")), 404, "not-found")


# --------------------------------------------------------------------------
# user.search: only users within the caller's scope
# --------------------------------------------------------------------------

def names(r):
    return {u["username"] for u in r.json()["users"]}


def test_search_within_scope(o):
    every = o.search(o.sm).json()["users"]
    assert {"sm_main", "loc_social", "u_pop", "u_aide", "u_logement"} <= {u["username"] for u in every}
    pop = o.search(o.sm, "domain=population").json()["users"]
    assert pop and all(u["domain"] == "population" for u in pop)
    assert "u_pop" in {u["username"] for u in pop} and "u_aide" not in {u["username"] for u in pop}

    for who in (o.loc, o.coloc):
        r = o.search(who)
        got = r.json()["users"]
        assert got and all(u.get("domain") == "social" for u in got), got
        assert {"loc_social", "coloc_social", "submgr", "u_aide", "u_logement", "u_social"} <= names(r)
        assert not names(r) & {"u_pop", "sm_main", "loc_pop"}
        assert names(o.search(who, "domain=social&subdivision=aide")) >= {"u_aide", "submgr"}
        o.search(who, "domain=population", 403, "forbidden")
        o.search(who, "domain=population&subdivision=etat-civil", 403, "forbidden")
    # q filters by username, inside the scope
    r = o.search(o.loc, "q=u_")
    assert names(r) >= {"u_aide", "u_logement", "u_social"} and "u_pop" not in names(r)
    assert all("u_" in n for n in names(r))

    r = o.search(o.submgr)
    got = r.json()["users"]
    assert got and all(u.get("subdivision") == "aide" for u in got), got
    assert {"u_aide", "submgr"} <= names(r) and not names(r) & {"u_logement", "u_social", "loc_social"}
    o.search(o.submgr, "subdivision=logement", 403, "forbidden")
    o.search(o.submgr, "domain=social&subdivision=logement", 403, "forbidden")
    o.search(o.submgr, "domain=population&subdivision=etat-civil", 403, "forbidden")

    r = o.search(o.loc_pop)
    assert "u_pop" in names(r) and "u_aide" not in names(r)
    o.search(o.loc_pop, "domain=social", 403, "forbidden")
    # an ordinary member searches nobody; neither does the instance administrator
    o.search(o.u_aide, "", 403, "forbidden")
    o.search(o.admin, "", 403, "forbidden")
    # looking one user up follows the same scope
    assert_status(o.loc.get(users_path(username="u_aide")), 200)
    assert_problem(o.loc.get(users_path(username="u_pop")), 403, "forbidden")
    assert_problem(o.submgr.get(users_path(username="u_logement")), 403, "forbidden")
    assert_status(o.submgr.get(users_path(username="u_aide")), 200)


def test_subdivision_manager_asking_for_another_domain_is_refused(o):
    """domain=population from a subdivision manager of social/aide leaves their scope like it does for a
    local manager: 403, not an empty list (population has members)."""
    o.search(o.submgr, "domain=population", 403, "forbidden")


# --------------------------------------------------------------------------
# domain.technical_user and domain.contact
# --------------------------------------------------------------------------

def test_technical_user_designation(o):
    o.register(o.loc, "tech_social", ["technical"], "social")
    o.register(o.loc, "plain_social", ["clerk"], "social")
    o.register(o.loc_pop, "tech_pop", ["technical"], "population")
    r = o.technical(o.loc, "social", "tech_social")
    assert r.json()["technical_user"] == "tech_social"
    o.technical(o.coloc, "social", "tech_social")
    # the user must hold the technical role and belong to the domain
    for who in (o.loc, o.coloc):
        assert_problem(who.put(domain_path("social", rest="/technical-user"), {"username": "plain_social"}), 400,
                       "invalid-value")
        assert_problem(who.put(domain_path("social", rest="/technical-user"), {"username": "tech_pop"}), 400,
                       "invalid-value")
    assert_problem(o.sm.put(domain_path("population", rest="/technical-user"), {"username": "tech_social"}), 400,
                   "invalid-value")
    assert_problem(o.loc.put(domain_path("social", rest="/technical-user"), {"username": "nobody"}), 404,
                   "not-found")
    # outside the domain or below the level
    o.technical(o.loc, "population", "tech_pop", 403, "forbidden")
    o.technical(o.coloc, "population", "tech_pop", 403, "forbidden")
    o.technical(o.submgr, "social", "tech_social", 403, "forbidden")
    o.technical(o.u_aide, "social", "tech_social", 403, "forbidden")
    assert o.domains()["population"].get("technical_user") is None
    o.technical(o.loc_pop, "population", "tech_pop")
    o.technical(o.sm, "population", "tech_pop")
    doms = o.domains()
    assert doms["social"]["technical_user"] == "tech_social"
    assert doms["population"]["technical_user"] == "tech_pop"


def test_domain_contact(o):
    r = o.contact(o.loc, "social", "social@ville.example")
    assert r.json()["contact_email"] == "social@ville.example"
    o.contact(o.coloc, "social", "action.sociale@ville.example")
    o.contact(o.loc, "population", "pop@ville.example", 403, "forbidden")
    o.contact(o.coloc, "population", "pop@ville.example", 403, "forbidden")
    o.contact(o.submgr, "social", "sub@ville.example", 403, "forbidden")
    o.contact(o.u_aide, "social", "me@ville.example", 403, "forbidden")
    assert o.domains()["population"].get("contact_email") is None
    o.contact(o.sm, "population", "population@ville.example")
    assert_problem(o.loc.put(domain_path("social", rest="/contact"), {"email": "not an email"}), 400,
                   "invalid-value")
    doms = o.domains()
    assert doms["social"]["contact_email"] == "action.sociale@ville.example"
    assert doms["population"]["contact_email"] == "population@ville.example"


# --------------------------------------------------------------------------
# The rules beyond the table
# --------------------------------------------------------------------------

def test_nobody_changes_their_own_rights(o):
    o.patch(o.loc, "loc_social", {"language": "fr"}, 403, "forbidden")
    o.patch(o.loc, "loc_social", {"roles": ["manager", "agent"]}, 403, "forbidden")
    o.patch(o.coloc, "coloc_social", {"blocked": True}, 403, "forbidden")
    o.patch(o.submgr, "submgr", {"roles": ["agent"]}, 403, "forbidden")
    o.patch(o.sm, "sm_main", {"blocked": True}, 403, "forbidden")
    o.patch(o.sm, "sm_main", {"roles": ["security_manager", "dpo"]}, 403, "forbidden")
    o.delete(o.loc, "loc_social", 403, "forbidden")
    o.delete(o.sm, "sm_main", 403, "forbidden")
    o.appoint(o.loc, "social", "loc_social", "co_local", status=403, slug="forbidden")
    o.appoint(o.sm, "social", "sm_main", "local", status=403, slug="forbidden")
    o.remove_manager(o.loc, "social", "loc_social", 403, "forbidden")
    assert o.member("loc_social")["roles"] == ["manager"] and o.member("loc_social")["admin_level"] == "local"
    assert o.member("sm_main")["roles"] == ["security_manager"] and o.member("sm_main")["blocked"] is False
    assert "language" not in o.member("loc_social")


def test_no_action_on_equal_or_higher_managers(o):
    # co-local on local, local on local, subdivision on co-local, local on main
    o.patch(o.coloc, "loc_social", {"language": "fr"}, 403, "forbidden")
    o.patch(o.coloc, "loc_social", {"blocked": True}, 403, "forbidden")
    o.delete(o.coloc, "loc_social", 403, "forbidden")
    o.patch(o.loc, "loc_pop", {"language": "fr"}, 403, "forbidden")
    o.patch(o.submgr, "coloc_social", {"email": "x@ville.example"}, 403, "forbidden")
    o.patch(o.loc, "sm_main", {"language": "fr"}, 403, "forbidden")
    o.patch(o.loc, "sm_second", {"blocked": True}, 403, "forbidden")
    o.delete(o.loc, "sm_second", 403, "forbidden")
    o.appoint(o.loc, "social", "sm_second", "co_local", status=403, slug="forbidden")
    o.appoint(o.coloc, "social", "loc_social", "subdivision", sub="aide", status=403, slug="forbidden")
    # a local manager does act on the co-local and subdivision managers below them
    o.patch(o.loc, "coloc_social", {"language": "fr"})
    o.patch(o.loc, "submgr", {"language": "fr"})
    # main security managers also act on each other
    o.patch(o.sm, "sm_second", {"language": "nl"})
    o.patch(o.sm2, "sm_main", {"language": "fr"})
    assert o.member("sm_second")["language"] == "nl"
    assert o.member("loc_social").get("language") is None and o.member("loc_social")["blocked"] is False


def test_reserved_roles_only_from_the_main_security_manager(o):
    for role in ("security_manager", "auditor", "dpo"):
        for who in (o.loc, o.coloc):
            o.register(who, f"res_{role[:3]}_{who.username[:3]}", [role], "social", status=403, slug="forbidden")
            o.register(who, f"res2_{role[:3]}_{who.username[:3]}", ["clerk", role], "social", status=403,
                       slug="forbidden")
            o.patch(who, "u_social", {"roles": ["clerk", role]}, 403, "forbidden")
        o.register(o.submgr, f"res_{role[:3]}_sub", [role], "social", "aide", status=403, slug="forbidden")
        o.patch(o.submgr, "u_aide", {"roles": [role]}, 403, "forbidden")
    assert o.member("u_social")["roles"] == ["clerk"] and o.member("u_aide")["roles"] == ["clerk"]
    r = o.register(o.sm, "dpo_social", ["dpo"], "social")
    assert r.json()["roles"] == ["dpo"]
    o.patch(o.sm, "u_social", {"roles": ["clerk", "auditor"]})
    o.patch(o.sm, "u_social", {"roles": ["clerk"]})
    # withdrawing a reserved role is assigning a set without it: a local manager may not touch it either
    o.patch(o.loc, "dpo_social", {"roles": ["clerk"]}, 200)
    assert o.member("dpo_social")["roles"] == ["clerk"]


def test_cross_organization_attempts(o):
    a = o.sm_autre
    o.define(a, "intrus", "Intrus", 403, "wrong-organization")
    o.contact(a, "social", "x@autre.example", 403, "wrong-organization")
    o.technical(a, "social", "tech_social", 403, "wrong-organization")
    o.subdivision(a, "social", "aide", {"name": "Hijacked", "blocked": True}, 403, "wrong-organization")
    o.appoint(a, "social", "u_aide", "local", status=403, slug="wrong-organization")
    o.remove_manager(a, "social", "loc_social", 403, "wrong-organization")
    o.register(a, "intruder", ["clerk"], "social", status=403, slug="wrong-organization")
    o.patch(a, "u_aide", {"blocked": True}, 403, "wrong-organization")
    o.patch(a, "u_aide", {"roles": ["security_manager"]}, 403, "wrong-organization")
    o.delete(a, "u_aide", 403, "wrong-organization")
    o.search(a, "", 403, "wrong-organization")
    assert_problem(a.get(users_path(username="u_aide")), 403, "wrong-organization")
    # and the other way round: ville's managers in autre
    for who in (o.sm, o.loc):
        o.define(who, "intrus", "Intrus", 403, "wrong-organization", org=OTHER)
        o.register(who, "intruder2", ["clerk"], "social", status=403, slug="wrong-organization", org=OTHER)
        o.patch(who, "u_autre", {"language": "fr"}, 403, "wrong-organization", org=OTHER)
        o.delete(who, "u_autre", 403, "wrong-organization", org=OTHER)
        o.appoint(who, "social", "u_autre", "local", status=403, slug="wrong-organization", org=OTHER)
        o.search(who, "", 403, "wrong-organization", org=OTHER)
    assert o.member("u_aide")["blocked"] is False
    u = o.member("u_autre", org=OTHER)
    assert u["blocked"] is False and "language" not in u and "admin_level" not in u
    assert "intrus" not in o.domains()
    assert_problem(o.sm.get(users_path(username="intruder")), 404, "not-found")


# --------------------------------------------------------------------------
# The trail: one entry per act, with its action and outcome
# --------------------------------------------------------------------------

def read_trail(client):
    r = client.get("/v1/audit/checkpoint")
    assert_status(r, 200)
    size = int(r.text.split("\n")[1])
    entries, start = [], 0
    while start < size:
        end = min(size, start + 1000)
        r = client.get(f"/v1/audit/entries?start={start}&end={end}")
        assert_status(r, 200)
        page = r.json()["entries"]
        assert [e["index"] for e in page] == list(range(start, end))
        entries += [json.loads(e["entry"]) for e in page]
        start = end
    return entries


def test_every_act_is_audited(o):
    assert len(o.acts) > 150, "the tests above performed fewer acts than expected"
    by_trace = {}
    for e in read_trail(o.inspector):
        if e.get("trace_id"):
            by_trace.setdefault(e["trace_id"], []).append(e)
    problems = []
    for a in o.acts:
        got = by_trace.get(a.trace_id, [])
        if len(got) != 1:
            problems.append(f"{a.what}: {len(got)} entries for trace {a.trace_id}")
            continue
        e = got[0]
        if (e.get("action"), e.get("outcome")) != (a.action, a.outcome):
            problems.append(f"{a.what}: entry says {e.get('action')}/{e.get('outcome')}, "
                            f"expected {a.action}/{a.outcome}")
        if e.get("resource", {}).get("org") != a.org:
            problems.append(f"{a.what}: resource.org {e.get('resource')}")
        if a.target is not None and e.get("target") != a.target:
            problems.append(f"{a.what}: target {e.get('target')!r}")
        if a.domain is not None and e.get("domain") != a.domain:
            problems.append(f"{a.what}: domain {e.get('domain')!r}")
        if a.outcome == "denied" and not e.get("reason"):
            problems.append(f"{a.what}: a refusal without a reason")
        if a.outcome == "denied" and "role" in e.get("actor", {}):
            problems.append(f"{a.what}: a refusal names actor.role")
        # the trail names accounts by pseudonym, never by username
        if "sm_main" in json.dumps(e.get("actor", {})) or "loc_social" in json.dumps(e.get("actor", {})):
            problems.append(f"{a.what}: the actor is named by username")
    assert not problems, f"{len(problems)} of {len(o.acts)} acts badly audited:\n" + "\n".join(problems[:60])
    outcomes = {a.outcome for a in o.acts}
    actions = {a.action for a in o.acts}
    assert outcomes == {"allowed", "denied"}
    assert actions >= {"domain.define", "domain.contact", "domain.technical_user", "subdivision.manage",
                       "manager.appoint", "manager.remove", "user.create", "user.update", "user.delete",
                       "user.search"}
