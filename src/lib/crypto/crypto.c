/*
 * crypto.c - coffre's cryptography, all of it over libsodium: keys in
 * guarded memory, AEAD, key wrapping, blind indexes, secret hashing,
 * Argon2id passwords, tokens, encodings and the root key at rest.
 *
 * This is the only file that includes <sodium.h>. It must never log, print
 * or put into an error detail a key, a password, a passphrase, a plaintext
 * or anything derived from one, and every buffer that held one is wiped
 * before it is released, on every path.
 */
#include "common/cf.h"
#include "crypto/crypto.h"

#include "common/json.h"
#include "crypto/crypto_int.h" /* struct cf_key, shared with sign.c */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

_Static_assert(CF_KEY_LEN == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "AEAD key size");
_Static_assert(CF_AEAD_NONCE_LEN == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "AEAD nonce size");
_Static_assert(CF_AEAD_TAG_LEN == crypto_aead_xchacha20poly1305_ietf_ABYTES, "AEAD tag size");
_Static_assert(CF_KEY_LEN == crypto_kdf_KEYBYTES, "KDF key size");
_Static_assert(CF_KEY_LEN >= crypto_generichash_KEYBYTES_MIN && CF_KEY_LEN <= crypto_generichash_KEYBYTES_MAX,
	       "blind index key size");
_Static_assert(CF_PWHASH_STR_LEN == crypto_pwhash_STRBYTES, "password hash string size");
_Static_assert(CF_HEX256_LEN == 2 * 32 + 1, "hex digest size");

/* Longest password or passphrase accepted (bytes): far above any real one. */
#define PW_MAX_LEN 4096
/* Largest token entropy cf_random_token accepts (bytes). */
#define TOKEN_MAX_BYTES 128
/* A root key file holds 44 base64 characters and a newline; anything near this is not one. */
#define KEY_FILE_MAX 256
/* A seal document is about 220 bytes. */
#define SEAL_DOC_MAX 4096
#define SEAL_KDF_NAME "argon2id13"
/* AD of the root key wrapped under the passphrase key: names what it is. */
#define SEAL_AD "coffre root key seal v1"
#define SEALED_LEN (CF_KEY_LEN + CF_AEAD_OVERHEAD)

/* ---- environment ---------------------------------------------------- */

static int64_t system_now_us(void *ctx)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		CF_BUG("clock_gettime(CLOCK_REALTIME) failed");
	return (int64_t)ts.tv_sec * 1000000 + (int64_t)(ts.tv_nsec / 1000);
}

static void system_random(void *ctx, void *buf, size_t len)
{
	randombytes_buf(buf, len);
}

static void pool_random(void *ctx, void *out, size_t len)
{
	cf_random_pool *p = ctx;
	uint8_t *at;

	if (len > sizeof(p->buf)) {
		cf_random(p->base, out, len);
		return;
	}
	if (len > p->left) {
		/* the rest is never served: a refill draws the whole pool anew */
		cf_random(p->base, p->buf, sizeof(p->buf));
		p->left = sizeof(p->buf);
	}
	at = p->buf + sizeof(p->buf) - p->left;
	memcpy(out, at, len);
	sodium_memzero(at, len);
	p->left -= len;
}

const cf_env *cf_random_pool_begin(cf_random_pool *p, const cf_env *base)
{
	p->env = *base;
	p->env.random = pool_random;
	p->env.rng_ctx = p;
	p->base = base;
	p->left = 0; /* drawn at the first use: a pool never used costs no call */
	return &p->env;
}

void cf_random_pool_end(cf_random_pool *p)
{
	sodium_memzero(p->buf, sizeof(p->buf));
	p->left = 0;
}

static const cf_env system_env = {
	.now_us = system_now_us,
	.clock_ctx = NULL,
	.random = system_random,
	.rng_ctx = NULL,
};

const cf_env *cf_env_system(void)
{
	return &system_env;
}

/* ---- init and process ------------------------------------------------ */

/* Fails only when libsodium cannot initialise (no entropy source, no memory). */
cf_rc cf_crypto_init(void)
{
	return sodium_init() < 0 ? CF_ECRYPTO : CF_OK;
}

void cf_process_harden(void)
{
	struct rlimit none = {0, 0};

	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	(void)setrlimit(RLIMIT_CORE, &none);
}

/* ---- memory ---------------------------------------------------------- */

