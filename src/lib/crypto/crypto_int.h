/*
 * crypto_int.h - what the files of the crypto module share and nobody else
 * may see: the layout of a cf_key. Only the .c files of src/lib/crypto
 * include this; any other module that needs key bytes is doing something
 * wrong and must go through crypto.h instead.
 */
#ifndef CF_CRYPTO_INT_H
#define CF_CRYPTO_INT_H

#include "crypto/crypto.h"

struct cf_key {
	/*
	 * CF_KEY_LEN bytes: from sodium_malloc (guard pages, mlock'd, read-only
	 * once set), or, for the keys unwrapped and created on every request
	 * (subject data keys), a slot of one locked pool (see crypto.c).
	 */
	unsigned char *bytes;
	bool pooled;
};

#endif
