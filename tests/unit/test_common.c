/*
 * test_common.c - the shared vocabulary (src/lib/common): strict JSON input
 * (empty, malformed, duplicate keys, the depth pre-scan and its handling of
 * strings and escapes, invalid UTF-8, NUL bytes), strict unpacking, the
 * canonical serialization, wiping, the problem table, error details,
 * bounded formatting, timestamps and log level names.
 *
 * Every check compares exact values (problem ids, rc, whole strings), so a
 * change in behaviour makes a test fail. These tests must never depend on
 * any module above common.
 */
#include "common/cf.h"
#include "common/json.h"
#include "common/log.h"

#include <limits.h>

#include <setjmp.h>
#include <cmocka.h>

/* ---- helpers ---------------------------------------------------------- */

/* Parses a NUL-terminated literal; the caller decides what it expects. */
static cf_rc parse_str(const char *s, json_t **out, cf_err *err)
{
	return cf_json_parse(s, strlen(s), CF_JSON_MAX_DEPTH, out, err);
}

/* Expects a refusal with CF_EINVAL and the given problem, and no value out. */
static void expect_refused(const char *buf, size_t len, int max_depth, cf_problem p)
{
	json_t *v = (json_t *)(uintptr_t)1; /* must be reset to NULL */
	cf_err err;

	memset(&err, 0x5a, sizeof(err));
	assert_int_equal(cf_json_parse(buf, len, max_depth, &v, &err), CF_EINVAL);
	assert_null(v);
	assert_int_equal(err.rc, CF_EINVAL);
	assert_int_equal(err.problem, p);
	assert_true(strnlen(err.detail, sizeof(err.detail)) < sizeof(err.detail));
}

/* "[[[...0...]]]" with n brackets, malloc'd; *len gets its length. */
static char *nested_arrays(int n, const char *inner, size_t *len)
{
	size_t il = strlen(inner), total = (size_t)n * 2 + il, pos = 0;
	char *s = malloc(total + 1);

	assert_non_null(s);
	for (int i = 0; i < n; i++)
		s[pos++] = '[';
	memcpy(s + pos, inner, il);
	pos += il;
	for (int i = 0; i < n; i++)
		s[pos++] = ']';
	s[pos] = '\0';
	*len = pos;
	return s;
}

/* ---- cf_json_parse ---------------------------------------------------- */

