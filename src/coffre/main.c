/*
 * main.c - the coffre binary: `init` and `serve` work on the data directory
 * directly; every other command is an HTTPS client of the daemon (cli*.c),
 * so that it is authenticated and audited like any client.
 * Only main paths may exit. Exit codes: 0 ok, 1 refused, 2 usage,
 * 3 connection, 4 server error, 5 local I/O error.
 */
#include "common/cf.h"
#include "cli.h"
#include "common/log.h"
#include "config/config.h"
#include "crypto/crypto.h"
#include "audit/note.h"
#include "audit/verify.h"
#include "http/http.h"
#include "policy/admin.h"
#include "store/store.h"
#include "vault/vault.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXIT_USAGE 2
#define EXIT_IO 5

static void usage(FILE *f)
{
	fprintf(f, "usage: coffre <command> [options]\n\n"
		   "A personal-data vault for public services.\n\n"
		   "Vault (on the data directory):\n"
		   "  init      create a vault: keys, development certificate, administrator\n"
		   "  serve     run the HTTPS daemon\n"
		   "  routes    print the daemon's route table\n"
		   "  roles     print the delegated-administration table (who may do what)\n"
		   "  audit verify  check the audit trail of a data directory offline\n\n"
		   "Client commands (HTTPS client of the daemon):\n");
	cf_cli_usage(f);
	fprintf(f, "\nEvery command takes --help. Exit codes: 0 ok, 1 refused by the server, 2 usage error,\n"
		   "3 connection or TLS failure, 4 server error, 5 local I/O error.\n"
		   "See coffre(1) and docs/ for the full manual.\n");
}

/* Reads the first line of a file (passphrases); the caller wipes buf. */
static int read_secret_file(const char *path, char *buf, size_t size)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	size_t n;
	if (f == NULL) {
		fprintf(stderr, "coffre: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fgets(buf, (int)size, f) == NULL)
		buf[0] = '\0';
	if (f != stdin)
		fclose(f);
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	return (int)n;
}

static int cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
					     {"dev", no_argument, NULL, 'D'},
					     {"passphrase-file", required_argument, NULL, 'p'},
					     {"listen", required_argument, NULL, 'l'},
					     {"json", no_argument, NULL, 'j'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *dir = NULL, *passfile = NULL, *listen = "127.0.0.1:8443";
	bool dev = false, as_json = false;
	char pass[1024] = "", admin_pw[64] = "", abs[PATH_MAX], ca[PATH_MAX + 16];
	cf_err err = {0};
	int c, passlen = 0, rc = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'D': dev = true; break;
		case 'p': passfile = optarg; break;
		case 'l': listen = optarg; break;
		case 'j': as_json = true; break;
		case 'h':
			printf("usage: coffre init --data DIR (--dev | --passphrase-file FILE) [--listen ADDR] [--json]\n\n"
			       "Creates a vault in DIR: the root key (development: a key file DIR/root.key;\n"
			       "otherwise sealed by an Argon2id key derived from the passphrase, and the daemon\n"
			       "starts sealed until `coffre unseal`), the keystore DIR/keys.db apart from the\n"
			       "records in DIR/vault.db, a local CA and a server certificate for localhost in\n"
			       "DIR/tls, DIR/coffre.conf, and the instance administrator `admin` whose one-time\n"
			       "password is printed once. --json prints {url, ca_cert, admin_user, admin_password}.\n");
			return 0;
		default: return EXIT_USAGE;
		}
	}
	if (dir == NULL || dev == (passfile != NULL)) {
		fprintf(stderr, "coffre init: --data DIR and exactly one of --dev or --passphrase-file are required\n");
		return EXIT_USAGE;
	}
	if (passfile != NULL) {
		passlen = read_secret_file(passfile, pass, sizeof(pass));
		if (passlen < 0)
			return EXIT_IO;
		if (passlen < 12) {
			fprintf(stderr, "coffre init: the passphrase must be at least 12 characters\n");
			cf_wipe(pass, sizeof(pass));
			return EXIT_USAGE;
		}
	}
	if (cf_vault_init(dir, dev ? CF_SEAL_DEV_KEYFILE : CF_SEAL_PASSPHRASE, pass, (size_t)passlen, listen,
			  cf_env_system(), admin_pw, sizeof(admin_pw), &err) != CF_OK) {
		fprintf(stderr, "coffre init: %s\n", err.detail);
		rc = err.rc == CF_EEXIST ? 1 : EXIT_IO;
		goto out;
	}
	if (realpath(dir, abs) == NULL)
		(void)snprintf(abs, sizeof(abs), "%s", dir);
	(void)snprintf(ca, sizeof(ca), "%s/tls/ca.pem", abs);
	if (as_json) {
		char url[256];
		json_t *j;
		char *s;
		(void)snprintf(url, sizeof(url), "https://%s", listen);
		j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "url", url, "ca_cert", ca, "admin_user", "admin",
			      "admin_password", admin_pw, "data_dir", abs, "root_key", dev ? "dev-keyfile" : "passphrase");
		s = j ? json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
		if (s != NULL) {
			puts(s);
			cf_wipe_free(s, strlen(s));
		}
		json_decref(j);
	} else {
		printf("coffre: vault created in %s\n"
		       "  url:            https://%s\n"
		       "  ca_cert:        %s\n"
		       "  root key:       %s\n"
		       "  admin_user:     admin\n"
		       "  admin_password: %s   (shown once)\n",
		       abs, listen, ca, dev ? "development key file (refused in production)" : "sealed by passphrase",
		       admin_pw);
	}
