/*
 * cli_grant.c - `coffre grant`: set and show the grants of a role (which
 * collections, fields, operations and purposes it may use).
 * The grants file is parsed strictly here before it is sent; the daemon
 * refuses grants on security_manager and auditor.
 */
#include "common/cf.h"
#include "cli.h"

static const cf_cli_option grant_opts[] = {
	{"org", "ORG", CF_CLI_OPT_REQUIRED, "organization"},
	{"role", "ROLE", CF_CLI_OPT_REQUIRED, "role whose grants are set or shown"},
};

static int grant_set(cf_cli_ctx *c)
{
	char path[2048];
	json_t *grants = NULL;
	cf_err err = {0};
	int ex;

	if (cf_cli_path(path, sizeof(path), &err, "/v1/orgs/{}/roles/{}/grants", cf_cli_opt(c, "org"),
			cf_cli_opt(c, "role")) != CF_OK)
		return cf_cli_fail(c, &err);
	if (cf_cli_json_file("the grants file", c->args.pos[0], JSON_ARRAY, &grants, &err) != CF_OK)
		return cf_cli_fail(c, &err);
	ex = cf_cli_call(c, "PUT", path, NULL, grants, cf_cli_print_plain);
	json_decref(grants);
	return ex;
}

static int grant_show(cf_cli_ctx *c)
{
	char path[2048];
	cf_err err = {0};

	if (cf_cli_path(path, sizeof(path), &err, "/v1/orgs/{}/roles/{}/grants", cf_cli_opt(c, "org"),
			cf_cli_opt(c, "role")) != CF_OK)
		return cf_cli_fail(c, &err);
	return cf_cli_call(c, "GET", path, NULL, NULL, cf_cli_print_plain);
}

static const cf_cli_verb grant_verbs[] = {
	{"set", "FILE", 1,
	 "Replaces the role's grants with the JSON array in FILE (- for stdin), checked locally for strict "
	 "JSON first.",
	 grant_opts, CF_ARRAY_LEN(grant_opts), CF_CLI_VERB_AUTH, grant_set},
	{"show", NULL, 0, "Shows the role's grants.", grant_opts, CF_ARRAY_LEN(grant_opts), CF_CLI_VERB_AUTH,
	 grant_show},
};

const cf_cli_group cf_cli_group_grant = {"grant", "set and show what a role may do (security manager)",
					 grant_verbs, CF_ARRAY_LEN(grant_verbs)};
