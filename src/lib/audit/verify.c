/*
 * verify.c - offline verification of the trail (see verify.h).
 *
 * One pass over the entries in index order with a streaming Merkle
 * builder (O(log n) memory): each entry's recomputed leaf is compared with
 * the stored one and its stated index with its position; each perfect
 * subtree the builder completes is compared with the stored node; the
 * builder's root is compared with every checkpoint when the pass reaches
 * its size. Nothing is written.
 *
 * The pass is a two-stage pipeline over two cores. The store's connection
 * is opened without SQLite's mutexes, so the calling thread alone touches
 * the transaction: it reads the entries in chunks (their indexes, a copy of
 * their bytes and their stored leaves) and, for each chunk, the stored
 * tree nodes that the chunk's leaves complete (one forward-only cursor: the
 * store keeps nodes in the order appends complete them, the order this
 * pass recomputes them), then hands the chunk to a hashing thread through a ring of
 * NBUF buffers. The hashing thread recomputes leaves and nodes, compares
 * them and checks the checkpoint roots in push order, exactly as a single
 * pass would, so the first problem and its index do not depend on the
 * chunking. Memory is O(chunk), never O(entries). A trail that fits in one
 * chunk, or a thread that cannot be started, is hashed inline.
 *
 * It must never write, never let the hashing thread touch the store, and
 * never put an entry's bytes in a problem (indexes, levels and sizes only).
 */
#include "common/cf.h"
#include "audit/verify.h"
#include "crypto/crypto.h"
#include "merkle/merkle.h"

#include <pthread.h>

#define MAX_CHECKPOINTS_KEPT 1000000

/* Entries per chunk and bytes of entries per chunk (whichever fills first; one entry always fits). */
static const size_t CHUNK_ENTRIES = 4096;
static const size_t CHUNK_BYTES = (size_t)4 << 20;
/* Chunk buffers: one being read, the others queued or being hashed. */
#define NBUF 3
/* A push count below 2^63 completes nodes of level 62 at most. */
#define MAX_LEVEL 62

/* Overrides for the tests (0: the defaults); read only by the thread that starts a verification. */
static size_t chunk_entries_for_tests;
static size_t chunk_bytes_for_tests;

typedef struct ckpt {
	int64_t size;
	uint8_t root[32];
} ckpt;

/* A stored node as the reader found it. */
typedef struct snode {
	uint8_t hash[32];
	bool found;
} snode;

/*
 * A chunk: n entries pushed at positions first .. first + n - 1. Entry i is
 * arena[off[i] .. off[i + 1]). Level l's nodes completed by those pushes are
 * lo[l] .. lo[l] + cnt[l] - 1, stored from nodes[base[l]] on (levels 1 .. top).
 */
typedef struct chunk {
	int64_t first;
	size_t n, cap;
	int64_t *idx;
	size_t *off;
	uint8_t (*leaf)[32];
	char *arena;
	size_t arena_cap;
	snode *nodes;
	size_t node_cap;
	int top;
	int64_t lo[MAX_LEVEL + 1];
	size_t base[MAX_LEVEL + 1], cnt[MAX_LEVEL + 1];
} chunk;

/* The reading stage: the transaction's thread only. */
typedef struct reader {
	cf_tx *tx;
	cf_err *err;
	int64_t pos; /* entries read so far: the builder's pushes */
	chunk *c;    /* the chunk being filled, NULL between chunks */
	/* one cursor over the stored nodes in completion order, and the node it last read */
	cf_audit_node_cursor *cur;
	int64_t next_pos; /* -1: none read yet; INT64_MAX: past the last */
	bool next_ok;     /* that node's stored hash is well formed */
	uint8_t next_hash[32];
} reader;

/* The hashing stage: the hashing thread during the pass, the caller before and after it. */
typedef struct hasher {
	cf_verify_report *rep;
	const ckpt *ck;
	size_t n_ck, next_ck;
	cf_merkle_builder b;
	int64_t expect;       /* next index expected */
	int64_t last_good_ck; /* size of the last checkpoint that matched */
	bool node_mismatch;
	const chunk *c; /* the chunk being hashed: its stored nodes */
} hasher;

/* The ring between the stages: chunk k lives in buf[k % nbuf]; the counters only grow. */
typedef struct ring {
	pthread_mutex_t mu;
	pthread_cond_t ready; /* the hasher waits for a chunk, the end or a stop */
	pthread_cond_t freed; /* the reader waits for a buffer */
	chunk buf[NBUF];
	size_t nbuf;
	uint64_t filled, hashed;
	bool done, stop;
	bool threaded;
} ring;

