/*
 * test_report.c - the Markdown renderings (src/lib/report): whole documents
 * compared byte for byte for a small export and a small register, every
 * heading and value of fuller ones, escaping (table cells, running text,
 * list items, control bytes, autolinks), determinism whatever the insertion
 * order of objects, tolerance of missing sections, refusals of bad input,
 * checkpoint fences, the corrections table, timestamps, scalar values, NUL
 * bytes and the size cap (exactly at it and one byte over).
 *
 * Every check compares exact strings, so any change of layout fails a test.
 * These tests must never depend on any module but common and report.
 */
#include "common/cf.h"
#include "report/report.h"

#include <setjmp.h>
#include <cmocka.h>

#define D "\xe2\x80\x94"  /* em dash */
#define S " \xc2\xb7 "    /* middle dot separator */

/* ---- helpers ---------------------------------------------------------- */

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, &e);

	if (v == NULL)
		fail_msg("test JSON does not parse: %s (line %d)", e.text, e.line);
	return v;
}

static char *export_md(const char *text)
{
	json_t *v = parse(text);
	char *md = cf_report_export_markdown(v);

	json_decref(v);
	assert_non_null(md);
	return md;
}

static char *register_md(const char *text)
{
	json_t *v = parse(text);
	char *md = cf_report_processing_markdown(v);

	json_decref(v);
	assert_non_null(md);
	return md;
}

static void expect_export(const char *text, const char *expected)
{
	char *md = export_md(text);

	assert_string_equal(md, expected);
	free(md);
}

static void expect_register(const char *text, const char *expected)
{
	char *md = register_md(text);

	assert_string_equal(md, expected);
	free(md);
}

/* Asserts that `needle` occurs in `md` (with a readable message when not). */
static void expect_has(const char *md, const char *needle)
{
	if (strstr(md, needle) == NULL)
		fail_msg("missing from the document: \"%s\"", needle);
}

static void expect_lacks(const char *md, const char *needle)
{
	if (strstr(md, needle) != NULL)
		fail_msg("unexpected in the document: \"%s\"", needle);
}

/* How many lines of md start with prefix. */
static size_t lines_starting(const char *md, const char *prefix)
{
	size_t n = 0, pl = strlen(prefix);
	const char *p = md;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, prefix, pl) == 0)
			n++;
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return n;
}

/* The pipes of a line that are not escaped by a backslash (cell borders). */
static size_t cell_borders(const char *line)
{
	size_t n = 0;

	for (const char *p = line; *p != '\0' && *p != '\n'; p++) {
		if (*p == '\\' && p[1] != '\0') {
			p++;
			continue;
		}
		if (*p == '|')
			n++;
	}
	return n;
}

/* The line of md that contains needle. */
static const char *line_with(const char *md, const char *needle)
{
	const char *p = strstr(md, needle);

	if (p == NULL)
		fail_msg("missing from the document: \"%s\"", needle);
	while (p > md && p[-1] != '\n')
		p--;
	return p;
}

/* An export with one record whose field "v" holds `value` (a JSON text). */
static char *export_with_value(const char *value)
{
	char text[4096];
	char *md;

	assert_int_equal(cf_snprintf(text, sizeof(text),
				     "{\"org\":\"o\",\"subject\":\"s\",\"records\":[{\"collection\":\"c\",\"id\":\"r\","
				     "\"fields\":{\"v\":{\"value\":%s,\"category\":\"other\"}}}]}",
				     value),
			 CF_OK);
	md = export_md(text);
	return md;
}

/* The Value cell rendered for `value`. */
static void expect_value_cell(const char *value, const char *cell)
{
	char *md = export_with_value(value);
	char row[1024];

	assert_int_equal(cf_snprintf(row, sizeof(row), "\n| v | other | %s |\n", cell), CF_OK);
	expect_has(md, row);
	free(md);
}

/* ---- whole documents -------------------------------------------------- */

static const char SMALL_EXPORT[] =
	"{\"org\":\"cpas\",\"subject\":\"s1\",\"exported_at\":\"2026-11-22T10:00:00Z\","
	"\"records\":[{\"collection\":\"aid\",\"id\":\"r1\",\"version\":1,"
	"\"created_at\":\"2026-01-01T00:00:00Z\",\"updated_at\":\"2026-01-01T00:00:00Z\","
	"\"fields\":{\"amount\":{\"value\":1200,\"category\":\"financial\"}},"
	"\"purposes\":[{\"purpose\":\"aid\",\"legal_basis\":\"art. 60\"}],"
	"\"retention\":\"P10Y\",\"retention_start\":\"created\",\"recipients\":[],"
	"\"history\":[{\"version\":1,\"at\":\"2026-01-01T00:00:00Z\",\"changes\":{\"amount\":{\"from\":null,\"to\":1200}}}]}],"
	"\"erasure_requests\":[],"
	"\"legal_holds\":[{\"id\":\"h1\",\"subject\":\"s1\",\"reason\":\"court\",\"by\":\"dpo1\","
	"\"created_us\":1767225600000000,\"released_us\":null}],"
	"\"access_report\":{\"org\":\"cpas\",\"subject\":\"s1\",\"checkpoint\":\"log\\n1\\nAA==\\n\\n\\u2014 k x\\n\","
	"\"tree_size\":1,\"entries\":[{\"index\":0,\"when\":\"2026-01-01T00:00:00Z\","
	"\"who\":{\"org\":\"cpas\",\"role\":\"agent\"},\"action\":\"record.create\","
	"\"what\":{\"collection\":\"aid\",\"record\":\"r1\",\"fields\":[\"amount\"]},"
	"\"why\":{\"purpose\":\"aid\",\"legal_basis\":\"art. 60\"},\"outcome\":\"allowed\","
	"\"entry\":\"{}\",\"inclusion_proof\":{\"hashes\":[]}}]}}";

