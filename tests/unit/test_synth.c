/*
 * test_synth.c - synthetic data for non-production exports: for every field
 * type, hundreds of random valid sources whose synthetic values must
 * validate, keep the type's shape and differ from the source; consistency
 * inside one cf_synth and unrelatedness across two; the keyed derivation
 * recomputed here from its specification with a known key; national
 * identifiers of both check-digit forms; refusals whose details name the
 * field and never the value; and whole datasets, walked scalar by scalar
 * against the source.
 */
#include "common/cf.h"
#include "synth/synth.h"

#include "common/json.h"
#include "schema/schema.h"

#include <regex.h>
#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <time.h>
#include <cmocka.h>

/* ---- environments ---------------------------------------------------- */

typedef struct rng {
	uint8_t seed[32];
	uint64_t ctr;
} rng;

static int64_t fixed_now(void *ctx)
{
	(void)ctx;
	return INT64_C(1700000000000000);
}

/* Deterministic: each call is the ChaCha20 expansion of (seed xor call number). */
static void det_random(void *ctx, void *buf, size_t len)
{
	rng *r = ctx;
	uint8_t s[32];

	memcpy(s, r->seed, sizeof(s));
	for (size_t i = 0; i < 8; i++)
		s[i] ^= (uint8_t)(r->ctr >> (8 * i));
	r->ctr++;
	randombytes_buf_deterministic(buf, len, s);
}

static cf_env det_env(rng *r, uint64_t seed)
{
	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < 8; i++)
		r->seed[i] = (uint8_t)(seed >> (8 * i));
	r->seed[31] = 0x5a;
	return (cf_env){fixed_now, NULL, det_random, r};
}

/* Sequential bytes 0x00, 0x01, ...: the first 32 bytes drawn (the key) are known. */
static void counting_random(void *ctx, void *buf, size_t len)
{
	uint8_t *next = ctx, *b = buf;

	for (size_t i = 0; i < len; i++)
		b[i] = (*next)++;
}

static void sys_random(void *ctx, void *buf, size_t len)
{
	(void)ctx;
	randombytes_buf(buf, len);
}

static const cf_env sys_env = {fixed_now, NULL, sys_random, NULL};

/* splitmix64, for generating sources reproducibly. */
static uint64_t sm_next(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static uint64_t sm_below(uint64_t *s, uint64_t n)
{
	return sm_next(s) % n;
}

/* ---- helpers ---------------------------------------------------------- */

static json_t *parse(const char *text)
{
	json_t *v = NULL;

	assert_int_equal(cf_json_parse(text, strlen(text), CF_JSON_MAX_DEPTH, &v, NULL), CF_OK);
	return v;
}

/* A JSON scalar (or anything), for source values written as JSON text. */
static json_t *parse_any(const char *text)
{
	json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);

	assert_non_null(v);
	return v;
}

static cf_collection *coll_from(const char *name, const char *text)
{
	json_t *def = parse(text);
	cf_collection *c = NULL;
	cf_err err;

	cf_err_clear(&err);
	if (cf_collection_parse(name, def, &c, &err) != CF_OK)
		fail_msg("collection: %s", err.detail);
	json_decref(def);
	return c;
}

static const char *const T_DEF =
	"{\"fields\": {"
	"\"s\": {\"type\": \"string\", \"category\": \"identity\"},"
	"\"s40\": {\"type\": \"string\", \"category\": \"identity\", \"max_length\": 40},"
	"\"code\": {\"type\": \"string\", \"category\": \"other\", \"pattern\": \"^[A-Z]{2}-[0-9]{4}$\"},"
	"\"hexish\": {\"type\": \"string\", \"category\": \"other\", \"pattern\": \"^[A-F][0-9]{2}$\"},"
	"\"yn\": {\"type\": \"string\", \"category\": \"other\", \"pattern\": \"(yes|no)\"},"
	"\"i\": {\"type\": \"integer\", \"category\": \"financial\"},"
	"\"fixed\": {\"type\": \"integer\", \"category\": \"financial\", \"min\": 424242, \"max\": 424242},"
	"\"pair\": {\"type\": \"integer\", \"category\": \"financial\", \"min\": 7, \"max\": 8},"
	"\"d\": {\"type\": \"date\", \"category\": \"identity\"},"
	"\"e\": {\"type\": \"email\", \"category\": \"contact\"},"
	"\"e26\": {\"type\": \"email\", \"category\": \"contact\", \"max_length\": 26},"
	"\"e25\": {\"type\": \"email\", \"category\": \"contact\", \"max_length\": 25},"
	"\"p\": {\"type\": \"phone\", \"category\": \"contact\"},"
	"\"pbe\": {\"type\": \"phone\", \"category\": \"contact\", \"pattern\": \"\\\\+32 4[0-9]{8}\"},"
	"\"pc\": {\"type\": \"postal_code\", \"category\": \"housing\"},"
	"\"pc3\": {\"type\": \"postal_code\", \"category\": \"housing\", \"max_length\": 3},"
	"\"n\": {\"type\": \"national_id\", \"category\": \"identity\"},"
	"\"b\": {\"type\": \"boolean\", \"category\": \"other\"},"
	"\"en\": {\"type\": \"enum\", \"category\": \"other\", \"values\": [\"red\", \"green\", \"blue\"]},"
	"\"one\": {\"type\": \"enum\", \"category\": \"other\", \"values\": [\"only\"]}"
	"}, \"purposes\": {\"test\": {\"legal_basis\": \"consent\"}}, \"retention\": \"P1Y\"}";

/* The synthetic value of one field, asserting success. */
static json_t *synth_ok(cf_synth *s, const cf_collection *c, const char *field, json_t *src)
{
	json_t *out = NULL;
	cf_err err;

	cf_err_clear(&err);
	if (cf_synth_value(s, c, field, src, &out, &err) != CF_OK)
		fail_msg("field %s: %s", field, err.detail);
	assert_non_null(out);
	return out;
}

static bool validates(const cf_collection *c, const char *field, json_t *v)
{
	json_t *o = json_object();
	bool ok;

	assert_int_equal(json_object_set(o, field, v), 0);
	ok = cf_collection_validate(c, o, true, NULL) == CF_OK;
	json_decref(o);
	return ok;
}

static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xC0u) != 0x80u)
			n++;
	return n;
}

/* Days since 1970-01-01 of a valid "YYYY-MM-DD", by timegm (independent of the code under test). */
static int64_t days_of(const char *s)
{
	struct tm tm;
	long y, m, d;
	char *end;

	memset(&tm, 0, sizeof(tm));
	y = strtol(s, &end, 10);
	assert_true(end == s + 4);
	m = strtol(s + 5, &end, 10);
	assert_true(end == s + 7);
	d = strtol(s + 8, &end, 10);
	assert_true(end == s + 10);
	tm.tm_year = (int)(y - 1900);
	tm.tm_mon = (int)(m - 1);
	tm.tm_mday = (int)d;
	tm.tm_hour = 12;
	return (int64_t)(timegm(&tm) / 86400);
}

/* Check digits computed digit by digit (Horner mod 97), as in test_nid.c. */
static unsigned ref_check(const char *first9, bool born2000)
{
	unsigned r = born2000 ? 2u : 0u;

	for (int i = 0; i < 9; i++)
		r = (r * 10u + (unsigned)(first9[i] - '0')) % 97u;
	return 97u - r;
}

/* A random valid national register number in one of its accepted printed forms. */
static void random_nid(uint64_t *st, char *out, size_t outsize)
{
	unsigned year = 1900u + (unsigned)sm_below(st, 125);
	unsigned month = 1u + (unsigned)sm_below(st, 12), day = 1u + (unsigned)sm_below(st, 28);
	unsigned seq = 1u + (unsigned)sm_below(st, 998), check;
	char first9[10], d[12];

	switch (sm_below(st, 6)) {
	case 0: month += 20u; break; /* bis number */
	case 1: month += 40u; break;
	case 2: month = 0; day = 0; break; /* birth date unknown */
	default: break;
	}
	(void)snprintf(first9, sizeof(first9), "%02u%02u%02u%03u", year % 100u, month, day, seq);
	check = ref_check(first9, year >= 2000u);
	(void)snprintf(d, sizeof(d), "%s%02u", first9, check);
	switch (sm_below(st, 3)) {
	case 0:
		(void)snprintf(out, outsize, "%s", d);
		break;
	case 1:
		(void)snprintf(out, outsize, "%.2s.%.2s.%.2s-%.3s.%.2s", d, d + 2, d + 4, d + 6, d + 9);
		break;
	default:
		(void)snprintf(out, outsize, "%.2s %.2s %.2s %.3s %.2s", d, d + 2, d + 4, d + 6, d + 9);
		break;
	}
	assert_true(cf_nid_be_valid(out));
}

