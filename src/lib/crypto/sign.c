/*
 * sign.c - Ed25519 signatures (RFC 8032) over libsodium, used to sign the
 * audit trail's checkpoints.
 *
 * Part of the crypto module, the only one that includes <sodium.h>. It must
 * never log, print or put into an error a seed or a secret key, and the
 * secret key lives only in sodium_malloc'd memory that is read-only while
 * in use and wiped when freed.
 */
#include "common/cf.h"
#include "crypto/crypto.h"

#include "crypto/crypto_int.h" /* struct cf_key: the seed bytes */

#include <sodium.h>

_Static_assert(CF_SIGN_PUBLIC_LEN == crypto_sign_ed25519_PUBLICKEYBYTES, "Ed25519 public key size");
_Static_assert(CF_SIGN_BYTES == crypto_sign_ed25519_BYTES, "Ed25519 signature size");
_Static_assert(CF_KEY_LEN == crypto_sign_ed25519_SEEDBYTES, "Ed25519 seed size");

struct cf_sign_key {
	unsigned char *sk; /* libsodium's 64-byte secret key (seed || public key), guarded and read-only */
};

/* libsodium takes (NULL, 0) as empty, but UB checkers prefer a real pointer. */
static const unsigned char empty_msg;

/*
 * Allocates the key pair in guarded memory; NULL when that memory cannot be
 * had or seed is NULL. The public key is derived, not stored apart: it sits
 * in the second half of libsodium's secret key.
 */
cf_sign_key *cf_sign_key_from_seed(const cf_key *seed)
{
	unsigned char pk[crypto_sign_ed25519_PUBLICKEYBYTES];
	cf_sign_key *k;

	if (seed == NULL || sodium_init() < 0)
		return NULL;
	k = malloc(sizeof(*k));
	if (k == NULL)
		return NULL;
	k->sk = sodium_malloc(crypto_sign_ed25519_SECRETKEYBYTES);
	if (k->sk == NULL) {
		free(k);
		return NULL;
	}
	if (crypto_sign_ed25519_seed_keypair(pk, k->sk, seed->bytes) != 0) {
		cf_sign_key_free(k);
		return NULL;
	}
	(void)sodium_mprotect_readonly(k->sk);
	return k;
}

void cf_sign_key_free(cf_sign_key *k)
{
	if (k == NULL)
		return;
	sodium_free(k->sk); /* makes writable, wipes, unlocks, unmaps */
	free(k);
}

void cf_sign_key_public(const cf_sign_key *k, uint8_t pub[CF_SIGN_PUBLIC_LEN])
{
	CF_ASSERT(k != NULL && pub != NULL);
	if (crypto_sign_ed25519_sk_to_pk(pub, k->sk) != 0)
		CF_BUG("Ed25519 public key extraction failed");
}

/* Fails with CF_EINVAL on NULL arguments, CF_ECRYPTO if libsodium refuses (it never should). */
cf_rc cf_sign(const cf_sign_key *k, const void *msg, size_t len, uint8_t sig[CF_SIGN_BYTES])
{
	unsigned long long siglen = 0;

	if (k == NULL || sig == NULL || (msg == NULL && len > 0))
		return CF_EINVAL;
	if (crypto_sign_ed25519_detached(sig, &siglen, len > 0 ? msg : &empty_msg, len, k->sk) != 0 ||
	    siglen != CF_SIGN_BYTES) {
		sodium_memzero(sig, CF_SIGN_BYTES);
		return CF_ECRYPTO;
	}
	return CF_OK;
}

/*
 * libsodium's verification is the strict kind: it refuses non-canonical
 * encodings of S and small-order public keys, so a signature cannot be
 * malleated into a second valid one.
 */
bool cf_sign_verify(const uint8_t pub[CF_SIGN_PUBLIC_LEN], const void *msg, size_t len,
		    const uint8_t sig[CF_SIGN_BYTES])
{
	if (pub == NULL || sig == NULL || (msg == NULL && len > 0))
		return false;
	return crypto_sign_ed25519_verify_detached(sig, len > 0 ? msg : &empty_msg, len, pub) == 0;
}