static const char SMALL_EXPORT_MD[] =
	"# Personal data held about subject s1\n"
	"\n"
	"Organization: cpas" S "exported at 2026-11-22T10:00:00Z\n"
	"\n"
	"## Records\n"
	"\n"
	"### aid " D " record r1 (version 1)\n"
	"\n"
	"Created at 2026-01-01T00:00:00Z" S "updated at 2026-01-01T00:00:00Z\n"
	"\n"
	"| Field | Category | Value |\n"
	"| --- | --- | --- |\n"
	"| amount | financial | 1200 |\n"
	"\n"
	"Purposes and legal bases:\n"
	"\n"
	"- aid: art. 60\n"
	"\n"
	"Retention: P10Y from created\n"
	"\n"
	"Recipients:\n"
	"\n"
	"No organization receives this record.\n"
	"\n"
	"Corrections:\n"
	"\n"
	"No correction.\n"
	"\n"
	"## Erasure requests\n"
	"\n"
	"None.\n"
	"\n"
	"## Legal holds\n"
	"\n"
	"| Hold | Record | Reason | Placed by | Placed at | Released at |\n"
	"| --- | --- | --- | --- | --- | --- |\n"
	"| h1 | " D " | court | dpo1 | 2026-01-01T00:00:00Z | " D " |\n"
	"\n"
	"## Who accessed this data\n"
	"\n"
	"| # | When | Organization | Role | Action | Collection | Record | Fields | Purpose | Legal basis / agreement "
	"| Outcome |\n"
	"| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
	"| 0 | 2026-01-01T00:00:00Z | cpas | agent | record.create | aid | r1 | amount | aid | art. 60 | allowed |\n"
	"\n"
	"Each line has a receipt in the JSON export (the entry bytes and an inclusion proof), verifiable against the "
	"signed checkpoint of tree size 1:\n"
	"\n"
	"```\n"
	"log\n"
	"1\n"
	"AA==\n"
	"\n"
	D " k x\n"
	"```\n";

static void test_export_small_exact(void **state)
{
	expect_export(SMALL_EXPORT, SMALL_EXPORT_MD);
}

static void test_export_minimal_exact(void **state)
{
	expect_export("{\"org\":\"cpas\",\"subject\":\"s1\"}",
		      "# Personal data held about subject s1\n\nOrganization: cpas\n");
	/* the subject and the organization are escaped like any other string */
	expect_export("{\"org\":\"a_b\",\"subject\":\"s*1\",\"exported_at\":\"t\"}",
		      "# Personal data held about subject s\\*1\n\nOrganization: a\\_b" S "exported at t\n");
}

static const char SMALL_REGISTER[] =
	"{\"generated_at\":\"2026-11-22T10:00:00Z\",\"instance\":{\"environment\":\"test\","
	"\"storage\":{\"records\":\"/v/vault.db\",\"engine\":\"SQLite 3 (WAL)\"},\"security_measures\":[\"TLS 1.3\"]},"
	"\"organizations\":[{\"id\":\"cpas\",\"name\":\"CPAS\",\"collections\":[{\"name\":\"aid\",\"records\":2,"
	"\"fields\":[{\"name\":\"amount\",\"type\":\"integer\",\"category\":\"financial\",\"special\":false,"
	"\"required\":true}],\"categories\":[\"financial\"],\"special_categories\":[],"
	"\"purposes\":[{\"purpose\":\"aid\",\"legal_basis\":\"art. 60\"}],\"retention\":\"P10Y\","
	"\"retention_start\":\"created\",\"recipients\":[]}],\"received\":[]}]}";

static const char SMALL_REGISTER_MD[] =
	"# Register of processing activities\n"
	"\n"
	"Generated at 2026-11-22T10:00:00Z" S "environment test\n"
	"\n"
	"## Storage and security measures\n"
	"\n"
	"Storage:\n"
	"\n"
	"- engine: SQLite 3 (WAL)\n"
	"- records: /v/vault.db\n"
	"\n"
	"Security measures:\n"
	"\n"
	"- TLS 1.3\n"
	"\n"
	"## CPAS (cpas)\n"
	"\n"
	"### aid\n"
	"\n"
	"Records held: 2\n"
	"\n"
	"Categories: financial\n"
	"\n"
	"| Field | Type | Category | Required |\n"
	"| --- | --- | --- | --- |\n"
	"| amount | integer | financial | yes |\n"
	"\n"
	"| Purpose | Legal basis | Description |\n"
	"| --- | --- | --- |\n"
	"| aid | art. 60 | " D " |\n"
	"\n"
	"Retention: P10Y from created\n"
	"\n"
	"Recipients:\n"
	"\n"
	"No recipient.\n"
	"\n"
	"### Data received from other organizations\n"
	"\n"
	"None.\n";

static void test_register_small_exact(void **state)
{
	expect_register(SMALL_REGISTER, SMALL_REGISTER_MD);
}

static void test_register_minimal_exact(void **state)
{
	expect_register("{\"organizations\":[]}", "# Register of processing activities\n\nNo organization.\n");
	expect_register("{\"organizations\":[{\"id\":\"x\"}]}",
			"# Register of processing activities\n\n## x\n\nNo collection declared.\n");
}

/* ---- fuller documents: every heading, every value --------------------- */

