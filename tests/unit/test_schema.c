/*
 * test_schema.c - collection declarations (strict parsing, normalized
 * output and its round trip), ISO 8601 durations, declared patterns, and
 * the validation of record values for every field type.
 */
#include "common/cf.h"
#include "schema/schema.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

/* JSON from a C literal written with single quotes (no apostrophes in these documents). */
static json_t *J(const char *sq)
{
	size_t len = strlen(sq);
	char *buf = malloc(len + 1);
	json_error_t jerr;
	json_t *v;

	assert_non_null(buf);
	for (size_t i = 0; i <= len; i++)
		buf[i] = sq[i] == '\'' ? '"' : sq[i];
	v = json_loads(buf, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (v == NULL)
		fail_msg("bad test JSON: %s: %s", jerr.text, buf);
	free(buf);
	return v;
}

#define EXAMPLE                                                                                            \
	"{'fields': {'first_name': {'type': 'string', 'category': 'identity', 'required': true, "          \
	"'max_length': 100},"                                                                              \
	" 'last_name': {'type': 'string', 'category': 'identity', 'required': true, 'max_length': 100},"  \
	" 'aid_amount': {'type': 'integer', 'category': 'social'}},"                                        \
	" 'purposes': {'social-aid': {'legal_basis': 'organic law on welfare centres, art. 60'}},"         \
	" 'retention': 'P10Y'}"

static cf_collection *parse_ok(const char *name, const char *sq)
{
	json_t *def = J(sq);
	cf_collection *c = NULL;
	cf_err err;

	cf_err_clear(&err);
	if (cf_collection_parse(name, def, &c, &err) != CF_OK)
		fail_msg("refused: %s (%s)", err.detail, sq);
	assert_non_null(c);
	json_decref(def);
	return c;
}

static void parse_fails_json(json_t *def, cf_problem p, const char *detail_part)
{
	cf_collection *c = (cf_collection *)(uintptr_t)1;
	cf_err err;
	cf_rc rc;

	cf_err_clear(&err);
	rc = cf_collection_parse("social_aid", def, &c, &err);
	if (rc != CF_EINVAL || err.problem != p || strstr(err.detail, detail_part) == NULL)
		fail_msg("rc %d problem %d detail \"%s\" (wanted problem %d and \"%s\")", rc, err.problem, err.detail,
			 p, detail_part);
	assert_null(c);
	assert_int_equal(err.rc, CF_EINVAL);
}

static void parse_fails(const char *sq, cf_problem p, const char *detail_part)
{
	json_t *def = J(sq);

	parse_fails_json(def, p, detail_part);
	json_decref(def);
}

/* A collection with one field of the given declaration, purpose "p", retention P1Y. */
static char *one_field(const char *field_sq)
{
	char *buf = malloc(4096);

	assert_non_null(buf);
	assert_int_equal(cf_snprintf(buf, 4096,
				     "{'fields': {'f': %s}, 'purposes': {'p': {'legal_basis': 'law'}}, "
				     "'retention': 'P1Y'}",
				     field_sq),
			 CF_OK);
	return buf;
}

static void field_fails(const char *field_sq, cf_problem p, const char *detail_part)
{
	char *doc = one_field(field_sq);

	parse_fails(doc, p, detail_part);
	free(doc);
}

static void field_ok(const char *field_sq)
{
	char *doc = one_field(field_sq);

	cf_collection_free(parse_ok("c", doc));
	free(doc);
}

static char *repeat(const char *unit, size_t n)
{
	size_t ul = strlen(unit);
	char *s = malloc(ul * n + 1);

	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * ul, unit, ul);
	s[ul * n] = '\0';
	return s;
}

/* ---- names, categories, types ---- */

static void test_names(void **state)
{
	char *n64 = repeat("a", 64), *n65 = repeat("a", 65);

	(void)state;
	assert_true(cf_name_valid("a"));
	assert_true(cf_name_valid("social_aid"));
	assert_true(cf_name_valid("a0_9"));
	assert_true(cf_name_valid(n64));
	assert_false(cf_name_valid(n65));
	assert_false(cf_name_valid(NULL));
	assert_false(cf_name_valid(""));
	assert_false(cf_name_valid("Social"));
	assert_false(cf_name_valid("1a"));
	assert_false(cf_name_valid("_a"));
	assert_false(cf_name_valid("a-b"));
	assert_false(cf_name_valid("a b"));
	assert_false(cf_name_valid("a.b"));
	assert_false(cf_name_valid("\xc3\xa9t\xc3\xa9"));

	assert_true(cf_label_valid("social-aid"));
	assert_true(cf_label_valid("agent"));
	assert_true(cf_label_valid("a_b-c9"));
	assert_true(cf_label_valid(n64));
	assert_false(cf_label_valid(n65));
	assert_false(cf_label_valid(NULL));
	assert_false(cf_label_valid(""));
	assert_false(cf_label_valid("-a"));
	assert_false(cf_label_valid("9a"));
	assert_false(cf_label_valid("Agent"));
	assert_false(cf_label_valid("a/b"));
	free(n64);
	free(n65);
}

static void test_categories(void **state)
{
	static const char *const all[] = {"identity", "contact",   "financial", "social",   "health",
					  "judicial", "professional", "family", "housing", "education",
					  "biometric", "location", "other"};

	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(all); i++)
		assert_true(cf_category_valid(all[i]));
	assert_false(cf_category_valid(NULL));
	assert_false(cf_category_valid(""));
	assert_false(cf_category_valid("Health"));
	assert_false(cf_category_valid("medical"));
	assert_false(cf_category_valid("health "));
	for (size_t i = 0; i < CF_ARRAY_LEN(all); i++) {
		bool special = strcmp(all[i], "health") == 0 || strcmp(all[i], "judicial") == 0 ||
			       strcmp(all[i], "biometric") == 0;
		assert_int_equal(cf_category_special(all[i]), special);
	}
	assert_false(cf_category_special(NULL));
	assert_false(cf_category_special("Health"));
}

static void test_type_names(void **state)
{
	(void)state;
	assert_string_equal(cf_field_type_name(CF_FT_STRING), "string");
	assert_string_equal(cf_field_type_name(CF_FT_INTEGER), "integer");
	assert_string_equal(cf_field_type_name(CF_FT_BOOLEAN), "boolean");
	assert_string_equal(cf_field_type_name(CF_FT_DATE), "date");
	assert_string_equal(cf_field_type_name(CF_FT_ENUM), "enum");
	assert_string_equal(cf_field_type_name(CF_FT_EMAIL), "email");
	assert_string_equal(cf_field_type_name(CF_FT_PHONE), "phone");
	assert_string_equal(cf_field_type_name(CF_FT_POSTAL_CODE), "postal_code");
	assert_string_equal(cf_field_type_name(CF_FT_NATIONAL_ID), "national_id");
	assert_string_equal(cf_field_type_name((cf_field_type)99), "unknown");
}

/* ---- parsing ---- */

static void test_parse_example(void **state)
{
	cf_collection *c = parse_ok("social_aid", EXAMPLE);
	const cf_field *f;

	(void)state;
	assert_string_equal(cf_collection_name(c), "social_aid");
	assert_int_equal(cf_collection_field_count(c), 3);
	/* sorted by name, not declaration order */
	assert_string_equal(cf_field_name(cf_collection_field_at(c, 0)), "aid_amount");
	assert_string_equal(cf_field_name(cf_collection_field_at(c, 1)), "first_name");
	assert_string_equal(cf_field_name(cf_collection_field_at(c, 2)), "last_name");
	assert_null(cf_collection_field_at(c, 3));
	assert_int_equal(cf_collection_field_index(c, "aid_amount"), 0);
	assert_int_equal(cf_collection_field_index(c, "first_name"), 1);
	assert_int_equal(cf_collection_field_index(c, "last_name"), 2);
	assert_int_equal(cf_collection_field_index(c, "age"), -1);
	assert_int_equal(cf_collection_field_index(c, "zzz"), -1);
	assert_int_equal(cf_collection_field_index(c, ""), -1);
	assert_int_equal(cf_collection_field_index(c, NULL), -1);
	assert_null(cf_collection_field(c, "nope"));

	f = cf_collection_field(c, "first_name");
	assert_non_null(f);
	assert_ptr_equal(f, cf_collection_field_at(c, 1));
	assert_int_equal(cf_field_type_of(f), CF_FT_STRING);
	assert_string_equal(cf_field_category(f), "identity");
	assert_true(cf_field_required(f));
	f = cf_collection_field(c, "aid_amount");
	assert_int_equal(cf_field_type_of(f), CF_FT_INTEGER);
	assert_string_equal(cf_field_category(f), "social");
	assert_false(cf_field_required(f));

	assert_int_equal(cf_collection_purpose_count(c), 1);
	assert_string_equal(cf_collection_purpose_at(c, 0), "social-aid");
	assert_null(cf_collection_purpose_at(c, 1));
	assert_string_equal(cf_collection_legal_basis(c, "social-aid"), "organic law on welfare centres, art. 60");
	assert_null(cf_collection_legal_basis(c, "marketing"));
	assert_null(cf_collection_legal_basis(c, NULL));
	assert_string_equal(cf_collection_retention(c), "P10Y");
	assert_string_equal(cf_collection_retention_start(c), "created");
	cf_collection_free(c);
	cf_collection_free(NULL);
}

