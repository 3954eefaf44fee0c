/*
 * test_config.c - the configuration table: defaults equal to
 * docs/configuration.md and to `--help`, every key type at its bounds,
 * file parsing (comments, blank lines, spacing, unknown keys, missing '=',
 * over-long lines, missing files), COFFRE_<KEY> environment overrides and
 * the template written by `coffre init` loading back to the defaults.
 *
 * Every error detail is compared whole: it is what an operator sees at
 * start-up. Each test clears the COFFRE_* variables it could be disturbed
 * by, and works in its own mkdtemp directory.
 */
#include "common/cf.h"
#include "config/config.h"

#include <errno.h>
#include <limits.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

/* ---- helpers ---------------------------------------------------------- */

typedef struct long_key {
	const char *name;
	const char *env;
	size_t offset;
	long min, max, def;
} long_key;

#define LK(n, e, f, lo, hi, d) {n, e, offsetof(cf_config, f), lo, hi, d}
static const long_key long_keys[] = {
	LK("max_body_bytes", "COFFRE_MAX_BODY_BYTES", max_body_bytes, 1024, 67108864, 1048576),
	LK("connection_limit", "COFFRE_CONNECTION_LIMIT", connection_limit, 1, 4096, 256),
	LK("per_ip_connection_limit", "COFFRE_PER_IP_CONNECTION_LIMIT", per_ip_connection_limit, 1, 65536, 32),
	LK("connection_timeout_seconds", "COFFRE_CONNECTION_TIMEOUT_SECONDS", connection_timeout_seconds, 1, 3600, 30),
	LK("threads", "COFFRE_THREADS", threads, 1, 256, 32),
	LK("token_ttl_seconds", "COFFRE_TOKEN_TTL_SECONDS", token_ttl_seconds, 1, 604800, 28800),
	LK("login_max_failures", "COFFRE_LOGIN_MAX_FAILURES", login_max_failures, 1, 100, 5),
	LK("login_lockout_seconds", "COFFRE_LOGIN_LOCKOUT_SECONDS", login_lockout_seconds, 1, 86400, 900),
	LK("shutdown_grace_seconds", "COFFRE_SHUTDOWN_GRACE_SECONDS", shutdown_grace_seconds, 0, 600, 10),
	LK("store_busy_timeout_ms", "COFFRE_STORE_BUSY_TIMEOUT_MS", store_busy_timeout_ms, 10, 60000, 5000),
	LK("audit_checkpoint_interval_ms", "COFFRE_AUDIT_CHECKPOINT_INTERVAL_MS", audit_checkpoint_interval_ms, 100, 60000,
	   1000),
	LK("audit_max_batch", "COFFRE_AUDIT_MAX_BATCH", audit_max_batch, 1, 4096, 256),
	LK("audit_commit_delay_us", "COFFRE_AUDIT_COMMIT_DELAY_US", audit_commit_delay_us, 0, 5000, 500),
	LK("retention_sweep_interval_seconds", "COFFRE_RETENTION_SWEEP_INTERVAL_SECONDS",
	   retention_sweep_interval_seconds, 1, 604800, 3600),
	LK("retention_batch", "COFFRE_RETENTION_BATCH", retention_batch, 1, 10000, 500),
	LK("debug_clock_offset_seconds", "COFFRE_DEBUG_CLOCK_OFFSET_SECONDS", debug_clock_offset_seconds, -3162240000L,
	   3162240000L, 0),
};

/* Every key the daemon knows, in table order. */
static const char *all_keys[] = {
	"listen",	       "environment",	    "max_body_bytes",	     "connection_limit",
	"per_ip_connection_limit", "connection_timeout_seconds", "threads", "token_ttl_seconds",
	"login_max_failures",  "login_lockout_seconds", "shutdown_grace_seconds", "store_busy_timeout_ms",
	"audit_checkpoint_interval_ms", "audit_max_batch", "audit_commit_delay_us", "retention_sweep_interval_seconds", "retention_batch",
	"log_level", "debug_clock_offset_seconds",
};

static long get_long(const cf_config *c, const long_key *k)
{
	long v;
	memcpy(&v, (const char *)c + k->offset, sizeof(v));
	return v;
}