bool cf_ct_equal(const void *a, const void *b, size_t n)
{
	if (n == 0)
		return true;
	return sodium_memcmp(a, b, n) == 0;
}

void cf_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		sodium_memzero(p, n);
}

void cf_wipe_free(void *p, size_t n)
{
	if (p == NULL)
		return;
	cf_wipe(p, n);
	free(p);
}

/* ---- keys ------------------------------------------------------------ */

/*
 * The key pool: one sodium_malloc'd region (guard pages around it, mlock'd
 * once, never swapped, kept for the process's life) cut into key slots.
 * Subject data keys are unwrapped on every request and freed at its end;
 * giving each its own guarded pages cost three system calls and a TLB
 * shootdown on every thread per key (measured: a quarter of a record
 * read's CPU time). A pooled key is wiped when freed; it is not made
 * read-only (protection works on whole pages). When the pool is full, keys
 * fall back to guarded pages of their own.
 */
#define POOL_SLOTS 4096
static struct {
	pthread_mutex_t mu;
	unsigned char *mem;
	bool tried;
	uint64_t used[POOL_SLOTS / 64];
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER};

static unsigned char *pool_take(void)
{
	unsigned char *p = NULL;

	pthread_mutex_lock(&pool.mu);
	if (!pool.tried) {
		pool.tried = true;
		pool.mem = sodium_malloc((size_t)POOL_SLOTS * CF_KEY_LEN);
	}
	for (size_t i = 0; pool.mem != NULL && i < CF_ARRAY_LEN(pool.used); i++) {
		if (pool.used[i] != UINT64_MAX) {
			int bit = __builtin_ctzll(~pool.used[i]);
			pool.used[i] |= UINT64_C(1) << bit;
			p = pool.mem + (i * 64 + (size_t)bit) * CF_KEY_LEN;
			break;
		}
	}
	pthread_mutex_unlock(&pool.mu);
	return p;
}

static void pool_give(unsigned char *p)
{
	size_t slot = (size_t)(p - pool.mem) / CF_KEY_LEN;

	sodium_memzero(p, CF_KEY_LEN);
	pthread_mutex_lock(&pool.mu);
	CF_ASSERT(slot < POOL_SLOTS && (pool.used[slot / 64] & (UINT64_C(1) << (slot % 64))) != 0);
	pool.used[slot / 64] &= ~(UINT64_C(1) << (slot % 64));
	pthread_mutex_unlock(&pool.mu);
}

/*
 * Allocates a key whose bytes are still writable; the caller fills them and
 * calls key_lock. NULL when locked memory cannot be had. sodium_init is
 * repeated here (it is idempotent) because sodium_malloc needs it and a
 * forgotten cf_crypto_init must not turn into unguarded keys.
 */
static cf_key *key_alloc(bool pooled)
{
	cf_key *k;

	if (sodium_init() < 0)
		return NULL;
	k = malloc(sizeof(*k));
	if (k == NULL)
		return NULL;
	k->bytes = pooled ? pool_take() : NULL;
	k->pooled = k->bytes != NULL;
	if (k->bytes == NULL)
		k->bytes = sodium_malloc(CF_KEY_LEN);
	if (k->bytes == NULL) {
		free(k);
		return NULL;
	}
	return k;
}

/* Makes the key bytes read-only: a stray write now faults instead of corrupting the key. */
static void key_lock(cf_key *k)
{
	if (!k->pooled)
		(void)sodium_mprotect_readonly(k->bytes);
}

void cf_key_free(cf_key *k)
{
	if (k == NULL)
		return;
	if (k->pooled)
		pool_give(k->bytes); /* wipes, returns the slot */
	else
		sodium_free(k->bytes); /* makes writable, wipes, unlocks, unmaps */
	free(k);
}

/* Allocates; NULL on allocation failure. */
cf_key *cf_key_new_random(const cf_env *env)
{
	cf_key *k;

	if (env == NULL)
		return NULL;
	k = key_alloc(true);
	if (k == NULL)
		return NULL;
	cf_random(env, k->bytes, CF_KEY_LEN);
	key_lock(k);
	return k;
}

static cf_key *key_from_bytes(const uint8_t *bytes, size_t len, bool pooled)
{
	cf_key *k;

	if (bytes == NULL || len != CF_KEY_LEN)
		return NULL;
	k = key_alloc(pooled);
	if (k == NULL)
		return NULL;
	memcpy(k->bytes, bytes, CF_KEY_LEN);
	key_lock(k);
	return k;
}