static bool all_of(const char *s, size_t from, size_t to, char lo, char hi)
{
	for (size_t i = from; i < to; i++)
		if (s[i] < lo || s[i] > hi)
			return false;
	return true;
}

/* ---- lifecycle and the keyed derivation --------------------------------- */

static void test_new_refuses_no_random(void **state)
{
	cf_env broken = {fixed_now, NULL, NULL, NULL};
	cf_synth *s = (cf_synth *)&broken;
	cf_err err;

	(void)state;
	assert_int_equal(cf_synth_new(NULL, &s, &err), CF_EINVAL);
	assert_null(s);
	assert_int_equal(cf_synth_new(&broken, &s, &err), CF_EINVAL);
	assert_null(s);
	cf_synth_free(NULL);
}

/*
 * The specified derivation, recomputed outside the module with the key the
 * injected environment hands out (0x00..0x1f): seed = BLAKE2b-256 keyed over
 * ("email", 0x00, value); expansion = randombytes_buf_deterministic; letters
 * from big-endian 64-bit words, rejection below 2^64 mod 26.
 */
static void expected_letters(const char *tname, const char *value, size_t n, char *out)
{
	uint8_t key[32], seed[32], buf[(10 + 16) * 8];
	crypto_generichash_state st;
	uint64_t floor = (UINT64_C(0) - 26u) % 26u;
	size_t pos = 0;

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;
	assert_int_equal(crypto_generichash_init(&st, key, sizeof(key), sizeof(seed)), 0);
	assert_int_equal(crypto_generichash_update(&st, (const uint8_t *)tname, strlen(tname) + 1), 0); /* with its NUL */
	assert_int_equal(crypto_generichash_update(&st, (const uint8_t *)value, strlen(value)), 0);
	assert_int_equal(crypto_generichash_final(&st, seed, sizeof(seed)), 0);
	randombytes_buf_deterministic(buf, sizeof(buf), seed);
	for (size_t i = 0; i < n; i++) {
		uint64_t x;

		do {
			x = 0;
			for (size_t b = 0; b < 8; b++)
				x = (x << 8) | buf[pos + b];
			pos += 8;
		} while (x < floor);
		out[i] = (char)('a' + x % 26u);
	}
	out[n] = '\0';
}

static void test_derivation_known_key(void **state)
{
	uint8_t next = 0;
	cf_env env = {fixed_now, NULL, counting_random, &next};
	cf_collection *c = coll_from("t", T_DEF);
	cf_synth *s = NULL;
	json_t *src, *out;
	char want[64], letters[16];

	(void)state;
	assert_int_equal(cf_synth_new(&env, &s, NULL), CF_OK);
	assert_int_equal(next, 32); /* the key is the first 32 bytes of the source */

	src = json_string("jean.dupont@mail.be");
	out = synth_ok(s, c, "e", src);
	expected_letters("email", "jean.dupont@mail.be", 10, letters);
	(void)snprintf(want, sizeof(want), "%s@example.invalid", letters);
	assert_string_equal(json_string_value(out), want);
	json_decref(out);
	json_decref(src);

	/* A lowercase string: every letter replaced in turn from the same expansion. */
	src = json_string("dupont");
	out = synth_ok(s, c, "s", src);
	expected_letters("string", "dupont", 6, letters);
	assert_string_equal(json_string_value(out), letters);
	json_decref(out);
	json_decref(src);

	cf_synth_free(s);
	cf_collection_free(c);
}

/* ---- strings ------------------------------------------------------------ */

static const char *const pieces[] = {"a", "q", "z", "A", "M", "Z", "0", "5", "9", " ", "-", ".", ",", "'",
				     "/", "é", "ß", "€", "😀", "Ł"};

static void random_string(uint64_t *st, char *out, size_t outsize, size_t max_chars)
{
	size_t chars = 1 + (size_t)sm_below(st, max_chars), n = 0;

	for (size_t i = 0; i < chars; i++) {
		const char *p = pieces[sm_below(st, CF_ARRAY_LEN(pieces))];
		size_t l = strlen(p);

		assert_true(n + l < outsize);
		memcpy(out + n, p, l);
		n += l;
	}
	out[n] = '\0';
}

/* Walks source and synthetic character by character: the shape rules of the generator. */
static void assert_same_shape(const char *src, const char *syn)
{
	const unsigned char *a = (const unsigned char *)src, *b = (const unsigned char *)syn;

	while (*a != '\0') {
		unsigned char ch = *a;

		assert_true(*b != '\0');
		if (ch >= 'a' && ch <= 'z')
			assert_true(*b >= 'a' && *b <= 'z');
		else if (ch >= 'A' && ch <= 'Z')
			assert_true(*b >= 'A' && *b <= 'Z');
		else if (ch >= '0' && ch <= '9')
			assert_true(*b >= '0' && *b <= '9');
		else if (ch < 0x80)
			assert_int_equal(*b, ch);
		else
			assert_true(*b >= 'a' && *b <= 'z');
		a++;
		while ((*a & 0xC0u) == 0x80u)
			a++; /* the rest of a non-ASCII character */
		b++;
	}
	assert_int_equal(*b, '\0');
}

static void test_string_many(void **state)
{
	cf_collection *c = coll_from("t", T_DEF);
	uint64_t st = 1;
	rng r;
	cf_env env = det_env(&r, 11);
	cf_synth *s = NULL;
	char buf[256];

	(void)state;
	assert_int_equal(cf_synth_new(&env, &s, NULL), CF_OK);
	for (int i = 0; i < 500; i++) {
		const char *field = (i % 2) ? "s40" : "s";
		json_t *src, *out;

		random_string(&st, buf, sizeof(buf), 40);
		if (strpbrk(buf, "aqzAMZ059") == NULL && utf8_chars(buf) == strlen(buf))
			continue; /* only punctuation: covered by the refusal test */
		src = json_string(buf);
		assert_non_null(src);
		out = synth_ok(s, c, field, src);
		assert_true(json_is_string(out));
		assert_true(validates(c, field, out));
		assert_string_not_equal(json_string_value(out), buf);
		assert_int_equal(utf8_chars(json_string_value(out)), utf8_chars(buf));
		assert_same_shape(buf, json_string_value(out));
		json_decref(out);
		json_decref(src);
	}
	cf_synth_free(s);
	cf_collection_free(c);
}

static void test_string_pattern(void **state)
{
	cf_collection *c = coll_from("t", T_DEF);
	uint64_t st = 2;
	rng r;
	cf_env env = det_env(&r, 12);
	cf_synth *s = NULL;
	regex_t code_re, hex_re;

	(void)state;
	assert_int_equal(regcomp(&code_re, "^[A-Z]{2}-[0-9]{4}$", REG_EXTENDED | REG_NOSUB), 0);
	assert_int_equal(regcomp(&hex_re, "^[A-F][0-9]{2}$", REG_EXTENDED | REG_NOSUB), 0);
	assert_int_equal(cf_synth_new(&env, &s, NULL), CF_OK);
	for (int i = 0; i < 500; i++) {
		char code[8], hex[4];
		json_t *src, *out;

		(void)snprintf(code, sizeof(code), "%c%c-%04u", (char)('A' + sm_below(&st, 26)),
			       (char)('A' + sm_below(&st, 26)), (unsigned)sm_below(&st, 10000));
		src = json_string(code);
		out = synth_ok(s, c, "code", src);
		assert_int_equal(regexec(&code_re, json_string_value(out), 0, NULL, 0), 0);
		assert_true(validates(c, "code", out));
		assert_string_not_equal(json_string_value(out), code);
		json_decref(out);
		json_decref(src);

		/* Only 6 of 26 letters fit: candidates are re-derived until one validates. */
		(void)snprintf(hex, sizeof(hex), "%c%02u", (char)('A' + sm_below(&st, 6)), (unsigned)sm_below(&st, 100));
		src = json_string(hex);
		out = synth_ok(s, c, "hexish", src);
		assert_int_equal(regexec(&hex_re, json_string_value(out), 0, NULL, 0), 0);
		assert_string_not_equal(json_string_value(out), hex);
		json_decref(out);
		json_decref(src);
	}
	regfree(&code_re);
	regfree(&hex_re);
	cf_synth_free(s);
	cf_collection_free(c);
}

/* ---- integers ----------------------------------------------------------- */

