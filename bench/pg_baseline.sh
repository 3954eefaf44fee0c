#!/usr/bin/env bash
# pg_baseline.sh - the alternative a team would otherwise build, measured
# beside coffre: PostgreSQL 15 with pgcrypto (each personal field
# encrypted with pgp_sym_encrypt) and pgaudit (reads and writes audited),
# synchronous commit and fsync on, driven by pgbench over TCP on 127.0.0.1
# (no TLS, no HTTP: to PostgreSQL's advantage).
#
# It runs its OWN private cluster in --dir (never the system's), stops it
# on every exit (success, error, Ctrl-C) and leaves --dir for inspection.
# It must never print anything but the one JSON result on stdout (progress
# and tool output go to stderr and to files in --dir).
#
# Usage: pg_baseline.sh --dir TMPDIR --seconds S --clients C [--rows N] [--port P]
# Output: {"insert": {"tps", "p50_ms", "p99_ms", "transactions"}, "select": {...},
#          "server_cpu_seconds", "pgaudit_lines"}
# Exit: 0 ok, 2 bad arguments, 1 any other failure.
set -euo pipefail
export LC_ALL=C # numbers printed with a dot, whatever the caller's locale

PGBIN=/usr/lib/postgresql/15/bin
PGLIB=/usr/lib/postgresql/15/lib
PGEXT=/usr/share/postgresql/15/extension
BENCH_USER=coffrebench # OS user owning the cluster when run as root
DB_USER=bench          # cluster superuser used by every client
DB_NAME=coffrebench
PASSPHRASE=coffre-bench-passphrase # must match bench/pg/insert.sql and select.sql
SQL_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/pg"

log() { printf 'pg_baseline: %s\n' "$*" >&2; }
die() {
	printf 'pg_baseline: error: %s\n' "$*" >&2
	exit 1
}
usage_error() {
	printf 'pg_baseline: %s\n' "$*" >&2
	printf 'usage: pg_baseline.sh --dir TMPDIR --seconds S --clients C [--rows N] [--port P]\n' >&2
	exit 2
}

# Whole-string decimal within [lo, hi] (no sign, no blanks, no leading zeros).
check_int() { # name value lo hi
	local name="$1" v="$2" lo="$3" hi="$4"
	[[ "$v" =~ ^[1-9][0-9]{0,9}$ ]] || usage_error "$name must be an integer in $lo..$hi"
	((v >= lo && v <= hi)) || usage_error "$name must be an integer in $lo..$hi"
}

DIR="" SECONDS_ARG="" CLIENTS="" ROWS=100000 PORT=""
while (($# > 0)); do
	case "$1" in
	--dir | --seconds | --clients | --rows | --port)
		(($# >= 2)) || usage_error "$1 needs a value"
		case "$1" in
		--dir) DIR="$2" ;;
		--seconds) SECONDS_ARG="$2" ;;
		--clients) CLIENTS="$2" ;;
		--rows) ROWS="$2" ;;
		--port) PORT="$2" ;;
		esac
		shift 2
		;;
	-h | --help)
		printf 'usage: pg_baseline.sh --dir TMPDIR --seconds S --clients C [--rows N] [--port P]\n'
		exit 0
		;;
	*) usage_error "unknown argument '$1'" ;;
	esac
done
[[ -n "$DIR" ]] || usage_error "--dir is required"
[[ -n "$SECONDS_ARG" ]] || usage_error "--seconds is required"
[[ -n "$CLIENTS" ]] || usage_error "--clients is required"
check_int --seconds "$SECONDS_ARG" 1 86400
check_int --clients "$CLIENTS" 1 1000
check_int --rows "$ROWS" 1 10000000
[[ -z "$PORT" ]] || check_int --port "$PORT" 1024 65535
[[ "$DIR" != *$'\n'* ]] || usage_error "--dir must not contain a newline"

# ---- tools ----
for b in initdb pg_ctl postgres psql pgbench; do
	[[ -x "$PGBIN/$b" ]] || die "$PGBIN/$b not found: install the Debian package postgresql (PostgreSQL 15)"
done
[[ -f "$PGLIB/pgaudit.so" ]] || die "$PGLIB/pgaudit.so not found: install the Debian package postgresql-15-pgaudit"
[[ -f "$PGEXT/pgcrypto.control" ]] || die "$PGEXT/pgcrypto.control not found: pgcrypto is missing"
for t in awk sort grep getconf head od; do
	command -v "$t" >/dev/null || die "$t not found"
done
for f in schema.sql insert.sql select.sql; do
	[[ -r "$SQL_SRC/$f" ]] || die "$SQL_SRC/$f not found"
done