static void assert_json_equal(json_t *got, json_t *want)
{
	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_SORT_KEYS), *w = json_dumps(want, JSON_SORT_KEYS);

		fail_msg("got %s\nwant %s", g, w);
	}
}

static void round_trip(const char *name, const char *sq, const char *want_sq)
{
	cf_collection *c = parse_ok(name, sq), *c2 = NULL;
	json_t *out = cf_collection_to_json(c), *out2, *want = J(want_sq);
	cf_err err;

	assert_non_null(out);
	assert_json_equal(out, want);
	cf_err_clear(&err);
	assert_int_equal(cf_collection_parse(name, out, &c2, &err), CF_OK);
	out2 = cf_collection_to_json(c2);
	assert_json_equal(out2, out);
	json_decref(out);
	json_decref(out2);
	json_decref(want);
	cf_collection_free(c);
	cf_collection_free(c2);
}

static void test_to_json_round_trip(void **state)
{
	(void)state;
	round_trip("social_aid", EXAMPLE,
		   "{'fields': {'first_name': {'type': 'string', 'category': 'identity', 'required': true, "
		   "'max_length': 100},"
		   " 'last_name': {'type': 'string', 'category': 'identity', 'required': true, 'max_length': 100},"
		   " 'aid_amount': {'type': 'integer', 'category': 'social', 'required': false}},"
		   " 'purposes': {'social-aid': {'legal_basis': 'organic law on welfare centres, art. 60'}},"
		   " 'retention': 'P10Y', 'retention_start': 'created'}");
	/* every optional key */
	round_trip("full",
		   "{'fields': {"
		   "  'zip': {'type': 'postal_code', 'category': 'location', 'max_length': 10, 'pattern': '[0-9]{4}',"
		   "          'description': 'Belgian postcode'},"
		   "  'kind': {'type': 'enum', 'category': 'social', 'values': ['b', 'a', 'c'], 'required': true},"
		   "  'age': {'type': 'integer', 'category': 'identity', 'min': 0, 'max': 150},"
		   "  'debt': {'type': 'integer', 'category': 'financial', 'min': -5},"
		   "  'born': {'type': 'date', 'category': 'identity'},"
		   "  'nn': {'type': 'national_id', 'category': 'identity', 'required': false},"
		   "  'mail': {'type': 'email', 'category': 'contact'},"
		   "  'tel': {'type': 'phone', 'category': 'contact'},"
		   "  'ok': {'type': 'boolean', 'category': 'other'}},"
		   " 'purposes': {'b-purpose': {'legal_basis': 'art. 2', 'description': 'second'},"
		   "              'a_purpose': {'legal_basis': 'art. 1'}},"
		   " 'retention': 'P1Y6M', 'retention_start': 'born', 'description': 'every key'}",
		   "{'fields': {"
		   "  'zip': {'type': 'postal_code', 'category': 'location', 'required': false, 'max_length': 10,"
		   "          'pattern': '[0-9]{4}', 'description': 'Belgian postcode'},"
		   "  'kind': {'type': 'enum', 'category': 'social', 'values': ['b', 'a', 'c'], 'required': true},"
		   "  'age': {'type': 'integer', 'category': 'identity', 'required': false, 'min': 0, 'max': 150},"
		   "  'debt': {'type': 'integer', 'category': 'financial', 'required': false, 'min': -5},"
		   "  'born': {'type': 'date', 'category': 'identity', 'required': false},"
		   "  'nn': {'type': 'national_id', 'category': 'identity', 'required': false},"
		   "  'mail': {'type': 'email', 'category': 'contact', 'required': false},"
		   "  'tel': {'type': 'phone', 'category': 'contact', 'required': false},"
		   "  'ok': {'type': 'boolean', 'category': 'other', 'required': false}},"
		   " 'purposes': {'b-purpose': {'legal_basis': 'art. 2', 'description': 'second'},"
		   "              'a_purpose': {'legal_basis': 'art. 1'}},"
		   " 'retention': 'P1Y6M', 'retention_start': 'born', 'description': 'every key'}");
	round_trip("upd",
		   "{'fields': {'x': {'type': 'string', 'category': 'other'}}, 'purposes': {'p': {'legal_basis': 'l'}},"
		   " 'retention': 'PT12H', 'retention_start': 'updated'}",
		   "{'fields': {'x': {'type': 'string', 'category': 'other', 'required': false}},"
		   " 'purposes': {'p': {'legal_basis': 'l'}}, 'retention': 'PT12H', 'retention_start': 'updated'}");
}

static void test_parse_sorted_purposes_and_fields(void **state)
{
	cf_collection *c = parse_ok("c", "{'fields': {'zeta': {'type': 'string', 'category': 'other'},"
					 " 'alpha': {'type': 'string', 'category': 'other'},"
					 " 'mid': {'type': 'string', 'category': 'other'}},"
					 " 'purposes': {'zz': {'legal_basis': 'z'}, 'aa': {'legal_basis': 'a'},"
					 " 'mm': {'legal_basis': 'm'}}, 'retention': 'P30D'}");

	(void)state;
	assert_string_equal(cf_field_name(cf_collection_field_at(c, 0)), "alpha");
	assert_string_equal(cf_field_name(cf_collection_field_at(c, 1)), "mid");
	assert_string_equal(cf_field_name(cf_collection_field_at(c, 2)), "zeta");
	assert_string_equal(cf_collection_purpose_at(c, 0), "aa");
	assert_string_equal(cf_collection_purpose_at(c, 1), "mm");
	assert_string_equal(cf_collection_purpose_at(c, 2), "zz");
	assert_string_equal(cf_collection_legal_basis(c, "mm"), "m");
	cf_collection_free(c);
}