static const char FULL_EXPORT[] =
	"{\"org\":\"cpas\",\"subject\":\"s_x\",\"exported_at\":\"2026-11-22T10:00:00.000000Z\","
	"\"records\":[{\"collection\":\"aid_files\",\"id\":\"r_1\",\"version\":2,"
	"\"created_at\":\"2026-01-02T03:04:05.000000Z\",\"updated_at\":\"2026-02-02T03:04:05.000000Z\","
	"\"fields\":{\"amount\":{\"value\":1200,\"category\":\"financial\"},"
	"\"closed_on\":{\"value\":\"2026-01-31\",\"category\":\"social\"}},"
	"\"purposes\":[{\"purpose\":\"social-aid\",\"legal_basis\":\"Organic law of 8 July 1976, art. 60\"}],"
	"\"retention\":\"P10Y\",\"retention_start\":\"closed_on\","
	"\"recipients\":[{\"organization\":\"commune\",\"agreement\":\"ag_1\",\"fields\":[\"amount\"],\"categories\":[],"
	"\"purposes\":[\"housing\"],\"legal_basis\":\"Decree of 2004\",\"status\":\"active\"},"
	"{\"organization\":\"region\",\"agreement\":\"ag_3\",\"fields\":[],\"categories\":[\"social\",\"financial\"],"
	"\"purposes\":[\"stats\",\"audit\"],\"legal_basis\":\"Law of 2010\",\"status\":\"suspended\"}],"
	"\"history\":[{\"version\":1,\"at\":\"2026-01-02T03:04:05Z\",\"changes\":{\"amount\":{\"from\":null,\"to\":1000},"
	"\"closed_on\":{\"from\":null,\"to\":\"2026-01-30\"}}},"
	"{\"version\":2,\"at\":\"2026-02-02T03:04:05Z\",\"changes\":{\"amount\":{\"from\":1000,\"to\":1200},"
	"\"closed_on\":{\"from\":\"2026-01-30\",\"to\":\"2026-01-31\"}}}]}],"
	"\"erasure_requests\":[{\"id\":\"er1\",\"subject\":\"s_x\",\"status\":\"refused\",\"request_reason\":\"please\","
	"\"decision_reason\":\"legal hold\",\"requested_by\":\"alice\",\"decided_by\":\"bob\","
	"\"requested_us\":1767225600000000,\"decided_us\":1767312000000000},"
	"{\"id\":\"er2\",\"subject\":\"s_x\",\"status\":\"pending\",\"requested_by\":\"carol\","
	"\"requested_us\":1767398400000000,\"decided_us\":0}],"
	"\"legal_holds\":[{\"id\":\"h1\",\"subject\":\"s_x\",\"record\":\"r_1\",\"reason\":\"litigation\",\"by\":\"bob\","
	"\"created_us\":1767225600123456,\"released_us\":1767484800000000}],"
	"\"access_report\":{\"org\":\"cpas\",\"subject\":\"s_x\",\"checkpoint\":\"coffre.example/log\\n5\\nabc=\\n\","
	"\"tree_size\":5,\"entries\":["
	"{\"index\":3,\"when\":\"2026-01-02T03:04:05Z\",\"who\":{\"org\":\"cpas\",\"role\":\"agent\"},"
	"\"action\":\"record.read\",\"what\":{\"collection\":\"aid_files\",\"record\":\"r_1\","
	"\"fields\":[\"amount\",\"closed_on\"]},\"why\":{\"purpose\":\"social-aid\",\"legal_basis\":\"art. 60\","
	"\"agreement\":\"ag_1\"},\"outcome\":\"allowed\",\"reason\":null,\"entry\":\"ENTRYBYTES\","
	"\"inclusion_proof\":{\"hashes\":[\"PROOFHASH\"]}},"
	"{\"index\":4,\"when\":\"2026-01-03T03:04:05Z\",\"who\":{\"org\":\"commune\",\"role\":\"clerk\"},"
	"\"action\":\"record.read\",\"what\":{\"collection\":\"aid_files\",\"record\":\"r_1\"},"
	"\"why\":{\"agreement\":\"ag_1\",\"purpose\":\"housing\"},\"outcome\":\"denied\",\"reason\":\"field not granted\"}]}}";

static void test_export_full(void **state)
{
	char *md = export_md(FULL_EXPORT);

	expect_has(md, "# Personal data held about subject s\\_x\n\nOrganization: cpas" S
		       "exported at 2026-11-22T10:00:00.000000Z\n\n## Records\n\n");
	expect_has(md, "\n### aid\\_files " D " record r\\_1 (version 2)\n\n");
	expect_has(md, "\nCreated at 2026-01-02T03:04:05.000000Z" S "updated at 2026-02-02T03:04:05.000000Z\n\n");
	expect_has(md, "\n| Field | Category | Value |\n| --- | --- | --- |\n| amount | financial | 1200 |\n"
		       "| closed\\_on | social | 2026-01-31 |\n\n");
	expect_has(md, "\nPurposes and legal bases:\n\n- social-aid: Organic law of 8 July 1976, art. 60\n\n");
	expect_has(md, "\nRetention: P10Y from closed\\_on\n\n");
	expect_has(md, "\nRecipients:\n\n"
		       "- Organization: commune" S "agreement: ag\\_1" S "fields: amount" S "purposes: housing" S
		       "legal basis: Decree of 2004" S "status: active\n"
		       "- Organization: region" S "agreement: ag\\_3" S "fields: " D S "categories: social, financial" S
		       "purposes: stats, audit" S "legal basis: Law of 2010" S "status: suspended\n\n");
	expect_has(md, "\nCorrections:\n\n| Version | When | Field | Before | After |\n"
		       "| --- | --- | --- | --- | --- |\n"
		       "| 1 | 2026-01-02T03:04:05Z | amount | " D " | 1000 |\n"
		       "| 1 | 2026-01-02T03:04:05Z | closed\\_on | " D " | 2026-01-30 |\n"
		       "| 2 | 2026-02-02T03:04:05Z | amount | 1000 | 1200 |\n"
		       "| 2 | 2026-02-02T03:04:05Z | closed\\_on | 2026-01-30 | 2026-01-31 |\n\n");
	expect_has(md, "\n## Erasure requests\n\n| Request | Status | Requested by | Requested at | Request reason | "
		       "Decided by | Decided at | Decision reason |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n"
		       "| er1 | refused | alice | 2026-01-01T00:00:00Z | please | bob | 2026-01-02T00:00:00Z | legal hold |\n"
		       "| er2 | pending | carol | 2026-01-03T00:00:00Z | " D " | " D " | " D " | " D " |\n\n");
	expect_has(md, "\n## Legal holds\n\n| Hold | Record | Reason | Placed by | Placed at | Released at |\n"
		       "| --- | --- | --- | --- | --- | --- |\n"
		       "| h1 | r\\_1 | litigation | bob | 2026-01-01T00:00:00Z | 2026-01-04T00:00:00Z |\n\n");
	expect_has(md, "\n## Who accessed this data\n\n| # | When | Organization | Role | Action | Collection | Record | "
		       "Fields | Purpose | Legal basis / agreement | Outcome |\n"
		       "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
		       "| 3 | 2026-01-02T03:04:05Z | cpas | agent | record.read | aid\\_files | r\\_1 | amount, closed\\_on | "
		       "social-aid | art. 60" S "agreement ag\\_1 | allowed |\n"
		       "| 4 | 2026-01-03T03:04:05Z | commune | clerk | record.read | aid\\_files | r\\_1 | " D
		       " | housing | agreement ag\\_1 | denied: field not granted |\n\n");
	expect_has(md, "\nEach line has a receipt in the JSON export (the entry bytes and an inclusion proof), verifiable "
		       "against the signed checkpoint of tree size 5:\n\n```\ncoffre.example/log\n5\nabc=\n```\n");
	/* the document ends right after the fence */
	assert_string_equal(md + strlen(md) - 9, "abc=\n```\n");
	/* nothing from the receipts themselves (bytes and proofs stay in the JSON) */
	expect_lacks(md, "ENTRYBYTES");
	expect_lacks(md, "PROOFHASH");
	assert_int_equal(lines_starting(md, "# "), 1);
	assert_int_equal(lines_starting(md, "## "), 4);
	assert_int_equal(lines_starting(md, "### "), 1);
	free(md);
}

