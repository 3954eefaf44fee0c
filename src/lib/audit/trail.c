/*
 * trail.c - group commit and checkpoint signing (see trail.h).
 *
 * Locking: `mu` guards the queue, the jobs' taken flags and the health
 * state; `sign_mu` guards the signer and the last checkpoint. The store
 * serializes transactions itself. A request's job lives on the request's
 * stack: once the writer has taken it, the request waits until the writer
 * is done with it (every store step is bounded by the store's busy
 * timeout), so the writer never touches a job that is gone. An
 * asynchronous job (cf_trail_submit_async) is allocated: the writer calls
 * its submitter's callback instead and frees it, and a watchdog thread
 * withdraws those not taken in time, since no thread waits for them.
 *
 * The writer hands each job back by posting its semaphore, with no lock
 * held: a submitter woken under `mu` would go straight back to sleep on
 * it while the writer wakes the rest of the batch (measured with
 * bench/audit_bench.c: the hand-over alone went from 74,000-82,000 to
 * 146,000-162,000 jobs/s at 32 and 256 submitters). Posting is the
 * writer's last touch of a job; glibc's sem_post is safe against the
 * waiter returning and its stack being reused at once.
 *
 * A commit delay (PostgreSQL's commit_delay, for the same reason): a
 * batch of entries without work is held for up to commit_delay_us while
 * requests in progress (cf_trail_request_begin) are not all queued, so
 * that they share its sync. A sync costs this virtual machine's kernel
 * some 140 us of CPU besides its wait; under 32 connections of reads a
 * batch held about six entries without the hold. Jobs with work end the
 * hold at once: writes are bound by the writer's own cycle, which a hold
 * would only lengthen. `active` counts the requests in progress; `queued`
 * and `queued_work` the jobs in the queue (guarded by mu).
 *
 * A batch with no work to run (reads, refusals: most of them) is appended
 * to the store's audit journal, one write and one sync, and leaves the
 * database alone; a batch with work runs in a write transaction, which
 * first inserts what the journal holds beyond the tables. A thread of its
 * own, the mover, moves the journal into the tables when it holds
 * JOURNAL_FLUSH_ENTRIES entries or is older than the checkpoint interval,
 * while the writer goes on appending (the store's move does not hold the
 * journal); the writer waits for it only when the journal holds
 * CF_TRAIL_BACKLOG_MAX entries, each kept in memory until it is moved. The
 * writer moves all of it before signing and at its end. Measured with
 * entries submitted without waiting (bench/audit_bench.c): the writer and
 * its syncs, then the moves, one after the other on one thread, left half
 * of the two cores idle.
 */
#include "common/cf.h"
#include "audit/trail.h"
#include "audit/audit.h"
#include "common/log.h"
#include "merkle/merkle.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <time.h>

#define JOURNAL_FLUSH_ENTRIES 4096
#define JOURNAL_FLUSH_CHUNK 1024 /* entries per transaction: a batch with work waits for one chunk at most */

typedef struct job {
	json_t *entry;
	cf_audit_encoded enc; /* an entry without work is encoded by its submitter, off the writer's thread */
	cf_audit_encoded *given; /* or the caller's encoding of the entry as the work leaves it */
	cf_trail_apply_fn apply;
	void *ctx;
	cf_rc rc;
	cf_err err;
	int64_t index;
	bool taken;  /* by the writer (under mu): from then on it cannot be withdrawn */
	sem_t done;  /* posted by the writer when it is done with the job; its submitter alone waits */
	/* asynchronous (cf_trail_submit_async): called instead of posting `done`; the job is then the trail's */
	cf_trail_done_fn on_done;
	void *done_ctx;
	int64_t deadline_us; /* asynchronous: the watchdog withdraws it when not taken by then */
	struct job *next;
} job;

