/*
 * test_trail.c - the group-commit audit writer on a real store: many
 * concurrent submits get distinct indexes, share transactions and leave a
 * Merkle tree that matches the stored entry bytes; an apply's work commits
 * with its entry, a refused apply is undone alone while its entry (marked
 * denied, with the reason) stays, and a store failure under an apply fails
 * its whole batch (CF_EAUDIT, nothing stored, unhealthy until the next
 * commit); a store held past the timeouts gives CF_EAUDIT in bounded time
 * instead of hanging; checkpoints are refused while sealed, then signed,
 * verifiable and reused while the tree does not grow; stopping while
 * requests arrive loses no acknowledged entry; with a commit delay, a
 * batch without work waits for the requests in progress and no longer
 * than the delay, and goes at once when work arrives, when the request
 * it waits for ends, or at stop. Asynchronous submits (no thread waits
 * for each) share syncs, get the same answers through their callback,
 * exactly once, are withdrawn by the watchdog when not taken in time, and
 * are all answered by stop, which refuses those submitted after it began.
 *
 * Worker threads never call cmocka assertions (they longjmp): they record
 * what they got and the test thread asserts after joining them. Each test
 * works in its own mkdtemp directory, removed afterwards.
 */
#include "common/cf.h"
#include "audit/trail.h"
#include "audit/audit.h"
#include "audit/note.h"
#include "crypto/crypto.h"
#include "merkle/merkle.h"
#include "store/store.h"

#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "tmpdir.h"

#define ORIGIN "coffre.test/trail"

/* ---- fixture ---------------------------------------------------------- */

typedef struct fx {
	char dir[64];
	cf_store *s;
	cf_trail *t;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(cf_crypto_init(), CF_OK);
	memcpy(f->dir, "/tmp/cf_trail_XXXXXX", sizeof("/tmp/cf_trail_XXXXXX"));
	assert_non_null(mkdtemp(f->dir));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	cf_trail_stop(f->t);
	cf_store_close(f->s);
	remove_dir(f->dir);
	free(f);
	return 0;
}

static void open_store(fx *f, int busy_ms)
{
	cf_store_options so = {.busy_timeout_ms = busy_ms, .sync_full = false};
	cf_err err = {0};
	cf_rc rc = cf_store_open(f->dir, cf_env_system(), &so, &f->s, &err);

	if (rc != CF_OK)
		fail_msg("cf_store_open: %d %s", rc, err.detail);
}

static void start_trail(fx *f, int wait_ms, int interval_ms)
{
	cf_trail_options o = {.wait_timeout_ms = wait_ms, .max_batch = 0, .checkpoint_interval_ms = interval_ms};
	cf_err err = {0};
	cf_rc rc = cf_trail_start(f->s, cf_env_system(), &o, ORIGIN, &f->t, &err);

	if (rc != CF_OK)
		fail_msg("cf_trail_start: %d %s", rc, err.detail);
	assert_non_null(f->t);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0)
		;
}

/*
 * A read of the whole trail: entries wait in the store's audit journal
 * until a write transaction moves them to the tables, so reading moves
 * them first, as the vault does before it reads the trail.
 */
static void begin_trail_read(fx *f, cf_tx **tx)
{
	cf_err err = {0};
	cf_rc rc = cf_store_flush_journal(f->s, CF_STORE_FLUSH_ALL, true, &err);
	if (rc != CF_OK)
		fail_msg("cf_store_flush_journal: %d %s", rc, err.detail);
	assert_int_equal(cf_store_begin(f->s, false, tx, NULL), CF_OK);
}

static int64_t stored_count(fx *f)
{
	cf_tx *tx = NULL;
	int64_t n = -1;

	begin_trail_read(f, &tx);
	assert_int_equal(cf_st_audit_count(tx, &n, NULL), CF_OK);
	cf_tx_rollback(tx);
	return n;
}

/* The stored meta value of key (malloc'd), or NULL when it is absent. */
static char *meta_of(fx *f, const char *key)
{
	cf_tx *tx = NULL;
	char *v = NULL;
	cf_rc rc;

	begin_trail_read(f, &tx);
	rc = cf_st_meta_get(tx, key, &v, NULL);
	cf_tx_rollback(tx);
	if (rc == CF_ENOTFOUND)
		return NULL;
	assert_int_equal(rc, CF_OK);
	return v;
}

/* The stored entry at index, parsed. */
static json_t *stored_entry(fx *f, int64_t index)
{
	cf_tx *tx = NULL;
	char *bytes = NULL;
	size_t len = 0;
	json_t *e;

	begin_trail_read(f, &tx);
	assert_int_equal(cf_st_audit_get(tx, index, &bytes, &len, NULL, NULL), CF_OK);
	cf_tx_rollback(tx);
	e = json_loadb(bytes, len, 0, NULL);
	free(bytes);
	assert_non_null(e);
	return e;
}

/* Index of the one stored entry whose "tag" is tag; -1 when none (two is a failure). */
typedef struct tag_find {
	const char *tag;
	int64_t found;
	int hits;
} tag_find;

static cf_rc find_tag_cb(void *ctx, int64_t index, const char *entry, size_t len, const uint8_t leaf[32])
{
	tag_find *tf = ctx;
	json_t *e = json_loadb(entry, len, 0, NULL);
	const char *tag = json_string_value(json_object_get(e, "tag"));

	if (tag != NULL && strcmp(tag, tf->tag) == 0) {
		tf->found = index;
		tf->hits++;
	}
	json_decref(e);
	return CF_OK;
}

static int64_t index_of_tag(fx *f, const char *tag)
{
	tag_find tf = {tag, -1, 0};
	cf_tx *tx = NULL;
	int64_t n = 0;

	begin_trail_read(f, &tx);
	assert_int_equal(cf_st_audit_count(tx, &n, NULL), CF_OK);
	assert_int_equal(cf_st_audit_scan(tx, 0, n, find_tag_cb, &tf, NULL), CF_OK);
	cf_tx_rollback(tx);
	assert_true(tf.hits <= 1);
	return tf.found;
}

static json_t *tagged(const char *tag)
{
	json_t *e = json_pack("{s:s,s:s}", "action", "test.trail", "tag", tag);

	assert_non_null(e);
	return e;
}

static cf_rc tx_node_get(void *ctx, int level, int64_t index, uint8_t out[32])
{
	return cf_st_audit_node_get(ctx, level, index, out, NULL);
}

static void store_root(fx *f, int64_t size, uint8_t root[32])
{
	cf_tx *tx = NULL;

	begin_trail_read(f, &tx);
	assert_int_equal(cf_merkle_root(size, tx_node_get, tx, root), CF_OK);
	cf_tx_rollback(tx);
}

/* ---- a gate: an apply that holds the writer until the test opens it ---- */

typedef struct gate {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool entered, open;
} gate;

static void gate_init(gate *g)
{
	assert_int_equal(pthread_mutex_init(&g->mu, NULL), 0);
	assert_int_equal(pthread_cond_init(&g->cv, NULL), 0);
	g->entered = false;
	g->open = false;
}

static void gate_destroy(gate *g)
{
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->mu);
}

