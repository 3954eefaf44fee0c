/*
 * cli_sharing.c - `coffre agreement` (the sharing authority's agreements),
 * `coffre commitment` (an organization's confidentiality commitment) and
 * `coffre report flows` (the map of data flows), as an HTTPS client.
 * Paths are built with cf_cli_path (escaped segments); bodies by jansson;
 * query strings only from dates this file has checked.
 */
#include "common/cf.h"
#include "cli.h"
#include "report/report.h"

#include <ctype.h>

static bool is_date(const char *s)
{
	if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static int agreement_create(cf_cli_ctx *c)
{
	json_t *body = NULL;
	cf_err err = {0};
	int ex;
	if (cf_cli_json_file("agreement", c->args.pos[0], JSON_OBJECT, &body, &err) != CF_OK)
		return cf_cli_fail(c, &err);
	ex = cf_cli_call(c, "POST", "/v1/agreements", NULL, body, cf_cli_print_plain);
	json_decref(body);
	return ex;
}

static void print_agreements(const cf_cli_ctx *c, const json_t *answer)
{
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(answer, "agreements"), i, a) {
		printf("%s\t%s -> %s\t%s\t%s\t%s..%s\n", cf_cli_str(a, "id"), cf_cli_str(a, "provider"),
		       cf_cli_str(a, "consumer"), cf_cli_str(a, "collection"), cf_cli_str(a, "status"),
		       cf_cli_str(a, "valid_from"), cf_cli_str(a, "valid_until"));
	}
}

static const cf_cli_option list_opts[] = {
	{"org", "ORG", 0, "only the agreements this organization is a party to (its members)"},
};

static int agreement_list(cf_cli_ctx *c)
{
	char path[512];
	cf_err err = {0};
	const char *org = cf_cli_opt(c, "org");
	if (org == NULL)
		return cf_cli_call(c, "GET", "/v1/agreements", NULL, NULL, print_agreements);
	if (cf_cli_path(path, sizeof(path), &err, "/v1/orgs/{}/agreements", org) != CF_OK)
		return cf_cli_fail(c, &err);
	return cf_cli_call(c, "GET", path, NULL, NULL, print_agreements);
}

static int agreement_on(cf_cli_ctx *c, const char *method, const char *fmt)
{
	char path[512];
	cf_err err = {0};
	if (cf_cli_path(path, sizeof(path), &err, fmt, c->args.pos[0]) != CF_OK)
		return cf_cli_fail(c, &err);
	return cf_cli_call(c, method, path, NULL, NULL, cf_cli_print_plain);
}

static int agreement_show(cf_cli_ctx *c) { return agreement_on(c, "GET", "/v1/agreements/{}"); }
static int agreement_suspend(cf_cli_ctx *c) { return agreement_on(c, "POST", "/v1/agreements/{}/suspend"); }
static int agreement_resume(cf_cli_ctx *c) { return agreement_on(c, "POST", "/v1/agreements/{}/resume"); }
static int agreement_revoke(cf_cli_ctx *c) { return agreement_on(c, "POST", "/v1/agreements/{}/revoke"); }

static const cf_cli_verb agreement_verbs[] = {
	{"create", "FILE", 1,
	 "Records an agreement from a JSON file (provider, consumer, collection, fields and/or categories, purposes, "
	 "legal_basis, valid_from, valid_until, max_accesses?). The sharing authority only.",
	 NULL, 0, CF_CLI_VERB_AUTH, agreement_create},
	{"list", NULL, 0, "Lists agreements: id, provider -> consumer, collection, status, validity.", list_opts,
	 CF_ARRAY_LEN(list_opts), CF_CLI_VERB_AUTH, agreement_list},
	{"show", "ID", 1, "Shows one agreement.", NULL, 0, CF_CLI_VERB_AUTH, agreement_show},
	{"suspend", "ID", 1, "Suspends an agreement (the authority).", NULL, 0, CF_CLI_VERB_AUTH, agreement_suspend},
	{"resume", "ID", 1, "Resumes a suspended agreement (the authority).", NULL, 0, CF_CLI_VERB_AUTH, agreement_resume},
	{"revoke", "ID", 1, "Revokes an agreement, for good, effective on the next request (the authority).", NULL, 0,
	 CF_CLI_VERB_AUTH, agreement_revoke},
};