static void test_integer_many(void **state)
{
	uint64_t st = 3;
	rng r;
	cf_env env = det_env(&r, 13);
	cf_synth *s = NULL;
	cf_collection *t = coll_from("t", T_DEF);

	(void)state;
	assert_int_equal(cf_synth_new(&env, &s, NULL), CF_OK);
	for (int i = 0; i < 500; i++) {
		json_int_t lo = (json_int_t)sm_below(&st, 2000000) - 1000000;
		json_int_t hi = lo + 1 + (json_int_t)sm_below(&st, (i % 5 == 0) ? 3 : 5000000);
		json_int_t v = lo + (json_int_t)sm_below(&st, (uint64_t)(hi - lo + 1)), got;
		char def[512];
		cf_collection *c;
		json_t *src, *out;

		(void)snprintf(def, sizeof(def),
			       "{\"fields\": {\"x\": {\"type\": \"integer\", \"category\": \"other\", \"min\": %lld, "
			       "\"max\": %lld}}, \"purposes\": {\"t\": {\"legal_basis\": \"consent\"}}, "
			       "\"retention\": \"P1Y\"}",
			       (long long)lo, (long long)hi);
		c = coll_from("c", def);
		src = json_integer(v);
		out = synth_ok(s, c, "x", src);
		assert_true(json_is_integer(out));
		got = json_integer_value(out);
		assert_true(got >= lo && got <= hi);
		assert_true(got != v);
		assert_true(validates(c, "x", out));
		json_decref(out);
		json_decref(src);
		cf_collection_free(c);

		/* No bounds: [0, max(2|v|, 1000)] for v >= 0. */
		v = (json_int_t)sm_below(&st, (i % 2) ? 600 : 100000000);
		src = json_integer(v);
		out = synth_ok(s, t, "i", src);
		got = json_integer_value(out);
		assert_true(got >= 0 && got <= (2 * v > 1000 ? 2 * v : 1000));
		assert_true(got != v);
		json_decref(out);
		json_decref(src);
	}
	cf_synth_free(s);
	cf_collection_free(t);
}

static void test_integer_edges(void **state)
{
	cf_collection *t = coll_from("t", T_DEF);
	cf_collection *full = coll_from(
		"f", "{\"fields\": {\"x\": {\"type\": \"integer\", \"category\": \"other\", \"min\": -9223372036854775808, "
		     "\"max\": 9223372036854775807}}, \"purposes\": {\"t\": {\"legal_basis\": \"consent\"}}, "
		     "\"retention\": \"P1Y\"}");
	cf_synth *s = NULL;
	json_t *src, *out;

	(void)state;
	assert_int_equal(cf_synth_new(&sys_env, &s, NULL), CF_OK);
	/* Two values: the other one, always. */
	for (int i = 0; i < 50; i++) {
		src = json_integer(7);
		out = synth_ok(s, t, "pair", src);
		assert_int_equal(json_integer_value(out), 8);
		json_decref(out);
		json_decref(src);
		src = json_integer(8);
		out = synth_ok(s, t, "pair", src);
		assert_int_equal(json_integer_value(out), 7);
		json_decref(out);
		json_decref(src);
	}
	/* The extremes of the 64-bit range. */
	src = json_integer(INT64_MIN);
	out = synth_ok(s, full, "x", src);
	assert_true(json_integer_value(out) != INT64_MIN);
	json_decref(out);
	json_decref(src);
	src = json_integer(INT64_MAX);
	out = synth_ok(s, full, "x", src);
	assert_true(json_integer_value(out) != INT64_MAX);
	json_decref(out);
	json_decref(src);
	src = json_integer(INT64_MIN);
	out = synth_ok(s, t, "i", src); /* no bounds, the most negative value */
	assert_true(json_integer_value(out) != INT64_MIN);
	json_decref(out);
	json_decref(src);
	/* Negative source, no bounds: below zero, within the mirrored default range. */
	src = json_integer(-40);
	out = synth_ok(s, t, "i", src);
	assert_true(json_integer_value(out) >= -1000 && json_integer_value(out) <= 1000);
	assert_true(json_integer_value(out) != -40);
	json_decref(out);
	json_decref(src);
	cf_synth_free(s);
	cf_collection_free(t);
	cf_collection_free(full);
}

/* ---- dates -------------------------------------------------------------- */

static void test_date_many(void **state)
{
	static const char *const edges[] = {"0001-01-01", "0001-01-02", "9999-12-31", "2000-02-29",
					    "1900-02-28", "2024-02-29", "1970-01-01", "0004-02-29"};
	static const unsigned mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	cf_collection *c = coll_from("t", T_DEF);
	uint64_t st = 4;
	rng r;
	cf_env env = det_env(&r, 14);
	cf_synth *s = NULL;

	(void)state;
	assert_int_equal(cf_synth_new(&env, &s, NULL), CF_OK);
	for (int i = 0; i < 500 + (int)CF_ARRAY_LEN(edges); i++) {
		char d[16];
		json_t *src, *out;
		int64_t diff;

		if (i < (int)CF_ARRAY_LEN(edges)) {
			(void)snprintf(d, sizeof(d), "%s", edges[i]);
		} else {
			unsigned y = 1u + (unsigned)sm_below(&st, 9999), m = 1u + (unsigned)sm_below(&st, 12);

			(void)snprintf(d, sizeof(d), "%04u-%02u-%02u", y, m, 1u + (unsigned)sm_below(&st, mdays[m - 1]));
		}
		src = json_string(d);
		assert_true(validates(c, "d", src));
		out = synth_ok(s, c, "d", src);
		assert_true(validates(c, "d", out));
		assert_string_not_equal(json_string_value(out), d);
		diff = days_of(json_string_value(out)) - days_of(d);
		assert_true(diff != 0 && diff >= -1095 && diff <= 1095);
		json_decref(out);
		json_decref(src);
	}
	cf_synth_free(s);
	cf_collection_free(c);
}

/* ---- email, phone, postal code ------------------------------------------ */

static void test_email_phone_postal_many(void **state)
{
	cf_collection *c = coll_from("t", T_DEF);
	uint64_t st = 5;
	rng r;
	cf_env env = det_env(&r, 15);
	cf_synth *s = NULL;

	(void)state;
	assert_int_equal(cf_synth_new(&env, &s, NULL), CF_OK);
	for (int i = 0; i < 500; i++) {
		char e[64], p[32], pc[16];
		json_t *src, *out;
		const char *o;

		/* Sources include the synthetic shapes themselves. */
		if (i % 2)
			(void)snprintf(e, sizeof(e), "user%u.name@mail%u.be", (unsigned)sm_below(&st, 100000),
				       (unsigned)sm_below(&st, 10));
		else
			(void)snprintf(e, sizeof(e), "%c%c%c%c%c%c%c%c%c%c@example.invalid",
				       (char)('a' + sm_below(&st, 2)), 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i',
				       (char)('a' + sm_below(&st, 26)));
		src = json_string(e);
		out = synth_ok(s, c, "e", src);
		o = json_string_value(out);
		assert_int_equal(strlen(o), 26);
		assert_true(all_of(o, 0, 10, 'a', 'z'));
		assert_string_equal(o + 10, "@example.invalid");
		assert_string_not_equal(o, e);
		assert_true(validates(c, "e", out));
		json_decref(out);
		json_decref(src);

		if (i % 2)
			(void)snprintf(p, sizeof(p), "+32 4%08u", (unsigned)sm_below(&st, 100000000));
		else
			(void)snprintf(p, sizeof(p), "0%u/%02u.%02u.%02u", 2u + (unsigned)sm_below(&st, 8),
				       (unsigned)sm_below(&st, 100), (unsigned)sm_below(&st, 100),
				       (unsigned)sm_below(&st, 100));
		src = json_string(p);
		out = synth_ok(s, c, "p", src);
		o = json_string_value(out);
		assert_int_equal(strlen(o), 13);
		assert_memory_equal(o, "+32 4", 5);
		assert_true(all_of(o, 5, 13, '0', '9'));
		assert_string_not_equal(o, p);
		assert_true(validates(c, "p", out));
		json_decref(out);
		if (i % 2) { /* a source of the pattern's shape; the generator always meets it */
			out = synth_ok(s, c, "pbe", src);
			assert_true(validates(c, "pbe", out));
			assert_string_not_equal(json_string_value(out), p);
			json_decref(out);
		}
		json_decref(src);

		(void)snprintf(pc, sizeof(pc), "%u", 1000u + (unsigned)sm_below(&st, 9000));
		src = json_string(pc);
		out = synth_ok(s, c, "pc", src);
		o = json_string_value(out);
		assert_int_equal(strlen(o), 4);
		assert_true(all_of(o, 0, 1, '1', '9') && all_of(o, 1, 4, '0', '9'));
		assert_string_not_equal(o, pc);
		assert_true(validates(c, "pc", out));
		json_decref(out);
		json_decref(src);
	}
	cf_synth_free(s);
	cf_collection_free(c);
}

