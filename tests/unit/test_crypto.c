/*
 * test_crypto.c - the crypto module: AEAD and its refusals, key wrapping,
 * blind indexes and secret hashes against independent BLAKE2b vectors
 * (Python hashlib), Argon2id against a reference-implementation string,
 * RFC 4648 base64, tokens, the root key file and the passphrase seal.
 *
 * Must never depend on libsodium directly: everything goes through crypto.h.
 * test_password_defaults must stay first: it checks the built-in limits
 * before other tests lower them.
 */
#include "common/cf.h"
#include "crypto/crypto.h"

#include "common/json.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

/* libsodium's crypto_pwhash_OPSLIMIT_MIN / MEMLIMIT_MIN, kept here so the test need not include sodium.h. */
#define PW_OPS_MIN 1ULL
#define PW_MEM_MIN 8192U

/* ---- helpers ---------------------------------------------------------- */

static int64_t fixed_now(void *ctx)
{
	return 1700000000000000;
}

/* Fills with the byte ctx points to: predictable nonces, salts and tokens. */
static void fill_random(void *ctx, void *buf, size_t len)
{
	memset(buf, *(const uint8_t *)ctx, len);
}

static uint8_t fill_byte = 0xff;
static const cf_env fixed_env = {fixed_now, NULL, fill_random, &fill_byte};

static const uint8_t key_bytes[CF_KEY_LEN] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
					      11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
					      22, 23, 24, 25, 26, 27, 28, 29, 30, 31};

static cf_key *known_key(void)
{
	cf_key *k = cf_key_new_from_bytes(key_bytes, sizeof(key_bytes));
	assert_non_null(k);
	return k;
}

/*
 * A generator with a known stream, counting its calls: byte k of the
 * stream differs from bytes k - 256 and k + 256 (a pool of 256 bytes that
 * served its old bytes again would not pass for a fresh draw).
 */
typedef struct counting_rng {
	unsigned next;
	int calls;
	size_t last_len;
} counting_rng;

static uint8_t stream_byte(unsigned k)
{
	return (uint8_t)((uint8_t)(k * 131u) ^ (uint8_t)(k >> 8));
}

static void counting_random(void *ctx, void *buf, size_t len)
{
	counting_rng *r = ctx;
	uint8_t *b = buf;
	r->calls++;
	r->last_len = len;
	for (size_t i = 0; i < len; i++)
		b[i] = stream_byte(r->next++);
}

/* n bytes of counting_random's stream from position at */
static void assert_stream(const uint8_t *got, size_t n, unsigned at)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(got[i], stream_byte(at + (unsigned)i));
}

/* A fingerprint of a key through the public API (keys are opaque). */
static void fingerprint(const cf_key *k, char out[CF_HEX256_LEN])
{
	cf_blind_index(k, "email", "a@b.c", 5, out);
}

static bool same_key(const cf_key *a, const cf_key *b)
{
	char fa[CF_HEX256_LEN], fb[CF_HEX256_LEN];
	fingerprint(a, fa);
	fingerprint(b, fb);
	return strcmp(fa, fb) == 0;
}

static char tmpdir[64];

static int make_tmpdir(void **state)
{
	assert_int_equal(cf_snprintf(tmpdir, sizeof(tmpdir), "/tmp/cf-crypto-XXXXXX"), CF_OK);
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int remove_tmpdir(void **state)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	char p[256];

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		assert_int_equal(cf_snprintf(p, sizeof(p), "%s/%s", tmpdir, e->d_name), CF_OK);
		assert_int_equal(unlink(p), 0);
	}
	closedir(d);
	assert_int_equal(rmdir(tmpdir), 0);
	return 0;
}

static void tmp_path(char *out, size_t size, const char *name)
{
	assert_int_equal(cf_snprintf(out, size, "%s/%s", tmpdir, name), CF_OK);
}

static size_t read_small_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, size - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
	return (size_t)n;
}

static void write_small_file(const char *path, const char *content, mode_t mode)
{
	int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, mode);
	size_t len = strlen(content);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- passwords (defaults first) ---------------------------------------- */

static void test_password_defaults(void **state)
{
	char h[CF_PWHASH_STR_LEN];

	/* libsodium's INTERACTIVE: t=2, 64 MiB. */
	assert_int_equal(cf_password_hash("hunter2 hunter2", 15, h), CF_OK);
	assert_memory_equal(h, "$argon2id$v=19$m=65536,t=2,p=1$", 31);
	assert_int_equal(cf_password_verify(h, "hunter2 hunter2", 15), CF_OK);
	assert_int_equal(cf_password_verify(h, "hunter2 hunter3", 15), CF_EUNAUTH);
}

static void test_password_low_limits(void **state)
{
	char h[CF_PWHASH_STR_LEN], h2[CF_PWHASH_STR_LEN];

	cf_password_set_limits(PW_OPS_MIN, PW_MEM_MIN);
	assert_int_equal(cf_password_hash("pw", 2, h), CF_OK);
	assert_memory_equal(h, "$argon2id$v=19$m=8,t=1,p=1$", 27);
	assert_int_equal(cf_password_verify(h, "pw", 2), CF_OK);
	assert_int_equal(cf_password_verify(h, "pW", 2), CF_EUNAUTH);
	assert_int_equal(cf_password_verify(h, "pw", 1), CF_EUNAUTH);
	assert_int_equal(cf_password_verify(h, "pwx", 3), CF_EUNAUTH);
	assert_int_equal(cf_password_verify(h, "", 0), CF_EUNAUTH);
	/* Random salt: the same password never gives the same string. */
	assert_int_equal(cf_password_hash("pw", 2, h2), CF_OK);
	assert_string_not_equal(h, h2);
	/* Empty password hashes and verifies like any other. */
	assert_int_equal(cf_password_hash(NULL, 0, h2), CF_OK);
	assert_int_equal(cf_password_verify(h2, "", 0), CF_OK);
	assert_int_equal(cf_password_verify(h2, "x", 1), CF_EUNAUTH);
}

