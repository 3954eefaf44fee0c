#!/usr/bin/python3
"""coffre's benchmark harness: one command, one table.

Builds nothing itself (`make bench` / `make bench-quick` build the release
binaries into build-bench/ first), then, in a throw-away directory:

1. creates a vault, its organizations, collections, grants and users
   through the API, then stops the daemon and generates the records
   (bench_gen: the dataset import path; N records across three
   organizations and two collections, subjects shared between the two);
2. runs each scenario with wrk over HTTPS keep-alive from this machine:
   an authorized read (decrypt + audit entry durably committed), a write
   (encrypt + audit, durable), a subject lookup by national identifier,
   a case worker's mix (80 % reads, 15 % lookups, 5 % writes) and a denied
   request; for each: requests per second, p50 and p99 latency, the
   daemon's CPU seconds and its peak resident memory;
3. runs the baselines in the same invocation: the ceiling (bench/bare_tls.c,
   a bare libmicrohttpd + GnuTLS handler answering 300 bytes, same TLS
   settings, same wrk load) and the alternative (PostgreSQL 15 with
   pgcrypto and pgaudit, bench/pg_baseline.sh: pgbench, 8 clients,
   synchronous commit, no HTTP or TLS in front);
4. runs the audit-trail bench (bench/audit_bench.c) at the requested sizes;
5. optionally a long mixed run sampling the daemon's resident memory.

It prints one table (and writes it as JSON with --json FILE). Ratios are
measured side by side in this one run; nothing here asserts a timing.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build-bench"
COFFRE = BUILD / "coffre"
PURPOSE = "social-aid"
DEF = json.loads((ROOT / "bench/data/social_aid.json").read_text())
AGENT_GRANTS = [{"collection": c, "actions": ["read", "write"], "purposes": [PURPOSE], "fields": ["*"]}
                for c in ("social_aid", "housing")]
PASSWORD = "bench-password-0123456789"
# (org, collection, share of the records, first subject): cpas's two collections share their subjects
LAYOUT = [("cpas", "social_aid", 0.40, 0), ("cpas", "housing", 0.20, 0),
          ("commune", "social_aid", 0.25, 0), ("agency", "social_aid", 0.15, 0)]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_cpu_seconds(pid):
    """utime + stime of a process and its waited-for children, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def proc_status(pid, key):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])  # kB
    return 0


class Server:
    """A process serving HTTPS on a port; CPU and memory read from /proc."""

    def __init__(self, argv, url, ca, log_path):
        self.argv, self.url, self.ca, self.log_path = argv, url, ca, log_path
        self.proc = None

    def start(self, health="/v1/sys/health"):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.argv, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.argv[0]} exited: see {self.log_path}")
            try:
                if requests.get(self.url + health, verify=self.ca, timeout=2).status_code < 500:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise SystemExit(f"{self.argv[0]} did not answer: see {self.log_path}")

    def stop(self):
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        rc, self.proc = self.proc.returncode, None
        if rc != 0:
            raise SystemExit(f"{self.argv[0]} exited {rc}: see {self.log_path}")

    def cpu(self):
        return proc_cpu_seconds(self.proc.pid)

    def hwm_mib(self):
        return proc_status(self.proc.pid, "VmHWM") / 1024

    def rss_mib(self):
        return proc_status(self.proc.pid, "VmRSS") / 1024


def to_ms(value, unit):
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url, seconds, connections, threads, env=None, script=None):
    """Runs wrk --latency; returns req/s, p50, p99 (ms), requests and non-2xx answers."""
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    if script:
        argv += ["-s", str(script)]
    r = subprocess.run(argv + [url], capture_output=True, text=True, env={**os.environ, **(env or {})})
    out = r.stdout
    if r.returncode != 0 or "Requests/sec" not in out:
        raise SystemExit(f"wrk failed ({r.returncode}):\n{out}\n{r.stderr}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    p = {k: to_ms(*re.match(r"([\d.]+)(\w+)", v).groups()) for k, v in lat.items()}
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "p50_ms": p.get("50"), "p99_ms": p.get("99"), "requests": total,
            "non_2xx": int(non2xx.group(1)) if non2xx else 0, "socket_errors": errors.group(1) if errors else None}