/* ---- national identifiers ----------------------------------------------- */

/* Asserts the shape of a synthetic number and returns whether it uses the 2000+ check. */
static bool assert_synthetic_nid(const char *n)
{
	char first9[10], date[16];
	unsigned yy, mm, dd, seq, check;
	bool post2000;

	assert_int_equal(strlen(n), 11);
	assert_true(all_of(n, 0, 11, '0', '9'));
	assert_true(cf_nid_be_valid(n));
	memcpy(first9, n, 9);
	first9[9] = '\0';
	yy = (unsigned)(n[0] - '0') * 10u + (unsigned)(n[1] - '0');
	mm = (unsigned)(n[2] - '0') * 10u + (unsigned)(n[3] - '0');
	dd = (unsigned)(n[4] - '0') * 10u + (unsigned)(n[5] - '0');
	seq = (unsigned)(n[6] - '0') * 100u + (unsigned)(n[7] - '0') * 10u + (unsigned)(n[8] - '0');
	check = (unsigned)(n[9] - '0') * 10u + (unsigned)(n[10] - '0');
	assert_true(yy < 20u || yy >= 30u); /* births 1930-2019 */
	post2000 = yy < 20u;
	assert_true(seq >= 1u && seq <= 997u);
	(void)snprintf(date, sizeof(date), "%04u-%02u-%02u", (post2000 ? 2000u : 1900u) + yy, mm, dd);
	{
		cf_collection *c = coll_from("t", T_DEF);
		json_t *d = json_string(date);

		assert_true(validates(c, "d", d)); /* a real calendar date */
		json_decref(d);
		cf_collection_free(c);
	}
	assert_int_equal(check, ref_check(first9, post2000));
	return post2000;
}

static void test_nid_many(void **state)
{
	cf_collection *c = coll_from("t", T_DEF);
	uint64_t st = 6;
	rng r;
	cf_env env = det_env(&r, 16);
	cf_synth *s = NULL;
	int pre = 0, post = 0;

	(void)state;
	assert_int_equal(cf_synth_new(&env, &s, NULL), CF_OK);
	for (int i = 0; i < 500; i++) {
		char src[40], norm[CF_NID_LEN], out[CF_NID_LEN];
		json_t *jsrc, *jout, *jnorm, *jout2;
		cf_err err;

		random_nid(&st, src, sizeof(src));
		assert_int_equal(cf_nid_normalize(src, norm, NULL), CF_OK);
		cf_err_clear(&err);
		if (cf_synth_nid(s, src, out, &err) != CF_OK)
			fail_msg("%s", err.detail);
		assert_string_not_equal(out, norm);
		if (assert_synthetic_nid(out))
			post++;
		else
			pre++;

		/* The field path, the printed and the normalized forms: one synthetic number. */
		jsrc = json_string(src);
		jout = synth_ok(s, c, "n", jsrc);
		assert_string_equal(json_string_value(jout), out);
		jnorm = json_string(norm);
		jout2 = synth_ok(s, c, "n", jnorm);
		assert_string_equal(json_string_value(jout2), out);
		json_decref(jsrc);
		json_decref(jout);
		json_decref(jnorm);
		json_decref(jout2);
	}
	assert_true(pre > 100 && post > 50); /* both check-digit forms, ~78% / 22% */
	cf_synth_free(s);
	cf_collection_free(c);
}

static void test_nid_refused(void **state)
{
	cf_synth *s = NULL;
	char out[CF_NID_LEN];
	cf_err err;

	(void)state;
	assert_int_equal(cf_synth_new(&sys_env, &s, NULL), CF_OK);
	cf_err_clear(&err);
	assert_int_equal(cf_synth_nid(s, "85073003329", out, &err), CF_EINVAL); /* bad check digits */
	assert_int_equal(err.problem, CF_P_INVALID_NATIONAL_ID);
	assert_null(strstr(err.detail, "8507300332"));
	assert_string_equal(out, "");
	assert_int_equal(cf_synth_nid(s, "", out, &err), CF_EINVAL);
	assert_int_equal(cf_synth_nid(s, NULL, out, &err), CF_EINVAL);
	cf_synth_free(s);
}

/* ---- booleans and enums -------------------------------------------------- */

static void test_boolean_enum_random(void **state)
{
	cf_collection *c = coll_from("t", T_DEF);
	rng r;
	cf_env env = det_env(&r, 17);
	cf_synth *s = NULL;
	int trues = 0, counts[3] = {0, 0, 0};
	json_t *bsrc = json_true(), *esrc = json_string("green");

	(void)state;
	assert_int_equal(cf_synth_new(&env, &s, NULL), CF_OK);
	for (int i = 0; i < 1200; i++) {
		json_t *out = synth_ok(s, c, "b", bsrc);

		assert_true(json_is_boolean(out));
		trues += json_is_true(out) ? 1 : 0;
		json_decref(out);

		/* The same source each time: the draw does not depend on it. */
		out = synth_ok(s, c, "en", esrc);
		assert_true(validates(c, "en", out));
		if (strcmp(json_string_value(out), "red") == 0)
			counts[0]++;
		else if (strcmp(json_string_value(out), "green") == 0)
			counts[1]++;
		else if (strcmp(json_string_value(out), "blue") == 0)
			counts[2]++;
		else
			fail_msg("not a declared value");
		json_decref(out);
	}
	/* Uniform: binomial(1200, 1/2) and (1200, 1/3) within about 5 standard deviations. */
	assert_true(trues > 510 && trues < 690);
	for (int k = 0; k < 3; k++)
		assert_true(counts[k] > 320 && counts[k] < 480);
	{
		json_t *one = json_string("only"), *out = synth_ok(s, c, "one", one);

		assert_string_equal(json_string_value(out), "only");
		json_decref(out);
		json_decref(one);
	}
	json_decref(bsrc);
	json_decref(esrc);
	cf_synth_free(s);
	cf_collection_free(c);
}

/* ---- consistency ---------------------------------------------------------- */

static void test_consistency(void **state)
{
	static const struct {
		const char *field;
		const char *json;
	} cases[] = {
		{"s", "\"Émilie Dupont-Leclercq\""}, {"code", "\"CK-4821\""}, {"i", "4250000"},
		{"d", "\"1985-07-30\""}, {"e", "\"emilie.dupont@mail.be\""}, {"p", "\"+32 2 555 12 34\""},
		{"pc", "\"1050\""}, {"n", "\"85.07.30-033.28\""},
	};
	cf_collection *c = coll_from("t", T_DEF);
	rng r1, r2, r3;
	cf_env e1 = det_env(&r1, 100), e2 = det_env(&r2, 200), e3 = det_env(&r3, 100);
	cf_synth *s1 = NULL, *s2 = NULL, *s3 = NULL;
	char id1[32], id1b[32], id2[32];

	(void)state;
	assert_int_equal(cf_synth_new(&e1, &s1, NULL), CF_OK);
	assert_int_equal(cf_synth_new(&e2, &s2, NULL), CF_OK);
	assert_int_equal(cf_synth_new(&e3, &s3, NULL), CF_OK); /* same key as s1: a reproducible run */
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		json_t *src = parse_any(cases[i].json);
		json_t *a = synth_ok(s1, c, cases[i].field, src), *b = synth_ok(s1, c, cases[i].field, src);
		json_t *x = synth_ok(s2, c, cases[i].field, src), *y = synth_ok(s3, c, cases[i].field, src);

		assert_true(json_equal(a, b));
		assert_false(json_equal(a, x));
		assert_true(json_equal(a, y));
		json_decref(a);
		json_decref(b);
		json_decref(x);
		json_decref(y);
		json_decref(src);
	}
	assert_int_equal(cf_synth_id(s1, "r_", "r_Xk3vQ9mZpL2sT8wY4nB6cd", id1, sizeof(id1), NULL), CF_OK);
	assert_int_equal(cf_synth_id(s1, "r_", "r_Xk3vQ9mZpL2sT8wY4nB6cd", id1b, sizeof(id1b), NULL), CF_OK);
	assert_int_equal(cf_synth_id(s2, "r_", "r_Xk3vQ9mZpL2sT8wY4nB6cd", id2, sizeof(id2), NULL), CF_OK);
	assert_string_equal(id1, id1b);
	assert_string_not_equal(id1, id2);
	cf_synth_free(s1);
	cf_synth_free(s2);
	cf_synth_free(s3);
	cf_collection_free(c);
}

