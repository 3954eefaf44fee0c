"""
Black-box API tests of coffre: shared fixtures and helpers.

Each test module gets its own daemon on a fresh temporary directory and a
free port: `coffre init --data DIR --dev --json`, optional configuration
overrides appended to DIR/coffre.conf, then `coffre serve`. Teardown sends
SIGTERM and asserts a clean exit 0. TLS is always verified against the CA
that init wrote (never verify=False).

The audit trail on disk is vault.db's `audit` table plus the frames of
DIR/audit.journal beyond it: audit_entries/audit_count read both
(parse_journal documents the frame format).

Environment:
  COFFRE_BIN       the binary (default /work/main/build/coffre)
  COFFRE_SANITIZE  1/ON/true when the binary is an ASan/UBSan build: longer
                   start-up and shutdown budgets.

Run: /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/api
"""

import hashlib
import itertools
import json
import os
import re
import secrets
import signal
import socket
import struct
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
COFFRE_BIN = os.environ.get("COFFRE_BIN", str(REPO / "build" / "coffre"))
SANITIZE = os.environ.get("COFFRE_SANITIZE", "").strip().lower() in ("1", "on", "true", "yes")
START_TIMEOUT = 120.0 if SANITIZE else 30.0
STOP_TIMEOUT = 60.0 if SANITIZE else 15.0
HTTP_TIMEOUT = 60.0 if SANITIZE else 30.0

PROBLEM_PREFIX = "urn:coffre:problem:"
HSTS = "max-age=63072000; includeSubDomains"
HEX32 = re.compile(r"^[0-9a-f]{32}$")
TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")

_NO_BODY = object()


# --------------------------------------------------------------------------
# National identifiers (Belgian national register numbers) for test subjects.
# --------------------------------------------------------------------------

def nid_check(first9, born_2000_or_later=False):
    n = int(("2" if born_2000_or_later else "") + first9)
    return 97 - (n % 97)


def make_nid(yy, mm, dd, seq, born_2000_or_later=False):
    """A valid 11-digit Belgian national register number."""
    first9 = f"{yy:02d}{mm:02d}{dd:02d}{seq:03d}"
    return first9 + f"{nid_check(first9, born_2000_or_later):02d}"


def format_nid(nid):
    """The usual printed form: YY.MM.DD-SSS.CC"""
    return f"{nid[0:2]}.{nid[2:4]}.{nid[4:6]}-{nid[6:9]}.{nid[9:11]}"


def invalid_nid(nid):
    """Same first 9 digits, check digits valid for neither century."""
    first9 = nid[:9]
    bad = {nid_check(first9, False), nid_check(first9, True)}
    cd = next(c for c in range(1, 98) if c not in bad)
    return first9 + f"{cd:02d}"


_nid_counter = itertools.count(1)


