/*
 * cli_collection.c - `coffre collection`: apply (create or replace) a
 * collection definition from a JSON file, list and show them.
 * The definition is parsed strictly here before it is sent, so a broken
 * file fails locally with its position; the daemon stays the judge of
 * what a valid definition is.
 */
#include "common/cf.h"
#include "cli.h"

static const cf_cli_option collection_apply_opts[] = {
	{"org", "ORG", CF_CLI_OPT_REQUIRED, "organization"},
	{"name", "NAME", 0, "collection name (default: FILE's base name without .json; required when FILE is -)"},
};
static const cf_cli_option collection_org_opts[] = {
	{"org", "ORG", CF_CLI_OPT_REQUIRED, "organization"},
};

/* The collection name from a file path: base name without a final ".json"; false when nothing is left. */
static bool collection_name_from_path(const char *file, char *out, size_t size)
{
	const char *base = strrchr(file, '/');
	size_t n;

	base = base != NULL ? base + 1 : file;
	n = strlen(base);
	if (n > 5 && strcmp(base + n - 5, ".json") == 0)
		n -= 5;
	if (n == 0 || n >= size)
		return false;
	memcpy(out, base, n);
	out[n] = '\0';
	return true;
}

static void collection_print_applied(const cf_cli_ctx *c, const json_t *answer)
{
	const char *name = cf_cli_str(answer, "name");
	json_t *v = json_object_get(answer, "version");

	fputs("applied ", stdout);
	cf_cli_put(stdout, name, strlen(name));
	if (json_is_integer(v))
		fprintf(stdout, " version %" JSON_INTEGER_FORMAT, json_integer_value(v));
	fputc('\n', stdout);
}

static int collection_apply(cf_cli_ctx *c)
{
	const char *file = c->args.pos[0], *name = cf_cli_opt(c, "name");
	char derived[256], path[2048];
	json_t *def = NULL;
	cf_err err = {0};
	int ex;

	if (name == NULL) {
		if (strcmp(file, "-") == 0)
			return cf_cli_usage_error(c, "--name is required when the definition comes from stdin");
		if (!collection_name_from_path(file, derived, sizeof(derived)))
			return cf_cli_usage_error(c, "cannot derive a collection name from FILE: give --name");
		name = derived;
	}
	if (cf_cli_path(path, sizeof(path), &err, "/v1/orgs/{}/collections/{}", cf_cli_opt(c, "org"), name) != CF_OK)
		return cf_cli_fail(c, &err);
	if (cf_cli_json_file("the collection definition", file, JSON_OBJECT, &def, &err) != CF_OK)
		return cf_cli_fail(c, &err);
	ex = cf_cli_call(c, "PUT", path, NULL, def, collection_print_applied);
	json_decref(def);
	return ex;
}

static void collection_print_list(const cf_cli_ctx *c, const json_t *answer)
{
	size_t i;
	json_t *col;

	json_array_foreach(json_object_get(answer, "collections"), i, col) {
		const char *name = cf_cli_str(col, "name");
		json_t *v = json_object_get(col, "version");
		cf_cli_put(stdout, name, strlen(name));
		if (json_is_integer(v))
			fprintf(stdout, "\t%" JSON_INTEGER_FORMAT, json_integer_value(v));
		fputc('\n', stdout);
	}
}

static int collection_list(cf_cli_ctx *c)
{
	char path[2048];
	cf_err err = {0};

	if (cf_cli_path(path, sizeof(path), &err, "/v1/orgs/{}/collections", cf_cli_opt(c, "org")) != CF_OK)
		return cf_cli_fail(c, &err);
	return cf_cli_call(c, "GET", path, NULL, NULL, collection_print_list);
}

static void collection_print_one(const cf_cli_ctx *c, const json_t *answer)
{
	const char *name = cf_cli_str(answer, "name");
	json_t *v = json_object_get(answer, "version");
	char *def = json_dumps(json_object_get(answer, "definition"), JSON_INDENT(2) | JSON_ENCODE_ANY);

	fputs("name: ", stdout);
	cf_cli_put(stdout, name, strlen(name));
	if (json_is_integer(v))
		fprintf(stdout, "\nversion: %" JSON_INTEGER_FORMAT, json_integer_value(v));
	fputs("\ndefinition:\n", stdout);
	if (def != NULL) {
		/* the definition is the collection's own JSON: show it as JSON, newlines kept */
		for (const char *p = def; *p != '\0';) {
			const char *nl = strchr(p, '\n');
			size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
			cf_cli_put(stdout, p, n);
			fputc('\n', stdout);
			p += n + (nl != NULL ? 1 : 0);
		}
		free(def);
	}
}

static int collection_show(cf_cli_ctx *c)
{
	char path[2048];
	cf_err err = {0};

	if (cf_cli_path(path, sizeof(path), &err, "/v1/orgs/{}/collections/{}", cf_cli_opt(c, "org"),
			c->args.pos[0]) != CF_OK)
		return cf_cli_fail(c, &err);
	return cf_cli_call(c, "GET", path, NULL, NULL, collection_print_one);
}

static const cf_cli_verb collection_verbs[] = {
	{"apply", "FILE", 1,
	 "Creates or replaces a collection from its JSON definition (FILE, or - for stdin), checked locally "
	 "for strict JSON first.",
	 collection_apply_opts, CF_ARRAY_LEN(collection_apply_opts), CF_CLI_VERB_AUTH, collection_apply},
	{"list", NULL, 0, "Lists the collections, one per line: name, tab, version.", collection_org_opts,
	 CF_ARRAY_LEN(collection_org_opts), CF_CLI_VERB_AUTH, collection_list},
	{"show", "NAME", 1, "Shows a collection and its normalized definition.", collection_org_opts,
	 CF_ARRAY_LEN(collection_org_opts), CF_CLI_VERB_AUTH, collection_show},
};

const cf_cli_group cf_cli_group_collection = {"collection", "define the collections of an organization",
					      collection_verbs, CF_ARRAY_LEN(collection_verbs)};