/* Made by the Argon2 reference implementation (libargon2, argon2id_hash_encoded), not by libsodium. */
static void test_password_reference_vector(void **state)
{
	static const char ref[] = "$argon2id$v=19$m=64,t=2,p=1$Y29mZnJlc2FsdHZlY3Rvcg$"
				  "YMLutVdh53Q7e6v/doN9UF6dNWiFRbr3Pf3ll96oL1A";
	static const char pw[] = "correct horse battery staple";
	char bad[sizeof(ref)];

	assert_int_equal(cf_password_verify(ref, pw, strlen(pw)), CF_OK);
	assert_int_equal(cf_password_verify(ref, pw, strlen(pw) - 1), CF_EUNAUTH);
	/*
	 * A genuine Argon2i string of the same password (argon2i_hash_encoded,
	 * t=3) that libsodium alone would accept: only Argon2id is ours.
	 */
	assert_int_equal(cf_password_verify("$argon2i$v=19$m=64,t=3,p=1$Y29mZnJlc2FsdHZlY3Rvcg$"
					    "OtMnhq1FYhJsJLkVewaqbrekv2lRrNgtioMX01GjNFc",
					    pw, strlen(pw)),
			 CF_EUNAUTH);
	/* One changed character of the tag. */
	memcpy(bad, ref, sizeof(ref));
	bad[sizeof(ref) - 2] = bad[sizeof(ref) - 2] == 'A' ? 'B' : 'A';
	assert_int_equal(cf_password_verify(bad, pw, strlen(pw)), CF_EUNAUTH);
}

static void test_password_garbage_hash(void **state)
{
	char unterminated[CF_PWHASH_STR_LEN];
	char h[CF_PWHASH_STR_LEN];
	char argon2i[CF_PWHASH_STR_LEN + 8];

	cf_password_set_limits(PW_OPS_MIN, PW_MEM_MIN);
	assert_int_equal(cf_password_verify("", "pw", 2), CF_EUNAUTH);
	assert_int_equal(cf_password_verify("not a hash", "pw", 2), CF_EUNAUTH);
	assert_int_equal(cf_password_verify("$argon2id$v=19$m=8,t=1,p=1$$", "pw", 2), CF_EUNAUTH);
	assert_int_equal(cf_password_verify("$argon2id$v=19$m=99999999999,t=1,p=1$c2FsdHNhbHQ$aGFzaA", "pw", 2),
			 CF_EUNAUTH);
	assert_int_equal(cf_password_verify(NULL, "pw", 2), CF_EUNAUTH);
	/* No NUL within the buffer: refused without reading past it. */
	memset(unterminated, 'a', sizeof(unterminated));
	assert_int_equal(cf_password_verify(unterminated, "pw", 2), CF_EUNAUTH);
	/* Only Argon2id strings verify, even a well-formed Argon2i one. */
	assert_int_equal(cf_password_hash("pw", 2, h), CF_OK);
	assert_int_equal(cf_snprintf(argon2i, sizeof(argon2i), "$argon2i$%s", h + strlen("$argon2id$")), CF_OK);
	assert_int_equal(cf_password_verify(argon2i, "pw", 2), CF_EUNAUTH);
}

static void test_password_length_cap(void **state)
{
	static char big[4097];
	char h[CF_PWHASH_STR_LEN];

	cf_password_set_limits(PW_OPS_MIN, PW_MEM_MIN);
	memset(big, 'p', sizeof(big));
	assert_int_equal(cf_password_hash(big, 4096, h), CF_OK);
	assert_int_equal(cf_password_verify(h, big, 4096), CF_OK);
	assert_int_equal(cf_password_hash(big, 4097, h), CF_ETOOBIG);
	assert_int_equal(cf_password_verify(h, big, 4097), CF_EUNAUTH);
}

static void test_password_dummy_verify_costs_a_verify(void **state)
{
	char h[CF_PWHASH_STR_LEN];
	double r = 1e9, d = 1e9, t;

	/* Enough work (8 MiB, t=2) for the timing to dominate noise. */
	cf_password_set_limits(2, 8U << 20);
	assert_int_equal(cf_password_hash("secret", 6, h), CF_OK);
	cf_password_dummy_verify("warm-up", 7); /* builds the dummy hash */
	/* the cost of each is its fastest run: a busy machine only ever adds time */
	for (int i = 0; i < 5; i++) {
		t = now_s();
		assert_int_equal(cf_password_verify(h, "wrong!", 6), CF_EUNAUTH);
		t = now_s() - t;
		r = t < r ? t : r;
		t = now_s();
		cf_password_dummy_verify("wrong!", 6);
		t = now_s() - t;
		d = t < d ? t : d;
	}
	assert_true(d > 0.5 * r);
	assert_true(d < 2.0 * r);
	cf_password_set_limits(PW_OPS_MIN, PW_MEM_MIN);
	cf_password_dummy_verify("after limits change", 19); /* rebuilt, no crash */
}

/* ---- AEAD ------------------------------------------------------------- */

static void test_aead_round_trip(void **state)
{
	cf_key *k = known_key();
	const uint8_t pt[] = "personal data: 1 85 05 78 006 084 36";
	const uint8_t ad[] = "record:42";
	uint8_t *ct = NULL, *ct2 = NULL, *back = NULL;
	size_t ctlen = 0, ct2len = 0, backlen = 0;

	assert_int_equal(cf_aead_seal(cf_env_system(), k, pt, sizeof(pt) - 1, ad, sizeof(ad) - 1, &ct, &ctlen), CF_OK);
	assert_int_equal(ctlen, sizeof(pt) - 1 + CF_AEAD_OVERHEAD);
	assert_int_equal(cf_aead_open(k, ct, ctlen, ad, sizeof(ad) - 1, &back, &backlen), CF_OK);
	assert_int_equal(backlen, sizeof(pt) - 1);
	assert_memory_equal(back, pt, backlen);
	assert_int_equal(back[backlen], 0);
	cf_wipe_free(back, backlen + 1);

	/* A fresh random nonce each time. */
	assert_int_equal(cf_aead_seal(cf_env_system(), k, pt, sizeof(pt) - 1, ad, sizeof(ad) - 1, &ct2, &ct2len),
			 CF_OK);
	assert_int_equal(ct2len, ctlen);
	assert_memory_not_equal(ct, ct2, CF_AEAD_NONCE_LEN);
	assert_memory_not_equal(ct + CF_AEAD_NONCE_LEN, ct2 + CF_AEAD_NONCE_LEN, ctlen - CF_AEAD_NONCE_LEN);
	free(ct2);

	/* The nonce comes from the injected env and leads the output. */
	fill_byte = 0xab;
	assert_int_equal(cf_aead_seal(&fixed_env, k, pt, sizeof(pt) - 1, NULL, 0, &ct2, &ct2len), CF_OK);
	for (size_t i = 0; i < CF_AEAD_NONCE_LEN; i++)
		assert_int_equal(ct2[i], 0xab);
	free(ct2);
	fill_byte = 0xff;

	free(ct);
	cf_key_free(k);
}