/* Allocates; NULL on allocation failure or when len is not CF_KEY_LEN. */
cf_key *cf_key_new_from_bytes(const uint8_t *bytes, size_t len)
{
	return key_from_bytes(bytes, len, false);
}

/* Allocates; NULL on allocation failure. context is exactly 8 bytes, no NUL needed. */
cf_key *cf_key_derive(const cf_key *master, uint64_t subkey_id, const char context[8])
{
	cf_key *k;

	if (master == NULL || context == NULL)
		return NULL;
	k = key_alloc(false);
	if (k == NULL)
		return NULL;
	if (crypto_kdf_derive_from_key(k->bytes, CF_KEY_LEN, subkey_id, context, master->bytes) != 0) {
		cf_key_free(k);
		return NULL;
	}
	key_lock(k);
	return k;
}

/* ---- AEAD ------------------------------------------------------------ */

/* libsodium takes (NULL, 0) as empty, but memcpy-style UB checks prefer a real pointer. */
static const uint8_t empty_byte;

/* Allocates *out; the caller frees it. */
cf_rc cf_aead_seal(const cf_env *env, const cf_key *k, const uint8_t *pt, size_t ptlen, const uint8_t *ad,
		   size_t adlen, uint8_t **out, size_t *outlen)
{
	uint8_t *buf = NULL;
	size_t total;
	unsigned long long clen = 0;
	cf_rc rc;

	*out = NULL;
	*outlen = 0;
	if (env == NULL || k == NULL || (pt == NULL && ptlen > 0) || (ad == NULL && adlen > 0))
		return CF_EINVAL;
	if (ptlen > crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX ||
	    !cf_size_add(ptlen, CF_AEAD_OVERHEAD, &total))
		return CF_ETOOBIG;
	buf = malloc(total);
	if (buf == NULL)
		return CF_ENOMEM;
	cf_random(env, buf, CF_AEAD_NONCE_LEN);
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(buf + CF_AEAD_NONCE_LEN, &clen, pt ? pt : &empty_byte, ptlen,
						       ad ? ad : &empty_byte, adlen, NULL, buf, k->bytes) != 0 ||
	    clen != ptlen + CF_AEAD_TAG_LEN) {
		rc = CF_ECRYPTO;
		goto out;
	}
	*out = buf;
	*outlen = total;
	buf = NULL;
	rc = CF_OK;
out:
	cf_wipe_free(buf, total);
	return rc;
}

/*
 * Allocates *out (plaintext plus a NUL); the caller wipes and frees it with
 * cf_wipe_free(p, len + 1). Any verification failure, a short input
 * included, is CF_EINTEGRITY and leaves no plaintext behind.
 */
cf_rc cf_aead_open(const cf_key *k, const uint8_t *ct, size_t ctlen, const uint8_t *ad, size_t adlen, uint8_t **out,
		   size_t *outlen)
{
	uint8_t *buf = NULL;
	size_t mlen = 0, bufsize = 0;
	unsigned long long got = 0;
	cf_rc rc;

	*out = NULL;
	*outlen = 0;
	if (k == NULL || (ad == NULL && adlen > 0))
		return CF_EINVAL;
	if (ct == NULL || ctlen < CF_AEAD_OVERHEAD)
		return CF_EINTEGRITY;
	mlen = ctlen - CF_AEAD_OVERHEAD;
	bufsize = mlen + 1; /* cannot overflow: mlen < ctlen */
	buf = malloc(bufsize);
	if (buf == NULL)
		return CF_ENOMEM;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(buf, &got, NULL, ct + CF_AEAD_NONCE_LEN,
						       ctlen - CF_AEAD_NONCE_LEN, ad ? ad : &empty_byte, adlen, ct,
						       k->bytes) != 0 ||
	    got != mlen) {
		rc = CF_EINTEGRITY;
		goto out;
	}
	buf[mlen] = 0;
	*out = buf;
	*outlen = mlen;
	buf = NULL;
	rc = CF_OK;
out:
	cf_wipe_free(buf, bufsize);
	return rc;
}

/* Allocates *out; the caller frees it (it is ciphertext, no wipe needed). */
cf_rc cf_key_wrap(const cf_env *env, const cf_key *kek, const cf_key *k, const char *ad, uint8_t **out,
		  size_t *outlen)
{
	*out = NULL;
	*outlen = 0;
	if (kek == NULL || k == NULL || ad == NULL)
		return CF_EINVAL;
	return cf_aead_seal(env, kek, k->bytes, CF_KEY_LEN, (const uint8_t *)ad, strlen(ad), out, outlen);
}

