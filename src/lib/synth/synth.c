/*
 * synth.c - synthetic, format-valid values for non-production datasets (see
 * synth.h): keyed derivation of a seed per (type, source value), generators
 * per field type, national identifiers and opaque ids, and the whole-dataset
 * transformation with its shuffle.
 *
 * This file must never output, log or keep the per-export key beyond the
 * cf_synth; never put a source value (nor a synthetic one) in an error
 * detail; never return a synthetic value equal to its source; never derive a
 * boolean or an enum value from its source; and must wipe every buffer it
 * filled with a source value (or with bytes derived from one) before freeing
 * it.
 */
#include "common/cf.h"
#include "synth/synth.h"

#include "common/json.h"

#include <sodium.h>

#define SEED_LEN 32            /* BLAKE2b-256 output = ChaCha20 seed of randombytes_buf_deterministic */
#define HEX_SEED_LEN (2 * SEED_LEN + 1)
#define DRAW_BYTES 8           /* one uniform draw consumes a 64-bit word of the expansion */
#define DRAW_SLACK 16          /* extra draws for rejection sampling */
#define DATE_SPAN_DAYS 1095    /* 3 * 365: always within three years of the source */
#define DATE_TEXT_LEN 11       /* "YYYY-MM-DD" + NUL */
#define INT_TEXT_LEN 24        /* "-9223372036854775808" + NUL */
#define NID_DIGITS 11
#define NID_FIRST_YEAR 1930
#define NID_LAST_YEAR 2019
#define NID_SEQ_MAX 997
#define EMAIL_LOCAL_LEN 10
#define EMAIL_DOMAIN "@example.invalid" /* RFC 2606 reserved TLD */
#define PHONE_PREFIX "+32 4"
#define PHONE_DIGITS 8
#define POSTAL_DIGITS 4
#define ID_RAW_LEN 16          /* 128 bits -> 22 base64url characters */
#define RECORD_ID_PREFIX "r_"
#define DATASET_FORMAT "coffre-pseudonymized-dataset/1"
#define WHERE_LEN 160          /* "subjects[i].records[j] (collection 'NAME')" */

_Static_assert(crypto_generichash_BYTES == SEED_LEN, "BLAKE2b-256");
_Static_assert(randombytes_SEEDBYTES == SEED_LEN, "the seed of randombytes_buf_deterministic");
_Static_assert(CF_SYNTH_KEY_LEN >= crypto_generichash_KEYBYTES_MIN &&
		       CF_SYNTH_KEY_LEN <= crypto_generichash_KEYBYTES_MAX,
	       "a BLAKE2b key length");
_Static_assert(sodium_base64_ENCODED_LEN(ID_RAW_LEN, sodium_base64_VARIANT_URLSAFE_NO_PADDING) ==
		       CF_SYNTH_ID_B64_LEN + 1,
	       "22 base64url characters");
_Static_assert(CF_SYNTH_TRIES < (1 << 24), "a counter's big-endian form starts with a NUL byte");

struct cf_synth {
	const cf_env *env;  /* random booleans and enum values */
	unsigned char *key; /* CF_SYNTH_KEY_LEN bytes, sodium_malloc'd, read-only once drawn */
	/* cf_synth_dataset only (NULL otherwise), so that identifiers stay distinct: */
	json_t *nid_memo; /* hex(seed of a source NID) -> its synthetic NID */
	json_t *nid_used; /* synthetic NID -> true */
	json_t *nid_src;  /* hex(seed of each source NID of the dataset) -> true */
};

/* ---- keyed derivation -------------------------------------------------- */

/*
 * seed = BLAKE2b-256 keyed with the export key over
 * (tname, 0x00, [prefix, 0x00,] v, [counter as 4 bytes big-endian when > 0]).
 * The framing is unambiguous: tname and prefix contain no NUL, no source
 * value contains one (callers check), and a counter's first byte is a NUL.
 * Fails only if libsodium refuses its parameters (CF_ECRYPTO).
 */
static cf_rc derive(const cf_synth *s, const char *tname, const char *prefix, const void *v, size_t vlen,
		    uint32_t counter, uint8_t seed[SEED_LEN])
{
	static const uint8_t zero = 0;
	crypto_generichash_state st;
	uint8_t ctr[4];
	int r;

	r = crypto_generichash_init(&st, s->key, CF_SYNTH_KEY_LEN, SEED_LEN);
	r |= crypto_generichash_update(&st, (const uint8_t *)tname, strlen(tname));
	r |= crypto_generichash_update(&st, &zero, 1);
	if (prefix != NULL) {
		r |= crypto_generichash_update(&st, (const uint8_t *)prefix, strlen(prefix));
		r |= crypto_generichash_update(&st, &zero, 1);
	}
	r |= crypto_generichash_update(&st, (const uint8_t *)v, vlen);
	if (counter > 0) {
		ctr[0] = (uint8_t)(counter >> 24);
		ctr[1] = (uint8_t)(counter >> 16);
		ctr[2] = (uint8_t)(counter >> 8);
		ctr[3] = (uint8_t)counter;
		r |= crypto_generichash_update(&st, ctr, sizeof(ctr));
	}
	r |= crypto_generichash_final(&st, seed, SEED_LEN);
	sodium_memzero(&st, sizeof(st));
	return r == 0 ? CF_OK : CF_ECRYPTO;
}

/* ---- deterministic draws ------------------------------------------------ */

/* The expansion of one seed, consumed as 64-bit words. */
typedef struct stream {
	uint8_t *buf;
	size_t len, pos;
} stream;

/* Allocates st->buf (stream_close wipes and frees it) for `draws` draws plus slack. */
static cf_rc stream_open(stream *st, const uint8_t seed[SEED_LEN], size_t draws)
{
	size_t n;

	st->buf = NULL;
	st->len = st->pos = 0;
	if (!cf_size_add(draws, DRAW_SLACK, &n) || !cf_size_mul(n, DRAW_BYTES, &n))
		return CF_ETOOBIG;
	st->buf = malloc(n);
	if (st->buf == NULL)
		return CF_ENOMEM;
	randombytes_buf_deterministic(st->buf, n, seed);
	st->len = n;
	return CF_OK;
}

