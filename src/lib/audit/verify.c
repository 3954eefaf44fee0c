/*
 * verify.c - offline verification of the trail (see verify.h).
 *
 * One pass over the entries in index order with a streaming Merkle
 * builder (O(log n) memory): each entry's recomputed leaf is compared with
 * the stored one and its stated index with its position; each perfect
 * subtree the builder completes is compared with the stored node; the
 * builder's root is compared with every checkpoint when the pass reaches
 * its size. Nothing is written.
 */
#include "common/cf.h"
#include "audit/verify.h"
#include "crypto/crypto.h"
#include "merkle/merkle.h"

#define MAX_CHECKPOINTS_KEPT 1000000

typedef struct ckpt {
	int64_t size;
	uint8_t root[32];
} ckpt;

typedef struct vstate {
	cf_tx *tx;
	const cf_note_verifier *key;
	cf_verify_report *rep;
	cf_merkle_builder b;
	ckpt *ck;
	size_t n_ck, cap_ck, next_ck;
	int64_t expect;        /* next index expected */
	int64_t last_good_ck;  /* size of the last checkpoint that matched */
	bool node_mismatch;
	/* one cursor per level over the stored nodes, and the node it last read */
	cf_audit_node_cursor *cur[64];
	int64_t next_idx[64]; /* -1: none read yet or past the last */
	uint8_t next_hash[64][32];
} vstate;

static void fail(vstate *st, int64_t index, const char *fmt, ...) CF_PRINTF(3, 4);
static void fail(vstate *st, int64_t index, const char *fmt, ...)
{
	va_list ap;
	if (!st->rep->ok)
		return; /* keep the first problem */
	st->rep->ok = false;
	st->rep->first_bad_index = index;
	va_start(ap, fmt);
	(void)vsnprintf(st->rep->problem, sizeof(st->rep->problem), fmt, ap);
	va_end(ap);
}

static cf_rc add_ckpt(vstate *st, int64_t size, const uint8_t root[32])
{
	if (st->n_ck == st->cap_ck) {
		size_t ncap = st->cap_ck ? st->cap_ck * 2 : 64;
		ckpt *n;
		if (ncap > MAX_CHECKPOINTS_KEPT)
			return CF_ETOOBIG;
		n = realloc(st->ck, ncap * sizeof(*n));
		if (n == NULL)
			return CF_ENOMEM;
		st->ck = n;
		st->cap_ck = ncap;
	}
	st->ck[st->n_ck].size = size;
	memcpy(st->ck[st->n_ck].root, root, 32);
	st->n_ck++;
	return CF_OK;
}

static cf_rc on_checkpoint(void *ctx, int64_t size, const uint8_t root[32], const char *note)
{
	vstate *st = ctx;
	int64_t nsize = -1;
	uint8_t nroot[32];
	cf_err e = {0};

	st->rep->checkpoints++;
	st->rep->latest_checkpoint = size;
	if (st->key != NULL) {
		if (cf_checkpoint_verify(note, strlen(note), st->key, NULL, &nsize, nroot, &e) != CF_OK) {
			fail(st, -1, "the stored checkpoint of size %lld does not verify: %s", (long long)size, e.detail);
			return CF_OK;
		}
		if (nsize != size || !cf_ct_equal(nroot, root, 32)) {
			fail(st, -1, "the stored checkpoint of size %lld does not match its signed note", (long long)size);
			return CF_OK;
		}
	}
	return add_ckpt(st, size, root);
}

static int cmp_ckpt(const void *a, const void *b)
{
	int64_t x = ((const ckpt *)a)->size, y = ((const ckpt *)b)->size;
	return x < y ? -1 : x > y;
}

/* Compares the builder's root with every checkpoint whose size the pass has reached. */
static void check_roots(vstate *st)
{
	while (st->next_ck < st->n_ck && st->ck[st->next_ck].size <= st->b.size) {
		const ckpt *c = &st->ck[st->next_ck++];
		uint8_t root[32];
		if (c->size < st->b.size)
			continue; /* a size the pass skipped: cannot happen with sorted sizes, kept for safety */
		cf_merkle_builder_root(&st->b, root);
		if (!cf_ct_equal(root, c->root, 32)) {
			fail(st, st->last_good_ck,
			     "the entries do not match the signed checkpoint of size %lld: an entry at or after index %lld "
			     "and before %lld was changed, removed or reordered",
			     (long long)c->size, (long long)st->last_good_ck, (long long)c->size);
		} else {
			st->last_good_ck = c->size;
		}
	}
}

/*
 * The stored node (level, index), read from that level's cursor: the
 * builder completes a level's nodes in index order, so each cursor only
 * moves forward (no search per node). CF_ENOTFOUND when it is not stored.
 */
static cf_rc stored_node(vstate *st, int level, int64_t index, uint8_t out[32])
{
	cf_rc rc;

	if (st->cur[level] == NULL) {
		if ((rc = cf_st_audit_node_cursor_open(st->tx, level, index, &st->cur[level], NULL)) != CF_OK)
			return rc;
		st->next_idx[level] = -1;
	}
	while (st->next_idx[level] < index) {
		rc = cf_st_audit_node_cursor_next(st->cur[level], &st->next_idx[level], st->next_hash[level], NULL);
		if (rc != CF_OK) {
			st->next_idx[level] = INT64_MAX; /* past the last: every later node of the level is missing */
			return rc;
		}
	}
	if (st->next_idx[level] != index)
		return CF_ENOTFOUND;
	memcpy(out, st->next_hash[level], 32);
	return CF_OK;
}

