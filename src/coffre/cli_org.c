/*
 * cli_org.c - `coffre org`: create, list and show organizations (the
 * instance admin's commands; members may show their own organization).
 * It must never build a path or a body by hand: segments are escaped by
 * cf_cli_path, bodies packed by jansson.
 */
#include "common/cf.h"
#include "cli.h"

static const cf_cli_option org_create_opts[] = {
	{"name", "NAME", CF_CLI_OPT_REQUIRED, "display name of the organization"},
};

static int org_create(cf_cli_ctx *c)
{
	json_t *body = NULL;
	int ex;

	ex = cf_cli_pack(c, &body, "{s:s, s:s}", "id", c->args.pos[0], "name", cf_cli_opt(c, "name"));
	if (ex != CF_CLI_EXIT_OK)
		return ex;
	ex = cf_cli_call(c, "POST", "/v1/orgs", NULL, body, cf_cli_print_plain);
	json_decref(body);
	return ex;
}

static void org_print_list(const cf_cli_ctx *c, const json_t *answer)
{
	size_t i;
	json_t *o;

	json_array_foreach(json_object_get(answer, "orgs"), i, o) {
		const char *id = cf_cli_str(o, "id"), *name = cf_cli_str(o, "name");
		cf_cli_put(stdout, id, strlen(id));
		fputc('\t', stdout);
		cf_cli_put(stdout, name, strlen(name));
		fputc('\n', stdout);
	}
}

static int org_list(cf_cli_ctx *c)
{
	return cf_cli_call(c, "GET", "/v1/orgs", NULL, NULL, org_print_list);
}

static int org_show(cf_cli_ctx *c)
{
	char path[2048];
	cf_err err = {0};

	if (cf_cli_path(path, sizeof(path), &err, "/v1/orgs/{}", c->args.pos[0]) != CF_OK)
		return cf_cli_fail(c, &err);
	return cf_cli_call(c, "GET", path, NULL, NULL, cf_cli_print_plain);
}

static const cf_cli_verb org_verbs[] = {
	{"create", "ID", 1,
	 "Creates an organization (instance admin). ID matches [a-z][a-z0-9_-]{0,63}.", org_create_opts,
	 CF_ARRAY_LEN(org_create_opts), CF_CLI_VERB_AUTH, org_create},
	{"list", NULL, 0, "Lists the organizations, one per line: id, tab, name (instance admin).", NULL, 0,
	 CF_CLI_VERB_AUTH, org_list},
	{"show", "ID", 1, "Shows one organization.", NULL, 0, CF_CLI_VERB_AUTH, org_show},
};

const cf_cli_group cf_cli_group_org = {"org", "manage organizations (instance admin)", org_verbs,
				       CF_ARRAY_LEN(org_verbs)};
