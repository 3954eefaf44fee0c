/*
 * cli_audit.c - `coffre audit`: the trail, for auditors, as an HTTPS
 * client (checkpoint, key, tail, proof). `coffre audit verify` works on
 * the data directory offline and lives in main.c. Query strings are built
 * only from integers this file has parsed itself.
 */
#include "common/cf.h"
#include "cli.h"

#include <errno.h>

/* A non-negative decimal option, or -1 when absent; -2 when malformed. */
static long long int_opt(const cf_cli_ctx *c, const char *name)
{
	const char *s = cf_cli_opt(c, name);
	char *end = NULL;
	long long v;
	if (s == NULL)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0)
		return -2;
	return v;
}

/* GETs a text/plain resource and prints it as received. */
static int get_text(cf_cli_ctx *c, const char *path)
{
	cf_cli_resp r;
	int ex;

	memset(&r, 0, sizeof(r));
	ex = cf_cli_request(c, "GET", path, NULL, NULL, &r);
	if (ex == CF_CLI_EXIT_OK)
		ex = cf_cli_report(c, &r);
	if (ex == CF_CLI_EXIT_OK) {
		/* line by line: newlines kept, any other control character escaped */
		const char *p = r.body, *end = r.body + r.len;
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
			cf_cli_put(stdout, p, n);
			if (nl != NULL)
				fputc('\n', stdout);
			p += n + (nl != NULL);
		}
	}
	cf_cli_resp_free(&r);
	return ex;
}

static int audit_checkpoint(cf_cli_ctx *c)
{
	return get_text(c, "/v1/audit/checkpoint");
}

static int audit_key(cf_cli_ctx *c)
{
	return get_text(c, "/v1/audit/key");
}

static void print_entries(const cf_cli_ctx *c, const json_t *answer)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(answer, "entries"), i, e) {
		const char *s = cf_cli_str(e, "entry");
		printf("%lld\t", (long long)json_integer_value(json_object_get(e, "index")));
		cf_cli_put(stdout, s, strlen(s));
		fputc('\n', stdout);
	}
}

static const cf_cli_option tail_opts[] = {
	{"start", "N", 0, "first index (default 0)"},
	{"end", "N", 0, "index after the last (default: the trail's size; at most 1000 entries per call)"},
};

static int audit_tail(cf_cli_ctx *c)
{
	long long start = int_opt(c, "start"), end = int_opt(c, "end");
	char path[128];

	if (start == -2 || end == -2)
		return cf_cli_usage_error(c, "--start and --end take non-negative integers");
	if (end >= 0)
		(void)snprintf(path, sizeof(path), "/v1/audit/entries?start=%lld&end=%lld", start < 0 ? 0 : start, end);
	else
		(void)snprintf(path, sizeof(path), "/v1/audit/entries?start=%lld", start < 0 ? 0 : start);
	return cf_cli_call(c, "GET", path, NULL, NULL, print_entries);
}

static void print_proof(const cf_cli_ctx *c, const json_t *answer)
{
	size_t i;
	json_t *h;
	json_array_foreach(json_object_get(answer, "hashes"), i, h) {
		const char *s = json_string_value(h);
		if (s != NULL)
			printf("%s\n", s);
	}
}

static const cf_cli_option proof_opts[] = {
	{"index", "N", 0, "inclusion proof of entry N ..."},
	{"tree-size", "M", 0, "... in the tree of M entries"},
	{"first", "M", 0, "consistency proof from the tree of M entries ..."},
	{"second", "N", 0, "... to the tree of N entries"},
};

static int audit_proof(cf_cli_ctx *c)
{
	long long idx = int_opt(c, "index"), size = int_opt(c, "tree-size");
	long long first = int_opt(c, "first"), second = int_opt(c, "second");
	char path[160];

	if (idx == -2 || size == -2 || first == -2 || second == -2)
		return cf_cli_usage_error(c, "proof options take non-negative integers");
	if (idx >= 0 && size >= 0 && first < 0 && second < 0)
		(void)snprintf(path, sizeof(path), "/v1/audit/proofs/inclusion?index=%lld&tree_size=%lld", idx, size);
	else if (first >= 0 && second >= 0 && idx < 0 && size < 0)
		(void)snprintf(path, sizeof(path), "/v1/audit/proofs/consistency?first=%lld&second=%lld", first, second);
	else
		return cf_cli_usage_error(c, "give --index and --tree-size, or --first and --second");
	return cf_cli_call(c, "GET", path, NULL, NULL, print_proof);
}

static const cf_cli_verb audit_verbs[] = {
	{"checkpoint", NULL, 0, "Prints the latest signed checkpoint (C2SP tlog-checkpoint), signing one if needed.", NULL,
	 0, CF_CLI_VERB_AUTH, audit_checkpoint},
	{"key", NULL, 0, "Prints the checkpoint verifier key (signed-note form name+hash+base64).", NULL, 0,
	 CF_CLI_VERB_AUTH, audit_key},
	{"tail", NULL, 0, "Prints entries the caller may see, one per line: index, tab, canonical entry.", tail_opts,
	 CF_ARRAY_LEN(tail_opts), CF_CLI_VERB_AUTH, audit_tail},
	{"proof", NULL, 0, "Prints an inclusion or consistency proof, one base64 hash per line.", proof_opts,
	 CF_ARRAY_LEN(proof_opts), CF_CLI_VERB_AUTH, audit_proof},
};

const cf_cli_group cf_cli_group_audit = {"audit", "read the audit trail (auditors); `audit verify` checks a data directory",
					 audit_verbs, CF_ARRAY_LEN(audit_verbs)};
