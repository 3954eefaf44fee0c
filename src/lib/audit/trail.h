/*
 * trail.h - the audit trail's writer: group commit, checkpoints, health.
 *
 * One writer thread takes the jobs of concurrent requests, runs each one's
 * work under a savepoint in ONE transaction, appends each one's entry, and
 * commits with ONE sync; then it wakes every request whose entry is
 * durable. A request never waits longer than the configured timeout for
 * its job to be taken; once taken, every step is bounded by the store's
 * busy timeout. When the trail cannot be written (disk full, I/O error,
 * store locked past the timeout) every job of the batch fails with
 * CF_EAUDIT, the condition is logged and reported by cf_trail_healthy,
 * and the next batch that commits clears it: service resumes by itself.
 *
 * Every second while entries arrive (and on demand), the writer signs a
 * C2SP checkpoint of the tree and stores it. Nothing here can disable,
 * filter or redirect the trail.
 */
#ifndef CF_AUDIT_TRAIL_H
#define CF_AUDIT_TRAIL_H

#include "common/cf.h"
#include "audit/audit.h"
#include "audit/note.h"
#include "store/store.h"
#include <jansson.h>

typedef struct cf_trail cf_trail;

/*
 * Entries the audit journal holds in memory, synced but not yet moved
 * into the tables, beyond which the writer waits for the journal's mover.
 */
#define CF_TRAIL_BACKLOG_MAX 8192

typedef struct cf_trail_options {
	int wait_timeout_ms;        /* longest wait for a job to be taken (default 5000) */
	int max_batch;              /* jobs per transaction (default 256) */
	int checkpoint_interval_ms; /* signing period while entries arrive (default 1000) */
	int commit_delay_us;        /* longest hold of a batch for requests in progress (0: none, the default) */
} cf_trail_options;

/* Work run by the writer inside its transaction before the entry is appended. */
typedef cf_rc (*cf_trail_apply_fn)(void *ctx, cf_tx *tx, json_t *entry, cf_err *err);

/* Starts the writer thread. origin names the log in checkpoints. */
cf_rc cf_trail_start(cf_store *store, const cf_env *env, const cf_trail_options *opts, const char *origin,
		     cf_trail **out, cf_err *err) CF_MUST_CHECK;
/*
 * Processes what is queued, signs a last checkpoint, stops the thread and
 * waits for every submit in flight to return; submits that start after
 * stop began are refused (CF_EAUDIT). No submit may start after stop
 * returns. NULL is fine.
 */
void cf_trail_stop(cf_trail *t);
/* Gives the checkpoint signer (taken); until then checkpoints are not signed (sealed vault). */
void cf_trail_set_signer(cf_trail *t, cf_note_signer *signer);

/*
 * Submits entry (consumed) with optional work, and waits until it is
 * durable. Returns apply's result when the work failed (the entry, marked
 * with the failure, is still durable), CF_EAUDIT when the trail could not
 * be written or the job was not taken in time (nothing was done), CF_OK
 * otherwise. index_out (optional) receives the entry's index.
 */
cf_rc cf_trail_submit(cf_trail *t, json_t *entry, cf_trail_apply_fn apply, void *ctx, int64_t *index_out,
		      cf_err *err) CF_MUST_CHECK;

/*
 * The same, with the entry as the work should leave it already encoded by
 * the caller (enc: the caller's, NULL for none), so that the writer does
 * not encode it: once apply succeeds, the writer appends enc if it still
 * holds bytes, else the entry. Work that changes the entry clears enc
 * first (cf_audit_encoded_free); a failed work's entry is always encoded
 * anew (it is marked with the failure).
 */
cf_rc cf_trail_submit_encoded(cf_trail *t, json_t *entry, cf_audit_encoded *enc, cf_trail_apply_fn apply, void *ctx,
			      int64_t *index_out, cf_err *err) CF_MUST_CHECK;

/*
 * The end of an asynchronous submit: rc as cf_trail_submit's, err its
 * detail (never NULL; err->rc is rc), index the entry's (-1 on failure).
 * Called once, on the writer's thread (or the watchdog's, for a job not
 * taken within the wait timeout), with no lock held: it must be short,
 * must not block and must not submit.
 */
typedef void (*cf_trail_done_fn)(void *done_ctx, cf_rc rc, const cf_err *err, int64_t index);

/*
 * Submits entry (consumed) with optional work and returns at once: done
 * is called when the entry is durable, with what cf_trail_submit would
 * have returned, so that a submitter need not sleep for each entry. The
 * job is withdrawn (done gets CF_EAUDIT, nothing was done) when the
 * writer has not taken it within 1.25 times the wait timeout. Returns
 * CF_OK when queued (done will be called exactly once), else the error,
 * and done is never called. ctx must live until done is called.
 */
cf_rc cf_trail_submit_async(cf_trail *t, json_t *entry, cf_trail_apply_fn apply, void *ctx, cf_trail_done_fn done,
			    void *done_ctx, cf_err *err) CF_MUST_CHECK;

/*
 * A request that may submit an entry begins, or ends (it submitted or
 * never will). While requests have begun and not all of them are queued,
 * the writer holds a batch of entries without work for up to
 * commit_delay_us, so that theirs share its sync: one sync for more
 * entries, fewer wake-ups, at the price of that delay. The hold ends
 * early when every request in progress is queued, when a job with work
 * arrives, when the batch is full, or at stop. Without begin/end (or with
 * no delay) a batch is never held. Both are lock-free unless the writer
 * is holding a batch.
 */
void cf_trail_request_begin(cf_trail *t);
void cf_trail_request_end(cf_trail *t);

/* false while the last attempt to write the trail failed; detail says why. */
bool cf_trail_healthy(cf_trail *t, char *detail, size_t size);

/*
 * The latest signed checkpoint covering the whole current tree, signing one
 * now if the latest is older (on demand). CF_ESEALED without a signer.
 */
cf_rc cf_trail_checkpoint(cf_trail *t, char **note, cf_err *err) CF_MUST_CHECK;
/* Counters since start: committed batches (one sync each) and entries in them. */
void cf_trail_stats(cf_trail *t, int64_t *batches, int64_t *entries);

/* The verifier key ("name+hex+base64"), malloc'd; NULL without a signer. */
char *cf_trail_verifier_key(cf_trail *t);

#endif