static void test_parse_top_level_refusals(void **state)
{
	const char *P = "'purposes': {'p': {'legal_basis': 'law'}}";
	const char *F = "'fields': {'f': {'type': 'string', 'category': 'other'}}";
	char doc[1024];
	cf_collection *c = NULL;
	cf_err err;
	json_t *def;

	(void)state;
	(void)snprintf(doc, sizeof(doc), "{%s, %s, 'retention': 'P1Y', 'extra': 1}", F, P);
	parse_fails(doc, CF_P_UNKNOWN_KEY, "extra");
	(void)snprintf(doc, sizeof(doc), "{%s, 'retention': 'P1Y'}", F);
	parse_fails(doc, CF_P_MISSING_KEY, "purposes");
	(void)snprintf(doc, sizeof(doc), "{%s, 'retention': 'P1Y'}", P);
	parse_fails(doc, CF_P_MISSING_KEY, "fields");
	(void)snprintf(doc, sizeof(doc), "{%s, %s}", F, P);
	parse_fails(doc, CF_P_MISSING_KEY, "retention");
	parse_fails("[]", CF_P_WRONG_TYPE, "collection");
	parse_fails("'a string'", CF_P_WRONG_TYPE, "collection");
	parse_fails_json(NULL, CF_P_MALFORMED_JSON, "collection");
	(void)snprintf(doc, sizeof(doc), "{'fields': [], %s, 'retention': 'P1Y'}", P);
	parse_fails(doc, CF_P_WRONG_TYPE, "fields must be an object");
	(void)snprintf(doc, sizeof(doc), "{'fields': {}, %s, 'retention': 'P1Y'}", P);
	parse_fails(doc, CF_P_INVALID_VALUE, "at least one field");
	(void)snprintf(doc, sizeof(doc), "{%s, 'purposes': [], 'retention': 'P1Y'}", F);
	parse_fails(doc, CF_P_WRONG_TYPE, "purposes must be an object");
	(void)snprintf(doc, sizeof(doc), "{%s, 'purposes': {}, 'retention': 'P1Y'}", F);
	parse_fails(doc, CF_P_INVALID_VALUE, "at least one purpose");
	(void)snprintf(doc, sizeof(doc), "{%s, %s, 'retention': 10}", F, P);
	parse_fails(doc, CF_P_WRONG_TYPE, "retention must be a string");
	(void)snprintf(doc, sizeof(doc), "{%s, %s, 'retention': '10Y'}", F, P);
	parse_fails(doc, CF_P_INVALID_VALUE, "ISO 8601");
	(void)snprintf(doc, sizeof(doc), "{%s, %s, 'retention': 'P'}", F, P);
	parse_fails(doc, CF_P_INVALID_VALUE, "ISO 8601");
	(void)snprintf(doc, sizeof(doc), "{%s, %s, 'retention': ''}", F, P);
	parse_fails(doc, CF_P_INVALID_VALUE, "retention must not be empty");
	(void)snprintf(doc, sizeof(doc), "{%s, %s, 'retention': 'P0D'}", F, P);
	parse_fails(doc, CF_P_INVALID_VALUE, "longer than zero");
	(void)snprintf(doc, sizeof(doc), "{%s, %s, 'retention': 'P0Y0M0DT0H'}", F, P);
	parse_fails(doc, CF_P_INVALID_VALUE, "longer than zero");
	(void)snprintf(doc, sizeof(doc), "{%s, %s, 'retention': 'P1Y', 'retention_start': 'f'}", F, P);
	parse_fails(doc, CF_P_INVALID_VALUE, "field 'f' is not of type date");
	(void)snprintf(doc, sizeof(doc), "{%s, %s, 'retention': 'P1Y', 'retention_start': 'ghost'}", F, P);
	parse_fails(doc, CF_P_INVALID_VALUE, "field 'ghost' is not declared");
	(void)snprintf(doc, sizeof(doc), "{%s, %s, 'retention': 'P1Y', 'retention_start': 'Never'}", F, P);
	parse_fails(doc, CF_P_INVALID_VALUE, "created, updated or a date field");
	(void)snprintf(doc, sizeof(doc), "{%s, %s, 'retention': 'P1Y', 'retention_start': true}", F, P);
	parse_fails(doc, CF_P_WRONG_TYPE, "retention_start must be a string");
	(void)snprintf(doc, sizeof(doc), "{%s, %s, 'retention': 'P1Y', 'description': 5}", F, P);
	parse_fails(doc, CF_P_WRONG_TYPE, "description must be a string");
	(void)snprintf(doc, sizeof(doc), "{%s, %s, 'retention': 'P1Y', 'retention_start': null}", F, P);
	parse_fails(doc, CF_P_WRONG_TYPE, "retention_start");

	/* the collection name itself */
	(void)snprintf(doc, sizeof(doc), "{%s, %s, 'retention': 'P1Y'}", F, P);
	def = J(doc);
	static const char *const bad_names[] = {"", "Social", "1x", "a-b", "x y"};
	for (size_t i = 0; i < CF_ARRAY_LEN(bad_names); i++) {
		cf_err_clear(&err);
		assert_int_equal(cf_collection_parse(bad_names[i], def, &c, &err), CF_EINVAL);
		assert_int_equal(err.problem, CF_P_INVALID_VALUE);
		assert_null(c);
	}
	assert_int_equal(cf_collection_parse(NULL, def, &c, NULL), CF_EINVAL);
	assert_null(c);
	json_decref(def);
}

