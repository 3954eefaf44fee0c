/*
 * cli_user.c - `coffre user`: members of an organization (add, list,
 * show, block, unblock, roles), for its security manager.
 * A new user's password comes from a file only, never from argv, and is
 * wiped once the body is built; without --password-file the command adds
 * a membership for an existing user.
 */
#include "common/cf.h"
#include "cli.h"

static const cf_cli_option user_add_opts[] = {
	{"org", "ORG", CF_CLI_OPT_REQUIRED, "organization"},
	{"role", "ROLE", CF_CLI_OPT_REQUIRED | CF_CLI_OPT_MULTI, "role in the organization"},
	{"password-file", "FILE", 0,
	 "file holding the new user's password on one line (at least 12 characters); omit it to give an "
	 "existing user a membership"},
};
static const cf_cli_option user_org_opts[] = {
	{"org", "ORG", CF_CLI_OPT_REQUIRED, "organization"},
};
static const cf_cli_option user_roles_opts[] = {
	{"org", "ORG", CF_CLI_OPT_REQUIRED, "organization"},
	{"role", "ROLE", CF_CLI_OPT_REQUIRED | CF_CLI_OPT_MULTI, "role the member keeps or gets (replaces all roles)"},
};

static int user_add(cf_cli_ctx *c)
{
	const char *pwfile = cf_cli_opt(c, "password-file");
	char *pw = NULL, path[2048];
	json_t *roles = NULL, *body = NULL;
	cf_err err = {0};
	int ex;

	if (cf_cli_path(path, sizeof(path), &err, "/v1/orgs/{}/users", cf_cli_opt(c, "org")) != CF_OK)
		return cf_cli_fail(c, &err);
	ex = cf_cli_string_array(c, "role", &roles);
	if (ex != CF_CLI_EXIT_OK)
		return ex;
	if (pwfile != NULL && cf_cli_read_secret(pwfile, "password", CF_CLI_MAX_SECRET, &pw, &err) != CF_OK) {
		ex = cf_cli_fail(c, &err);
		goto out;
	}
	ex = cf_cli_pack(c, &body, "{s:s, s:O, s:s*}", "username", c->args.pos[0], "roles", roles, "password", pw);
	cf_cli_secret_free(pw);
	if (ex != CF_CLI_EXIT_OK)
		goto out;
	ex = cf_cli_call(c, "POST", path, NULL, body, cf_cli_print_plain);
out:
	json_decref(body);
	json_decref(roles);
	return ex;
}

static void user_print_list(const cf_cli_ctx *c, const json_t *answer)
{
	size_t i, k;
	json_t *u, *role;

	json_array_foreach(json_object_get(answer, "users"), i, u) {
		const char *name = cf_cli_str(u, "username");
		cf_cli_put(stdout, name, strlen(name));
		fputc('\t', stdout);
		json_array_foreach(json_object_get(u, "roles"), k, role) {
			const char *r = json_is_string(role) ? json_string_value(role) : "?";
			if (k > 0)
				fputc(',', stdout);
			cf_cli_put(stdout, r, strlen(r));
		}
		fputs(json_is_true(json_object_get(u, "blocked")) ? "\tblocked\n" : "\n", stdout);
	}
}

static int user_list(cf_cli_ctx *c)
{
	char path[2048];
	cf_err err = {0};

	if (cf_cli_path(path, sizeof(path), &err, "/v1/orgs/{}/users", cf_cli_opt(c, "org")) != CF_OK)
		return cf_cli_fail(c, &err);
	return cf_cli_call(c, "GET", path, NULL, NULL, user_print_list);
}

static int user_show(cf_cli_ctx *c)
{
	char path[2048];
	cf_err err = {0};

	if (cf_cli_path(path, sizeof(path), &err, "/v1/orgs/{}/users/{}", cf_cli_opt(c, "org"), c->args.pos[0]) !=
	    CF_OK)
		return cf_cli_fail(c, &err);
	return cf_cli_call(c, "GET", path, NULL, NULL, cf_cli_print_plain);
}

/* PATCHes the member with body (borrowed). */
static int user_patch(cf_cli_ctx *c, const json_t *body)
{
	char path[2048];
	cf_err err = {0};

	if (cf_cli_path(path, sizeof(path), &err, "/v1/orgs/{}/users/{}", cf_cli_opt(c, "org"), c->args.pos[0]) !=
	    CF_OK)
		return cf_cli_fail(c, &err);
	return cf_cli_call(c, "PATCH", path, NULL, body, cf_cli_print_plain);
}

static int user_set_blocked(cf_cli_ctx *c, bool blocked)
{
	json_t *body = NULL;
	int ex = cf_cli_pack(c, &body, "{s:b}", "blocked", (int)blocked);

	if (ex == CF_CLI_EXIT_OK)
		ex = user_patch(c, body);
	json_decref(body);
	return ex;
}

static int user_block(cf_cli_ctx *c)
{
	return user_set_blocked(c, true);
}

static int user_unblock(cf_cli_ctx *c)
{
	return user_set_blocked(c, false);
}

static int user_roles(cf_cli_ctx *c)
{
	json_t *roles = NULL, *body = NULL;
	int ex = cf_cli_string_array(c, "role", &roles);

	if (ex == CF_CLI_EXIT_OK)
		ex = cf_cli_pack(c, &body, "{s:O}", "roles", roles);
	if (ex == CF_CLI_EXIT_OK)
		ex = user_patch(c, body);
	json_decref(body);
	json_decref(roles);
	return ex;
}

static const cf_cli_verb user_verbs[] = {
	{"add", "USERNAME", 1,
	 "Adds a member to the organization: a new user when --password-file is given, else a membership for an "
	 "existing user.",
	 user_add_opts, CF_ARRAY_LEN(user_add_opts), CF_CLI_VERB_AUTH, user_add},
	{"list", NULL, 0, "Lists the members, one per line: username, tab, roles (comma-separated), [tab blocked].",
	 user_org_opts, CF_ARRAY_LEN(user_org_opts), CF_CLI_VERB_AUTH, user_list},
	{"show", "USERNAME", 1, "Shows one member.", user_org_opts, CF_ARRAY_LEN(user_org_opts), CF_CLI_VERB_AUTH, user_show},
	{"block", "USERNAME", 1, "Blocks a member (not yourself): their logins and tokens stop working here.",
	 user_org_opts, CF_ARRAY_LEN(user_org_opts), CF_CLI_VERB_AUTH, user_block},
	{"unblock", "USERNAME", 1, "Unblocks a member.", user_org_opts, CF_ARRAY_LEN(user_org_opts), CF_CLI_VERB_AUTH,
	 user_unblock},
	{"roles", "USERNAME", 1, "Replaces a member's roles with the --role values given.", user_roles_opts,
	 CF_ARRAY_LEN(user_roles_opts), CF_CLI_VERB_AUTH, user_roles},
};

const cf_cli_group cf_cli_group_user = {"user", "manage the members of an organization (security manager)",
					user_verbs, CF_ARRAY_LEN(user_verbs)};