static const char FULL_REGISTER[] =
	"{\"generated_at\":\"2026-11-22T10:00:00Z\",\"instance\":{\"environment\":\"production\","
	"\"storage\":{\"records\":\"/srv/vault.db\",\"keystore\":\"/srv/keys.db\",\"engine\":\"SQLite 3 (WAL)\","
	"\"location\":\"Belgium\"},\"security_measures\":[\"TLS 1.2/1.3 only\",\"Field encryption\"]},"
	"\"organizations\":[{\"id\":\"cpas\",\"name\":\"CPAS de Li\\u00e8ge\",\"contact\":\"dpo@cpas.example\","
	"\"collections\":[{\"name\":\"aid_files\",\"description\":\"Social aid files\",\"version\":3,\"records\":123,"
	"\"fields\":[{\"name\":\"amount\",\"type\":\"integer\",\"category\":\"financial\",\"special\":false,"
	"\"required\":true},{\"name\":\"diagnosis\",\"type\":\"string\",\"category\":\"health\",\"special\":true,"
	"\"required\":false}],\"categories\":[\"financial\",\"health\"],\"special_categories\":[\"health\",\"judicial\"],"
	"\"purposes\":[{\"purpose\":\"social-aid\",\"legal_basis\":\"art. 60\",\"description\":\"grant aid\"}],"
	"\"retention\":\"P10Y\",\"retention_start\":\"closed_on\","
	"\"recipients\":[{\"organization\":\"commune\",\"agreement\":\"ag_1\",\"reference\":\"conv-1\","
	"\"fields\":[\"amount\"],\"categories\":[\"social\"],\"purposes\":[\"housing\"],\"legal_basis\":\"art. 6\","
	"\"status\":\"active\",\"valid_from\":\"2026-01-01\",\"valid_until\":\"2027-01-01\"},"
	"{\"organization\":\"region\",\"agreement\":\"ag_4\",\"fields\":[\"amount\"],\"purposes\":[\"stats\"],"
	"\"status\":\"active\",\"valid_from\":\"2026-03-01\",\"valid_until\":null},"
	"{\"organization\":\"state\",\"agreement\":\"ag_5\",\"fields\":[],\"categories\":[],\"purposes\":[],"
	"\"valid_until\":\"2028-01-01\"}]},"
	"{\"name\":\"empty\",\"fields\":[],\"purposes\":[],\"categories\":[],\"recipients\":[]}],"
	"\"received\":[{\"provider\":\"other-org\",\"collection\":\"people\",\"agreement\":\"ag_2\",\"fields\":[\"name\"],"
	"\"purposes\":[\"contact\"],\"legal_basis\":\"art. 7\",\"status\":\"active\"},"
	"{\"provider\":\"x-org\",\"collection\":\"y\",\"agreement\":\"ag_9\",\"categories\":[\"identity\"],"
	"\"purposes\":[\"contact\",\"survey\"],\"legal_basis\":\"art. 8\",\"status\":\"revoked\"}]},"
	"{\"id\":\"commune\",\"name\":\"Commune\",\"collections\":[],\"received\":[]}]}";

static void test_register_full(void **state)
{
	char *md = register_md(FULL_REGISTER);

	expect_has(md, "# Register of processing activities\n\nGenerated at 2026-11-22T10:00:00Z" S
		       "environment production\n\n## Storage and security measures\n\n"
		       "Storage:\n\n- engine: SQLite 3 (WAL)\n- keystore: /srv/keys.db\n- location: Belgium\n"
		       "- records: /srv/vault.db\n\nSecurity measures:\n\n- TLS 1.2/1.3 only\n- Field encryption\n\n");
	expect_has(md, "\n## CPAS de Li\xc3\xa8ge (cpas)\n\nContact: dpo@cpas.example\n\n### aid\\_files\n\n"
		       "Description: Social aid files\n\nSchema version: 3\n\nRecords held: 123\n\n"
		       "Categories: financial, health (special category), judicial (special category)\n\n");
	expect_has(md, "\n| Field | Type | Category | Required |\n| --- | --- | --- | --- |\n"
		       "| amount | integer | financial | yes |\n| diagnosis | string | health (special category) | no |\n\n");
	expect_has(md, "\n| Purpose | Legal basis | Description |\n| --- | --- | --- |\n"
		       "| social-aid | art. 60 | grant aid |\n\n");
	expect_has(md, "\nRetention: P10Y from closed\\_on\n\n");
	expect_has(md, "\nRecipients:\n\n| Organization | Agreement | Reference | Fields | Purposes | Legal basis | "
		       "Status | Valid |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n"
		       "| commune | ag\\_1 | conv-1 | amount; categories: social | housing | art. 6 | active | "
		       "from 2026-01-01 until 2027-01-01 |\n"
		       "| region | ag\\_4 | " D " | amount | stats | " D " | active | from 2026-03-01 |\n"
		       "| state | ag\\_5 | " D " | " D " | " D " | " D " | " D " | until 2028-01-01 |\n\n");
	expect_has(md, "\n### empty\n\nCategories: " D "\n\nNo field declared.\n\nNo purpose declared.\n\n"
		       "Recipients:\n\nNo recipient.\n\n");
	expect_has(md, "\n### Data received from other organizations\n\n| Provider | Collection | Agreement | Fields | "
		       "Purposes | Legal basis | Status |\n| --- | --- | --- | --- | --- | --- | --- |\n"
		       "| other-org | people | ag\\_2 | name | contact | art. 7 | active |\n"
		       "| x-org | y | ag\\_9 | categories: identity | contact, survey | art. 8 | revoked |\n\n");
	expect_has(md, "\n## Commune (commune)\n\nNo collection declared.\n\n"
		       "### Data received from other organizations\n\nNone.\n");
	assert_string_equal(md + strlen(md) - 6, "None.\n");
	assert_int_equal(lines_starting(md, "# "), 1);
	assert_int_equal(lines_starting(md, "## "), 3);
	assert_int_equal(lines_starting(md, "### "), 4);
	free(md);
}

/* ---- escaping ---------------------------------------------------------- */