/* ---- refusals ------------------------------------------------------------- */

static void expect_refused(cf_synth *s, const cf_collection *c, const char *field, const char *json,
			   const char *must_name, const char *must_not)
{
	json_t *src = parse_any(json), *out = (json_t *)&out;
	cf_err err;

	cf_err_clear(&err);
	assert_int_equal(cf_synth_value(s, c, field, src, &out, &err), CF_EINVAL);
	assert_null(out);
	assert_int_equal(err.rc, CF_EINVAL);
	if (strstr(err.detail, must_name) == NULL)
		fail_msg("detail '%s' does not name '%s'", err.detail, must_name);
	if (must_not != NULL && strstr(err.detail, must_not) != NULL)
		fail_msg("detail '%s' repeats the value", err.detail);
	json_decref(src);
}

static void test_impossible_and_invalid(void **state)
{
	cf_collection *c = coll_from("t", T_DEF);
	cf_synth *s = NULL;

	(void)state;
	assert_int_equal(cf_synth_new(&sys_env, &s, NULL), CF_OK);
	/* A single-value range: nothing can differ from the source. */
	expect_refused(s, c, "fixed", "424242", "'fixed'", "424242");
	/* A string with nothing to replace. */
	expect_refused(s, c, "s", "\"-- / --\"", "'s'", "-- / --");
	expect_refused(s, c, "s", "\"\"", "'s'", NULL);
	/* A pattern the same-shape generator cannot meet without repeating the source. */
	expect_refused(s, c, "yn", "\"yes\"", "'yn'", "yes");
	/* max_length below the synthetic email (26) or postal code (4). */
	expect_refused(s, c, "e25", "\"a@b.be\"", "'e25'", "a@b.be");
	expect_refused(s, c, "pc3", "\"B12\"", "'pc3'", "B12");
	/* Invalid sources and unknown fields. */
	expect_refused(s, c, "d", "\"1985-02-30\"", "'d'", "1985");
	expect_refused(s, c, "e", "\"jean.dupont\"", "'e'", "dupont");
	expect_refused(s, c, "n", "\"85073003329\"", "'n'", "8507300332");
	expect_refused(s, c, "i", "\"12\"", "'i'", NULL);
	expect_refused(s, c, "b", "\"true\"", "'b'", NULL);
	expect_refused(s, c, "en", "\"purple\"", "'en'", "purple");
	expect_refused(s, c, "code", "\"ck-4821\"", "'code'", "4821");
	expect_refused(s, c, "s40", "\"abcdefghijabcdefghijabcdefghijabcdefghijX\"", "'s40'", "abcdefghij");
	expect_refused(s, c, "s", "null", "'s'", NULL);
	expect_refused(s, c, "nope", "\"x\"", "'nope'", NULL);
	expect_refused(s, c, "Bad Name", "\"x\"", "collection 't'", "Bad Name");
	{
		json_t *out = NULL;
		cf_err err;

		assert_int_equal(cf_synth_value(s, c, NULL, NULL, &out, &err), CF_EINVAL);
		assert_null(out);
	}
	/* The boundary: a synthetic email is exactly 26 characters. */
	{
		json_t *src = json_string("a@b.be"), *out = synth_ok(s, c, "e26", src);

		assert_int_equal(json_string_length(out), 26);
		json_decref(out);
		json_decref(src);
	}
	cf_synth_free(s);
	cf_collection_free(c);
}

/* ---- opaque ids ----------------------------------------------------------- */

static void test_id(void **state)
{
	cf_synth *s = NULL;
	char out[64], other[64], small[25];
	char longsrc[CF_SYNTH_ID_SRC_MAX + 2];
	cf_err err;

	(void)state;
	assert_int_equal(cf_synth_new(&sys_env, &s, NULL), CF_OK);
	assert_int_equal(cf_synth_id(s, "r_", "r_Xk3vQ9mZpL2sT8wY4nB6cd", out, sizeof(out), NULL), CF_OK);
	assert_int_equal(strlen(out), 24);
	assert_memory_equal(out, "r_", 2);
	for (size_t i = 2; i < 24; i++)
		assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", out[i]));
	assert_string_not_equal(out, "r_Xk3vQ9mZpL2sT8wY4nB6cd");
	/* Another prefix, another source: unrelated. */
	assert_int_equal(cf_synth_id(s, "x_", "r_Xk3vQ9mZpL2sT8wY4nB6cd", other, sizeof(other), NULL), CF_OK);
	assert_memory_equal(other, "x_", 2);
	assert_memory_not_equal(out + 2, other + 2, 22);
	assert_int_equal(cf_synth_id(s, "r_", "r_Xk3vQ9mZpL2sT8wY4nB6cD", other, sizeof(other), NULL), CF_OK);
	assert_string_not_equal(out, other);
	/* Prefix limits: 8 characters accepted, 9 refused, and only [A-Za-z0-9_-]. */
	assert_int_equal(cf_synth_id(s, "abcdefg_", "src", out, sizeof(out), NULL), CF_OK);
	assert_int_equal(strlen(out), 30);
	assert_int_equal(cf_synth_id(s, "", "src", out, sizeof(out), NULL), CF_OK);
	assert_int_equal(strlen(out), 22);
	cf_err_clear(&err);
	assert_int_equal(cf_synth_id(s, "abcdefgh_", "src", out, sizeof(out), &err), CF_EINVAL);
	assert_int_equal(cf_synth_id(s, "r/", "src", out, sizeof(out), &err), CF_EINVAL);
	assert_int_equal(cf_synth_id(s, NULL, "src", out, sizeof(out), &err), CF_EINVAL);
	/* Source limits. */
	assert_int_equal(cf_synth_id(s, "r_", "", out, sizeof(out), &err), CF_EINVAL);
	assert_int_equal(cf_synth_id(s, "r_", NULL, out, sizeof(out), &err), CF_EINVAL);
	memset(longsrc, 'a', sizeof(longsrc) - 1);
	longsrc[sizeof(longsrc) - 1] = '\0';
	assert_int_equal(cf_synth_id(s, "r_", longsrc, out, sizeof(out), &err), CF_EINVAL);
	longsrc[CF_SYNTH_ID_SRC_MAX] = '\0';
	assert_int_equal(cf_synth_id(s, "r_", longsrc, out, sizeof(out), &err), CF_OK);
	assert_null(strstr(err.detail, "aaaa"));
	/* The output buffer: prefix + 22 + NUL exactly. */
	assert_int_equal(cf_synth_id(s, "r_", "src", small, 24, &err), CF_ETOOBIG);
	assert_int_equal(cf_synth_id(s, "r_", "src", small, 25, &err), CF_OK);
	assert_int_equal(strlen(small), 24);
	cf_synth_free(s);
}

/* ---- datasets ------------------------------------------------------------- */