/* Allocates *out; CF_EINTEGRITY when the KEK, the label or any byte is wrong. */
cf_rc cf_key_unwrap(const cf_key *kek, const uint8_t *wrapped, size_t len, const char *ad, cf_key **out)
{
	uint8_t *pt = NULL;
	size_t ptlen = 0;
	cf_rc rc;

	*out = NULL;
	if (kek == NULL || ad == NULL)
		return CF_EINVAL;
	if (len != CF_KEY_LEN + CF_AEAD_OVERHEAD)
		return CF_EINTEGRITY;
	rc = cf_aead_open(kek, wrapped, len, (const uint8_t *)ad, strlen(ad), &pt, &ptlen);
	if (rc != CF_OK)
		goto out;
	if (ptlen != CF_KEY_LEN) {
		rc = CF_EINTEGRITY;
		goto out;
	}
	*out = key_from_bytes(pt, ptlen, true);
	rc = *out == NULL ? CF_ENOMEM : CF_OK;
out:
	if (pt != NULL)
		cf_wipe_free(pt, ptlen + 1);
	return rc;
}

/* ---- hashing --------------------------------------------------------- */

void cf_blind_index(const cf_key *k, const char *domain, const void *data, size_t len, char out[CF_HEX256_LEN])
{
	crypto_generichash_state st;
	unsigned char h[32];
	const unsigned char zero = 0;

	CF_ASSERT(k != NULL && domain != NULL && (data != NULL || len == 0));
	if (crypto_generichash_init(&st, k->bytes, CF_KEY_LEN, sizeof(h)) != 0 ||
	    crypto_generichash_update(&st, (const unsigned char *)domain, strlen(domain)) != 0 ||
	    crypto_generichash_update(&st, &zero, 1) != 0 ||
	    (len > 0 && crypto_generichash_update(&st, data, len) != 0) ||
	    crypto_generichash_final(&st, h, sizeof(h)) != 0)
		CF_BUG("BLAKE2b failed");
	(void)sodium_bin2hex(out, CF_HEX256_LEN, h, sizeof(h));
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(h, sizeof(h));
}

void cf_hash_secret(const void *secret, size_t len, char out[CF_HEX256_LEN])
{
	unsigned char h[32];

	CF_ASSERT(secret != NULL || len == 0);
	if (crypto_generichash(h, sizeof(h), len > 0 ? secret : &empty_byte, len, NULL, 0) != 0)
		CF_BUG("BLAKE2b failed");
	(void)sodium_bin2hex(out, CF_HEX256_LEN, h, sizeof(h));
	sodium_memzero(h, sizeof(h));
}

/* ---- passwords ------------------------------------------------------- */

static unsigned long long pw_opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
static size_t pw_memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;

/* The dummy hash is made on first use, with the limits in force then (remade if tests change them). */
static pthread_mutex_t dummy_lock = PTHREAD_MUTEX_INITIALIZER;
static char dummy_hash[CF_PWHASH_STR_LEN];
static bool dummy_ready;
static unsigned long long dummy_opslimit;
static size_t dummy_memlimit;
#define DUMMY_PASSWORD "coffre dummy password: no account has this hash"

#define ARGON2ID_PREFIX "$argon2id$"

/* Fails with CF_ETOOBIG over the length cap, CF_ENOMEM when Argon2 cannot get its memory. */
cf_rc cf_password_hash(const char *pw, size_t len, char out[CF_PWHASH_STR_LEN])
{
	out[0] = '\0';
	if (pw == NULL && len > 0)
		return CF_EINVAL;
	if (len > PW_MAX_LEN)
		return CF_ETOOBIG;
	if (crypto_pwhash_str_alg(out, len > 0 ? pw : "", len, pw_opslimit, pw_memlimit, crypto_pwhash_ALG_ARGON2ID13) !=
	    0) {
		cf_wipe(out, CF_PWHASH_STR_LEN);
		return CF_ENOMEM;
	}
	return CF_OK;
}