struct cf_trail {
	cf_store *store;
	const cf_env *env;
	cf_trail_options o;
	char *origin;
	pthread_t thread;
	bool running;
	pthread_mutex_t mu;
	pthread_cond_t work;
	pthread_condattr_t cattr; /* CLOCK_MONOTONIC, for the writer's condition */
	bool writer_waiting; /* the writer sleeps on work: a submit must wake it */
	job *head, *tail;
	size_t queued, queued_work; /* jobs in the queue, and those of them with work */
	atomic_int active;          /* requests in progress (cf_trail_request_begin) */
	atomic_bool holding;        /* the writer holds a batch for them (set and cleared under mu) */
	bool stopping;
	bool healthy;
	int64_t batches, entries; /* committed */
	atomic_int inflight;      /* submits between their start and their return (guards the trail's lifetime) */
	char detail[256];
	pthread_mutex_t sign_mu;
	cf_note_signer *signer;
	int64_t signed_size;  /* size of the last checkpoint signed, -1 before the first */
	int64_t signed_at_us; /* monotonic time of that signature */
	/* the mover: the journal into the tables, on a thread of its own */
	pthread_t mover;
	bool moving;           /* the mover thread runs */
	bool move_stop;        /* guarded by mu */
	bool mover_waiting;    /* the mover sleeps on move: a full backlog must wake it (guarded by mu) */
	pthread_cond_t move;   /* wakes the mover */
	pthread_cond_t moved;  /* a chunk went in: wakes a writer waiting for room */
	int64_t flushed_at_us; /* the mover's last move (its thread only, as the one below) */
	size_t round_left;     /* entries of the current round not moved yet (0: no round under way) */
	bool moves_ok;         /* the journal's last move into the tables worked (guarded by mu) */
	char move_detail[256];
	pthread_t watchdog;    /* withdraws asynchronous jobs not taken in time */
	bool watching;
	bool watch_stop;       /* guarded by mu */
	pthread_cond_t watch;
};

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static struct timespec deadline_after(int64_t us)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(us / 1000000);
	ts.tv_nsec += (long)((us % 1000000) * 1000);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec += 1;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/*
 * Signs and stores a checkpoint of the current tree when it grew (or force
 * and none exists). wait: for a lock another connection holds on the
 * database (the writer's periodic signing does not wait).
 */
