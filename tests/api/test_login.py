"""Login: uniform failures, lockout, token expiry, logout."""

import time

import pytest

from conftest import (assert_problem, assert_status, create_org, create_security_manager, create_user,
                      password_for, start_daemon, without_trace)

LOGIN = "/v1/auth/login"


@pytest.fixture(scope="module")
def org(daemon, admin):
    create_org(admin, "lg")
    sm = create_security_manager(daemon, admin, "lg", "sm_lg")
    for u in ("lena", "lucas", "lockme", "leo"):
        create_user(sm, "lg", u, ["agent"])
    return sm


def test_wrong_password(daemon, org):
    r = daemon.client().post(LOGIN, {"username": "lena", "password": "not-the-password", "org": "lg"})
    body = assert_problem(r, 401, "invalid-credentials")
    assert "token" not in body


def test_unknown_user_same_answer(daemon, org):
    c = daemon.client()
    wrong_pw = c.post(LOGIN, {"username": "lucas", "password": "not-the-password", "org": "lg"})
    unknown = c.post(LOGIN, {"username": "no_such_user_x", "password": "not-the-password", "org": "lg"})
    not_member = c.post(LOGIN, {"username": "lucas", "password": password_for("lucas"), "org": "nosuchorg"})
    a = assert_problem(wrong_pw, 401, "invalid-credentials")
    b = assert_problem(unknown, 401, "invalid-credentials")
    m = assert_problem(not_member, 401, "invalid-credentials")
    assert without_trace(a) == without_trace(b) == without_trace(m)
    assert a["trace_id"] != b["trace_id"]
    # nothing in the detail names the user
    for body in (a, b, m):
        assert "lucas" not in body.get("detail", "") and "no_such_user_x" not in body.get("detail", "")


def test_lockout_after_five_failures(daemon, org):
    c = daemon.client()
    for i in range(5):
        r = c.post(LOGIN, {"username": "lockme", "password": f"wrong-password-{i}", "org": "lg"})
        assert_problem(r, 401, "invalid-credentials")
    r = c.post(LOGIN, {"username": "lockme", "password": password_for("lockme"), "org": "lg"})
    body = assert_problem(r, 429, "account-locked")
    assert "token" not in body
    r = c.post(LOGIN, {"username": "lockme", "password": "wrong-again-123", "org": "lg"})
    assert_problem(r, 429, "account-locked")
    # other users are not affected
    assert_status(c.post(LOGIN, {"username": "leo", "password": password_for("leo"), "org": "lg"}), 200)


def test_success_resets_failure_count(daemon, org):
    c = daemon.client()
    for _ in range(4):
        assert_problem(c.post(LOGIN, {"username": "leo", "password": "wrong-password-x", "org": "lg"}),
                       401, "invalid-credentials")
    assert_status(c.post(LOGIN, {"username": "leo", "password": password_for("leo"), "org": "lg"}), 200)
    for _ in range(4):
        assert_problem(c.post(LOGIN, {"username": "leo", "password": "wrong-password-x", "org": "lg"}),
                       401, "invalid-credentials")
    assert_status(c.post(LOGIN, {"username": "leo", "password": password_for("leo"), "org": "lg"}), 200)


def test_login_answer_shape(daemon, org):
    r = daemon.client().post(LOGIN, {"username": "lena", "password": password_for("lena"), "org": "lg"})
    assert_status(r, 200)
    body = r.json()
    assert set(body) == {"token", "expires_at", "username", "org", "roles"}
    assert body["token"].startswith("cft_")
    assert (body["username"], body["org"], body["roles"]) == ("lena", "lg", ["agent"])


def test_logout_revokes(daemon, org):
    lena = daemon.login("lena", password_for("lena"), "lg")
    other = daemon.login("lena", password_for("lena"), "lg")
    assert_status(lena.get("/v1/me"), 200)
    r = lena.post("/v1/auth/logout")
    assert_status(r, 204)
    assert r.content == b""
    assert_problem(lena.get("/v1/me"), 401, "unauthenticated")
    assert_problem(lena.post("/v1/auth/logout"), 401, "unauthenticated")
    # only that session
    assert_status(other.get("/v1/me"), 200)


def test_logout_needs_authentication(daemon):
    assert_problem(daemon.client().post("/v1/auth/logout"), 401, "unauthenticated")


@pytest.mark.parametrize("auth", ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer cft_", "bearer x y",
                                  "Bearer cfk_nosuch.secret", "Bearer " + "a" * 5000])
def test_bad_authorization_headers(daemon, auth):
    r = daemon.client().get("/v1/me", headers={"Authorization": auth})
    assert_problem(r, 401, "unauthenticated")
    daemon.health_ok()


# ---- token expiry, on a daemon with a 2-second token lifetime --------------

@pytest.fixture(scope="module")
def short_ttl(tmp_path_factory):
    d = start_daemon(tmp_path_factory.mktemp("coffre-ttl"), {"token_ttl_seconds": 2})
    try:
        yield d
    finally:
        d.stop()


def test_token_expires(short_ttl):
    d = short_ttl
    admin = d.admin()
    assert_status(admin.get("/v1/me"), 200)
    time.sleep(3)
    assert_problem(admin.get("/v1/me"), 401, "token-expired")
    assert_problem(admin.get("/v1/orgs"), 401, "token-expired")
    # a fresh login works again
    assert_status(d.admin().get("/v1/me"), 200)
