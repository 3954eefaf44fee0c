/*
 * config.h - the daemon's configuration: one file of `key = value` lines,
 * every key declared once in a table (name, type, default, bounds, help)
 * that drives parsing, validation, environment overrides (COFFRE_<KEY>),
 * `coffre serve --help` and docs/configuration.md. An unknown key or a bad
 * value stops start-up with an error naming the key and the line.
 */
#ifndef CF_CONFIG_H
#define CF_CONFIG_H

#include "common/cf.h"

typedef enum cf_environment {
	CF_ENV_DEVELOPMENT,
	CF_ENV_TEST,
	CF_ENV_ACCEPTANCE,
	CF_ENV_PRODUCTION,
} cf_environment;

typedef struct cf_config {
	char listen[128];
	cf_environment environment;
	long max_body_bytes;
	long connection_limit;
	long per_ip_connection_limit;
	long connection_timeout_seconds;
	long threads;
	long token_ttl_seconds;
	long login_max_failures;
	long login_lockout_seconds;
	long shutdown_grace_seconds;
	long store_busy_timeout_ms;
	long audit_checkpoint_interval_ms;
	long audit_max_batch;
	long audit_commit_delay_us;
	long retention_sweep_interval_seconds;
	long retention_batch;
	char log_level[16];
	long debug_clock_offset_seconds;
} cf_config;

/* Fills every key with its default. */
void cf_config_defaults(cf_config *c);
/*
 * Reads a config file (a missing file is an error only when `must_exist`),
 * then applies COFFRE_<KEY> environment overrides. Errors name the key and
 * the line: "coffre.conf:12: max_body_bytes: must be between 1024 and ...".
 */
cf_rc cf_config_load(cf_config *c, const char *path, bool must_exist, cf_err *err) CF_MUST_CHECK;
/*
 * The checks between keys, run by cf_config_load after every override and
 * again by callers that set keys later: production refuses debug options
 * (a shifted clock, debug logging). Errors name the key.
 */
cf_rc cf_config_check(const cf_config *c, cf_err *err) CF_MUST_CHECK;
/* Sets one key from text (used by the file parser, env overrides and flags). */
cf_rc cf_config_set(cf_config *c, const char *key, const char *value, cf_err *err) CF_MUST_CHECK;
/* Writes the documented default file (every key, commented with its help). */
void cf_config_write_template(FILE *f, const char *listen);
/* Prints the key table (name, default, help) for --help. */
void cf_config_print_keys(FILE *f);
const char *cf_environment_name(cf_environment e);

#endif
