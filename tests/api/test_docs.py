"""The configuration keys are documented: every key `coffre serve --help`
prints is in docs/configuration.md with the same default, and the reverse;
an unknown or out-of-range key stops start-up with an error naming it."""

import re
import subprocess

import pytest

from conftest import COFFRE_BIN, REPO, Daemon, daemon_env

CONTRACT_DEFAULTS = {
    "listen": "127.0.0.1:8443", "environment": "development", "max_body_bytes": "1048576",
    "connection_limit": "256", "per_ip_connection_limit": "32", "connection_timeout_seconds": "30",
    "threads": "32", "token_ttl_seconds": "28800", "login_max_failures": "5", "login_lockout_seconds": "900",
    "shutdown_grace_seconds": "10", "log_level": "info",
}


def serve_help_keys():
    r = subprocess.run([COFFRE_BIN, "serve", "--help"], capture_output=True, timeout=30, env=daemon_env())
    assert r.returncode == 0
    out = r.stdout.decode()
    keys = {}
    section = out.split("Configuration keys", 1)[1] if "Configuration keys" in out else out
    for line in section.splitlines():
        m = re.match(r"^\s+([a-z][a-z0-9_]+)\s+(\S+)\s", line)
        if m:
            keys[m.group(1)] = m.group(2)
    return keys


def doc_keys():
    text = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    return {m.group(1): m.group(2) for m in re.finditer(r"^\|\s*`([a-z][a-z0-9_]+)`\s*\|\s*`([^`]*)`", text, re.M)}


def test_every_key_documented_with_its_default():
    printed, documented = serve_help_keys(), doc_keys()
    assert printed, "serve --help printed no configuration key"
    assert printed == documented


def test_contract_keys_and_defaults():
    printed = serve_help_keys()
    for k, v in CONTRACT_DEFAULTS.items():
        assert printed.get(k) == v, k


@pytest.mark.parametrize("line,key", [
    ("no_such_key = 1", "no_such_key"),
    ("max_body_bytes = 12", "max_body_bytes"),
    ("threads = many", "threads"),
    ("log_level = loud", "log_level"),
])
def test_bad_configuration_stops_startup(tmp_path, line, key):
    d = Daemon(tmp_path).init()
    with open(d.data / "coffre.conf", "a") as f:
        f.write(line + "\n")
    r = subprocess.run([COFFRE_BIN, "serve", "--data", str(d.data), "--listen", "127.0.0.1:1"],
                       capture_output=True, timeout=30, env=daemon_env())
    assert r.returncode != 0
    err = r.stderr.decode(errors="replace")
    assert key in err and "coffre.conf" in err, err