static void test_parse_field_refusals(void **state)
{
	char *long_pat = repeat("a", 513), *ok_pat = repeat("a", 200), *doc;

	(void)state;
	field_fails("{'type': 'string', 'category': 'other', 'colour': 'red'}", CF_P_UNKNOWN_KEY, "field 'f'");
	field_fails("{'category': 'other'}", CF_P_MISSING_KEY, "type");
	field_fails("{'type': 'string'}", CF_P_MISSING_KEY, "category");
	field_fails("{'type': 42, 'category': 'other'}", CF_P_WRONG_TYPE, "type must be a string");
	field_fails("{'type': 'text', 'category': 'other'}", CF_P_INVALID_VALUE, "unknown type");
	field_fails("{'type': 'String', 'category': 'other'}", CF_P_INVALID_VALUE, "unknown type");
	field_fails("{'type': 'string', 'category': 'medical'}", CF_P_INVALID_VALUE, "unknown category");
	field_fails("{'type': 'string', 'category': 3}", CF_P_WRONG_TYPE, "category must be a string");
	field_fails("{'type': 'string', 'category': 'other', 'required': 'yes'}", CF_P_WRONG_TYPE, "required");
	field_fails("{'type': 'string', 'category': 'other', 'required': 1}", CF_P_WRONG_TYPE, "required");
	field_fails("'string'", CF_P_WRONG_TYPE, "field 'f'");
	field_fails("null", CF_P_WRONG_TYPE, "field 'f'");

	/* enum */
	field_fails("{'type': 'enum', 'category': 'other'}", CF_P_MISSING_KEY, "an enum needs values");
	field_fails("{'type': 'enum', 'category': 'other', 'values': []}", CF_P_INVALID_VALUE, "values must not be empty");
	field_fails("{'type': 'enum', 'category': 'other', 'values': 'a'}", CF_P_WRONG_TYPE, "values must be an array");
	field_fails("{'type': 'enum', 'category': 'other', 'values': ['a', 1]}", CF_P_WRONG_TYPE, "values[1]");
	field_fails("{'type': 'enum', 'category': 'other', 'values': ['a', '']}", CF_P_INVALID_VALUE,
		    "values[1] must not be empty");
	field_fails("{'type': 'enum', 'category': 'other', 'values': ['a', 'b', 'a']}", CF_P_INVALID_VALUE,
		    "values[2] repeats values[0]");
	field_fails("{'type': 'string', 'category': 'other', 'values': ['a']}", CF_P_INVALID_VALUE,
		    "values apply to type enum only");
	field_ok("{'type': 'enum', 'category': 'other', 'values': ['a']}");

	/* min / max */
	field_fails("{'type': 'string', 'category': 'other', 'min': 1}", CF_P_INVALID_VALUE, "min and max apply");
	field_fails("{'type': 'date', 'category': 'other', 'max': 1}", CF_P_INVALID_VALUE, "min and max apply");
	field_fails("{'type': 'integer', 'category': 'other', 'min': 1.5}", CF_P_WRONG_TYPE, "min must be an integer");
	field_fails("{'type': 'integer', 'category': 'other', 'max': '9'}", CF_P_WRONG_TYPE, "max must be an integer");
	field_fails("{'type': 'integer', 'category': 'other', 'min': true}", CF_P_WRONG_TYPE, "min must be an integer");
	field_fails("{'type': 'integer', 'category': 'other', 'min': 5, 'max': 4}", CF_P_INVALID_VALUE,
		    "min is greater than max");
	field_ok("{'type': 'integer', 'category': 'other', 'min': 5, 'max': 5}");

	/* max_length */
	field_fails("{'type': 'string', 'category': 'other', 'max_length': 0}", CF_P_INVALID_VALUE, "1 to 65536");
	field_fails("{'type': 'string', 'category': 'other', 'max_length': 65537}", CF_P_INVALID_VALUE, "1 to 65536");
	field_fails("{'type': 'string', 'category': 'other', 'max_length': -1}", CF_P_INVALID_VALUE, "1 to 65536");
	field_fails("{'type': 'string', 'category': 'other', 'max_length': '10'}", CF_P_WRONG_TYPE, "max_length");
	field_fails("{'type': 'string', 'category': 'other', 'max_length': 10.0}", CF_P_WRONG_TYPE, "max_length");
	field_fails("{'type': 'integer', 'category': 'other', 'max_length': 10}", CF_P_INVALID_VALUE,
		    "max_length does not apply to type integer");
	field_fails("{'type': 'national_id', 'category': 'identity', 'max_length': 10}", CF_P_INVALID_VALUE,
		    "max_length does not apply to type national_id");
	field_fails("{'type': 'enum', 'category': 'other', 'values': ['a'], 'max_length': 10}", CF_P_INVALID_VALUE,
		    "max_length does not apply");
	field_ok("{'type': 'string', 'category': 'other', 'max_length': 65536}");
	field_ok("{'type': 'email', 'category': 'contact', 'max_length': 1}");
	field_ok("{'type': 'phone', 'category': 'contact', 'max_length': 20, 'pattern': '[+0-9 ]*'}");

	/* patterns */
	field_fails("{'type': 'integer', 'category': 'other', 'pattern': '[0-9]+'}", CF_P_INVALID_VALUE,
		    "pattern does not apply to type integer");
	field_fails("{'type': 'date', 'category': 'other', 'pattern': '.*'}", CF_P_INVALID_VALUE,
		    "pattern does not apply to type date");
	field_fails("{'type': 'string', 'category': 'other', 'pattern': 5}", CF_P_WRONG_TYPE, "pattern must be a string");
	field_fails("{'type': 'string', 'category': 'other', 'pattern': '([a-z]'}", CF_P_INVALID_VALUE,
		    "unbalanced parentheses");
	field_fails("{'type': 'string', 'category': 'other', 'pattern': 'a{2,1}'}", CF_P_INVALID_VALUE,
		    "not a valid POSIX extended regular expression");
	field_fails("{'type': 'string', 'category': 'other', 'pattern': '[[:nope:]]'}", CF_P_INVALID_VALUE,
		    "not a valid POSIX extended regular expression");
	field_fails("{'type': 'string', 'category': 'other', 'pattern': '[a-z'}", CF_P_INVALID_VALUE,
		    "unterminated bracket");
	field_fails("{'type': 'string', 'category': 'other', 'pattern': ''}", CF_P_INVALID_VALUE, "pattern is empty");
	field_fails("{'type': 'string', 'category': 'other', 'pattern': 'a)|b'}", CF_P_INVALID_VALUE,
		    "unbalanced parentheses");
	field_fails("{'type': 'string', 'category': 'other', 'pattern': 'a)|(b'}", CF_P_INVALID_VALUE,
		    "unbalanced parentheses");
	field_fails("{'type': 'string', 'category': 'other', 'pattern': '(a)\\\\1'}", CF_P_INVALID_VALUE,
		    "back-references");
	field_fails("{'type': 'string', 'category': 'other', 'pattern': 'a\\\\'}", CF_P_INVALID_VALUE,
		    "ends with a backslash");
	field_fails("{'type': 'string', 'category': 'other', 'pattern': 'a{255}{255}{255}'}", CF_P_INVALID_VALUE,
		    "expands to more than");
	field_fails("{'type': 'string', 'category': 'other', 'pattern': '(a{100}){100}'}", CF_P_INVALID_VALUE,
		    "expands to more than");
	/* glibc takes seconds to compile a bounded repetition of an expression that can be empty */
	field_fails("{'type': 'string', 'category': 'other', 'pattern': '(a?){0,256}'}", CF_P_INVALID_VALUE,
		    "can be empty");
	field_fails("{'type': 'string', 'category': 'other', 'pattern': 'a?{27,235}'}", CF_P_INVALID_VALUE,
		    "can be empty");
	field_fails("{'type': 'string', 'category': 'other', 'pattern': '(a*){2}'}", CF_P_INVALID_VALUE,
		    "can be empty");
	field_fails("{'type': 'string', 'category': 'other', 'pattern': '(a|b?){1,256}'}", CF_P_INVALID_VALUE,
		    "can be empty");
	field_fails("{'type': 'string', 'category': 'other', 'pattern': '(a|){3}'}", CF_P_INVALID_VALUE,
		    "can be empty");
	field_ok("{'type': 'string', 'category': 'other', 'pattern': '(b(a{0,3})){3}'}"); /* b is never empty */
	field_fails("{'type': 'string', 'category': 'other', 'pattern': '(x?y*){1,2}'}", CF_P_INVALID_VALUE,
		    "can be empty");
	field_fails("{'type': 'string', 'category': 'other', 'pattern': '(^){5}'}", CF_P_INVALID_VALUE,
		    "can be empty");
	field_fails("{'type': 'string', 'category': 'other', 'pattern': '{5}'}", CF_P_INVALID_VALUE,
		    "nothing to repeat");
	field_ok("{'type': 'string', 'category': 'other', 'pattern': '(x?y){1,20}'}");
	field_ok("{'type': 'string', 'category': 'other', 'pattern': '(a|b){2,8}'}");
	field_ok("{'type': 'string', 'category': 'other', 'pattern': '(-?[0-9]+)*'}");
	field_fails("{'type': 'string', 'category': 'other', 'pattern': 'a{300}'}", CF_P_INVALID_VALUE,
		    "repetition bound");
	field_fails("{'type': 'string', 'category': 'other', 'pattern': 'a{1,99999}'}", CF_P_INVALID_VALUE,
		    "repetition bound");
	field_fails("{'type': 'string', 'category': 'other', 'pattern': '((((((((((a+)+)+)+)+)+)+)+)+)+)'}",
		    CF_P_INVALID_VALUE, "expands to more than");
	field_fails("{'type': 'string', 'category': 'other', "
		    "'pattern': '((((((((((((((((((((((((((((((((((a))))))))))))))))))))))))))))))))))'}",
		    CF_P_INVALID_VALUE, "deeper than 32");
	doc = malloc(700);
	assert_non_null(doc);
	(void)snprintf(doc, 700, "{'type': 'string', 'category': 'other', 'pattern': '%s'}", long_pat);
	field_fails(doc, CF_P_TOO_LONG, "longer than 512 bytes");
	(void)snprintf(doc, 700, "{'type': 'string', 'category': 'other', 'pattern': '%s'}", ok_pat);
	field_ok(doc);
	free(doc);
	field_ok("{'type': 'string', 'category': 'other', 'pattern': '[)(|]+'}");
	field_ok("{'type': 'string', 'category': 'other', 'pattern': '[]a]+'}");
	field_ok("{'type': 'string', 'category': 'other', 'pattern': '[^]a]+'}");
	field_ok("{'type': 'string', 'category': 'other', 'pattern': '[[:digit:]]{4}'}");
	field_ok("{'type': 'string', 'category': 'other', 'pattern': '\\\\)+'}");
	field_ok("{'type': 'string', 'category': 'other', 'pattern': '(a{10}){25}'}");
	field_ok("{'type': 'string', 'category': 'other', 'pattern': '[A-Z]{2}[0-9]{2}( ?[0-9A-Z]{4}){1,7}'}");

	/* description */
	{
		char *d1000 = repeat("d", 1000), *d1001 = repeat("d", 1001), *e1000 = repeat("\xc3\xa9", 1000);
		char *buf = malloc(4096);

		assert_non_null(buf);
		(void)snprintf(buf, 4096, "{'type': 'string', 'category': 'other', 'description': '%s'}", d1000);
		field_ok(buf);
		(void)snprintf(buf, 4096, "{'type': 'string', 'category': 'other', 'description': '%s'}", e1000);
		field_ok(buf); /* characters, not bytes */
		(void)snprintf(buf, 4096, "{'type': 'string', 'category': 'other', 'description': '%s'}", d1001);
		field_fails(buf, CF_P_TOO_LONG, "longer than 1000 characters");
		field_fails("{'type': 'string', 'category': 'other', 'description': ['x']}", CF_P_WRONG_TYPE,
			    "description must be a string");
		free(buf);
		free(d1000);
		free(d1001);
		free(e1000);
	}
	free(long_pat);
	free(ok_pat);
}