out:
	cf_wipe(pass, sizeof(pass));
	cf_wipe(admin_pw, sizeof(admin_pw));
	return rc;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;
	if (f == NULL)
		return NULL;
	buf = calloc(1, 65536);
	if (buf != NULL) {
		n = fread(buf, 1, 65535, f);
		if (ferror(f) || n == 65535) {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

/* The debug option debug_clock_offset_seconds: the system clock, shifted (never in production). */
static int64_t shifted_now(void *ctx)
{
	const int64_t *offset_us = ctx;
	return cf_now_us(cf_env_system()) + *offset_us;
}

/*
 * The daemon's allocator keeps what it freed. By default glibc gives a
 * thread arena's free top back to the kernel as soon as it passes 128 KiB
 * and maps blocks over an adaptive threshold on their own: each request
 * (and each reset of a reader's page cache) then faults its memory in
 * again, page by page. Measured on the read path: about a tenth of the
 * CPU. Values are wiped before they are freed, so keeping the pages keeps
 * no plaintext.
 */
static void tune_allocator(void)
{
	(void)mallopt(M_MMAP_THRESHOLD, 4 << 20);
	(void)mallopt(M_TRIM_THRESHOLD, 256 << 20);
	(void)mallopt(M_TOP_PAD, 16 << 20);
}

static int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
					     {"listen", required_argument, NULL, 'l'},
					     {"config", required_argument, NULL, 'c'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *dir = NULL, *listen = NULL, *cfgpath = NULL;
	char path[PATH_MAX], cpath[PATH_MAX];
	char *cert = NULL, *key = NULL;
	cf_config cfg;
	cf_err err = {0};
	cf_vault *v = NULL;
	cf_server *srv = NULL;
	cf_log_level lvl;
	cf_env env = *cf_env_system();
	static int64_t offset_us;
	sigset_t set;
	int c, sig, rc = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'l': listen = optarg; break;
		case 'c': cfgpath = optarg; break;
		case 'h':
			printf("usage: coffre serve --data DIR [--listen ADDR] [--config FILE]\n\n"
			       "Serves the HTTPS API (TLS 1.2 and 1.3 only). The configuration file defaults to\n"
			       "DIR/coffre.conf; COFFRE_<KEY> environment variables override it; --listen\n"
			       "overrides both. SIGTERM or SIGINT drain requests in flight and stop.\n\n"
			       "Configuration keys (key, default, meaning):\n");
			cf_config_print_keys(stdout);
			return 0;
		default: return EXIT_USAGE;
		}
	}
	if (dir == NULL) {
		fprintf(stderr, "coffre serve: --data DIR is required\n");
		return EXIT_USAGE;
	}
	cf_config_defaults(&cfg);
	if (cfgpath == NULL) {
		if (cf_vault_path(dir, "coffre.conf", cpath, sizeof(cpath)) != CF_OK)
			return EXIT_USAGE;
		cfgpath = cpath;
	}
	if (cf_config_load(&cfg, cfgpath, false, &err) != CF_OK) {
		fprintf(stderr, "coffre serve: %s\n", err.detail);
		return EXIT_USAGE;
	}
	if (listen != NULL && cf_config_set(&cfg, "listen", listen, &err) != CF_OK) {
		fprintf(stderr, "coffre serve: --listen: %s\n", err.detail);
		return EXIT_USAGE;
	}
	if (cf_log_level_parse(cfg.log_level, &lvl) == CF_OK)
		cf_log_set_level(lvl);
	if (cfg.debug_clock_offset_seconds != 0) {
		offset_us = (int64_t)cfg.debug_clock_offset_seconds * 1000000;
		env.now_us = shifted_now;
		env.clock_ctx = &offset_us;
		cf_log(CF_LOG_WARN, "debug option: the clock is shifted by %ld s (environment %s)",
		       cfg.debug_clock_offset_seconds, cf_environment_name(cfg.environment));
	}

	tune_allocator();
	/* Signals are taken synchronously by this thread only; the server's threads inherit the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (cf_vault_path(dir, "tls/server.pem", path, sizeof(path)) != CF_OK || (cert = slurp(path)) == NULL ||
	    cf_vault_path(dir, "tls/server.key", path, sizeof(path)) != CF_OK || (key = slurp(path)) == NULL) {
		fprintf(stderr, "coffre serve: cannot read the TLS certificate and key in %s/tls\n", dir);
		rc = EXIT_IO;
		goto out;
	}
	if (cf_vault_open(dir, &cfg, &env, &v, &err) != CF_OK) {
		fprintf(stderr, "coffre serve: %s\n", err.detail);
		rc = EXIT_IO;
		goto out;
	}
	if (cf_vault_sweeper_start(v, &err) != CF_OK) {
		fprintf(stderr, "coffre serve: %s\n", err.detail);
		rc = EXIT_IO;
		goto out;
	}
	if (cf_server_start(v, &cfg, cert, key, &srv, &err) != CF_OK) {
		fprintf(stderr, "coffre serve: %s\n", err.detail);
		rc = EXIT_IO;
		goto out;
	}
	cf_log(CF_LOG_INFO,
	       "coffre %s serving https://%s (%s, environment %s, up to %ld connections with a thread each, %ld store "
	       "readers)",
	       COFFRE_VERSION, cfg.listen, cf_vault_sealed(v) ? "sealed: waiting for unseal" : "unsealed",
	       cf_environment_name(cfg.environment), cfg.connection_limit, cfg.threads);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			cf_log(CF_LOG_INFO, "SIGHUP ignored (restart to apply configuration changes)");
			continue;
		}
		cf_log(CF_LOG_INFO, "signal %d: draining requests in flight (up to %ld s)", sig, cfg.shutdown_grace_seconds);
		break;
	}
	cf_server_stop(srv, cfg.shutdown_grace_seconds);
	cf_log(CF_LOG_INFO, "stopped");
out:
	cf_vault_close(v);
	if (key != NULL)
		cf_wipe_free(key, strlen(key));
	free(cert);
	return rc;
}

/* Reads a whole small file (checkpoints, keys); NULL on error. */
static char *read_text(const char *path, size_t *len)
{
	char *t = slurp(path);
	if (t != NULL && len != NULL)
		*len = strlen(t);
	return t;
}

/*
 * `coffre audit verify`: offline, on the data directory. Exit 0 when the
 * trail verifies, 1 when tampering is detected, 2 usage, 5 I/O.
 */
static int cmd_audit_verify(int argc, char **argv)
{
	static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
					     {"checkpoint", required_argument, NULL, 'c'},
					     {"key", required_argument, NULL, 'k'},
					     {"json", no_argument, NULL, 'j'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *dir = NULL, *ckpath = NULL, *keyarg = NULL;
	char path[PATH_MAX];
	char *stored_key = NULL, *ext = NULL;
	size_t ext_len = 0;
	bool as_json = false;
	cf_note_verifier ver;
	cf_verify_report rep;
	cf_store *st = NULL;
	cf_err err = {0};
	cf_tx *tx = NULL;
	int c, rc = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'c': ckpath = optarg; break;
		case 'k': keyarg = optarg; break;
		case 'j': as_json = true; break;
		case 'h':
			printf("usage: coffre audit verify --data DIR [--checkpoint FILE] [--key KEY] [--json]\n\n"
			       "Recomputes every leaf, tree node and root of the audit trail from DIR's storage,\n"
			       "checks every stored checkpoint's signature and root, and, given a checkpoint kept\n"
			       "elsewhere (--checkpoint, e.g. saved from `coffre audit checkpoint`), checks that the\n"
			       "trail still extends it (a rolled-back database fails here). Signatures are checked\n"
			       "with --key (from `coffre audit key`, kept elsewhere) or else the key stored in DIR.\n"
			       "Names the first bad index. Entries left in DIR/audit.journal by a vault that\n"
			       "stopped without closing are first replayed into the trail; beside a running vault\n"
			       "it checks what the trail's tables hold (the vault keeps the journal).\n"
			       "Exit 0 verified, 1 tampering detected, 5 I/O error.\n");
			return 0;
		default: return EXIT_USAGE;
		}
	}
	if (dir == NULL) {
		fprintf(stderr, "coffre audit verify: --data DIR is required\n");
		return EXIT_USAGE;
	}
	if (cf_vault_path(dir, "vault.db", path, sizeof(path)) != CF_OK || access(path, R_OK) != 0) {
		fprintf(stderr, "coffre audit verify: %s holds no vault\n", dir);
		return EXIT_IO;
	}
	if (ckpath != NULL && (ext = read_text(ckpath, &ext_len)) == NULL) {
		fprintf(stderr, "coffre audit verify: cannot read %s\n", ckpath);
		return EXIT_IO;
	}
	/* one long sequential scan: read ahead in blocks rather than a system call per page */
	if (cf_store_open(dir, cf_env_system(), &(cf_store_options){.scan_reads = true}, &st, &err) != CF_OK) {
		fprintf(stderr, "coffre audit verify: %s\n", err.detail);
		rc = EXIT_IO;
		goto out;
	}
	if (keyarg == NULL) {
		if (cf_store_begin(st, false, &tx, &err) == CF_OK) {
			if (cf_st_meta_get(tx, "audit_verifier_key", &stored_key, NULL) != CF_OK)
				stored_key = NULL;
			cf_tx_rollback(tx);
		}
		keyarg = stored_key;
	}
	if (keyarg != NULL && cf_note_verifier_parse(keyarg, &ver, &err) != CF_OK) {
		fprintf(stderr, "coffre audit verify: bad verifier key: %s\n", err.detail);
		rc = EXIT_USAGE;
		goto out;
	}
	if (cf_audit_verify(st, keyarg ? &ver : NULL, ext, ext_len, &rep, &err) != CF_OK) {
		fprintf(stderr, "coffre audit verify: %s\n", err.detail);
		rc = EXIT_IO;
		goto out;
	}
	if (as_json) {
		json_t *j = json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:s, s:s?, s:s}", "ok", rep.ok, "entries",
				      (json_int_t)rep.entries, "checkpoints", (json_int_t)rep.checkpoints,
				      "latest_checkpoint", (json_int_t)rep.latest_checkpoint, "external_checkpoint",
				      (json_int_t)rep.external_size, "first_bad_index", (json_int_t)rep.first_bad_index,
				      "root", rep.root_hex, "problem", rep.ok ? NULL : rep.problem, "key",
				      keyarg == NULL ? "none" : (stored_key != NULL ? "stored" : "given"));
		char *txt = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
		puts(txt ? txt : "{}");
		free(txt);
		json_decref(j);
	} else if (rep.ok) {
		printf("coffre audit verify: OK: %lld entries, root %s; %lld stored checkpoints verified%s%s\n",
		       (long long)rep.entries, rep.root_hex, (long long)rep.checkpoints,
		       keyarg == NULL ? " (no verifier key: signatures NOT checked)" : "",
		       rep.external_size >= 0 ? "; consistent with the given checkpoint" : "");
	} else if (rep.first_bad_index >= 0) {
		printf("coffre audit verify: FAILED at index %lld: %s\n", (long long)rep.first_bad_index, rep.problem);
	} else {
		printf("coffre audit verify: FAILED: %s\n", rep.problem);
	}
	if (rc == 0 && !rep.ok)
		rc = 1;