static void test_escape_cells(void **state)
{
	char *md = export_with_value("\"a|b\\n# x\"");
	const char *row = line_with(md, "| v | other |");

	/* the pipe is escaped, the line break is a space: no new column, no heading */
	assert_string_equal(strstr(md, "| v | other |"), "| v | other | a\\|b \\# x |\n\nCorrections:\n\nNo correction.\n");
	assert_int_equal(cell_borders(row), 4);
	assert_int_equal(lines_starting(md, "#"), 3); /* the title, ## Records, ### c */
	assert_int_equal(lines_starting(md, "# x"), 0);
	free(md);

	expect_value_cell("\"*b* _i_ [l](http) <s> `c` \\\\ # | ~d~\"",
			  "\\*b\\* \\_i\\_ \\[l\\](http) \\<s\\> \\`c\\` \\\\ \\# \\| \\~d\\~");
	/* CR, LF, tab and other control bytes become spaces */
	expect_value_cell("\"a\\r\\nb\\tc\\u001bd\\u007fe\"", "a  b c d e");
	/* autolinks would swallow the backslashes of later escapes */
	expect_value_cell("\"see https://x.y/a_b or WWW.x.y or www.z and a:b\"",
			  "see https\\://x.y/a\\_b or WWW\\.x.y or www\\.z and a:b");
	/* characters that only matter at the start of a line are left alone in a cell */
	expect_value_cell("\"- 1. + = ! & )\"", "- 1. + = ! & )");
}

static void test_escape_headings_and_text(void **state)
{
	char *md = export_md("{\"org\":\"o\\n# org\",\"subject\":\"s\\r\\n## sub [x]\",\"exported_at\":\"<b>\","
			     "\"records\":[{\"collection\":\"c#\",\"id\":\"i\\n---\",\"retention\":\"P1Y\\n===\"}]}");

	expect_has(md, "# Personal data held about subject s  \\#\\# sub \\[x\\]\n\nOrganization: o \\# org" S
		       "exported at \\<b\\>\n\n## Records\n\n### c\\# " D " record i ---\n\nRetention: P1Y ===\n\n");
	assert_int_equal(lines_starting(md, "#"), 3);
	assert_int_equal(lines_starting(md, "---"), 0);
	assert_int_equal(lines_starting(md, "==="), 0);
	free(md);
}

static void test_escape_list_items(void **state)
{
	char *md = export_md("{\"org\":\"o\",\"subject\":\"s\",\"records\":[{\"purposes\":["
			     "{\"purpose\":\"- x\",\"legal_basis\":\"- y\"},"
			     "{\"purpose\":\"1. a\",\"legal_basis\":\"2) b\"},"
			     "\"12) c\",\"   + d\",\"\\t\\n    code\",\"=\",\"1234567890. e\",\"12345678901. f\",\"2026-01\"]}]}");

	expect_has(md, "\nPurposes and legal bases:\n\n"
		       "- \\- x: - y\n"
		       "- 1\\. a: 2) b\n"
		       "- 12\\) c\n"
		       "- \\+ d\n"
		       "- code\n"
		       "- \\=\n"
		       "- 1234567890\\. e\n"
		       "- 12345678901. f\n" /* eleven digits cannot start an ordered list */
		       "- 2026-01\n\n");
	free(md);

	md = register_md("{\"instance\":{\"storage\":{\"- k\":\"- v\",\"a\":\"b\"},"
			 "\"security_measures\":[\"***\",\"+ x\",\"# h\",\"> q\",\"~~~\"]},\"organizations\":[]}");
	expect_has(md, "\nStorage:\n\n- \\- k: - v\n- a: b\n\nSecurity measures:\n\n"
		       "- \\*\\*\\*\n- \\+ x\n- \\# h\n- \\> q\n- \\~\\~\\~\n\n");
	free(md);
}

static void test_escape_register(void **state)
{
	char *md = register_md("{\"organizations\":[{\"id\":\"a|b\",\"name\":\"N\\n# x\",\"contact\":\"[m](j)\","
			       "\"collections\":[{\"name\":\"c\\r\\n## y\",\"description\":\"d\\n- z\","
			       "\"fields\":[{\"name\":\"f|g\",\"type\":\"t\\n|x|\",\"category\":\"*\",\"required\":\"x\"}]}]}]}");

	expect_has(md, "\n## N \\# x (a\\|b)\n\nContact: \\[m\\](j)\n\n### c  \\#\\# y\n\nDescription: d - z\n\n"
		       "| Field | Type | Category | Required |\n| --- | --- | --- | --- |\n"
		       "| f\\|g | t \\|x\\| | \\* | x |\n");
	assert_int_equal(cell_borders(line_with(md, "| f\\|g")), 5);
	assert_int_equal(lines_starting(md, "#"), 3);
	free(md);
}

/* ---- determinism ------------------------------------------------------- */

static void test_deterministic(void **state)
{
	static const char a[] =
		"{\"org\":\"o\",\"subject\":\"s\",\"records\":[{\"collection\":\"c\",\"id\":\"r\","
		"\"fields\":{\"b\":{\"value\":{\"y\":1,\"x\":2},\"category\":\"k\"},\"a\":{\"category\":\"k\",\"value\":1}},"
		"\"history\":[{\"version\":2,\"at\":\"t\",\"changes\":{\"z\":{\"from\":1,\"to\":2},\"m\":{\"to\":3,\"from\":4}}}]}]}";
	static const char b[] =
		"{\"records\":[{\"history\":[{\"changes\":{\"m\":{\"from\":4,\"to\":3},\"z\":{\"to\":2,\"from\":1}},\"at\":\"t\","
		"\"version\":2}],\"fields\":{\"a\":{\"value\":1,\"category\":\"k\"},\"b\":{\"category\":\"k\",\"value\":{\"x\":2,"
		"\"y\":1}}},\"id\":\"r\",\"collection\":\"c\"}],\"subject\":\"s\",\"org\":\"o\"}";
	static const char ra[] = "{\"organizations\":[],\"instance\":{\"storage\":{\"z\":\"1\",\"b\":\"2\",\"a\":\"3\"}}}";
	static const char rb[] = "{\"instance\":{\"storage\":{\"a\":\"3\",\"z\":\"1\",\"b\":\"2\"}},\"organizations\":[]}";
	char *x = export_md(a), *y = export_md(b), *z;

	assert_string_equal(x, y);
	/* sorted by key, not by insertion; nested values in canonical form */
	expect_has(x, "| a | k | 1 |\n| b | k | {\"x\":2,\"y\":1} |\n");
	expect_has(x, "| 2 | t | m | 4 | 3 |\n| 2 | t | z | 1 | 2 |\n");
	z = export_md(a);
	assert_string_equal(x, z); /* and the same input twice gives the same bytes */
	free(x);
	free(y);
	free(z);

	x = register_md(ra);
	y = register_md(rb);
	assert_string_equal(x, y);
	expect_has(x, "- a: 3\n- b: 2\n- z: 1\n");
	free(x);
	free(y);
}