static void test_parse_name_and_count_refusals(void **state)
{
	json_t *def, *fields, *purposes;

	(void)state;
	parse_fails("{'fields': {'First': {'type': 'string', 'category': 'other'}}, "
		    "'purposes': {'p': {'legal_basis': 'l'}}, 'retention': 'P1Y'}",
		    CF_P_INVALID_VALUE, "field name");
	parse_fails("{'fields': {'1x': {'type': 'string', 'category': 'other'}}, "
		    "'purposes': {'p': {'legal_basis': 'l'}}, 'retention': 'P1Y'}",
		    CF_P_INVALID_VALUE, "field name");

	/* 256 fields are accepted, 257 refused */
	def = J("{'purposes': {'p': {'legal_basis': 'l'}}, 'retention': 'P1Y'}");
	fields = json_object();
	for (int i = 0; i < 256; i++) {
		char name[16];

		(void)snprintf(name, sizeof(name), "f%03d", i);
		json_object_set_new(fields, name, J("{'type': 'boolean', 'category': 'other'}"));
	}
	json_object_set(def, "fields", fields);
	{
		cf_collection *c = NULL;

		assert_int_equal(cf_collection_parse("c", def, &c, NULL), CF_OK);
		assert_int_equal(cf_collection_field_count(c), 256);
		assert_string_equal(cf_field_name(cf_collection_field_at(c, 255)), "f255");
		cf_collection_free(c);
	}
	json_object_set_new(fields, "f256", J("{'type': 'boolean', 'category': 'other'}"));
	parse_fails_json(def, CF_P_TOO_LONG, "more than 256 fields");
	json_decref(fields);
	json_decref(def);

	/* 64 purposes accepted, 65 refused */
	def = J("{'fields': {'f': {'type': 'string', 'category': 'other'}}, 'retention': 'P1Y'}");
	purposes = json_object();
	for (int i = 0; i < 64; i++) {
		char name[16];

		(void)snprintf(name, sizeof(name), "p%02d", i);
		json_object_set_new(purposes, name, J("{'legal_basis': 'l'}"));
	}
	json_object_set(def, "purposes", purposes);
	{
		cf_collection *c = NULL;

		assert_int_equal(cf_collection_parse("c", def, &c, NULL), CF_OK);
		assert_int_equal(cf_collection_purpose_count(c), 64);
		cf_collection_free(c);
	}
	json_object_set_new(purposes, "p64", J("{'legal_basis': 'l'}"));
	parse_fails_json(def, CF_P_TOO_LONG, "more than 64 purposes");
	json_decref(purposes);
	json_decref(def);

	/* the patterns of one collection share one budget */
	def = J("{'purposes': {'p': {'legal_basis': 'l'}}, 'retention': 'P1Y'}");
	fields = json_object();
	for (int i = 0; i < 8; i++) {
		char name[16];

		(void)snprintf(name, sizeof(name), "f%d", i);
		json_object_set_new(fields, name,
				    J("{'type': 'string', 'category': 'other', 'pattern': '[a-z]{1,250}'}"));
	}
	json_object_set(def, "fields", fields);
	{
		cf_collection *c = NULL;

		assert_int_equal(cf_collection_parse("c", def, &c, NULL), CF_OK);
		cf_collection_free(c);
	}
	json_object_set_new(fields, "f8", J("{'type': 'string', 'category': 'other', 'pattern': '[a-z]{1,250}'}"));
	parse_fails_json(def, CF_P_INVALID_VALUE, "in all");
	json_decref(fields);
	json_decref(def);
}

static void test_parse_purpose_refusals(void **state)
{
	const char *F = "'fields': {'f': {'type': 'string', 'category': 'other'}}";
	char *lb500 = repeat("l", 500), *lb501 = repeat("l", 501);
	char *doc = malloc(2048);

	(void)state;
	assert_non_null(doc);
	(void)snprintf(doc, 2048, "{%s, 'purposes': {'p': {'legal_basis': 'l', 'who': 'x'}}, 'retention': 'P1Y'}", F);
	parse_fails(doc, CF_P_UNKNOWN_KEY, "purpose 'p'");
	(void)snprintf(doc, 2048, "{%s, 'purposes': {'p': {'description': 'd'}}, 'retention': 'P1Y'}", F);
	parse_fails(doc, CF_P_MISSING_KEY, "legal_basis");
	(void)snprintf(doc, 2048, "{%s, 'purposes': {'p': {'legal_basis': ''}}, 'retention': 'P1Y'}", F);
	parse_fails(doc, CF_P_INVALID_VALUE, "legal_basis must not be empty");
	(void)snprintf(doc, 2048, "{%s, 'purposes': {'p': {'legal_basis': 7}}, 'retention': 'P1Y'}", F);
	parse_fails(doc, CF_P_WRONG_TYPE, "legal_basis must be a string");
	(void)snprintf(doc, 2048, "{%s, 'purposes': {'p': 'law'}, 'retention': 'P1Y'}", F);
	parse_fails(doc, CF_P_WRONG_TYPE, "purpose 'p'");
	(void)snprintf(doc, 2048, "{%s, 'purposes': {'p': {'legal_basis': '%s'}}, 'retention': 'P1Y'}", F, lb501);
	parse_fails(doc, CF_P_TOO_LONG, "longer than 500 characters");
	(void)snprintf(doc, 2048, "{%s, 'purposes': {'Social': {'legal_basis': 'l'}}, 'retention': 'P1Y'}", F);
	parse_fails(doc, CF_P_INVALID_VALUE, "purpose name");
	(void)snprintf(doc, 2048, "{%s, 'purposes': {'p': {'legal_basis': 'l', 'description': 1}}, 'retention': 'P1Y'}",
		       F);
	parse_fails(doc, CF_P_WRONG_TYPE, "description must be a string");
	(void)snprintf(doc, 2048, "{%s, 'purposes': {'p': {'legal_basis': '%s'}}, 'retention': 'P1Y'}", F, lb500);
	cf_collection_free(parse_ok("c", doc));
	free(doc);
	free(lb500);
	free(lb501);
}

static void test_parse_embedded_nul(void **state)
{
	json_t *def = J("{'fields': {'f': {'type': 'string', 'category': 'other'}}, "
			"'purposes': {'p': {'legal_basis': 'l'}}, 'retention': 'P1Y'}");
	json_t *field = json_object_get(json_object_get(def, "fields"), "f");
	json_t *purpose = json_object_get(json_object_get(def, "purposes"), "p");

	(void)state;
	json_object_set_new(field, "type", json_stringn("string\0x", 8));
	parse_fails_json(def, CF_P_INVALID_VALUE, "unknown type");
	json_object_set_new(field, "type", json_string("string"));
	json_object_set_new(field, "category", json_stringn("other\0x", 7));
	parse_fails_json(def, CF_P_INVALID_VALUE, "unknown category");
	json_object_set_new(field, "category", json_string("other"));
	json_object_set_new(purpose, "legal_basis", json_stringn("law\0x", 5));
	parse_fails_json(def, CF_P_INVALID_VALUE, "NUL");
	json_object_set_new(purpose, "legal_basis", json_string("law"));
	json_object_set_new(def, "retention", json_stringn("P1Y\0", 4));
	parse_fails_json(def, CF_P_INVALID_VALUE, "NUL");
	json_object_set_new(def, "retention", json_string("P1Y"));
	json_object_set_new(field, "pattern", json_stringn("a\0b", 3));
	parse_fails_json(def, CF_P_INVALID_VALUE, "NUL");
	json_object_del(field, "pattern");
	/* a field name with a NUL inside */
	json_object_setn_new(json_object_get(def, "fields"), "g\0h", 3, J("{'type': 'string', 'category': 'other'}"));
	parse_fails_json(def, CF_P_INVALID_VALUE, "field name");
	json_decref(def);
}

/* ---- durations ---- */