/* CF_OK or CF_EUNAUTH; a hash that is not an Argon2id string never verifies. */
cf_rc cf_password_verify(const char *hash, const char *pw, size_t len)
{
	if (hash == NULL || (pw == NULL && len > 0) || len > PW_MAX_LEN)
		return CF_EUNAUTH;
	if (strnlen(hash, CF_PWHASH_STR_LEN) >= CF_PWHASH_STR_LEN ||
	    strncmp(hash, ARGON2ID_PREFIX, strlen(ARGON2ID_PREFIX)) != 0)
		return CF_EUNAUTH;
	if (crypto_pwhash_str_verify(hash, len > 0 ? pw : "", len) != 0)
		return CF_EUNAUTH;
	return CF_OK;
}

void cf_password_dummy_verify(const char *pw, size_t len)
{
	char h[CF_PWHASH_STR_LEN];
	bool ready;
	cf_rc ignored;

	if (pthread_mutex_lock(&dummy_lock) != 0)
		CF_BUG("dummy hash lock");
	if (!dummy_ready || dummy_opslimit != pw_opslimit || dummy_memlimit != pw_memlimit) {
		dummy_ready = crypto_pwhash_str_alg(dummy_hash, DUMMY_PASSWORD, strlen(DUMMY_PASSWORD), pw_opslimit,
						    pw_memlimit, crypto_pwhash_ALG_ARGON2ID13) == 0;
		dummy_opslimit = pw_opslimit;
		dummy_memlimit = pw_memlimit;
	}
	ready = dummy_ready;
	if (ready)
		memcpy(h, dummy_hash, sizeof(h));
	(void)pthread_mutex_unlock(&dummy_lock);
	if (!ready)
		return;
	ignored = cf_password_verify(h, pw, len);
	(void)ignored;
}

void cf_password_set_limits(unsigned long long opslimit, size_t memlimit)
{
	pw_opslimit = opslimit;
	pw_memlimit = memlimit;
}

/* ---- tokens and encodings ------------------------------------------------ */

cf_rc cf_random_token(const cf_env *env, size_t nbytes, char *out, size_t outsize)
{
	return cf_prefixed_token(env, NULL, 0, nbytes, out, outsize);
}

cf_rc cf_prefixed_token(const cf_env *env, const uint8_t *prefix, size_t plen, size_t nbytes, char *out,
			size_t outsize)
{
	unsigned char raw[TOKEN_MAX_BYTES];
	size_t need;

	if (env == NULL || out == NULL || nbytes == 0 || plen >= nbytes || (prefix == NULL && plen > 0))
		return CF_EINVAL;
	if (nbytes > TOKEN_MAX_BYTES)
		return CF_ETOOBIG;
	need = sodium_base64_ENCODED_LEN(nbytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	if (outsize < need)
		return CF_ETOOBIG;
	if (plen > 0)
		memcpy(raw, prefix, plen);
	cf_random(env, raw + plen, nbytes - plen);
	(void)sodium_bin2base64(out, outsize, raw, nbytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	return CF_OK;
}

/* Allocates *out (NUL-terminated); the caller frees it, wiping it if `in` was secret. */
cf_rc cf_b64_encode(const uint8_t *in, size_t len, char **out)
{
	size_t size;

	*out = NULL;
	if (in == NULL && len > 0)
		return CF_EINVAL;
	if (len > SIZE_MAX / 4 - 4)
		return CF_ETOOBIG;
	size = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	*out = malloc(size);
	if (*out == NULL)
		return CF_ENOMEM;
	(void)sodium_bin2base64(*out, size, len > 0 ? in : &empty_byte, len, sodium_base64_VARIANT_ORIGINAL);
	return CF_OK;
}

/*
 * Allocates *out (with a NUL after *outlen bytes); the caller frees it,
 * wiping it if it is secret. Strict: padding required, no whitespace, no
 * trailing garbage, no stray bits.
 */
cf_rc cf_b64_decode(const char *in, size_t len, uint8_t **out, size_t *outlen)
{
	uint8_t *buf;
	size_t max = len / 4 * 3 + 3, got = 0;

	*out = NULL;
	*outlen = 0;
	if (in == NULL && len > 0)
		return CF_EINVAL;
	buf = malloc(max + 1);
	if (buf == NULL)
		return CF_ENOMEM;
	if (len > 0 && sodium_base642bin(buf, max, in, len, NULL, &got, NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
		cf_wipe_free(buf, max + 1);
		return CF_EINVAL;
	}
	buf[got] = 0;
	*out = buf;
	*outlen = got;
	return CF_OK;
}

/* Allocates *out (NUL-terminated lowercase hex); the caller frees it. */
cf_rc cf_hex_encode(const uint8_t *in, size_t len, char **out)
{
	size_t size;

	*out = NULL;
	if (in == NULL && len > 0)
		return CF_EINVAL;
	if (!cf_size_mul(len, 2, &size) || !cf_size_add(size, 1, &size))
		return CF_ETOOBIG;
	*out = malloc(size);
	if (*out == NULL)
		return CF_ENOMEM;
	(void)sodium_bin2hex(*out, size, len > 0 ? in : &empty_byte, len);
	return CF_OK;
}

/* ---- root key file ------------------------------------------------------- */

static cf_rc write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return CF_EIO;
		}
		buf += n;
		len -= (size_t)n;
	}
	return CF_OK;
}