static void test_parse_valid(void **state)
{
	json_t *v = NULL;
	cf_err err = {0};

	assert_int_equal(parse_str("{\"a\":1,\"b\":[true,null,\"x\"],\"c\":{\"d\":-2.5}}", &v, &err), CF_OK);
	assert_non_null(v);
	assert_true(json_is_object(v));
	assert_int_equal(json_object_size(v), 3);
	assert_int_equal(json_integer_value(json_object_get(v, "a")), 1);
	assert_true(json_is_true(json_array_get(json_object_get(v, "b"), 0)));
	assert_true(json_is_null(json_array_get(json_object_get(v, "b"), 1)));
	assert_string_equal(json_string_value(json_array_get(json_object_get(v, "b"), 2)), "x");
	assert_true(json_real_value(json_object_get(json_object_get(v, "c"), "d")) == -2.5);
	json_decref(v);

	/* Arrays at the top level, surrounding whitespace, valid multibyte UTF-8. */
	assert_int_equal(parse_str(" \n[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]\t ", &v, &err), CF_OK);
	assert_string_equal(json_string_value(json_array_get(v, 0)), "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	json_decref(v);

	/* Exactly len bytes are parsed: what follows them is never looked at. */
	assert_int_equal(cf_json_parse("{\"a\":1}garbage", 7, CF_JSON_MAX_DEPTH, &v, &err), CF_OK);
	assert_int_equal(json_integer_value(json_object_get(v, "a")), 1);
	json_decref(v);

	/* A NULL err is accepted on success and on failure. */
	assert_int_equal(parse_str("{}", &v, NULL), CF_OK);
	json_decref(v);
	assert_int_equal(parse_str("{", &v, NULL), CF_EINVAL);
	assert_null(v);
}

static void test_parse_empty(void **state)
{
	json_t *v = NULL;
	cf_err err = {0};

	expect_refused("", 0, CF_JSON_MAX_DEPTH, CF_P_MALFORMED_JSON);
	expect_refused("{}", 0, CF_JSON_MAX_DEPTH, CF_P_MALFORMED_JSON); /* len 0 means empty */
	assert_int_equal(cf_json_parse(NULL, 0, CF_JSON_MAX_DEPTH, &v, &err), CF_EINVAL);
	assert_null(v);
	assert_int_equal(err.problem, CF_P_MALFORMED_JSON);
	assert_string_equal(err.detail, "the body is empty");
	assert_int_equal(cf_json_parse(NULL, 5, CF_JSON_MAX_DEPTH, &v, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_MALFORMED_JSON);
	expect_refused("   ", 3, CF_JSON_MAX_DEPTH, CF_P_MALFORMED_JSON);
}

static void test_parse_malformed(void **state)
{
	static const char *bad[] = {
		"{",		  "}",		     "{\"a\":}",	"{\"a\" 1}",	"{a:1}",
		"[1,]",		  "{\"a\":1,}",	     "{'a':1}",		"[01]",		"[1e]",
		"[tru]",	  "[\"unterminated]", "{} {}",		"{}x",		"[\"\\x\"]",
		"[\"\\u12\"]", "[NaN]",	     "[Infinity]",	"/*c*/{}",	"[\"a\tb\"]",
		"42",		  "\"str\"",	     "null",		"true",
	};
	cf_err err = {0};
	json_t *v = NULL;

	for (size_t i = 0; i < CF_ARRAY_LEN(bad); i++) {
		v = (json_t *)(uintptr_t)1;
		if (parse_str(bad[i], &v, &err) != CF_EINVAL || err.problem != CF_P_MALFORMED_JSON || v != NULL)
			fail_msg("accepted or misclassified: %s (problem %d)", bad[i], (int)err.problem);
	}
	/* The detail names the place, never the content. */
	assert_int_equal(parse_str("{\"a\":}", &v, &err), CF_EINVAL);
	assert_non_null(strstr(err.detail, " at line 1 column "));
	assert_int_equal(err.rc, CF_EINVAL);
}

static void test_parse_duplicate_key(void **state)
{
	cf_err err = {0};
	json_t *v = NULL;

	expect_refused("{\"a\":1,\"a\":2}", 13, CF_JSON_MAX_DEPTH, CF_P_DUPLICATE_KEY);
	assert_int_equal(parse_str("{\"a\":1,\"b\":2,\"a\":1}", &v, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_DUPLICATE_KEY);
	/* nested in an object, in an array, deeper still */
	assert_int_equal(parse_str("{\"x\":{\"k\":1,\"k\":1}}", &v, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_DUPLICATE_KEY);
	assert_int_equal(parse_str("[{\"k\":null,\"k\":null}]", &v, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_DUPLICATE_KEY);
	assert_int_equal(parse_str("{\"x\":[1,{\"y\":{\"k\":\"a\",\"k\":\"b\"}}]}", &v, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_DUPLICATE_KEY);
	assert_null(v);
	/* the same key under different parents, or a key spelled with an escape, differ */
	assert_int_equal(parse_str("{\"k\":1,\"x\":{\"k\":1},\"y\":[{\"k\":1},{\"k\":2}]}", &v, &err), CF_OK);
	json_decref(v);
	/* "\u0061" is "a": a duplicate once decoded */
	assert_int_equal(parse_str("{\"a\":1,\"\\u0061\":2}", &v, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_DUPLICATE_KEY);
}

static void test_parse_depth_limit(void **state)
{
	json_t *v = NULL;
	cf_err err = {0};
	size_t len;
	char *s;

	/* exactly 32 levels of arrays: accepted, and really 32 deep */
	s = nested_arrays(32, "0", &len);
	assert_int_equal(cf_json_parse(s, len, CF_JSON_MAX_DEPTH, &v, &err), CF_OK);
	{
		json_t *x = v;
		int d = 0;
		while (json_is_array(x)) {
			d++;
			x = json_array_get(x, 0);
		}
		assert_int_equal(d, 32);
		assert_int_equal(json_integer_value(x), 0);
	}
	json_decref(v);
	free(s);

	/* 33: refused before the parser, with the limit in the detail */
	s = nested_arrays(33, "0", &len);
	expect_refused(s, len, CF_JSON_MAX_DEPTH, CF_P_TOO_DEEP);
	assert_int_equal(cf_json_parse(s, len, CF_JSON_MAX_DEPTH, &v, &err), CF_EINVAL);
	assert_string_equal(err.detail, "JSON nesting deeper than 32");
	free(s);

	/* 33 open brackets never closed: still too deep, not merely malformed */
	s = nested_arrays(33, "", &len);
	expect_refused(s, 33, CF_JSON_MAX_DEPTH, CF_P_TOO_DEEP);
	free(s);

	/* objects count like arrays: {"a":{"a":...}} 32 accepted, 33 refused */
	{
		char buf[512];
		size_t pos = 0;
		for (int depth = 32; depth <= 33; depth++) {
			pos = 0;
			for (int i = 0; i < depth; i++) {
				memcpy(buf + pos, "{\"a\":", 5);
				pos += 5;
			}
			buf[pos++] = '1';
			for (int i = 0; i < depth; i++)
				buf[pos++] = '}';
			if (depth == 32) {
				assert_int_equal(cf_json_parse(buf, pos, CF_JSON_MAX_DEPTH, &v, &err), CF_OK);
				json_decref(v);
			} else {
				expect_refused(buf, pos, CF_JSON_MAX_DEPTH, CF_P_TOO_DEEP);
			}
		}
	}

	/* siblings do not add up: many arrays side by side at depth 2 */
	assert_int_equal(parse_str("[[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],[],"
				   "[],[],[],[],[],[],[],[],[],[],[]]",
				   &v, &err),
			 CF_OK);
	json_decref(v);

	/* the limit is the caller's */
	assert_int_equal(cf_json_parse("[1]", 3, 1, &v, &err), CF_OK);
	json_decref(v);
	expect_refused("[[1]]", 5, 1, CF_P_TOO_DEEP);
	expect_refused("{\"a\":[]}", 8, 1, CF_P_TOO_DEEP);
}

static void test_parse_depth_strings(void **state)
{
	json_t *v = NULL;
	cf_err err = {0};
	size_t len;
	char *s;

	/* brackets inside a string are text: 32 levels + a string full of brackets */
	s = nested_arrays(32, "\"[[[[{{{{[[[[{{{{[[[[{{{{[[[[{{{{[[[[\"", &len);
	assert_int_equal(cf_json_parse(s, len, CF_JSON_MAX_DEPTH, &v, &err), CF_OK);
	json_decref(v);
	free(s);

	/* closing brackets inside a string must not lower the count either */
	s = nested_arrays(33, "\"]]]]]]]]]]\"", &len);
	expect_refused(s, len, CF_JSON_MAX_DEPTH, CF_P_TOO_DEEP);
	free(s);

	/* an escaped quote does not end the string: the brackets after it are still text */
	s = nested_arrays(32, "\"a\\\"[[[[[[[[[[\\\"b\"", &len);
	assert_int_equal(cf_json_parse(s, len, CF_JSON_MAX_DEPTH, &v, &err), CF_OK);
	{
		json_t *x = v;
		while (json_is_array(x))
			x = json_array_get(x, 0);
		assert_string_equal(json_string_value(x), "a\"[[[[[[[[[[\"b");
	}
	json_decref(v);
	free(s);

	/* an escaped backslash does end before the quote: what follows is counted */
	{
		/* ["\\", [[[...32 more...]]]] is 33 deep */
		char *inner;
		size_t ilen;
		char buf[256];
		inner = nested_arrays(32, "0", &ilen);
		assert_true(ilen + 8 < sizeof(buf));
		memcpy(buf, "[\"\\\\\",", 6);
		memcpy(buf + 6, inner, ilen);
		buf[6 + ilen] = ']';
		expect_refused(buf, 6 + ilen + 1, CF_JSON_MAX_DEPTH, CF_P_TOO_DEEP);
		free(inner);
		/* and 31 more is 32 deep: fine */
		inner = nested_arrays(31, "0", &ilen);
		memcpy(buf + 6, inner, ilen);
		buf[6 + ilen] = ']';
		assert_int_equal(cf_json_parse(buf, 6 + ilen + 1, CF_JSON_MAX_DEPTH, &v, &err), CF_OK);
		assert_string_equal(json_string_value(json_array_get(v, 0)), "\\");
		json_decref(v);
		free(inner);
	}

	/* keys are strings too */
	assert_int_equal(parse_str("{\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\":1}", &v, &err), CF_OK);
	json_decref(v);
}

static void test_parse_invalid_utf8(void **state)
{
	static const char *bad[] = {
		"[\"\xff\"]",		/* never valid */
		"[\"\xc3\"]",		/* truncated 2-byte sequence */
		"[\"\xc0\xaf\"]",	/* overlong "/" */
		"[\"\xe0\x80\xaf\"]",	/* overlong 3-byte */
		"[\"\xed\xa0\x80\"]",	/* UTF-16 surrogate encoded in UTF-8 */
		"[\"\xf4\x90\x80\x80\"]", /* above U+10FFFF */
		"[\"\x80\"]",		/* lone continuation byte */
		"{\"\xfe\":1}",		/* in a key */
		"[\"\\ud800\"]",	/* lone surrogate escape */
	};
	cf_err err = {0};
	json_t *v = NULL;

	for (size_t i = 0; i < CF_ARRAY_LEN(bad); i++) {
		v = (json_t *)(uintptr_t)1;
		if (parse_str(bad[i], &v, &err) != CF_EINVAL || err.problem != CF_P_MALFORMED_JSON || v != NULL)
			fail_msg("invalid UTF-8 case %zu accepted or misclassified (problem %d)", i, (int)err.problem);
	}
	/* a valid surrogate pair escape is fine */
	assert_int_equal(parse_str("[\"\\ud83d\\ude00\"]", &v, &err), CF_OK);
	assert_string_equal(json_string_value(json_array_get(v, 0)), "\xf0\x9f\x98\x80");
	json_decref(v);
}

static void test_parse_nul_byte(void **state)
{
	static const char in_string[] = "{\"a\":\"x\0y\"}";
	static const char in_key[] = "{\"a\0b\":1}";
	static const char between[] = "{\"a\":1,\0\"b\":2}";
	static const char after[] = "{\"a\":1}\0";
	static const char escaped[] = "{\"a\":\"x\\u0000y\"}";

	expect_refused(in_string, sizeof(in_string) - 1, CF_JSON_MAX_DEPTH, CF_P_MALFORMED_JSON);
	expect_refused(in_key, sizeof(in_key) - 1, CF_JSON_MAX_DEPTH, CF_P_MALFORMED_JSON);
	expect_refused(between, sizeof(between) - 1, CF_JSON_MAX_DEPTH, CF_P_MALFORMED_JSON);
	expect_refused(after, sizeof(after) - 1, CF_JSON_MAX_DEPTH, CF_P_MALFORMED_JSON);
	expect_refused(escaped, sizeof(escaped) - 1, CF_JSON_MAX_DEPTH, CF_P_MALFORMED_JSON);
	expect_refused("\0", 1, CF_JSON_MAX_DEPTH, CF_P_MALFORMED_JSON);
}

/* ---- cf_json_unpack --------------------------------------------------- */

static void test_unpack_allowed(void **state)
{
	json_t *v = NULL;
	const char *name = NULL;
	json_int_t n = 0;
	int flag = 0, opt = 7;
	cf_err err = {0};

	assert_int_equal(parse_str("{\"name\":\"ann\",\"n\":42,\"flag\":true}", &v, &err), CF_OK);
	assert_int_equal(cf_json_unpack(&err, "body", v, "{s:s, s:I, s:b}", "name", &name, "n", &n, "flag", &flag),
			 CF_OK);
	assert_string_equal(name, "ann");
	assert_int_equal(n, 42);
	assert_int_equal(flag, 1);
	/* optional keys may be absent; the target is left alone */
	assert_int_equal(cf_json_unpack(&err, "body", v, "{s:s, s:I, s:b, s?i}", "name", &name, "n", &n, "flag",
					&flag, "opt", &opt),
			 CF_OK);
	assert_int_equal(opt, 7);
	json_decref(v);
}

static void test_unpack_refused(void **state)
{
	json_t *v = NULL, *nested = NULL;
	const char *name = NULL;
	json_int_t n = 0;
	int inner = 0;
	cf_err err = {0};

	assert_int_equal(parse_str("{\"name\":\"ann\",\"n\":42}", &v, &err), CF_OK);

	/* a key the format does not name */
	assert_int_equal(cf_json_unpack(&err, "login body", v, "{s:s}", "name", &name), CF_EINVAL);
	assert_int_equal(err.rc, CF_EINVAL);
	assert_int_equal(err.problem, CF_P_UNKNOWN_KEY);
	assert_memory_equal(err.detail, "login body: ", 12);

	/* a required key that is absent */
	assert_int_equal(cf_json_unpack(&err, "login body", v, "{s:s, s:I, s:s}", "name", &name, "n", &n, "pw", &name),
			 CF_EINVAL);
	assert_int_equal(err.problem, CF_P_MISSING_KEY);
	assert_memory_equal(err.detail, "login body: ", 12);
	assert_non_null(strstr(err.detail, "pw"));

	/* a value of the wrong type, both ways */
	assert_int_equal(cf_json_unpack(&err, "b", v, "{s:I, s:I}", "name", &n, "n", &n), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_WRONG_TYPE);
	assert_int_equal(cf_json_unpack(&err, "b", v, "{s:s, s:s}", "name", &name, "n", &name), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_WRONG_TYPE);
	/* the root itself of the wrong type */
	assert_int_equal(cf_json_unpack(&err, "b", v, "[s]", &name), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_WRONG_TYPE);
	json_decref(v);

	/* null where a string is required is the wrong type */
	assert_int_equal(parse_str("{\"name\":null}", &v, &err), CF_OK);
	assert_int_equal(cf_json_unpack(&err, "b", v, "{s:s}", "name", &name), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_WRONG_TYPE);
	json_decref(v);

	/* strictness reaches nested objects */
	assert_int_equal(parse_str("{\"o\":{\"a\":1,\"extra\":2}}", &nested, &err), CF_OK);
	assert_int_equal(cf_json_unpack(&err, "b", nested, "{s:{s:i}}", "o", "a", &inner), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_UNKNOWN_KEY);
	json_decref(nested);

	/* and arrays with more items than the format */
	assert_int_equal(parse_str("[1,2]", &nested, &err), CF_OK);
	assert_int_equal(cf_json_unpack(&err, "b", nested, "[i]", &inner), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_UNKNOWN_KEY);
	json_decref(nested);

	/* no body at all */
	assert_int_equal(cf_json_unpack(&err, "unseal body", NULL, "{s:s}", "passphrase", &name), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_MALFORMED_JSON);
	assert_string_equal(err.detail, "unseal body: no body");

	/* NULL err is fine */
	assert_int_equal(cf_json_unpack(NULL, "b", NULL, "{}"), CF_EINVAL);
}

/* ---- cf_json_dump_canonical ------------------------------------------ */

static void test_dump_canonical(void **state)
{
	json_t *v = NULL;
	cf_err err = {0};
	char *s;

	assert_int_equal(parse_str("{ \"b\" : 1 ,\n \"a\" : [ 1 , { \"d\" : 2, \"c\" : \"x\" } ], \"A\": {}, \"_\": []}",
				   &v, &err),
			 CF_OK);
	s = cf_json_dump_canonical(v);
	assert_non_null(s);
	assert_string_equal(s, "{\"A\":{},\"_\":[],\"a\":[1,{\"c\":\"x\",\"d\":2}],\"b\":1}");
	free(s);
	json_decref(v);

	/* raw UTF-8 stays raw, "/" is not escaped, control characters are */
	v = json_pack("{s:s, s:s, s:s}", "z", "\xc3\xa9", "y", "a/b", "x", "q\"\\\n");
	s = cf_json_dump_canonical(v);
	assert_string_equal(s, "{\"x\":\"q\\\"\\\\\\n\",\"y\":\"a/b\",\"z\":\"\xc3\xa9\"}");
	free(s);
	json_decref(v);

	/* scalars are encoded too */
	v = json_integer(-5);
	s = cf_json_dump_canonical(v);
	assert_string_equal(s, "-5");
	free(s);
	json_decref(v);
	v = json_string("s");
	s = cf_json_dump_canonical(v);
	assert_string_equal(s, "\"s\"");
	free(s);
	json_decref(v);

	/* same content, different insertion order: same bytes */
	{
		json_t *a = json_pack("{s:i, s:i, s:i}", "one", 1, "two", 2, "three", 3);
		json_t *b = json_pack("{s:i, s:i, s:i}", "three", 3, "one", 1, "two", 2);
		char *sa = cf_json_dump_canonical(a), *sb = cf_json_dump_canonical(b);
		assert_string_equal(sa, sb);
		assert_string_equal(sa, "{\"one\":1,\"three\":3,\"two\":2}");
		free(sa);
		free(sb);
		json_decref(a);
		json_decref(b);
	}
}

/* ---- cf_json_wipe ----------------------------------------------------- */

static bool all_zero(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != '\0')
			return false;
	return true;
}

static void test_wipe(void **state)
{
	json_t *v = NULL;
	cf_err err = {0};
	const char *p[5];
	size_t n[5];

	assert_int_equal(parse_str("{\"name\":\"Ann Smith\",\"nid\":\"123456782\",\"n\":7,"
				   "\"list\":[\"first\",{\"deep\":[\"deeper secret\"]}],\"e\":\"\",\"t\":true}",
				   &v, &err),
			 CF_OK);
	p[0] = json_string_value(json_object_get(v, "name"));
	p[1] = json_string_value(json_object_get(v, "nid"));
	p[2] = json_string_value(json_array_get(json_object_get(v, "list"), 0));
	p[3] = json_string_value(json_array_get(json_object_get(json_array_get(json_object_get(v, "list"), 1), "deep"), 0));
	p[4] = json_string_value(json_object_get(v, "e"));
	for (size_t i = 0; i < 5; i++) {
		assert_non_null(p[i]);
		n[i] = strlen(p[i]);
	}
	assert_int_equal(n[3], 13);

	cf_json_wipe(v);
	/* the same buffers, now all zeros over their whole former length */
	assert_ptr_equal(p[0], json_string_value(json_object_get(v, "name")));
	for (size_t i = 0; i < 5; i++)
		if (!all_zero(p[i], n[i]))
			fail_msg("string %zu was not wiped", i);
	assert_true(all_zero(json_string_value(json_object_get(v, "nid")), 9));
	/* non-strings are left alone; the structure is intact */
	assert_int_equal(json_integer_value(json_object_get(v, "n")), 7);
	assert_true(json_is_true(json_object_get(v, "t")));
	assert_int_equal(json_object_size(v), 6);
	json_decref(v);

	/* a bare string, and NULL */
	v = json_string("secret");
	cf_json_wipe(v);
	assert_true(all_zero(json_string_value(v), 6));
	json_decref(v);
	cf_json_wipe(NULL);
}

/* ---- problems and errors ---------------------------------------------- */

static void test_problem_table(void **state)
{
	const cf_problem_info *rows[CF_P__COUNT];

	for (int p = 1; p < CF_P__COUNT; p++) {
		const cf_problem_info *pi = cf_problem_get((cf_problem)p);
		assert_non_null(pi);
		if ((int)pi->id != p)
			fail_msg("problem %d: row says id %d", p, (int)pi->id);
		if (pi->status < 400 || pi->status > 599)
			fail_msg("problem %d (%s): status %d", p, pi->slug, pi->status);
		assert_non_null(pi->slug);
		assert_non_null(pi->title);
		if (pi->slug[0] == '\0' || pi->title[0] == '\0')
			fail_msg("problem %d: empty slug or title", p);
		for (const char *c = pi->slug; *c != '\0'; c++)
			if (!((*c >= 'a' && *c <= 'z') || *c == '-'))
				fail_msg("problem %d: slug '%s' is not lower-case words", p, pi->slug);
		for (int q = 1; q < p; q++)
			if (strcmp(rows[q]->slug, pi->slug) == 0)
				fail_msg("problems %d and %d share the slug '%s'", q, p, pi->slug);
		rows[p] = pi;
	}
	/* a few rows exactly */
	assert_int_equal(cf_problem_get(CF_P_NOT_FOUND)->status, 404);
	assert_string_equal(cf_problem_get(CF_P_NOT_FOUND)->slug, "not-found");
	assert_int_equal(cf_problem_get(CF_P_METHOD_NOT_ALLOWED)->status, 405);
	assert_int_equal(cf_problem_get(CF_P_BODY_TOO_LARGE)->status, 413);
	assert_string_equal(cf_problem_get(CF_P_BODY_TOO_LARGE)->slug, "body-too-large");
	assert_int_equal(cf_problem_get(CF_P_UNSUPPORTED_MEDIA_TYPE)->status, 415);
	assert_int_equal(cf_problem_get(CF_P_ACCOUNT_LOCKED)->status, 429);
	assert_int_equal(cf_problem_get(CF_P_AUDIT_UNAVAILABLE)->status, 503);
	assert_string_equal(cf_problem_get(CF_P_AUDIT_UNAVAILABLE)->slug, "audit-unavailable");
	assert_int_equal(cf_problem_get(CF_P_UNAUTHENTICATED)->status, 401);
	assert_int_equal(cf_problem_get(CF_P_FORBIDDEN)->status, 403);
	assert_int_equal(cf_problem_get(CF_P_VERSION_CONFLICT)->status, 409);
	assert_int_equal(cf_problem_get(CF_P_MALFORMED_JSON)->status, 400);
	assert_string_equal(cf_problem_get(CF_P_DUPLICATE_KEY)->slug, "duplicate-key");
	assert_string_equal(cf_problem_get(CF_P_TOO_DEEP)->slug, "too-deep");
	assert_string_equal(cf_problem_get(CF_P_INTERNAL)->slug, "internal");
	assert_int_equal(cf_problem_get(CF_P_INTERNAL)->status, 500);

	/* out of range (and "none") maps to the internal row, never NULL */
	assert_ptr_equal(cf_problem_get(CF_P_NONE), cf_problem_get(CF_P_INTERNAL));
	assert_ptr_equal(cf_problem_get(CF_P__COUNT), cf_problem_get(CF_P_INTERNAL));
	assert_ptr_equal(cf_problem_get((cf_problem)(CF_P__COUNT + 100)), cf_problem_get(CF_P_INTERNAL));
	assert_ptr_equal(cf_problem_get((cf_problem)-1), cf_problem_get(CF_P_INTERNAL));
	assert_ptr_equal(cf_problem_get((cf_problem)INT_MIN), cf_problem_get(CF_P_INTERNAL));
}

static void test_problem_for_rc(void **state)
{
	static const struct {
		cf_rc rc;
		cf_problem p;
	} map[] = {
		{CF_OK, CF_P_INTERNAL},
		{CF_ENOMEM, CF_P_INTERNAL},
		{CF_EINVAL, CF_P_INVALID_VALUE},
		{CF_ENOTFOUND, CF_P_NOT_FOUND},
		{CF_EEXIST, CF_P_CONFLICT},
		{CF_EDENIED, CF_P_FORBIDDEN},
		{CF_EUNAUTH, CF_P_UNAUTHENTICATED},
		{CF_EINTEGRITY, CF_P_INTEGRITY},
		{CF_ESTORE, CF_P_STORE_UNAVAILABLE},
		{CF_EAUDIT, CF_P_AUDIT_UNAVAILABLE},
		{CF_ESEALED, CF_P_SEALED},
		{CF_ELOCKED, CF_P_ACCOUNT_LOCKED},
		{CF_ETOOBIG, CF_P_BODY_TOO_LARGE},
		{CF_ECRYPTO, CF_P_INTERNAL},
		{CF_EINTERNAL, CF_P_INTERNAL},
		{CF_EIO, CF_P_INTERNAL},
		{(cf_rc)999, CF_P_INTERNAL},
	};

	for (size_t i = 0; i < CF_ARRAY_LEN(map); i++)
		if (cf_problem_for_rc(map[i].rc) != map[i].p)
			fail_msg("rc %d maps to %d, expected %d", (int)map[i].rc, (int)cf_problem_for_rc(map[i].rc),
				 (int)map[i].p);
}

static void test_err_set(void **state)
{
	cf_err err;
	char big[400];

	/* NULL err: just the rc back */
	assert_int_equal(cf_err_set(NULL, CF_EDENIED, CF_P_FORBIDDEN, "x %d", 1), CF_EDENIED);
	assert_int_equal(cf_err_set(NULL, CF_OK, CF_P_NONE, NULL), CF_OK);

	memset(&err, 0x5a, sizeof(err));
	assert_int_equal(cf_err_set(&err, CF_EINVAL, CF_P_TOO_LONG, "field %s: at most %d", "name", 64), CF_EINVAL);
	assert_int_equal(err.rc, CF_EINVAL);
	assert_int_equal(err.problem, CF_P_TOO_LONG);
	assert_string_equal(err.detail, "field name: at most 64");

	/* CF_P_NONE: the rc's default problem; NULL fmt: an empty detail */
	assert_int_equal(cf_err_set(&err, CF_ESTORE, CF_P_NONE, NULL), CF_ESTORE);
	assert_int_equal(err.problem, CF_P_STORE_UNAVAILABLE);
	assert_string_equal(err.detail, "");

	/* a long detail is cut at the buffer, always terminated */
	memset(big, 'd', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(cf_err_set(&err, CF_EINVAL, CF_P_INVALID_VALUE, "%s", big), CF_EINVAL);
	assert_int_equal(strlen(err.detail), sizeof(err.detail) - 1);
	assert_int_equal(err.detail[0], 'd');

	cf_err_clear(&err);
	assert_int_equal(err.rc, CF_OK);
	assert_int_equal(err.problem, CF_P_NONE);
	assert_string_equal(err.detail, "");
	cf_err_clear(NULL);
}

static void test_err_prefix(void **state)
{
	cf_err err = {0};
	char big[400];
	size_t dlen = sizeof(err.detail);

	(void)cf_err_set(&err, CF_EINVAL, CF_P_INVALID_VALUE, "max_body_bytes: too big");
	cf_err_prefix(&err, "coffre.conf:12");
	assert_string_equal(err.detail, "coffre.conf:12: max_body_bytes: too big");
	/* rc and problem are untouched */
	assert_int_equal(err.rc, CF_EINVAL);
	assert_int_equal(err.problem, CF_P_INVALID_VALUE);

	/* prefixes stack */
	cf_err_prefix(&err, "a");
	assert_string_equal(err.detail, "a: coffre.conf:12: max_body_bytes: too big");

	/* an empty detail or prefix */
	cf_err_clear(&err);
	cf_err_prefix(&err, "p");
	assert_string_equal(err.detail, "p: ");
	(void)cf_err_set(&err, CF_EINVAL, CF_P_NONE, "d");
	cf_err_prefix(&err, "");
	assert_string_equal(err.detail, ": d");

	/* a full detail: the end is cut so that the whole fits */
	memset(big, 'x', dlen - 1);
	big[dlen - 1] = '\0';
	(void)cf_err_set(&err, CF_EINVAL, CF_P_NONE, "%s", big);
	assert_int_equal(strlen(err.detail), dlen - 1);
	cf_err_prefix(&err, "file:1");
	assert_int_equal(strlen(err.detail), dlen - 1);
	assert_memory_equal(err.detail, "file:1: xxx", 11);
	assert_memory_equal(err.detail + 8, big, dlen - 1 - 8);

	/* a prefix longer than the buffer: prefix cut at dlen-3, then ": ", then nothing */
	memset(big, 'P', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	(void)cf_err_set(&err, CF_EINVAL, CF_P_NONE, "detail");
	cf_err_prefix(&err, big);
	assert_int_equal(strlen(err.detail), dlen - 1);
	assert_memory_equal(err.detail, big, dlen - 3);
	assert_memory_equal(err.detail + dlen - 3, ": ", 2);

	/* a prefix one short of that leaves room for one byte of the detail */
	big[dlen - 4] = '\0';
	(void)cf_err_set(&err, CF_EINVAL, CF_P_NONE, "detail");
	cf_err_prefix(&err, big);
	assert_int_equal(strlen(err.detail), dlen - 1);
	assert_memory_equal(err.detail + dlen - 4, ": d", 3);

	/* NULLs change nothing */
	(void)cf_err_set(&err, CF_EINVAL, CF_P_NONE, "same");
	cf_err_prefix(&err, NULL);
	assert_string_equal(err.detail, "same");
	cf_err_prefix(NULL, "x");
}

/* ---- small helpers ---------------------------------------------------- */

static void test_snprintf(void **state)
{
	char buf[8];

	assert_int_equal(cf_snprintf(buf, sizeof(buf), "%s-%d", "ab", 1234), CF_OK);
	assert_string_equal(buf, "ab-1234");
	/* exactly one byte too long: refused, still terminated and cut */
	assert_int_equal(cf_snprintf(buf, sizeof(buf), "%s", "12345678"), CF_ETOOBIG);
	assert_string_equal(buf, "1234567");
	assert_int_equal(cf_snprintf(buf, sizeof(buf), "%s", "1234567"), CF_OK);
	assert_string_equal(buf, "1234567");
	assert_int_equal(cf_snprintf(buf, sizeof(buf), "%s", ""), CF_OK);
	assert_string_equal(buf, "");
	/* size 1: only the terminator fits */
	assert_int_equal(cf_snprintf(buf, 1, "%c", 'x'), CF_ETOOBIG);
	assert_string_equal(buf, "");
	assert_int_equal(cf_snprintf(buf, 1, "%s", ""), CF_OK);
	/* size 0: nothing fits, nothing is written */
	buf[0] = 'k';
	assert_int_equal(cf_snprintf(buf, 0, "%s", ""), CF_ETOOBIG);
	assert_int_equal(buf[0], 'k');
}

static void test_strdup(void **state)
{
	static const char with_nul[] = {'a', '\0', 'b'};
	char *p;

	p = cf_strndup("hello", 3);
	assert_string_equal(p, "hel");
	free(p);
	p = cf_strndup("hello", 0);
	assert_string_equal(p, "");
	free(p);
	p = cf_strndup("hello", 5);
	assert_string_equal(p, "hello");
	free(p);
	/* exactly n bytes are copied (lengths travel with pointers), then a terminator */
	p = cf_strndup(with_nul, sizeof(with_nul));
	assert_non_null(p);
	assert_memory_equal(p, "a\0b\0", 4);
	free(p);
	assert_null(cf_strndup(NULL, 3));
	assert_null(cf_strndup("x", SIZE_MAX)); /* n + 1 overflows */

	p = cf_strdup("text");
	assert_string_equal(p, "text");
	free(p);
	assert_null(cf_strdup(NULL));
}

static void test_time_format(void **state)
{
	static const struct {
		int64_t us;
		const char *text;
	} known[] = {
		{0, "1970-01-01T00:00:00.000000Z"},
		{1, "1970-01-01T00:00:00.000001Z"},
		{999999, "1970-01-01T00:00:00.999999Z"},
		{1000000, "1970-01-01T00:00:01.000000Z"},
		{-1, "1969-12-31T23:59:59.999999Z"},
		{-999999, "1969-12-31T23:59:59.000001Z"},
		{-1000000, "1969-12-31T23:59:59.000000Z"},
		{-1000001, "1969-12-31T23:59:58.999999Z"},
		{-1500000, "1969-12-31T23:59:58.500000Z"},
		{-86400000000LL, "1969-12-31T00:00:00.000000Z"},
		{1700000000123456LL, "2023-11-14T22:13:20.123456Z"},
		{951782400000000LL, "2000-02-29T00:00:00.000000Z"},
		{951868799999999LL, "2000-02-29T23:59:59.999999Z"},
		{951868800000000LL, "2000-03-01T00:00:00.000000Z"},
		{1709164800000000LL, "2024-02-29T00:00:00.000000Z"},
		{946684799999999LL, "1999-12-31T23:59:59.999999Z"},
		{4102444800000000LL, "2100-01-01T00:00:00.000000Z"},
		{253402300799999999LL, "9999-12-31T23:59:59.999999Z"},
	};
	char out[CF_TIME_STR_LEN];

	for (size_t i = 0; i < CF_ARRAY_LEN(known); i++) {
		memset(out, 'z', sizeof(out));
		cf_time_format(known[i].us, out);
		if (strcmp(out, known[i].text) != 0)
			fail_msg("%lld: got %s, expected %s", (long long)known[i].us, out, known[i].text);
	}
	/* the extremes never overflow the buffer */
	memset(out, 'z', sizeof(out));
	cf_time_format(INT64_MAX, out);
	assert_true(strnlen(out, sizeof(out)) < sizeof(out));
	memset(out, 'z', sizeof(out));
	cf_time_format(INT64_MIN, out);
	assert_true(strnlen(out, sizeof(out)) < sizeof(out));
}

static void test_log_level_parse(void **state)
{
	static const char *bad[] = {"", "ERROR", "Info", "warning", "info ", " info", "trace", "fatal", "2"};
	cf_log_level l = CF_LOG_DEBUG;

	assert_int_equal(cf_log_level_parse("error", &l), CF_OK);
	assert_int_equal(l, CF_LOG_ERROR);
	assert_int_equal(cf_log_level_parse("warn", &l), CF_OK);
	assert_int_equal(l, CF_LOG_WARN);
	assert_int_equal(cf_log_level_parse("info", &l), CF_OK);
	assert_int_equal(l, CF_LOG_INFO);
	assert_int_equal(cf_log_level_parse("debug", &l), CF_OK);
	assert_int_equal(l, CF_LOG_DEBUG);
	for (size_t i = 0; i < CF_ARRAY_LEN(bad); i++) {
		l = CF_LOG_WARN;
		if (cf_log_level_parse(bad[i], &l) != CF_EINVAL)
			fail_msg("accepted log level '%s'", bad[i]);
		assert_int_equal(l, CF_LOG_WARN); /* untouched on refusal */
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_empty),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_parse_duplicate_key),
		cmocka_unit_test(test_parse_depth_limit),
		cmocka_unit_test(test_parse_depth_strings),
		cmocka_unit_test(test_parse_invalid_utf8),
		cmocka_unit_test(test_parse_nul_byte),
		cmocka_unit_test(test_unpack_allowed),
		cmocka_unit_test(test_unpack_refused),
		cmocka_unit_test(test_dump_canonical),
		cmocka_unit_test(test_wipe),
		cmocka_unit_test(test_problem_table),
		cmocka_unit_test(test_problem_for_rc),
		cmocka_unit_test(test_err_set),
		cmocka_unit_test(test_err_prefix),
		cmocka_unit_test(test_snprintf),
		cmocka_unit_test(test_strdup),
		cmocka_unit_test(test_time_format),
		cmocka_unit_test(test_log_level_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