static const char *const DATASET =
	"{\"org\": \"cpas-liege\","
	" \"collections\": {"
	"  \"people\": {\"fields\": {"
	"    \"name\": {\"type\": \"string\", \"category\": \"identity\", \"max_length\": 64},"
	"    \"email\": {\"type\": \"email\", \"category\": \"contact\"},"
	"    \"phone\": {\"type\": \"phone\", \"category\": \"contact\"},"
	"    \"postal\": {\"type\": \"postal_code\", \"category\": \"housing\"},"
	"    \"birth_date\": {\"type\": \"date\", \"category\": \"identity\"},"
	"    \"nid\": {\"type\": \"national_id\", \"category\": \"identity\"},"
	"    \"guardian\": {\"type\": \"national_id\", \"category\": \"family\"},"
	"    \"income\": {\"type\": \"integer\", \"category\": \"financial\", \"min\": 0, \"max\": 100000000},"
	"    \"children\": {\"type\": \"integer\", \"category\": \"family\"},"
	"    \"active\": {\"type\": \"boolean\", \"category\": \"other\"},"
	"    \"status\": {\"type\": \"enum\", \"category\": \"family\", \"values\": [\"single\", \"married\", \"other\"]}},"
	"   \"purposes\": {\"benefits\": {\"legal_basis\": \"art. 6.1.e GDPR\"}}, \"retention\": \"P10Y\"},"
	"  \"visits\": {\"fields\": {"
	"    \"when\": {\"type\": \"date\", \"category\": \"health\"},"
	"    \"note\": {\"type\": \"string\", \"category\": \"health\"},"
	"    \"code\": {\"type\": \"string\", \"category\": \"other\", \"pattern\": \"^[A-Z]{2}-[0-9]{4}$\"},"
	"    \"score\": {\"type\": \"integer\", \"category\": \"health\", \"min\": -1000000, \"max\": 1000000}},"
	"   \"purposes\": {\"care\": {\"legal_basis\": \"art. 9.2.h GDPR\"}}, \"retention\": \"P30Y\"}},"
	" \"subjects\": ["
	"  {\"national_id\": \"85.07.30-033.28\", \"records\": ["
	"    {\"collection\": \"people\", \"id\": \"r_Xk3vQ9mZpL2sT8wY4nB6cd\", \"fields\": {"
	"      \"name\": \"Émilie Dupont-Leclercq\", \"email\": \"emilie.dupont@mail.be\", \"phone\": \"+32 2 555 12 34\","
	"      \"postal\": \"B-1050\", \"birth_date\": \"1985-07-30\", \"nid\": \"85073003328\", \"income\": 4250000,"
	"      \"children\": 3, \"active\": true, \"status\": \"married\"}},"
	"    {\"collection\": \"visits\", \"id\": \"r_Pq7rT2uV5wX8yZ1aB4cD6ef\", \"fields\": {"
	"      \"when\": \"2021-03-15\", \"note\": \"Consultation cardiologie, suivi\", \"code\": \"CK-4821\","
	"      \"score\": 123457}}]},"
	"  {\"national_id\": \"00012556777\", \"records\": ["
	"    {\"collection\": \"people\", \"id\": \"r_Gh5jK8lM1nP4qR7sT0uV3wx\", \"fields\": {"
	"      \"name\": \"Lucas Janssens\", \"email\": \"lucas.j@telenet.be\", \"phone\": \"0471/23.45.67\","
	"      \"postal\": \"L-2540\", \"birth_date\": \"2000-01-25\", \"guardian\": \"85 07 30 033 28\","
	"      \"income\": 18350000, \"active\": false, \"status\": \"single\"}}]},"
	"  {\"national_id\": \"71 01 01 001 12\", \"records\": ["
	"    {\"collection\": \"visits\", \"id\": \"r_Yz2aB5cD8eF1gH4iJ7kL0mno\", \"fields\": {"
	"      \"when\": \"2013-06-10\", \"note\": \"Bilan annuel\", \"code\": \"ZX-0917\", \"score\": -654321}},"
	"    {\"collection\": \"visits\", \"id\": \"r_Qr3sT6uV9wX2yZ5aB8cD1efg\", \"fields\": {"
	"      \"when\": \"1993-04-02\", \"note\": \"Urgence, fracture du poignet\", \"code\": \"QA-3308\"}},"
	"    {\"collection\": \"people\", \"id\": \"r_Hi4jK7lM0nP3qR6sT9uV2wxy\", \"fields\": {"
	"      \"name\": \"Van den Broeck Marc\", \"nid\": \"71010100112\", \"status\": \"other\","
	"      \"email\": \"marc.vdb@skynet.be\", \"postal\": \"GENT 9000\", \"phone\": \"+32 (0)9 223 45 67\","
	"      \"income\": 900000}}]}"
	" ]}";

/* Text form of a scalar for comparison: strings as they are, integers in decimal. */
static bool scalar_text(const json_t *v, char *buf, size_t size)
{
	if (json_is_string(v)) {
		(void)snprintf(buf, size, "%s", json_string_value(v));
		return true;
	}
	if (json_is_integer(v)) {
		(void)snprintf(buf, size, "%lld", (long long)json_integer_value(v));
		return true;
	}
	return false;
}

/* Every personal scalar of the source subjects (booleans and enum values excluded), into set. */
static void collect_source(const json_t *source, json_t *set)
{
	const json_t *sub, *rec;
	size_t i, j;
	char buf[256], norm[CF_NID_LEN];

	json_array_foreach(json_object_get(source, "subjects"), i, sub) {
		const char *nid = json_string_value(json_object_get(sub, "national_id"));

		json_object_set_new(set, nid, json_true());
		assert_int_equal(cf_nid_normalize(nid, norm, NULL), CF_OK);
		json_object_set_new(set, norm, json_true());
		json_array_foreach(json_object_get(sub, "records"), j, rec) {
			const char *key;
			const json_t *v;

			json_object_set_new(set, json_string_value(json_object_get(rec, "id")), json_true());
			json_object_foreach((json_t *)json_object_get(rec, "fields"), key, v) {
				if (json_is_boolean(v) || strcmp(key, "status") == 0)
					continue;
				assert_true(scalar_text(v, buf, sizeof(buf)));
				json_object_set_new(set, buf, json_true());
				if (json_is_string(v) && cf_nid_normalize(buf, norm, NULL) == CF_OK)
					json_object_set_new(set, norm, json_true());
			}
		}
	}
}

/* No scalar under v (except collection names) is in set. */
static void assert_none_from(const json_t *v, const json_t *set, const char *key)
{
	char buf[256];

	if (json_is_object(v)) {
		const char *k;
		const json_t *x;

		json_object_foreach((json_t *)v, k, x)
			assert_none_from(x, set, k);
	} else if (json_is_array(v)) {
		size_t i;
		const json_t *x;

		json_array_foreach(v, i, x)
			assert_none_from(x, set, key);
	} else if (key == NULL || strcmp(key, "collection") != 0) {
		if (scalar_text(v, buf, sizeof(buf)) && json_object_get(set, buf) != NULL)
			fail_msg("the output repeats a source value under '%s'", key ? key : "?");
	}
}

/* The source subject an output subject came from, by its record signature (2, 1 or 3 records). */
static size_t source_of(const json_t *out_sub)
{
	size_t n = json_array_size(json_object_get(out_sub, "records"));

	assert_true(n >= 1 && n <= 3);
	return n == 2 ? 0 : n == 1 ? 1 : 2;
}

static const json_t *rec_field(const json_t *sub, size_t r, const char *field)
{
	return json_object_get(json_object_get(json_array_get(json_object_get(sub, "records"), r), "fields"), field);
}

static void test_dataset(void **state)
{
	json_t *source = parse(DATASET), *set = json_object(), *first = NULL;
	int seen_pos[3] = {0, 0, 0};
	char *dump;

	(void)state;
	collect_source(source, set);
	assert_true(json_object_size(set) > 40);
	for (uint64_t seed = 1; seed <= 20; seed++) {
		rng r;
		cf_env env = det_env(&r, seed);
		const json_t *by_src[3] = {NULL, NULL, NULL}, *sub, *subs;
		json_t *out = NULL;
		const char *key;
		const json_t *v;
		size_t i;
		cf_err err;

		cf_err_clear(&err);
		if (cf_synth_dataset(&env, source, &out, &err) != CF_OK)
			fail_msg("%s", err.detail);
		assert_int_equal(json_object_size(out), 4);
		assert_string_equal(json_string_value(json_object_get(out, "format")), "coffre-pseudonymized-dataset/1");
		assert_true(json_is_true(json_object_get(out, "pseudonymized")));
		assert_true(json_equal(json_object_get(out, "collections"), json_object_get(source, "collections")));
		subs = json_object_get(out, "subjects");
		assert_int_equal(json_array_size(subs), 3);

		/* No source value anywhere under subjects, as a whole scalar or inside a string. */
		assert_none_from(subs, set, NULL);
		dump = json_dumps(subs, JSON_COMPACT);
		json_object_foreach(set, key, v) {
			if (strlen(key) >= 5 && strstr(dump, key) != NULL)
				fail_msg("the output contains a source value");
		}
		free(dump);

		/* Records stay with their subject, in their order and collections. */
		json_array_foreach(subs, i, sub) {
			size_t k = source_of(sub);
			const json_t *src_sub = json_array_get(json_object_get(source, "subjects"), k);
			const json_t *rec;
			size_t j;

			assert_null(by_src[k]);
			by_src[k] = sub;
			if (k == 0)
				seen_pos[i]++;
			assert_int_equal(json_object_size(sub), 2);
			assert_synthetic_nid(json_string_value(json_object_get(sub, "national_id")));
			json_array_foreach(json_object_get(sub, "records"), j, rec) {
				const json_t *src_rec = json_array_get(json_object_get(src_sub, "records"), j);
				const char *id = json_string_value(json_object_get(rec, "id"));
				const char *fk;
				const json_t *fv;

				assert_int_equal(json_object_size(rec), 3);
				assert_string_equal(json_string_value(json_object_get(rec, "collection")),
						    json_string_value(json_object_get(src_rec, "collection")));
				assert_int_equal(strlen(id), 24);
				assert_memory_equal(id, "r_", 2);
				/* Same fields, same JSON types. */
				assert_int_equal(json_object_size(json_object_get(rec, "fields")),
						 json_object_size(json_object_get(src_rec, "fields")));
				json_object_foreach((json_t *)json_object_get(src_rec, "fields"), fk, fv) {
					const json_t *ov = json_object_get(json_object_get(rec, "fields"), fk);

					assert_non_null(ov);
					assert_int_equal(json_typeof(ov) == JSON_FALSE ? JSON_TRUE : json_typeof(ov),
							 json_typeof(fv) == JSON_FALSE ? JSON_TRUE : json_typeof(fv));
				}
			}
		}
		/* A record naming its own subject names the same synthetic person; so does a guardian. */
		assert_string_equal(json_string_value(rec_field(by_src[0], 0, "nid")),
				    json_string_value(json_object_get(by_src[0], "national_id")));
		assert_string_equal(json_string_value(rec_field(by_src[2], 2, "nid")),
				    json_string_value(json_object_get(by_src[2], "national_id")));
		assert_string_equal(json_string_value(rec_field(by_src[1], 0, "guardian")),
				    json_string_value(json_object_get(by_src[0], "national_id")));
		assert_string_not_equal(json_string_value(json_object_get(by_src[0], "national_id")),
					json_string_value(json_object_get(by_src[2], "national_id")));

		/* Reproducible with the same random source; unrelated with another. */
		if (seed == 1) {
			first = out;
			{
				rng r2;
				cf_env env2 = det_env(&r2, 1);
				json_t *again = NULL;

				assert_int_equal(cf_synth_dataset(&env2, source, &again, NULL), CF_OK);
				assert_true(json_equal(again, out));
				json_decref(again);
			}
		} else {
			assert_false(json_equal(json_object_get(out, "subjects"), json_object_get(first, "subjects")));
			json_decref(out);
		}
	}
	/* Shuffled: the first source subject did not always land in the same place. */
	assert_true((seen_pos[0] > 0) + (seen_pos[1] > 0) + (seen_pos[2] > 0) >= 2);
	/* The source was not touched. */
	{
		json_t *again = parse(DATASET);

		assert_true(json_equal(again, source));
		json_decref(again);
	}
	json_decref(first);
	json_decref(set);
	json_decref(source);
}

