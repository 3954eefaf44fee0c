"""CLI smoke test: the client commands against a real daemon, configured
through COFFRE_ADDR / COFFRE_TOKEN / COFFRE_CACERT (and a config file)."""

import json
import subprocess

import pytest

from conftest import (AGENT_GRANTS, COFFRE_BIN, SOCIAL_AID, daemon_env, format_nid, next_nid, password_for,
                      record_fields)

P = "social-aid"


class Cli:
    def __init__(self, daemon, tmp):
        self.daemon = daemon
        self.tmp = tmp
        (tmp / "xdg").mkdir(exist_ok=True)

    def env(self, token=None, **extra):
        e = daemon_env({"HOME": str(self.tmp), "XDG_CONFIG_HOME": str(self.tmp / "xdg"),
                        "COFFRE_ADDR": self.daemon.url, "COFFRE_CACERT": self.daemon.ca_cert})
        if token:
            e["COFFRE_TOKEN"] = token
        e.update(extra)
        return {k: v for k, v in e.items() if v is not None}

    def run(self, *args, token=None, input=None, env=None, check=None):
        r = subprocess.run([COFFRE_BIN, *args], capture_output=True, timeout=60, input=input,
                           env=env if env is not None else self.env(token))
        r.out = r.stdout.decode(errors="replace")
        r.err = r.stderr.decode(errors="replace")
        if check is not None:
            assert r.returncode == check, f"coffre {' '.join(args)} -> {r.returncode}\n{r.out}\n{r.err}"
        return r

    def json(self, *args, **kw):
        r = self.run(*args, "--json", check=0, **kw)
        return json.loads(r.stdout)

    def file(self, name, content):
        p = self.tmp / name
        p.write_text(content if isinstance(content, str) else json.dumps(content))
        p.chmod(0o600)
        return str(p)

    def login(self, user, password, org=None):
        pw = self.file(f"pw_{user}", password + "\n")
        args = ["login", "--user", user, "--password-file", pw]
        if org:
            args += ["--org", org]
        r = self.run(*args, check=0)
        token = r.out.strip()
        assert token.startswith("cft_"), r.out
        return token


@pytest.fixture(scope="module")
def cli(daemon, tmp_path_factory):
    return Cli(daemon, tmp_path_factory.mktemp("cli"))


def test_help(cli):
    r = cli.run("--help", check=0)
    for noun in ("login", "org", "user", "collection", "grant", "record", "subject"):
        assert noun in r.out
    r = cli.run("org", "--help", check=0)
    assert "create" in r.out
    cli.run("record", "create", "--help", check=0)
    cli.run("subject", "lookup", "--help", check=0)


@pytest.mark.parametrize("args", [
    ["frobnicate"],
    ["org", "frobnicate"],
    ["org", "create"],
    ["org", "create", "x", "--no-such-option"],
    ["user", "add", "someone"],
    ["record", "get", "r_x", "--org", "o", "--collection", "c"],
], ids=["noun", "verb", "missing-arg", "unknown-option", "missing-required", "missing-purpose"])
def test_bad_usage_exits_2(cli, args):
    r = cli.run(*args, token="cft_x")
    assert r.returncode == 2, (r.returncode, r.out, r.err)


def test_national_id_never_from_argv(cli):
    nid = next_nid()
    r = cli.run("subject", "lookup", "--org", "o", "--purpose", P, "--national-id", nid, token="cft_x")
    assert r.returncode == 2
    assert nid not in r.out and nid not in r.err


def test_http_addr_refused(cli):
    r = cli.run("me", env=cli.env("cft_x", COFFRE_ADDR=f"http://127.0.0.1:{cli.daemon.port}"))
    assert r.returncode == 2, (r.returncode, r.err)
    r = cli.run("me", "--addr", f"http://127.0.0.1:{cli.daemon.port}", token="cft_x")
    assert r.returncode == 2, (r.returncode, r.err)


def test_wrong_ca_and_unreachable(cli):
    r = cli.run("health", env=cli.env(COFFRE_CACERT="/etc/ssl/certs/ca-certificates.crt"))
    assert r.returncode == 3, (r.returncode, r.err)
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    r = cli.run("health", env=cli.env(COFFRE_ADDR=f"https://127.0.0.1:{port}"))
    assert r.returncode == 3, (r.returncode, r.err)