static void test_aead_empty_plaintext(void **state)
{
	cf_key *k = known_key();
	uint8_t *ct = NULL, *back = NULL;
	size_t ctlen = 0, backlen = 99;

	assert_int_equal(cf_aead_seal(cf_env_system(), k, NULL, 0, NULL, 0, &ct, &ctlen), CF_OK);
	assert_int_equal(ctlen, CF_AEAD_OVERHEAD);
	assert_int_equal(cf_aead_open(k, ct, ctlen, NULL, 0, &back, &backlen), CF_OK);
	assert_int_equal(backlen, 0);
	assert_non_null(back);
	assert_int_equal(back[0], 0);
	cf_wipe_free(back, backlen + 1);
	free(ct);
	cf_key_free(k);
}

static void expect_integrity(const cf_key *k, const uint8_t *ct, size_t ctlen, const uint8_t *ad, size_t adlen)
{
	uint8_t *back = (uint8_t *)"sentinel";
	size_t backlen = 7;

	assert_int_equal(cf_aead_open(k, ct, ctlen, ad, adlen, &back, &backlen), CF_EINTEGRITY);
	assert_null(back);
	assert_int_equal(backlen, 0);
}

static void test_aead_refusals(void **state)
{
	cf_key *k = known_key();
	cf_key *other = cf_key_new_random(cf_env_system());
	const uint8_t pt[] = "secret";
	uint8_t ad[] = "table=person;id=7";
	size_t adlen = sizeof(ad) - 1;
	uint8_t *ct = NULL;
	size_t ctlen = 0;

	assert_non_null(other);
	assert_int_equal(cf_aead_seal(cf_env_system(), k, pt, 6, ad, adlen, &ct, &ctlen), CF_OK);

	/* Changed AD byte. */
	ad[0] ^= 1;
	expect_integrity(k, ct, ctlen, ad, adlen);
	ad[0] ^= 1;
	/* Missing or shortened AD. */
	expect_integrity(k, ct, ctlen, NULL, 0);
	expect_integrity(k, ct, ctlen, ad, adlen - 1);
	/* Changed nonce, ciphertext and tag bytes. */
	size_t where[] = {0, CF_AEAD_NONCE_LEN - 1, CF_AEAD_NONCE_LEN, CF_AEAD_NONCE_LEN + 5, ctlen - CF_AEAD_TAG_LEN,
			  ctlen - 1};
	for (size_t i = 0; i < CF_ARRAY_LEN(where); i++) {
		ct[where[i]] ^= 0x80;
		expect_integrity(k, ct, ctlen, ad, adlen);
		ct[where[i]] ^= 0x80;
	}
	/* Wrong key. */
	expect_integrity(other, ct, ctlen, ad, adlen);
	/* Truncated, too short to hold nonce and tag, empty, NULL. */
	expect_integrity(k, ct, ctlen - 1, ad, adlen);
	expect_integrity(k, ct, CF_AEAD_OVERHEAD - 1, ad, adlen);
	expect_integrity(k, ct, 0, ad, adlen);
	expect_integrity(k, NULL, 0, ad, adlen);
	/* The untouched ciphertext still opens: the refusals above were not an accident. */
	{
		uint8_t *back = NULL;
		size_t backlen = 0;
		assert_int_equal(cf_aead_open(k, ct, ctlen, ad, adlen, &back, &backlen), CF_OK);
		assert_memory_equal(back, "secret", 6);
		cf_wipe_free(back, backlen + 1);
	}
	/* Caller mistakes. */
	{
		uint8_t *o = NULL;
		size_t olen = 0;
		assert_int_equal(cf_aead_seal(cf_env_system(), k, NULL, 3, NULL, 0, &o, &olen), CF_EINVAL);
		assert_null(o);
		assert_int_equal(cf_aead_seal(cf_env_system(), k, pt, 6, NULL, 3, &o, &olen), CF_EINVAL);
		assert_int_equal(cf_aead_seal(cf_env_system(), k, pt, SIZE_MAX - 10, NULL, 0, &o, &olen), CF_ETOOBIG);
		assert_null(o);
	}
	free(ct);
	cf_key_free(k);
	cf_key_free(other);
}

/* ---- keys ------------------------------------------------------------- */

static void test_key_new(void **state)
{
	uint8_t b[CF_KEY_LEN + 1] = {0};
	cf_key *r1 = cf_key_new_random(cf_env_system());
	cf_key *r2 = cf_key_new_random(cf_env_system());
	cf_key *f1, *f2;

	assert_non_null(r1);
	assert_non_null(r2);
	assert_false(same_key(r1, r2));
	assert_null(cf_key_new_from_bytes(b, CF_KEY_LEN - 1));
	assert_null(cf_key_new_from_bytes(b, CF_KEY_LEN + 1));
	assert_null(cf_key_new_from_bytes(NULL, CF_KEY_LEN));
	/* Injected randomness makes the key: all-0xff from the env equals all-0xff bytes. */
	f1 = cf_key_new_random(&fixed_env);
	memset(b, 0xff, CF_KEY_LEN);
	f2 = cf_key_new_from_bytes(b, CF_KEY_LEN);
	assert_non_null(f1);
	assert_non_null(f2);
	assert_true(same_key(f1, f2));
	cf_key_free(r1);
	cf_key_free(r2);
	cf_key_free(f1);
	cf_key_free(f2);
	cf_key_free(NULL);
}

static void test_key_derive(void **state)
{
	cf_key *m = known_key();
	cf_key *a = cf_key_derive(m, 7, "coffre01");
	cf_key *a2 = cf_key_derive(m, 7, "coffre01");
	cf_key *b = cf_key_derive(m, 8, "coffre01");
	cf_key *c = cf_key_derive(m, 7, "coffre02");
	char fp[CF_HEX256_LEN];

	assert_non_null(a);
	assert_non_null(a2);
	assert_non_null(b);
	assert_non_null(c);
	assert_true(same_key(a, a2));
	assert_false(same_key(a, b));
	assert_false(same_key(a, c));
	assert_false(same_key(a, m));
	/*
	 * Independent vector (Python hashlib): subkey = BLAKE2b-256(key=master,
	 * salt=LE64(7)||0^8, person="coffre01"||0^8), then the blind index of
	 * "email" || 0 || "a@b.c" under the subkey.
	 */
	fingerprint(a, fp);
	assert_string_equal(fp, "31491b5d2762087783ba8a9749f5415f095c92e961645769c1d80642c7132ee9");
	assert_null(cf_key_derive(NULL, 7, "coffre01"));
	cf_key_free(m);
	cf_key_free(a);
	cf_key_free(a2);
	cf_key_free(b);
	cf_key_free(c);
}