static void stream_close(stream *st)
{
	if (st->buf != NULL) {
		sodium_memzero(st->buf, st->len);
		free(st->buf);
	}
	st->buf = NULL;
	st->len = st->pos = 0;
}

static uint64_t load64(const uint8_t b[DRAW_BYTES])
{
	uint64_t x = 0;

	for (size_t i = 0; i < DRAW_BYTES; i++)
		x = (x << 8) | b[i];
	return x;
}

/* Uniform in [0, n), n > 0, by rejection; false when the stream runs out (the caller re-derives). */
static bool stream_below(stream *st, uint64_t n, uint64_t *out)
{
	uint64_t floor;

	CF_ASSERT(n > 0);
	floor = (UINT64_C(0) - n) % n; /* 2^64 mod n: words below it would bias the result */
	while (st->len - st->pos >= DRAW_BYTES) {
		uint64_t x = load64(st->buf + st->pos);

		st->pos += DRAW_BYTES;
		if (x >= floor) {
			*out = x % n;
			return true;
		}
	}
	return false;
}

/* Uniform in [0, n) from the env random source; CF_ECRYPTO if it keeps returning biased words. */
static cf_rc env_below(const cf_env *env, uint64_t n, uint64_t *out, cf_err *err)
{
	uint64_t floor;
	uint8_t b[DRAW_BYTES];

	CF_ASSERT(n > 0);
	floor = (UINT64_C(0) - n) % n;
	for (int i = 0; i < CF_SYNTH_TRIES; i++) {
		uint64_t x;

		cf_random(env, b, sizeof(b));
		x = load64(b);
		if (x >= floor) {
			*out = x % n;
			return CF_OK;
		}
	}
	return cf_err_set(err, CF_ECRYPTO, CF_P_INTERNAL, "the random source returned unusable bytes");
}

/* ---- calendar (proleptic Gregorian, days since 1970-01-01) --------------- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2 ? 1 : 0;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153u * (m > 2 ? m - 3u : m + 9u) + 2u) / 5u + d - 1u;
	doe = yoe * 365u + yoe / 4u - yoe / 100u + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460u + doe / 36524u - doe / 146096u) / 365u;
	doy = doe - (365u * yoe + yoe / 4u - yoe / 100u);
	mp = (5u * doy + 2u) / 153u;
	*d = doy - (153u * mp + 2u) / 5u + 1u;
	*m = mp < 10u ? mp + 3u : mp - 9u;
	*y = (int64_t)yoe + era * 400 + (*m <= 2u ? 1 : 0);
}

static unsigned digits_at(const char *s, size_t n)
{
	unsigned v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 10u + (unsigned)(s[i] - '0');
	return v;
}

/* ---- generators ----------------------------------------------------------- */

/* What a derived generator needs from the source and its declaration. */
typedef struct gen_in {
	cf_field_type type;
	const char *str; /* string-typed source (borrowed) */
	size_t len;
	size_t draws;    /* draws one candidate needs */
	json_int_t v, lo, hi; /* integer: the source and its range */
	int64_t day, dlo, dhi; /* date: the source day and its window */
} gen_in;

static bool is_lower(unsigned char ch) { return ch >= 'a' && ch <= 'z'; }
static bool is_upper(unsigned char ch) { return ch >= 'A' && ch <= 'Z'; }
static bool is_digit(unsigned char ch) { return ch >= '0' && ch <= '9'; }

/* Characters the string generator replaces: ASCII letters and digits, and each non-ASCII character. */
static size_t replaceable(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (is_lower(ch) || is_upper(ch) || is_digit(ch) || (ch >= 0x80 && (ch & 0xC0u) != 0x80))
			n++;
	}
	return n;
}

/*
 * Same shape: a letter by a letter of the same case, a digit by a digit,
 * other ASCII kept, each non-ASCII character (its lead byte; continuation
 * bytes are dropped) by one lowercase letter, so the length in characters is
 * kept. out has room for len + 1 bytes. False when the stream ran out.
 */
static bool gen_string(stream *st, const char *in, size_t len, char *out, size_t *outlen)
{
	size_t n = 0;
	uint64_t r;

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)in[i];

		if (is_upper(ch)) {
			if (!stream_below(st, 26, &r))
				return false;
			out[n++] = (char)('A' + r);
		} else if (is_lower(ch) || (ch >= 0x80 && (ch & 0xC0u) != 0x80)) {
			if (!stream_below(st, 26, &r))
				return false;
			out[n++] = (char)('a' + r);
		} else if (is_digit(ch)) {
			if (!stream_below(st, 10, &r))
				return false;
			out[n++] = (char)('0' + r);
		} else if (ch < 0x80) {
			out[n++] = (char)ch;
		}
	}
	out[n] = '\0';
	*outlen = n;
	return true;
}

/* Fills `n` characters of out from [base, base + range). False when the stream ran out. */
static bool gen_chars(stream *st, char *out, size_t n, char base, uint64_t range)
{
	uint64_t r;

	for (size_t i = 0; i < n; i++) {
		if (!stream_below(st, range, &r))
			return false;
		out[i] = (char)(base + (char)r);
	}
	return true;
}

/*
 * One candidate from the seed. *cand is NULL when the stream ran out (the
 * caller re-derives); CF_ENOMEM when the value cannot be allocated.
 */