static void on_node(void *ctx, int level, int64_t index, const uint8_t hash[32])
{
	vstate *st = ctx;
	uint8_t stored[32];
	cf_rc rc;

	if (st->node_mismatch)
		return;
	rc = stored_node(st, level, index, stored);
	if (rc != CF_OK || !cf_ct_equal(stored, hash, 32)) {
		int64_t first = index << level;
		st->node_mismatch = true;
		fail(st, first,
		     "tree node (level %d, index %lld) %s: an entry between index %lld and %lld was changed, removed or "
		     "reordered",
		     level, (long long)index, rc == CF_OK ? "does not match the entries" : "is missing", (long long)first,
		     (long long)(first + ((int64_t)1 << level) - 1));
	}
}

/* The "index" member of a canonical entry (top-level keys are sorted; nested objects have no "index"). */
static int64_t stated_index(const char *entry, size_t len)
{
	const char *p = memmem(entry, len, "\"index\":", 8);
	char *end = NULL;
	long long v;
	if (p == NULL)
		return -1;
	v = strtoll(p + 8, &end, 10);
	return (end == p + 8) ? -1 : (int64_t)v;
}

static cf_rc on_entry(void *ctx, int64_t index, const char *entry, size_t len, const uint8_t leaf[32])
{
	vstate *st = ctx;
	uint8_t mine[32];

	if (index != st->expect) {
		fail(st, st->expect, "entry %lld is missing (the next stored entry is %lld)", (long long)st->expect,
		     (long long)index);
		st->expect = index;
	}
	cf_merkle_leaf_hash(entry, len, mine);
	if (!cf_ct_equal(mine, leaf, 32))
		fail(st, index, "entry %lld was changed: its bytes do not match its leaf hash", (long long)index);
	else if (stated_index(entry, len) != index)
		fail(st, index, "entry %lld is out of place: it states index %lld", (long long)index,
		     (long long)stated_index(entry, len));
	cf_merkle_builder_push(&st->b, mine, on_node, st);
	st->expect = index + 1;
	check_roots(st);
	return CF_OK;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[2 * n] = '\0';
}

cf_rc cf_audit_verify(cf_store *s, const cf_note_verifier *key, const char *external, size_t external_len,
		      cf_verify_report *rep, cf_err *err)
{
	vstate st;
	int64_t ext_size = -1;
	uint8_t ext_root[32], root[32];
	cf_rc rc;

	memset(rep, 0, sizeof(*rep));
	memset(&st, 0, sizeof(st));
	rep->ok = true;
	rep->first_bad_index = -1;
	rep->latest_checkpoint = -1;
	rep->external_size = -1;
	st.rep = rep;
	st.key = key;
	cf_merkle_builder_init(&st.b);

	if (external != NULL) {
		cf_err e = {0};
		if (key == NULL)
			return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "a verifier key is needed to check a checkpoint");
		if (cf_checkpoint_verify(external, external_len, key, NULL, &ext_size, ext_root, &e) != CF_OK) {
			rep->ok = false;
			(void)snprintf(rep->problem, sizeof(rep->problem), "the given checkpoint does not verify: %s", e.detail);
			return CF_OK;
		}
		rep->external_size = ext_size;
	}
	rc = cf_store_begin(s, false, &st.tx, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_st_audit_count(st.tx, &rep->entries, err);
	if (rc == CF_OK)
		rc = cf_st_checkpoint_scan(st.tx, on_checkpoint, &st, err);
	if (rc == CF_OK && ext_size >= 0)
		rc = add_ckpt(&st, ext_size, ext_root) == CF_OK ? CF_OK : cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
	if (rc != CF_OK)
		goto out;
	if (st.n_ck > 1) /* st.ck is NULL when there is no checkpoint: qsort's base must not be */
		qsort(st.ck, st.n_ck, sizeof(*st.ck), cmp_ckpt);
	check_roots(&st); /* size-0 checkpoints */
	rc = cf_st_audit_scan(st.tx, 0, rep->entries, on_entry, &st, err);
	if (rc != CF_OK)
		goto out;
	if (st.expect < rep->entries)
		fail(&st, st.expect, "entries from %lld on are missing", (long long)st.expect);
	cf_merkle_builder_root(&st.b, root);
	hex(root, 32, rep->root_hex);
	if (rep->latest_checkpoint > rep->entries)
		fail(&st, rep->entries,
		     "the trail has %lld entries but a stored checkpoint covers %lld: entries from %lld on were removed",
		     (long long)rep->entries, (long long)rep->latest_checkpoint, (long long)rep->entries);
	if (ext_size > rep->entries)
		fail(&st, rep->entries,
		     "the trail has %lld entries but the given checkpoint covers %lld: the trail was rolled back or "
		     "truncated; entries from %lld on are gone",
		     (long long)rep->entries, (long long)ext_size, (long long)rep->entries);
out:
	for (int l = 0; l < 64; l++)
		cf_st_audit_node_cursor_close(st.cur[l]);
	cf_tx_rollback(st.tx);
	free(st.ck);
	return rc;
}