/* Many subjects: distinct sources give distinct synthetic numbers, none of them a source number. */
static void test_dataset_nids_distinct(void **state)
{
	json_t *source = parse("{\"org\": \"o\", \"collections\": {\"people\": {\"fields\": {\"nid\": {\"type\": "
			       "\"national_id\", \"category\": \"identity\"}}, \"purposes\": {\"p\": {\"legal_basis\": "
			       "\"law\"}}, \"retention\": \"P1Y\"}}, \"subjects\": []}");
	json_t *subs = json_object_get(source, "subjects"), *srcset = json_object(), *outset = json_object();
	json_t *out = NULL, *sub;
	uint64_t st = 7;
	char dup_norm[CF_NID_LEN], dup_syn[CF_NID_LEN] = "";
	size_t i, dups = 0;
	cf_err err;

	(void)state;
	for (int k = 0; k < 400; k++) {
		char nid[40], norm[CF_NID_LEN], rid[32];
		json_t *s;

		random_nid(&st, nid, sizeof(nid));
		if (k == 399) /* the first person again, printed differently */
			(void)snprintf(nid, sizeof(nid), "%.2s.%.2s.%.2s-%.3s.%.2s", dup_norm, dup_norm + 2,
				       dup_norm + 4, dup_norm + 6, dup_norm + 9);
		assert_int_equal(cf_nid_normalize(nid, norm, NULL), CF_OK);
		if (k == 0)
			memcpy(dup_norm, norm, sizeof(norm));
		json_object_set_new(srcset, norm, json_true());
		(void)snprintf(rid, sizeof(rid), "r_%05d", k);
		s = json_pack("{s:s, s:[{s:s, s:s, s:{s:s}}]}", "national_id", nid, "records", "collection", "people",
			      "id", rid, "fields", "nid", norm);
		assert_non_null(s);
		json_array_append_new(subs, s);
	}
	cf_err_clear(&err);
	if (cf_synth_dataset(&sys_env, source, &out, &err) != CF_OK)
		fail_msg("%s", err.detail);
	json_array_foreach(json_object_get(out, "subjects"), i, sub) {
		const char *n = json_string_value(json_object_get(sub, "national_id"));

		assert_synthetic_nid(n);
		assert_null(json_object_get(srcset, n));
		assert_string_equal(json_string_value(rec_field(sub, 0, "nid")), n);
		if (json_object_get(outset, n) != NULL) {
			dups++;
			memcpy(dup_syn, n, CF_NID_LEN);
		}
		json_object_set_new(outset, n, json_true());
	}
	assert_int_equal(json_array_size(json_object_get(out, "subjects")), 400);
	assert_int_equal(dups, 1); /* only the person listed twice */
	assert_int_equal(json_object_size(outset), 399);
	assert_int_equal(strlen(dup_syn), 11);
	json_decref(out);
	json_decref(outset);
	json_decref(srcset);
	json_decref(source);
}

/*
 * A synthetic number must not be a source number of the dataset. With a known
 * key, the first candidate for A is computed outside the dataset (X); a
 * dataset holding both A and X must then give A another number.
 */
static void test_dataset_avoids_source_nids(void **state)
{
	uint8_t next = 0;
	cf_env env = {fixed_now, NULL, counting_random, &next};
	cf_synth *s = NULL;
	char x[CF_NID_LEN], text[1024];
	json_t *source, *out = NULL, *sub;
	size_t i;
	cf_err err;

	(void)state;
	assert_int_equal(cf_synth_new(&env, &s, NULL), CF_OK); /* key 0x00..0x1f, as the dataset's below */
	assert_int_equal(cf_synth_nid(s, "85073003328", x, NULL), CF_OK);
	cf_synth_free(s);
	(void)snprintf(text, sizeof(text),
		       "{\"org\": \"o\", \"collections\": {\"people\": {\"fields\": {\"nid\": {\"type\": "
		       "\"national_id\", \"category\": \"identity\"}}, \"purposes\": {\"p\": {\"legal_basis\": "
		       "\"law\"}}, \"retention\": \"P1Y\"}}, \"subjects\": [{\"national_id\": \"85073003328\", "
		       "\"records\": []}, {\"national_id\": \"%s\", \"records\": []}]}",
		       x);
	source = parse(text);
	next = 0;
	cf_err_clear(&err);
	if (cf_synth_dataset(&env, source, &out, &err) != CF_OK)
		fail_msg("%s", err.detail);
	assert_int_equal(json_array_size(json_object_get(out, "subjects")), 2);
	json_array_foreach(json_object_get(out, "subjects"), i, sub) {
		const char *n = json_string_value(json_object_get(sub, "national_id"));

		assert_synthetic_nid(n);
		assert_string_not_equal(n, x);
		assert_string_not_equal(n, "85073003328");
	}
	json_decref(out);
	json_decref(source);
}

static void expect_bad_dataset(const char *text, cf_problem problem, const char *must_name)
{
	static const char *const secrets[] = {"Dupont", "85073003328", "85.07.30", "emilie", "4250000", "1985-07-30",
					      "not-an-email"};
	json_t *source = parse(text), *out = (json_t *)&out;
	cf_err err;

	cf_err_clear(&err);
	assert_int_equal(cf_synth_dataset(&sys_env, source, &out, &err), CF_EINVAL);
	assert_null(out);
	assert_int_equal(err.problem, problem);
	if (must_name != NULL && strstr(err.detail, must_name) == NULL)
		fail_msg("detail '%s' does not name '%s'", err.detail, must_name);
	for (size_t i = 0; i < CF_ARRAY_LEN(secrets); i++)
		if (strstr(err.detail, secrets[i]) != NULL)
			fail_msg("detail '%s' repeats a value", err.detail);
	json_decref(source);
}

#define COLLS                                                                                                  \
	"\"collections\": {\"people\": {\"fields\": {\"name\": {\"type\": \"string\", \"category\": "          \
	"\"identity\"}, \"email\": {\"type\": \"email\", \"category\": \"contact\"}, \"nid\": {\"type\": "      \
	"\"national_id\", \"category\": \"identity\"}, \"income\": {\"type\": \"integer\", \"category\": "      \
	"\"financial\"}}, \"purposes\": {\"p\": {\"legal_basis\": \"law\"}}, \"retention\": \"P1Y\"}}"
#define SUBJ(records) "\"subjects\": [{\"national_id\": \"85.07.30-033.28\", \"records\": [" records "]}]"

