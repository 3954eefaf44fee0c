/*
 * config.c - table-driven configuration (see config.h). Nothing here is
 * secret today; a key marked sensitive would print as <redacted>.
 */
#include "common/cf.h"
#include "config/config.h"

#include <ctype.h>
#include <errno.h>

#define PATH_MAX_SHORT 160

typedef enum { K_STR, K_LONG, K_ENV } ktype;

typedef struct key_def {
	const char *name;
	ktype type;
	size_t offset;
	size_t size; /* for strings */
	long min, max;
	const char *def;
	const char *help;
} key_def;

#define OFF(f) offsetof(cf_config, f)
static const key_def keys[] = {
	{"listen", K_STR, OFF(listen), sizeof(((cf_config *)0)->listen), 0, 0, "127.0.0.1:8443",
	 "address and port of the HTTPS listener (IPv4 a.b.c.d:port or [v6]:port)"},
	{"environment", K_ENV, OFF(environment), 0, 0, 0, "development",
	 "production | acceptance | test | development; production refuses the development key file, debug options and test data"},
	{"max_body_bytes", K_LONG, OFF(max_body_bytes), 0, 1024, 64L * 1024 * 1024, "1048576",
	 "largest request body accepted; larger bodies get 413"},
	{"connection_limit", K_LONG, OFF(connection_limit), 0, 1, 4096, "256",
	 "maximum concurrent connections (each is served by a thread of its own)"},
	{"per_ip_connection_limit", K_LONG, OFF(per_ip_connection_limit), 0, 1, 65536, "32",
	 "maximum concurrent connections from one client address"},
	{"connection_timeout_seconds", K_LONG, OFF(connection_timeout_seconds), 0, 1, 3600, "30",
	 "idle connections (slow clients) are closed after this many seconds"},
	{"threads", K_LONG, OFF(threads), 0, 1, 256, "32",
	 "read-only store connections shared by the connections' threads: as many as the requests expected at "
	 "once (each waits for its audit entry's durable commit); a request waits for a free one"},
	{"token_ttl_seconds", K_LONG, OFF(token_ttl_seconds), 0, 1, 7L * 86400, "28800", "lifetime of a login token"},
	{"login_max_failures", K_LONG, OFF(login_max_failures), 0, 1, 100, "5",
	 "failed logins in a row before the account is locked"},
	{"login_lockout_seconds", K_LONG, OFF(login_lockout_seconds), 0, 1, 86400, "900",
	 "how long a locked account stays locked"},
	{"shutdown_grace_seconds", K_LONG, OFF(shutdown_grace_seconds), 0, 0, 600, "10",
	 "on SIGTERM, time given to requests in flight before the daemon stops"},
	{"store_busy_timeout_ms", K_LONG, OFF(store_busy_timeout_ms), 0, 10, 60000, "5000",
	 "longest wait for the store; past it the request fails with 503 instead of hanging"},
	{"audit_checkpoint_interval_ms", K_LONG, OFF(audit_checkpoint_interval_ms), 0, 100, 60000, "1000",
	 "while audit entries arrive, a checkpoint is signed at least this often"},
	{"audit_max_batch", K_LONG, OFF(audit_max_batch), 0, 1, 4096, "256",
	 "most requests whose audit entries share one transaction and one sync (group commit)"},
	{"audit_commit_delay_us", K_LONG, OFF(audit_commit_delay_us), 0, 0, 5000, "500",
	 "longest time a batch of audit entries without work waits for the entries of requests in progress, "
	 "so that they share its sync (0: never waits)"},
	{"retention_sweep_interval_seconds", K_LONG, OFF(retention_sweep_interval_seconds), 0, 1, 7L * 86400, "3600",
	 "how often the retention sweeper disposes of records whose retention has ended"},
	{"retention_batch", K_LONG, OFF(retention_batch), 0, 1, 10000, "500",
	 "most records disposed of in one transaction, with one disposal record and one audit entry"},
	{"log_level", K_STR, OFF(log_level), sizeof(((cf_config *)0)->log_level), 0, 0, "info",
	 "error | warn | info | debug (debug is refused in production)"},
	{"debug_clock_offset_seconds", K_LONG, OFF(debug_clock_offset_seconds), 0, -100L * 366 * 86400,
	 100L * 366 * 86400, "0",
	 "debug option for acceptance and test runs: shifts the daemon's clock (retention, expiry); refused in production"},
};

static const char *env_names[] = {
	[CF_ENV_DEVELOPMENT] = "development",
	[CF_ENV_TEST] = "test",
	[CF_ENV_ACCEPTANCE] = "acceptance",
	[CF_ENV_PRODUCTION] = "production",
};

const char *cf_environment_name(cf_environment e)
{
	return ((unsigned)e < CF_ARRAY_LEN(env_names)) ? env_names[e] : "unknown";
}