class Bench:
    def __init__(self, args):
        self.a = args
        self.tmp = Path(tempfile.mkdtemp(prefix="coffre-bench-", dir=args.tmp))
        self.tmp.chmod(0o711)  # PostgreSQL's own user must reach its directory in it (the vault stays 0700)
        self.data = self.tmp / "vault"
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.ca = str(self.data / "tls/ca.pem")
        self.results = {"records": args.records, "seconds": args.seconds, "connections": args.connections,
                        "scenarios": {}, "baselines": {}}

    # ---- the data set ----
    def coffre_server(self):
        return Server([str(COFFRE), "serve", "--data", str(self.data)], self.url, self.ca, self.tmp / "coffre.log")

    def login(self, user, org=None):
        body = {"username": user, "password": PASSWORD}
        if org:
            body["org"] = org
        r = requests.post(self.url + "/v1/auth/login", json=body, verify=self.ca, timeout=30)
        r.raise_for_status()
        return r.json()["token"]

    def call(self, token, method, path, body):
        r = requests.request(method, self.url + path, json=body, verify=self.ca, timeout=30,
                             headers={"Authorization": "Bearer " + token})
        if r.status_code >= 300:
            raise SystemExit(f"{method} {path}: {r.status_code} {r.text}")
        return r.json() if r.text else None

    def prepare(self):
        info = json.loads(subprocess.run([str(COFFRE), "init", "--data", str(self.data), "--dev", "--json", "--listen",
                                          f"127.0.0.1:{self.port}"], check=True, capture_output=True).stdout)
        with open(self.data / "coffre.conf", "a") as f:
            f.write("\n# benchmark\nper_ip_connection_limit = 1024\nconnection_limit = 1024\n"
                    f"threads = {self.a.daemon_threads}\n")
        srv = self.coffre_server().start()
        r = requests.post(self.url + "/v1/auth/login", json={"username": info["admin_user"],
                                                              "password": info["admin_password"]},
                          verify=self.ca, timeout=30)
        r.raise_for_status()
        admin = r.json()["token"]
        for org in ("cpas", "commune", "agency"):
            self.call(admin, "POST", "/v1/orgs", {"id": org, "name": org})
            self.call(admin, "POST", f"/v1/orgs/{org}/users",
                      {"username": f"sm_{org}", "password": PASSWORD, "roles": ["security_manager"]})
            sm = self.login(f"sm_{org}", org)
            for coll in ("social_aid", "housing") if org == "cpas" else ("social_aid",):
                self.call(sm, "PUT", f"/v1/orgs/{org}/collections/{coll}", DEF)
            self.call(sm, "PUT", f"/v1/orgs/{org}/roles/agent/grants",
                      [g for g in AGENT_GRANTS if org == "cpas" or g["collection"] == "social_aid"])
            self.call(sm, "POST", f"/v1/orgs/{org}/users",
                      {"username": f"agent_{org}", "password": PASSWORD, "roles": ["agent"]})
        srv.stop()
        (self.tmp / "def.json").write_text(json.dumps(DEF))
        t0 = time.monotonic()
        for org, coll, share, first in LAYOUT:
            n = max(1, int(self.a.records * share))
            subprocess.run([str(BUILD / "bench_gen"), "--data", str(self.data), "--org", org, "--collection", coll,
                            "--def", str(self.tmp / "def.json"), "--records", str(n), "--first", str(first),
                            "--ids", str(self.tmp / f"ids_{org}_{coll}.txt")], check=True)
            if org == "cpas" and coll == "social_aid":
                self.subjects = n
        self.results["generation_seconds"] = round(time.monotonic() - t0, 1)
        self.results["vault_bytes"] = sum(p.stat().st_size for p in self.data.glob("*.db*"))
        log(f"data set: {self.a.records} records in {self.results['generation_seconds']} s, "
            f"{self.results['vault_bytes'] / 2**20:.0f} MiB on disk")

    # ---- coffre's scenarios ----
    def scenarios(self):
        srv = self.coffre_server().start()
        self.server = srv
        token = self.login("agent_cpas", "cpas")
        env = {"BENCH_TOKEN": token, "BENCH_ORG": "cpas", "BENCH_COLLECTION": "social_aid",
               "BENCH_IDS": str(self.tmp / "ids_cpas_social_aid.txt"), "BENCH_SUBJECTS": str(self.subjects),
               "BENCH_WRK_THREADS": str(self.a.wrk_threads)}
        script = ROOT / "bench/wrk/coffre.lua"
        # each scenario writes its new subjects in a region of its own (coffre.lua); the soak takes the next
        for region, mode in enumerate(("read", "write", "lookup", "mixed", "denied")):
            cpu0 = srv.cpu()
            res = wrk(self.url, self.a.seconds, self.a.connections, self.a.wrk_threads,
                      {**env, "BENCH_MODE": mode, "BENCH_REGION": str(region)}, script)
            res["cpu_seconds"] = round(srv.cpu() - cpu0, 2)
            res["peak_rss_mib"] = round(srv.hwm_mib(), 1)
            expect_refused = mode == "denied"
            if (res["non_2xx"] != res["requests"]) if expect_refused else res["non_2xx"] > 0:
                raise SystemExit(f"scenario {mode}: {res['non_2xx']} of {res['requests']} answers were "
                                 f"{'not refusals' if expect_refused else 'not 2xx'}; see {srv.log_path}")
            self.results["scenarios"][mode] = res
            log(f"coffre {mode}: {res['rps']:.0f} req/s, p50 {res['p50_ms']} ms, p99 {res['p99_ms']} ms")
        if self.a.soak > 0:
            self.soak(srv, env, script)
        srv.stop()
        self.server = None

    def soak(self, srv, env, script):
        """A long mixed run; the daemon's resident memory sampled every few seconds."""
        samples = []
        stop = threading.Event()

        def sample():
            t0 = time.monotonic()
            while not stop.wait(5):
                samples.append((round(time.monotonic() - t0), round(srv.rss_mib(), 1)))
        th = threading.Thread(target=sample)
        th.start()
        res = wrk(self.url, self.a.soak, self.a.connections, self.a.wrk_threads,
                  {**env, "BENCH_MODE": "mixed", "BENCH_REGION": "5"}, script)
        stop.set()
        th.join()
        n = len(samples)
        first = [m for _, m in samples[: max(1, n // 10)]]
        last = [m for _, m in samples[-max(1, n // 10):]]
        res.update({"rss_samples_mib": samples, "rss_first_tenth_mib": max(first), "rss_last_tenth_mib": max(last)})
        self.results["soak"] = res
        log(f"soak: {res['rps']:.0f} req/s; RSS first tenth {max(first)} MiB, last tenth {max(last)} MiB")

    # ---- baselines ----
    def bare_tls(self):
        port = free_port()
        url = f"https://127.0.0.1:{port}"
        srv = Server([str(BUILD / "bare_tls"), "--listen", f"127.0.0.1:{port}", "--cert",
                      str(self.data / "tls/server.pem"), "--key", str(self.data / "tls/server.key"), "--threads",
                      str(self.a.daemon_threads)], url, self.ca, self.tmp / "bare_tls.log").start(health="/")
        cpu0 = srv.cpu()
        res = wrk(url + "/", self.a.seconds, self.a.connections, self.a.wrk_threads)
        res["cpu_seconds"] = round(srv.cpu() - cpu0, 2)
        res["peak_rss_mib"] = round(srv.hwm_mib(), 1)
        srv.stop()
        self.results["baselines"]["bare_tls"] = res
        log(f"bare TLS: {res['rps']:.0f} req/s")

    def postgres(self):
        r = subprocess.run([str(ROOT / "bench/pg_baseline.sh"), "--dir", str(self.tmp / "pg"), "--seconds",
                            str(self.a.seconds), "--clients", "8", "--rows", str(self.a.pg_rows)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"pg_baseline.sh failed ({r.returncode}):\n{r.stderr[-3000:]}")
        self.results["baselines"]["postgres"] = json.loads(r.stdout)
        log(f"postgres: {r.stdout.strip()}")

    def audit(self):
        out = []
        for n in self.a.audit_entries:
            work = self.tmp / f"audit{n}"
            work.mkdir()
            r = subprocess.run([str(BUILD / "audit_bench"), "--entries", str(n), "--threads", "32,256", "--seconds",
                                str(max(1, min(5, self.a.seconds))), "--dir", str(work)],
                               capture_output=True, text=True)
            if r.returncode != 0:
                raise SystemExit(f"audit_bench failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
            out.append(r.stdout)
            shutil.rmtree(work, ignore_errors=True)
        self.results["audit"] = out

    # ---- the table ----
    def table(self):
        s, b = self.results["scenarios"], self.results["baselines"]
        bare = b.get("bare_tls", {}).get("rps")
        pg = b.get("postgres", {})

        def ratio(x, y):
            return f"{x / y:.2f}×" if x and y else "—"

        rows = [("bare TLS handler (ceiling)", b.get("bare_tls"), "")]
        for mode, label in (("read", "coffre: audited read"), ("write", "coffre: audited write"),
                            ("lookup", "coffre: subject lookup"), ("mixed", "coffre: mixed 80/15/5"),
                            ("denied", "coffre: denied request")):
            r = s.get(mode)
            note = ""
            if r and mode == "read":
                note = f"{ratio(r['rps'], bare)} ceiling, {ratio(r['rps'], pg.get('select', {}).get('tps'))} PG select"
            elif r and mode == "write":
                note = f"{ratio(r['rps'], pg.get('insert', {}).get('tps'))} PG insert"
            elif r:
                note = f"{ratio(r['rps'], bare)} ceiling"
            rows.append((label, r, note))
        for k, label in (("select", "PostgreSQL pgcrypto select (pgbench)"),
                         ("insert", "PostgreSQL pgcrypto+pgaudit insert (pgbench)")):
            if k in pg:
                rows.append((label, {"rps": pg[k]["tps"], "p50_ms": pg[k]["p50_ms"], "p99_ms": pg[k]["p99_ms"]}, ""))
        lines = [f"coffre benchmark: {self.a.records:,} records, {self.a.seconds} s per scenario, "
                 f"{self.a.connections} connections, {os.cpu_count()} cores",
                 "",
                 "| scenario | req/s | p50 ms | p99 ms | CPU s | peak RSS MiB | ratio |",
                 "|---|---|---|---|---|---|---|"]
        for label, r, note in rows:
            if not r:
                continue
            p50, p99 = r.get("p50_ms"), r.get("p99_ms")
            lines.append(f"| {label} | {r['rps']:,.0f} | {f'{p50:.2f}' if p50 else '—'} | {f'{p99:.2f}' if p99 else '—'} | "
                         f"{r.get('cpu_seconds', '—')} | {r.get('peak_rss_mib', '—')} | {note} |")
        if "soak" in self.results:
            so = self.results["soak"]
            lines.append("")
            lines.append(f"Mixed soak, {self.a.soak} s: {so['rps']:,.0f} req/s; resident memory {so['rss_first_tenth_mib']}"
                         f" MiB in the first tenth, {so['rss_last_tenth_mib']} MiB in the last.")
        if pg:
            lines.append(f"PostgreSQL server CPU {pg.get('server_cpu_seconds')} s; pgaudit wrote "
                         f"{pg.get('pgaudit_lines')} log lines.")
        lines.append("")
        lines += self.results.get("audit", [])
        return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=1000000)
    ap.add_argument("--seconds", type=int, default=20, help="per scenario")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument("--daemon-threads", type=int, default=32,
                    help="coffre's store readers and the bare handler's thread pool (coffre's default: 32)")
    ap.add_argument("--audit-entries", type=int, nargs="*", default=[1000000, 10000000])
    ap.add_argument("--soak", type=int, default=0, help="seconds of a mixed run sampling resident memory")
    ap.add_argument("--quick", action="store_true", help="a small run (under two minutes) that checks the harness")
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--pg-rows", type=int, default=100000, help="rows preloaded for PostgreSQL's select")
    ap.add_argument("--tmp", default=None, help="where the throw-away directory goes")
    ap.add_argument("--json", default=None, help="also write the results as JSON to this file")
    ap.add_argument("--keep", action="store_true", help="keep the throw-away directory")
    a = ap.parse_args()
    if a.quick:
        a.records, a.seconds, a.audit_entries, a.soak = min(a.records, 6000), 2, [20000], min(a.soak, 6)
        a.pg_rows = min(a.pg_rows, 5000)
    for tool in ("wrk",) + (() if a.no_postgres else ("pgbench",)):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (scripts/setup --bench installs it)")
    b = Bench(a)
    log(f"working in {b.tmp}")
    try:
        b.prepare()
        b.scenarios()
        b.bare_tls()
        if not a.no_postgres:
            b.postgres()
        b.audit()
    finally:
        if getattr(b, "server", None):
            b.server.stop()
    text = b.table()
    print(text)
    if a.json:
        Path(a.json).write_text(json.dumps(b.results, indent=1))
    if not a.keep:
        shutil.rmtree(b.tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