static void test_duration(void **state)
{
	static const struct {
		const char *s;
		cf_duration d;
	} ok[] = {
		{"P1Y", {1, 0, 0, 0, 0, 0, 0}},
		{"P6M", {0, 6, 0, 0, 0, 0, 0}},
		{"P30D", {0, 0, 0, 30, 0, 0, 0}},
		{"P2W", {0, 0, 2, 0, 0, 0, 0}},
		{"PT12H", {0, 0, 0, 0, 12, 0, 0}},
		{"PT30M", {0, 0, 0, 0, 0, 30, 0}},
		{"PT45S", {0, 0, 0, 0, 0, 0, 45}},
		{"P1Y6M", {1, 6, 0, 0, 0, 0, 0}},
		{"P1DT2H", {0, 0, 0, 1, 2, 0, 0}},
		{"P10Y", {10, 0, 0, 0, 0, 0, 0}},
		{"P1Y2M3W4DT5H6M7S", {1, 2, 3, 4, 5, 6, 7}},
		{"P0D", {0, 0, 0, 0, 0, 0, 0}},
		{"P999999999Y", {999999999, 0, 0, 0, 0, 0, 0}},
		{"P007D", {0, 0, 0, 7, 0, 0, 0}},
		{"PT1M", {0, 0, 0, 0, 0, 1, 0}},
		{"P1M", {0, 1, 0, 0, 0, 0, 0}},
	};
	static const char *const bad[] = {
		"",         "P",          "PT",         "1Y",        "P1.5Y",    "P1,5Y",       "-P1Y",
		"P-1Y",     "P+1Y",       "P1000000000Y", "P1Yx",    "P1Y ",     " P1Y",        "P1DT",
		"PT1D",     "P1H",        "P1M1Y",      "P1D1W",     "P1Y1Y",    "PT1S1M",      "PT1H1H",
		"p1y",      "P1y",        "PY",         "P1",        "PT1",      "P1YT",        "PTT1H",
		"P1DT2HT",  "P1Y\n",      "P1DT1H1M1S1", "PP1Y",    "P1W1Y",    "T1H",         "P 1Y",
	};

	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(ok); i++) {
		cf_duration d;

		memset(&d, 0x55, sizeof(d));
		if (cf_duration_parse(ok[i].s, &d) != CF_OK)
			fail_msg("refused %s", ok[i].s);
		assert_int_equal(d.years, ok[i].d.years);
		assert_int_equal(d.months, ok[i].d.months);
		assert_int_equal(d.weeks, ok[i].d.weeks);
		assert_int_equal(d.days, ok[i].d.days);
		assert_int_equal(d.hours, ok[i].d.hours);
		assert_int_equal(d.minutes, ok[i].d.minutes);
		assert_int_equal(d.seconds, ok[i].d.seconds);
	}
	for (size_t i = 0; i < CF_ARRAY_LEN(bad); i++) {
		cf_duration d = {0};

		if (cf_duration_parse(bad[i], &d) != CF_EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
	}
	{
		cf_duration d;
		char *longs = repeat("1", 70);

		assert_int_equal(cf_duration_parse(NULL, &d), CF_EINVAL);
		longs[0] = 'P';
		longs[69] = 'D';
		assert_int_equal(cf_duration_parse(longs, &d), CF_EINVAL);
		free(longs);
	}
}

/* Calendar arithmetic, against values computed independently (Python's datetime, UTC). */
static void test_duration_add(void **state)
{
	static const struct {
		int64_t from;
		const char *d;
		int64_t want;
	} cases[] = {
		{1706659200000000, "P1M", 1709164800000000},          /* 2024-01-31 + P1M = 2024-02-29 (leap) */
		{1675123200000000, "P1M", 1677542400000000},          /* 2023-01-31 + P1M = 2023-02-28 */
		{1709164800000000, "P1Y", 1740700800000000},          /* 2024-02-29 + P1Y = 2025-02-28 */
		{1584275696123456, "P10Y", 1899808496123456},         /* the time of day and microseconds stay */
		{1788134400000000, "P1Y6M", 1835395200000000},        /* 2026-08-31 + P1Y6M = 2028-02-29 */
		{0, "P30D", INT64_C(30) * 86400 * 1000000},
		{0, "P2W", INT64_C(14) * 86400 * 1000000},
		{0, "PT1H30M15S", INT64_C(5415) * 1000000},
		{-3600000000, "P1M", 2674800000000},                  /* before the epoch: 1969-12-31T23:00 + P1M */
		{-2203891200000000, "P200Y", 4107456000000000 + INT64_C(86400) * 1000000}, /* 1900-03-01 + P200Y = 2100-03-01 */
	};
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		cf_duration d;
		int64_t got = -1;
		assert_int_equal(cf_duration_parse(cases[i].d, &d), CF_OK);
		assert_int_equal(cf_duration_add(cases[i].from, &d, &got), CF_OK);
		if (got != cases[i].want)
			fail_msg("case %zu (%s): got %lld, want %lld", i, cases[i].d, (long long)got,
				 (long long)cases[i].want);
	}
	{
		cf_duration d = {0};
		int64_t got = 0;
		d.years = 999999999;
		assert_int_equal(cf_duration_add(0, &d, &got), CF_ETOOBIG);
		d.years = -1;
		assert_int_equal(cf_duration_add(0, &d, &got), CF_EINVAL);
		assert_int_equal(cf_duration_add(0, NULL, &got), CF_EINVAL);
	}
	{
		int64_t us = 0;
		assert_int_equal(cf_date_parse_us("2026-11-22", &us), CF_OK);
		assert_int_equal(us, 1795305600000000);
		assert_int_equal(cf_date_parse_us("2024-02-29", &us), CF_OK);
		assert_int_equal(us, 1709164800000000);
		static const char *bad[] = {"2023-02-29", "2026-13-01", "2026-00-10", "2026-04-31", "26-11-22",
					    "2026/11/22", "2026-11-2x", "2026-11-220", ""};
		for (size_t i = 0; i < CF_ARRAY_LEN(bad); i++)
			if (cf_date_parse_us(bad[i], &us) != CF_EINVAL)
				fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(cf_date_parse_us(NULL, &us), CF_EINVAL);
	}
}

/* ---- validation ---- */

#define TYPES_DOC                                                                                          \
	"{'fields': {"                                                                                     \
	" 's': {'type': 'string', 'category': 'other', 'max_length': 5},"                                  \
	" 'free': {'type': 'string', 'category': 'other'},"                                                \
	" 'i': {'type': 'integer', 'category': 'financial', 'min': -10, 'max': 100},"                      \
	" 'n': {'type': 'integer', 'category': 'financial'},"                                              \
	" 'b': {'type': 'boolean', 'category': 'other'},"                                                  \
	" 'd': {'type': 'date', 'category': 'identity'},"                                                  \
	" 'e': {'type': 'enum', 'category': 'social', 'values': ['single', 'married', 'widowed']},"        \
	" 'mail': {'type': 'email', 'category': 'contact'},"                                               \
	" 'cmail': {'type': 'email', 'category': 'contact', 'pattern': '[a-z.]+@cpas[.]be'},"              \
	" 'tel': {'type': 'phone', 'category': 'contact'},"                                                \
	" 'zip': {'type': 'postal_code', 'category': 'location'},"                                         \
	" 'nn': {'type': 'national_id', 'category': 'identity'},"                                          \
	" 'code': {'type': 'string', 'category': 'other', 'pattern': '[A-Z]{2}[0-9]{2}'},"                 \
	" 'alt': {'type': 'string', 'category': 'other', 'pattern': 'ab|cd'},"                             \
	" 'req': {'type': 'string', 'category': 'identity', 'required': true},"                            \
	" 'req2': {'type': 'boolean', 'category': 'identity', 'required': true}},"                         \
	" 'purposes': {'p': {'legal_basis': 'l'}}, 'retention': 'P1Y'}"

/* Validates {field: value} (partial); expect rc and, when refused, the problem and the field named. */
static void check_value(const cf_collection *c, const char *field, json_t *value, cf_problem want)
{
	json_t *rec = json_object();
	cf_err err;
	cf_rc rc;
	char named[80];

	json_object_set_new(rec, field, value);
	cf_err_clear(&err);
	rc = cf_collection_validate(c, rec, true, &err);
	if (want == CF_P_NONE) {
		if (rc != CF_OK)
			fail_msg("field %s: refused (%s)", field, err.detail);
	} else {
		(void)snprintf(named, sizeof(named), "field '%s'", field);
		if (rc != CF_EINVAL || err.problem != want || strstr(err.detail, named) == NULL)
			fail_msg("field %s: rc %d problem %d (want %d) detail \"%s\"", field, rc, err.problem, want,
				 err.detail);
		/* the detail never repeats a string value */
		if (json_is_string(value) && json_string_length(value) >= 5 &&
		    strstr(err.detail, json_string_value(value)) != NULL)
			fail_msg("field %s: detail repeats the value: %s", field, err.detail);
	}
	json_decref(rec);
}