static const key_def *find_key(const char *name)
{
	for (size_t i = 0; i < CF_ARRAY_LEN(keys); i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

cf_rc cf_config_set(cf_config *c, const char *key, const char *value, cf_err *err)
{
	const key_def *k = find_key(key);
	char *base = (char *)c;

	if (k == NULL)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "unknown configuration key '%s'", key);
	switch (k->type) {
	case K_STR: {
		size_t n = strlen(value);
		if (n == 0 || n >= k->size)
			return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "%s: must be 1 to %zu characters", key,
					  k->size - 1);
		if (strcmp(key, "log_level") == 0 && strcmp(value, "error") != 0 && strcmp(value, "warn") != 0 &&
		    strcmp(value, "info") != 0 && strcmp(value, "debug") != 0)
			return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
					  "%s: must be error, warn, info or debug", key);
		memcpy(base + k->offset, value, n + 1);
		return CF_OK;
	}
	case K_LONG: {
		char *end = NULL;
		long v;
		errno = 0;
		v = strtol(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0' || v < k->min || v > k->max)
			return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "%s: must be an integer between %ld and %ld",
					  key, k->min, k->max);
		memcpy(base + k->offset, &v, sizeof(v));
		return CF_OK;
	}
	case K_ENV:
		for (size_t i = 0; i < CF_ARRAY_LEN(env_names); i++) {
			if (strcmp(env_names[i], value) == 0) {
				cf_environment e = (cf_environment)i;
				memcpy(base + k->offset, &e, sizeof(e));
				return CF_OK;
			}
		}
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				  "%s: must be production, acceptance, test or development", key);
	}
	return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "bad key table");
}

void cf_config_defaults(cf_config *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < CF_ARRAY_LEN(keys); i++)
		if (cf_config_set(c, keys[i].name, keys[i].def, NULL) != CF_OK)
			CF_BUG("a configuration default is invalid");
}

static char *trim(char *s)
{
	char *e;
	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

cf_rc cf_config_load(cf_config *c, const char *path, bool must_exist, cf_err *err)
{
	FILE *f = NULL;
	char line[1024];
	int lineno = 0;
	cf_rc rc = CF_OK;

	if (path != NULL) {
		f = fopen(path, "re");
		if (f == NULL && must_exist)
			return cf_err_set(err, CF_EIO, CF_P_INTERNAL, "%s: cannot open the configuration file", path);
	}
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		char *p, *eq, *k, *v;
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "%s:%d: line too long", path, lineno);
			goto out;
		}
		p = trim(line);
		if (*p == '\0' || *p == '#')
			continue;
		eq = strchr(p, '=');
		if (eq == NULL) {
			rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "%s:%d: expected key = value", path, lineno);
			goto out;
		}
		*eq = '\0';
		k = trim(p);
		v = trim(eq + 1);
		if (cf_config_set(c, k, v, err) != CF_OK) {
			char where[PATH_MAX_SHORT];
			(void)snprintf(where, sizeof(where), "%s:%d", path, lineno);
			cf_err_prefix(err, where);
			rc = CF_EINVAL;
			goto out;
		}
	}
	if (f != NULL && ferror(f)) {
		rc = cf_err_set(err, CF_EIO, CF_P_INTERNAL, "%s: read error (is it a regular file?)", path);
		goto out;
	}
	for (size_t i = 0; i < CF_ARRAY_LEN(keys); i++) {
		char envname[96] = "COFFRE_";
		const char *val;
		size_t j = strlen(envname);
		for (const char *q = keys[i].name; *q != '\0' && j + 1 < sizeof(envname); q++)
			envname[j++] = (char)toupper((unsigned char)*q);
		envname[j] = '\0';
		val = getenv(envname);
		if (val != NULL && cf_config_set(c, keys[i].name, val, err) != CF_OK) {
			char where[PATH_MAX_SHORT];
			(void)snprintf(where, sizeof(where), "environment %s", envname);
			cf_err_prefix(err, where);
			rc = CF_EINVAL;
			goto out;
		}
	}
	rc = cf_config_check(c, err);
out:
	if (f != NULL)
		fclose(f);
	return rc;
}

cf_rc cf_config_check(const cf_config *c, cf_err *err)
{
	if (c->environment != CF_ENV_PRODUCTION)
		return CF_OK;
	if (c->debug_clock_offset_seconds != 0)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				  "debug_clock_offset_seconds: debug options are refused in production");
	if (strcmp(c->log_level, "debug") == 0)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				  "log_level: debug logging is refused in production");
	return CF_OK;
}

void cf_config_write_template(FILE *f, const char *listen)
{
	fprintf(f, "# coffre configuration. Every key, its default and its meaning;\n"
		   "# environment variables COFFRE_<KEY> override this file.\n");
	for (size_t i = 0; i < CF_ARRAY_LEN(keys); i++) {
		const char *v = keys[i].def;
		if (listen != NULL && strcmp(keys[i].name, "listen") == 0)
			v = listen;
		fprintf(f, "\n# %s (default %s)\n%s = %s\n", keys[i].help, keys[i].def, keys[i].name, v);
	}
}

void cf_config_print_keys(FILE *f)
{
	for (size_t i = 0; i < CF_ARRAY_LEN(keys); i++)
		fprintf(f, "  %-28s %-16s %s\n", keys[i].name, keys[i].def, keys[i].help);
}