# ---- who runs PostgreSQL ----
# PostgreSQL refuses to run as root: then everything runs as $BENCH_USER.
AS=()
RUN_AS="$(id -un)"
if ((EUID == 0)); then
	command -v runuser >/dev/null || die "runuser not found"
	if ! id -u "$BENCH_USER" >/dev/null 2>&1; then
		command -v useradd >/dev/null || die "useradd not found"
		log "creating system user $BENCH_USER"
		useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$BENCH_USER" >&2 ||
			die "cannot create the system user $BENCH_USER"
	fi
	AS=(runuser -u "$BENCH_USER" --)
	RUN_AS="$BENCH_USER"
fi

mkdir -p -- "$DIR" || die "cannot create $DIR"
DIR="$(cd -- "$DIR" && pwd)"
DATA="$DIR/data"
[[ ! -e "$DATA" ]] || die "$DATA already exists (a previous run?): give an empty --dir"
if ((EUID == 0)); then
	chown -- "$BENCH_USER" "$DIR" || die "cannot chown $DIR to $BENCH_USER"
	chmod 0700 -- "$DIR"
fi
"${AS[@]}" test -w "$DIR" -a -x "$DIR" ||
	die "$DIR is not writable by $RUN_AS (is a parent directory private?)"

# Scripts are copied into DIR: pgbench (running as $BENCH_USER) reads them there,
# and they stay with the logs for inspection.
mkdir -p -- "$DIR/sql" "$DIR/txlog"
cp -- "$SQL_SRC/schema.sql" "$SQL_SRC/insert.sql" "$SQL_SRC/select.sql" "$DIR/sql/"
for f in insert.sql select.sql; do
	grep -q -- "'$PASSPHRASE'" "$DIR/sql/$f" || die "the passphrase in bench/pg/$f differs from this script's"
done
((EUID != 0)) || chown -R -- "$BENCH_USER" "$DIR/sql" "$DIR/txlog"