static cf_rc gen_candidate(const gen_in *g, const uint8_t seed[SEED_LEN], json_t **cand)
{
	stream st;
	char small[64];
	char *buf = NULL;
	size_t n = 0;
	uint64_t r;
	bool ok = false;
	cf_rc rc;

	*cand = NULL;
	rc = stream_open(&st, seed, g->draws);
	if (rc != CF_OK)
		return rc;
	switch (g->type) {
	case CF_FT_STRING: {
		size_t sz;

		if (!cf_size_add(g->len, 1, &sz)) {
			rc = CF_ETOOBIG;
			break;
		}
		buf = malloc(sz);
		if (buf == NULL) {
			rc = CF_ENOMEM;
			break;
		}
		ok = gen_string(&st, g->str, g->len, buf, &n);
		if (ok)
			*cand = json_stringn(buf, n);
		sodium_memzero(buf, sz);
		free(buf);
		break;
	}
	case CF_FT_INTEGER: {
		uint64_t others = (uint64_t)g->hi - (uint64_t)g->lo; /* values in [lo, hi] other than v */
		uint64_t skip = (uint64_t)g->v - (uint64_t)g->lo;

		ok = stream_below(&st, others, &r);
		if (ok) {
			if (r >= skip)
				r++;
			*cand = json_integer((json_int_t)((uint64_t)g->lo + r));
		}
		break;
	}
	case CF_FT_DATE: {
		int64_t y, day;
		unsigned m, d;

		ok = stream_below(&st, (uint64_t)(g->dhi - g->dlo), &r);
		if (ok) {
			day = g->dlo + (int64_t)r;
			if (day >= g->day)
				day++;
			civil_from_days(day, &y, &m, &d);
			(void)snprintf(small, sizeof(small), "%04lld-%02u-%02u", (long long)y, m, d);
			*cand = json_string(small);
		}
		break;
	}
	case CF_FT_EMAIL:
		ok = gen_chars(&st, small, EMAIL_LOCAL_LEN, 'a', 26);
		if (ok) {
			memcpy(small + EMAIL_LOCAL_LEN, EMAIL_DOMAIN, sizeof(EMAIL_DOMAIN));
			*cand = json_string(small);
		}
		break;
	case CF_FT_PHONE:
		memcpy(small, PHONE_PREFIX, sizeof(PHONE_PREFIX) - 1);
		ok = gen_chars(&st, small + sizeof(PHONE_PREFIX) - 1, PHONE_DIGITS, '0', 10);
		if (ok) {
			small[sizeof(PHONE_PREFIX) - 1 + PHONE_DIGITS] = '\0';
			*cand = json_string(small);
		}
		break;
	case CF_FT_POSTAL_CODE:
		ok = gen_chars(&st, small, 1, '1', 9) && gen_chars(&st, small + 1, POSTAL_DIGITS - 1, '0', 10);
		if (ok) {
			small[POSTAL_DIGITS] = '\0';
			*cand = json_string(small);
		}
		break;
	default:
		CF_BUG("gen_candidate: not a derived type");
	}
	sodium_memzero(small, sizeof(small));
	stream_close(&st);
	if (rc == CF_OK && ok && *cand == NULL)
		rc = CF_ENOMEM;
	return rc;
}

/*
 * A valid national register number from the seed: birth date uniform in
 * 1930-2019, sequence 001-997, check digits for the birth century. False
 * when the stream ran out; CF_ENOMEM / CF_ETOOBIG as stream_open.
 */
static cf_rc gen_nid(const uint8_t seed[SEED_LEN], char out[CF_NID_LEN], bool *ok)
{
	int64_t first = days_from_civil(NID_FIRST_YEAR, 1, 1), last = days_from_civil(NID_LAST_YEAR, 12, 31);
	uint64_t rday, rseq, base, check;
	int64_t y;
	unsigned m, d;
	stream st;
	cf_rc rc;

	*ok = false;
	rc = stream_open(&st, seed, 2);
	if (rc != CF_OK)
		return rc;
	if (stream_below(&st, (uint64_t)(last - first + 1), &rday) && stream_below(&st, NID_SEQ_MAX, &rseq)) {
		civil_from_days(first + (int64_t)rday, &y, &m, &d);
		base = (uint64_t)(y % 100) * 10000000u + (uint64_t)m * 100000u + (uint64_t)d * 1000u + rseq + 1u;
		check = 97u - (y >= 2000 ? (2000000000u + base) % 97u : base % 97u);
		(void)snprintf(out, CF_NID_LEN, "%09llu%02llu", (unsigned long long)base, (unsigned long long)check);
		CF_ASSERT(cf_nid_be_valid(out));
		*ok = true;
	}
	stream_close(&st);
	return rc;
}

/* ---- helpers ------------------------------------------------------------ */

/* cf_collection_validate over {field: v}, partial; CF_EINVAL with its detail (field and rule), or CF_ENOMEM. */
static cf_rc check_one(const cf_collection *c, const char *field, json_t *v, cf_err *err)
{
	json_t *o = json_object();
	cf_rc rc;

	if (o == NULL || json_object_set(o, field, v) != 0) {
		json_decref(o);
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
	}
	rc = cf_collection_validate(c, o, true, err);
	json_decref(o);
	return rc;
}

static cf_rc oom(cf_err *err)
{
	return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
}

/* The error for a failure of derive / stream_open (never a value in it). */
static cf_rc internal_rc(cf_rc rc, cf_err *err)
{
	if (rc == CF_ENOMEM)
		return oom(err);
	if (rc == CF_ETOOBIG)
		return cf_err_set(err, CF_ETOOBIG, CF_P_TOO_LONG, "a value is too long to synthesize");
	return cf_err_set(err, rc, CF_P_INTERNAL, "the keyed derivation failed");
}

/* Default integer range [0, max(2|v|, 1000)] (mirrored below 0 for a negative v), narrowed by min/max. */
static void int_range(const json_t *fd, json_int_t v, json_int_t *lo, json_int_t *hi)
{
	const json_t *jmin = json_object_get(fd, "min"), *jmax = json_object_get(fd, "max");
	uint64_t mag = v < 0 ? UINT64_C(0) - (uint64_t)v : (uint64_t)v;
	uint64_t span = mag > (uint64_t)INT64_MAX / 2u ? (uint64_t)INT64_MAX : 2u * mag;

	if (span < 1000u)
		span = 1000u;
	*lo = v >= 0 ? 0 : -(json_int_t)span;
	*hi = (json_int_t)span;
	if (json_is_integer(jmin))
		*lo = json_integer_value(jmin);
	if (json_is_integer(jmax))
		*hi = json_integer_value(jmax);
	/* v is valid, so it lies within a declared bound; only INT64_MIN escapes the default one. */
	if (v < *lo)
		*lo = v;
	if (v > *hi)
		*hi = v;
}