static void test_key_wrap(void **state)
{
	cf_key *kek = cf_key_new_random(cf_env_system());
	cf_key *other = cf_key_new_random(cf_env_system());
	cf_key *k = known_key();
	cf_key *back = NULL;
	uint8_t *w = NULL;
	size_t wlen = 0;

	assert_non_null(kek);
	assert_non_null(other);
	assert_int_equal(cf_key_wrap(cf_env_system(), kek, k, "dek:person", &w, &wlen), CF_OK);
	assert_int_equal(wlen, CF_KEY_LEN + CF_AEAD_OVERHEAD);
	assert_int_equal(cf_key_unwrap(kek, w, wlen, "dek:person", &back), CF_OK);
	assert_non_null(back);
	assert_true(same_key(back, k));
	cf_key_free(back);
	back = NULL;

	assert_int_equal(cf_key_unwrap(kek, w, wlen, "dek:address", &back), CF_EINTEGRITY);
	assert_null(back);
	assert_int_equal(cf_key_unwrap(kek, w, wlen, "", &back), CF_EINTEGRITY);
	assert_int_equal(cf_key_unwrap(other, w, wlen, "dek:person", &back), CF_EINTEGRITY);
	assert_int_equal(cf_key_unwrap(kek, w, wlen - 1, "dek:person", &back), CF_EINTEGRITY);
	w[30] ^= 4;
	assert_int_equal(cf_key_unwrap(kek, w, wlen, "dek:person", &back), CF_EINTEGRITY);
	assert_null(back);
	free(w);

	/* A sealed message of another length is not a key, even under the right KEK and label. */
	assert_int_equal(cf_aead_seal(cf_env_system(), kek, (const uint8_t *)"short", 5, (const uint8_t *)"dek:person",
				      10, &w, &wlen),
			 CF_OK);
	assert_int_equal(cf_key_unwrap(kek, w, wlen, "dek:person", &back), CF_EINTEGRITY);
	free(w);
	cf_key_free(kek);
	cf_key_free(other);
	cf_key_free(k);
}

/*
 * Unwrapped keys come from the locked pool (4096 slots) and, past it, from
 * guarded pages of their own: 5000 live at once all hold the right bytes,
 * a freed slot is reused, and keys stay distinct and usable.
 */
static void test_key_pool(void **state)
{
	enum { N = 5000 };
	cf_key *kek = cf_key_new_random(cf_env_system());
	cf_key *k = known_key();
	cf_key **keys = calloc(N, sizeof(*keys));
	uint8_t *w = NULL, *ct = NULL, *pt = NULL;
	size_t wlen = 0, ctlen = 0, ptlen = 0;

	assert_non_null(keys);
	assert_int_equal(cf_key_wrap(cf_env_system(), kek, k, "dek:pool", &w, &wlen), CF_OK);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < N; i++) {
			assert_int_equal(cf_key_unwrap(kek, w, wlen, "dek:pool", &keys[i]), CF_OK);
			assert_non_null(keys[i]);
		}
		for (int i = 0; i < N; i += 499)
			assert_true(same_key(keys[i], k));
		assert_true(same_key(keys[N - 1], k));
		/* one from the pool and one past it seal and open each other's messages */
		assert_int_equal(cf_aead_seal(cf_env_system(), keys[0], (const uint8_t *)"pool", 4, NULL, 0, &ct, &ctlen),
				 CF_OK);
		assert_int_equal(cf_aead_open(keys[N - 1], ct, ctlen, NULL, 0, &pt, &ptlen), CF_OK);
		assert_int_equal(ptlen, 4);
		assert_memory_equal(pt, "pool", 4);
		free(ct);
		cf_wipe_free(pt, ptlen + 1);
		for (int i = 0; i < N; i++)
			cf_key_free(keys[i]);
	}
	free(w);
	free(keys);
	cf_key_free(kek);
	cf_key_free(k);
}

/* ---- hashing ------------------------------------------------------------ */

static void test_blind_index(void **state)
{
	cf_key *k = known_key();
	cf_key *other = cf_key_new_random(cf_env_system());
	char a[CF_HEX256_LEN], b[CF_HEX256_LEN];

	assert_non_null(other);
	/* Independent vector: Python hashlib.blake2b(b"email\0a@b.c", digest_size=32, key=bytes(range(32))). */
	cf_blind_index(k, "email", "a@b.c", 5, a);
	assert_string_equal(a, "548d2b36582eba83f8666b59e4ef785d02a6080f189aaebc8fa6940a997ee12b");
	cf_blind_index(k, "email", "a@b.c", 5, b);
	assert_string_equal(a, b);
	cf_blind_index(other, "email", "a@b.c", 5, b);
	assert_string_not_equal(a, b);
	cf_blind_index(k, "phone", "a@b.c", 5, b);
	assert_string_not_equal(a, b);
	cf_blind_index(k, "email", "a@b.d", 5, b);
	assert_string_not_equal(a, b);
	/* The separator keeps domain and data apart. */
	cf_blind_index(k, "ab", "c", 1, a);
	cf_blind_index(k, "a", "bc", 2, b);
	assert_string_not_equal(a, b);
	cf_blind_index(k, "email", NULL, 0, a);
	assert_int_equal(strlen(a), 64);
	cf_key_free(k);
	cf_key_free(other);
}