# ---- port ----
port_in_use() { # something already listens on 127.0.0.1:$1
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
if [[ -z "$PORT" ]]; then
	for _ in $(seq 1 100); do
		p=$((20000 + RANDOM % 40000))
		if ! port_in_use "$p"; then
			PORT="$p"
			break
		fi
	done
	[[ -n "$PORT" ]] || die "found no free port"
elif port_in_use "$PORT"; then
	die "port $PORT is already in use on 127.0.0.1"
fi

# ---- cluster ----
PWFILE="$DIR/pwfile"
PASSFILE="$DIR/pgpass"
SERVER_LOG="$DIR/postgresql.log"
password="$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')"
[[ ${#password} -eq 36 ]] || die "cannot read /dev/urandom"
(
	umask 077
	printf '%s\n' "$password" >"$PWFILE"
	printf '127.0.0.1:%s:*:%s:%s\n' "$PORT" "$DB_USER" "$password" >"$PASSFILE"
)
((EUID != 0)) || chown -- "$BENCH_USER" "$PWFILE" "$PASSFILE"

# Every client connects over TCP to 127.0.0.1 with SCRAM, no TLS.
CLIENT_ENV=(env PGHOST=127.0.0.1 "PGPORT=$PORT" "PGUSER=$DB_USER" "PGDATABASE=$DB_NAME" "PGPASSFILE=$PASSFILE"
	PGSSLMODE=disable PGAPPNAME=pg_baseline)
pg() { "${AS[@]}" "$@"; }
psql_run() { pg "${CLIENT_ENV[@]}" "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

# A trap runs once the foreground command ends, inside that command's
# redirections: cleanup first puts stderr back (ERR_FD, a copy of the
# original, closed for the server so that it never holds the caller's pipe).
# pgbench runs in the background and is waited for, so that a signal is
# acted on at once rather than after -T seconds.
exec {ERR_FD}>&2
STARTED=0
BG_PID=""
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	exec 2>&"$ERR_FD"
	if [[ -n "$BG_PID" ]] && kill -0 "$BG_PID" 2>/dev/null; then
		kill -TERM "$BG_PID" 2>/dev/null || true
	fi
	if ((STARTED)); then
		log "stopping the cluster"
		pg "$PGBIN/pg_ctl" stop -D "$DATA" -m fast -w >&2 || log "pg_ctl stop failed: see $SERVER_LOG"
	fi
	((rc == 0)) || log "failed (exit $rc); files left in $DIR"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "initdb in $DATA"
pg "$PGBIN/initdb" -D "$DATA" -U "$DB_USER" --pwfile="$PWFILE" --auth-local=scram-sha-256 \
	--auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 ||
	die "initdb failed: see $DIR/initdb.log"
max_connections=$((CLIENTS + 10 > 100 ? CLIENTS + 10 : 100))
cat >>"$DATA/postgresql.conf" <<EOF

# ---- pg_baseline.sh ----
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = ''
max_connections = $max_connections
shared_preload_libraries = 'pgaudit'
pgaudit.log = 'read, write'
synchronous_commit = on
fsync = on
log_line_prefix = '%m [%p] '
EOF

log "starting PostgreSQL on 127.0.0.1:$PORT (log: $SERVER_LOG)"
STARTED=1
pg "$PGBIN/pg_ctl" start -D "$DATA" -w -t 60 -l "$SERVER_LOG" >&2 {ERR_FD}>&- || die "pg_ctl start failed: see $SERVER_LOG"
PM_PID="$(head -n 1 "$DATA/postmaster.pid")"
[[ "$PM_PID" =~ ^[0-9]+$ ]] || die "cannot read the postmaster's pid"

psql_run -d postgres -c "CREATE DATABASE $DB_NAME" >&2
psql_run -c "CREATE EXTENSION pgcrypto" -c "CREATE EXTENSION pgaudit" >&2
psql_run -f "$DIR/sql/schema.sql" >&2

# One INSERT ... SELECT generate_series per core, over disjoint id ranges, run
# concurrently: the s2k key derivation of pgp_sym_encrypt makes a single
# statement take about a minute per 100000 rows on one core.
NPROC="$(getconf _NPROCESSORS_ONLN)"
[[ "$NPROC" =~ ^[1-9][0-9]*$ ]] || NPROC=1
PARTS=$((NPROC < ROWS ? NPROC : ROWS))
log "preloading $ROWS rows (pgp_sym_encrypt of 4 fields each) in $PARTS concurrent statements"
t0=$(date +%s)
pids=()
for ((k = 0; k < PARTS; k++)); do
	lo=$((ROWS * k / PARTS + 1))
	hi=$((ROWS * (k + 1) / PARTS))
	psql_run -v lo="$lo" -v hi="$hi" -v key="$PASSPHRASE" >"$DIR/preload_$k.log" 2>&1 {ERR_FD}>&- <<'EOF' &
INSERT INTO records (id, org, collection, subject, created, first_name, last_name, birth_date, aid_amount)
SELECT 'r' || g, 'cpas', 'social_aid', 's' || g, now() - make_interval(secs => g),
       pgp_sym_encrypt('First' || g, :'key'),
       pgp_sym_encrypt('Last' || g, :'key'),
       pgp_sym_encrypt(to_char(date '1920-01-01' + (g % 36525), 'YYYY-MM-DD'), :'key'),
       pgp_sym_encrypt(to_char((g % 500000) / 100.0, 'FM999990.00'), :'key')
FROM generate_series(:lo, :hi) AS g;
EOF
	pids+=("$!")
done
for ((k = 0; k < PARTS; k++)); do
	wait "${pids[k]}" || die "preload statement $k failed: see $DIR/preload_$k.log"
done
loaded="$(psql_run -At -c 'ANALYZE records' -c 'CHECKPOINT' -c 'SELECT count(*) FROM records')"
[[ "$loaded" == "$ROWS" ]] || die "preloaded $loaded rows instead of $ROWS"
log "preloaded in $(($(date +%s) - t0)) s"

# ---- server CPU ----
# utime+stime of the postmaster, plus cutime+cstime (children it has reaped:
# every backend that exited), plus utime+stime+cutime+cstime of each child
# still alive (background processes, backends not yet reaped). A delta of
# this sum between two instants is the CPU the whole server used between
# them, whatever processes came and went.
CLK_TCK="$(getconf CLK_TCK)"
# Prints "pid ppid ticks" for every process, ticks = utime+stime+cutime+cstime
# (/proc/PID/stat: after "pid (comm) ", fields 2, 12, 13, 14, 15). Processes
# that vanish while being read are skipped.
proc_table() {
	local f line rest
	local -a a
	for f in /proc/[0-9]*/stat; do
		{ read -r line <"$f"; } 2>/dev/null || continue
		rest="${line##*) }"
		read -r -a a <<<"$rest"
		((${#a[@]} >= 15)) || continue
		f="${f#/proc/}"
		printf '%s %s %s\n' "${f%/stat}" "${a[1]}" "$((a[11] + a[12] + a[13] + a[14]))"
	done
}
server_ticks() {
	local total=0 pid ppid ticks
	while read -r pid ppid ticks; do
		if [[ "$pid" == "$PM_PID" || "$ppid" == "$PM_PID" ]]; then
			total=$((total + ticks))
		fi
	done < <(proc_table)
	printf '%s\n' "$total"
}
# Waits (up to 10 s) until no client backend ("postgres: bench coffrebench
# 127.0.0.1(port) ...") is left, so that their time is in the postmaster's
# cutime/cstime or still counted as live children, not lost in between.
wait_backends_gone() {
	local pid ppid ticks cmd busy
	for _ in $(seq 1 100); do
		busy=0
		while read -r pid ppid ticks; do
			[[ "$ppid" == "$PM_PID" ]] || continue
			cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
			if [[ "$cmd" == *"127.0.0.1("* ]]; then
				busy=1
			fi
		done < <(proc_table)
		((busy)) || return 0
		sleep 0.1
	done
	log "warning: client backends still present after 10 s"
}

# ---- pgbench ----
JOBS=$((CLIENTS < 2 ? CLIENTS : 2))
# run_pgbench NAME SCRIPT [pgbench -D ...]: sets R_TPS, R_P50, R_P99, R_N.
run_pgbench() {
	local name="$1" script="$2"
	shift 2
	local out="$DIR/pgbench_$name.out"
	log "pgbench $name: $CLIENTS clients, $JOBS threads, $SECONDS_ARG s"
	rm -f -- "$DIR/txlog/$name".*
	pg "${CLIENT_ENV[@]}" "$PGBIN/pgbench" -n -M prepared -c "$CLIENTS" -j "$JOBS" -T "$SECONDS_ARG" \
		--log --log-prefix="$DIR/txlog/$name" "$@" -f "$DIR/sql/$script" >"$out" 2>&1 {ERR_FD}>&- &
	BG_PID=$!
	if ! wait "$BG_PID"; then
		BG_PID=""
		cat -- "$out" >&2
		die "pgbench $name failed: see $out and $SERVER_LOG"
	fi
	BG_PID=""
	cat -- "$out" >&2
	local tps n failed
	tps="$(awk '/^tps = / { print $3; exit }' "$out")"
	n="$(awk -F': ' '/^number of transactions actually processed:/ { split($2, a, "/"); print a[1] + 0; exit }' "$out")"
	failed="$(awk -F': ' '/^number of failed transactions:/ { print $2 + 0; exit }' "$out")"
	[[ "$tps" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "no tps in $out"
	[[ "$n" =~ ^[0-9]+$ && "$n" -gt 0 ]] || die "no transactions in $out"
	[[ "${failed:-0}" == 0 ]] || die "pgbench $name: $failed failed transactions (see $out)"
	# Per-transaction log: "client tx_no latency_us script_no epoch_s epoch_us".
	# Percentiles by nearest rank over every logged transaction.
	local stats p50 p99
	stats="$(cat -- "$DIR/txlog/$name".* | awk '$3 !~ /^[0-9]+$/ { bad++; next } { print $3 } END { if (bad) exit 1 }' |
		sort -n | awk -v want="$n" '
			{ v[NR] = $1 }
			END {
				if (NR != want) { printf "logged %d transactions, pgbench counted %d\n", NR, want > "/dev/stderr"; exit 1 }
				i50 = int(0.50 * NR); if (i50 < 0.50 * NR) i50++; if (i50 < 1) i50 = 1
				i99 = int(0.99 * NR); if (i99 < 0.99 * NR) i99++; if (i99 < 1) i99 = 1
				printf "%.3f %.3f\n", v[i50] / 1000.0, v[i99] / 1000.0
			}')" || die "cannot compute the latency percentiles of $name from $DIR/txlog"
	read -r p50 p99 <<<"$stats"
	R_TPS="$tps" R_P50="$p50" R_P99="$p99" R_N="$n"
}

cpu0="$(server_ticks)"
run_pgbench insert insert.sql -D n=0
ins_tps="$R_TPS" ins_p50="$R_P50" ins_p99="$R_P99" ins_n="$R_N"
run_pgbench select select.sql -D rows="$ROWS"
sel_tps="$R_TPS" sel_p50="$R_P50" sel_p99="$R_P99" sel_n="$R_N"
wait_backends_gone
cpu1="$(server_ticks)"
cpu_seconds="$(awk -v a="$cpu0" -v b="$cpu1" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", (b - a) / hz }')"

# One record per audited statement starts with "AUDIT: " (a statement's
# text may continue on further lines, which are not counted).
audit_lines="$(grep -c 'AUDIT: SESSION,' "$SERVER_LOG" || true)"
[[ "$audit_lines" =~ ^[0-9]+$ && "$audit_lines" -gt 0 ]] || die "pgaudit wrote nothing to $SERVER_LOG: auditing was off"

printf '{"insert": {"tps": %.2f, "p50_ms": %s, "p99_ms": %s, "transactions": %d}, ' \
	"$ins_tps" "$ins_p50" "$ins_p99" "$ins_n"
printf '"select": {"tps": %.2f, "p50_ms": %s, "p99_ms": %s, "transactions": %d}, ' \
	"$sel_tps" "$sel_p50" "$sel_p99" "$sel_n"
printf '"server_cpu_seconds": %s, "pgaudit_lines": %d}\n' "$cpu_seconds" "$audit_lines"