/* ---- national identifiers ---------------------------------------------- */

/*
 * The synthetic identifier for a normalized source one, different from it.
 * Inside a dataset, also different from every other synthetic identifier and
 * from every source identifier, and memoized so the answer stays the same.
 */
static cf_rc nid_map(cf_synth *s, const char norm[CF_NID_LEN], char out[CF_NID_LEN], cf_err *err)
{
	uint8_t seed[SEED_LEN], cseed[SEED_LEN];
	char hk[HEX_SEED_LEN], ck[HEX_SEED_LEN], cand[CF_NID_LEN];
	const json_t *memo;
	bool ok;
	cf_rc rc;

	memset(out, 0, CF_NID_LEN);
	rc = derive(s, "national_id", NULL, norm, NID_DIGITS, 0, seed);
	if (rc != CF_OK) {
		rc = internal_rc(rc, err);
		goto out;
	}
	sodium_bin2hex(hk, sizeof(hk), seed, SEED_LEN);
	if (s->nid_memo != NULL && (memo = json_object_get(s->nid_memo, hk)) != NULL) {
		memcpy(out, json_string_value(memo), CF_NID_LEN);
		goto out;
	}
	rc = CF_EINVAL;
	for (uint32_t k = 0; k < CF_SYNTH_TRIES; k++) {
		cf_rc r;

		if (k > 0 && (r = derive(s, "national_id", NULL, norm, NID_DIGITS, k, seed)) != CF_OK) {
			rc = internal_rc(r, err);
			goto out;
		}
		if ((r = gen_nid(seed, cand, &ok)) != CF_OK) {
			rc = internal_rc(r, err);
			goto out;
		}
		if (!ok || memcmp(cand, norm, NID_DIGITS) == 0)
			continue;
		if (s->nid_memo != NULL) {
			if (json_object_get(s->nid_used, cand) != NULL)
				continue;
			if ((r = derive(s, "national_id", NULL, cand, NID_DIGITS, 0, cseed)) != CF_OK) {
				rc = internal_rc(r, err);
				goto out;
			}
			sodium_bin2hex(ck, sizeof(ck), cseed, SEED_LEN);
			if (json_object_get(s->nid_src, ck) != NULL)
				continue;
			if (json_object_set_new(s->nid_memo, hk, json_string(cand)) != 0 ||
			    json_object_set_new(s->nid_used, cand, json_true()) != 0) {
				rc = oom(err);
				goto out;
			}
		}
		memcpy(out, cand, CF_NID_LEN);
		rc = CF_OK;
		break;
	}
	if (rc == CF_EINVAL)
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				"no synthetic national identifier was found in %d tries", CF_SYNTH_TRIES);
out:
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(cseed, sizeof(cseed));
	sodium_memzero(hk, sizeof(hk));
	sodium_memzero(ck, sizeof(ck));
	sodium_memzero(cand, sizeof(cand));
	return rc;
}

cf_rc cf_synth_nid(cf_synth *s, const char *src, char out[CF_NID_LEN], cf_err *err)
{
	char norm[CF_NID_LEN];
	cf_rc rc;

	CF_ASSERT(s != NULL && out != NULL);
	memset(out, 0, CF_NID_LEN);
	rc = cf_nid_normalize(src, norm, err);
	if (rc != CF_OK)
		goto out;
	rc = nid_map(s, norm, out, err);
out:
	sodium_memzero(norm, sizeof(norm));
	return rc;
}

/* ---- values ------------------------------------------------------------- */

/* The derived types: string, integer, date, email, phone, postal code. src has been validated. */
static cf_rc synth_derived(cf_synth *s, const cf_collection *c, cf_field_type t, const json_t *fd,
			   const char *field, json_t *src, json_t **out, cf_err *err)
{
	char text[INT_TEXT_LEN];
	uint8_t seed[SEED_LEN];
	const char *v = NULL;
	size_t vlen = 0;
	gen_in g;
	cf_rc rc = CF_OK;

	memset(&g, 0, sizeof(g));
	g.type = t;
	if (t == CF_FT_INTEGER) {
		g.v = json_integer_value(src);
		(void)snprintf(text, sizeof(text), "%lld", (long long)g.v);
		v = text;
		vlen = strlen(text);
		int_range(fd, g.v, &g.lo, &g.hi);
		g.draws = 1;
		if (g.lo == g.hi) {
			rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
					"field '%s': no synthetic value can differ from the source", field);
			goto out;
		}
	} else {
		v = json_string_value(src);
		vlen = json_string_length(src);
		g.str = v;
		g.len = vlen;
		switch (t) {
		case CF_FT_STRING:
			g.draws = replaceable(v, vlen);
			if (g.draws == 0) {
				rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
						"field '%s': no synthetic value can differ from the source", field);
				goto out;
			}
			break;
		case CF_FT_DATE:
			/* Validated: "YYYY-MM-DD", years 0001-9999. */
			g.day = days_from_civil(digits_at(v, 4), digits_at(v + 5, 2), digits_at(v + 8, 2));
			g.dlo = g.day - DATE_SPAN_DAYS;
			g.dhi = g.day + DATE_SPAN_DAYS;
			if (g.dlo < days_from_civil(1, 1, 1))
				g.dlo = days_from_civil(1, 1, 1);
			if (g.dhi > days_from_civil(9999, 12, 31))
				g.dhi = days_from_civil(9999, 12, 31);
			g.draws = 1;
			break;
		case CF_FT_EMAIL:
			g.draws = EMAIL_LOCAL_LEN;
			break;
		case CF_FT_PHONE:
			g.draws = PHONE_DIGITS;
			break;
		case CF_FT_POSTAL_CODE:
			g.draws = POSTAL_DIGITS;
			break;
		default:
			CF_BUG("synth_derived: not a derived type");
		}
	}
	if (memchr(v, '\0', vlen) != NULL) { /* the seed framing needs NUL-free values (validated anyway) */
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "field '%s' contains a NUL byte", field);
		goto out;
	}

	rc = CF_EINVAL;
	for (uint32_t k = 0; k < CF_SYNTH_TRIES; k++) {
		json_t *cand = NULL;
		cf_rc r;

		r = derive(s, cf_field_type_name(t), NULL, v, vlen, k, seed);
		if (r == CF_OK)
			r = gen_candidate(&g, seed, &cand);
		if (r != CF_OK) {
			rc = internal_rc(r, err);
			goto out;
		}
		if (cand == NULL)
			continue;
		if (!json_equal(cand, src) && check_one(c, field, cand, NULL) == CF_OK) {
			*out = cand;
			rc = CF_OK;
			break;
		}
		json_decref(cand);
	}
	if (rc == CF_EINVAL)
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				"field '%s': no synthetic value valid for its declaration was found in %d tries", field,
				CF_SYNTH_TRIES);