static void test_hash_secret(void **state)
{
	char h[CF_HEX256_LEN];

	cf_hash_secret("", 0, h);
	assert_string_equal(h, "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
	cf_hash_secret(NULL, 0, h);
	assert_string_equal(h, "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
	cf_hash_secret("abc", 3, h);
	assert_string_equal(h, "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
}

/* ---- small things --------------------------------------------------------- */

static void test_ct_equal_and_wipe(void **state)
{
	uint8_t buf[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	uint8_t *heap;

	assert_true(cf_ct_equal("abcd", "abcd", 4));
	assert_false(cf_ct_equal("abcd", "abce", 4));
	assert_false(cf_ct_equal("xbcd", "abcd", 4));
	assert_true(cf_ct_equal("a", "b", 0));
	cf_wipe(buf, sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
	cf_wipe(NULL, 3);
	heap = malloc(16);
	assert_non_null(heap);
	memset(heap, 0x55, 16);
	cf_wipe_free(heap, 16);
	cf_wipe_free(NULL, 16);
}

static void test_env_system(void **state)
{
	const cf_env *env = cf_env_system();
	uint8_t a[32] = {0}, b[32] = {0}, zero[32] = {0};
	int64_t now = cf_now_us(env);
	int64_t wall = (int64_t)time(NULL) * 1000000;

	assert_true(now > wall - 5000000 && now < wall + 5000000);
	cf_random(env, a, sizeof(a));
	cf_random(env, b, sizeof(b));
	assert_memory_not_equal(a, zero, sizeof(a));
	assert_memory_not_equal(a, b, sizeof(a));
}

static void test_process_harden(void **state)
{
	struct rlimit rl;

	cf_process_harden();
	assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
	assert_int_equal(getrlimit(RLIMIT_CORE, &rl), 0);
	assert_int_equal(rl.rlim_cur, 0);
	assert_int_equal(rl.rlim_max, 0);
}

/* ---- encodings --------------------------------------------------------------- */

static void test_b64_rfc4648(void **state)
{
	static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};

	for (size_t i = 0; i < CF_ARRAY_LEN(plain); i++) {
		char *e = NULL;
		uint8_t *d = NULL;
		size_t dlen = 99;

		assert_int_equal(cf_b64_encode((const uint8_t *)plain[i], strlen(plain[i]), &e), CF_OK);
		assert_string_equal(e, enc[i]);
		assert_int_equal(cf_b64_decode(enc[i], strlen(enc[i]), &d, &dlen), CF_OK);
		assert_int_equal(dlen, strlen(plain[i]));
		assert_memory_equal(d, plain[i], dlen);
		assert_int_equal(d[dlen], 0);
		free(e);
		free(d);
	}
	/* Binary round trip with every byte value. */
	{
		uint8_t all[256], *d = NULL;
		size_t dlen = 0;
		char *e = NULL;
		for (size_t i = 0; i < sizeof(all); i++)
			all[i] = (uint8_t)i;
		assert_int_equal(cf_b64_encode(all, sizeof(all), &e), CF_OK);
		assert_int_equal(strlen(e), 344);
		assert_int_equal(cf_b64_decode(e, strlen(e), &d, &dlen), CF_OK);
		assert_int_equal(dlen, sizeof(all));
		assert_memory_equal(d, all, sizeof(all));
		free(e);
		free(d);
	}
}

static void test_b64_bad_input(void **state)
{
	static const char *const bad[] = {
		"Zg=",	      /* short padding */
		"Zg",	      /* no padding */
		"Zh==",	      /* stray bits in the last character */
		"Zm9v\n",     /* whitespace */
		" Zm9v",      /* leading space */
		"Zm9v!",      /* not in the alphabet */
		"Zm9v_-",     /* URL-safe alphabet is not the standard one */
		"Zg==Zg==",   /* data after padding */
		"Z",	      /* one character */
		"====",	      /* padding only */
	};
	for (size_t i = 0; i < CF_ARRAY_LEN(bad); i++) {
		uint8_t *d = (uint8_t *)"x";
		size_t dlen = 5;
		assert_int_equal(cf_b64_decode(bad[i], strlen(bad[i]), &d, &dlen), CF_EINVAL);
		assert_null(d);
		assert_int_equal(dlen, 0);
	}
	/* An embedded NUL inside the given length is refused, not a terminator. */
	{
		uint8_t *d = NULL;
		size_t dlen = 0;
		assert_int_equal(cf_b64_decode("Zm\0v", 4, &d, &dlen), CF_EINVAL);
		assert_int_equal(cf_b64_decode(NULL, 4, &d, &dlen), CF_EINVAL);
		/* Only `len` bytes are read. */
		assert_int_equal(cf_b64_decode("Zm9v!!!!", 4, &d, &dlen), CF_OK);
		assert_int_equal(dlen, 3);
		free(d);
	}
}

static void test_hex(void **state)
{
	const uint8_t in[] = {0x00, 0xff, 0x10, 0xab};
	char *h = NULL;

	assert_int_equal(cf_hex_encode(in, sizeof(in), &h), CF_OK);
	assert_string_equal(h, "00ff10ab");
	free(h);
	assert_int_equal(cf_hex_encode(NULL, 0, &h), CF_OK);
	assert_string_equal(h, "");
	free(h);
	assert_int_equal(cf_hex_encode(NULL, 1, &h), CF_EINVAL);
	assert_null(h);
}

static void test_random_token(void **state)
{
	char t[64], t2[64];

	/* 32 bytes of 0xff: 42 characters of 63 ('_') and 4 one-bits then zeros (60, '8'). */
	fill_byte = 0xff;
	assert_int_equal(cf_random_token(&fixed_env, 32, t, sizeof(t)), CF_OK);
	assert_string_equal(t, "__________________________________________8");
	fill_byte = 0xfb; /* 111110|111111|101111|111011: 62 ('-'), 63 ('_'), 47 ('v'), 59 ('7') */
	assert_int_equal(cf_random_token(&fixed_env, 3, t, sizeof(t)), CF_OK);
	assert_string_equal(t, "-_v7");
	fill_byte = 0xff;

	assert_int_equal(cf_random_token(cf_env_system(), 32, t, sizeof(t)), CF_OK);
	assert_int_equal(strlen(t), 43);
	assert_int_equal(strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
	assert_int_equal(cf_random_token(cf_env_system(), 32, t2, sizeof(t2)), CF_OK);
	assert_string_not_equal(t, t2);

	/* Exactly enough room (43 + NUL), one short, and bad sizes. */
	assert_int_equal(cf_random_token(cf_env_system(), 32, t, 44), CF_OK);
	assert_int_equal(cf_random_token(cf_env_system(), 32, t, 43), CF_ETOOBIG);
	assert_int_equal(cf_random_token(cf_env_system(), 0, t, sizeof(t)), CF_EINVAL);
	assert_int_equal(cf_random_token(cf_env_system(), 129, t, sizeof(t)), CF_ETOOBIG);
	assert_int_equal(cf_random_token(cf_env_system(), 32, NULL, 64), CF_EINVAL);
}

static void test_prefixed_token(void **state)
{
	static const uint8_t pre[2] = {0x00, 0x00};
	static const uint8_t pre3[3] = {0xfb, 0xfb, 0xfb};
	char t[64];

	/* the given bytes, then drawn ones: 0x0000 then 0xff... */
	fill_byte = 0xff;
	assert_int_equal(cf_prefixed_token(&fixed_env, pre, sizeof(pre), 16, t, sizeof(t)), CF_OK);
	assert_string_equal(t, "AAD__________________w");
	assert_int_equal(strlen(t), 22);
	fill_byte = 0x00;
	assert_int_equal(cf_prefixed_token(&fixed_env, pre3, sizeof(pre3), 6, t, sizeof(t)), CF_OK);
	assert_string_equal(t, "-_v7AAAA");
	fill_byte = 0xff;
	/* a prefix as long as the token, none given, bad sizes */
	assert_int_equal(cf_prefixed_token(&fixed_env, pre, sizeof(pre), 2, t, sizeof(t)), CF_EINVAL);
	assert_int_equal(cf_prefixed_token(&fixed_env, NULL, 2, 16, t, sizeof(t)), CF_EINVAL);
	assert_int_equal(cf_prefixed_token(&fixed_env, pre, sizeof(pre), 16, t, 22), CF_ETOOBIG);
	assert_int_equal(cf_prefixed_token(&fixed_env, pre, sizeof(pre), 16, NULL, 64), CF_EINVAL);
}

/* ---- root key file ------------------------------------------------------------- */

static void test_root_key_file(void **state)
{
	char path[128], content[128];
	cf_key *k = known_key(), *back = NULL;
	struct stat st;
	cf_err err;

	tmp_path(path, sizeof(path), "root.key");
	assert_int_equal(cf_root_key_write_file(path, k, &err), CF_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* base64 of bytes 0..31 and a newline. */
	assert_int_equal(read_small_file(path, content, sizeof(content)), 45);
	assert_string_equal(content, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n");
	assert_int_equal(cf_root_key_read_file(path, &back, &err), CF_OK);
	assert_true(same_key(back, k));
	cf_key_free(back);
	back = NULL;

	/* O_EXCL: never replaced, content untouched, no key in the detail. */
	{
		cf_key *other = cf_key_new_random(cf_env_system());
		assert_int_equal(cf_root_key_write_file(path, other, &err), CF_EEXIST);
		assert_int_equal(err.rc, CF_EEXIST);
		assert_null(strstr(err.detail, "AAECAwQF"));
		read_small_file(path, content, sizeof(content));
		assert_string_equal(content, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n");
		cf_key_free(other);
	}

	/* Group or other permission bits: refused with a clear message. */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(cf_root_key_read_file(path, &back, &err), CF_EINVAL);
	assert_null(back);
	assert_non_null(strstr(err.detail, "0644"));
	assert_non_null(strstr(err.detail, "0600"));
	assert_null(strstr(err.detail, "AAECAwQF"));
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(cf_root_key_read_file(path, &back, &err), CF_EINVAL);
	assert_int_equal(chmod(path, 0602), 0);
	assert_int_equal(cf_root_key_read_file(path, &back, &err), CF_EINVAL);
	/* Owner read-only is fine. */
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(cf_root_key_read_file(path, &back, &err), CF_OK);
	cf_key_free(back);
	cf_key_free(k);
}

static void test_root_key_file_refusals(void **state)
{
	char path[128], link[128];
	cf_key *back = NULL, *k = known_key();
	cf_err err;

	tmp_path(path, sizeof(path), "absent.key");
	assert_int_equal(cf_root_key_read_file(path, &back, &err), CF_ENOTFOUND);

	/* 31 bytes, 33 bytes, not base64, empty, oversized. */
	tmp_path(path, sizeof(path), "short.key");
	write_small_file(path, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==\n", 0600);
	assert_int_equal(cf_root_key_read_file(path, &back, &err), CF_EINVAL);
	assert_null(back);
	tmp_path(path, sizeof(path), "long.key");
	write_small_file(path, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g\n", 0600);
	assert_int_equal(cf_root_key_read_file(path, &back, &err), CF_EINVAL);
	tmp_path(path, sizeof(path), "garbage.key");
	write_small_file(path, "this is not a key at all, not even base64!!\n", 0600);
	assert_int_equal(cf_root_key_read_file(path, &back, &err), CF_EINVAL);
	assert_null(strstr(err.detail, "this is not"));
	tmp_path(path, sizeof(path), "empty.key");
	write_small_file(path, "", 0600);
	assert_int_equal(cf_root_key_read_file(path, &back, &err), CF_EINVAL);
	{
		char big[600];
		memset(big, 'A', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		tmp_path(path, sizeof(path), "big.key");
		write_small_file(path, big, 0600);
		assert_int_equal(cf_root_key_read_file(path, &back, &err), CF_EINVAL);
	}
	/* Without the trailing newline it is still read. */
	tmp_path(path, sizeof(path), "nonl.key");
	write_small_file(path, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", 0600);
	assert_int_equal(cf_root_key_read_file(path, &back, &err), CF_OK);
	assert_true(same_key(back, k));
	cf_key_free(back);
	back = NULL;

	/* A symbolic link is not followed, for reading or for writing. */
	tmp_path(link, sizeof(link), "link.key");
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(cf_root_key_read_file(link, &back, &err), CF_EIO);
	assert_null(back);
	assert_int_equal(cf_root_key_write_file(link, k, &err), CF_EEXIST);

	/* A directory that does not exist. */
	assert_int_equal(cf_root_key_write_file("/nonexistent-coffre-dir/root.key", k, &err), CF_EIO);
	assert_int_equal(err.rc, CF_EIO);
	cf_key_free(k);
}

/* ---- seal ------------------------------------------------------------------------ */

static char *sealed_doc;

static void test_seal_unseal(void **state)
{
	static const char pass[] = "correct horse battery staple";
	cf_key *k = known_key(), *back = NULL;
	cf_err err;
	json_t *doc = NULL;
	const char *kdf, *salt, *sealed;
	json_int_t ops, mem;

	assert_int_equal(cf_root_key_seal(cf_env_system(), k, pass, strlen(pass), &sealed_doc, &err), CF_OK);
	assert_non_null(sealed_doc);
	assert_null(strstr(sealed_doc, "correct"));
	assert_int_equal(cf_json_parse(sealed_doc, strlen(sealed_doc), 2, &doc, &err), CF_OK);
	assert_int_equal(cf_json_unpack(&err, "seal", doc, "{s:s, s:I, s:I, s:s, s:s}", "kdf", &kdf, "opslimit", &ops,
					"memlimit", &mem, "salt", &salt, "sealed", &sealed),
			 CF_OK);
	assert_string_equal(kdf, "argon2id13");
	assert_int_equal(ops, 3);	  /* libsodium MODERATE */
	assert_int_equal(mem, 268435456); /* 256 MiB */
	assert_int_equal(strlen(salt), 24);	/* 16 bytes */
	assert_int_equal(strlen(sealed), 96);	/* 72 bytes: nonce, key, tag */
	json_decref(doc);

	assert_int_equal(cf_root_key_unseal(sealed_doc, pass, strlen(pass), &back, &err), CF_OK);
	assert_true(same_key(back, k));
	cf_key_free(back);
	back = NULL;

	assert_int_equal(cf_root_key_unseal(sealed_doc, "correct horse battery stapl", strlen(pass) - 1, &back, &err),
			 CF_EUNAUTH);
	assert_null(back);
	assert_int_equal(err.rc, CF_EUNAUTH);
	assert_null(strstr(err.detail, "correct"));
	assert_int_equal(cf_root_key_unseal(sealed_doc, "", 0, &back, &err), CF_EUNAUTH);
	cf_key_free(k);
}

/* Replaces the first occurrence of `from` in sealed_doc by `to`, into out. */
static void edit_doc(const char *from, const char *to, char *out, size_t size)
{
	const char *p = strstr(sealed_doc, from);
	assert_non_null(p);
	assert_int_equal(cf_snprintf(out, size, "%.*s%s%s", (int)(p - sealed_doc), sealed_doc, to, p + strlen(from)),
			 CF_OK);
}

static void test_unseal_damaged(void **state)
{
	static const char pass[] = "correct horse battery staple";
	char doc[1024], salt_field[64];
	cf_key *back = NULL;
	cf_err err;
	const char *s, *e;

	assert_non_null(sealed_doc); /* made by test_seal_unseal */
	const char *damaged[] = {
		"",
		"not json",
		"[]",
		"{}",
		"{\"kdf\":\"argon2id13\"}",
		"{\"kdf\":\"argon2id13\",\"kdf\":\"argon2id13\"}",
	};
	for (size_t i = 0; i < CF_ARRAY_LEN(damaged); i++) {
		assert_int_equal(cf_root_key_unseal(damaged[i], pass, strlen(pass), &back, &err), CF_EINVAL);
		assert_null(back);
	}
	/* Each field damaged in turn (none of these runs the KDF). */
	edit_doc("\"argon2id13\"", "\"scrypt\"", doc, sizeof(doc));
	assert_int_equal(cf_root_key_unseal(doc, pass, strlen(pass), &back, &err), CF_EINVAL);
	edit_doc("\"opslimit\":3", "\"opslimit\":1000000", doc, sizeof(doc));
	assert_int_equal(cf_root_key_unseal(doc, pass, strlen(pass), &back, &err), CF_EINVAL);
	edit_doc("\"opslimit\":3", "\"opslimit\":1", doc, sizeof(doc));
	assert_int_equal(cf_root_key_unseal(doc, pass, strlen(pass), &back, &err), CF_EINVAL);
	edit_doc("\"opslimit\":3", "\"opslimit\":\"3\"", doc, sizeof(doc));
	assert_int_equal(cf_root_key_unseal(doc, pass, strlen(pass), &back, &err), CF_EINVAL);
	edit_doc("\"memlimit\":268435456", "\"memlimit\":1099511627776", doc, sizeof(doc));
	assert_int_equal(cf_root_key_unseal(doc, pass, strlen(pass), &back, &err), CF_EINVAL);
	edit_doc("\"memlimit\":268435456", "\"memlimit\":-1", doc, sizeof(doc));
	assert_int_equal(cf_root_key_unseal(doc, pass, strlen(pass), &back, &err), CF_EINVAL);
	edit_doc("\"kdf\"", "\"extra\":1,\"kdf\"", doc, sizeof(doc));
	assert_int_equal(cf_root_key_unseal(doc, pass, strlen(pass), &back, &err), CF_EINVAL);
	/* Salt of the wrong length, sealed of the wrong length or not base64. */
	s = strstr(sealed_doc, "\"salt\":\"");
	assert_non_null(s);
	s += strlen("\"salt\":\"");
	e = strchr(s, '"');
	assert_int_equal(cf_snprintf(salt_field, sizeof(salt_field), "\"salt\":\"%.*s\"", (int)(e - s), s), CF_OK);
	edit_doc(salt_field, "\"salt\":\"AAAA\"", doc, sizeof(doc));
	assert_int_equal(cf_root_key_unseal(doc, pass, strlen(pass), &back, &err), CF_EINVAL);
	edit_doc("\"sealed\":\"", "\"sealed\":\"AAAA", doc, sizeof(doc));
	assert_int_equal(cf_root_key_unseal(doc, pass, strlen(pass), &back, &err), CF_EINVAL);
	edit_doc("\"sealed\":\"", "\"sealed\":\"!", doc, sizeof(doc));
	assert_int_equal(cf_root_key_unseal(doc, pass, strlen(pass), &back, &err), CF_EINVAL);
	assert_null(back);
	/* Oversized document. */
	{
		static char big[5000];
		memset(big, ' ', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		assert_int_equal(cf_root_key_unseal(big, pass, strlen(pass), &back, &err), CF_EINVAL);
	}
}

/* One byte of the sealed key changed in place: to AEAD that is a wrong passphrase. */
static void test_unseal_tampered_ciphertext(void **state)
{
	static const char pass[] = "correct horse battery staple";
	char doc[1024];
	cf_key *back = NULL;
	cf_err err;
	const char *p;

	assert_non_null(sealed_doc);
	assert_true(strlen(sealed_doc) < sizeof(doc));
	memcpy(doc, sealed_doc, strlen(sealed_doc) + 1);
	p = strstr(doc, "\"sealed\":\"");
	assert_non_null(p);
	/* Character 50 of the base64 lies inside the wrapped key, away from padding. */
	char *c = doc + (p - doc) + strlen("\"sealed\":\"") + 50;
	*c = *c == 'A' ? 'B' : 'A';
	assert_int_equal(cf_root_key_unseal(doc, pass, strlen(pass), &back, &err), CF_EUNAUTH);
	assert_null(back);
	free(sealed_doc);
	sealed_doc = NULL;
}

static void test_seal_refusals(void **state)
{
	cf_key *k = known_key();
	char *doc = NULL;
	static char big[4097];
	cf_err err;

	assert_int_equal(cf_root_key_seal(cf_env_system(), k, "", 0, &doc, &err), CF_EINVAL);
	assert_null(doc);
	assert_int_equal(cf_root_key_seal(cf_env_system(), k, NULL, 0, &doc, &err), CF_EINVAL);
	memset(big, 'x', sizeof(big));
	assert_int_equal(cf_root_key_seal(cf_env_system(), k, big, sizeof(big), &doc, &err), CF_ETOOBIG);
	assert_null(doc);
	cf_key_free(k);
}

/* ---- random pool ------------------------------------------------------- */

static void test_random_pool_serves_the_stream_in_one_call(void **state)
{
	counting_rng rng = {0};
	const cf_env base = {fixed_now, NULL, counting_random, &rng};
	cf_random_pool pool;
	uint8_t a[24], b[12], c[32];
	const cf_env *env = cf_random_pool_begin(&pool, &base);

	assert_int_equal(rng.calls, 0); /* drawn at the first use */
	assert_int_equal(cf_now_us(env), fixed_now(NULL));
	cf_random(env, a, sizeof(a));
	cf_random(env, b, sizeof(b));
	cf_random(env, c, sizeof(c));
	assert_int_equal(rng.calls, 1);
	assert_int_equal(rng.last_len, CF_RANDOM_POOL_BYTES);
	assert_stream(a, sizeof(a), 0);
	assert_stream(b, sizeof(b), 24);
	assert_stream(c, sizeof(c), 36);
	/* what was served is no longer in the pool */
	for (size_t i = 0; i < 68; i++)
		assert_int_equal(pool.buf[i], 0);
	assert_int_equal(pool.buf[68], stream_byte(68));
	cf_random_pool_end(&pool);
	for (size_t i = 0; i < sizeof(pool.buf); i++)
		assert_int_equal(pool.buf[i], 0);
	assert_int_equal(pool.left, 0);
}

static void test_random_pool_never_serves_a_byte_twice(void **state)
{
	counting_rng rng = {0};
	const cf_env base = {fixed_now, NULL, counting_random, &rng};
	cf_random_pool pool;
	uint8_t a[CF_RANDOM_POOL_BYTES - 12], b[24], c[CF_RANDOM_POOL_BYTES + 1], d[8];
	const cf_env *env = cf_random_pool_begin(&pool, &base);

	cf_random(env, a, sizeof(a));
	/* 12 bytes left: a draw of 24 refills, the 12 are dropped, never served */
	cf_random(env, b, sizeof(b));
	assert_int_equal(rng.calls, 2);
	assert_stream(a, sizeof(a), 0);
	assert_stream(b, sizeof(b), CF_RANDOM_POOL_BYTES);
	/* larger than the pool: straight from the base, the pool untouched */
	cf_random(env, c, sizeof(c));
	assert_int_equal(rng.calls, 3);
	assert_int_equal(rng.last_len, sizeof(c));
	assert_stream(c, sizeof(c), 2 * CF_RANDOM_POOL_BYTES);
	cf_random(env, d, sizeof(d));
	assert_int_equal(rng.calls, 3);
	assert_stream(d, sizeof(d), CF_RANDOM_POOL_BYTES + 24);
	cf_random_pool_end(&pool);
	/* ended, it begins empty again */
	env = cf_random_pool_begin(&pool, &base);
	cf_random_pool_end(&pool);
	assert_int_equal(rng.calls, 3);
}

static void test_random_pool_over_the_system_generator(void **state)
{
	cf_random_pool pool;
	const cf_env *env = cf_random_pool_begin(&pool, cf_env_system());
	cf_key *k = known_key();
	const uint8_t pt[] = "same plaintext";
	uint8_t *ct[2] = {NULL, NULL}, *back = NULL;
	size_t len[2] = {0, 0}, blen = 0;

	for (int i = 0; i < 2; i++)
		assert_int_equal(cf_aead_seal(env, k, pt, sizeof(pt) - 1, NULL, 0, &ct[i], &len[i]), CF_OK);
	cf_random_pool_end(&pool);
	/* two seals, two nonces */
	assert_int_not_equal(memcmp(ct[0], ct[1], CF_AEAD_NONCE_LEN), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(cf_aead_open(k, ct[i], len[i], NULL, 0, &back, &blen), CF_OK);
		assert_memory_equal(back, pt, sizeof(pt) - 1);
		cf_wipe_free(back, blen + 1);
		free(ct[i]);
	}
	cf_key_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_password_defaults), /* must run before limits are lowered */
		cmocka_unit_test(test_password_low_limits),
		cmocka_unit_test(test_password_reference_vector),
		cmocka_unit_test(test_password_garbage_hash),
		cmocka_unit_test(test_password_length_cap),
		cmocka_unit_test(test_password_dummy_verify_costs_a_verify),
		cmocka_unit_test(test_aead_round_trip),
		cmocka_unit_test(test_aead_empty_plaintext),
		cmocka_unit_test(test_aead_refusals),
		cmocka_unit_test(test_key_new),
		cmocka_unit_test(test_key_derive),
		cmocka_unit_test(test_key_wrap),
		cmocka_unit_test(test_key_pool),
		cmocka_unit_test(test_blind_index),
		cmocka_unit_test(test_hash_secret),
		cmocka_unit_test(test_ct_equal_and_wipe),
		cmocka_unit_test(test_env_system),
		cmocka_unit_test(test_b64_rfc4648),
		cmocka_unit_test(test_b64_bad_input),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_random_token),
		cmocka_unit_test(test_prefixed_token),
		cmocka_unit_test(test_root_key_file),
		cmocka_unit_test(test_root_key_file_refusals),
		cmocka_unit_test(test_seal_unseal),
		cmocka_unit_test(test_unseal_damaged),
		cmocka_unit_test(test_unseal_tampered_ciphertext),
		cmocka_unit_test(test_seal_refusals),
		cmocka_unit_test(test_random_pool_serves_the_stream_in_one_call),
		cmocka_unit_test(test_random_pool_never_serves_a_byte_twice),
		cmocka_unit_test(test_random_pool_over_the_system_generator),
		cmocka_unit_test(test_process_harden), /* last: leaves the test process undumpable */
	};

	if (cf_crypto_init() != CF_OK)
		return 1;
	return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