/* ---- tolerance of missing sections --------------------------------------- */

static void test_missing_sections(void **state)
{
	/* an empty record: every member absent */
	expect_export("{\"org\":\"o\",\"subject\":\"s\",\"records\":[{}]}",
		      "# Personal data held about subject s\n\nOrganization: o\n\n## Records\n\n### " D " " D " record " D
		      "\n\nCorrections:\n\nNo correction.\n");
	/* no record at all; members of the wrong type count as missing */
	expect_export("{\"org\":\"o\",\"subject\":\"s\",\"records\":[],\"erasure_requests\":{},\"legal_holds\":\"x\","
		      "\"access_report\":[]}",
		      "# Personal data held about subject s\n\nOrganization: o\n\n## Records\n\nNone.\n");
	/* an access report without entries or checkpoint, then with no entry */
	expect_export("{\"org\":\"o\",\"subject\":\"s\",\"access_report\":{}}",
		      "# Personal data held about subject s\n\nOrganization: o\n\n## Who accessed this data\n");
	expect_export("{\"org\":\"o\",\"subject\":\"s\",\"access_report\":{\"entries\":[],\"checkpoint\":\"n\\n0\\n\"}}",
		      "# Personal data held about subject s\n\nOrganization: o\n\n## Who accessed this data\n\n"
		      "No access recorded.\n\nEach line has a receipt in the JSON export (the entry bytes and an "
		      "inclusion proof), verifiable against the signed checkpoint:\n\n```\nn\n0\n```\n");
	/* a record with a created date only, a retention without a start, an empty fields object */
	expect_export("{\"org\":\"o\",\"subject\":\"s\",\"records\":[{\"collection\":\"c\",\"id\":\"r\","
		      "\"created_at\":\"t\",\"fields\":{},\"purposes\":[],\"retention\":\"P1Y\",\"history\":[]}]}",
		      "# Personal data held about subject s\n\nOrganization: o\n\n## Records\n\n### c " D
		      " record r\n\nCreated at t" S "updated at " D "\n\nNo field.\n\nPurposes and legal bases:\n\n"
		      "None.\n\nRetention: P1Y\n\nCorrections:\n\nNo correction.\n");
	/* a field entry that is not an object is shown as the value itself; odd entries of lists too */
	expect_export("{\"org\":\"o\",\"subject\":\"s\",\"records\":[{\"collection\":\"c\",\"id\":\"r\","
		      "\"fields\":{\"f\":7},\"recipients\":[{}],\"history\":[{\"version\":1},{\"version\":2},"
		      "{\"version\":3,\"changes\":{\"f\":5}}]}],\"erasure_requests\":[{}],\"legal_holds\":[7]}",
		      "# Personal data held about subject s\n\nOrganization: o\n\n## Records\n\n### c " D
		      " record r\n\n| Field | Category | Value |\n| --- | --- | --- |\n| f | " D " | 7 |\n\n"
		      "Recipients:\n\n- Organization: " D S "agreement: " D S "fields: " D S "purposes: " D S
		      "legal basis: " D S "status: " D "\n\nCorrections:\n\n| Version | When | Field | Before | After |\n"
		      "| --- | --- | --- | --- | --- |\n| 3 | " D " | f | " D " | " D " |\n\n"
		      "## Erasure requests\n\n| Request | Status | Requested by | Requested at | Request reason | Decided by | "
		      "Decided at | Decision reason |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n"
		      "| " D " | " D " | " D " | " D " | " D " | " D " | " D " | " D " |\n\n"
		      "## Legal holds\n\n| Hold | Record | Reason | Placed by | Placed at | Released at |\n"
		      "| --- | --- | --- | --- | --- | --- |\n| " D " | " D " | " D " | " D " | " D " | " D " |\n");
	/* register: an organization and a collection with nothing but a name, no instance */
	expect_register("{\"organizations\":[{}]}", "# Register of processing activities\n\n## " D
							   "\n\nNo collection declared.\n");
	expect_register("{\"organizations\":[{\"id\":\"x\",\"collections\":[{}]}]}",
			"# Register of processing activities\n\n## x\n\n### " D "\n");
	expect_register("{\"organizations\":[{\"name\":\"N\",\"collections\":[{\"name\":\"c\",\"special_categories\":[\"health\"]}]}],"
			"\"generated_at\":\"g\",\"instance\":{}}",
			"# Register of processing activities\n\nGenerated at g" S "environment " D
			"\n\n## Storage and security measures\n\n## N (" D ")\n\n### c\n\n"
			"Categories: health (special category)\n");
	expect_register("{\"organizations\":[],\"instance\":{\"environment\":\"e\",\"storage\":{},\"security_measures\":[]}}",
			"# Register of processing activities\n\nGenerated at " D S "environment e\n\n"
			"## Storage and security measures\n\nStorage:\n\nNone.\n\nSecurity measures:\n\nNone.\n\n"
			"No organization.\n");
}

/* ---- refusals ----------------------------------------------------------- */

static void test_bad_input(void **state)
{
	static const char *bad_exports[] = {
		"[]", "\"x\"", "1", "null", "{}", "{\"org\":\"o\"}", "{\"subject\":\"s\"}", "{\"org\":1,\"subject\":\"s\"}",
		"{\"org\":\"o\",\"subject\":null}", "{\"org\":[\"o\"],\"subject\":\"s\"}",
	};
	static const char *bad_registers[] = {
		"[]", "\"x\"", "{}", "{\"organizations\":{}}", "{\"organizations\":null}", "{\"organizations\":\"x\"}",
	};
	size_t i;

	assert_null(cf_report_export_markdown(NULL));
	assert_null(cf_report_processing_markdown(NULL));
	for (i = 0; i < CF_ARRAY_LEN(bad_exports); i++) {
		json_t *v = json_loads(bad_exports[i], JSON_DECODE_ANY, NULL);
		assert_non_null(v);
		assert_null(cf_report_export_markdown(v));
		json_decref(v);
	}
	for (i = 0; i < CF_ARRAY_LEN(bad_registers); i++) {
		json_t *v = json_loads(bad_registers[i], JSON_DECODE_ANY, NULL);
		assert_non_null(v);
		assert_null(cf_report_processing_markdown(v));
		json_decref(v);
	}
}

/* ---- checkpoint fences ---------------------------------------------------- */