out:
	sodium_memzero(text, sizeof(text));
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(&g, sizeof(g));
	return rc;
}

/*
 * cf_synth_value with the collection's declared fields already at hand
 * (fields_decl = "fields" of cf_collection_to_json(c)). src is validated
 * here; *out is a new reference on success.
 */
static cf_rc synth_value_decl(cf_synth *s, const cf_collection *c, const json_t *fields_decl, const char *field,
			      json_t *src, json_t **out, cf_err *err)
{
	const cf_field *f;
	const json_t *fd;
	json_t *v = NULL;
	uint64_t r = 0;
	cf_rc rc;

	*out = NULL;
	if (!cf_name_valid(field))
		return cf_err_set(err, CF_EINVAL, CF_P_UNKNOWN_KEY, "a field name is not declared in collection '%s'",
				  cf_collection_name(c));
	f = cf_collection_field(c, field);
	fd = json_object_get(fields_decl, field);
	if (f == NULL || fd == NULL)
		return cf_err_set(err, CF_EINVAL, CF_P_UNKNOWN_KEY, "field '%s' is not declared in collection '%s'",
				  field, cf_collection_name(c));
	rc = check_one(c, field, src, err);
	if (rc != CF_OK)
		return rc;

	switch (cf_field_type_of(f)) {
	case CF_FT_BOOLEAN:
		/* Random, not derived: a mapping of a two-value type would reveal the source. */
		rc = env_below(s->env, 2, &r, err);
		if (rc != CF_OK)
			return rc;
		v = json_boolean(r == 1);
		break;
	case CF_FT_ENUM: {
		const json_t *values = json_object_get(fd, "values");
		size_t n = json_array_size(values);

		if (n == 0)
			return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "field '%s': an enum without values", field);
		rc = env_below(s->env, n, &r, err);
		if (rc != CF_OK)
			return rc;
		v = json_copy(json_array_get(values, (size_t)r));
		break;
	}
	case CF_FT_NATIONAL_ID: {
		char norm[CF_NID_LEN], syn[CF_NID_LEN];

		rc = cf_nid_normalize(json_string_value(src), norm, err);
		if (rc == CF_OK)
			rc = nid_map(s, norm, syn, err);
		if (rc == CF_OK)
			v = json_string(syn);
		sodium_memzero(norm, sizeof(norm));
		if (rc != CF_OK) {
			cf_err_prefix(err, field);
			return rc;
		}
		break;
	}
	default:
		return synth_derived(s, c, cf_field_type_of(f), fd, field, src, out, err);
	}
	if (v == NULL)
		return oom(err);
	rc = check_one(c, field, v, err);
	if (rc != CF_OK) {
		json_decref(v);
		return rc;
	}
	*out = v;
	return CF_OK;
}

cf_rc cf_synth_value(cf_synth *s, const cf_collection *c, const char *field, const json_t *src, json_t **out,
		     cf_err *err)
{
	json_t *decl = NULL, *copy = NULL;
	cf_rc rc;

	CF_ASSERT(s != NULL && c != NULL && out != NULL);
	*out = NULL;
	if (field == NULL || src == NULL)
		return cf_err_set(err, CF_EINVAL, CF_P_MISSING_KEY, "a field name and a source value are required");
	decl = cf_collection_to_json(c);
	copy = json_deep_copy(src); /* the validator takes a mutable value; wiped below */
	if (decl == NULL || copy == NULL) {
		rc = oom(err);
		goto out;
	}
	rc = synth_value_decl(s, c, json_object_get(decl, "fields"), field, copy, out, err);
out:
	cf_json_wipe(copy);
	json_decref(copy);
	json_decref(decl);
	return rc;
}

/* ---- opaque ids --------------------------------------------------------- */

static bool prefix_valid(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)p[i];

		if (!is_lower(ch) && !is_upper(ch) && !is_digit(ch) && ch != '_' && ch != '-')
			return false;
	}
	return true;
}