static void ok_str(const cf_collection *c, const char *f, const char *v)
{
	check_value(c, f, json_string(v), CF_P_NONE);
}

static void bad_str(const cf_collection *c, const char *f, const char *v, cf_problem p)
{
	check_value(c, f, json_string(v), p);
}

static void test_validate_string_and_pattern(void **state)
{
	cf_collection *c = parse_ok("t", TYPES_DOC);
	char *big = repeat("x", CF_MAX_STRING_LEN), *big1 = repeat("x", CF_MAX_STRING_LEN + 1);

	(void)state;
	ok_str(c, "s", "");
	ok_str(c, "s", "abcde");
	ok_str(c, "s", "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"); /* five characters, ten bytes */
	bad_str(c, "s", "abcdef", CF_P_TOO_LONG);
	bad_str(c, "s", "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", CF_P_TOO_LONG);
	check_value(c, "s", json_integer(5), CF_P_WRONG_TYPE);
	check_value(c, "s", json_true(), CF_P_WRONG_TYPE);
	check_value(c, "s", json_array(), CF_P_WRONG_TYPE);
	check_value(c, "s", json_null(), CF_P_WRONG_TYPE);
	check_value(c, "s", json_stringn("ab\0cd", 5), CF_P_INVALID_VALUE);
	check_value(c, "free", json_stringn("\0", 1), CF_P_INVALID_VALUE);
	ok_str(c, "free", big);
	bad_str(c, "free", big1, CF_P_TOO_LONG);

	ok_str(c, "code", "AB12");
	bad_str(c, "code", "AB123", CF_P_INVALID_VALUE);
	bad_str(c, "code", "xAB12", CF_P_INVALID_VALUE);
	bad_str(c, "code", "ab12", CF_P_INVALID_VALUE);
	bad_str(c, "code", "", CF_P_INVALID_VALUE);
	bad_str(c, "code", "AB12\n", CF_P_INVALID_VALUE);
	check_value(c, "code", json_stringn("AB12\0zz", 7), CF_P_INVALID_VALUE);
	/* anchoring holds across a top-level alternation */
	ok_str(c, "alt", "ab");
	ok_str(c, "alt", "cd");
	bad_str(c, "alt", "abcd", CF_P_INVALID_VALUE);
	bad_str(c, "alt", "abx", CF_P_INVALID_VALUE);
	bad_str(c, "alt", "xcd", CF_P_INVALID_VALUE);
	bad_str(c, "alt", "ac", CF_P_INVALID_VALUE);
	free(big);
	free(big1);
	cf_collection_free(c);
}

static void test_validate_integer_boolean(void **state)
{
	cf_collection *c = parse_ok("t", TYPES_DOC);

	(void)state;
	check_value(c, "i", json_integer(0), CF_P_NONE);
	check_value(c, "i", json_integer(-10), CF_P_NONE);
	check_value(c, "i", json_integer(100), CF_P_NONE);
	check_value(c, "i", json_integer(-11), CF_P_INVALID_VALUE);
	check_value(c, "i", json_integer(101), CF_P_INVALID_VALUE);
	check_value(c, "i", json_real(5.0), CF_P_WRONG_TYPE);
	check_value(c, "i", json_string("5"), CF_P_WRONG_TYPE);
	check_value(c, "i", json_true(), CF_P_WRONG_TYPE);
	check_value(c, "i", json_false(), CF_P_WRONG_TYPE);
	check_value(c, "i", json_null(), CF_P_WRONG_TYPE);
	check_value(c, "n", json_integer(INT64_MIN), CF_P_NONE);
	check_value(c, "n", json_integer(INT64_MAX), CF_P_NONE);
	check_value(c, "n", json_real(1.5), CF_P_WRONG_TYPE);

	check_value(c, "b", json_true(), CF_P_NONE);
	check_value(c, "b", json_false(), CF_P_NONE);
	check_value(c, "b", json_integer(1), CF_P_WRONG_TYPE);
	check_value(c, "b", json_string("true"), CF_P_WRONG_TYPE);
	check_value(c, "b", json_null(), CF_P_WRONG_TYPE);
	cf_collection_free(c);
}

static void test_validate_date_enum(void **state)
{
	cf_collection *c = parse_ok("t", TYPES_DOC);
	static const char *const good[] = {"2024-02-29", "2000-02-29", "1985-07-30", "0001-01-01", "9999-12-31",
					   "2023-12-31", "2023-04-30", "2023-01-31"};
	static const char *const bad[] = {"2023-02-29", "1900-02-29", "2100-02-29", "2024-04-31", "2024-13-01",
					  "2024-00-10", "2024-01-00", "2024-01-32", "0000-01-01", "24-01-01",
					  "2024-1-01",  "2024-01-1",  "2024/01/01", "2024-01-01T00:00", "20240101",
					  "",           "2024-0a-01", " 2024-01-01", "2024-02-30", "2023-06-31"};

	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(good); i++)
		ok_str(c, "d", good[i]);
	for (size_t i = 0; i < CF_ARRAY_LEN(bad); i++)
		bad_str(c, "d", bad[i], CF_P_INVALID_VALUE);
	check_value(c, "d", json_integer(20240101), CF_P_WRONG_TYPE);

	ok_str(c, "e", "single");
	ok_str(c, "e", "widowed");
	bad_str(c, "e", "divorced", CF_P_INVALID_VALUE);
	bad_str(c, "e", "Single", CF_P_INVALID_VALUE);
	bad_str(c, "e", "", CF_P_INVALID_VALUE);
	bad_str(c, "e", "single ", CF_P_INVALID_VALUE);
	check_value(c, "e", json_stringn("single\0", 7), CF_P_INVALID_VALUE);
	check_value(c, "e", json_integer(0), CF_P_WRONG_TYPE);
	cf_collection_free(c);
}

static void test_validate_email(void **state)
{
	cf_collection *c = parse_ok("t", TYPES_DOC);
	static const char *const good[] = {"a@b.c", "jean.dupont@cpas.be", "x@sub-domain.example.org",
					   "first+tag@mail.example.com", "x@a1.b2", "o'neil@example.ie"};
	static const char *const bad[] = {"no-at",  "a@@b.c",  "a@b@c.d",     "@b.c",   "a@b",     "a@.b.c",
					  "a@b..c", "a@-b.c",  "a@b-.c",      "a b@c.d", "a@b_c.d", "a@b.c.",
					  "\t@b.c", "a@",      "ab",          "a@b.c d", "a@b c.d", "a@b.-c",
					  "a\x7f@b.c"};
	char *local = repeat("l", 250), buf[300];

	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(good); i++)
		ok_str(c, "mail", good[i]);
	for (size_t i = 0; i < CF_ARRAY_LEN(bad); i++)
		bad_str(c, "mail", bad[i], CF_P_INVALID_VALUE);
	(void)snprintf(buf, sizeof(buf), "%s@b.c", local); /* 254 characters */
	ok_str(c, "mail", buf);
	(void)snprintf(buf, sizeof(buf), "%sl@b.c", local); /* 255 */
	bad_str(c, "mail", buf, CF_P_INVALID_VALUE);
	check_value(c, "mail", json_integer(1), CF_P_WRONG_TYPE);
	/* an email field with a pattern: both rules apply */
	ok_str(c, "cmail", "jean.dupont@cpas.be");
	bad_str(c, "cmail", "jean@other.be", CF_P_INVALID_VALUE);
	bad_str(c, "cmail", "jean@cpas", CF_P_INVALID_VALUE);
	free(local);
	cf_collection_free(c);
}