/* Makes the new directory entry durable: without it a crash could lose a key already in use. */
static cf_rc fsync_parent(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n;
	int fd;
	cf_rc rc = CF_OK;

	if (slash == NULL) {
		dir[0] = '.';
		n = 1;
	} else {
		n = slash == path ? 1 : (size_t)(slash - path);
		if (n >= sizeof(dir))
			return CF_EIO;
		memcpy(dir, path, n);
	}
	dir[n] = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return CF_EIO;
	if (fsync(fd) != 0)
		rc = CF_EIO;
	(void)close(fd);
	return rc;
}

/*
 * Creates path (O_EXCL, 0600) holding base64(key) and a newline. Fails with
 * CF_EEXIST rather than replace a key; a file half-written is removed.
 */
cf_rc cf_root_key_write_file(const char *path, const cf_key *root, cf_err *err)
{
	char *b64 = NULL, *line = NULL;
	size_t b64len = 0, linelen = 0;
	int fd = -1;
	bool created = false;
	cf_rc rc;

	if (path == NULL || root == NULL)
		return cf_err_set(err, CF_EINVAL, CF_P_INTERNAL, "root key file: no path or no key");
	rc = cf_b64_encode(root->bytes, CF_KEY_LEN, &b64);
	if (rc != CF_OK) {
		cf_err_set(err, rc, CF_P_INTERNAL, "root key file: out of memory");
		goto out;
	}
	b64len = strlen(b64);
	linelen = b64len + 1;
	line = malloc(linelen);
	if (line == NULL) {
		rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "root key file: out of memory");
		goto out;
	}
	memcpy(line, b64, b64len);
	line[b64len] = '\n';

	fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			rc = cf_err_set(err, CF_EEXIST, CF_P_CONFLICT,
					"root key file %s already exists; refusing to overwrite it", path);
		else
			rc = cf_err_set(err, CF_EIO, CF_P_INTERNAL, "root key file %s cannot be created: %s", path,
					strerror(errno));
		goto out;
	}
	created = true;
	if (fchmod(fd, 0600) != 0 || write_all(fd, line, linelen) != CF_OK || fsync(fd) != 0) {
		rc = cf_err_set(err, CF_EIO, CF_P_INTERNAL, "root key file %s cannot be written: %s", path,
				strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = cf_err_set(err, CF_EIO, CF_P_INTERNAL, "root key file %s cannot be closed: %s", path,
				strerror(errno));
		goto out;
	}
	fd = -1;
	if (fsync_parent(path) != CF_OK) {
		rc = cf_err_set(err, CF_EIO, CF_P_INTERNAL, "directory of root key file %s cannot be synced", path);
		goto out;
	}
	rc = CF_OK;
out:
	if (fd >= 0)
		(void)close(fd);
	if (rc != CF_OK && created)
		(void)unlink(path);
	if (b64 != NULL)
		cf_wipe_free(b64, b64len + 1);
	cf_wipe_free(line, linelen);
	return rc;
}

/*
 * Allocates *out. Refuses a file that group or others may read or write,
 * one that is not a regular file (or is a symlink), and one that does not
 * hold exactly 32 base64-encoded bytes.
 */