out:
	cf_store_close(st);
	free(stored_key);
	free(ext);
	return rc;
}

/* `coffre roles`: the delegated-administration table (docs/roles.md is its --markdown output). */
static int cmd_roles(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		printf("usage: coffre roles [--json | --markdown]\n\n"
		       "Prints who may do what in delegated administration: every operation and the\n"
		       "scope each manager level gets (the table the daemon enforces).\n");
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--json") == 0) {
		json_t *t = cf_admin_table_json();
		char *s = json_dumps(t, JSON_INDENT(2));
		puts(s ? s : "[]");
		free(s);
		json_decref(t);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--markdown") != 0) {
		fprintf(stderr, "coffre roles: unknown option '%s'\n", argv[1]);
		return EXIT_USAGE;
	}
	cf_admin_table_markdown(stdout);
	return 0;
}

static int cmd_routes(int argc, char **argv)
{
	json_t *r = cf_http_routes_json();
	bool as_json = argc > 1 && strcmp(argv[1], "--json") == 0;
	size_t i;
	json_t *it;

	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		printf("usage: coffre routes [--json]\n\nPrints every route the daemon serves (method and path).\n");
		json_decref(r);
		return 0;
	}
	if (as_json) {
		char *s = json_dumps(r, JSON_INDENT(2));
		puts(s ? s : "[]");
		free(s);
	} else {
		json_array_foreach(r, i, it)
		{
			printf("%-7s %s\n", json_string_value(json_object_get(it, "method")),
			       json_string_value(json_object_get(it, "path")));
		}
	}
	json_decref(r);
	return 0;
}

int main(int argc, char **argv)
{
	int rc;

	if (cf_crypto_init() != CF_OK) {
		fprintf(stderr, "coffre: cannot initialize the cryptographic library\n");
		return EXIT_IO;
	}
	cf_process_harden();
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("coffre %s\n", COFFRE_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "init") == 0)
		return cmd_init(argc - 1, argv + 1);
	if (strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "routes") == 0)
		return cmd_routes(argc - 1, argv + 1);
	if (strcmp(argv[1], "roles") == 0)
		return cmd_roles(argc - 1, argv + 1);
	if (strcmp(argv[1], "audit") == 0 && argc > 2 && strcmp(argv[2], "verify") == 0)
		return cmd_audit_verify(argc - 2, argv + 2);
	rc = cf_cli_dispatch(argc - 1, argv + 1);
	if (rc == -1) {
		fprintf(stderr, "coffre: unknown command '%s' (see coffre --help)\n", argv[1]);
		return EXIT_USAGE;
	}
	return rc;
}
