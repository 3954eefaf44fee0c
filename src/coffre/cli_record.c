/*
 * cli_record.c - `coffre record`: create, get, update and delete the
 * personal-data records of a collection, always with a purpose
 * (X-Purpose), which the daemon checks against the caller's grants and
 * writes in the audit trail.
 *
 * The subject's national identifier is read from a file or stdin, never
 * from argv, and wiped once the body is built. --fields is parsed
 * strictly before anything is sent; an error names the position, never
 * the content.
 */
#include "common/cf.h"
#include "cli.h"

#include <errno.h>

#define RECORD_COMMON_OPTS                                                                                    \
	{"org", "ORG", CF_CLI_OPT_REQUIRED, "organization"},                                                  \
		{"collection", "NAME", CF_CLI_OPT_REQUIRED, "collection"},                                    \
		{"purpose", "PURPOSE", CF_CLI_OPT_REQUIRED, "purpose of the processing (sent as X-Purpose, audited)"}

#define RECORD_FIELDS_HELP                                                                                    \
	"the record's fields as a JSON object, inline or @FILE (@- for stdin); prefer @FILE: arguments are "  \
	"visible to other local users"

static const cf_cli_option record_create_opts[] = {
	RECORD_COMMON_OPTS,
	{"national-id-file", "FILE", 0, "file holding the subject's national identifier"},
	{"national-id", "-", CF_CLI_OPT_STDIN_ONLY,
	 "read the subject's national identifier from stdin (only '-' is accepted)"},
	{"fields", "JSON|@FILE", CF_CLI_OPT_REQUIRED, RECORD_FIELDS_HELP},
};
static const cf_cli_option record_id_opts[] = {
	RECORD_COMMON_OPTS,
};
static const cf_cli_option record_update_opts[] = {
	RECORD_COMMON_OPTS,
	{"fields", "JSON|@FILE", CF_CLI_OPT_REQUIRED, "the fields to change, " RECORD_FIELDS_HELP},
	{"version", "N", 0, "the version the change applies to (refused with version-conflict if it changed)"},
};

/* The record path (with the record id when with_id). */
static cf_rc record_path(const cf_cli_ctx *c, bool with_id, char *path, size_t size, cf_err *err)
{
	if (with_id)
		return cf_cli_path(path, size, err, "/v1/orgs/{}/collections/{}/records/{}", cf_cli_opt(c, "org"),
				   cf_cli_opt(c, "collection"), c->args.pos[0]);
	return cf_cli_path(path, size, err, "/v1/orgs/{}/collections/{}/records", cf_cli_opt(c, "org"),
			   cf_cli_opt(c, "collection"));
}

static int record_create(cf_cli_ctx *c)
{
	const char *fields_arg = cf_cli_opt(c, "fields");
	char path[4096], *nid = NULL;
	json_t *fields = NULL, *body = NULL;
	cf_err err = {0};
	int ex;

	if (record_path(c, false, path, sizeof(path), &err) != CF_OK)
		return cf_cli_fail(c, &err);
	if (cf_cli_national_id_from_stdin(c) && strcmp(fields_arg, "@-") == 0)
		return cf_cli_usage_error(c, "the national identifier and --fields cannot both come from stdin");
	if (cf_cli_json_arg("--fields", fields_arg, JSON_OBJECT, &fields, &err) != CF_OK)
		return cf_cli_fail(c, &err);
	ex = cf_cli_national_id(c, &nid);
	if (ex != CF_CLI_EXIT_OK)
		goto out;
	ex = cf_cli_pack(c, &body, "{s:{s:s}, s:O}", "subject", "national_id", nid, "fields", fields);
	cf_cli_secret_free(nid);
	if (ex != CF_CLI_EXIT_OK)
		goto out;
	ex = cf_cli_call(c, "POST", path, cf_cli_opt(c, "purpose"), body, cf_cli_print_plain);
out:
	json_decref(body);
	json_decref(fields);
	return ex;
}

static int record_get(cf_cli_ctx *c)
{
	char path[4096];
	cf_err err = {0};

	if (record_path(c, true, path, sizeof(path), &err) != CF_OK)
		return cf_cli_fail(c, &err);
	return cf_cli_call(c, "GET", path, cf_cli_opt(c, "purpose"), NULL, cf_cli_print_plain);
}

/* Parses --version: a positive integer that JSON carries exactly. */
static bool record_parse_version(const char *s, json_int_t *out)
{
	char *end = NULL;
	long long v;

	if (s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > (1LL << 53))
		return false;
	*out = (json_int_t)v;
	return true;
}

static int record_update(cf_cli_ctx *c)
{
	const char *vs = cf_cli_opt(c, "version");
	char path[4096];
	json_t *fields = NULL, *body = NULL, *version = NULL;
	json_int_t v = 0;
	cf_err err = {0};
	int ex;

	if (vs != NULL && !record_parse_version(vs, &v))
		return cf_cli_usage_error(c, "--version must be a positive integer");
	if (record_path(c, true, path, sizeof(path), &err) != CF_OK)
		return cf_cli_fail(c, &err);
	if (cf_cli_json_arg("--fields", cf_cli_opt(c, "fields"), JSON_OBJECT, &fields, &err) != CF_OK)
		return cf_cli_fail(c, &err);
	if (vs != NULL && (version = json_integer(v)) == NULL) {
		ex = CF_CLI_EXIT_IO;
		fputs("coffre: out of memory\n", stderr);
		goto out;
	}
	ex = cf_cli_pack(c, &body, "{s:O, s:O*}", "fields", fields, "version", version);
	if (ex != CF_CLI_EXIT_OK)
		goto out;
	ex = cf_cli_call(c, "PATCH", path, cf_cli_opt(c, "purpose"), body, cf_cli_print_plain);
out:
	json_decref(version);
	json_decref(body);
	json_decref(fields);
	return ex;
}

static void record_print_deleted(const cf_cli_ctx *c, const json_t *answer)
{
	fputs("deleted ", stdout);
	cf_cli_put(stdout, c->args.pos[0], strlen(c->args.pos[0]));
	fputc('\n', stdout);
}

static int record_delete(cf_cli_ctx *c)
{
	char path[4096];
	cf_err err = {0};

	if (record_path(c, true, path, sizeof(path), &err) != CF_OK)
		return cf_cli_fail(c, &err);
	return cf_cli_call(c, "DELETE", path, cf_cli_opt(c, "purpose"), NULL, record_print_deleted);
}

static const cf_cli_verb record_verbs[] = {
	{"create", NULL, 0,
	 "Creates a record for a subject, who is named by their national identifier (from --national-id-file "
	 "FILE or --national-id - for stdin; never on the command line).",
	 record_create_opts, CF_ARRAY_LEN(record_create_opts), CF_CLI_VERB_AUTH, record_create},
	{"get", "ID", 1, "Shows a record: only the fields the caller's grants allow for the purpose.", record_id_opts,
	 CF_ARRAY_LEN(record_id_opts), CF_CLI_VERB_AUTH, record_get},
	{"update", "ID", 1, "Changes fields of a record (optionally only if it is still at --version N).",
	 record_update_opts, CF_ARRAY_LEN(record_update_opts), CF_CLI_VERB_AUTH, record_update},
	{"delete", "ID", 1, "Deletes a record.", record_id_opts, CF_ARRAY_LEN(record_id_opts), CF_CLI_VERB_AUTH,
	 record_delete},
};

const cf_cli_group cf_cli_group_record = {"record", "create, read, change and delete personal-data records",
					  record_verbs, CF_ARRAY_LEN(record_verbs)};