static cf_rc sign_checkpoint(cf_trail *t, bool wait, char **note_out, cf_err *err)
{
	uint8_t root[CF_MERKLE_HASH_LEN];
	cf_tx *tx = NULL;
	int64_t size = 0, have_size = -1;
	char *note = NULL;
	cf_rc rc;

	if (note_out != NULL)
		*note_out = NULL;
	if (t->signer == NULL)
		return cf_err_set(err, CF_ESEALED, CF_P_SEALED, "the vault is sealed: checkpoints cannot be signed");
	/* a checkpoint covers the tables: the journal's entries go in first */
	rc = cf_store_flush_journal(t->store, CF_STORE_FLUSH_ALL, wait, err);
	if (rc != CF_OK)
		return cf_err_set(err, CF_EAUDIT, CF_P_AUDIT_UNAVAILABLE, "the audit journal cannot be moved to the trail");
	rc = cf_store_begin(t->store, false, &tx, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_st_audit_count(tx, &size, err);
	if (rc == CF_OK) {
		uint8_t r2[CF_MERKLE_HASH_LEN];
		cf_rc lrc = cf_st_checkpoint_latest(tx, &have_size, r2, &note, NULL);
		if (lrc != CF_OK)
			have_size = -1;
		if (have_size == size) {
			cf_tx_rollback(tx);
			t->signed_size = size;
			if (note_out != NULL)
				*note_out = note;
			else
				free(note);
			return CF_OK;
		}
		free(note);
		note = NULL;
		{
			/* the store keeps the tree's right edge: the root needs no node lookup */
			int64_t rsize = -1;
			rc = cf_st_audit_root(tx, &rsize, root, NULL);
			if (rc == CF_OK && rsize != size)
				rc = CF_EINTEGRITY;
		}
	}
	cf_tx_rollback(tx);
	tx = NULL;
	if (rc != CF_OK)
		return cf_err_set(err, CF_EAUDIT, CF_P_AUDIT_UNAVAILABLE, "the tree root cannot be computed");
	rc = cf_checkpoint_sign(t->signer, t->origin, size, root, &note, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_store_begin(t->store, true, &tx, err);
	if (rc == CF_OK) {
		rc = cf_st_checkpoint_put(tx, size, root, note, cf_now_us(t->env), err);
		if (rc == CF_EEXIST) {
			/* another signer got there first with the same size: same root, fine */
			cf_tx_rollback(tx);
			rc = CF_OK;
		} else if (rc == CF_OK) {
			rc = cf_tx_commit(tx, err);
		} else {
			cf_tx_rollback(tx);
		}
	}
	if (rc == CF_OK) {
		t->signed_size = size;
		t->signed_at_us = mono_us();
		if (note_out != NULL) {
			*note_out = note;
			note = NULL;
		}
	}
	free(note);
	return rc;
}

/* Whether the journal can be moved into the tables: writes fail while it cannot, so health says so. */
static void set_moves(cf_trail *t, bool ok, const char *detail)
{
	pthread_mutex_lock(&t->mu);
	if (ok && !t->moves_ok)
		cf_log(CF_LOG_INFO, "audit: the journal reaches the trail's tables again; writes resumed");
	else if (!ok && t->moves_ok)
		cf_log(CF_LOG_ERROR,
		       "audit: the journal cannot be moved to the trail's tables (%s); its entries stay durable, "
		       "writes fail with 503 until it can",
		       detail);
	t->moves_ok = ok;
	(void)snprintf(t->move_detail, sizeof(t->move_detail), "%s", ok ? "" : detail);
	pthread_mutex_unlock(&t->mu);
}

/*
 * The journal into the tables when it is large or old, a chunk at a time
 * (the mover's thread only). True while a round is under way: its next
 * chunk goes at once.
 *
 * A round moves the entries the journal held when it began, not those
 * that arrive meanwhile: chasing them would move every batch right after
 * its append, a database commit per batch, each one emptying the
 * readers' page caches. A move does not wait for another process's lock
 * on the database (it is tried again after the interval), and the writer
 * appends meanwhile (cf_store_move_journal).
 */
static bool maybe_move(cf_trail *t)
{
	size_t n = cf_store_journal_backlog(t->store), moved = 0, chunk;
	cf_err err = {0};

	if (t->round_left == 0) {
		if (n == 0 || (n < JOURNAL_FLUSH_ENTRIES &&
			       mono_us() - t->flushed_at_us < (int64_t)t->o.checkpoint_interval_ms * 1000))
			return false;
		t->round_left = n;
	}
	chunk = t->round_left < JOURNAL_FLUSH_CHUNK ? t->round_left : JOURNAL_FLUSH_CHUNK;
	if (cf_store_move_journal(t->store, chunk, false, &moved, &err) != CF_OK) {
		set_moves(t, false, err.detail[0] ? err.detail : "store unavailable");
		t->round_left = 0; /* tried again after the interval */
	} else {
		set_moves(t, true, NULL);
		/* fewer than asked: a write transaction moved the rest of the round before it */
		t->round_left = moved >= t->round_left || moved < chunk ? 0 : t->round_left - moved;
	}
	t->flushed_at_us = mono_us();
	return t->round_left > 0;
}

/* All of the journal into the tables now, waiting for locks (the trail's end). */
static void flush_all(cf_trail *t)
{
	cf_err err = {0};

	if (cf_store_flush_journal(t->store, CF_STORE_FLUSH_ALL, true, &err) != CF_OK)
		set_moves(t, false, err.detail[0] ? err.detail : "store unavailable");
	else
		set_moves(t, true, NULL);
}

/*
 * The mover: wakes when the writer finds the journal full enough, and
 * once per checkpoint interval for a journal grown old; moves a round's
 * chunks one after the other, and tells a writer waiting for room after
 * each.
 */
static void *mover_main(void *arg)
{
	cf_trail *t = arg;

	pthread_mutex_lock(&t->mu);
	while (!t->move_stop) {
		bool more;
		pthread_mutex_unlock(&t->mu);
		more = maybe_move(t);
		pthread_mutex_lock(&t->mu);
		pthread_cond_broadcast(&t->moved);
		/* a round ended with the next one already due: it begins at once */
		if (!more && !t->move_stop &&
		    (cf_store_journal_backlog(t->store) < JOURNAL_FLUSH_ENTRIES || !t->moves_ok)) {
			struct timespec dl = deadline_after((int64_t)t->o.checkpoint_interval_ms * 1000);
			t->mover_waiting = true;
			(void)pthread_cond_timedwait(&t->move, &t->mu, &dl);
			t->mover_waiting = false;
		}
	}
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

/*
 * After a batch, under mu: wakes the mover when the journal holds a round,
 * and waits while it holds CF_TRAIL_BACKLOG_MAX entries (each waits in
 * memory until it is moved): appends faster than the moves are held back
 * to their pace. Not while the moves fail: the entries are durable in the
 * journal, and reads go on as the journal grows (writes fail meanwhile).
 */
static void make_room(cf_trail *t)
{
	struct timespec dl;

	if (cf_store_journal_backlog(t->store) < JOURNAL_FLUSH_ENTRIES || !t->moves_ok)
		return;
	if (t->mover_waiting)
		pthread_cond_signal(&t->move);
	dl = deadline_after((int64_t)t->o.wait_timeout_ms * 1000);
	while (cf_store_journal_backlog(t->store) >= CF_TRAIL_BACKLOG_MAX && t->moves_ok && !t->stopping) {
		if (t->mover_waiting)
			pthread_cond_signal(&t->move);
		if (pthread_cond_timedwait(&t->moved, &t->mu, &dl) == ETIMEDOUT)
			break;
	}
}

static void maybe_checkpoint(cf_trail *t, bool force)
{
	cf_err err = {0};
	pthread_mutex_lock(&t->sign_mu);
	if (t->signer != NULL && (force || mono_us() - t->signed_at_us >= (int64_t)t->o.checkpoint_interval_ms * 1000)) {
		/* the writer's own thread: it does not wait for a lock another process holds */
		if (sign_checkpoint(t, false, NULL, &err) != CF_OK)
			cf_log(CF_LOG_WARN, "audit: checkpoint not signed: %s", err.detail);
		t->signed_at_us = mono_us();
	}
	pthread_mutex_unlock(&t->sign_mu);
}

static void set_health(cf_trail *t, bool ok, const char *detail)
{
	pthread_mutex_lock(&t->mu);
	if (ok && !t->healthy)
		cf_log(CF_LOG_INFO, "audit: the trail is writable again; service resumed");
	else if (!ok && t->healthy)
		cf_log(CF_LOG_ERROR, "audit: the trail cannot be written (%s); requests fail with 503 until it can",
		       detail);
	t->healthy = ok;
	if (!ok)
		(void)snprintf(t->detail, sizeof(t->detail), "%s", detail);
	else
		t->detail[0] = '\0';
	pthread_mutex_unlock(&t->mu);
}

static void outcome_from_failure(json_t *entry, cf_rc rc, const cf_err *err)
{
	bool denied = rc == CF_EDENIED || rc == CF_ENOTFOUND || rc == CF_EEXIST || rc == CF_EINVAL || rc == CF_EUNAUTH;
	if (json_object_get(entry, "outcome") != NULL)
		return;
	json_object_set_new(entry, "outcome", json_string(denied ? "denied" : "error"));
	if (err->detail[0] != '\0')
		json_object_set_new(entry, "reason", json_string(err->detail));
}

/* One transaction, one sync for the whole batch. */
static void run_batch(cf_trail *t, job **batch, size_t n)
{
	cf_tx *tx = NULL;
	cf_err err = {0};
	bool work = false;
	size_t i;
	cf_rc rc;

	for (i = 0; i < n; i++)
		work = work || batch[i]->apply != NULL;
	rc = work ? cf_store_begin(t->store, true, &tx, &err) : cf_store_begin_append(t->store, &tx, &err);
	if (rc != CF_OK)
		goto fail;
	for (i = 0; i < n; i++) {
		job *j = batch[i];
		const cf_audit_encoded *enc = j->enc.bytes != NULL ? &j->enc : NULL;
		if (j->apply != NULL) {
			if ((rc = cf_tx_savepoint(tx, &err)) != CF_OK)
				goto fail;
			j->rc = j->apply(j->ctx, tx, j->entry, &j->err);
			if (j->rc != CF_OK) {
				cf_tx_rollback_to(tx);
				if (j->rc == CF_EAUDIT || j->rc == CF_ESTORE) {
					/* the store itself failed under this job: the batch cannot be trusted */
					err = j->err;
					rc = j->rc;
					goto fail;
				}
				outcome_from_failure(j->entry, j->rc, &j->err);
			} else if ((rc = cf_tx_release(tx, &err)) != CF_OK) {
				goto fail;
			} else if (j->given != NULL && j->given->bytes != NULL) {
				enc = j->given;
			}
		}
		rc = enc != NULL ? cf_audit_append_encoded(tx, enc, &j->index, &err)
				 : cf_audit_append(tx, j->entry, &j->index, &err);
		if (rc != CF_OK)
			goto fail;
	}
	rc = cf_tx_commit(tx, &err);
	tx = NULL;
	if (rc != CF_OK)
		goto fail;
	set_health(t, true, NULL);
	if (work)
		set_moves(t, true, NULL); /* its beginning moved the journal in */
	pthread_mutex_lock(&t->mu);
	t->batches++;
	t->entries += (int64_t)n;
	pthread_mutex_unlock(&t->mu);
	return;
fail:
	cf_tx_rollback(tx);
	set_health(t, false, err.detail[0] ? err.detail : "store unavailable");
	for (i = 0; i < n; i++) {
		batch[i]->rc = CF_EAUDIT;
		cf_err_set(&batch[i]->err, CF_EAUDIT, CF_P_AUDIT_UNAVAILABLE,
			   "the audit trail cannot be written; nothing was done");
	}
}

/* A job leaves the queue (taken or withdrawn); under mu. */
static void unqueue(cf_trail *t, const job *j)
{
	t->queued--;
	if (j->apply != NULL)
		t->queued_work--;
}

/* Whether a held batch should go now; under mu. */
static bool hold_over(cf_trail *t)
{
	int active = atomic_load(&t->active);
	return t->stopping || t->queued_work > 0 || t->queued >= (size_t)t->o.max_batch || active <= 0 ||
	       t->queued >= (size_t)active;
}

/*
 * Holds the queued batch, under mu, while requests in progress may still
 * join it (see the top of the file), for commit_delay_us at most.
 */
static void hold_batch(cf_trail *t)
{
	struct timespec dl;

	if (t->o.commit_delay_us <= 0 || hold_over(t))
		return;
	dl = deadline_after(t->o.commit_delay_us);
	/* sequentially consistent with cf_trail_request_end: either it sees holding or hold_over sees it leave */
	atomic_store(&t->holding, true);
	while (!hold_over(t) && pthread_cond_timedwait(&t->work, &t->mu, &dl) != ETIMEDOUT)
		;
	atomic_store(&t->holding, false);
}

/* A done job's answer as its submitter gets it: a failure's err names its rc, a failure has no index. */
static void settle(job *j)
{
	if (j->rc == CF_OK)
		return;
	j->index = -1;
	if (j->err.rc == CF_OK)
		cf_err_set(&j->err, j->rc, CF_P_NONE, NULL);
}

/*
 * An asynchronous job's end: its submitter's callback, then the job is
 * freed, then it stops counting as in flight (the last touch of the trail
 * for its sake). No lock held.
 */
static void finish_async(cf_trail *t, job *j)
{
	settle(j);
	j->on_done(j->done_ctx, j->rc, &j->err, j->index);
	cf_audit_encoded_free(&j->enc);
	json_decref(j->entry);
	free(j);
	atomic_fetch_sub_explicit(&t->inflight, 1, memory_order_release);
}

/* The writer is done with j: wakes its submitter, or completes it. */
static void hand_back(cf_trail *t, job *j)
{
	if (j->on_done != NULL)
		finish_async(t, j);
	else
		sem_post(&j->done);
}

/* Takes j out of the queue if the writer has not taken it; under mu. */
static bool withdraw(cf_trail *t, job *j)
{
	job **pp = &t->head, *prev = NULL;

	if (j->taken)
		return false;
	while (*pp != NULL && *pp != j) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (*pp == j) {
		*pp = j->next;
		if (t->tail == j)
			t->tail = prev;
		unqueue(t, j);
	}
	return true;
}

static void set_not_in_time(job *j)
{
	j->rc = CF_EAUDIT;
	cf_err_set(&j->err, CF_EAUDIT, CF_P_AUDIT_UNAVAILABLE, "the audit trail did not answer in time; nothing was done");
}

/*
 * The watchdog: an asynchronous job has no thread of its own to time out
 * its wait, so this one withdraws those the writer has not taken by their
 * deadline (a writer stuck in a sync), checking a few times per wait
 * timeout: a job is answered within 1.25 times the timeout.
 */
static void *watchdog_main(void *arg)
{
	cf_trail *t = arg;
	int64_t period_us = (int64_t)t->o.wait_timeout_ms * 1000 / 4;

	pthread_mutex_lock(&t->mu);
	while (!t->watch_stop) {
		struct timespec dl = deadline_after(period_us);
		job *expired = NULL, *j, *next;
		int64_t now;

		(void)pthread_cond_timedwait(&t->watch, &t->mu, &dl);
		now = mono_us();
		for (j = t->head; j != NULL; j = next) {
			next = j->next;
			if (j->on_done != NULL && j->deadline_us <= now && withdraw(t, j)) {
				j->next = expired;
				expired = j;
			}
		}
		if (expired == NULL)
			continue;
		pthread_mutex_unlock(&t->mu);
		cf_log(CF_LOG_ERROR, "audit: the writer did not take an entry within %d ms", t->o.wait_timeout_ms);
		for (j = expired; j != NULL; j = next) {
			next = j->next;
			set_not_in_time(j);
			finish_async(t, j);
		}
		pthread_mutex_lock(&t->mu);
	}
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

static void *writer_main(void *arg)
{
	cf_trail *t = arg;
	job **batch = calloc((size_t)t->o.max_batch, sizeof(*batch));

	if (batch == NULL)
		CF_BUG("out of memory starting the audit writer");
	pthread_mutex_lock(&t->mu);
	for (;;) {
		size_t n = 0;
		while (t->head == NULL && !t->stopping) {
			struct timespec dl = deadline_after((int64_t)t->o.checkpoint_interval_ms * 1000);
			int r;
			t->writer_waiting = true;
			r = pthread_cond_timedwait(&t->work, &t->mu, &dl);
			t->writer_waiting = false;
			if (r == ETIMEDOUT) {
				pthread_mutex_unlock(&t->mu);
				maybe_checkpoint(t, false);
				pthread_mutex_lock(&t->mu);
			}
		}
		if (t->head == NULL && t->stopping)
			break;
		hold_batch(t);
		while (t->head != NULL && n < (size_t)t->o.max_batch) {
			job *j = t->head;
			t->head = j->next;
			if (t->head == NULL)
				t->tail = NULL;
			unqueue(t, j);
			j->taken = true;
			batch[n++] = j;
		}
		if (n == 0)
			continue; /* withdrawn while held */
		pthread_mutex_unlock(&t->mu);
		run_batch(t, batch, n);
		for (size_t i = 0; i < n; i++)
			hand_back(t, batch[i]); /* the last touch of the job */
		maybe_checkpoint(t, false);
		pthread_mutex_lock(&t->mu);
		make_room(t);
	}
	pthread_mutex_unlock(&t->mu);
	free(batch);
	flush_all(t);
	maybe_checkpoint(t, true);
	return NULL;
}

cf_rc cf_trail_start(cf_store *store, const cf_env *env, const cf_trail_options *opts, const char *origin,
		     cf_trail **out, cf_err *err)
{
	cf_trail *t;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (t == NULL || (t->origin = cf_strdup(origin)) == NULL) {
		free(t);
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
	}
	t->store = store;
	t->env = env;
	t->o.wait_timeout_ms = opts && opts->wait_timeout_ms > 0 ? opts->wait_timeout_ms : 5000;
	t->o.max_batch = opts && opts->max_batch > 0 ? opts->max_batch : 256;
	t->o.checkpoint_interval_ms = opts && opts->checkpoint_interval_ms > 0 ? opts->checkpoint_interval_ms : 1000;
	t->o.commit_delay_us = opts && opts->commit_delay_us > 0 ? opts->commit_delay_us : 0;
	t->healthy = true;
	t->moves_ok = true;
	t->signed_size = -1;
	t->flushed_at_us = mono_us();
	pthread_mutex_init(&t->mu, NULL);
	pthread_mutex_init(&t->sign_mu, NULL);
	pthread_condattr_init(&t->cattr);
	pthread_condattr_setclock(&t->cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&t->work, &t->cattr);
	pthread_cond_init(&t->watch, &t->cattr);
	pthread_cond_init(&t->move, &t->cattr);
	pthread_cond_init(&t->moved, &t->cattr);
	if (pthread_create(&t->thread, NULL, writer_main, t) != 0) {
		cf_trail_stop(t);
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "cannot start the audit writer");
	}
	t->running = true;
	if (pthread_create(&t->mover, NULL, mover_main, t) != 0) {
		cf_trail_stop(t);
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "cannot start the audit journal's mover");
	}
	t->moving = true;
	if (pthread_create(&t->watchdog, NULL, watchdog_main, t) != 0) {
		cf_trail_stop(t);
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "cannot start the audit writer's watchdog");
	}
	t->watching = true;
	*out = t;
	return CF_OK;
}

/* Tells a helper thread (the mover, the watchdog) to end, and waits for it (th NULL: never started). */
static void end_helper(cf_trail *t, bool *stop, pthread_cond_t *wake, pthread_t *th)
{
	pthread_mutex_lock(&t->mu);
	*stop = true;
	pthread_cond_signal(wake);
	pthread_mutex_unlock(&t->mu);
	if (th != NULL)
		pthread_join(*th, NULL);
}

void cf_trail_stop(cf_trail *t)
{
	if (t == NULL)
		return;
	pthread_mutex_lock(&t->mu);
	t->stopping = true;
	pthread_cond_broadcast(&t->work);
	pthread_cond_broadcast(&t->moved);
	pthread_mutex_unlock(&t->mu);
	if (t->running)
		pthread_join(t->thread, NULL);
	/* the writer moved what its last batches left: the mover has nothing more to do */
	end_helper(t, &t->move_stop, &t->move, t->moving ? &t->mover : NULL);
	/* the writer has done every queued job: nothing is left to withdraw */
	end_helper(t, &t->watch_stop, &t->watch, t->watching ? &t->watchdog : NULL);
	/*
	 * Every queued job is done and no submit can start (stopping is set
	 * under mu): wait for their submitters to return before the trail goes
	 * away. Their last touch of it is the decrement, no lock: a short poll.
	 */
	while (atomic_load_explicit(&t->inflight, memory_order_acquire) > 0) {
		struct timespec ms = {0, 1000000};
		nanosleep(&ms, NULL);
	}
	cf_note_signer_free(t->signer);
	pthread_cond_destroy(&t->work);
	pthread_cond_destroy(&t->watch);
	pthread_cond_destroy(&t->move);
	pthread_cond_destroy(&t->moved);
	pthread_condattr_destroy(&t->cattr);
	pthread_mutex_destroy(&t->mu);
	pthread_mutex_destroy(&t->sign_mu);
	free(t->origin);
	free(t);
}

void cf_trail_set_signer(cf_trail *t, cf_note_signer *signer)
{
	cf_note_signer *old;
	pthread_mutex_lock(&t->sign_mu);
	old = t->signer;
	t->signer = signer;
	t->signed_at_us = 0;
	pthread_mutex_unlock(&t->sign_mu);
	cf_note_signer_free(old);
}

cf_rc cf_trail_submit(cf_trail *t, json_t *entry, cf_trail_apply_fn apply, void *ctx, int64_t *index_out, cf_err *err)
{
	return cf_trail_submit_encoded(t, entry, NULL, apply, ctx, index_out, err);
}

/*
 * Waits for the writer to be done with j; false when it was never taken
 * within the wait timeout (it is withdrawn: nothing was done). Once taken,
 * a job cannot be withdrawn: the writer finishes it within its store's
 * busy timeouts.
 */
static bool wait_done(cf_trail *t, job *j)
{
	struct timespec dl = deadline_after((int64_t)t->o.wait_timeout_ms * 1000);

	for (;;) {
		bool withdrawn;
		if (sem_clockwait(&j->done, CLOCK_MONOTONIC, &dl) == 0)
			return true;
		if (errno == EINTR)
			continue;
		if (errno != ETIMEDOUT)
			CF_BUG("sem_clockwait failed on a job's semaphore");
		pthread_mutex_lock(&t->mu);
		withdrawn = withdraw(t, j);
		pthread_mutex_unlock(&t->mu);
		if (withdrawn) {
			cf_log(CF_LOG_ERROR, "audit: the writer did not take an entry within %d ms", t->o.wait_timeout_ms);
			return false;
		}
		dl = deadline_after((int64_t)t->o.wait_timeout_ms * 1000);
	}
}

/*
 * Fills j for entry (taken). Work may change the entry (its outcome): an
 * entry without work is final now, so it is encoded and released here,
 * on the submitter's thread, and the writer only ever sees its bytes (a
 * tree of allocations freed by another thread than the one that made them
 * costs glibc's allocator a lock on the maker's arena per block: measured
 * with asynchronous submits, 15 to 20 % of the process's samples).
 * j->entry is then NULL; it is the caller's to release otherwise.
 */
static cf_rc job_prepare(job *j, json_t *entry, cf_audit_encoded *enc, cf_trail_apply_fn apply, void *ctx,
			 cf_err *err)
{
	cf_rc rc = CF_OK;

	j->entry = entry;
	j->apply = apply;
	j->given = apply != NULL ? enc : NULL;
	j->ctx = ctx;
	j->index = -1;
	if (entry == NULL)
		return cf_err_set(err, CF_EAUDIT, CF_P_AUDIT_UNAVAILABLE, "audit entry could not be built");
	if (apply != NULL)
		return CF_OK;
	if (cf_audit_encode(entry, &j->enc, err) != CF_OK)
		rc = CF_EAUDIT;
	json_decref(entry);
	j->entry = NULL;
	return rc;
}

/* Queues j, counted in flight from now on; refused (j untouched) once stop has begun. */
static cf_rc job_enqueue(cf_trail *t, job *j, cf_err *err)
{
	pthread_mutex_lock(&t->mu);
	if (t->stopping) {
		pthread_mutex_unlock(&t->mu);
		return cf_err_set(err, CF_EAUDIT, CF_P_AUDIT_UNAVAILABLE, "the audit writer is stopping");
	}
	atomic_fetch_add_explicit(&t->inflight, 1, memory_order_relaxed);
	if (t->tail != NULL)
		t->tail->next = j;
	else
		t->head = j;
	t->tail = j;
	t->queued++;
	if (j->apply != NULL)
		t->queued_work++;
	/* a busy writer takes the queue when its batch ends: only a sleeping or holding one needs the signal */
	if (t->writer_waiting || (atomic_load(&t->holding) && hold_over(t)))
		pthread_cond_signal(&t->work);
	pthread_mutex_unlock(&t->mu);
	return CF_OK;
}

cf_rc cf_trail_submit_encoded(cf_trail *t, json_t *entry, cf_audit_encoded *enc, cf_trail_apply_fn apply, void *ctx,
			      int64_t *index_out, cf_err *err)
{
	job j;
	bool taken;
	cf_rc rc;

	memset(&j, 0, sizeof(j));
	if ((rc = job_prepare(&j, entry, enc, apply, ctx, err)) != CF_OK)
		return rc;
	if (sem_init(&j.done, 0, 0) != 0)
		CF_BUG("sem_init failed on a private semaphore");
	if ((rc = job_enqueue(t, &j, err)) != CF_OK) {
		sem_destroy(&j.done);
		cf_audit_encoded_free(&j.enc);
		json_decref(j.entry);
		return rc;
	}
	taken = wait_done(t, &j);
	sem_destroy(&j.done);
	/* the last touch of the trail: stop may free it once every submit is out */
	atomic_fetch_sub_explicit(&t->inflight, 1, memory_order_release);
	cf_audit_encoded_free(&j.enc);
	json_decref(j.entry);
	if (!taken)
		set_not_in_time(&j);
	settle(&j);
	if (j.rc != CF_OK && err != NULL)
		*err = j.err;
	if (j.rc == CF_OK && index_out != NULL)
		*index_out = j.index;
	return j.rc;
}

cf_rc cf_trail_submit_async(cf_trail *t, json_t *entry, cf_trail_apply_fn apply, void *ctx, cf_trail_done_fn done,
			    void *done_ctx, cf_err *err)
{
	job *j = calloc(1, sizeof(*j));
	cf_rc rc;

	if (j == NULL) {
		json_decref(entry);
		return cf_err_set(err, CF_EAUDIT, CF_P_AUDIT_UNAVAILABLE, "out of memory for an audit entry");
	}
	if ((rc = job_prepare(j, entry, NULL, apply, ctx, err)) != CF_OK) {
		free(j);
		return rc;
	}
	j->on_done = done;
	j->done_ctx = done_ctx;
	j->deadline_us = mono_us() + (int64_t)t->o.wait_timeout_ms * 1000;
	if ((rc = job_enqueue(t, j, err)) != CF_OK) {
		cf_audit_encoded_free(&j->enc);
		json_decref(j->entry);
		free(j);
	}
	return rc;
}

void cf_trail_request_begin(cf_trail *t)
{
	if (t != NULL)
		atomic_fetch_add(&t->active, 1);
}

void cf_trail_request_end(cf_trail *t)
{
	if (t == NULL)
		return;
	atomic_fetch_sub(&t->active, 1);
	/* a request that leaves may be the one a held batch waits for */
	if (atomic_load(&t->holding)) {
		pthread_mutex_lock(&t->mu);
		if (atomic_load(&t->holding) && hold_over(t))
			pthread_cond_signal(&t->work);
		pthread_mutex_unlock(&t->mu);
	}
}

bool cf_trail_healthy(cf_trail *t, char *detail, size_t size)
{
	bool ok;
	pthread_mutex_lock(&t->mu);
	ok = t->healthy && t->moves_ok;
	if (detail != NULL && size > 0)
		(void)snprintf(detail, size, "%s", !t->healthy ? t->detail : t->move_detail);
	pthread_mutex_unlock(&t->mu);
	return ok;
}

cf_rc cf_trail_checkpoint(cf_trail *t, char **note, cf_err *err)
{
	cf_rc rc;
	pthread_mutex_lock(&t->sign_mu);
	rc = sign_checkpoint(t, true, note, err);
	pthread_mutex_unlock(&t->sign_mu);
	return rc;
}

char *cf_trail_verifier_key(cf_trail *t)
{
	char *k = NULL;
	pthread_mutex_lock(&t->sign_mu);
	if (t->signer != NULL)
		k = cf_note_verifier_key(t->signer);
	pthread_mutex_unlock(&t->sign_mu);
	return k;
}

void cf_trail_stats(cf_trail *t, int64_t *batches, int64_t *entries)
{
	pthread_mutex_lock(&t->mu);
	*batches = t->batches;
	*entries = t->entries;
	pthread_mutex_unlock(&t->mu);
}
