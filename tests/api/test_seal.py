"""Passphrase-sealed vaults: the daemon starts sealed, answers only health
and unseal until an operator unseals it, and `coffre unseal` does it over
HTTPS. Also: the development key file is refused in production."""

import json
import subprocess
from pathlib import Path

import pytest
import requests

from conftest import (COFFRE_BIN, START_TIMEOUT, Daemon, assert_problem, assert_status, create_org, daemon_env)

PASSPHRASE = "a long and correct passphrase for the root key"


class SealedDaemon(Daemon):
    """A daemon whose vault was created with --passphrase-file."""

    def init(self):
        self.base.mkdir(parents=True, exist_ok=True)
        pf = self.base / "pass"
        pf.write_text(PASSPHRASE + "\n")
        r = subprocess.run([COFFRE_BIN, "init", "--data", str(self.data), "--passphrase-file", str(pf), "--json"],
                           capture_output=True, timeout=START_TIMEOUT, env=daemon_env())
        assert r.returncode == 0, r.stderr.decode(errors="replace")
        info = json.loads(r.stdout)
        assert info["root_key"] == "passphrase"
        self.info, self.ca_cert = info, info["ca_cert"]
        self.admin_user, self.admin_password = info["admin_user"], info["admin_password"]
        return self

    def start_sealed(self):
        """Like start(), but healthy means 503 sealed."""
        import time
        self.port = __import__("conftest").free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [COFFRE_BIN, "serve", "--data", str(self.data), "--listen", f"127.0.0.1:{self.port}"],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=daemon_env())
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log_tail()
            try:
                r = requests.get(self.url + "/v1/sys/health", verify=self.ca_cert, timeout=2)
                if r.status_code == 503:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise AssertionError("sealed daemon did not answer:\n" + self.log_tail())


@pytest.fixture(scope="module")
def sealed(tmp_path_factory):
    d = SealedDaemon(tmp_path_factory.mktemp("sealed"))
    d.init()
    d.start_sealed()
    try:
        yield d
    finally:
        d.stop()


def test_sealed_vault_refuses_everything_but_health_and_unseal(sealed):
    c = sealed.client()
    r = c.get("/v1/sys/health")
    assert_status(r, 503)
    body = r.json()
    assert body["status"] == "sealed" and body["sealed"] is True and body["version"]
    assert body["audit"]["status"] == "ok"
    # no root key file was written in passphrase mode
    assert not (sealed.data / "root.key").exists()
    assert (sealed.data / "seal.json").exists()
    assert_problem(c.post("/v1/auth/login", {"username": "admin", "password": sealed.admin_password}), 503,
                   "sealed")
    assert_problem(c.get("/v1/orgs"), 503, "sealed")
    # a wrong passphrase is refused and the vault stays sealed
    assert_problem(c.post("/v1/sys/unseal", {"passphrase": "not the passphrase at all"}), 401,
                   "invalid-credentials")
    assert_status(c.get("/v1/sys/health"), 503)
    assert_problem(c.post("/v1/sys/unseal", {"passphrase": PASSPHRASE, "extra": 1}), 400, "unknown-key")


def test_cli_unseal_then_service(sealed):
    env = daemon_env({"COFFRE_ADDR": sealed.url, "COFFRE_CACERT": sealed.ca_cert})
    pf = sealed.base / "pass"
    r = subprocess.run([COFFRE_BIN, "unseal", "--passphrase-file", str(pf)], capture_output=True, env=env,
                       timeout=START_TIMEOUT)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    r = sealed.client().get("/v1/sys/health")
    assert_status(r, 200)
    assert r.json()["sealed"] is False
    # unsealing again is harmless
    assert_status(sealed.client().post("/v1/sys/unseal", {"passphrase": PASSPHRASE}), 200)
    admin = sealed.admin()
    create_org(admin, "sealedorg")
    assert_status(admin.get("/v1/orgs/sealedorg"), 200)


def test_passphrase_file_too_short(tmp_path):
    pf = tmp_path / "short"
    pf.write_text("short\n")
    r = subprocess.run([COFFRE_BIN, "init", "--data", str(tmp_path / "d"), "--passphrase-file", str(pf)],
                       capture_output=True, env=daemon_env(), timeout=START_TIMEOUT)
    assert r.returncode == 2
    assert b"at least 12" in r.stderr
    assert not (tmp_path / "d" / "vault.db").exists()


def test_init_refuses_existing_vault(tmp_path):
    d = Daemon(tmp_path).init()
    r = subprocess.run([COFFRE_BIN, "init", "--data", str(d.data), "--dev"], capture_output=True,
                       env=daemon_env(), timeout=START_TIMEOUT)
    assert r.returncode == 1
    assert b"already holds a vault" in r.stderr


def test_production_refuses_dev_key_file(tmp_path):
    d = Daemon(tmp_path, {"environment": "production"}).init()
    r = subprocess.run([COFFRE_BIN, "serve", "--data", str(d.data), "--listen", "127.0.0.1:1"],
                       capture_output=True, env=daemon_env(), timeout=START_TIMEOUT)
    assert r.returncode != 0
    assert b"development key file is refused in production" in r.stderr


def test_init_creates_missing_parent_directories(tmp_path):
    data = tmp_path / "var" / "lib" / "coffre"
    r = subprocess.run([COFFRE_BIN, "init", "--data", str(data), "--dev", "--json"], capture_output=True,
                       env=daemon_env(), timeout=START_TIMEOUT)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    assert (data / "vault.db").exists() and (data / "keys.db").exists()
    assert (data.stat().st_mode & 0o777) == 0o700