static void expect_fence(const char *checkpoint_json, const char *expected_tail)
{
	char text[1024];
	char *md;

	assert_int_equal(cf_snprintf(text, sizeof(text),
				     "{\"org\":\"o\",\"subject\":\"s\",\"access_report\":{\"checkpoint\":%s,\"tree_size\":7}}",
				     checkpoint_json),
			 CF_OK);
	md = export_md(text);
	expect_has(md, "checkpoint of tree size 7:\n\n");
	assert_string_equal(strstr(md, "checkpoint of tree size 7:\n\n") + strlen("checkpoint of tree size 7:\n\n"),
			    expected_tail);
	free(md);
}

static void test_checkpoint_fence(void **state)
{
	/* verbatim: nothing escaped inside the fence */
	expect_fence("\"a_b *c* #d\\n7\\n\"", "```\na_b *c* #d\n7\n```\n");
	/* one or two backticks cannot close a ``` fence */
	expect_fence("\"`x`` y\\n\"", "```\n`x`` y\n```\n");
	/* a ``` in the note: a longer fence */
	expect_fence("\"a\\n```\\nb\\n\"", "````\na\n```\nb\n````\n");
	expect_fence("\"```\"", "````\n```\n````\n");
	/* always longer than the longest run */
	expect_fence("\"x`````y\\n````\\n\"", "``````\nx`````y\n````\n``````\n");
	/* a note without its final newline gets one before the closing fence; an empty note */
	expect_fence("\"log\\n7\"", "```\nlog\n7\n```\n");
	expect_fence("\"\"", "```\n```\n");
	/* no checkpoint (or not a string): no paragraph, no fence */
	{
		char *md = export_md("{\"org\":\"o\",\"subject\":\"s\",\"access_report\":{\"checkpoint\":5,\"entries\":[]}}");
		assert_string_equal(md, "# Personal data held about subject s\n\nOrganization: o\n\n"
					"## Who accessed this data\n\nNo access recorded.\n");
		free(md);
	}
}

/* ---- corrections ------------------------------------------------------- */

static void expect_history(const char *history_json, const char *expected)
{
	char text[2048];
	char *md;

	assert_int_equal(cf_snprintf(text, sizeof(text),
				     "{\"org\":\"o\",\"subject\":\"s\",\"records\":[{\"collection\":\"c\",\"id\":\"r\"%s%s}]}",
				     history_json ? ",\"history\":" : "", history_json ? history_json : ""),
			 CF_OK);
	md = export_md(text);
	assert_string_equal(strstr(md, "Corrections:"), expected);
	free(md);
}

static void test_history(void **state)
{
	static const char head[] = "Corrections:\n\n| Version | When | Field | Before | After |\n| --- | --- | --- | --- | --- |\n";

	/* absent, empty, version 1 only (even with several fields): no correction */
	expect_history(NULL, "Corrections:\n\nNo correction.\n");
	expect_history("[]", "Corrections:\n\nNo correction.\n");
	expect_history("{\"version\":2}", "Corrections:\n\nNo correction.\n");
	expect_history("[{\"version\":1,\"at\":\"t1\",\"changes\":{\"a\":{\"from\":null,\"to\":1},\"b\":{\"to\":2}}}]",
		       "Corrections:\n\nNo correction.\n");
	/* version 1 rows show no "before", even if one was given */
	expect_history("[{\"version\":1,\"at\":\"t1\",\"changes\":{\"a\":{\"from\":\"x\",\"to\":\"1\"}}},"
		       "{\"version\":2,\"at\":\"t2\",\"changes\":{\"a\":{\"from\":\"1\",\"to\":\"2\"}}}]",
		       "Corrections:\n\n| Version | When | Field | Before | After |\n| --- | --- | --- | --- | --- |\n"
		       "| 1 | t1 | a | " D " | 1 |\n| 2 | t2 | a | 1 | 2 |\n");
	/* later versions: null or absent "from" is a dash, values of every type, order kept */
	{
		char expected[1024];
		assert_int_equal(cf_snprintf(expected, sizeof(expected),
					     "%s| 3 | t3 | b | " D " | yes |\n| 3 | t3 | c | " D " | " D " |\n"
					     "| 2 | t2 | a | no | 2.5 |\n",
					     head),
				 CF_OK);
		expect_history("[{\"version\":3,\"at\":\"t3\",\"changes\":{\"c\":{\"from\":null,\"to\":null},"
			       "\"b\":{\"to\":true}}},{\"version\":2,\"at\":\"t2\",\"changes\":{\"a\":{\"from\":false,"
			       "\"to\":2.5}}},{\"version\":4,\"at\":\"t4\"},{\"version\":5,\"at\":\"t5\",\"changes\":{}}]",
			       expected);
	}
	/* an entry that is not an object is skipped */
	expect_history("[5,{\"version\":2,\"at\":\"t2\",\"changes\":{\"a\":{\"from\":1,\"to\":2}}}]",
		       "Corrections:\n\n| Version | When | Field | Before | After |\n| --- | --- | --- | --- | --- |\n"
		       "| 2 | t2 | a | 1 | 2 |\n");
}

/* ---- timestamps ---------------------------------------------------------- */

static void expect_time(const char *us_json, const char *cell)
{
	char text[512], row[256];
	char *md;

	assert_int_equal(cf_snprintf(text, sizeof(text),
				     "{\"org\":\"o\",\"subject\":\"s\",\"legal_holds\":[{\"id\":\"h\",\"created_us\":%s}]}",
				     us_json),
			 CF_OK);
	assert_int_equal(cf_snprintf(row, sizeof(row), "| h | " D " | " D " | " D " | %s | " D " |\n", cell), CF_OK);
	md = export_md(text);
	assert_string_equal(strstr(md, "| h |"), row);
	free(md);
}

static void test_timestamps(void **state)
{
	expect_time("1767225600000000", "2026-01-01T00:00:00Z");
	expect_time("1767225600999999", "2026-01-01T00:00:00Z"); /* truncated to the second, never rounded up */
	expect_time("1", "1970-01-01T00:00:00Z");
	expect_time("-1", "1969-12-31T23:59:59Z");
	expect_time("-1000000", "1969-12-31T23:59:59Z");
	expect_time("-1000001", "1969-12-31T23:59:58Z");
	expect_time("951782400000000", "2000-02-29T00:00:00Z");
	expect_time("253402300799000000", "9999-12-31T23:59:59Z");
	expect_time("-62167219200000000", "0000-01-01T00:00:00Z");
	/* 0 and null: never happened */
	expect_time("0", D);
	expect_time("null", D);
	/* outside years 0000-9999, or not an integer: shown as given */
	expect_time("253402300800000000", "253402300800000000");
	expect_time("-62167219200000001", "-62167219200000001");
	expect_time("9223372036854775807", "9223372036854775807");
	expect_time("-9223372036854775808", "-9223372036854775808");
	expect_time("\"yesterday_\"", "yesterday\\_");
	expect_time("1.5", "1.5");
	expect_time("true", "yes");
}