const cf_cli_group cf_cli_group_agreement = {"agreement", "sharing agreements between organizations (authority)",
					     agreement_verbs, CF_ARRAY_LEN(agreement_verbs)};

static const cf_cli_option org_opt[] = {
	{"org", "ORG", CF_CLI_OPT_REQUIRED, "the organization"},
};

static int commitment_set(cf_cli_ctx *c)
{
	char path[512], *text = NULL;
	size_t len = 0;
	cf_err err = {0};
	json_t *body;
	int ex;

	if (cf_cli_path(path, sizeof(path), &err, "/v1/orgs/{}/commitment", cf_cli_opt(c, "org")) != CF_OK)
		return cf_cli_fail(c, &err);
	if (cf_cli_read_file(c->args.pos[0], 65536, &text, &len, &err) != CF_OK)
		return cf_cli_fail(c, &err);
	body = json_pack("{s:s%}", "text", text, len);
	cf_cli_secret_free(text);
	if (body == NULL)
		return cf_cli_usage_error(c, "the commitment text must be UTF-8");
	ex = cf_cli_call(c, "PUT", path, NULL, body, cf_cli_print_plain);
	json_decref(body);
	return ex;
}

static int commitment_show(cf_cli_ctx *c)
{
	char path[512];
	cf_err err = {0};
	const char *org = cf_cli_opt(c, "org");
	if (org == NULL)
		return cf_cli_call(c, "GET", "/v1/me/commitment", NULL, NULL, cf_cli_print_plain);
	if (cf_cli_path(path, sizeof(path), &err, "/v1/orgs/{}/commitment", org) != CF_OK)
		return cf_cli_fail(c, &err);
	return cf_cli_call(c, "GET", path, NULL, NULL, cf_cli_print_plain);
}

static const cf_cli_option accept_opts[] = {
	{"version", "N", CF_CLI_OPT_REQUIRED, "the version read and accepted (see `coffre commitment show`)"},
};

static int commitment_accept(cf_cli_ctx *c)
{
	char *end = NULL;
	long long v = strtoll(cf_cli_opt(c, "version"), &end, 10);
	json_t *body;
	int ex;
	if (end == NULL || *end != '\0' || v < 1)
		return cf_cli_usage_error(c, "--version takes a positive integer");
	body = json_pack("{s:I}", "version", (json_int_t)v);
	ex = cf_cli_call(c, "POST", "/v1/me/commitment/accept", NULL, body, cf_cli_print_plain);
	json_decref(body);
	return ex;
}

static const cf_cli_option show_opts[] = {
	{"org", "ORG", 0, "an organization's current text (default: the caller's, with acceptance status)"},
};

static const cf_cli_verb commitment_verbs[] = {
	{"set", "FILE", 1, "Sets a new version of the organization's confidentiality commitment (security manager).",
	 org_opt, CF_ARRAY_LEN(org_opt), CF_CLI_VERB_AUTH, commitment_set},
	{"show", NULL, 0, "Shows the current commitment and whether the caller accepted it.", show_opts,
	 CF_ARRAY_LEN(show_opts), CF_CLI_VERB_AUTH, commitment_show},
	{"accept", NULL, 0, "Accepts the current version (required before any access to personal data).", accept_opts,
	 CF_ARRAY_LEN(accept_opts), CF_CLI_VERB_AUTH, commitment_accept},
};

const cf_cli_group cf_cli_group_commitment = {"commitment", "the organization's confidentiality commitment",
					      commitment_verbs, CF_ARRAY_LEN(commitment_verbs)};