typedef struct vstate {
	const cf_note_verifier *key;
	cf_verify_report *rep;
	ckpt *ck;
	size_t n_ck, cap_ck;
	reader rd;
	hasher h;
	ring q;
} vstate;

static void fail(cf_verify_report *rep, int64_t index, const char *fmt, ...) CF_PRINTF(3, 4);
static void fail(cf_verify_report *rep, int64_t index, const char *fmt, ...)
{
	va_list ap;
	if (!rep->ok)
		return; /* keep the first problem */
	rep->ok = false;
	rep->first_bad_index = index;
	va_start(ap, fmt);
	(void)vsnprintf(rep->problem, sizeof(rep->problem), fmt, ap);
	va_end(ap);
}

/*
 * Every hash compared in this file is public (entries' leaves, tree nodes,
 * checkpoint roots, all served by the API or signed for anyone to check):
 * there is no secret for a timing difference to leak, so plain memcmp.
 */
static bool same_hash(const uint8_t a[32], const uint8_t b[32])
{
	return memcmp(a, b, 32) == 0;
}

/* Grows the checkpoint list (may allocate; refuses past MAX_CHECKPOINTS_KEPT). */
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
			fail(st->rep, -1, "the stored checkpoint of size %lld does not verify: %s", (long long)size,
			     e.detail);
			return CF_OK;
		}
		if (nsize != size || !same_hash(nroot, root)) {
			fail(st->rep, -1, "the stored checkpoint of size %lld does not match its signed note",
			     (long long)size);
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

/* ---- the hashing stage ------------------------------------------------ */

/* Compares the builder's root with every checkpoint whose size the pass has reached. */
static void check_roots(hasher *h)
{
	while (h->next_ck < h->n_ck && h->ck[h->next_ck].size <= h->b.size) {
		const ckpt *c = &h->ck[h->next_ck++];
		uint8_t root[32];
		if (c->size < h->b.size)
			continue; /* a size the pass skipped: cannot happen with sorted sizes, kept for safety */
		cf_merkle_builder_root(&h->b, root);
		if (!same_hash(root, c->root)) {
			fail(h->rep, h->last_good_ck,
			     "the entries do not match the signed checkpoint of size %lld: an entry at or after index %lld "
			     "and before %lld was changed, removed or reordered",
			     (long long)c->size, (long long)h->last_good_ck, (long long)c->size);
		} else {
			h->last_good_ck = c->size;
		}
	}
}

/* A node the builder completed, against the stored one the reader put in the chunk. */
static void on_node(void *ctx, int level, int64_t index, const uint8_t hash[32])
{
	hasher *h = ctx;
	const chunk *c = h->c;
	const snode *sn;

	if (h->node_mismatch)
		return;
	/* the reader fetched exactly the nodes the chunk's pushes complete */
	CF_ASSERT(level >= 1 && level <= c->top && index >= c->lo[level] &&
		  (uint64_t)(index - c->lo[level]) < (uint64_t)c->cnt[level]);
	sn = &c->nodes[c->base[level] + (size_t)(index - c->lo[level])];
	if (!sn->found || !same_hash(sn->hash, hash)) {
		int64_t first = index << level;
		h->node_mismatch = true;
		fail(h->rep, first,
		     "tree node (level %d, index %lld) %s: an entry between index %lld and %lld was changed, removed or "
		     "reordered",
		     level, (long long)index, sn->found ? "does not match the entries" : "is missing", (long long)first,
		     (long long)(first + ((int64_t)1 << level) - 1));
	}
}

/*
 * The "index" member of a canonical entry (top-level keys are sorted;
 * nested objects have no "index"), read as strtoll would (base 10,
 * saturating) but never past the entry's len bytes. -1 when absent.
 */
static int64_t stated_index(const char *entry, size_t len)
{
	const char *p = memmem(entry, len, "\"index\":", 8), *end = entry + len;
	uint64_t v = 0, lim;
	bool neg = false, any = false;

	if (p == NULL)
		return -1;
	p += 8;
	while (p < end && (*p == ' ' || (*p >= '\t' && *p <= '\r')))
		p++;
	if (p < end && (*p == '+' || *p == '-'))
		neg = *p++ == '-';
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		any = true;
		v = (v > (lim - d) / 10) ? lim : v * 10 + d;
	}
	if (!any)
		return -1;
	if (neg)
		return v > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)v;
	return (int64_t)v;
}