static void test_dataset_bad_shapes(void **state)
{
	json_t *out = (json_t *)&out;

	(void)state;
	assert_int_equal(cf_synth_dataset(&sys_env, NULL, &out, NULL), CF_EINVAL);
	assert_null(out);
	/* The well-formed base is accepted, so each refusal below is about its one change. */
	{
		json_t *ok = parse("{\"org\": \"o\", " COLLS ", " SUBJ(
			"{\"collection\": \"people\", \"id\": \"r_1\", \"fields\": {\"name\": \"Dupont\", \"income\": "
			"4250000}}") "}");

		assert_int_equal(cf_synth_dataset(&sys_env, ok, &out, NULL), CF_OK);
		json_decref(out);
		json_decref(ok);
	}
	expect_bad_dataset("[]", CF_P_WRONG_TYPE, "dataset");
	expect_bad_dataset("{\"org\": \"o\", " SUBJ("") "}", CF_P_MISSING_KEY, "collections");
	expect_bad_dataset("{\"org\": \"o\", " COLLS "}", CF_P_MISSING_KEY, "subjects");
	expect_bad_dataset("{" COLLS ", " SUBJ("") "}", CF_P_MISSING_KEY, "org");
	expect_bad_dataset("{\"org\": \"o\", \"extra\": 1, " COLLS ", " SUBJ("") "}", CF_P_UNKNOWN_KEY, "extra");
	expect_bad_dataset("{\"org\": 5, " COLLS ", " SUBJ("") "}", CF_P_WRONG_TYPE, "org");
	expect_bad_dataset("{\"org\": \"o\", \"collections\": [], " SUBJ("") "}", CF_P_WRONG_TYPE, "collections");
	expect_bad_dataset("{\"org\": \"o\", \"collections\": {}, " SUBJ("") "}", CF_P_INVALID_VALUE, "collections");
	expect_bad_dataset("{\"org\": \"o\", \"collections\": {\"people\": {\"fields\": {\"x\": {\"type\": \"blob\", "
			   "\"category\": \"other\"}}, \"purposes\": {\"p\": {\"legal_basis\": \"law\"}}, "
			   "\"retention\": \"P1Y\"}}, " SUBJ("") "}",
			   CF_P_INVALID_VALUE, "collection 'people'");
	expect_bad_dataset("{\"org\": \"o\", " COLLS ", \"subjects\": {}}", CF_P_WRONG_TYPE, "subjects");
	expect_bad_dataset("{\"org\": \"o\", " COLLS ", \"subjects\": [{\"national_id\": \"85073003329\", "
			   "\"records\": []}]}",
			   CF_P_INVALID_NATIONAL_ID, "subjects[0].national_id");
	expect_bad_dataset("{\"org\": \"o\", " COLLS ", \"subjects\": [{\"national_id\": 85073003328, "
			   "\"records\": []}]}",
			   CF_P_WRONG_TYPE, "national_id");
	expect_bad_dataset("{\"org\": \"o\", " COLLS ", \"subjects\": [{\"records\": []}]}", CF_P_MISSING_KEY,
			   "subjects[0]");
	expect_bad_dataset("{\"org\": \"o\", " COLLS ", \"subjects\": [{\"national_id\": \"85073003328\", "
			   "\"records\": {}}]}",
			   CF_P_WRONG_TYPE, "records");
	/* A record naming an undeclared collection. */
	expect_bad_dataset("{\"org\": \"o\", " COLLS ", " SUBJ(
		"{\"collection\": \"payments\", \"id\": \"r_1\", \"fields\": {\"name\": \"Dupont\"}}") "}",
			   CF_P_INVALID_VALUE, "collection 'payments' is not declared");
	expect_bad_dataset("{\"org\": \"o\", " COLLS ", " SUBJ(
		"{\"collection\": \"Dupont Emilie\", \"id\": \"r_1\", \"fields\": {}}") "}",
			   CF_P_INVALID_VALUE, "subjects[0].records[0]");
	expect_bad_dataset("{\"org\": \"o\", " COLLS ", " SUBJ(
		"{\"collection\": 3, \"id\": \"r_1\", \"fields\": {}}") "}",
			   CF_P_WRONG_TYPE, "collection");
	/* Non-object fields. */
	expect_bad_dataset("{\"org\": \"o\", " COLLS ", " SUBJ(
		"{\"collection\": \"people\", \"id\": \"r_1\", \"fields\": \"Dupont\"}") "}",
			   CF_P_WRONG_TYPE, "fields must be an object");
	expect_bad_dataset("{\"org\": \"o\", " COLLS ", " SUBJ(
		"{\"collection\": \"people\", \"id\": \"r_1\", \"fields\": [\"Dupont\"]}") "}",
			   CF_P_WRONG_TYPE, "fields must be an object");
	expect_bad_dataset("{\"org\": \"o\", " COLLS ", " SUBJ(
		"{\"collection\": \"people\", \"id\": \"r_1\", \"fields\": null}") "}",
			   CF_P_WRONG_TYPE, "fields");
	/* Records: missing, wrong or unknown keys, bad ids. */
	expect_bad_dataset("{\"org\": \"o\", " COLLS ", " SUBJ(
		"{\"collection\": \"people\", \"fields\": {}}") "}",
			   CF_P_MISSING_KEY, "subjects[0].records[0]");
	expect_bad_dataset("{\"org\": \"o\", " COLLS ", " SUBJ(
		"{\"collection\": \"people\", \"id\": \"r_1\", \"fields\": {}, \"x\": 1}") "}",
			   CF_P_UNKNOWN_KEY, "subjects[0].records[0]");
	expect_bad_dataset("{\"org\": \"o\", " COLLS ", " SUBJ(
		"{\"collection\": \"people\", \"id\": 1, \"fields\": {}}") "}",
			   CF_P_WRONG_TYPE, "id");
	expect_bad_dataset("{\"org\": \"o\", " COLLS ", " SUBJ(
		"{\"collection\": \"people\", \"id\": \"\", \"fields\": {}}") "}",
			   CF_P_INVALID_VALUE, "id");
	/* Field values: invalid, undeclared; the detail names collection and field. */
	expect_bad_dataset("{\"org\": \"o\", " COLLS ", " SUBJ(
		"{\"collection\": \"people\", \"id\": \"r_1\", \"fields\": {\"email\": \"not-an-email\"}}") "}",
			   CF_P_INVALID_VALUE, "(collection 'people'): field 'email'");
	expect_bad_dataset("{\"org\": \"o\", " COLLS ", " SUBJ(
		"{\"collection\": \"people\", \"id\": \"r_1\", \"fields\": {\"nid\": \"85073003329\"}}") "}",
			   CF_P_INVALID_NATIONAL_ID, "field 'nid'");
	expect_bad_dataset("{\"org\": \"o\", " COLLS ", " SUBJ(
		"{\"collection\": \"people\", \"id\": \"r_1\", \"fields\": {\"income\": \"4250000\"}}") "}",
			   CF_P_WRONG_TYPE, "field 'income'");
	expect_bad_dataset("{\"org\": \"o\", " COLLS ", " SUBJ(
		"{\"collection\": \"people\", \"id\": \"r_1\", \"fields\": {\"salary\": 4250000}}") "}",
			   CF_P_UNKNOWN_KEY, "field 'salary'");
	expect_bad_dataset("{\"org\": \"o\", " COLLS ", " SUBJ(
		"{\"collection\": \"people\", \"id\": \"r_1\", \"fields\": {\"name\": null}}") "}",
			   CF_P_WRONG_TYPE, "field 'name'");
	/* A value with no possible synthetic form, found while generating. */
	expect_bad_dataset("{\"org\": \"o\", " COLLS ", " SUBJ(
		"{\"collection\": \"people\", \"id\": \"r_1\", \"fields\": {\"name\": \"- -\"}}") "}",
			   CF_P_INVALID_VALUE, "(collection 'people'): field 'name'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_refuses_no_random),
		cmocka_unit_test(test_derivation_known_key),
		cmocka_unit_test(test_string_many),
		cmocka_unit_test(test_string_pattern),
		cmocka_unit_test(test_integer_many),
		cmocka_unit_test(test_integer_edges),
		cmocka_unit_test(test_date_many),
		cmocka_unit_test(test_email_phone_postal_many),
		cmocka_unit_test(test_nid_many),
		cmocka_unit_test(test_nid_refused),
		cmocka_unit_test(test_boolean_enum_random),
		cmocka_unit_test(test_consistency),
		cmocka_unit_test(test_impossible_and_invalid),
		cmocka_unit_test(test_id),
		cmocka_unit_test(test_dataset),
		cmocka_unit_test(test_dataset_nids_distinct),
		cmocka_unit_test(test_dataset_avoids_source_nids),
		cmocka_unit_test(test_dataset_bad_shapes),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
