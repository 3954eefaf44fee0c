/*
 * crypto.h - every cryptographic primitive coffre uses, over libsodium.
 * This is the only module that includes <sodium.h>. Keys live in
 * sodium_malloc'd, mlock'd memory and are wiped on free; secrets are
 * compared in constant time. Nothing here ever logs or prints a secret.
 */
#ifndef CF_CRYPTO_H
#define CF_CRYPTO_H

#include "common/cf.h"

#define CF_KEY_LEN 32
#define CF_AEAD_NONCE_LEN 24
#define CF_AEAD_TAG_LEN 16
#define CF_AEAD_OVERHEAD (CF_AEAD_NONCE_LEN + CF_AEAD_TAG_LEN)
#define CF_HEX256_LEN 65 /* 64 hex digits + NUL */
#define CF_PWHASH_STR_LEN 128

typedef struct cf_key cf_key; /* opaque: 32 secret bytes in guarded memory */

/* sodium_init(); must be called once before anything else. */
cf_rc cf_crypto_init(void) CF_MUST_CHECK;

/* Disables core dumps and ptrace attachment (PR_SET_DUMPABLE 0, RLIMIT_CORE 0). */
void cf_process_harden(void);

/* Key lifecycle. _new functions return NULL on allocation failure. */
cf_key *cf_key_new_random(const cf_env *env);
cf_key *cf_key_new_from_bytes(const uint8_t *bytes, size_t len); /* len must be CF_KEY_LEN */
cf_key *cf_key_derive(const cf_key *master, uint64_t subkey_id, const char context[8]);
void cf_key_free(cf_key *k); /* wipes; NULL is fine */

/*
 * AEAD: XChaCha20-Poly1305-IETF with a random 24-byte nonce.
 * Sealed layout: nonce || ciphertext || tag. *out is malloc'd.
 * cf_aead_open fails with CF_EINTEGRITY when the key, the associated data
 * or any byte is wrong; the plaintext it returns is malloc'd with one extra
 * NUL byte after *outlen (convenient for text), and the caller wipes it
 * with cf_wipe_free(p, len + 1).
 */
cf_rc cf_aead_seal(const cf_env *env, const cf_key *k, const uint8_t *pt, size_t ptlen, const uint8_t *ad,
		   size_t adlen, uint8_t **out, size_t *outlen) CF_MUST_CHECK;
cf_rc cf_aead_open(const cf_key *k, const uint8_t *ct, size_t ctlen, const uint8_t *ad, size_t adlen, uint8_t **out,
		   size_t *outlen) CF_MUST_CHECK;

/* Key wrapping: AEAD of a key under a key-encryption key, AD = the given label. */
cf_rc cf_key_wrap(const cf_env *env, const cf_key *kek, const cf_key *k, const char *ad, uint8_t **out,
		  size_t *outlen) CF_MUST_CHECK;
cf_rc cf_key_unwrap(const cf_key *kek, const uint8_t *wrapped, size_t len, const char *ad, cf_key **out) CF_MUST_CHECK;

/*
 * Keyed blind index: hex of BLAKE2b-256 keyed with k over domain || 0x00 || data.
 * Deterministic for a given key, useless without it.
 */
void cf_blind_index(const cf_key *k, const char *domain, const void *data, size_t len, char out[CF_HEX256_LEN]);

/* Unkeyed BLAKE2b-256 hex of a high-entropy secret (tokens, API keys), for storage. */
void cf_hash_secret(const void *secret, size_t len, char out[CF_HEX256_LEN]);

/*
 * Passwords: Argon2id (crypto_pwhash_str_alg, ARGON2ID13). Limits default to
 * libsodium's INTERACTIVE; cf_password_set_limits lowers them for tests only.
 * Verify returns CF_OK or CF_EUNAUTH; cf_password_dummy_verify spends the same
 * time so that an unknown username is not distinguishable by timing.
 */
cf_rc cf_password_hash(const char *pw, size_t len, char out[CF_PWHASH_STR_LEN]) CF_MUST_CHECK;
cf_rc cf_password_verify(const char *hash, const char *pw, size_t len) CF_MUST_CHECK;
void cf_password_dummy_verify(const char *pw, size_t len);
void cf_password_set_limits(unsigned long long opslimit, size_t memlimit);

/* Random URL-safe token of nbytes entropy (base64url, no padding) into out. */
cf_rc cf_random_token(const cf_env *env, size_t nbytes, char *out, size_t outsize) CF_MUST_CHECK;
/* The same, its first plen (< nbytes) bytes given rather than drawn. */
cf_rc cf_prefixed_token(const cf_env *env, const uint8_t *prefix, size_t plen, size_t nbytes, char *out,
			size_t outsize) CF_MUST_CHECK;