static void hash_chunk(hasher *h, const chunk *c)
{
	uint8_t mine[32];

	CF_ASSERT(h->b.size == c->first);
	h->c = c;
	for (size_t i = 0; i < c->n; i++) {
		int64_t index = c->idx[i];
		const char *entry = c->arena + c->off[i];
		size_t len = c->off[i + 1] - c->off[i];

		if (index != h->expect) {
			fail(h->rep, h->expect, "entry %lld is missing (the next stored entry is %lld)",
			     (long long)h->expect, (long long)index);
			h->expect = index;
		}
		cf_merkle_leaf_hash(entry, len, mine);
		if (!same_hash(mine, c->leaf[i]))
			fail(h->rep, index, "entry %lld was changed: its bytes do not match its leaf hash", (long long)index);
		else if (h->rep->ok && stated_index(entry, len) != index) /* once failed, only the first problem counts */
			fail(h->rep, index, "entry %lld is out of place: it states index %lld", (long long)index,
			     (long long)stated_index(entry, len));
		cf_merkle_builder_push(&h->b, mine, on_node, h);
		h->expect = index + 1;
		check_roots(h);
	}
	h->c = NULL;
}

/* The hashing thread: chunks in order until the reader is done or stops. */
static void *hash_main(void *arg)
{
	vstate *st = arg;
	ring *q = &st->q;

	for (;;) {
		const chunk *c;

		pthread_mutex_lock(&q->mu);
		while (q->hashed == q->filled && !q->done && !q->stop)
			pthread_cond_wait(&q->ready, &q->mu);
		if (q->stop || q->hashed == q->filled) {
			pthread_mutex_unlock(&q->mu);
			return NULL;
		}
		c = &q->buf[q->hashed % q->nbuf];
		pthread_mutex_unlock(&q->mu);

		hash_chunk(&st->h, c);

		pthread_mutex_lock(&q->mu);
		q->hashed++;
		pthread_cond_signal(&q->freed);
		pthread_mutex_unlock(&q->mu);
	}
}

/* ---- the reading stage (the transaction's thread) --------------------- */

/*
 * The stored node at position pos (cf_audit_node_pos) into out, from the
 * one cursor: the builder completes nodes in position order, so it only
 * moves forward. A node that is absent, or whose stored hash is malformed,
 * is not found (a verdict); any other failure of the store is an error
 * that stops the pass.
 */
static cf_rc stored_node(reader *r, int64_t pos, snode *out)
{
	cf_rc rc;

	if (r->cur == NULL) {
		rc = cf_st_audit_node_cursor_open(r->tx, pos, &r->cur, r->err);
		if (rc != CF_OK)
			return rc;
		r->next_pos = -1;
	}
	while (r->next_pos < pos) {
		cf_err e = {0};
		rc = cf_st_audit_node_cursor_next(r->cur, &r->next_pos, r->next_hash, &e);
		r->next_ok = rc == CF_OK;
		if (rc == CF_ENOTFOUND) {
			r->next_pos = INT64_MAX; /* past the last: every later node is missing */
			break;
		}
		/* a malformed hash is that node's verdict (next_ok); the cursor goes on past it */
		if (rc != CF_OK && rc != CF_EINTEGRITY) {
			if (r->err != NULL)
				*r->err = e;
			return rc;
		}
	}
	out->found = r->next_pos == pos && r->next_ok;
	if (out->found)
		memcpy(out->hash, r->next_hash, 32);
	return CF_OK;
}

/*
 * Reads the stored nodes completed by the chunk's pushes into their slots
 * (level by level, as the hasher looks them up), in completion order: push
 * p completes the nodes of levels 1 .. t where 2^t divides p + 1 (fails
 * only as stored_node).
 */
static cf_rc fetch_nodes(reader *r, chunk *c)
{
	int64_t last = c->first + (int64_t)c->n - 1;
	size_t k = 0;
	cf_rc rc;

	c->top = 0;
	for (int l = 1; l <= MAX_LEVEL; l++) {
		/* node i of level l is completed by push (i + 1) * 2^l - 1 */
		int64_t lo = c->first >> l, hi = ((last + 1) >> l) - 1;
		if (hi < lo)
			break; /* none at this level, so none above */
		c->lo[l] = lo;
		c->base[l] = k;
		c->cnt[l] = (size_t)(hi - lo + 1);
		k += c->cnt[l];
		CF_ASSERT(k <= c->node_cap);
		c->top = l;
	}
	for (int64_t p = c->first; p <= last; p++) {
		for (int l = 1; l <= c->top && ((p + 1) & (((int64_t)1 << l) - 1)) == 0; l++) {
			int64_t i = ((p + 1) >> l) - 1, pos;
			snode *sn = &c->nodes[c->base[l] + (size_t)(i - c->lo[l])];

			if (!cf_audit_node_pos(l, i, &pos)) {
				sn->found = false; /* beyond what the store can hold: missing */
				continue;
			}
			rc = stored_node(r, pos, sn);
			if (rc != CF_OK)
				return rc;
		}
	}
	return CF_OK;
}