def next_nid():
    """A fresh valid national id, distinct across the whole run."""
    k = next(_nid_counter)
    day = 1 + (k // 900) % 28
    month = 1 + (k // (900 * 28)) % 12
    seq = 1 + k % 900
    return make_nid(72, month, day, seq)


def unique(prefix):
    return f"{prefix}{secrets.token_hex(4)}"


# --------------------------------------------------------------------------
# Problem details and response checks
# --------------------------------------------------------------------------

def _show(r):
    return f"{r.request.method} {r.request.path_url} -> {r.status_code} {r.text[:600]!r}"


def assert_status(r, status):
    assert r.status_code == status, f"expected {status}: {_show(r)}"


def assert_problem(r, status, slug):
    """Exact status, RFC 9457 body with the stable type, trace id echoed."""
    assert r.status_code == status, f"expected {status} {slug}: {_show(r)}"
    ctype = r.headers.get("Content-Type", "")
    assert ctype.split(";")[0].strip().lower() == "application/problem+json", \
        f"problem content type is {ctype!r}: {_show(r)}"
    body = r.json()
    assert body.get("type") == PROBLEM_PREFIX + slug, f"expected type {slug}: {_show(r)}"
    assert body.get("status") == status, _show(r)
    assert isinstance(body.get("title"), str) and body["title"], _show(r)
    if "detail" in body:
        assert isinstance(body["detail"], str), _show(r)
    assert isinstance(body.get("trace_id"), str) and HEX32.match(body["trace_id"]), _show(r)
    assert body["trace_id"] == r.headers.get("X-Request-Id"), _show(r)
    assert_std_headers(r)
    return body


def problem_text(r):
    """A problem answer's text without its trace id, for leak checks: the trace id is random hex, in
    which a short canary such as "321" turns up by chance."""
    trace_id = r.json().get("trace_id")
    return r.text.replace(trace_id, "") if trace_id else r.text


def without_trace(body, *ids):
    """A problem body minus its trace id, with the given ids blanked out."""
    b = dict(body)
    b.pop("trace_id", None)
    text = json.dumps(b, sort_keys=True)
    for i in ids:
        text = text.replace(i, "<id>")
    return json.loads(text)


def assert_std_headers(r):
    h = r.headers
    assert h.get("Strict-Transport-Security") == HSTS, _show(r)
    assert h.get("Cache-Control") == "no-store", _show(r)
    assert h.get("X-Content-Type-Options") == "nosniff", _show(r)
    rid = h.get("X-Request-Id", "")
    assert HEX32.match(rid), f"X-Request-Id {rid!r}: {_show(r)}"


# --------------------------------------------------------------------------
# HTTP client
# --------------------------------------------------------------------------

class Client:
    """A thin requests wrapper bound to one daemon and (optionally) one token."""

    def __init__(self, daemon, token=None, username=None, org=None):
        self.daemon = daemon
        self.token = token
        self.username = username
        self.org = org
        self.s = requests.Session()

    def request(self, method, path, json_body=_NO_BODY, *, data=None, headers=None,
                purpose=None, token=_NO_BODY, content_type="application/json"):
        h = {}
        tok = self.token if token is _NO_BODY else token
        if tok:
            h["Authorization"] = f"Bearer {tok}"
        if purpose is not None:
            h["X-Purpose"] = purpose
        if json_body is not _NO_BODY:
            data = json.dumps(json_body)
        if data is not None and content_type is not None:
            h["Content-Type"] = content_type
        if headers:
            h.update(headers)
        # verify given per request: a session-level verify loses to REQUESTS_CA_BUNDLE
        return self.s.request(method, self.daemon.url + path, data=data, headers=h,
                              timeout=HTTP_TIMEOUT, verify=self.daemon.ca_cert)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=_NO_BODY, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body=_NO_BODY, **kw):
        return self.request("PUT", path, body, **kw)

    def patch(self, path, body=_NO_BODY, **kw):
        return self.request("PATCH", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


# --------------------------------------------------------------------------
# The daemon
# --------------------------------------------------------------------------

def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def daemon_env(extra=None):
    """The caller's environment without COFFRE_* (they would override config)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COFFRE_")}
    if extra:
        env.update(extra)
    return env


class Daemon:
    def __init__(self, base: Path, conf=None):
        self.base = base
        self.data = base / "data"
        self.log_path = base / "daemon.log"
        self.conf = dict(conf or {})
        self.proc = None
        self.port = None
        self.info = None
        self._log = None

    # -- lifecycle --------------------------------------------------------
    def init(self):
        assert Path(COFFRE_BIN).exists(), f"COFFRE_BIN {COFFRE_BIN} does not exist"
        r = subprocess.run([COFFRE_BIN, "init", "--data", str(self.data), "--dev", "--json"],
                           capture_output=True, timeout=START_TIMEOUT, env=daemon_env())
        assert r.returncode == 0, f"init failed rc={r.returncode}: {r.stderr.decode(errors='replace')}"
        (self.base / "init.out").write_bytes(r.stdout)
        (self.base / "init.err").write_bytes(r.stderr)
        info = json.loads(r.stdout)
        for k in ("url", "ca_cert", "admin_user", "admin_password"):
            assert k in info, f"init --json lacks {k}: {info}"
        ca = Path(info["ca_cert"])
        if not ca.is_absolute():
            ca = self.data / ca
        assert ca.exists(), f"ca_cert {ca} does not exist"
        self.info = info
        self.ca_cert = str(ca)
        self.admin_user = info["admin_user"]
        self.admin_password = info["admin_password"]
        if self.conf:
            with open(self.data / "coffre.conf", "a", encoding="utf-8") as f:
                f.write("\n# test overrides\n")
                for k, v in self.conf.items():
                    f.write(f"{k} = {v}\n")
        return self

    def start(self):
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [COFFRE_BIN, "serve", "--data", str(self.data), "--listen", f"127.0.0.1:{self.port}"],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=daemon_env())
        deadline = time.monotonic() + START_TIMEOUT
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"coffre serve exited early rc={self.proc.returncode}:\n{self.log_tail()}")
            try:
                r = requests.get(self.url + "/v1/sys/health", verify=self.ca_cert, timeout=2)
                if r.status_code == 200:
                    return self
                last = f"{r.status_code} {r.text[:200]}"
            except requests.RequestException as e:
                last = repr(e)
            time.sleep(0.1)
        self.proc.kill()
        self.proc.wait()
        raise AssertionError(f"daemon not healthy after {START_TIMEOUT}s ({last}):\n{self.log_tail()}")

    def stop(self):
        """SIGTERM; the daemon must exit 0 within the grace budget."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError(f"daemon did not exit within {STOP_TIMEOUT}s of SIGTERM:\n{self.log_tail()}")
        finally:
            if self._log:
                self._log.close()
                self._log = None
        assert rc == 0, f"daemon exited {rc} after SIGTERM:\n{self.log_tail()}"

    def kill(self):
        """SIGKILL: no clean stop (the journal is not moved into the tables, nothing is flushed)."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        try:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
            rc = proc.wait(timeout=STOP_TIMEOUT)
        finally:
            if self._log:
                self._log.close()
                self._log = None
        assert rc == -signal.SIGKILL, f"daemon exited {rc} before SIGKILL:\n{self.log_tail()}"

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n=4000):
        try:
            return self.log_path.read_bytes()[-n:].decode(errors="replace")
        except OSError:
            return "<no log>"

    # -- helpers ----------------------------------------------------------
    def client(self, token=None, **kw):
        return Client(self, token, **kw)

    def health_ok(self):
        assert self.alive(), f"daemon died:\n{self.log_tail()}"
        r = requests.get(self.url + "/v1/sys/health", verify=self.ca_cert, timeout=HTTP_TIMEOUT)
        assert r.status_code == 200, _show(r)
        return r

    def login(self, username, password, org=None):
        body = {"username": username, "password": password}
        if org is not None:
            body["org"] = org
        r = self.client().post("/v1/auth/login", body)
        assert_status(r, 200)
        return Client(self, r.json()["token"], username=username, org=org)

    def admin(self):
        return self.login(self.admin_user, self.admin_password)

    @property
    def journal(self):
        """The audit journal (see parse_journal)."""
        return self.data / JOURNAL_NAME

    def db(self, name="vault.db"):
        import sqlite3
        con = sqlite3.connect(str(self.data / name), timeout=10, isolation_level=None)
        con.execute("PRAGMA busy_timeout=10000")
        return con


def start_daemon(base: Path, conf=None):
    d = Daemon(base, conf).init()
    d.start()
    return d


@pytest.fixture(scope="module")
def daemon(request, tmp_path_factory):
    """One daemon per test module; module-level DAEMON_CONF = {key: value} adds config."""
    conf = getattr(request.module, "DAEMON_CONF", None)
    d = start_daemon(tmp_path_factory.mktemp("coffre"), conf)
    try:
        yield d
    finally:
        d.stop()


@pytest.fixture(scope="module")
def admin(daemon):
    return daemon.admin()


# --------------------------------------------------------------------------
# Organizations, users, the example collection and grants
# --------------------------------------------------------------------------

def password_for(username):
    return f"pw-{username}-Correct-Horse-9"


def create_org(admin, org_id, name=None):
    r = admin.post("/v1/orgs", {"id": org_id, "name": name or f"Organization {org_id}"})
    assert_status(r, 201)
    return r.json()


def create_user(manager, org, username, roles, password=_NO_BODY):
    body = {"username": username, "roles": roles}
    if password is _NO_BODY:
        password = password_for(username)
    if password is not None:
        body["password"] = password
    r = manager.post(f"/v1/orgs/{org}/users", body)
    assert_status(r, 201)
    return r.json()


def create_security_manager(daemon, admin, org, username):
    """The admin appoints a security manager; returns the manager's session."""
    create_user(admin, org, username, ["security_manager"])
    return daemon.login(username, password_for(username), org)


SOCIAL_AID_LEGAL_BASIS = "GDPR art. 6.1.c and 6.1.e; organic law of 8 July 1976 on public social welfare centres"

SOCIAL_AID = {
    "description": "Social integration income files",
    "fields": {
        "first_name": {"type": "string", "category": "identity", "required": True, "max_length": 100},
        "last_name": {"type": "string", "category": "identity", "required": True, "max_length": 100},
        "birth_date": {"type": "date", "category": "identity"},
        "email": {"type": "email", "category": "contact"},
        "phone": {"type": "phone", "category": "contact"},
        "postal_code": {"type": "postal_code", "category": "contact"},
        "aid_kind": {"type": "enum", "category": "social", "values": ["ris", "emergency", "housing"]},
        "aid_amount": {"type": "integer", "category": "financial", "min": 0, "max": 100000},
        "notes": {"type": "string", "category": "social", "max_length": 2000},
    },
    "purposes": {
        "social-aid": {"legal_basis": SOCIAL_AID_LEGAL_BASIS,
                       "description": "Granting and following up social aid"},
        "statistics": {"legal_basis": "GDPR art. 89"},
    },
    "retention": "P10Y",
}

AGENT_GRANTS = [
    {"collection": "social_aid", "actions": ["read", "write", "delete"],
     "purposes": ["social-aid"], "fields": ["*"]},
]

# A custom role limited to one field.
RECEPTION_GRANTS = [
    {"collection": "social_aid", "actions": ["read", "write"],
     "purposes": ["social-aid"], "fields": ["first_name"]},
]


def record_fields(**over):
    f = {"first_name": "Jeanne", "last_name": "Dupont", "birth_date": "1972-01-01",
         "aid_kind": "ris", "aid_amount": 1250}
    f.update(over)
    return f


class World:
    """Two organizations (cpas, ville) with the example collection and grants.

    cpas: sm_cpas (security_manager), alice (agent), carol (reception).
    ville: sm_ville (security_manager), victor (agent).
    """

    def __init__(self, daemon):
        self.daemon = daemon
        self.admin = daemon.admin()
        for org in ("cpas", "ville"):
            create_org(self.admin, org, f"{org.upper()} test")
        self.sm = {
            "cpas": create_security_manager(daemon, self.admin, "cpas", "sm_cpas"),
            "ville": create_security_manager(daemon, self.admin, "ville", "sm_ville"),
        }
        for org in ("cpas", "ville"):
            sm = self.sm[org]
            assert_status(sm.put(f"/v1/orgs/{org}/collections/social_aid", SOCIAL_AID), 200)
            assert_status(sm.put(f"/v1/orgs/{org}/roles/agent/grants", AGENT_GRANTS), 200)
            assert_status(sm.put(f"/v1/orgs/{org}/roles/reception/grants", RECEPTION_GRANTS), 200)
        create_user(self.sm["cpas"], "cpas", "alice", ["agent"])
        create_user(self.sm["cpas"], "cpas", "carol", ["reception"])
        create_user(self.sm["ville"], "ville", "victor", ["agent"])
        self.alice = daemon.login("alice", password_for("alice"), "cpas")
        self.carol = daemon.login("carol", password_for("carol"), "cpas")
        self.victor = daemon.login("victor", password_for("victor"), "ville")

    def create_record(self, client, org=None, nid=None, fields=None, purpose="social-aid"):
        org = org or client.org
        nid = nid or next_nid()
        r = client.post(f"/v1/orgs/{org}/collections/social_aid/records",
                        {"subject": {"national_id": nid}, "fields": fields or record_fields()},
                        purpose=purpose)
        assert_status(r, 201)
        return r.json(), nid


def records_path(org, rid=None, c="social_aid"):
    p = f"/v1/orgs/{org}/collections/{c}/records"
    return p if rid is None else f"{p}/{rid}"


@pytest.fixture(scope="module")
def world(daemon):
    return World(daemon)


# --------------------------------------------------------------------------
# Audit trail, read straight from disk while the daemon runs
#
# The durable trail is the `audit` table of vault.db plus the frames of
# DIR/audit.journal the table does not hold yet. A batch of entries with no
# store work (reads, lookups, refusals) is appended to the journal with one
# write and one fdatasync and acknowledged then; the daemon moves the journal
# into the tables later (next write transaction, 4096 entries, 1 s, before a
# checkpoint or a trail read, at a clean stop) and then truncates it to 0.
# --------------------------------------------------------------------------

JOURNAL_NAME = "audit.journal"
JOURNAL_MAGIC = b"CFJ1"
# magic, u32 body length, i64 index, 32-byte leaf hash, u32 entry length,
# u16 lengths of actor_org, resource_org, subject; little-endian
_JOURNAL_HEAD = struct.Struct("<4sIq32sIHHH")
JOURNAL_HEAD_SIZE = _JOURNAL_HEAD.size  # 58
JOURNAL_CHECK_SIZE = 16


@dataclass(frozen=True)
class JournalFrame:
    offset: int           # where the frame starts in the file
    size: int             # head + body + check
    index: int
    leaf: bytes           # RFC 6962 leaf hash, SHA-256(0x00 || entry)
    entry: bytes          # the canonical JSON entry
    actor_org: Optional[str]
    resource_org: Optional[str]
    subject: Optional[str]

    @property
    def text(self):
        return self.entry.decode("utf-8")


def parse_journal(data: bytes):
    """The audit journal's frames, read from offset 0 as the daemon's replay reads them.

    A frame is: b"CFJ1", u32 body length B, i64 index, 32-byte leaf hash, u32
    entry length L, u16 lengths of actor_org, resource_org and subject (0: none),
    the entry (L bytes) and the three ids (B = L + the ids' lengths), then a
    16-byte check: the first 16 bytes of SHA-256 over everything before it.
    Reading stops at the first frame that is incomplete, has a wrong magic or
    inconsistent lengths, fails its check, or whose index is not the previous
    one + 1. Returns (frames, offset where reading stopped).

    A frame that passes its check but whose leaf hash is not the entry's is a
    daemon bug, not a torn write: AssertionError.
    """
    frames = []
    off = 0
    while len(data) - off >= JOURNAL_HEAD_SIZE + JOURNAL_CHECK_SIZE:
        magic, body, index, leaf, elen, la, lr, ls = _JOURNAL_HEAD.unpack_from(data, off)
        if magic != JOURNAL_MAGIC or elen + la + lr + ls != body:
            break
        end = off + JOURNAL_HEAD_SIZE + body
        if end + JOURNAL_CHECK_SIZE > len(data):
            break
        if hashlib.sha256(data[off:end]).digest()[:JOURNAL_CHECK_SIZE] != data[end:end + JOURNAL_CHECK_SIZE]:
            break
        if frames and index != frames[-1].index + 1:
            break
        p = off + JOURNAL_HEAD_SIZE
        entry = bytes(data[p:p + elen])
        p += elen
        ids = []
        for n in (la, lr, ls):
            ids.append(bytes(data[p:p + n]).decode("utf-8") if n else None)
            p += n
        assert leaf == hashlib.sha256(b"\0" + entry).digest(), \
            f"journal frame at offset {off} (index {index}): leaf hash is not the entry's"
        frames.append(JournalFrame(off, end + JOURNAL_CHECK_SIZE - off, index, leaf, entry, *ids))
        off = end + JOURNAL_CHECK_SIZE
    return frames, off


def read_journal(path):
    """parse_journal of the file (no file: no frames)."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return []
    return parse_journal(data)[0]


def _durable(daemon, since, rows):
    """(table size, {idx: entry text}) of the durable trail from since on (no texts unless rows).

    The journal is read first, then the table in one read transaction: a move
    of the journal into the table in between loses nothing (the table wins;
    journal frames below the table's size are already in it)."""
    frames = read_journal(daemon.journal)
    con = daemon.db()
    try:
        con.execute("BEGIN")
        count = con.execute("SELECT count(*) FROM audit").fetchone()[0]
        table = con.execute("SELECT idx, entry FROM audit WHERE idx >= ? ORDER BY idx", (since,)).fetchall() \
            if rows else []
        con.execute("COMMIT")
    finally:
        con.close()
    ahead = [f for f in frames if f.index >= count]
    # the journal continues the table: its first entry beyond the table is the table's next
    assert not ahead or ahead[0].index == count, \
        f"audit.journal holds entries from {ahead[0].index} on, but the table has {count} entries"
    out = {}
    if rows:
        for f in ahead:
            if f.index >= since:
                out[f.index] = f.text
        for idx, entry in table:
            out[idx] = bytes(entry).decode("utf-8") if isinstance(entry, (bytes, bytearray)) else entry
    return count + len(ahead), out


def audit_count(daemon):
    """Entries in the durable trail (table + journal)."""
    return _durable(daemon, 0, False)[0]


def audit_entries(daemon, since=0):
    """[(idx, raw_text, parsed)] of the durable trail (table + journal) with idx >= since, in order."""
    _, texts = _durable(daemon, since, True)
    return [(idx, texts[idx], json.loads(texts[idx])) for idx in sorted(texts)]


def audit_next_idx(daemon):
    """The index the next entry will get: the durable trail's size."""
    return audit_count(daemon)


def audit_table_count(daemon):
    """Rows of the audit table alone (what the journal has been moved into)."""
    con = daemon.db()
    try:
        return con.execute("SELECT count(*) FROM audit").fetchone()[0]
    finally:
        con.close()


def table_entries(daemon):
    """[(idx, raw_text, parsed)] of the audit table alone (what the journal has been moved into)."""
    con = daemon.db()
    try:
        rows = con.execute("SELECT idx, entry FROM audit ORDER BY idx").fetchall()
    finally:
        con.close()
    out = []
    for idx, raw in rows:
        raw = bytes(raw).decode() if isinstance(raw, (bytes, bytearray)) else raw
        out.append((idx, raw, json.loads(raw)))
    return out


def journal_entries(daemon):
    """[(idx, raw_text, parsed)] of the frames in the journal file now (whether or not the table has them)."""
    return [(f.index, f.text, json.loads(f.text)) for f in read_journal(daemon.journal)]


def entry_by_trace(entries, trace_id):
    """The one (idx, raw, parsed) of entries whose trace_id is trace_id, or None."""
    found = [x for x in entries if x[2].get("trace_id") == trace_id]
    assert len(found) <= 1, f"{len(found)} entries with trace id {trace_id}"
    return found[0] if found else None


def audit_verify(data, *extra):
    """`coffre audit verify --data DIR` (it replays the journal when no daemon holds it)."""
    return subprocess.run([COFFRE_BIN, "audit", "verify", "--data", str(data), *extra], capture_output=True,
                          text=True, env=daemon_env(), timeout=START_TIMEOUT)


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