def test_end_to_end(cli):
    d = cli.daemon
    cli.run("health", check=0)

    # admin: login (password from a file, then from stdin), org, security manager
    admin = cli.login(d.admin_user, d.admin_password)
    r = cli.run("login", "--user", d.admin_user, "--json", input=(d.admin_password + "\n").encode(), check=0)
    ans = json.loads(r.stdout)
    assert set(ans) == {"token", "expires_at", "username", "org", "roles"}
    assert ans["token"].startswith("cft_") and ans["org"] is None

    assert cli.json("org", "create", "clio", "--name", "CLI organization", token=admin) == \
        {"id": "clio", "name": "CLI organization"}
    assert cli.run("org", "create", "clio", "--name", "again", token=admin).returncode == 1
    r = cli.run("org", "list", token=admin, check=0)
    assert "clio" in r.out
    pw = cli.file("pw_new_sm", password_for("sm_clio") + "\n")
    assert cli.json("user", "add", "sm_clio", "--org", "clio", "--role", "security_manager",
                    "--password-file", pw, token=admin) == \
        {"username": "sm_clio", "org": "clio", "roles": ["security_manager"], "blocked": False}

    # security manager: collection, grants, an agent
    sm = cli.login("sm_clio", password_for("sm_clio"), "clio")
    me = cli.json("me", token=sm)
    assert me == {"username": "sm_clio", "org": "clio", "roles": ["security_manager"], "auth_method": "password"}
    coll = cli.file("social_aid.json", SOCIAL_AID)
    ans = cli.json("collection", "apply", coll, "--org", "clio", token=sm)
    assert ans["name"] == "social_aid" and ans["version"] == 1
    grants = cli.file("agent-grants.json", AGENT_GRANTS)
    ans = cli.json("grant", "set", grants, "--org", "clio", "--role", "agent", token=sm)
    assert ans["role"] == "agent" and len(ans["grants"]) == 1
    pw = cli.file("pw_new_agent", password_for("agent_clio") + "\n")
    cli.run("user", "add", "agent_clio", "--org", "clio", "--role", "agent", "--password-file", pw,
            token=sm, check=0)

    # agent: records and lookup; the national id only ever travels in files / stdin
    agent = cli.login("agent_clio", password_for("agent_clio"), "clio")
    nid = next_nid()
    nid_file = cli.file("nid", format_nid(nid) + "\n")
    fields = record_fields(first_name="Clio")
    fields_file = cli.file("fields.json", fields)
    created = cli.json("record", "create", "--org", "clio", "--collection", "social_aid", "--purpose", P,
                       "--national-id-file", nid_file, "--fields", "@" + fields_file, token=agent)
    assert set(created) == {"id", "subject", "collection", "version", "created_at"}
    assert created["version"] == 1
    rec = cli.json("record", "get", created["id"], "--org", "clio", "--collection", "social_aid",
                   "--purpose", P, token=agent)
    assert rec["fields"] == fields and rec["id"] == created["id"]
    r = cli.run("record", "get", created["id"], "--org", "clio", "--collection", "social_aid",
                "--purpose", P, token=agent, check=0)
    assert "Clio" in r.out

    found = cli.json("subject", "lookup", "--org", "clio", "--purpose", P, "--national-id-file", nid_file,
                     token=agent)
    assert found["subject"] == created["subject"]
    assert found["records"] == [{"collection": "social_aid", "id": created["id"], "version": 1}]
    r = cli.run("subject", "lookup", "--org", "clio", "--purpose", P, "--national-id", "-",
                input=(nid + "\n").encode(), token=agent, check=0)
    assert nid not in r.out and nid not in r.err
    assert created["id"] in r.out

    # refusals: exit 1 with the problem slug on stderr
    r = cli.run("record", "get", created["id"], "--org", "clio", "--collection", "social_aid",
                "--purpose", "marketing", token=agent)
    assert r.returncode == 1 and "purpose-not-allowed" in r.err, (r.returncode, r.err)
    assert "Clio" not in r.out
    r = cli.run("subject", "lookup", "--org", "clio", "--purpose", P, "--national-id-file",
                cli.file("nid2", next_nid()), token=agent)
    assert r.returncode == 1 and "not-found" in r.err
    r = cli.run("org", "list", token=agent)
    assert r.returncode == 1 and "forbidden" in r.err
    r = cli.run("me", token="cft_not_a_token")
    assert r.returncode == 1 and "unauthenticated" in r.err

    # a config file instead of the environment
    conf = cli.file("cli.conf", f"# test\naddr = {d.url}\ntoken = {agent}\ncacert = {d.ca_cert}\n")
    env = {k: v for k, v in cli.env().items() if k not in ("COFFRE_ADDR", "COFFRE_CACERT", "COFFRE_TOKEN")}
    r = cli.run("me", "--config", conf, "--json", env=env, check=0)
    assert json.loads(r.stdout)["username"] == "agent_clio"

    # the token is printed by login only
    for out in (r.out, r.err):
        assert agent not in out
    cli.run("logout", token=agent, check=0)
    assert cli.run("me", token=agent).returncode == 1