/* A free buffer for the next chunk: waits while every buffer is queued or being hashed. */
static chunk *take_buffer(vstate *st)
{
	ring *q = &st->q;
	chunk *c;

	if (!q->threaded)
		return &q->buf[0];
	pthread_mutex_lock(&q->mu);
	while (q->filled - q->hashed == q->nbuf)
		pthread_cond_wait(&q->freed, &q->mu);
	c = &q->buf[q->filled % q->nbuf];
	pthread_mutex_unlock(&q->mu);
	return c;
}

/* Completes the chunk being filled with its stored nodes and hands it on (fails as stored_node). */
static cf_rc publish(vstate *st)
{
	ring *q = &st->q;
	chunk *c = st->rd.c;
	cf_rc rc = fetch_nodes(&st->rd, c);

	if (rc != CF_OK)
		return rc;
	st->rd.c = NULL;
	if (!q->threaded) {
		hash_chunk(&st->h, c);
		return CF_OK;
	}
	pthread_mutex_lock(&q->mu);
	q->filled++;
	pthread_cond_signal(&q->ready);
	pthread_mutex_unlock(&q->mu);
	return CF_OK;
}

/*
 * The scan's callback: copies the entry into the chunk being filled. May
 * wait for a free buffer; fails for memory (an entry larger than a chunk's
 * bytes grows that buffer's arena) or as publish.
 */