/*
 * Random bytes for one operation that draws several times (a create: two
 * ids, a data key and its wrapping's nonce, a nonce per field), taken from
 * base's generator CF_RANDOM_POOL_BYTES at a time instead of one call per
 * draw: each call is a system call (getrandom), 1.2 to 1.4 µs in a loop
 * on the virtual machine of docs/performance.md and more under load, some
 * ten of them per create (whose draws, with six fields, take 248 bytes). The pool lives on its operation's stack, for
 * that operation only: a byte it hands out is wiped from it at once, and
 * cf_random_pool_end wipes what is left, so that no drawn byte outlives
 * the operation in it (nothing for a fork or a copied machine to replay
 * later). A draw that the rest of the pool cannot serve refills it (the
 * rest overwritten, never served); one larger than the pool goes to base.
 * The pool must not move between begin and end.
 */
#define CF_RANDOM_POOL_BYTES 256 /* libsodium's getrandom calls draw at most 256 bytes each */
typedef struct cf_random_pool {
	cf_env env;         /* base's clock; its random serves from buf */
	const cf_env *base;
	size_t left;        /* bytes not yet served, at the end of buf */
	uint8_t buf[CF_RANDOM_POOL_BYTES];
} cf_random_pool;

/* Empties p over base; returns the environment to draw from (p's). */
const cf_env *cf_random_pool_begin(cf_random_pool *p, const cf_env *base);
void cf_random_pool_end(cf_random_pool *p); /* wipes; p may begin again */

bool cf_ct_equal(const void *a, const void *b, size_t n);
void cf_wipe(void *p, size_t n);
void cf_wipe_free(void *p, size_t n); /* wipe then free; NULL is fine */

/* Base64 (standard alphabet, padded) and hex; outputs malloc'd, NUL-terminated. */
cf_rc cf_b64_encode(const uint8_t *in, size_t len, char **out) CF_MUST_CHECK;
cf_rc cf_b64_decode(const char *in, size_t len, uint8_t **out, size_t *outlen) CF_MUST_CHECK; /* CF_EINVAL on bad input */
cf_rc cf_hex_encode(const uint8_t *in, size_t len, char **out) CF_MUST_CHECK;

/*
 * Root key at rest.
 * Development: a key file (base64 of 32 bytes, mode 0600, created O_EXCL).
 * Passphrase: a JSON seal document {"kdf":"argon2id13","opslimit":N,
 * "memlimit":N,"salt":b64,"sealed":b64} where sealed = AEAD of the root key
 * under Argon2id(passphrase, salt) at MODERATE limits. A wrong passphrase
 * gives CF_EUNAUTH; a damaged document CF_EINVAL.
 */
cf_rc cf_root_key_write_file(const char *path, const cf_key *root, cf_err *err) CF_MUST_CHECK;
cf_rc cf_root_key_read_file(const char *path, cf_key **out, cf_err *err) CF_MUST_CHECK;
cf_rc cf_root_key_seal(const cf_env *env, const cf_key *root, const char *pass, size_t passlen, char **json_out,
		       cf_err *err) CF_MUST_CHECK;
cf_rc cf_root_key_unseal(const char *json, const char *pass, size_t passlen, cf_key **out, cf_err *err) CF_MUST_CHECK;

/*
 * ---- Signatures ----
 * Ed25519 (RFC 8032) over libsodium, for signed audit checkpoints.
 * The secret key lives in sodium_malloc'd, read-only memory and is wiped on
 * free; only the public key ever leaves this module.
 */
#define CF_SIGN_PUBLIC_LEN 32
#define CF_SIGN_BYTES 64

typedef struct cf_sign_key cf_sign_key; /* secret key in sodium_malloc'd memory */

/*
 * The Ed25519 key pair whose RFC 8032 seed is the 32 secret bytes of seed
 * (derived from the root key by the caller). NULL on allocation failure or
 * a NULL seed. Free with cf_sign_key_free.
 */
cf_sign_key *cf_sign_key_from_seed(const cf_key *seed);
void cf_sign_key_free(cf_sign_key *k); /* wipes; NULL is fine */
void cf_sign_key_public(const cf_sign_key *k, uint8_t pub[CF_SIGN_PUBLIC_LEN]);
/* Deterministic Ed25519 signature of msg; CF_EINVAL on NULL arguments. */
cf_rc cf_sign(const cf_sign_key *k, const void *msg, size_t len, uint8_t sig[CF_SIGN_BYTES]) CF_MUST_CHECK;
/* True only when sig is a valid Ed25519 signature of msg under pub. */
bool cf_sign_verify(const uint8_t pub[CF_SIGN_PUBLIC_LEN], const void *msg, size_t len,
		    const uint8_t sig[CF_SIGN_BYTES]);
/* ---- end Signatures ---- */

#endif
