/*
 * cli_lifecycle.c - the data lifecycle from the command line:
 * `coffre export --pseudonymize` (a dataset for non-production
 * environments, every identifier and value synthetic), `coffre import`
 * (loads one; production refuses it) and `coffre disposal list` (what the
 * retention sweeper disposed of). HTTPS client calls, audited by the daemon.
 */
#include "common/cf.h"
#include "cli.h"

static const cf_cli_option export_opts[] = {
	{"org", "ORG", CF_CLI_OPT_REQUIRED, "organization whose data is exported"},
	{"pseudonymize", NULL, CF_CLI_OPT_REQUIRED,
	 "required: identifiers and personal values are replaced by synthetic ones (the only form exported)"},
};

static void print_json(const cf_cli_ctx *c, const json_t *answer)
{
	if (json_dumpf(answer, stdout, JSON_INDENT(1) | JSON_SORT_KEYS) == 0)
		fputc('\n', stdout);
}

static int run_export(cf_cli_ctx *c)
{
	char path[512];
	cf_err err = {0};

	if (cf_cli_path(path, sizeof(path), &err, "/v1/orgs/{}/dataset", cf_cli_opt(c, "org")) != CF_OK)
		return cf_cli_fail(c, &err);
	if (strlen(path) + sizeof("?pseudonymize=true") > sizeof(path))
		return cf_cli_usage_error(c, "--org: too long");
	memcpy(path + strlen(path), "?pseudonymize=true", sizeof("?pseudonymize=true"));
	return cf_cli_call(c, "GET", path, NULL, NULL, print_json);
}

static const cf_cli_verb export_verbs[] = {
	{NULL, NULL, 0,
	 "Prints (JSON) the organization's data as a pseudonymized dataset for acceptance, test or development: "
	 "every identifier and personal value replaced by a format-valid synthetic one, consistent across "
	 "records. For the organization's data protection officer.",
	 export_opts, CF_ARRAY_LEN(export_opts), CF_CLI_VERB_AUTH, run_export},
};

const cf_cli_group cf_cli_group_export = {"export", "a pseudonymized dataset for non-production environments",
					  export_verbs, CF_ARRAY_LEN(export_verbs)};

static const cf_cli_option import_opts[] = {
	{"org", "ORG", CF_CLI_OPT_REQUIRED, "organization receiving the dataset"},
};

static int run_import(cf_cli_ctx *c)
{
	char path[512];
	json_t *body = NULL;
	cf_err err = {0};
	int ex;

	if (cf_cli_path(path, sizeof(path), &err, "/v1/orgs/{}/dataset", cf_cli_opt(c, "org")) != CF_OK)
		return cf_cli_fail(c, &err);
	if (cf_cli_json_file("dataset", c->args.pos[0], JSON_OBJECT, &body, &err) != CF_OK)
		return cf_cli_fail(c, &err);
	ex = cf_cli_call(c, "POST", path, NULL, body, cf_cli_print_plain);
	json_decref(body);
	return ex;
}

static const cf_cli_verb import_verbs[] = {
	{NULL, "FILE", 1,
	 "Imports a pseudonymized dataset (from coffre export --pseudonymize) into the organization: its "
	 "collections, subjects and records. Refused by a daemon in production. For the security manager.",
	 import_opts, CF_ARRAY_LEN(import_opts), CF_CLI_VERB_AUTH, run_import},
};

const cf_cli_group cf_cli_group_import = {"import", "load a pseudonymized dataset (never in production)",
					  import_verbs, CF_ARRAY_LEN(import_verbs)};

static const cf_cli_option disposal_opts[] = {
	{"org", "ORG", CF_CLI_OPT_REQUIRED, "organization"},
};

static void print_disposals(const cf_cli_ctx *c, const json_t *answer)
{
	size_t i;
	json_t *d;

	json_array_foreach(json_object_get(answer, "disposals"), i, d) {
		printf("%s\t%s\t%s\t%lld record(s)\tretention %s from %s\taudit entry %lld\n", cf_cli_str(d, "id"),
		       cf_cli_str(d, "disposed_at"), cf_cli_str(d, "collection"),
		       (long long)json_integer_value(json_object_get(d, "count")), cf_cli_str(d, "retention"),
		       cf_cli_str(d, "retention_start"), (long long)json_integer_value(json_object_get(d, "audit_index")));
	}
}

static int run_disposal_list(cf_cli_ctx *c)
{
	char path[512];
	cf_err err = {0};

	if (cf_cli_path(path, sizeof(path), &err, "/v1/orgs/{}/disposals", cf_cli_opt(c, "org")) != CF_OK)
		return cf_cli_fail(c, &err);
	return cf_cli_call(c, "GET", path, NULL, NULL, print_disposals);
}

static const cf_cli_verb disposal_verbs[] = {
	{"list", NULL, 0,
	 "Lists the disposal records of the retention sweeper, newest first (id, time, collection, count, "
	 "retention, audit entry); --json for the records disposed of. For the DPO and auditors.",
	 disposal_opts, CF_ARRAY_LEN(disposal_opts), CF_CLI_VERB_AUTH, run_disposal_list},
};

const cf_cli_group cf_cli_group_disposal = {"disposal", "what the retention sweeper disposed of", disposal_verbs,
					    CF_ARRAY_LEN(disposal_verbs)};