cf_rc cf_synth_id(cf_synth *s, const char *prefix, const char *src, char *out, size_t outsize, cf_err *err)
{
	uint8_t seed[SEED_LEN], raw[ID_RAW_LEN];
	char b64[CF_SYNTH_ID_B64_LEN + 1];
	size_t plen, slen, need;
	cf_rc rc = CF_EINVAL;

	CF_ASSERT(s != NULL);
	if (out != NULL && outsize > 0)
		out[0] = '\0';
	if (prefix == NULL || (plen = strnlen(prefix, CF_SYNTH_PREFIX_MAX + 1)) > CF_SYNTH_PREFIX_MAX ||
	    !prefix_valid(prefix, plen))
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "an id prefix is at most %d of [A-Za-z0-9_-]",
				  CF_SYNTH_PREFIX_MAX);
	if (src == NULL || (slen = strnlen(src, CF_SYNTH_ID_SRC_MAX + 1)) == 0 || slen > CF_SYNTH_ID_SRC_MAX)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "a source id is 1 to %d bytes",
				  CF_SYNTH_ID_SRC_MAX);
	need = plen + CF_SYNTH_ID_B64_LEN + 1;
	if (out == NULL || outsize < need)
		return cf_err_set(err, CF_ETOOBIG, CF_P_INTERNAL, "the id buffer needs %zu bytes", need);

	for (uint32_t k = 0; k < CF_SYNTH_TRIES; k++) {
		cf_rc r = derive(s, "id", prefix, src, slen, k, seed);

		if (r != CF_OK) {
			rc = internal_rc(r, err);
			goto out;
		}
		randombytes_buf_deterministic(raw, sizeof(raw), seed);
		sodium_bin2base64(b64, sizeof(b64), raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		memcpy(out, prefix, plen);
		memcpy(out + plen, b64, sizeof(b64)); /* with its NUL */
		if (strcmp(out, src) != 0) {
			rc = CF_OK;
			break;
		}
	}
	if (rc == CF_EINVAL) {
		out[0] = '\0';
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "no synthetic id was found in %d tries",
				CF_SYNTH_TRIES);
	}
out:
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(raw, sizeof(raw));
	return rc;
}

/* ---- lifecycle ---------------------------------------------------------- */

cf_rc cf_synth_new(const cf_env *env, cf_synth **out, cf_err *err)
{
	cf_synth *s = NULL;
	cf_rc rc = CF_OK;

	CF_ASSERT(out != NULL);
	*out = NULL;
	if (env == NULL || env->random == NULL)
		return cf_err_set(err, CF_EINVAL, CF_P_INTERNAL, "no random source");
	if (sodium_init() < 0)
		return cf_err_set(err, CF_ECRYPTO, CF_P_INTERNAL, "libsodium cannot initialise");
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		rc = oom(err);
		goto out;
	}
	s->env = env;
	s->key = sodium_malloc(CF_SYNTH_KEY_LEN);
	if (s->key == NULL) {
		rc = oom(err);
		goto out;
	}
	cf_random(env, s->key, CF_SYNTH_KEY_LEN);
	if (sodium_mprotect_readonly(s->key) != 0) {
		rc = cf_err_set(err, CF_ECRYPTO, CF_P_INTERNAL, "the key cannot be protected");
		goto out;
	}
	*out = s;
	s = NULL;
out:
	cf_synth_free(s);
	return rc;
}

void cf_synth_free(cf_synth *s)
{
	if (s == NULL)
		return;
	if (s->key != NULL) {
		(void)sodium_mprotect_readwrite(s->key);
		sodium_memzero(s->key, CF_SYNTH_KEY_LEN);
		sodium_free(s->key);
	}
	json_decref(s->nid_memo);
	json_decref(s->nid_used);
	json_decref(s->nid_src);
	free(s);
}

/* ---- the dataset -------------------------------------------------------- */

typedef struct coll {
	cf_collection *c;
	json_t *decl; /* cf_collection_to_json(c) */
} coll;

typedef struct dataset {
	json_t *src;      /* deep copy of the source (mutable for the validator); wiped at the end */
	json_t *colls_in; /* "collections" of src (borrowed) */
	json_t *subs_in;  /* "subjects" of src (borrowed) */
	coll *colls;
	size_t n_colls;
	json_t *index;    /* collection name -> index into colls */
	cf_synth *s;
} dataset;

static void dataset_release(dataset *d)
{
	for (size_t i = 0; i < d->n_colls; i++) {
		cf_collection_free(d->colls[i].c);
		json_decref(d->colls[i].decl);
	}
	free(d->colls);
	json_decref(d->index);
	cf_synth_free(d->s);
	cf_json_wipe(d->src);
	json_decref(d->src);
}

/* Parses every collection definition; allocates d->colls and d->index (released with d). */
static cf_rc load_collections(dataset *d, cf_err *err)
{
	const char *name;
	json_t *def;
	size_t n;
	cf_rc rc;

	if (!json_is_object(d->colls_in))
		return cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "collections must be an object");
	n = json_object_size(d->colls_in);
	if (n == 0)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "collections must declare at least one collection");
	if (n > CF_SYNTH_MAX_COLLECTIONS)
		return cf_err_set(err, CF_EINVAL, CF_P_TOO_LONG, "more than %d collections", CF_SYNTH_MAX_COLLECTIONS);
	d->colls = calloc(n, sizeof(*d->colls));
	d->index = json_object();
	if (d->colls == NULL || d->index == NULL)
		return oom(err);
	json_object_foreach(d->colls_in, name, def) {
		coll *k = &d->colls[d->n_colls];
		char what[WHERE_LEN];

		rc = cf_collection_parse(name, def, &k->c, err);
		if (rc != CF_OK) {
			if (cf_name_valid(name)) {
				(void)snprintf(what, sizeof(what), "collection '%s'", name);
				cf_err_prefix(err, what);
			}
			return rc;
		}
		d->n_colls++;
		k->decl = cf_collection_to_json(k->c);
		if (k->decl == NULL ||
		    json_object_set_new(d->index, name, json_integer((json_int_t)(d->n_colls - 1))) != 0)
			return oom(err);
	}
	return CF_OK;
}

/* The declared collection a record names, or NULL with the error set. */
static const coll *record_collection(const dataset *d, json_t *jname, const char *where, cf_err *err)
{
	const json_t *ix;
	const char *name;

	if (!json_is_string(jname)) {
		(void)cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "%s: collection must be a string", where);
		return NULL;
	}
	name = json_string_value(jname);
	if (strlen(name) != json_string_length(jname) || !cf_name_valid(name)) {
		(void)cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "%s: the collection is not declared", where);
		return NULL;
	}
	ix = json_object_get(d->index, name);
	if (ix == NULL) {
		(void)cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "%s: collection '%s' is not declared", where, name);
		return NULL;
	}
	return &d->colls[json_integer_value(ix)];
}