cf_rc cf_root_key_read_file(const char *path, cf_key **out, cf_err *err)
{
	char buf[KEY_FILE_MAX];
	uint8_t *raw = NULL;
	size_t n = 0, rawlen = 0;
	struct stat st;
	int fd = -1;
	cf_rc rc;

	*out = NULL;
	if (path == NULL)
		return cf_err_set(err, CF_EINVAL, CF_P_INTERNAL, "root key file: no path");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			rc = cf_err_set(err, CF_ENOTFOUND, CF_P_INTERNAL, "root key file %s does not exist", path);
		else
			rc = cf_err_set(err, CF_EIO, CF_P_INTERNAL, "root key file %s cannot be opened: %s", path,
					strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		rc = cf_err_set(err, CF_EIO, CF_P_INTERNAL, "root key file %s cannot be examined: %s", path,
				strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INTERNAL, "root key file %s is not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INTERNAL,
				"root key file %s has mode %04o: group or others have access; it must be 0600", path,
				(unsigned)(st.st_mode & 07777));
		goto out;
	}
	while (n < sizeof(buf)) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = cf_err_set(err, CF_EIO, CF_P_INTERNAL, "root key file %s cannot be read: %s", path,
					strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n == sizeof(buf)) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INTERNAL, "root key file %s is too large to be a key file", path);
		goto out;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if (cf_b64_decode(buf, n, &raw, &rawlen) != CF_OK || rawlen != CF_KEY_LEN) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INTERNAL,
				"root key file %s does not hold a base64-encoded 32-byte key", path);
		goto out;
	}
	*out = cf_key_new_from_bytes(raw, rawlen);
	rc = *out == NULL ? cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "root key: no guarded memory") : CF_OK;
out:
	if (fd >= 0)
		(void)close(fd);
	if (raw != NULL)
		cf_wipe_free(raw, rawlen + 1);
	cf_wipe(buf, sizeof(buf));
	return rc;
}

/* ---- root key sealed under a passphrase ------------------------------------ */

/* Allocates *out: the key derived from the passphrase, in guarded memory. */
static cf_rc passphrase_key(const char *pass, size_t passlen, const uint8_t salt[crypto_pwhash_SALTBYTES],
			    unsigned long long opslimit, size_t memlimit, cf_key **out)
{
	cf_key *k;

	*out = NULL;
	k = key_alloc(false);
	if (k == NULL)
		return CF_ENOMEM;
	if (crypto_pwhash(k->bytes, CF_KEY_LEN, pass, passlen, salt, opslimit, memlimit,
			  crypto_pwhash_ALG_ARGON2ID13) != 0) {
		cf_key_free(k);
		return CF_ENOMEM;
	}
	key_lock(k);
	*out = k;
	return CF_OK;
}

/* Allocates *json_out (free it). Argon2id at MODERATE limits: takes about a second. */
cf_rc cf_root_key_seal(const cf_env *env, const cf_key *root, const char *pass, size_t passlen, char **json_out,
		       cf_err *err)
{
	uint8_t salt[crypto_pwhash_SALTBYTES];
	uint8_t *sealed = NULL;
	size_t sealedlen = 0;
	char *salt_b64 = NULL, *sealed_b64 = NULL;
	cf_key *kek = NULL;
	json_t *doc = NULL;
	cf_rc rc;

	*json_out = NULL;
	if (env == NULL || root == NULL || pass == NULL)
		return cf_err_set(err, CF_EINVAL, CF_P_INTERNAL, "seal: no key or no passphrase");
	if (passlen == 0)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "seal: the passphrase is empty");
	if (passlen > PW_MAX_LEN)
		return cf_err_set(err, CF_ETOOBIG, CF_P_TOO_LONG, "seal: the passphrase is longer than %d bytes",
				  PW_MAX_LEN);
	cf_random(env, salt, sizeof(salt));
	rc = passphrase_key(pass, passlen, salt, crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE,
			    &kek);
	if (rc != CF_OK) {
		cf_err_set(err, rc, CF_P_INTERNAL, "seal: Argon2id could not run (out of memory)");
		goto out;
	}
	rc = cf_key_wrap(env, kek, root, SEAL_AD, &sealed, &sealedlen);
	if (rc == CF_OK)
		rc = cf_b64_encode(salt, sizeof(salt), &salt_b64);
	if (rc == CF_OK)
		rc = cf_b64_encode(sealed, sealedlen, &sealed_b64);
	if (rc != CF_OK) {
		cf_err_set(err, rc, CF_P_INTERNAL, "seal: the root key could not be sealed");
		goto out;
	}
	doc = json_pack("{s:s, s:I, s:I, s:s, s:s}", "kdf", SEAL_KDF_NAME, "opslimit",
			(json_int_t)crypto_pwhash_OPSLIMIT_MODERATE, "memlimit",
			(json_int_t)crypto_pwhash_MEMLIMIT_MODERATE, "salt", salt_b64, "sealed", sealed_b64);
	if (doc != NULL)
		*json_out = cf_json_dump_canonical(doc);
	if (*json_out == NULL) {
		rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "seal: out of memory");
		goto out;
	}
	rc = CF_OK;