static cf_rc apply_gate(void *ctx, cf_tx *tx, json_t *entry, cf_err *err)
{
	gate *g = ctx;

	pthread_mutex_lock(&g->mu);
	g->entered = true;
	pthread_cond_broadcast(&g->cv);
	while (!g->open)
		pthread_cond_wait(&g->cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
	return CF_OK;
}

static void gate_wait_entered(gate *g)
{
	pthread_mutex_lock(&g->mu);
	while (!g->entered)
		pthread_cond_wait(&g->cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
}

static void gate_open(gate *g)
{
	pthread_mutex_lock(&g->mu);
	g->open = true;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

/* ---- a submitter thread ----------------------------------------------- */

/* Work that writes a meta key, then succeeds or fails with ret and detail. */
typedef struct work {
	const char *key;
	const char *value;
	cf_rc ret;
	cf_problem problem;
	const char *detail;
} work;

static cf_rc apply_work(void *ctx, cf_tx *tx, json_t *entry, cf_err *err)
{
	const work *w = ctx;
	cf_rc rc = cf_st_meta_set(tx, w->key, w->value, err);

	if (rc != CF_OK)
		return rc;
	if (w->ret != CF_OK)
		return cf_err_set(err, w->ret, w->problem, "%s", w->detail);
	return CF_OK;
}

typedef struct sub {
	cf_trail *t;
	const char *tag;
	cf_trail_apply_fn apply;
	void *ctx;
	cf_rc rc;
	cf_err err;
	int64_t index;
	int64_t took_ms;
	int64_t started_ms; /* asynchronous submits: when submitted */
	int calls;          /* asynchronous submits: how many times done was called (under sub_mu) */
	bool finished;      /* under sub_mu */
} sub;

/* Lets the test wait for a submit with a bound, so that a library that hangs fails the test instead. */
static pthread_mutex_t sub_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sub_cv = PTHREAD_COND_INITIALIZER;

/* Records a submit's result (a waiting submit's return, or an asynchronous one's end). */
static void sub_record(sub *s, cf_rc rc, const cf_err *err, int64_t index, int64_t took)
{
	pthread_mutex_lock(&sub_mu);
	s->rc = rc;
	s->err = *err;
	s->index = index;
	s->took_ms = took;
	s->calls++;
	s->finished = true;
	pthread_cond_broadcast(&sub_cv);
	pthread_mutex_unlock(&sub_mu);
}

static void *sub_main(void *arg)
{
	sub *s = arg;
	json_t *e = json_pack("{s:s,s:s}", "action", "test.trail", "tag", s->tag);
	int64_t t0 = mono_ms();
	int64_t index = -1;
	cf_err err = {0};
	cf_rc rc = cf_trail_submit(s->t, e, s->apply, s->ctx, &index, &err);

	sub_record(s, rc, &err, index, mono_ms() - t0);
	return NULL;
}

/* cf_trail_done_fn of an asynchronous submit whose sub is ctx. */
static void sub_done(void *ctx, cf_rc rc, const cf_err *err, int64_t index)
{
	sub *s = ctx;
	sub_record(s, rc, err, index, mono_ms() - s->started_ms);
}

/* Submits s's tagged entry asynchronously; returns what the submit returned. */
static cf_rc sub_async(sub *s, cf_err *err)
{
	s->started_ms = mono_ms();
	return cf_trail_submit_async(s->t, json_pack("{s:s,s:s}", "action", "test.trail", "tag", s->tag), s->apply,
				     s->ctx, sub_done, s, err);
}

/* The number of times s's done was called. */
static int sub_calls(sub *s)
{
	int n;
	pthread_mutex_lock(&sub_mu);
	n = s->calls;
	pthread_mutex_unlock(&sub_mu);
	return n;
}

/* true when the submit returned within ms. */
static bool sub_wait(sub *s, int ms)
{
	struct timespec dl;
	bool done;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += ms / 1000;
	dl.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec += 1;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&sub_mu);
	while (!s->finished && pthread_cond_timedwait(&sub_cv, &sub_mu, &dl) == 0)
		;
	done = s->finished;
	pthread_mutex_unlock(&sub_mu);
	return done;
}

static void sub_start(sub *s, pthread_t *th)
{
	assert_int_equal(pthread_create(th, NULL, sub_main, s), 0);
}

/* ---- many threads, one tree -------------------------------------------- */

#define N_THREADS 16
#define N_PER_THREAD 200

typedef struct burst {
	cf_trail *t;
	int id;
	int64_t idx[N_PER_THREAD];
	cf_rc rc[N_PER_THREAD];
} burst;

static void *burst_main(void *arg)
{
	burst *b = arg;

	for (int i = 0; i < N_PER_THREAD; i++) {
		json_t *e = json_pack("{s:s,s:i,s:i}", "action", "test.burst", "thread", b->id, "n", i);
		b->idx[i] = -1;
		b->rc[i] = cf_trail_submit(b->t, e, NULL, NULL, &b->idx[i], NULL);
	}
	return NULL;
}

typedef struct tree_check {
	cf_tx *tx;
	cf_merkle_builder b;
	int64_t expect;
	int bad_leaf, bad_index, bad_node, nodes;
} tree_check;

static void check_node(void *ctx, int level, int64_t index, const uint8_t hash[32])
{
	tree_check *tc = ctx;
	uint8_t stored[32];

	tc->nodes++;
	if (cf_st_audit_node_get(tc->tx, level, index, stored, NULL) != CF_OK || memcmp(stored, hash, 32) != 0)
		tc->bad_node++;
}

static cf_rc check_entry(void *ctx, int64_t index, const char *entry, size_t len, const uint8_t leaf[32])
{
	tree_check *tc = ctx;
	uint8_t mine[32];
	json_t *e = json_loadb(entry, len, 0, NULL);

	cf_merkle_leaf_hash(entry, len, mine);
	if (memcmp(mine, leaf, 32) != 0)
		tc->bad_leaf++;
	if (index != tc->expect || e == NULL || json_integer_value(json_object_get(e, "index")) != index)
		tc->bad_index++;
	json_decref(e);
	tc->expect = index + 1;
	cf_merkle_builder_push(&tc->b, mine, check_node, tc);
	return CF_OK;
}

static cf_rc count_node(void *ctx, int level, int64_t index, const uint8_t hash[32])
{
	(*(int64_t *)ctx)++;
	return CF_OK;
}

static int64_t count_stored_nodes(fx *f)
{
	cf_tx *tx = NULL;
	int64_t n = 0;

	begin_trail_read(f, &tx);
	assert_int_equal(cf_st_audit_nodes_scan(tx, count_node, &n, NULL), CF_OK);
	cf_tx_rollback(tx);
	return n;
}

/*
 * The stored trail holds n entries, each stating its own index, and its
 * stored nodes, all n - popcount(n) perfect subtrees of level >= 1, agree
 * with the leaves recomputed from the stored bytes.
 */
static void assert_tree_intact(fx *f, int64_t n)
{
	uint8_t from_nodes[32], from_bytes[32];
	int64_t count = -1;
	tree_check tc;
	cf_tx *tx = NULL;

	memset(&tc, 0, sizeof(tc));
	cf_merkle_builder_init(&tc.b);
	begin_trail_read(f, &tx);
	tc.tx = tx;
	assert_int_equal(cf_st_audit_count(tx, &count, NULL), CF_OK);
	assert_int_equal(count, n);
	assert_int_equal(cf_st_audit_scan(tx, 0, n, check_entry, &tc, NULL), CF_OK);
	assert_int_equal(cf_merkle_root(n, tx_node_get, tx, from_nodes), CF_OK);
	cf_tx_rollback(tx);
	assert_int_equal(tc.expect, n);
	assert_int_equal(tc.bad_leaf, 0);
	assert_int_equal(tc.bad_index, 0);
	assert_int_equal(tc.bad_node, 0);
	assert_int_equal(tc.nodes, n - __builtin_popcountll((unsigned long long)n));
	assert_int_equal(count_stored_nodes(f), n - __builtin_popcountll((unsigned long long)n));
	cf_merkle_builder_root(&tc.b, from_bytes);
	assert_memory_equal(from_nodes, from_bytes, 32);
}

static void test_concurrent_submits_share_batches(void **state)
{
	fx *f = *state;
	static burst b[N_THREADS];
	pthread_t th[N_THREADS];
	bool *seen = calloc(N_THREADS * N_PER_THREAD, sizeof(bool));
	int64_t batches = -1, entries = -1;

	assert_non_null(seen);
	open_store(f, 0);
	start_trail(f, 0, 0);
	for (int i = 0; i < N_THREADS; i++) {
		b[i].t = f->t;
		b[i].id = i;
		assert_int_equal(pthread_create(&th[i], NULL, burst_main, &b[i]), 0);
	}
	for (int i = 0; i < N_THREADS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);

	for (int i = 0; i < N_THREADS; i++) {
		for (int k = 0; k < N_PER_THREAD; k++) {
			assert_int_equal(b[i].rc[k], CF_OK);
			assert_in_range(b[i].idx[k], 0, N_THREADS * N_PER_THREAD - 1);
			assert_false(seen[b[i].idx[k]]);
			seen[b[i].idx[k]] = true;
			/* one thread's submits are sequential: its indexes grow */
			if (k > 0)
				assert_true(b[i].idx[k] > b[i].idx[k - 1]);
		}
	}
	free(seen);
	assert_int_equal(stored_count(f), N_THREADS * N_PER_THREAD);
	cf_trail_stats(f->t, &batches, &entries);
	assert_int_equal(entries, N_THREADS * N_PER_THREAD);
	assert_true(batches >= 1);
	assert_true(batches < N_THREADS * N_PER_THREAD);

	/* each stored entry is what its thread submitted, at the index it was told */
	for (int i = 0; i < N_THREADS; i += 5) {
		for (int k = 0; k < N_PER_THREAD; k += 37) {
			json_t *e = stored_entry(f, b[i].idx[k]);
			assert_int_equal(json_integer_value(json_object_get(e, "thread")), i);
			assert_int_equal(json_integer_value(json_object_get(e, "n")), k);
			assert_int_equal(json_integer_value(json_object_get(e, "index")), b[i].idx[k]);
			json_decref(e);
		}
	}

	/* perfect subtrees of level >= 1 in 3200 leaves: 1600 + 800 + ... + 1 = 3197 */
	assert_tree_intact(f, N_THREADS * N_PER_THREAD);
	assert_true(cf_trail_healthy(f->t, NULL, 0));
}

/* ---- apply callbacks ---------------------------------------------------- */

static void test_apply_success_commits_its_work(void **state)
{
	fx *f = *state;
	work w = {"trail.test.ok", "written", CF_OK, CF_P_NONE, NULL};
	cf_err err = {0};
	int64_t idx = -1;
	char *v;
	json_t *e;

	open_store(f, 0);
	start_trail(f, 0, 0);
	assert_int_equal(cf_trail_submit(f->t, tagged("ok"), apply_work, &w, &idx, &err), CF_OK);
	assert_int_equal(idx, 0);
	v = meta_of(f, "trail.test.ok");
	assert_non_null(v);
	assert_string_equal(v, "written");
	free(v);
	e = stored_entry(f, 0);
	assert_string_equal(json_string_value(json_object_get(e, "tag")), "ok");
	assert_null(json_object_get(e, "outcome")); /* the trail marks failures only */
	assert_null(json_object_get(e, "reason"));
	json_decref(e);
}

static void test_apply_denied_rolls_back_but_entry_stays(void **state)
{
	fx *f = *state;
	work w = {"trail.test.denied", "must vanish", CF_EDENIED, CF_P_FORBIDDEN, "rule grants-read refuses"};
	cf_err err = {0};
	int64_t idx = 77, at;
	json_t *e;

	open_store(f, 0);
	start_trail(f, 0, 0);
	assert_int_equal(cf_trail_submit(f->t, tagged("denied"), apply_work, &w, &idx, &err), CF_EDENIED);
	assert_int_equal(err.rc, CF_EDENIED);
	assert_int_equal(err.problem, CF_P_FORBIDDEN);
	assert_string_equal(err.detail, "rule grants-read refuses");
	assert_null(meta_of(f, "trail.test.denied"));
	/* the entry is durable, marked with the refusal */
	assert_int_equal(stored_count(f), 1);
	at = index_of_tag(f, "denied");
	assert_int_equal(at, 0);
	e = stored_entry(f, at);
	assert_string_equal(json_string_value(json_object_get(e, "outcome")), "denied");
	assert_string_equal(json_string_value(json_object_get(e, "reason")), "rule grants-read refuses");
	json_decref(e);
	assert_true(cf_trail_healthy(f->t, NULL, 0));
}

static void test_apply_other_failure_is_marked_error(void **state)
{
	fx *f = *state;
	work w = {"trail.test.err", "x", CF_EINTEGRITY, CF_P_INTEGRITY, "ciphertext of field f failed"};
	cf_err err = {0};
	json_t *e;

	open_store(f, 0);
	start_trail(f, 0, 0);
	assert_int_equal(cf_trail_submit(f->t, tagged("err"), apply_work, &w, NULL, &err), CF_EINTEGRITY);
	assert_string_equal(err.detail, "ciphertext of field f failed");
	assert_null(meta_of(f, "trail.test.err"));
	e = stored_entry(f, 0);
	assert_string_equal(json_string_value(json_object_get(e, "outcome")), "error");
	assert_string_equal(json_string_value(json_object_get(e, "reason")), "ciphertext of field f failed");
	json_decref(e);
	/* an outcome the caller already set is kept */
	e = tagged("preset");
	json_object_set_new(e, "outcome", json_string("allowed"));
	w.ret = CF_EDENIED;
	w.key = "trail.test.preset";
	assert_int_equal(cf_trail_submit(f->t, e, apply_work, &w, NULL, &err), CF_EDENIED);
	e = stored_entry(f, 1);
	assert_string_equal(json_string_value(json_object_get(e, "tag")), "preset");
	assert_string_equal(json_string_value(json_object_get(e, "outcome")), "allowed");
	assert_null(json_object_get(e, "reason"));
	json_decref(e);
}

/* A work that, when asked, changes the entry and drops the caller's encoding of it. */
typedef struct enc_work {
	work w;
	cf_audit_encoded *enc;
	bool change;
} enc_work;

static cf_rc apply_enc_work(void *ctx, cf_tx *tx, json_t *entry, cf_err *err)
{
	enc_work *ew = ctx;
	if (ew->change) {
		cf_audit_encoded_free(ew->enc);
		json_object_set_new(entry, "changed", json_true());
	}
	return apply_work(&ew->w, tx, entry, err);
}

static void test_submit_encoded(void **state)
{
	fx *f = *state;
	enc_work ew = {{"trail.test.enc", "v", CF_OK, CF_P_NONE, NULL}, NULL, false};
	cf_audit_encoded enc;
	json_t *done, *e;
	cf_err err = {0};
	int64_t idx = -1;

	open_store(f, 0);
	start_trail(f, 0, 0);

	/* the work leaves the encoding: it is what is appended, not the entry */
	done = tagged("as-prepared");
	assert_int_equal(cf_audit_encode(done, &enc, &err), CF_OK);
	ew.enc = &enc;
	assert_int_equal(cf_trail_submit_encoded(f->t, tagged("as-submitted"), &enc, apply_enc_work, &ew, &idx, &err),
			 CF_OK);
	assert_int_equal(idx, 0);
	assert_int_equal(index_of_tag(f, "as-prepared"), 0);
	assert_int_equal(index_of_tag(f, "as-submitted"), -1);
	assert_non_null(enc.bytes); /* the caller's, still */
	cf_audit_encoded_free(&enc);
	json_decref(done);

	/* the work changes the entry and drops the encoding: the entry is encoded */
	done = tagged("stale");
	assert_int_equal(cf_audit_encode(done, &enc, &err), CF_OK);
	ew.change = true;
	ew.w.key = "trail.test.enc2";
	assert_int_equal(cf_trail_submit_encoded(f->t, tagged("changed"), &enc, apply_enc_work, &ew, &idx, &err), CF_OK);
	assert_int_equal(idx, 1);
	assert_int_equal(index_of_tag(f, "stale"), -1);
	e = stored_entry(f, 1);
	assert_string_equal(json_string_value(json_object_get(e, "tag")), "changed");
	assert_true(json_is_true(json_object_get(e, "changed")));
	json_decref(e);
	json_decref(done);

	/* the work fails: the encoding is set aside, the entry is marked and appended */
	done = tagged("would-be-allowed");
	json_object_set_new(done, "outcome", json_string("allowed"));
	assert_int_equal(cf_audit_encode(done, &enc, &err), CF_OK);
	ew.change = false;
	ew.w = (work){"trail.test.enc3", "x", CF_EDENIED, CF_P_FORBIDDEN, "refused in the writer"};
	assert_int_equal(cf_trail_submit_encoded(f->t, tagged("failed"), &enc, apply_enc_work, &ew, &idx, &err),
			 CF_EDENIED);
	assert_int_equal(index_of_tag(f, "would-be-allowed"), -1);
	e = stored_entry(f, 2);
	assert_string_equal(json_string_value(json_object_get(e, "tag")), "failed");
	assert_string_equal(json_string_value(json_object_get(e, "outcome")), "denied");
	json_decref(e);
	assert_null(meta_of(f, "trail.test.enc3"));
	cf_audit_encoded_free(&enc);
	json_decref(done);
	assert_int_equal(stored_count(f), 3);
}

#define N_MIXED 6

/* Holds the writer in a first job so that the next ones queue up and share the next batch. */
static void test_denied_job_does_not_spoil_its_batch(void **state)
{
	fx *f = *state;
	static const char *tags[N_MIXED] = {"m0", "m1", "m2", "m3", "m4", "m5"};
	static const char *keys[N_MIXED] = {"k0", "k1", "k2", "k3", "k4", "k5"};
	work w[N_MIXED];
	sub s[N_MIXED], g_sub;
	pthread_t th[N_MIXED], g_th;
	int64_t batches0 = 0, batches1 = 0, entries = 0;
	gate g;

	open_store(f, 0);
	start_trail(f, 0, 0);
	gate_init(&g);
	g_sub = (sub){.t = f->t, .tag = "gate", .apply = apply_gate, .ctx = &g};
	sub_start(&g_sub, &g_th);
	gate_wait_entered(&g);
	cf_trail_stats(f->t, &batches0, &entries);
	assert_int_equal(batches0, 0);

	for (int i = 0; i < N_MIXED; i++) {
		w[i] = (work){keys[i], "v", i == 3 ? CF_EDENIED : CF_OK, CF_P_FORBIDDEN, "purpose not allowed"};
		s[i] = (sub){.t = f->t, .tag = tags[i], .apply = apply_work, .ctx = &w[i]};
		sub_start(&s[i], &th[i]);
	}
	sleep_ms(500); /* let them all queue behind the gate */
	gate_open(&g);
	assert_int_equal(pthread_join(g_th, NULL), 0);
	for (int i = 0; i < N_MIXED; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	gate_destroy(&g);

	assert_int_equal(g_sub.rc, CF_OK);
	assert_int_equal(g_sub.index, 0);
	cf_trail_stats(f->t, &batches1, &entries);
	assert_int_equal(batches1, 2); /* the gate's batch, then all six together */
	assert_int_equal(entries, 1 + N_MIXED);
	assert_int_equal(stored_count(f), 1 + N_MIXED);
	for (int i = 0; i < N_MIXED; i++) {
		char *v = meta_of(f, keys[i]);
		int64_t at = index_of_tag(f, tags[i]);
		json_t *e;

		assert_in_range(at, 1, N_MIXED);
		e = stored_entry(f, at);
		if (i == 3) {
			assert_int_equal(s[i].rc, CF_EDENIED);
			assert_string_equal(s[i].err.detail, "purpose not allowed");
			assert_null(v);
			assert_string_equal(json_string_value(json_object_get(e, "outcome")), "denied");
			assert_string_equal(json_string_value(json_object_get(e, "reason")), "purpose not allowed");
		} else {
			assert_int_equal(s[i].rc, CF_OK);
			assert_int_equal(s[i].index, at);
			assert_non_null(v);
			assert_string_equal(v, "v");
			assert_null(json_object_get(e, "outcome"));
		}
		free(v);
		json_decref(e);
	}
	assert_true(cf_trail_healthy(f->t, NULL, 0));
}

static void test_store_failure_fails_the_whole_batch(void **state)
{
	fx *f = *state;
	static const char *tags[N_MIXED] = {"b0", "b1", "b2", "b3", "b4", "b5"};
	static const char *keys[N_MIXED] = {"q0", "q1", "q2", "q3", "q4", "q5"};
	work w[N_MIXED];
	sub s[N_MIXED], g_sub;
	pthread_t th[N_MIXED], g_th;
	int64_t batches = 0, entries = 0, idx = -1;
	char detail[256];
	cf_err err = {0};
	gate g;

	open_store(f, 0);
	start_trail(f, 0, 0);
	gate_init(&g);
	g_sub = (sub){.t = f->t, .tag = "gate", .apply = apply_gate, .ctx = &g};
	sub_start(&g_sub, &g_th);
	gate_wait_entered(&g);
	for (int i = 0; i < N_MIXED; i++) {
		w[i] = (work){keys[i], "v", i == 2 ? CF_ESTORE : CF_OK, CF_P_STORE_UNAVAILABLE, "disk I/O error"};
		s[i] = (sub){.t = f->t, .tag = tags[i], .apply = apply_work, .ctx = &w[i]};
		sub_start(&s[i], &th[i]);
	}
	sleep_ms(500);
	gate_open(&g);
	assert_int_equal(pthread_join(g_th, NULL), 0);
	for (int i = 0; i < N_MIXED; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	gate_destroy(&g);

	assert_int_equal(g_sub.rc, CF_OK);
	for (int i = 0; i < N_MIXED; i++) {
		assert_int_equal(s[i].rc, CF_EAUDIT);
		assert_int_equal(s[i].err.rc, CF_EAUDIT);
		assert_int_equal(s[i].err.problem, CF_P_AUDIT_UNAVAILABLE);
		assert_int_equal(s[i].index, -1);
		assert_null(meta_of(f, keys[i]));
		assert_int_equal(index_of_tag(f, tags[i]), -1);
	}
	assert_int_equal(stored_count(f), 1); /* the gate's entry only */
	cf_trail_stats(f->t, &batches, &entries);
	assert_int_equal(batches, 1);
	assert_int_equal(entries, 1);
	memset(detail, 'x', sizeof(detail));
	assert_false(cf_trail_healthy(f->t, detail, sizeof(detail)));
	assert_string_equal(detail, "disk I/O error");

	/* the next batch that commits clears it */
	assert_int_equal(cf_trail_submit(f->t, tagged("after"), NULL, NULL, &idx, &err), CF_OK);
	assert_int_equal(idx, 1);
	assert_true(cf_trail_healthy(f->t, detail, sizeof(detail)));
	assert_string_equal(detail, "");
}

static void test_store_failure_alone(void **state)
{
	fx *f = *state;
	work w = {"trail.test.estore", "x", CF_ESTORE, CF_P_STORE_UNAVAILABLE, "database disk image is malformed"};
	char detail[64];
	cf_err err = {0};
	int64_t idx = 5;

	open_store(f, 0);
	start_trail(f, 0, 0);
	assert_true(cf_trail_healthy(f->t, detail, sizeof(detail)));
	assert_int_equal(cf_trail_submit(f->t, tagged("s"), apply_work, &w, &idx, &err), CF_EAUDIT);
	assert_int_equal(err.problem, CF_P_AUDIT_UNAVAILABLE);
	assert_string_equal(err.detail, "the audit trail cannot be written; nothing was done");
	assert_int_equal(idx, 5); /* untouched on failure */
	assert_int_equal(stored_count(f), 0);
	assert_null(meta_of(f, "trail.test.estore"));
	assert_false(cf_trail_healthy(f->t, detail, sizeof(detail)));
	assert_string_equal(detail, "database disk image is malformed");
	/* CF_EAUDIT from the work is treated the same way */
	w.ret = CF_EAUDIT;
	w.detail = "nested audit failure";
	assert_int_equal(cf_trail_submit(f->t, tagged("s2"), apply_work, &w, NULL, &err), CF_EAUDIT);
	assert_false(cf_trail_healthy(f->t, detail, sizeof(detail)));
	assert_string_equal(detail, "nested audit failure");
	assert_int_equal(stored_count(f), 0);
	assert_int_equal(cf_trail_submit(f->t, tagged("ok"), NULL, NULL, &idx, &err), CF_OK);
	assert_int_equal(idx, 0);
	assert_true(cf_trail_healthy(f->t, detail, sizeof(detail)));
}

static void test_null_entry_refused(void **state)
{
	fx *f = *state;
	cf_err err = {0};

	open_store(f, 0);
	start_trail(f, 0, 0);
	assert_int_equal(cf_trail_submit(f->t, NULL, NULL, NULL, NULL, &err), CF_EAUDIT);
	assert_int_equal(err.problem, CF_P_AUDIT_UNAVAILABLE);
	assert_int_equal(stored_count(f), 0);
	assert_true(cf_trail_healthy(f->t, NULL, 0));
}

/* ---- timeouts ------------------------------------------------------------ */

static void test_held_store_times_out_then_recovers(void **state)
{
	fx *f = *state;
	sub s;
	pthread_t th;
	cf_tx *hold = NULL;
	char detail[256];
	cf_err err = {0};
	int64_t idx = -1;
	bool returned;

	open_store(f, 200);
	start_trail(f, 200, 0);
	assert_int_equal(cf_trail_submit(f->t, tagged("before"), NULL, NULL, &idx, &err), CF_OK);
	assert_int_equal(idx, 0);

	assert_int_equal(cf_store_begin(f->s, true, &hold, &err), CF_OK);
	s = (sub){.t = f->t, .tag = "blocked"};
	sub_start(&s, &th);
	returned = sub_wait(&s, 5000);
	if (!returned)
		cf_tx_rollback(hold); /* let it finish before failing */
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(returned);
	assert_int_equal(s.rc, CF_EAUDIT);
	assert_int_equal(s.err.problem, CF_P_AUDIT_UNAVAILABLE);
	assert_true(s.took_ms < 3000);
	assert_true(s.took_ms >= 150); /* it did wait for the store, about the busy timeout */
	assert_false(cf_trail_healthy(f->t, detail, sizeof(detail)));
	assert_string_equal(detail, "store busy: no transaction within 200 ms");
	cf_tx_rollback(hold);

	assert_int_equal(index_of_tag(f, "blocked"), -1);
	assert_int_equal(cf_trail_submit(f->t, tagged("after"), NULL, NULL, &idx, &err), CF_OK);
	assert_int_equal(idx, 1);
	assert_true(cf_trail_healthy(f->t, NULL, 0));
	assert_int_equal(stored_count(f), 2);
}

/*
 * A job the busy writer does not take within the wait timeout is withdrawn:
 * nothing done. A waiting submit times out its own wait; no thread waits
 * for an asynchronous job, so the watchdog withdraws it.
 */
static void check_withdrawn_when_not_taken(fx *f, bool async)
{
	work w = {"trail.test.late", "x", CF_OK, CF_P_NONE, NULL};
	sub g_sub, s;
	pthread_t g_th, th;
	int64_t idx = -1;
	bool returned;
	gate g;

	open_store(f, 0);
	start_trail(f, 200, 0);
	gate_init(&g);
	g_sub = (sub){.t = f->t, .tag = "gate", .apply = apply_gate, .ctx = &g};
	sub_start(&g_sub, &g_th);
	gate_wait_entered(&g);
	s = (sub){.t = f->t, .tag = "late", .apply = apply_work, .ctx = &w};
	if (async)
		assert_int_equal(sub_async(&s, NULL), CF_OK);
	else
		sub_start(&s, &th);
	returned = sub_wait(&s, 5000);
	gate_open(&g);
	if (!async)
		assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(pthread_join(g_th, NULL), 0);
	gate_destroy(&g);

	assert_true(returned);
	assert_int_equal(sub_calls(&s), 1);
	assert_int_equal(s.rc, CF_EAUDIT);
	assert_int_equal(s.err.problem, CF_P_AUDIT_UNAVAILABLE);
	assert_string_equal(s.err.detail, "the audit trail did not answer in time; nothing was done");
	assert_true(s.took_ms >= 150);
	assert_true(s.took_ms < 3000);
	assert_int_equal(g_sub.rc, CF_OK);
	assert_int_equal(stored_count(f), 1);
	assert_int_equal(index_of_tag(f, "late"), -1);
	assert_null(meta_of(f, "trail.test.late"));
	/* the writer never saw it fail: it stays healthy, and later jobs go through */
	assert_true(cf_trail_healthy(f->t, NULL, 0));
	assert_int_equal(cf_trail_submit(f->t, tagged("next"), apply_work, &w, &idx, NULL), CF_OK);
	assert_int_equal(idx, 1);
	assert_int_equal(stored_count(f), 2);
}

static void test_job_not_taken_in_time_is_withdrawn(void **state)
{
	check_withdrawn_when_not_taken(*state, false);
}

static void test_async_job_not_taken_in_time_is_withdrawn(void **state)
{
	check_withdrawn_when_not_taken(*state, true);
}

/* ---- asynchronous submits ------------------------------------------------- */

#define N_ASYNC 300

/* One thread queues many entries without waiting for each: they share syncs, each is answered once. */
static void test_async_submits_share_batches(void **state)
{
	fx *f = *state;
	sub *subs = calloc(N_ASYNC, sizeof(*subs));
	char (*tags)[16] = calloc(N_ASYNC, sizeof(*tags));
	bool *seen = calloc(N_ASYNC, sizeof(*seen));
	int64_t batches = 0, entries = 0;

	assert_non_null(subs);
	assert_non_null(tags);
	assert_non_null(seen);
	open_store(f, 0);
	start_trail(f, 0, 0);
	for (int i = 0; i < N_ASYNC; i++) {
		cf_err err = {0};
		(void)snprintf(tags[i], sizeof(tags[i]), "a%d", i);
		subs[i] = (sub){.t = f->t, .tag = tags[i]};
		assert_int_equal(sub_async(&subs[i], &err), CF_OK);
	}
	for (int i = 0; i < N_ASYNC; i++)
		assert_true(sub_wait(&subs[i], 5000));
	for (int i = 0; i < N_ASYNC; i++) {
		assert_int_equal(subs[i].rc, CF_OK);
		assert_int_equal(subs[i].err.rc, CF_OK);
		assert_in_range(subs[i].index, 0, N_ASYNC - 1);
		assert_false(seen[subs[i].index]);
		seen[subs[i].index] = true;
	}
	cf_trail_stats(f->t, &batches, &entries);
	assert_int_equal(entries, N_ASYNC);
	assert_true(batches < N_ASYNC); /* no sleeping submitter: the queue fills while the writer syncs */
	assert_int_equal(stored_count(f), N_ASYNC);
	assert_int_equal(index_of_tag(f, "a0"), subs[0].index);
	assert_int_equal(index_of_tag(f, "a299"), subs[N_ASYNC - 1].index);
	for (int i = 0; i < N_ASYNC; i++)
		assert_int_equal(sub_calls(&subs[i]), 1);
	free(seen);
	free(tags);
	free(subs);
}

/* An asynchronous job's work commits with its entry; a refused work is undone and its end says why. */
static void test_async_work_and_refusal(void **state)
{
	fx *f = *state;
	work ok = {"trail.test.async", "done", CF_OK, CF_P_NONE, NULL};
	work no = {"trail.test.refused", "x", CF_EDENIED, CF_P_FORBIDDEN, "not for you"};
	sub a, b;
	char *v;

	open_store(f, 0);
	start_trail(f, 0, 0);
	a = (sub){.t = f->t, .tag = "work", .apply = apply_work, .ctx = &ok};
	b = (sub){.t = f->t, .tag = "refused", .apply = apply_work, .ctx = &no};
	assert_int_equal(sub_async(&a, NULL), CF_OK);
	assert_int_equal(sub_async(&b, NULL), CF_OK);
	assert_true(sub_wait(&a, 5000));
	assert_true(sub_wait(&b, 5000));
	assert_int_equal(a.rc, CF_OK);
	assert_int_equal(index_of_tag(f, "work"), a.index);
	v = meta_of(f, "trail.test.async");
	assert_non_null(v);
	assert_string_equal(v, "done");
	free(v);
	assert_int_equal(b.rc, CF_EDENIED);
	assert_int_equal(b.err.rc, CF_EDENIED);
	assert_int_equal(b.err.problem, CF_P_FORBIDDEN);
	assert_string_equal(b.err.detail, "not for you");
	assert_int_equal(b.index, -1);
	assert_null(meta_of(f, "trail.test.refused"));
	assert_true(index_of_tag(f, "refused") >= 0); /* the refusal's entry is durable */
	assert_int_equal(sub_calls(&a), 1);
	assert_int_equal(sub_calls(&b), 1);
}

#define N_AT_STOP 2000

typedef struct stop_call {
	cf_trail *t;
	bool done; /* under sub_mu */
} stop_call;

static void *stop_main(void *arg)
{
	stop_call *st = arg;
	cf_trail_stop(st->t);
	pthread_mutex_lock(&sub_mu);
	st->done = true;
	pthread_mutex_unlock(&sub_mu);
	return NULL;
}

/* Stop answers every queued asynchronous job before it returns, and refuses those submitted after it began. */
static void test_async_at_stop(void **state)
{
	fx *f = *state;
	sub *subs = calloc(N_AT_STOP + 1, sizeof(*subs)); /* the last one refused */
	sub g_sub, bad;
	stop_call st;
	pthread_t g_th, s_th;
	cf_err err = {0};
	int queued = 0;
	cf_rc rc = CF_OK;
	gate g;

	assert_non_null(subs);
	open_store(f, 0);
	start_trail(f, 0, 0);
	bad = (sub){.t = f->t, .tag = "null"};
	assert_int_equal(cf_trail_submit_async(f->t, NULL, NULL, NULL, sub_done, &bad, &err), CF_EAUDIT);
	assert_int_equal(err.problem, CF_P_AUDIT_UNAVAILABLE);
	gate_init(&g);
	g_sub = (sub){.t = f->t, .tag = "gate", .apply = apply_gate, .ctx = &g};
	sub_start(&g_sub, &g_th);
	gate_wait_entered(&g);
	for (; queued < 3; queued++) {
		subs[queued] = (sub){.t = f->t, .tag = "queued"};
		assert_int_equal(sub_async(&subs[queued], NULL), CF_OK);
	}
	st = (stop_call){.t = f->t};
	assert_int_equal(pthread_create(&s_th, NULL, stop_main, &st), 0);
	/* until stop has begun, submits are still queued; then they are refused */
	while (queued < N_AT_STOP) {
		memset(&err, 0, sizeof(err));
		subs[queued] = (sub){.t = f->t, .tag = "racing"};
		rc = sub_async(&subs[queued], &err);
		if (rc != CF_OK)
			break;
		queued++;
		sleep_ms(1);
	}
	/* the writer goes on before anything is asserted: a failed check leaves no thread behind */
	gate_open(&g);
	assert_int_equal(pthread_join(s_th, NULL), 0);
	assert_int_equal(pthread_join(g_th, NULL), 0);
	gate_destroy(&g);
	f->t = NULL; /* stopped */
	assert_int_equal(rc, CF_EAUDIT);
	assert_string_equal(err.detail, "the audit writer is stopping");
	assert_true(st.done);
	for (int i = 0; i < queued; i++) {
		assert_int_equal(sub_calls(&subs[i]), 1);
		assert_int_equal(subs[i].rc, CF_OK);
	}
	assert_int_equal(sub_calls(&subs[queued]), 0); /* refused: never called */
	assert_int_equal(sub_calls(&bad), 0);
	assert_int_equal(stored_count(f), queued + 1);
	free(subs);
}

/* ---- checkpoints ----------------------------------------------------------- */

static cf_note_signer *new_signer(const char *name)
{
	cf_key *k = cf_key_new_random(cf_env_system());
	cf_note_signer *sg = NULL;

	assert_non_null(k);
	assert_int_equal(cf_note_signer_new(name, k, &sg, NULL), CF_OK);
	cf_key_free(k);
	return sg;
}

static void check_note(fx *f, const char *note, const cf_note_verifier *v, int64_t want_size)
{
	uint8_t root[32], want_root[32];
	char *origin = NULL;
	int64_t size = -1;
	cf_err err = {0};
	cf_rc rc = cf_checkpoint_verify(note, strlen(note), v, &origin, &size, root, &err);

	if (rc != CF_OK)
		fail_msg("checkpoint does not verify: %d %s", rc, err.detail);
	assert_string_equal(origin, ORIGIN);
	free(origin);
	assert_int_equal(size, want_size);
	store_root(f, want_size, want_root);
	assert_memory_equal(root, want_root, 32);
}

static void test_checkpoints(void **state)
{
	fx *f = *state;
	cf_note_signer *sg;
	cf_note_verifier v;
	static char sentinel[] = "untouched";
	char *note = sentinel, *note2 = NULL, *note3 = NULL, *vk, *vk2;
	cf_err err = {0};

	open_store(f, 0);
	start_trail(f, 0, 60000);
	for (int i = 0; i < 3; i++)
		assert_int_equal(cf_trail_submit(f->t, tagged("pre"), NULL, NULL, NULL, NULL), CF_OK);

	/* sealed: nothing signed */
	assert_int_equal(cf_trail_checkpoint(f->t, &note, &err), CF_ESEALED);
	assert_int_equal(err.problem, CF_P_SEALED);
	assert_null(note);
	assert_null(cf_trail_verifier_key(f->t));

	sg = new_signer(ORIGIN);
	vk = cf_note_verifier_key(sg);
	assert_non_null(vk);
	assert_int_equal(cf_note_verifier_parse(vk, &v, NULL), CF_OK);
	cf_trail_set_signer(f->t, sg);
	vk2 = cf_trail_verifier_key(f->t);
	assert_non_null(vk2);
	assert_string_equal(vk2, vk);
	free(vk2);
	free(vk);

	assert_int_equal(cf_trail_checkpoint(f->t, &note, &err), CF_OK);
	assert_non_null(note);
	check_note(f, note, &v, 3);
	/* no new entry: the same note */
	assert_int_equal(cf_trail_checkpoint(f->t, &note2, &err), CF_OK);
	assert_string_equal(note2, note);
	free(note2);

	for (int i = 0; i < 4; i++)
		assert_int_equal(cf_trail_submit(f->t, tagged("post"), NULL, NULL, NULL, NULL), CF_OK);
	assert_int_equal(cf_trail_checkpoint(f->t, &note3, &err), CF_OK);
	assert_string_not_equal(note3, note);
	check_note(f, note3, &v, 7);
	free(note3);
	free(note);
}

static int64_t latest_checkpoint(fx *f, char **note)
{
	uint8_t root[32];
	int64_t size = -1;
	cf_tx *tx = NULL;
	cf_rc rc;

	*note = NULL;
	begin_trail_read(f, &tx);
	rc = cf_st_checkpoint_latest(tx, &size, root, note, NULL);
	cf_tx_rollback(tx);
	if (rc == CF_ENOTFOUND)
		return -1;
	assert_int_equal(rc, CF_OK);
	return size;
}

static void signer_and_verifier(fx *f, cf_note_verifier *v)
{
	char *vk;

	cf_trail_set_signer(f->t, new_signer(ORIGIN));
	vk = cf_trail_verifier_key(f->t);
	assert_non_null(vk);
	assert_int_equal(cf_note_verifier_parse(vk, v, NULL), CF_OK);
	free(vk);
}

static void test_checkpoint_signed_periodically(void **state)
{
	fx *f = *state;
	cf_note_verifier v;
	char *note = NULL;
	int64_t t0;

	open_store(f, 0);
	start_trail(f, 0, 50);
	signer_and_verifier(f, &v);
	for (int i = 0; i < 5; i++)
		assert_int_equal(cf_trail_submit(f->t, tagged("p"), NULL, NULL, NULL, NULL), CF_OK);
	/* without being asked, the writer signs the grown tree within a few intervals */
	t0 = mono_ms();
	while (latest_checkpoint(f, &note) != 5) {
		free(note);
		assert_true(mono_ms() - t0 < 3000);
		sleep_ms(20);
	}
	check_note(f, note, &v, 5);
	free(note);
}

static void test_checkpoint_signed_at_stop(void **state)
{
	fx *f = *state;
	cf_note_verifier v;
	char *note = NULL;

	open_store(f, 0);
	start_trail(f, 0, 600000); /* no periodic signing during the test */
	for (int i = 0; i < 2; i++)
		assert_int_equal(cf_trail_submit(f->t, tagged("sealed"), NULL, NULL, NULL, NULL), CF_OK);
	assert_int_equal(latest_checkpoint(f, &note), -1); /* sealed: never signed */
	signer_and_verifier(f, &v);
	assert_int_equal(cf_trail_checkpoint(f->t, &note, NULL), CF_OK);
	check_note(f, note, &v, 2);
	free(note);
	/* within the interval, growth alone does not sign */
	assert_int_equal(cf_trail_submit(f->t, tagged("a"), NULL, NULL, NULL, NULL), CF_OK);
	assert_int_equal(cf_trail_submit(f->t, tagged("b"), NULL, NULL, NULL, NULL), CF_OK);
	assert_int_equal(latest_checkpoint(f, &note), 2);
	free(note);
	/* stop signs the whole tree */
	cf_trail_stop(f->t);
	f->t = NULL;
	assert_int_equal(latest_checkpoint(f, &note), 4);
	check_note(f, note, &v, 4);
	free(note);
}

/* ---- stopping while requests arrive ----------------------------------------- */

#define N_QUEUED 8
#define N_LATE 8

static void *stopper_main(void *arg)
{
	cf_trail_stop(arg);
	return NULL;
}

/*
 * Stop called while requests are in flight: the writer is held in a job,
 * N_QUEUED more are queued behind it, then stop begins (and waits for the
 * held writer), and N_LATE requests arrive while it drains. Every submit
 * returns CF_OK (its entry stored) or CF_EAUDIT (nothing stored); the
 * queued ones are all processed, the late ones are all refused.
 *
 * A submit may not START once cf_trail_stop has returned (the trail is
 * freed; nothing can make that safe), so every request here is issued
 * while stop is still held: that is the only concurrency the API allows.
 */
static void test_stop_with_concurrent_submits(void **state)
{
	fx *f = *state;
	static const char *qtags[N_QUEUED] = {"q0", "q1", "q2", "q3", "q4", "q5", "q6", "q7"};
	static const char *ltags[N_LATE] = {"l0", "l1", "l2", "l3", "l4", "l5", "l6", "l7"};
	sub q[N_QUEUED], l[N_LATE], g_sub;
	pthread_t qth[N_QUEUED], lth[N_LATE], g_th, stopper;
	int ok = 0, eaudit = 0, late_returned = 0;
	gate g;

	open_store(f, 0);
	start_trail(f, 10000, 0);
	gate_init(&g);
	g_sub = (sub){.t = f->t, .tag = "gate", .apply = apply_gate, .ctx = &g};
	sub_start(&g_sub, &g_th);
	gate_wait_entered(&g);
	for (int i = 0; i < N_QUEUED; i++) {
		q[i] = (sub){.t = f->t, .tag = qtags[i]};
		sub_start(&q[i], &qth[i]);
	}
	sleep_ms(300); /* all queued behind the gate */
	assert_int_equal(pthread_create(&stopper, NULL, stopper_main, f->t), 0);
	sleep_ms(300); /* stop has begun: it waits for the held writer */
	for (int i = 0; i < N_LATE; i++) {
		l[i] = (sub){.t = f->t, .tag = ltags[i]};
		sub_start(&l[i], &lth[i]);
	}
	for (int i = 0; i < N_LATE; i++) /* refused at once: the writer is still held */
		late_returned += sub_wait(&l[i], 5000);
	gate_open(&g);
	for (int i = 0; i < N_LATE; i++)
		assert_int_equal(pthread_join(lth[i], NULL), 0);
	assert_int_equal(pthread_join(stopper, NULL), 0);
	f->t = NULL;
	assert_int_equal(pthread_join(g_th, NULL), 0);
	for (int i = 0; i < N_QUEUED; i++)
		assert_int_equal(pthread_join(qth[i], NULL), 0);
	gate_destroy(&g);

	assert_int_equal(late_returned, N_LATE);
	assert_int_equal(g_sub.rc, CF_OK);
	for (int i = 0; i < N_QUEUED; i++) {
		assert_int_equal(q[i].rc, CF_OK);
		assert_int_equal(index_of_tag(f, qtags[i]), q[i].index);
		ok++;
	}
	for (int i = 0; i < N_LATE; i++) {
		assert_int_equal(l[i].rc, CF_EAUDIT);
		assert_int_equal(l[i].err.problem, CF_P_AUDIT_UNAVAILABLE);
		assert_string_equal(l[i].err.detail, "the audit writer is stopping");
		assert_int_equal(l[i].index, -1);
		assert_int_equal(index_of_tag(f, ltags[i]), -1);
		eaudit++;
	}
	assert_int_equal(ok, N_QUEUED);
	assert_int_equal(eaudit, N_LATE);
	assert_int_equal(stored_count(f), 1 + ok); /* stored == the gate + every CF_OK */
}

/* SQL run on vault.db behind the store's back. */
static void vault_sql(fx *f, const char *sql)
{
	char path[PATH_MAX];
	sqlite3 *db = NULL;

	assert_int_equal(cf_snprintf(path, sizeof(path), "%s/vault.db", f->dir), CF_OK);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	(void)sqlite3_busy_timeout(db, 10000); /* the mover may be in a transaction */
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/*
 * Entries without work go to the journal: while the tables refuse them,
 * reads are still recorded (durably), but health says the trail cannot take
 * them in, and a job with work fails closed; both clear by themselves.
 */
static void test_journal_moves_that_fail_show_in_health(void **state)
{
	fx *f = *state;
	work w = {"trail.test.moves", "v", CF_OK, CF_P_NONE, NULL};
	char detail[256];
	cf_err err = {0};
	int64_t idx = -1;
	bool seen = false;

	open_store(f, 0);
	start_trail(f, 0, 50);
	assert_int_equal(cf_trail_submit(f->t, tagged("j0"), NULL, NULL, &idx, &err), CF_OK);
	assert_int_equal(idx, 0);
	vault_sql(f, "CREATE TRIGGER refuse BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'refused'); END");
	assert_int_equal(cf_trail_submit(f->t, tagged("j1"), NULL, NULL, &idx, &err), CF_OK);
	assert_int_equal(idx, 1);
	for (int i = 0; i < 100 && !seen; i++) {
		sleep_ms(20);
		seen = !cf_trail_healthy(f->t, detail, sizeof(detail));
	}
	assert_true(seen);
	assert_non_null(strstr(detail, "refused"));
	/* a job with work cannot run after a trail the tables refuse */
	assert_int_equal(cf_trail_submit(f->t, tagged("w"), apply_work, &w, NULL, &err), CF_EAUDIT);
	/* entries without work are still recorded, and health stays false */
	assert_int_equal(cf_trail_submit(f->t, tagged("j2"), NULL, NULL, &idx, &err), CF_OK);
	assert_int_equal(idx, 2);
	assert_false(cf_trail_healthy(f->t, NULL, 0));
	vault_sql(f, "DROP TRIGGER refuse");
	seen = false;
	for (int i = 0; i < 100 && !seen; i++) {
		sleep_ms(20);
		seen = cf_trail_healthy(f->t, detail, sizeof(detail));
	}
	assert_true(seen);
	assert_string_equal(detail, "");
	assert_int_equal(stored_count(f), 3);
	assert_int_equal(index_of_tag(f, "j2"), 2);
	assert_int_equal(index_of_tag(f, "w"), -1);
	assert_null(meta_of(f, "trail.test.moves"));
}

static void run_bursts(burst *b, cf_trail *t)
{
	pthread_t th[N_THREADS];

	for (int i = 0; i < N_THREADS; i++) {
		b[i].t = t;
		b[i].id = i;
		assert_int_equal(pthread_create(&th[i], NULL, burst_main, &b[i]), 0);
	}
	for (int i = 0; i < N_THREADS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (int i = 0; i < N_THREADS; i++)
		for (int k = 0; k < N_PER_THREAD; k++)
			assert_int_equal(b[i].rc[k], CF_OK);
}

/*
 * The writer moves the journal into the tables in rounds: a round takes
 * what the journal held when the threshold (4096 entries) was crossed and
 * leaves what came after for the next round, instead of moving every
 * batch right after it is appended.
 */
static void test_journal_moves_in_rounds(void **state)
{
	fx *f = *state;
	static burst b[N_THREADS];
	const size_t total = 2 * N_THREADS * N_PER_THREAD; /* 6400: one round, and what follows it */
	size_t left;

	open_store(f, 0);
	start_trail(f, 0, 600000); /* no round for age during the test */
	run_bursts(b, f->t);
	sleep_ms(200);
	/* under the threshold: the journal keeps it all */
	assert_int_equal(cf_store_journal_backlog(f->s), N_THREADS * N_PER_THREAD);
	run_bursts(b, f->t);
	sleep_ms(300); /* the mover ends its round */
	left = cf_store_journal_backlog(f->s);
	/*
	 * The round began at 4096 entries, or a few batches later (at most one
	 * entry per thread each) while the mover woke.
	 */
	assert_in_range(left, total - 4096 - 8 * N_THREADS, total - 4096);
	assert_int_equal(stored_count(f), total);
	assert_int_equal(cf_store_journal_backlog(f->s), 0);
	assert_true(cf_trail_healthy(f->t, NULL, 0));
}

/* Asynchronous entries counted as they end, a window of them in flight. */
typedef struct flood {
	cf_store *s;
	sem_t window;
	atomic_int ok, failed;
	atomic_size_t max_backlog; /* the journal's backlog as each entry ended */
} flood;

static void flood_done(void *ctx, cf_rc rc, const cf_err *err, int64_t index)
{
	flood *fl = ctx;
	size_t b = cf_store_journal_backlog(fl->s), seen = atomic_load(&fl->max_backlog);

	(void)err;
	(void)index;
	while (b > seen && !atomic_compare_exchange_weak(&fl->max_backlog, &seen, b))
		;
	atomic_fetch_add(rc == CF_OK ? &fl->ok : &fl->failed, 1);
	sem_post(&fl->window);
}

#define N_FLOOD 12000
#define FLOOD_WINDOW 1024

/*
 * The mover moves the journal on its own thread while the writer appends;
 * when the moves are slower than the appends (here a trigger makes each
 * row cost a thousand steps of SQL), the writer waits for room: the
 * backlog, held in memory, stays within its bound plus one batch, and the
 * trail that results is whole.
 */
static void test_appends_wait_for_a_slow_mover(void **state)
{
	fx *f = *state;
	flood fl = {0};
	int64_t t0;

	open_store(f, 0);
	vault_sql(f, "CREATE TRIGGER slow AFTER INSERT ON audit BEGIN SELECT count(*) FROM "
		     "(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000) SELECT x FROM c); END");
	start_trail(f, 10000, 600000); /* a long wait timeout, no round for age */
	fl.s = f->s;
	assert_int_equal(sem_init(&fl.window, 0, FLOOD_WINDOW), 0);
	for (int i = 0; i < N_FLOOD; i++) {
		cf_err err = {0};
		while (sem_wait(&fl.window) != 0)
			;
		assert_int_equal(cf_trail_submit_async(f->t, json_pack("{s:s,s:i}", "action", "test.flood", "n", i), NULL,
						       NULL, flood_done, &fl, &err),
				 CF_OK);
	}
	t0 = mono_ms();
	while (atomic_load(&fl.ok) + atomic_load(&fl.failed) < N_FLOOD && mono_ms() - t0 < 60000)
		sleep_ms(10);
	assert_int_equal(atomic_load(&fl.failed), 0);
	assert_int_equal(atomic_load(&fl.ok), N_FLOOD);
	assert_true(atomic_load(&fl.max_backlog) > 4096); /* the mover fell behind */
	assert_true(atomic_load(&fl.max_backlog) <= CF_TRAIL_BACKLOG_MAX + 256);
	vault_sql(f, "DROP TRIGGER slow");
	assert_tree_intact(f, N_FLOOD);
	assert_true(cf_trail_healthy(f->t, NULL, 0));
	sem_destroy(&fl.window);
}

static void test_start_stop_defaults(void **state)
{
	fx *f = *state;
	cf_err err = {0};
	int64_t b = -1, e = -1;

	open_store(f, 0);
	assert_int_equal(cf_trail_start(f->s, cf_env_system(), NULL, ORIGIN, &f->t, &err), CF_OK);
	cf_trail_stats(f->t, &b, &e);
	assert_int_equal(b, 0);
	assert_int_equal(e, 0);
	assert_true(cf_trail_healthy(f->t, NULL, 0));
	cf_trail_stop(f->t);
	f->t = NULL;
	cf_trail_stop(NULL);
	assert_int_equal(stored_count(f), 0);
}

/* ---- the commit delay: a batch held for requests in progress ------------- */

static void start_trail_delayed(fx *f, int wait_ms, int delay_us)
{
	cf_trail_options o = {.wait_timeout_ms = wait_ms, .commit_delay_us = delay_us};
	cf_err err = {0};
	cf_rc rc;

	open_store(f, 0);
	rc = cf_trail_start(f->s, cf_env_system(), &o, ORIGIN, &f->t, &err);
	if (rc != CF_OK)
		fail_msg("cf_trail_start: %d %s", rc, err.detail);
}

/* A hold longer than the submit's own wait: a hold that never ended would withdraw the job (CF_EAUDIT). */
#define LONG_HOLD_US (30 * 1000 * 1000)
#define SUBMIT_WAIT_MS 10000

static void assert_batches(fx *f, int64_t want_batches, int64_t want_entries)
{
	int64_t b = -1, e = -1;

	cf_trail_stats(f->t, &b, &e);
	assert_int_equal(b, want_batches);
	assert_int_equal(e, want_entries);
}

/*
 * Each test below records what it sees and asserts only after joining its
 * submitters: a hold that never ended ends at the submit's own wait
 * (SUBMIT_WAIT_MS, withdrawn: CF_EAUDIT), so the joins are bounded.
 */

/*
 * Starts a trail with a long hold and `requests` requests in progress, then
 * a submitter of an entry without work (tag); true when its batch is held
 * (it has not returned after 200 ms).
 */
static bool submit_held(fx *f, int requests, sub *a, pthread_t *ta, const char *tag)
{
	start_trail_delayed(f, SUBMIT_WAIT_MS, LONG_HOLD_US);
	for (int i = 0; i < requests; i++)
		cf_trail_request_begin(f->t);
	*a = (sub){.t = f->t, .tag = tag};
	sub_start(a, ta);
	return !sub_wait(a, 200);
}

/* Two requests in progress, one queued: its batch waits for the other's entry, and both share one sync. */
static void test_batch_held_for_a_request_in_progress(void **state)
{
	fx *f = *state;
	sub a = {0}, b = {0};
	pthread_t ta, tb;
	bool held, a_done, b_done;

	held = submit_held(f, 2, &a, &ta, "first"); /* the other request has not submitted */
	b = (sub){.t = f->t, .tag = "second"};
	sub_start(&b, &tb);
	a_done = sub_wait(&a, 5000);
	b_done = sub_wait(&b, 5000);
	assert_int_equal(pthread_join(ta, NULL), 0);
	assert_int_equal(pthread_join(tb, NULL), 0);
	cf_trail_request_end(f->t);
	cf_trail_request_end(f->t);
	assert_true(held);
	assert_true(a_done);
	assert_true(b_done);
	assert_int_equal(a.rc, CF_OK);
	assert_int_equal(b.rc, CF_OK);
	assert_batches(f, 1, 2);
	assert_int_equal(stored_count(f), 2);
}

/* A held batch goes as soon as the request it waits for ends without an entry. */
static void test_held_batch_goes_when_the_request_ends(void **state)
{
	fx *f = *state;
	sub a = {0};
	pthread_t ta;
	bool held, done;

	held = submit_held(f, 2, &a, &ta, "alone");
	cf_trail_request_end(f->t); /* the other request answered without an entry */
	done = sub_wait(&a, 5000);
	assert_int_equal(pthread_join(ta, NULL), 0);
	cf_trail_request_end(f->t);
	assert_true(held);
	assert_true(done);
	assert_int_equal(a.rc, CF_OK);
	assert_batches(f, 1, 1);
}

/* A job with work ends the hold at once: writes are never held. */
static void test_held_batch_goes_when_work_arrives(void **state)
{
	fx *f = *state;
	work w = {"trail.test.held", "written", CF_OK, CF_P_NONE, NULL};
	sub a = {0}, b = {0};
	pthread_t ta, tb;
	bool held, a_done, b_done;
	char *v;

	held = submit_held(f, 3, &a, &ta, "read");
	b = (sub){.t = f->t, .tag = "write", .apply = apply_work, .ctx = &w};
	sub_start(&b, &tb);
	b_done = sub_wait(&b, 5000);
	a_done = sub_wait(&a, 5000);
	assert_int_equal(pthread_join(ta, NULL), 0);
	assert_int_equal(pthread_join(tb, NULL), 0);
	for (int i = 0; i < 3; i++)
		cf_trail_request_end(f->t);
	assert_true(held);
	assert_true(a_done);
	assert_true(b_done);
	assert_int_equal(a.rc, CF_OK);
	assert_int_equal(b.rc, CF_OK);
	assert_batches(f, 1, 2);
	v = meta_of(f, "trail.test.held");
	assert_non_null(v);
	assert_string_equal(v, "written");
	free(v);
}

/* No hold when no request is in progress (an import, the sweeper) or when every one is queued. */
static void test_batch_not_held_when_nobody_else_may_join(void **state)
{
	fx *f = *state;
	cf_err err = {0};
	int64_t idx = -1;

	start_trail_delayed(f, 1000, LONG_HOLD_US);
	/* a held job would be withdrawn after the 1 s wait: CF_EAUDIT */
	assert_int_equal(cf_trail_submit(f->t, tagged("no request"), NULL, NULL, &idx, &err), CF_OK);
	assert_int_equal(idx, 0);
	cf_trail_request_begin(f->t);
	assert_int_equal(cf_trail_submit(f->t, tagged("the only request"), NULL, NULL, &idx, &err), CF_OK);
	assert_int_equal(idx, 1);
	cf_trail_request_end(f->t);
	assert_batches(f, 2, 2);
}

/* The hold is bounded by the delay: a request that never submits delays a batch by that much, no more. */
static void test_hold_is_bounded_by_the_delay(void **state)
{
	fx *f = *state;
	sub a = {0};
	pthread_t ta;
	bool done;

	start_trail_delayed(f, SUBMIT_WAIT_MS, 300 * 1000);
	cf_trail_request_begin(f->t);
	cf_trail_request_begin(f->t);
	a = (sub){.t = f->t, .tag = "bounded"};
	sub_start(&a, &ta);
	done = sub_wait(&a, 5000);
	assert_int_equal(pthread_join(ta, NULL), 0);
	cf_trail_request_end(f->t);
	cf_trail_request_end(f->t);
	assert_true(done);
	assert_int_equal(a.rc, CF_OK);
	assert_true(a.took_ms >= 290); /* it was held, for the delay */
	assert_batches(f, 1, 1);
}

/* Stopping ends a hold: the held entry is written and its submit answered before stop returns. */
static void test_stop_ends_a_hold(void **state)
{
	fx *f = *state;
	sub a = {0};
	pthread_t ta;
	bool held, done;

	held = submit_held(f, 2, &a, &ta, "at stop");
	cf_trail_stop(f->t);
	f->t = NULL;
	done = sub_wait(&a, 0);
	assert_int_equal(pthread_join(ta, NULL), 0);
	assert_true(held);
	assert_true(done);
	assert_int_equal(a.rc, CF_OK);
	assert_int_equal(a.index, 0);
	assert_int_equal(stored_count(f), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_journal_moves_that_fail_show_in_health, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_stop_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_submits_share_batches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_success_commits_its_work, setup, teardown),
		cmocka_unit_test_setup_teardown(test_submit_encoded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_denied_rolls_back_but_entry_stays, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_other_failure_is_marked_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_denied_job_does_not_spoil_its_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_failure_fails_the_whole_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_failure_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_null_entry_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_held_store_times_out_then_recovers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_job_not_taken_in_time_is_withdrawn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_submits_share_batches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_work_and_refusal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_job_not_taken_in_time_is_withdrawn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_at_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_moves_in_rounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_appends_wait_for_a_slow_mover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoints, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_signed_periodically, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_signed_at_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_with_concurrent_submits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_held_for_a_request_in_progress, setup, teardown),
		cmocka_unit_test_setup_teardown(test_held_batch_goes_when_the_request_ends, setup, teardown),
		cmocka_unit_test_setup_teardown(test_held_batch_goes_when_work_arrives, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_not_held_when_nobody_else_may_join, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hold_is_bounded_by_the_delay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_ends_a_hold, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
