/*
 * cli_subject.c - `coffre subject lookup`: finds the records of a subject,
 * named by their national identifier, in the collections the caller may
 * read for the purpose.
 * The national identifier is read from a file or stdin, never from argv,
 * is never printed, and is wiped once the body is built.
 */
#include "common/cf.h"
#include "cli.h"
#include "report/report.h"

static const cf_cli_option subject_lookup_opts[] = {
	{"org", "ORG", CF_CLI_OPT_REQUIRED, "organization"},
	{"purpose", "PURPOSE", CF_CLI_OPT_REQUIRED, "purpose of the processing (sent as X-Purpose, audited)"},
	{"national-id-file", "FILE", 0, "file holding the subject's national identifier"},
	{"national-id", "-", CF_CLI_OPT_STDIN_ONLY,
	 "read the subject's national identifier from stdin (only '-' is accepted)"},
};

static void subject_print_lookup(const cf_cli_ctx *c, const json_t *answer)
{
	const char *subject = cf_cli_str(answer, "subject");
	size_t i;
	json_t *rec;

	fputs("subject: ", stdout);
	cf_cli_put(stdout, subject, strlen(subject));
	fputc('\n', stdout);
	json_array_foreach(json_object_get(answer, "records"), i, rec) {
		const char *col = cf_cli_str(rec, "collection"), *id = cf_cli_str(rec, "id");
		json_t *v = json_object_get(rec, "version");
		cf_cli_put(stdout, col, strlen(col));
		fputc('\t', stdout);
		cf_cli_put(stdout, id, strlen(id));
		if (json_is_integer(v))
			fprintf(stdout, "\t%" JSON_INTEGER_FORMAT, json_integer_value(v));
		fputc('\n', stdout);
	}
}

static int subject_lookup(cf_cli_ctx *c)
{
	char path[2048], *nid = NULL;
	json_t *body = NULL;
	cf_err err = {0};
	int ex;

	if (cf_cli_path(path, sizeof(path), &err, "/v1/orgs/{}/subjects/lookup", cf_cli_opt(c, "org")) != CF_OK)
		return cf_cli_fail(c, &err);
	ex = cf_cli_national_id(c, &nid);
	if (ex != CF_CLI_EXIT_OK)
		return ex;
	ex = cf_cli_pack(c, &body, "{s:s}", "national_id", nid);
	cf_cli_secret_free(nid);
	if (ex != CF_CLI_EXIT_OK)
		return ex;
	ex = cf_cli_call(c, "POST", path, cf_cli_opt(c, "purpose"), body, subject_print_lookup);
	json_decref(body);
	return ex;
}

static const cf_cli_option subject_export_opts[] = {
	{"org", "ORG", CF_CLI_OPT_REQUIRED, "organization"},
};

/* The readable document, rendered here from the JSON answer; wiped once printed. */
static void subject_print_export(const cf_cli_ctx *c, const json_t *answer)
{
	char *md = cf_report_export_markdown(answer);
	if (md == NULL) {
		fputs("coffre: the export could not be rendered\n", stderr);
		return;
	}
	fputs(md, stdout);
	cf_cli_secret_free(md);
}

static int subject_export(cf_cli_ctx *c)
{
	char path[2048];
	cf_err err = {0};

	if (cf_cli_path(path, sizeof(path), &err, "/v1/orgs/{}/subjects/{}/export", cf_cli_opt(c, "org"),
			c->args.pos[0]) != CF_OK)
		return cf_cli_fail(c, &err);
	return cf_cli_call(c, "GET", path, NULL, NULL, subject_print_export);
}

static const cf_cli_verb subject_verbs[] = {
	{"lookup", NULL, 0,
	 "Lists a subject's records (collection, id, version per line) in the collections readable for the "
	 "purpose. The national identifier comes from --national-id-file FILE or --national-id - (stdin), "
	 "never from the command line.",
	 subject_lookup_opts, CF_ARRAY_LEN(subject_lookup_opts), CF_CLI_VERB_AUTH, subject_lookup},
	{"export", "PSEUDONYM", 1,
	 "Prints everything the organization holds about a subject, as a readable Markdown document (--json: the "
	 "portable JSON export): records with categories, purposes, legal bases, retention, recipients and "
	 "corrections, erasure requests, legal holds, and who accessed the data. For the data protection officer.",
	 subject_export_opts, CF_ARRAY_LEN(subject_export_opts), CF_CLI_VERB_AUTH, subject_export},
};

const cf_cli_group cf_cli_group_subject = {"subject", "find a subject's records; export what is held about them",
					   subject_verbs, CF_ARRAY_LEN(subject_verbs)};