static void clear_env(void)
{
	for (size_t i = 0; i < CF_ARRAY_LEN(all_keys); i++) {
		char name[96] = "COFFRE_";
		size_t j = strlen(name);
		for (const char *q = all_keys[i]; *q != '\0'; q++)
			name[j++] = (char)((*q >= 'a' && *q <= 'z') ? *q - 'a' + 'A' : *q);
		name[j] = '\0';
		unsetenv(name);
	}
}

typedef struct fx {
	char dir[64];
	char path[128];
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	memcpy(f->dir, "/tmp/cf_config_test_XXXXXX", sizeof("/tmp/cf_config_test_XXXXXX"));
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(cf_snprintf(f->path, sizeof(f->path), "%s/coffre.conf", f->dir), CF_OK);
	clear_env();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	clear_env();
	(void)unlink(f->path);
	(void)rmdir(f->dir);
	free(f);
	return 0;
}

static void write_file(const char *path, const char *text, size_t len)
{
	FILE *fp = fopen(path, "we");

	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static void write_str(const char *path, const char *text)
{
	write_file(path, text, strlen(text));
}

/* A config whose every key differs from its default. */
static void non_defaults(cf_config *c)
{
	cf_err err = {0};
	static const char *kv[][2] = {
		{"listen", "[::1]:9999"},
		{"environment", "production"},
		{"max_body_bytes", "2048"},
		{"connection_limit", "7"},
		{"per_ip_connection_limit", "3"},
		{"connection_timeout_seconds", "9"},
		{"threads", "2"},
		{"token_ttl_seconds", "60"},
		{"login_max_failures", "9"},
		{"login_lockout_seconds", "1"},
		{"shutdown_grace_seconds", "0"},
		{"store_busy_timeout_ms", "10"},
		{"log_level", "warn"},
		{"retention_sweep_interval_seconds", "5"},
		{"retention_batch", "3"},
	};

	cf_config_defaults(c);
	for (size_t i = 0; i < CF_ARRAY_LEN(kv); i++)
		if (cf_config_set(c, kv[i][0], kv[i][1], &err) != CF_OK)
			fail_msg("%s", err.detail);
}

/* ---- defaults ------------------------------------------------------- */

static void test_defaults_exact(void **state)
{
	cf_config c;

	memset(&c, 0x5a, sizeof(c));
	cf_config_defaults(&c);
	assert_string_equal(c.listen, "127.0.0.1:8443");
	assert_int_equal(c.environment, CF_ENV_DEVELOPMENT);
	assert_int_equal(c.max_body_bytes, 1048576);
	assert_int_equal(c.connection_limit, 256);
	assert_int_equal(c.per_ip_connection_limit, 32);
	assert_int_equal(c.connection_timeout_seconds, 30);
	assert_int_equal(c.threads, 32);
	assert_int_equal(c.token_ttl_seconds, 28800);
	assert_int_equal(c.login_max_failures, 5);
	assert_int_equal(c.login_lockout_seconds, 900);
	assert_int_equal(c.shutdown_grace_seconds, 10);
	assert_int_equal(c.store_busy_timeout_ms, 5000);
	assert_string_equal(c.log_level, "info");
	for (size_t i = 0; i < CF_ARRAY_LEN(long_keys); i++)
		assert_int_equal(get_long(&c, &long_keys[i]), long_keys[i].def);

	assert_string_equal(cf_environment_name(CF_ENV_DEVELOPMENT), "development");
	assert_string_equal(cf_environment_name(CF_ENV_TEST), "test");
	assert_string_equal(cf_environment_name(CF_ENV_ACCEPTANCE), "acceptance");
	assert_string_equal(cf_environment_name(CF_ENV_PRODUCTION), "production");
	assert_string_equal(cf_environment_name((cf_environment)4), "unknown");
	assert_string_equal(cf_environment_name((cf_environment)-1), "unknown");
}

/* Finds docs/configuration.md next to this source file (or via CF_VECTORS). */
static FILE *open_doc(void)
{
	char path[PATH_MAX];
	const char *src = __FILE__, *slash = strrchr(src, '/');
	const char *vec = getenv("CF_VECTORS");
	FILE *fp = NULL;

	if (slash != NULL &&
	    cf_snprintf(path, sizeof(path), "%.*s/../../docs/configuration.md", (int)(slash - src), src) == CF_OK)
		fp = fopen(path, "re");
	if (fp == NULL && vec != NULL && cf_snprintf(path, sizeof(path), "%s/../../docs/configuration.md", vec) == CF_OK)
		fp = fopen(path, "re");
	if (fp == NULL)
		fp = fopen("docs/configuration.md", "re");
	return fp;
}

/* Copies the text between the n-th pair of backticks of line into out. */
static bool backticked(const char *line, int n, char *out, size_t size)
{
	const char *p = line;
	for (int i = 0; i <= n; i++) {
		const char *a = strchr(p, '`'), *b;
		if (a == NULL)
			return false;
		b = strchr(a + 1, '`');
		if (b == NULL)
			return false;
		if (i == n) {
			size_t len = (size_t)(b - a - 1);
			if (len >= size)
				return false;
			memcpy(out, a + 1, len);
			out[len] = '\0';
			return true;
		}
		p = b + 1;
	}
	return false;
}

static void test_defaults_match_docs(void **state)
{
	FILE *doc = open_doc(), *mem;
	char line[1024], key[64], def[64];
	char *help = NULL;
	size_t help_len = 0;
	bool in_table = false;
	int rows = 0;
	cf_config defaults;

	if (doc == NULL)
		fail_msg("docs/configuration.md not found");
	cf_config_defaults(&defaults);

	/* --help's table, to check the documented default against the declared one as text */
	mem = open_memstream(&help, &help_len);
	assert_non_null(mem);
	cf_config_print_keys(mem);
	assert_int_equal(fclose(mem), 0);

	while (fgets(line, sizeof(line), doc) != NULL) {
		if (strncmp(line, "| key | default | meaning |", 27) == 0) {
			in_table = true;
			continue;
		}
		if (!in_table || strncmp(line, "|---", 4) == 0)
			continue;
		if (line[0] != '|')
			break;
		assert_true(backticked(line, 0, key, sizeof(key)));
		assert_true(backticked(line, 1, def, sizeof(def)));
		rows++;
		/* the documented default, set on top of the defaults, changes nothing */
		{
			cf_config c;
			cf_err err = {0};
			cf_config_defaults(&c);
			if (cf_config_set(&c, key, def, &err) != CF_OK)
				fail_msg("documented key %s = %s refused: %s", key, def, err.detail);
			if (memcmp(&c, &defaults, sizeof(c)) != 0)
				fail_msg("documented default of %s (%s) differs from the code's", key, def);
		}
		/* and --help prints the same default text */
		{
			char want[160];
			assert_int_equal(cf_snprintf(want, sizeof(want), "  %-28s %-16s ", key, def), CF_OK);
			if (strstr(help, want) == NULL)
				fail_msg("--help does not show %s with default %s", key, def);
		}
	}
	fclose(doc);
	assert_int_equal(rows, (int)CF_ARRAY_LEN(all_keys));
	/* --help has one line per key, no more */
	{
		int lines = 0;
		for (const char *p = help; *p != '\0'; p++)
			lines += (*p == '\n');
		assert_int_equal(lines, (int)CF_ARRAY_LEN(all_keys));
	}
	free(help);
}

/* ---- cf_config_set -------------------------------------------------- */

static void test_set_long_bounds(void **state)
{
	for (size_t i = 0; i < CF_ARRAY_LEN(long_keys); i++) {
		const long_key *k = &long_keys[i];
		char v[32], want[160];
		cf_config c;
		cf_err err = {0};

		cf_config_defaults(&c);
		assert_int_equal(cf_snprintf(want, sizeof(want), "%s: must be an integer between %ld and %ld", k->name,
					     k->min, k->max),
				 CF_OK);

		assert_int_equal(cf_snprintf(v, sizeof(v), "%ld", k->min), CF_OK);
		assert_int_equal(cf_config_set(&c, k->name, v, &err), CF_OK);
		assert_int_equal(get_long(&c, k), k->min);

		assert_int_equal(cf_snprintf(v, sizeof(v), "%ld", k->max), CF_OK);
		assert_int_equal(cf_config_set(&c, k->name, v, &err), CF_OK);
		assert_int_equal(get_long(&c, k), k->max);

		/* refusals leave the value as it was */
		assert_int_equal(cf_snprintf(v, sizeof(v), "%ld", k->min - 1), CF_OK);
		assert_int_equal(cf_config_set(&c, k->name, v, &err), CF_EINVAL);
		assert_int_equal(err.rc, CF_EINVAL);
		assert_int_equal(err.problem, CF_P_INVALID_VALUE);
		assert_string_equal(err.detail, want);
		assert_int_equal(get_long(&c, k), k->max);

		assert_int_equal(cf_snprintf(v, sizeof(v), "%ld", k->max + 1), CF_OK);
		cf_err_clear(&err);
		assert_int_equal(cf_config_set(&c, k->name, v, &err), CF_EINVAL);
		assert_string_equal(err.detail, want);
		assert_int_equal(get_long(&c, k), k->max);

		/* not numbers, or not only a number */
		{
			static const char *bad[] = {"",	 "abc", "12abc", "1.5",	 "0x10", "1e3", "5 ",
						    "--5", "-",	  "1,000", "20000000000000000000000",
						    "-20000000000000000000000"};
			for (size_t j = 0; j < CF_ARRAY_LEN(bad); j++) {
				cf_err_clear(&err);
				if (cf_config_set(&c, k->name, bad[j], &err) != CF_EINVAL)
					fail_msg("%s accepted '%s'", k->name, bad[j]);
				assert_string_equal(err.detail, want);
				assert_int_equal(get_long(&c, k), k->max);
			}
		}
		/* NULL err is fine */
		assert_int_equal(cf_config_set(&c, k->name, "x", NULL), CF_EINVAL);
	}
}

static void test_set_strings(void **state)
{
	cf_config c;
	cf_err err = {0};
	char v[200];

	cf_config_defaults(&c);

	/* listen: 1 to 127 characters */
	assert_int_equal(cf_config_set(&c, "listen", "[::]:443", &err), CF_OK);
	assert_string_equal(c.listen, "[::]:443");
	memset(v, 'a', 127);
	v[127] = '\0';
	assert_int_equal(cf_config_set(&c, "listen", v, &err), CF_OK);
	assert_string_equal(c.listen, v);
	v[127] = 'a';
	v[128] = '\0';
	assert_int_equal(cf_config_set(&c, "listen", v, &err), CF_EINVAL);
	assert_string_equal(err.detail, "listen: must be 1 to 127 characters");
	assert_int_equal(cf_config_set(&c, "listen", "", &err), CF_EINVAL);
	assert_string_equal(err.detail, "listen: must be 1 to 127 characters");
	assert_int_equal(strlen(c.listen), 127); /* unchanged */

	/* environment names */
	{
		static const struct {
			const char *name;
			cf_environment e;
		} ok[] = {{"production", CF_ENV_PRODUCTION},
			  {"acceptance", CF_ENV_ACCEPTANCE},
			  {"test", CF_ENV_TEST},
			  {"development", CF_ENV_DEVELOPMENT}};
		static const char *bad[] = {"", "Production", "prod", "dev", "production ", "staging", "PRODUCTION"};
		for (size_t i = 0; i < CF_ARRAY_LEN(ok); i++) {
			assert_int_equal(cf_config_set(&c, "environment", ok[i].name, &err), CF_OK);
			assert_int_equal(c.environment, ok[i].e);
		}
		for (size_t i = 0; i < CF_ARRAY_LEN(bad); i++) {
			cf_err_clear(&err);
			if (cf_config_set(&c, "environment", bad[i], &err) != CF_EINVAL)
				fail_msg("environment '%s' accepted", bad[i]);
			assert_int_equal(err.problem, CF_P_INVALID_VALUE);
			assert_string_equal(err.detail, "environment: must be production, acceptance, test or development");
			assert_int_equal(c.environment, CF_ENV_DEVELOPMENT);
		}
	}

	/* log_level */
	{
		static const char *ok[] = {"error", "warn", "info", "debug"};
		static const char *bad[] = {"trace", "INFO", "warning", "info ", "fatal"};
		for (size_t i = 0; i < CF_ARRAY_LEN(ok); i++) {
			assert_int_equal(cf_config_set(&c, "log_level", ok[i], &err), CF_OK);
			assert_string_equal(c.log_level, ok[i]);
		}
		for (size_t i = 0; i < CF_ARRAY_LEN(bad); i++) {
			cf_err_clear(&err);
			if (cf_config_set(&c, "log_level", bad[i], &err) != CF_EINVAL)
				fail_msg("log_level '%s' accepted", bad[i]);
			assert_string_equal(err.detail, "log_level: must be error, warn, info or debug");
			assert_string_equal(c.log_level, "debug");
		}
		/* length is checked first */
		assert_int_equal(cf_config_set(&c, "log_level", "", &err), CF_EINVAL);
		assert_string_equal(err.detail, "log_level: must be 1 to 15 characters");
		assert_int_equal(cf_config_set(&c, "log_level", "debugdebugdebugd", &err), CF_EINVAL);
		assert_string_equal(err.detail, "log_level: must be 1 to 15 characters");
		assert_string_equal(c.log_level, "debug");
	}

	/* unknown keys, including near misses */
	{
		static const char *bad[] = {"nope", "Threads", "threads ", "", "max-body-bytes", "audit"};
		for (size_t i = 0; i < CF_ARRAY_LEN(bad); i++) {
			char want[96];
			cf_err_clear(&err);
			assert_int_equal(cf_config_set(&c, bad[i], "1", &err), CF_EINVAL);
			assert_int_equal(err.problem, CF_P_INVALID_VALUE);
			assert_int_equal(cf_snprintf(want, sizeof(want), "unknown configuration key '%s'", bad[i]), CF_OK);
			assert_string_equal(err.detail, want);
		}
	}
}

/* ---- production refuses debug options ---------------------------------- */

static void test_production_refuses_debug(void **state)
{
	fx *f = *state;
	cf_config c;
	cf_err err = {0};

	/* outside production the debug options are accepted */
	write_str(f->path, "environment = acceptance\ndebug_clock_offset_seconds = 86400\nlog_level = debug\n");
	cf_config_defaults(&c);
	assert_int_equal(cf_config_load(&c, f->path, true, &err), CF_OK);
	assert_int_equal(c.debug_clock_offset_seconds, 86400);
	assert_int_equal(cf_config_check(&c, &err), CF_OK);

	write_str(f->path, "environment = production\ndebug_clock_offset_seconds = -1\n");
	cf_config_defaults(&c);
	assert_int_equal(cf_config_load(&c, f->path, true, &err), CF_EINVAL);
	assert_string_equal(err.detail, "debug_clock_offset_seconds: debug options are refused in production");

	write_str(f->path, "environment = production\nlog_level = debug\n");
	cf_config_defaults(&c);
	assert_int_equal(cf_config_load(&c, f->path, true, &err), CF_EINVAL);
	assert_string_equal(err.detail, "log_level: debug logging is refused in production");

	/* an override cannot sneak one in either */
	write_str(f->path, "environment = production\n");
	assert_int_equal(setenv("COFFRE_DEBUG_CLOCK_OFFSET_SECONDS", "60", 1), 0);
	cf_config_defaults(&c);
	assert_int_equal(cf_config_load(&c, f->path, true, &err), CF_EINVAL);
	assert_string_equal(err.detail, "debug_clock_offset_seconds: debug options are refused in production");
	assert_int_equal(unsetenv("COFFRE_DEBUG_CLOCK_OFFSET_SECONDS"), 0);

	/* production without them starts */
	cf_config_defaults(&c);
	assert_int_equal(cf_config_load(&c, f->path, true, &err), CF_OK);
	assert_int_equal(c.environment, CF_ENV_PRODUCTION);
	/* a key set after loading is caught by the explicit check */
	memcpy(c.log_level, "debug", 6);
	assert_int_equal(cf_config_check(&c, &err), CF_EINVAL);
}

/* ---- cf_config_load -------------------------------------------------- */

static void test_load_file(void **state)
{
	fx *f = *state;
	cf_config c, want;
	cf_err err = {0};

	write_str(f->path, "# a comment\n"
			   "\n"
			   "   \t\n"
			   "  # an indented comment\n"
			   "threads=8\n"
			   "  max_body_bytes   =   2048  \n"
			   "\tlog_level\t=\tdebug\t\n"
			   "environment = test\r\n"
			   "listen = 0.0.0.0:9443\n"
			   "store_busy_timeout_ms = 10");
	cf_config_defaults(&c);
	assert_int_equal(cf_config_load(&c, f->path, true, &err), CF_OK);
	cf_config_defaults(&want);
	want.threads = 8;
	want.max_body_bytes = 2048;
	memcpy(want.log_level, "debug", 6);
	want.environment = CF_ENV_TEST;
	memcpy(want.listen, "0.0.0.0:9443", 13);
	want.store_busy_timeout_ms = 10;
	assert_memory_equal(&c, &want, sizeof(c));

	/* an empty file changes nothing */
	write_str(f->path, "");
	assert_int_equal(cf_config_load(&c, f->path, true, &err), CF_OK);
	assert_memory_equal(&c, &want, sizeof(c));

	/* a value may contain '=' (only the first one splits) */
	write_str(f->path, "listen = a=b\n");
	assert_int_equal(cf_config_load(&c, f->path, true, &err), CF_OK);
	assert_string_equal(c.listen, "a=b");
}

static void test_load_errors(void **state)
{
	fx *f = *state;
	cf_config c;
	cf_err err = {0};
	char want[300];

	cf_config_defaults(&c);

	/* unknown key: file, line and key */
	write_str(f->path, "# c\nthreads = 2\n\nbogus_key = 1\nthreads = 3\n");
	assert_int_equal(cf_config_load(&c, f->path, true, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_INVALID_VALUE);
	assert_int_equal(cf_snprintf(want, sizeof(want), "%s:4: unknown configuration key 'bogus_key'", f->path), CF_OK);
	assert_string_equal(err.detail, want);
	assert_int_equal(c.threads, 2); /* stopped at the bad line */

	/* a bad value: the documented message shape */
	cf_err_clear(&err);
	write_str(f->path, "threads = 4\nmax_body_bytes = 1023\n");
	assert_int_equal(cf_config_load(&c, f->path, true, &err), CF_EINVAL);
	assert_int_equal(
		cf_snprintf(want, sizeof(want), "%s:2: max_body_bytes: must be an integer between 1024 and 67108864", f->path),
		CF_OK);
	assert_string_equal(err.detail, want);

	/* missing '=' */
	cf_err_clear(&err);
	write_str(f->path, "threads = 4\n\nthreads 5\n");
	assert_int_equal(cf_config_load(&c, f->path, true, &err), CF_EINVAL);
	assert_int_equal(cf_snprintf(want, sizeof(want), "%s:3: expected key = value", f->path), CF_OK);
	assert_string_equal(err.detail, want);

	/* an empty key, an empty value */
	cf_err_clear(&err);
	write_str(f->path, " = 5\n");
	assert_int_equal(cf_config_load(&c, f->path, true, &err), CF_EINVAL);
	assert_int_equal(cf_snprintf(want, sizeof(want), "%s:1: unknown configuration key ''", f->path), CF_OK);
	assert_string_equal(err.detail, want);
	cf_err_clear(&err);
	write_str(f->path, "threads =\n");
	assert_int_equal(cf_config_load(&c, f->path, true, &err), CF_EINVAL);
	assert_int_equal(cf_snprintf(want, sizeof(want), "%s:1: threads: must be an integer between 1 and 256", f->path),
			 CF_OK);
	assert_string_equal(err.detail, want);

	/* NULL err is fine */
	assert_int_equal(cf_config_load(&c, f->path, true, NULL), CF_EINVAL);
}

static void test_load_long_lines(void **state)
{
	fx *f = *state;
	cf_config c;
	cf_err err = {0};
	char want[300];
	char *text = malloc(4096);
	size_t n;

	assert_non_null(text);
	cf_config_defaults(&c);

	/* 1022 characters and a newline fit the line buffer */
	n = 0;
	memcpy(text, "threads = 3\n#", 13);
	n = 13;
	memset(text + n, 'x', 1021);
	n += 1021;
	text[n++] = '\n';
	memcpy(text + n, "threads = 5\n", 12);
	n += 12;
	write_file(f->path, text, n);
	assert_int_equal(cf_config_load(&c, f->path, true, &err), CF_OK);
	assert_int_equal(c.threads, 5);

	/* one more and the line is refused, naming its number */
	n = 0;
	memcpy(text, "threads = 3\n#", 13);
	n = 13;
	memset(text + n, 'x', 1022);
	n += 1022;
	text[n++] = '\n';
	memcpy(text + n, "threads = 6\n", 12);
	n += 12;
	write_file(f->path, text, n);
	assert_int_equal(cf_config_load(&c, f->path, true, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_INVALID_VALUE);
	assert_int_equal(cf_snprintf(want, sizeof(want), "%s:2: line too long", f->path), CF_OK);
	assert_string_equal(err.detail, want);
	assert_int_equal(c.threads, 3);

	/* a long value line: refused, not cut into a shorter valid value */
	memcpy(text, "threads = 7", 11);
	memset(text + 11, ' ', 3000);
	memcpy(text + 3011, "\n", 1);
	write_file(f->path, text, 3012);
	cf_err_clear(&err);
	assert_int_equal(cf_config_load(&c, f->path, true, &err), CF_EINVAL);
	assert_int_equal(cf_snprintf(want, sizeof(want), "%s:1: line too long", f->path), CF_OK);
	assert_string_equal(err.detail, want);
	assert_int_equal(c.threads, 3);
	free(text);
}

static void test_load_missing_file(void **state)
{
	fx *f = *state;
	cf_config c, d;
	cf_err err = {0};
	char want[300];

	cf_config_defaults(&c);
	cf_config_defaults(&d);
	/* f->path does not exist yet */
	assert_int_equal(cf_config_load(&c, f->path, true, &err), CF_EIO);
	assert_int_equal(err.rc, CF_EIO);
	assert_int_equal(cf_snprintf(want, sizeof(want), "%s: cannot open the configuration file", f->path), CF_OK);
	assert_string_equal(err.detail, want);
	assert_memory_equal(&c, &d, sizeof(c));

	cf_err_clear(&err);
	assert_int_equal(cf_config_load(&c, f->path, false, &err), CF_OK);
	assert_memory_equal(&c, &d, sizeof(c));
	assert_int_equal(cf_config_load(&c, NULL, false, &err), CF_OK);
	assert_memory_equal(&c, &d, sizeof(c));
}

static void test_load_env_override(void **state)
{
	fx *f = *state;
	cf_config c;
	cf_err err = {0};

	write_str(f->path, "max_body_bytes = 4096\nthreads = 8\n");

	/* the environment wins over the file */
	assert_int_equal(setenv("COFFRE_MAX_BODY_BYTES", "2048", 1), 0);
	cf_config_defaults(&c);
	assert_int_equal(cf_config_load(&c, f->path, true, &err), CF_OK);
	assert_int_equal(c.max_body_bytes, 2048);
	assert_int_equal(c.threads, 8);

	/* and applies without a file */
	cf_config_defaults(&c);
	assert_int_equal(cf_config_load(&c, NULL, false, &err), CF_OK);
	assert_int_equal(c.max_body_bytes, 2048);
	assert_int_equal(c.threads, 32);
	unlink(f->path);
	cf_config_defaults(&c);
	assert_int_equal(cf_config_load(&c, f->path, false, &err), CF_OK);
	assert_int_equal(c.max_body_bytes, 2048);

	/* a bad value in the environment is an error naming the variable */
	write_str(f->path, "max_body_bytes = 4096\n");
	assert_int_equal(setenv("COFFRE_MAX_BODY_BYTES", "lots", 1), 0);
	cf_config_defaults(&c);
	assert_int_equal(cf_config_load(&c, f->path, true, &err), CF_EINVAL);
	assert_int_equal(err.rc, CF_EINVAL);
	assert_int_equal(err.problem, CF_P_INVALID_VALUE);
	assert_string_equal(err.detail,
			    "environment COFFRE_MAX_BODY_BYTES: max_body_bytes: must be an integer between 1024 and 67108864");
	assert_int_equal(setenv("COFFRE_MAX_BODY_BYTES", "67108865", 1), 0);
	cf_err_clear(&err);
	assert_int_equal(cf_config_load(&c, NULL, false, &err), CF_EINVAL);
	assert_string_equal(err.detail,
			    "environment COFFRE_MAX_BODY_BYTES: max_body_bytes: must be an integer between 1024 and 67108864");
	/* an empty variable is a value too, and a bad one */
	assert_int_equal(setenv("COFFRE_MAX_BODY_BYTES", "", 1), 0);
	assert_int_equal(cf_config_load(&c, NULL, false, &err), CF_EINVAL);
	assert_int_equal(unsetenv("COFFRE_MAX_BODY_BYTES"), 0);

	/* a bad file line is reported before any environment value is looked at */
	write_str(f->path, "threads = 0\n");
	assert_int_equal(setenv("COFFRE_THREADS", "2", 1), 0);
	cf_config_defaults(&c);
	assert_int_equal(cf_config_load(&c, f->path, true, &err), CF_EINVAL);
	assert_non_null(strstr(err.detail, ":1: threads: "));

	/* every key has its variable */
	{
		static const char *kv[][3] = {
			{"COFFRE_LISTEN", "[::1]:1", "listen"},
			{"COFFRE_ENVIRONMENT", "acceptance", "environment"},
			{"COFFRE_LOG_LEVEL", "error", "log_level"},
		};
		unlink(f->path);
		for (size_t i = 0; i < CF_ARRAY_LEN(kv); i++)
			assert_int_equal(setenv(kv[i][0], kv[i][1], 1), 0);
		for (size_t i = 0; i < CF_ARRAY_LEN(long_keys); i++) {
			char v[32];
			assert_int_equal(cf_snprintf(v, sizeof(v), "%ld", long_keys[i].min), CF_OK);
			assert_int_equal(setenv(long_keys[i].env, v, 1), 0);
		}
		cf_config_defaults(&c);
		assert_int_equal(cf_config_load(&c, NULL, false, &err), CF_OK);
		assert_string_equal(c.listen, "[::1]:1");
		assert_int_equal(c.environment, CF_ENV_ACCEPTANCE);
		assert_string_equal(c.log_level, "error");
		for (size_t i = 0; i < CF_ARRAY_LEN(long_keys); i++)
			assert_int_equal(get_long(&c, &long_keys[i]), long_keys[i].min);
		/* and each names itself when bad */
		for (size_t i = 0; i < CF_ARRAY_LEN(long_keys); i++) {
			char v[32], want[200];
			assert_int_equal(cf_snprintf(v, sizeof(v), "%ld", long_keys[i].max + 1), CF_OK);
			assert_int_equal(setenv(long_keys[i].env, v, 1), 0);
			assert_int_equal(cf_config_load(&c, NULL, false, &err), CF_EINVAL);
			assert_int_equal(cf_snprintf(want, sizeof(want), "environment %s: %s: must be an integer between %ld and %ld",
						     long_keys[i].env, long_keys[i].name, long_keys[i].min, long_keys[i].max),
					 CF_OK);
			assert_string_equal(err.detail, want);
			assert_int_equal(unsetenv(long_keys[i].env), 0);
		}
		assert_int_equal(setenv("COFFRE_ENVIRONMENT", "prod", 1), 0);
		assert_int_equal(cf_config_load(&c, NULL, false, &err), CF_EINVAL);
		assert_string_equal(err.detail,
				    "environment COFFRE_ENVIRONMENT: environment: must be production, acceptance, test or development");
	}
}

/* ---- cf_config_write_template ----------------------------------------- */

static void test_template_round_trip(void **state)
{
	fx *f = *state;
	cf_config c, d;
	cf_err err = {0};
	FILE *fp;
	char *text = NULL;
	size_t len = 0;

	/* the template loads back to the defaults, whatever was there before */
	fp = fopen(f->path, "we");
	assert_non_null(fp);
	cf_config_write_template(fp, NULL);
	assert_int_equal(fclose(fp), 0);
	non_defaults(&c);
	cf_config_defaults(&d);
	assert_memory_not_equal(&c, &d, sizeof(c));
	assert_int_equal(cf_config_load(&c, f->path, true, &err), CF_OK);
	assert_memory_equal(&c, &d, sizeof(c));

	/* with a listen address, only that key differs */
	fp = fopen(f->path, "we");
	assert_non_null(fp);
	cf_config_write_template(fp, "0.0.0.0:9443");
	assert_int_equal(fclose(fp), 0);
	non_defaults(&c);
	assert_int_equal(cf_config_load(&c, f->path, true, &err), CF_OK);
	assert_string_equal(c.listen, "0.0.0.0:9443");
	memcpy(d.listen, c.listen, sizeof(d.listen));
	assert_memory_equal(&c, &d, sizeof(c));

	/* every key is written with its default and its help */
	fp = open_memstream(&text, &len);
	assert_non_null(fp);
	cf_config_write_template(fp, NULL);
	assert_int_equal(fclose(fp), 0);
	assert_non_null(strstr(text, "\nlisten = 127.0.0.1:8443\n"));
	assert_non_null(strstr(text, "\nenvironment = development\n"));
	assert_non_null(strstr(text, "\nmax_body_bytes = 1048576\n"));
	assert_non_null(strstr(text, "(default 1048576)\n"));
	assert_non_null(strstr(text, "\nlog_level = info\n"));
	for (size_t i = 0; i < CF_ARRAY_LEN(all_keys); i++) {
		char want[80];
		assert_int_equal(cf_snprintf(want, sizeof(want), "\n%s = ", all_keys[i]), CF_OK);
		if (strstr(text, want) == NULL)
			fail_msg("template lacks %s", all_keys[i]);
	}
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_defaults_match_docs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_long_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_strings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_production_refuses_debug, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_long_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_missing_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_env_override, setup, teardown),
		cmocka_unit_test_setup_teardown(test_template_round_trip, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