static void print_flows_md(const cf_cli_ctx *c, const json_t *answer)
{
	size_t i;
	json_t *f;
	printf("# Data flows between organizations\n\n");
	if (json_is_string(json_object_get(answer, "from")) || json_is_string(json_object_get(answer, "to")))
		printf("Period: %s to %s\n\n", cf_cli_str(answer, "from")[0] ? cf_cli_str(answer, "from") : "start",
		       cf_cli_str(answer, "to")[0] ? cf_cli_str(answer, "to") : "now");
	printf("| provider | consumer | collection | fields | categories | purposes | agreement | legal basis | status | "
	       "accesses |\n|---|---|---|---|---|---|---|---|---|---|\n");
	json_array_foreach(json_object_get(answer, "flows"), i, f) {
		char *fields = json_dumps(json_object_get(f, "fields"), JSON_COMPACT);
		char *cats = json_dumps(json_object_get(f, "categories"), JSON_COMPACT);
		char *purs = json_dumps(json_object_get(f, "purposes"), JSON_COMPACT);
		printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %lld |\n", cf_cli_str(f, "provider"),
		       cf_cli_str(f, "consumer"), cf_cli_str(f, "collection"), fields ? fields : "", cats ? cats : "",
		       purs ? purs : "", cf_cli_str(f, "agreement"), cf_cli_str(f, "legal_basis"), cf_cli_str(f, "status"),
		       (long long)json_integer_value(json_object_get(f, "accesses")));
		free(fields);
		free(cats);
		free(purs);
	}
}

static const cf_cli_option flows_opts[] = {
	{"from", "YYYY-MM-DD", 0, "count accesses from this day (inclusive)"},
	{"to", "YYYY-MM-DD", 0, "count accesses up to this day (inclusive)"},
};

static int report_flows(cf_cli_ctx *c)
{
	const char *from = cf_cli_opt(c, "from"), *to = cf_cli_opt(c, "to");
	char path[128];
	if ((from != NULL && !is_date(from)) || (to != NULL && !is_date(to)))
		return cf_cli_usage_error(c, "--from and --to take dates YYYY-MM-DD");
	(void)snprintf(path, sizeof(path), "/v1/reports/flows%s%s%s%s%s", (from || to) ? "?" : "", from ? "from=" : "",
		       from ? from : "", (from && to) ? "&to=" : (to ? "to=" : ""), to ? to : "");
	return cf_cli_call(c, "GET", path, NULL, NULL, print_flows_md);
}

static const cf_cli_option processing_opts[] = {
	{"org", "ORG", 0, "only this organization (members read their own; instance roles may read all)"},
};

static void print_processing_md(const cf_cli_ctx *c, const json_t *answer)
{
	char *md = cf_report_processing_markdown(answer);
	if (md == NULL) {
		fputs("coffre: the register could not be rendered\n", stderr);
		return;
	}
	fputs(md, stdout);
	free(md);
}

static int report_processing(cf_cli_ctx *c)
{
	const char *org = cf_cli_opt(c, "org");
	char path[512];
	cf_err err = {0};

	if (org == NULL)
		return cf_cli_call(c, "GET", "/v1/reports/processing", NULL, NULL, print_processing_md);
	if (cf_cli_path(path, sizeof(path), &err, "/v1/reports/processing") != CF_OK)
		return cf_cli_fail(c, &err);
	/* an organization id is [a-z0-9-]: it needs no escaping, anything else is refused */
	for (const char *p = org; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			return cf_cli_usage_error(c, "--org: an organization id ([a-z0-9-])");
	if (strlen(path) + strlen("?org=") + strlen(org) + 1 > sizeof(path))
		return cf_cli_usage_error(c, "--org: too long");
	(void)snprintf(path + strlen(path), sizeof(path) - strlen(path), "?org=%s", org);
	return cf_cli_call(c, "GET", path, NULL, NULL, print_processing_md);
}

static const cf_cli_verb report_verbs[] = {
	{"flows", NULL, 0,
	 "Prints the map of data flows between organizations (Markdown; --json for JSON): who receives which "
	 "categories from whom, under which agreement, how many accesses.",
	 flows_opts, CF_ARRAY_LEN(flows_opts), CF_CLI_VERB_AUTH, report_flows},
	{"processing", NULL, 0,
	 "Prints the register of processing activities (Markdown; --json for JSON): per organization its "
	 "collections, fields and categories, purposes and legal bases, retention, recipients under agreements, "
	 "what it receives, storage and security measures.",
	 processing_opts, CF_ARRAY_LEN(processing_opts), CF_CLI_VERB_AUTH, report_processing},
};

const cf_cli_group cf_cli_group_report = {"report", "reports (data flows, register of processing)", report_verbs,
					  CF_ARRAY_LEN(report_verbs)};