out:
	json_decref(doc);
	free(salt_b64);
	free(sealed_b64);
	free(sealed);
	cf_key_free(kek);
	return rc;
}

/*
 * Allocates *out. A malformed document, unknown KDF, out-of-range limits or
 * wrong field sizes are CF_EINVAL; a passphrase that does not open the
 * sealed key (or a sealed key altered in place: the two are the same to
 * AEAD) is CF_EUNAUTH.
 */
cf_rc cf_root_key_unseal(const char *json, const char *pass, size_t passlen, cf_key **out, cf_err *err)
{
	json_t *doc = NULL;
	const char *kdf = NULL, *salt_b64 = NULL, *sealed_b64 = NULL;
	json_int_t ops = 0, mem = 0;
	uint8_t *salt = NULL, *sealed = NULL;
	size_t saltlen = 0, sealedlen = 0, jlen;
	cf_key *kek = NULL;
	cf_rc rc;

	*out = NULL;
	if (json == NULL || (pass == NULL && passlen > 0))
		return cf_err_set(err, CF_EINVAL, CF_P_INTERNAL, "unseal: no document");
	jlen = strnlen(json, SEAL_DOC_MAX + 1);
	if (jlen > SEAL_DOC_MAX)
		return cf_err_set(err, CF_EINVAL, CF_P_TOO_LONG, "seal document is longer than %d bytes", SEAL_DOC_MAX);
	rc = cf_json_parse(json, jlen, 2, &doc, err);
	if (rc != CF_OK)
		goto out;
	rc = cf_json_unpack(err, "seal document", doc, "{s:s, s:I, s:I, s:s, s:s}", "kdf", &kdf, "opslimit", &ops,
			    "memlimit", &mem, "salt", &salt_b64, "sealed", &sealed_b64);
	if (rc != CF_OK)
		goto out;
	if (strcmp(kdf, SEAL_KDF_NAME) != 0) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "seal document: kdf must be \"%s\"", SEAL_KDF_NAME);
		goto out;
	}
	/* A document must not be able to make us burn a gigabyte or an hour, nor to be weak. */
	if (ops < (json_int_t)crypto_pwhash_OPSLIMIT_INTERACTIVE || ops > (json_int_t)crypto_pwhash_OPSLIMIT_SENSITIVE ||
	    mem < (json_int_t)crypto_pwhash_MEMLIMIT_INTERACTIVE || mem > (json_int_t)crypto_pwhash_MEMLIMIT_SENSITIVE) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "seal document: opslimit or memlimit out of range");
		goto out;
	}
	if (cf_b64_decode(salt_b64, strlen(salt_b64), &salt, &saltlen) != CF_OK ||
	    saltlen != crypto_pwhash_SALTBYTES) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "seal document: salt is not 16 base64 bytes");
		goto out;
	}
	if (cf_b64_decode(sealed_b64, strlen(sealed_b64), &sealed, &sealedlen) != CF_OK || sealedlen != SEALED_LEN) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "seal document: sealed is not %d base64 bytes",
				SEALED_LEN);
		goto out;
	}
	if (passlen == 0 || passlen > PW_MAX_LEN) {
		rc = cf_err_set(err, CF_EUNAUTH, CF_P_INVALID_CREDENTIALS, "wrong passphrase for the sealed root key");
		goto out;
	}
	rc = passphrase_key(pass, passlen, salt, (unsigned long long)ops, (size_t)mem, &kek);
	if (rc != CF_OK) {
		cf_err_set(err, rc, CF_P_INTERNAL, "unseal: Argon2id could not run (out of memory)");
		goto out;
	}
	rc = cf_key_unwrap(kek, sealed, sealedlen, SEAL_AD, out);
	if (rc == CF_EINTEGRITY)
		rc = cf_err_set(err, CF_EUNAUTH, CF_P_INVALID_CREDENTIALS, "wrong passphrase for the sealed root key");
	else if (rc != CF_OK)
		cf_err_set(err, rc, CF_P_INTERNAL, "unseal: out of memory");
out:
	cf_key_free(kek);
	if (salt != NULL)
		cf_wipe_free(salt, saltlen + 1);
	if (sealed != NULL)
		cf_wipe_free(sealed, sealedlen + 1);
	json_decref(doc);
	return rc;
}
