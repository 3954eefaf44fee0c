/*
 * vault_defs.c - parsed collection definitions and grant sets, shared
 * between requests.
 *
 * Every personal-data request needs its collection's definition and the
 * grants of the caller's roles. Reading them is one indexed row each;
 * parsing them (JSON, then the schema or the grants) cost more than the
 * rest of the policy decision together. So the request still reads the
 * stored text in its own transaction, and only the parse is shared: an
 * entry is used when its text is, byte for byte, the text just read.
 * What a request decides on is therefore exactly what its snapshot holds,
 * with or without the cache: a changed definition or a revoked grant
 * needs no invalidation, and a stale entry is never used, only replaced.
 *
 * The table is direct-mapped (CACHE_SLOTS entries, a colliding key
 * replaces the one in its slot), so its size is bounded whatever the
 * number of organizations. Entries are reference counted: a request
 * holds its entries until vault_def_release, and a replaced entry is
 * freed by the last holder. `mu` guards the slots and the counts.
 */
#include "common/cf.h"
#include "vault/vault_int.h"

#include <sodium.h>

#define CACHE_SLOTS 512

typedef enum def_kind { DEF_COLLECTION, DEF_GRANTS } def_kind;

struct vault_def {
	int refs;      /* the slot's reference and the holders' (guarded by mu) */
	def_kind kind;
	char *key;     /* kind, organization and name, NUL-separated (key_len bytes) */
	size_t key_len;
	char *text;    /* the stored definition it was parsed from */
	size_t text_len;
	void *obj;     /* cf_collection * or cf_grant_set * */
};

struct vault_defs {
	pthread_mutex_t mu;
	uint8_t hash_key[crypto_shorthash_KEYBYTES]; /* slots are not chosen by whoever names collections */
	vault_def *slot[CACHE_SLOTS];
};

static void def_free(vault_def *d)
{
	if (d == NULL)
		return;
	if (d->kind == DEF_COLLECTION)
		cf_collection_free(d->obj);
	else
		cf_grants_free(d->obj);
	free(d->key);
	free(d->text);
	free(d);
}

vault_defs *vault_defs_new(void)
{
	vault_defs *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	if (pthread_mutex_init(&c->mu, NULL) != 0) {
		free(c);
		return NULL;
	}
	randombytes_buf(c->hash_key, sizeof(c->hash_key));
	return c;
}

void vault_defs_free(vault_defs *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < CACHE_SLOTS; i++) {
		/* every request has ended: the slot holds the last reference */
		def_free(c->slot[i]);
	}
	(void)pthread_mutex_destroy(&c->mu);
	free(c);
}

void vault_def_release(vault_defs *c, vault_def *d)
{
	bool last;

	if (d == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	last = --d->refs == 0;
	pthread_mutex_unlock(&c->mu);
	if (last)
		def_free(d);
}

/* The key "k\0org\0name": an organization or a name cannot run into the next part. */
static char *make_key(def_kind kind, const char *org, const char *name, size_t *len)
{
	size_t lo = strlen(org), ln = strlen(name);
	char *k = malloc(2 + lo + 1 + ln + 1);

	if (k == NULL)
		return NULL;
	k[0] = kind == DEF_COLLECTION ? 'c' : 'g';
	k[1] = '\0';
	memcpy(k + 2, org, lo + 1);
	memcpy(k + 2 + lo + 1, name, ln + 1);
	*len = 2 + lo + 1 + ln + 1;
	return k;
}

static size_t slot_of(const vault_defs *c, const char *key, size_t len)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, (const uint8_t *)key, len, c->hash_key);
	memcpy(&v, h, sizeof(v));
	return (size_t)(v % CACHE_SLOTS);
}

/* The entry for key whose text is text, with a reference for the caller, or NULL. */
static vault_def *lookup(vault_defs *c, size_t slot, const char *key, size_t key_len, const char *text,
			 size_t text_len)
{
	vault_def *d;

	pthread_mutex_lock(&c->mu);
	d = c->slot[slot];
	if (d != NULL && d->key_len == key_len && memcmp(d->key, key, key_len) == 0 && d->text_len == text_len &&
	    memcmp(d->text, text, text_len) == 0)
		d->refs++;
	else
		d = NULL;
	pthread_mutex_unlock(&c->mu);
	return d;
}

/* Puts d (one reference for the caller) in its slot; the entry it replaces loses the slot's reference. */
static void insert(vault_defs *c, size_t slot, vault_def *d)
{
	vault_def *old;

	pthread_mutex_lock(&c->mu);
	old = c->slot[slot];
	c->slot[slot] = d;
	d->refs = 2;
	if (old != NULL && --old->refs > 0)
		old = NULL; /* a request still holds it: its last release frees it */
	pthread_mutex_unlock(&c->mu);
	def_free(old);
}

/* text: read in the caller's transaction (consumed). */
static cf_rc get(vault_defs *c, def_kind kind, const char *org, const char *name, char *text, const void **obj,
		 vault_def **hold, cf_err *err)
{
	size_t key_len = 0, text_len = strlen(text), slot;
	char *key = make_key(kind, org, name, &key_len);
	vault_def *d;
	cf_rc rc;

	if (key == NULL) {
		free(text);
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
	}
	slot = slot_of(c, key, key_len);
	d = lookup(c, slot, key, key_len, text, text_len);
	if (d != NULL) {
		free(key);
		free(text);
		*obj = d->obj;
		*hold = d;
		return CF_OK;
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		free(key);
		free(text);
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
	}
	d->kind = kind;
	d->key = key;
	d->key_len = key_len;
	d->text = text;
	d->text_len = text_len;
	rc = vault_parse_def(kind == DEF_COLLECTION ? name : NULL, text, &d->obj, err);
	if (rc != CF_OK) {
		def_free(d);
		return rc;
	}
	insert(c, slot, d);
	*obj = d->obj;
	*hold = d;
	return CF_OK;
}

cf_rc vault_collection_get(vault_defs *c, cf_tx *tx, const char *org, const char *name, const cf_collection **out,
			   vault_def **hold, cf_err *err)
{
	char *def = NULL;
	cf_rc rc;

	*out = NULL;
	*hold = NULL;
	rc = vault_collection_text(tx, org, name, &def, err);
	if (rc != CF_OK)
		return rc;
	return get(c, DEF_COLLECTION, org, name, def, (const void **)out, hold, err);
}

cf_rc vault_grants_get(vault_defs *c, cf_tx *tx, const char *org, const char *role, const cf_grant_set **out,
		       vault_def **hold, cf_err *err)
{
	char *text = NULL;
	cf_rc rc;

	*out = NULL;
	*hold = NULL;
	rc = vault_grants_text(tx, org, role, &text, err);
	if (rc != CF_OK)
		return rc;
	/* no grants declared reads as "[]": the empty set, cached like any other */
	return get(c, DEF_GRANTS, org, role, text, (const void **)out, hold, err);
}