/* ---- scalar values ------------------------------------------------------- */

static void test_values(void **state)
{
	json_t *r = json_real(0.1);
	char *dumped = json_dumps(r, JSON_ENCODE_ANY);

	expect_value_cell("1200", "1200");
	expect_value_cell("-7", "-7");
	expect_value_cell("9223372036854775807", "9223372036854775807");
	expect_value_cell("true", "yes");
	expect_value_cell("false", "no");
	expect_value_cell("null", D);
	expect_value_cell("\"\"", "");
	expect_value_cell("\"caf\\u00e9\"", "caf\xc3\xa9");
	/* reals exactly as jansson writes them */
	assert_non_null(dumped);
	expect_value_cell("0.1", dumped);
	expect_value_cell("2.5", "2.5");
	expect_value_cell("-1e300", "-1.0000000000000001e300");
	free(dumped);
	json_decref(r);
	/* nested values (not expected, but never dropped): canonical JSON, escaped */
	expect_value_cell("{\"b\":[1,\"x*\"],\"a\":null}", "{\"a\":null,\"b\":\\[1,\"x\\*\"\\]}");
	expect_value_cell("[\"a|b\",\"c\\nd\"]", "\\[\"a\\|b\",\"c\\\\nd\"\\]");
	/* a missing "value" member */
	{
		char *md = export_md("{\"org\":\"o\",\"subject\":\"s\",\"records\":[{\"fields\":{\"v\":{\"category\":\"k\"}}}]}");
		expect_has(md, "\n| v | k | " D " |\n");
		free(md);
	}
}

/* NUL bytes inside strings (jansson can hold them) cannot cut the document short. */
static void test_nul_bytes(void **state)
{
	json_t *ex = json_pack("{s:s, s:s, s:[{s:s, s:s, s:{s:{s:o}}}], s:{s:o}}", "org", "o", "subject", "s", "records",
			       "collection", "c", "id", "r", "fields", "v", "value", json_stringn("a\0b", 3),
			       "access_report", "checkpoint", json_stringn("x\0y\n", 4));
	char *md;

	assert_non_null(ex);
	md = cf_report_export_markdown(ex);
	assert_non_null(md);
	expect_has(md, "\n| v | " D " | a b |\n");
	assert_string_equal(md + strlen(md) - 12, "```\nx y\n```\n");
	free(md);
	json_decref(ex);
}

/* ---- size ---------------------------------------------------------------- */

/* An export whose only variable part is a subject of n bytes of c. */
static char *export_of_subject(size_t n, char c)
{
	char *s = malloc(n + 1);
	json_t *ex;
	char *md;

	assert_non_null(s);
	memset(s, c, n);
	ex = json_pack("{s:s, s:o}", "org", "o", "subject", json_stringn_nocheck(s, n));
	free(s);
	assert_non_null(ex);
	md = cf_report_export_markdown(ex);
	json_decref(ex);
	return md;
}

static void test_size_cap(void **state)
{
	char *md = export_of_subject(0, 'a');
	size_t base, fit;

	assert_non_null(md);
	base = strlen(md);
	assert_int_equal(base, strlen("# Personal data held about subject \n\nOrganization: o\n"));
	free(md);

	/* exactly at the cap (with the NUL), through many growths: intact */
	fit = CF_REPORT_MAX_BYTES - 1 - base;
	md = export_of_subject(fit, 'a');
	assert_non_null(md);
	assert_int_equal(strlen(md), CF_REPORT_MAX_BYTES - 1);
	assert_memory_equal(md, "# Personal data held about subject aaa", 38);
	assert_string_equal(md + strlen(md) - 22, "aaaa\n\nOrganization: o\n");
	free(md);

	/* one byte more, or escaping that doubles a value past the cap: NULL */
	assert_null(export_of_subject(fit + 1, 'a'));
	assert_null(export_of_subject(CF_REPORT_MAX_BYTES / 2, '*'));
}

/* A value of a few hundred KiB with every kind of byte survives the copies of each growth. */
static void test_growth_keeps_content(void **state)
{
	size_t n = 300000, i;
	char *s = malloc(n), *md, *expected, *p;
	json_t *ex;

	assert_non_null(s);
	expected = malloc(2 * n + 1);
	assert_non_null(expected);
	for (i = 0, p = expected; i < n; i++) {
		s[i] = "ab|c*d\ne_f"[i % 10];
		if (strchr("|*_", s[i]) != NULL)
			*p++ = '\\';
		*p++ = s[i] == '\n' ? ' ' : s[i];
	}
	*p = '\0';
	ex = json_pack("{s:s, s:s, s:[{s:{s:{s:o}}}]}", "org", "o", "subject", "s", "records", "fields", "v", "value",
		       json_stringn(s, n));
	assert_non_null(ex);
	md = cf_report_export_markdown(ex);
	assert_non_null(md);
	p = strstr(md, "| v | " D " | ");
	assert_non_null(p);
	p += strlen("| v | " D " | ");
	assert_memory_equal(p, expected, strlen(expected));
	assert_string_equal(p + strlen(expected), " |\n\nCorrections:\n\nNo correction.\n");
	free(md);
	free(expected);
	free(s);
	json_decref(ex);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_export_small_exact),
		cmocka_unit_test(test_export_minimal_exact),
		cmocka_unit_test(test_register_small_exact),
		cmocka_unit_test(test_register_minimal_exact),
		cmocka_unit_test(test_export_full),
		cmocka_unit_test(test_register_full),
		cmocka_unit_test(test_escape_cells),
		cmocka_unit_test(test_escape_headings_and_text),
		cmocka_unit_test(test_escape_list_items),
		cmocka_unit_test(test_escape_register),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_missing_sections),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_checkpoint_fence),
		cmocka_unit_test(test_history),
		cmocka_unit_test(test_timestamps),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_nul_bytes),
		cmocka_unit_test(test_size_cap),
		cmocka_unit_test(test_growth_keeps_content),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