static void test_validate_phone_postal_nid(void **state)
{
	cf_collection *c = parse_ok("t", TYPES_DOC);
	static const char *const good_tel[] = {"+32 2 123 45 67", "02/123.45.67", "(02) 123-45-67", "123456",
					       "+123456789012345", "0470123456"};
	static const char *const bad_tel[] = {"12345", "+1234567890123456", "+", "", "32+123456", "abc123456",
					      "++32123456", "0470 12 34 56 ext 1", "1234567_", "0470123456789012345678901234567890"};
	static const char *const good_zip[] = {"1000", "B-1000", "SW1A 1AA", "75001", "123", "1234567890"};
	static const char *const bad_zip[] = {"12", "ABCDE", "12345678901", "10_00", "", "10.00", "AB-CD"};

	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(good_tel); i++)
		ok_str(c, "tel", good_tel[i]);
	for (size_t i = 0; i < CF_ARRAY_LEN(bad_tel); i++)
		bad_str(c, "tel", bad_tel[i], CF_P_INVALID_VALUE);
	check_value(c, "tel", json_integer(32123456), CF_P_WRONG_TYPE);
	for (size_t i = 0; i < CF_ARRAY_LEN(good_zip); i++)
		ok_str(c, "zip", good_zip[i]);
	for (size_t i = 0; i < CF_ARRAY_LEN(bad_zip); i++)
		bad_str(c, "zip", bad_zip[i], CF_P_INVALID_VALUE);
	check_value(c, "zip", json_integer(1000), CF_P_WRONG_TYPE);

	ok_str(c, "nn", "85073003328");
	ok_str(c, "nn", "85.07.30-033.28");
	ok_str(c, "nn", "00012556777");
	bad_str(c, "nn", "85073003329", CF_P_INVALID_NATIONAL_ID);
	bad_str(c, "nn", "8507300332", CF_P_INVALID_NATIONAL_ID);
	bad_str(c, "nn", "", CF_P_INVALID_NATIONAL_ID);
	check_value(c, "nn", json_stringn("85073003328\0", 12), CF_P_INVALID_VALUE);
	check_value(c, "nn", json_integer(85073003328LL), CF_P_WRONG_TYPE);
	cf_collection_free(c);
}

static void test_validate_full_partial(void **state)
{
	cf_collection *c = parse_ok("t", TYPES_DOC);
	cf_err err;
	json_t *rec;

	(void)state;
	/* create: every required field */
	rec = J("{'req': 'x', 'req2': false}");
	assert_int_equal(cf_collection_validate(c, rec, false, &err), CF_OK);
	json_decref(rec);
	rec = J("{'req': 'x', 'req2': true, 'i': 3, 'd': '2020-01-01', 'nn': '85073003328'}");
	assert_int_equal(cf_collection_validate(c, rec, false, &err), CF_OK);
	json_decref(rec);
	rec = J("{'req': 'x'}");
	cf_err_clear(&err);
	assert_int_equal(cf_collection_validate(c, rec, false, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_MISSING_KEY);
	assert_string_equal(err.detail, "field 'req2' is required");
	/* patch: only what is given */
	assert_int_equal(cf_collection_validate(c, rec, true, &err), CF_OK);
	json_decref(rec);
	rec = J("{}");
	assert_int_equal(cf_collection_validate(c, rec, true, &err), CF_OK);
	cf_err_clear(&err);
	assert_int_equal(cf_collection_validate(c, rec, false, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_MISSING_KEY);
	assert_string_equal(err.detail, "field 'req' is required");
	json_decref(rec);
	/* a required field given as null is refused as null, in both modes */
	rec = J("{'req': null, 'req2': true}");
	cf_err_clear(&err);
	assert_int_equal(cf_collection_validate(c, rec, false, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_WRONG_TYPE);
	assert_string_equal(err.detail, "field 'req' must not be null");
	cf_err_clear(&err);
	assert_int_equal(cf_collection_validate(c, rec, true, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_WRONG_TYPE);
	json_decref(rec);
	/* unknown fields, both modes */
	rec = J("{'req': 'x', 'req2': true, 'salary': 1}");
	cf_err_clear(&err);
	assert_int_equal(cf_collection_validate(c, rec, false, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_UNKNOWN_KEY);
	assert_string_equal(err.detail, "field 'salary' is not declared in collection 't'");
	cf_err_clear(&err);
	assert_int_equal(cf_collection_validate(c, rec, true, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_UNKNOWN_KEY);
	json_decref(rec);
	/* an unknown key that is not even a name is not echoed */
	rec = J("{'85073003328': 1}");
	cf_err_clear(&err);
	assert_int_equal(cf_collection_validate(c, rec, true, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_UNKNOWN_KEY);
	assert_null(strstr(err.detail, "8507"));
	json_decref(rec);
	/* a key with a NUL inside does not alias a declared field */
	rec = json_object();
	json_object_setn_new(rec, "req\0x", 5, json_string("x"));
	cf_err_clear(&err);
	assert_int_equal(cf_collection_validate(c, rec, true, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_UNKNOWN_KEY);
	json_decref(rec);
	/* the record must be an object */
	rec = J("[]");
	cf_err_clear(&err);
	assert_int_equal(cf_collection_validate(c, rec, true, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_WRONG_TYPE);
	json_decref(rec);
	cf_err_clear(&err);
	assert_int_equal(cf_collection_validate(c, NULL, true, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_WRONG_TYPE);
	/* first invalid field in name order is the one reported; NULL err is fine */
	rec = J("{'req': 'x', 'req2': true, 'i': 1000, 'b': 3}");
	cf_err_clear(&err);
	assert_int_equal(cf_collection_validate(c, rec, false, &err), CF_EINVAL);
	assert_string_equal(err.detail, "field 'b' must be true or false");
	assert_int_equal(cf_collection_validate(c, rec, false, NULL), CF_EINVAL);
	json_decref(rec);
	cf_collection_free(c);
}

static void test_validate_example(void **state)
{
	cf_collection *c = parse_ok("social_aid", EXAMPLE);
	char *name100 = repeat("n", 100), *name101 = repeat("n", 101), buf[512];
	json_t *rec;
	cf_err err;

	(void)state;
	rec = J("{'first_name': 'Marie', 'last_name': 'Dupont', 'aid_amount': 1250}");
	assert_int_equal(cf_collection_validate(c, rec, false, &err), CF_OK);
	json_decref(rec);
	(void)snprintf(buf, sizeof(buf), "{'first_name': '%s', 'last_name': 'D'}", name100);
	rec = J(buf);
	assert_int_equal(cf_collection_validate(c, rec, false, &err), CF_OK);
	json_decref(rec);
	(void)snprintf(buf, sizeof(buf), "{'first_name': '%s', 'last_name': 'D'}", name101);
	rec = J(buf);
	cf_err_clear(&err);
	assert_int_equal(cf_collection_validate(c, rec, false, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_TOO_LONG);
	assert_string_equal(err.detail, "field 'first_name' is longer than its max_length 100");
	json_decref(rec);
	rec = J("{'first_name': 'Marie', 'last_name': 'Dupont', 'aid_amount': 12.5}");
	cf_err_clear(&err);
	assert_int_equal(cf_collection_validate(c, rec, false, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_WRONG_TYPE);
	assert_string_equal(err.detail, "field 'aid_amount' must be an integer");
	json_decref(rec);
	free(name100);
	free(name101);
	cf_collection_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_categories),
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_parse_example),
		cmocka_unit_test(test_to_json_round_trip),
		cmocka_unit_test(test_parse_sorted_purposes_and_fields),
		cmocka_unit_test(test_parse_top_level_refusals),
		cmocka_unit_test(test_parse_field_refusals),
		cmocka_unit_test(test_parse_name_and_count_refusals),
		cmocka_unit_test(test_parse_purpose_refusals),
		cmocka_unit_test(test_parse_embedded_nul),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_duration_add),
		cmocka_unit_test(test_validate_string_and_pattern),
		cmocka_unit_test(test_validate_integer_boolean),
		cmocka_unit_test(test_validate_date_enum),
		cmocka_unit_test(test_validate_email),
		cmocka_unit_test(test_validate_phone_postal_nid),
		cmocka_unit_test(test_validate_full_partial),
		cmocka_unit_test(test_validate_example),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