/* Adds the keyed hash of a source identifier to the dataset's set of source identifiers. */
static cf_rc note_source_nid(dataset *d, const char *src, const char *where, cf_err *err)
{
	char norm[CF_NID_LEN], hk[HEX_SEED_LEN];
	uint8_t seed[SEED_LEN];
	cf_rc rc;

	rc = cf_nid_normalize(src, norm, err);
	if (rc != CF_OK) {
		cf_err_prefix(err, where);
		goto out;
	}
	rc = derive(d->s, "national_id", NULL, norm, NID_DIGITS, 0, seed);
	if (rc != CF_OK) {
		rc = internal_rc(rc, err);
		goto out;
	}
	sodium_bin2hex(hk, sizeof(hk), seed, SEED_LEN);
	if (json_object_set_new(d->s->nid_src, hk, json_true()) != 0)
		rc = oom(err);
out:
	sodium_memzero(norm, sizeof(norm));
	sodium_memzero(hk, sizeof(hk));
	sodium_memzero(seed, sizeof(seed));
	return rc;
}

/* Strict shape of one record; notes the identifiers in its national_id fields. */
static cf_rc check_record(dataset *d, json_t *rec, const char *where, cf_err *err)
{
	json_t *jcoll = NULL, *jid = NULL, *jfields = NULL, *v;
	const coll *k;
	const char *key;
	char fwhere[WHERE_LEN + CF_NAME_MAX + 16];
	cf_rc rc;

	rc = cf_json_unpack(err, where, rec, "{s:o, s:o, s:o}", "collection", &jcoll, "id", &jid, "fields",
			    &jfields);
	if (rc != CF_OK)
		return rc;
	k = record_collection(d, jcoll, where, err);
	if (k == NULL)
		return CF_EINVAL;
	if (!json_is_string(jid))
		return cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "%s: id must be a string", where);
	if (json_string_length(jid) == 0 || json_string_length(jid) > CF_SYNTH_ID_SRC_MAX ||
	    strlen(json_string_value(jid)) != json_string_length(jid))
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "%s: id must be 1 to %d bytes without NUL", where,
				  CF_SYNTH_ID_SRC_MAX);
	if (!json_is_object(jfields))
		return cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "%s: fields must be an object", where);
	(void)snprintf(fwhere, sizeof(fwhere), "%s (collection '%s')", where, cf_collection_name(k->c));
	rc = cf_collection_validate(k->c, jfields, true, err);
	if (rc != CF_OK) {
		cf_err_prefix(err, fwhere);
		return rc;
	}
	json_object_foreach(jfields, key, v) {
		const cf_field *f = cf_collection_field(k->c, key);

		if (f != NULL && cf_field_type_of(f) == CF_FT_NATIONAL_ID) {
			rc = note_source_nid(d, json_string_value(v), fwhere, err);
			if (rc != CF_OK)
				return rc;
		}
	}
	return CF_OK;
}

/* Pass 1: every subject and record is well formed; every source identifier is noted. */
static cf_rc check_subjects(dataset *d, cf_err *err)
{
	json_t *sub, *rec;
	size_t i, j;
	cf_rc rc;

	if (!json_is_array(d->subs_in))
		return cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "subjects must be an array");
	if (json_array_size(d->subs_in) > CF_SYNTH_MAX_SUBJECTS)
		return cf_err_set(err, CF_EINVAL, CF_P_TOO_LONG, "more than %d subjects", CF_SYNTH_MAX_SUBJECTS);
	json_array_foreach(d->subs_in, i, sub) {
		json_t *jnid = NULL, *jrecs = NULL;
		char where[WHERE_LEN];

		(void)snprintf(where, sizeof(where), "subjects[%zu]", i);
		rc = cf_json_unpack(err, where, sub, "{s:o, s:o}", "national_id", &jnid, "records", &jrecs);
		if (rc != CF_OK)
			return rc;
		if (!json_is_string(jnid))
			return cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "%s: national_id must be a string", where);
		(void)snprintf(where, sizeof(where), "subjects[%zu].national_id", i);
		rc = note_source_nid(d, json_string_value(jnid), where, err);
		if (rc != CF_OK)
			return rc;
		if (!json_is_array(jrecs))
			return cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "subjects[%zu]: records must be an array", i);
		if (json_array_size(jrecs) > CF_SYNTH_MAX_RECORDS)
			return cf_err_set(err, CF_EINVAL, CF_P_TOO_LONG, "subjects[%zu]: more than %d records", i,
					  CF_SYNTH_MAX_RECORDS);
		json_array_foreach(jrecs, j, rec) {
			(void)snprintf(where, sizeof(where), "subjects[%zu].records[%zu]", i, j);
			rc = check_record(d, rec, where, err);
			if (rc != CF_OK)
				return rc;
		}
	}
	return CF_OK;
}

/* json_object_set_new that remembers a failure (jansson steals v either way). */
static void put(json_t *o, const char *key, json_t *v, bool *ok)
{
	if (v == NULL || json_object_set_new(o, key, v) != 0)
		*ok = false;
}

/* Pass 2, one record (already checked); *out is a new reference. */
static cf_rc synth_record(dataset *d, json_t *rec, const char *where, json_t **out, cf_err *err)
{
	const coll *k = &d->colls[json_integer_value(
		json_object_get(d->index, json_string_value(json_object_get(rec, "collection"))))];
	json_t *jfields = json_object_get(rec, "fields"), *o = json_object(), *fields = json_object(), *v, *nv;
	char id[CF_SYNTH_PREFIX_MAX + CF_SYNTH_ID_B64_LEN + 1];
	char fwhere[WHERE_LEN + CF_NAME_MAX + 16];
	const char *key;
	bool ok = o != NULL && fields != NULL;
	cf_rc rc = CF_OK;

	*out = NULL;
	(void)snprintf(fwhere, sizeof(fwhere), "%s (collection '%s')", where, cf_collection_name(k->c));
	if (!ok) {
		rc = oom(err);
		goto out;
	}
	rc = cf_synth_id(d->s, RECORD_ID_PREFIX, json_string_value(json_object_get(rec, "id")), id, sizeof(id), err);
	if (rc != CF_OK) {
		cf_err_prefix(err, fwhere);
		goto out;
	}
	json_object_foreach(jfields, key, v) {
		rc = synth_value_decl(d->s, k->c, json_object_get(k->decl, "fields"), key, v, &nv, err);
		if (rc != CF_OK) {
			cf_err_prefix(err, fwhere);
			goto out;
		}
		put(fields, key, nv, &ok);
	}
	put(o, "collection", json_string(cf_collection_name(k->c)), &ok);
	put(o, "id", json_string(id), &ok);
	put(o, "fields", fields, &ok);
	fields = NULL;
	if (!ok) {
		rc = oom(err);
		goto out;
	}
	*out = o;
	o = NULL;
out:
	json_decref(fields);
	json_decref(o);
	return rc;
}

