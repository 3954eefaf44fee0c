/*
 * cli_apikey.c - `coffre apikey`: API keys of technical members (create,
 * list, revoke), for the security manager.
 * `create` prints the new key once, as the daemon shows it only once; no
 * other command prints a key.
 */
#include "common/cf.h"
#include "cli.h"

static const cf_cli_option apikey_create_opts[] = {
	{"org", "ORG", CF_CLI_OPT_REQUIRED, "organization"},
	{"user", "USER", CF_CLI_OPT_REQUIRED, "member with the technical role who will own the key"},
	{"description", "TEXT", 0, "what the key is for"},
};
static const cf_cli_option apikey_org_opts[] = {
	{"org", "ORG", CF_CLI_OPT_REQUIRED, "organization"},
};

static void apikey_print_created(const cf_cli_ctx *c, const json_t *answer)
{
	cf_cli_print_object(stdout, answer, 0);
	fputs("coffre: store the key now: the daemon shows it only once\n", stderr);
}

static int apikey_create(cf_cli_ctx *c)
{
	char path[2048];
	json_t *body = NULL;
	cf_err err = {0};
	int ex;

	if (cf_cli_path(path, sizeof(path), &err, "/v1/orgs/{}/api-keys", cf_cli_opt(c, "org")) != CF_OK)
		return cf_cli_fail(c, &err);
	ex = cf_cli_pack(c, &body, "{s:s, s:s*}", "username", cf_cli_opt(c, "user"), "description",
			 cf_cli_opt(c, "description"));
	if (ex != CF_CLI_EXIT_OK)
		return ex;
	ex = cf_cli_call(c, "POST", path, NULL, body, apikey_print_created);
	json_decref(body);
	return ex;
}

static void apikey_print_list(const cf_cli_ctx *c, const json_t *answer)
{
	size_t i;
	json_t *k;

	json_array_foreach(json_object_get(answer, "api_keys"), i, k) {
		const char *cols[] = {cf_cli_str(k, "id"), cf_cli_str(k, "username"), cf_cli_str(k, "description")};
		for (size_t j = 0; j < CF_ARRAY_LEN(cols); j++) {
			if (j > 0)
				fputc('\t', stdout);
			cf_cli_put(stdout, cols[j], strlen(cols[j]));
		}
		fputs(json_is_true(json_object_get(k, "revoked")) ? "\trevoked\n" : "\n", stdout);
	}
}

static int apikey_list(cf_cli_ctx *c)
{
	char path[2048];
	cf_err err = {0};

	if (cf_cli_path(path, sizeof(path), &err, "/v1/orgs/{}/api-keys", cf_cli_opt(c, "org")) != CF_OK)
		return cf_cli_fail(c, &err);
	return cf_cli_call(c, "GET", path, NULL, NULL, apikey_print_list);
}

static void apikey_print_revoked(const cf_cli_ctx *c, const json_t *answer)
{
	fputs("revoked ", stdout);
	cf_cli_put(stdout, c->args.pos[0], strlen(c->args.pos[0]));
	fputc('\n', stdout);
}

static int apikey_revoke(cf_cli_ctx *c)
{
	char path[2048];
	cf_err err = {0};

	if (cf_cli_path(path, sizeof(path), &err, "/v1/orgs/{}/api-keys/{}", cf_cli_opt(c, "org"),
			c->args.pos[0]) != CF_OK)
		return cf_cli_fail(c, &err);
	return cf_cli_call(c, "DELETE", path, NULL, NULL, apikey_print_revoked);
}

static const cf_cli_verb apikey_verbs[] = {
	{"create", NULL, 0, "Creates an API key for a technical member and prints it (shown only once).",
	 apikey_create_opts, CF_ARRAY_LEN(apikey_create_opts), CF_CLI_VERB_AUTH, apikey_create},
	{"list", NULL, 0, "Lists the API keys, one per line: id, username, description, [revoked] (tab-separated).",
	 apikey_org_opts, CF_ARRAY_LEN(apikey_org_opts), CF_CLI_VERB_AUTH, apikey_list},
	{"revoke", "ID", 1, "Revokes an API key (the id, not the key).", apikey_org_opts, CF_ARRAY_LEN(apikey_org_opts),
	 CF_CLI_VERB_AUTH, apikey_revoke},
};

const cf_cli_group cf_cli_group_apikey = {"apikey", "manage API keys of technical members (security manager)",
					  apikey_verbs, CF_ARRAY_LEN(apikey_verbs)};