static cf_rc on_entry(void *ctx, int64_t index, const char *entry, size_t len, const uint8_t leaf[32])
{
	vstate *st = ctx;
	reader *r = &st->rd;
	chunk *c = r->c;
	cf_rc rc;

	if (c != NULL && len > c->arena_cap - c->off[c->n]) {
		rc = publish(st); /* the entry does not fit: it starts the next chunk */
		if (rc != CF_OK)
			return rc;
		c = NULL;
	}
	if (c == NULL) {
		c = r->c = take_buffer(st);
		c->first = r->pos;
		c->n = 0;
		c->off[0] = 0;
	}
	if (len > c->arena_cap) { /* one entry larger than a chunk's bytes: a chunk of its own */
		char *a = realloc(c->arena, len);
		if (a == NULL)
			return cf_err_set(r->err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
		c->arena = a;
		c->arena_cap = len;
	}
	if (len > 0)
		memcpy(c->arena + c->off[c->n], entry, len);
	c->idx[c->n] = index;
	memcpy(c->leaf[c->n], leaf, 32);
	c->off[c->n + 1] = c->off[c->n] + len;
	c->n++;
	r->pos++;
	if (c->n == c->cap)
		return publish(st);
	return CF_OK;
}

/* ---- set-up and the whole pass ------------------------------------------ */

/* Allocates a chunk buffer of cap entries and bytes of entries (fails only for memory). */
static cf_rc chunk_alloc(chunk *c, size_t cap, size_t bytes)
{
	size_t n_idx, n_off, n_leaf, n_nodes, ncap, noff;

	memset(c, 0, sizeof(*c));
	/* a chunk of cap pushes completes at most cap / 2^l + 1 nodes at each level l >= 1 */
	if (!cf_size_add(cap, MAX_LEVEL + 1, &ncap) || !cf_size_add(cap, 1, &noff) ||
	    !cf_size_mul(cap, sizeof(*c->idx), &n_idx) || !cf_size_mul(noff, sizeof(*c->off), &n_off) ||
	    !cf_size_mul(cap, sizeof(*c->leaf), &n_leaf) || !cf_size_mul(ncap, sizeof(*c->nodes), &n_nodes))
		return CF_ETOOBIG;
	c->idx = malloc(n_idx);
	c->off = malloc(n_off);
	c->leaf = malloc(n_leaf);
	c->nodes = malloc(n_nodes);
	c->arena = malloc(bytes);
	if (c->idx == NULL || c->off == NULL || c->leaf == NULL || c->nodes == NULL || c->arena == NULL)
		return CF_ENOMEM;
	c->cap = cap;
	c->node_cap = ncap;
	c->arena_cap = bytes;
	return CF_OK;
}

static void chunk_free(chunk *c)
{
	free(c->idx);
	free(c->off);
	free(c->leaf);
	free(c->nodes);
	free(c->arena);
}

/*
 * Reads every entry and hands the chunks to the hashing stage; on return
 * the hashing thread (if one was started) has ended, after the last chunk
 * or, on a failure, as soon as it sees the stop. Fails with the store's
 * error or for memory.
 */
static cf_rc run_pass(vstate *st, cf_err *err)
{
	ring *q = &st->q;
	size_t cap = chunk_entries_for_tests ? chunk_entries_for_tests : CHUNK_ENTRIES;
	size_t bytes = chunk_bytes_for_tests ? chunk_bytes_for_tests : CHUNK_BYTES;
	pthread_t th;
	bool started = false;
	cf_rc rc = CF_OK;

	/* more than one chunk: worth a second thread */
	q->threaded = st->rep->entries > 0 && (uint64_t)st->rep->entries > cap;
	q->nbuf = q->threaded ? NBUF : 1;
	for (size_t i = 0; i < q->nbuf && rc == CF_OK; i++)
		rc = chunk_alloc(&q->buf[i], cap, bytes);
	if (rc != CF_OK)
		return cf_err_set(err, rc, CF_P_INTERNAL, "cannot allocate the verification's chunk buffers");
	if (q->threaded) {
		pthread_mutex_init(&q->mu, NULL);
		pthread_cond_init(&q->ready, NULL);
		pthread_cond_init(&q->freed, NULL);
		started = pthread_create(&th, NULL, hash_main, st) == 0;
		if (!started) { /* hashed inline instead: slower, same verdict */
			pthread_cond_destroy(&q->freed);
			pthread_cond_destroy(&q->ready);
			pthread_mutex_destroy(&q->mu);
			q->threaded = false;
		}
	}
	st->rd.err = err;
	rc = cf_st_audit_scan(st->rd.tx, 0, st->rep->entries, on_entry, st, err);
	if (rc == CF_OK && st->rd.c != NULL && st->rd.c->n > 0)
		rc = publish(st);
	if (started) {
		pthread_mutex_lock(&q->mu);
		q->done = true;
		q->stop = rc != CF_OK;
		pthread_cond_signal(&q->ready);
		pthread_mutex_unlock(&q->mu);
		pthread_join(th, NULL);
		pthread_cond_destroy(&q->freed);
		pthread_cond_destroy(&q->ready);
		pthread_mutex_destroy(&q->mu);
	}
	return rc;
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

void cf_audit_verify_set_chunk_for_tests(size_t entries, size_t bytes)
{
	chunk_entries_for_tests = entries;
	chunk_bytes_for_tests = bytes;
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
	st.h.rep = rep;
	cf_merkle_builder_init(&st.h.b);

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
	rc = cf_store_begin(s, false, &st.rd.tx, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_st_audit_count(st.rd.tx, &rep->entries, err);
	if (rc == CF_OK)
		rc = cf_st_checkpoint_scan(st.rd.tx, on_checkpoint, &st, err);
	if (rc == CF_OK && ext_size >= 0)
		rc = add_ckpt(&st, ext_size, ext_root) == CF_OK ? CF_OK : cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
	if (rc != CF_OK)
		goto out;
	if (st.n_ck > 1) /* st.ck is NULL when there is no checkpoint: qsort's base must not be */
		qsort(st.ck, st.n_ck, sizeof(*st.ck), cmp_ckpt);
	st.h.ck = st.ck;
	st.h.n_ck = st.n_ck;
	check_roots(&st.h); /* size-0 checkpoints */
	rc = run_pass(&st, err);
	if (rc != CF_OK)
		goto out;
	if (st.h.expect < rep->entries)
		fail(rep, st.h.expect, "entries from %lld on are missing", (long long)st.h.expect);
	cf_merkle_builder_root(&st.h.b, root);
	hex(root, 32, rep->root_hex);
	if (rep->latest_checkpoint > rep->entries)
		fail(rep, rep->entries,
		     "the trail has %lld entries but a stored checkpoint covers %lld: entries from %lld on were removed",
		     (long long)rep->entries, (long long)rep->latest_checkpoint, (long long)rep->entries);
	if (ext_size > rep->entries)
		fail(rep, rep->entries,
		     "the trail has %lld entries but the given checkpoint covers %lld: the trail was rolled back or "
		     "truncated; entries from %lld on are gone",
		     (long long)rep->entries, (long long)ext_size, (long long)rep->entries);
out:
	cf_st_audit_node_cursor_close(st.rd.cur);
	cf_tx_rollback(st.rd.tx);
	for (size_t i = 0; i < NBUF; i++)
		chunk_free(&st.q.buf[i]);
	free(st.ck);
	return rc;
}