/* Pass 2: the synthetic subjects in source order; *out is a new array the caller owns. */
static cf_rc synth_subjects(dataset *d, json_t **out, cf_err *err)
{
	json_t *subs = json_array(), *o = NULL, *recs = NULL, *sub, *rec, *nr;
	char nid[CF_NID_LEN], where[WHERE_LEN];
	size_t i, j;
	bool ok;
	cf_rc rc = CF_OK;

	*out = NULL;
	if (subs == NULL) {
		rc = oom(err);
		goto out;
	}
	json_array_foreach(d->subs_in, i, sub) {
		o = json_object();
		recs = json_array();
		ok = o != NULL && recs != NULL;
		if (!ok) {
			rc = oom(err);
			goto out;
		}
		rc = cf_synth_nid(d->s, json_string_value(json_object_get(sub, "national_id")), nid, err);
		if (rc != CF_OK) {
			(void)snprintf(where, sizeof(where), "subjects[%zu].national_id", i);
			cf_err_prefix(err, where);
			goto out;
		}
		json_array_foreach(json_object_get(sub, "records"), j, rec) {
			(void)snprintf(where, sizeof(where), "subjects[%zu].records[%zu]", i, j);
			rc = synth_record(d, rec, where, &nr, err);
			if (rc != CF_OK)
				goto out;
			if (json_array_append_new(recs, nr) != 0) /* steals nr either way */
				ok = false;
		}
		put(o, "national_id", json_string(nid), &ok);
		put(o, "records", recs, &ok);
		recs = NULL;
		if (!ok) {
			rc = oom(err);
			goto out;
		}
		ok = json_array_append_new(subs, o) == 0; /* steals o either way */
		o = NULL;
		if (!ok) {
			rc = oom(err);
			goto out;
		}
	}
	*out = subs;
	subs = NULL;
out:
	sodium_memzero(nid, sizeof(nid));
	json_decref(recs);
	json_decref(o);
	json_decref(subs);
	return rc;
}

/*
 * Fisher-Yates with the env random source, so position does not link an
 * output subject to its source. Fails (CF_ECRYPTO, CF_ENOMEM) only if the
 * random source keeps returning unusable bytes or memory runs out.
 */
static cf_rc shuffle(const cf_env *env, json_t *a, cf_err *err)
{
	size_t n = json_array_size(a);
	uint64_t r = 0;
	cf_rc rc;

	for (size_t i = n; i > 1; i--) {
		json_t *x, *y;

		rc = env_below(env, i, &r, err);
		if (rc != CF_OK)
			return rc;
		if ((size_t)r == i - 1)
			continue;
		x = json_incref(json_array_get(a, i - 1));
		y = json_incref(json_array_get(a, (size_t)r));
		if (json_array_set_new(a, i - 1, y) != 0 || json_array_set_new(a, (size_t)r, x) != 0)
			return oom(err);
	}
	return CF_OK;
}

/* Allocates *out on success; on failure nothing is left allocated and no source value remains in memory we own. */
cf_rc cf_synth_dataset(const cf_env *env, const json_t *source, json_t **out, cf_err *err)
{
	dataset d;
	json_t *jorg = NULL, *subs = NULL, *result = NULL;
	bool ok = true;
	cf_rc rc;

	CF_ASSERT(out != NULL);
	*out = NULL;
	memset(&d, 0, sizeof(d));
	if (source == NULL) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_MALFORMED_JSON, "dataset: no source");
		goto out;
	}
	d.src = json_deep_copy(source);
	if (d.src == NULL) {
		rc = oom(err);
		goto out;
	}
	rc = cf_json_unpack(err, "dataset", d.src, "{s:o, s:o, s:o}", "org", &jorg, "collections", &d.colls_in,
			    "subjects", &d.subs_in);
	if (rc != CF_OK)
		goto out;
	if (!json_is_string(jorg)) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "dataset: org must be a string");
		goto out;
	}
	rc = load_collections(&d, err);
	if (rc != CF_OK)
		goto out;
	rc = cf_synth_new(env, &d.s, err);
	if (rc != CF_OK)
		goto out;
	d.s->nid_memo = json_object();
	d.s->nid_used = json_object();
	d.s->nid_src = json_object();
	if (d.s->nid_memo == NULL || d.s->nid_used == NULL || d.s->nid_src == NULL) {
		rc = oom(err);
		goto out;
	}
	rc = check_subjects(&d, err);
	if (rc != CF_OK)
		goto out;
	rc = synth_subjects(&d, &subs, err);
	if (rc != CF_OK)
		goto out;
	rc = shuffle(env, subs, err);
	if (rc != CF_OK)
		goto out;

	result = json_object();
	if (result == NULL) {
		rc = oom(err);
		goto out;
	}
	put(result, "format", json_string(DATASET_FORMAT), &ok);
	put(result, "pseudonymized", json_true(), &ok);
	put(result, "collections", json_deep_copy(d.colls_in), &ok);
	put(result, "subjects", subs, &ok);
	subs = NULL;
	if (!ok) {
		rc = oom(err);
		goto out;
	}
	*out = result;
	result = NULL;
out:
	json_decref(subs);
	json_decref(result);
	dataset_release(&d);
	return rc;
}
