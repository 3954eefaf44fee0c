/*
 * audit_bench.c - measures the audit trail, each figure beside its
 * baseline in the same run:
 *   1. durable appends per second under concurrency through the group-commit
 *      writer, against one transaction (one sync) per append, on the same
 *      store settings (WAL, synchronous=FULL), and against the ceiling of
 *      the hand-over itself (the same queue and wake-ups, no entry, no
 *      storage, no sync), and the same appends from a thread per core that
 *      each keep their share of the entries in flight without waiting for
 *      each (cf_trail_submit_async): what the trail gives submitters that
 *      do not sleep;
 *   2. inclusion and consistency proof generation time at N entries;
 *   3. full offline verification time, reported per million entries.
 * Usage: audit_bench [--entries N] [--threads T[,T...]] [--seconds S] [--dir DIR]
 * (the appends are measured once for each number of submitting threads, and
 * asynchronously with as many entries in flight)
 */
#include "common/cf.h"
#include "audit/audit.h"
#include "audit/trail.h"
#include "audit/verify.h"
#include "crypto/crypto.h"
#include "merkle/merkle.h"
#include "store/store.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static json_t *sample_entry(long i)
{
	char rec[64];
	(void)snprintf(rec, sizeof(rec), "r_bench%ld", i);
	return json_pack("{s:s, s:{s:s, s:s, s:s, s:[s], s:s, s:s}, s:s, s:{s:s, s:s, s:s, s:s}, s:[s,s], s:s, s:s, "
			 "s:s, s:s}",
			 "time", "2026-11-22T20:00:00.000000Z", "actor", "user", "u_0123456789abcdef01234567", "org", "cpas",
			 "role", "agent", "roles", "agent", "auth", "password", "ip", "127.0.0.1", "action", "record.read",
			 "resource", "org", "cpas", "collection", "social_aid", "record", rec, "subject",
			 "s_T3-xb6WrsxssDne_TFWaNQ", "fields", "first_name", "last_name", "purpose", "social-aid",
			 "legal_basis", "organic law on welfare centres, art. 60", "outcome", "allowed", "trace_id",
			 "0af7651916cd43dd8448eb211c80319c");
}

/*
 * The ceiling of the hand-over: the trail's queue and wake-ups (trail.c,
 * cf_trail_submit_encoded and writer_main) with nothing in them. Each
 * submitter queues a job under one mutex, wakes the writer if it sleeps
 * and sleeps on its job's own semaphore; the writer takes the whole queue
 * and posts each job's semaphore with no lock held. No entry is built,
 * nothing is stored or synced: what a group commit whose every submitter
 * waits on a thread of its own can reach on this machine, before any work.
 */
typedef struct hjob {
	sem_t done;
	struct hjob *next;
} hjob;

typedef struct handoff {
	pthread_mutex_t mu;
	pthread_cond_t work;
	hjob *head, *tail;
	bool writer_waiting, stop;
	int64_t batches, entries;
} handoff;

/* A submitting thread: to the trail, or to the bare hand-over */
typedef struct worker {
	cf_trail *trail;
	handoff *h;
	double until;
	long done;
} worker;

static void *run_handoff_submitter(void *arg)
{
	worker *w = arg;
	handoff *h = w->h;
	hjob j;

	while (now_s() < w->until) {
		sem_init(&j.done, 0, 0);
		j.next = NULL;
		pthread_mutex_lock(&h->mu);
		if (h->tail != NULL)
			h->tail->next = &j;
		else
			h->head = &j;
		h->tail = &j;
		if (h->writer_waiting)
			pthread_cond_signal(&h->work);
		pthread_mutex_unlock(&h->mu);
		while (sem_wait(&j.done) != 0 && errno == EINTR)
			;
		sem_destroy(&j.done);
		w->done++;
	}
	return NULL;
}

static void *run_handoff_writer(void *arg)
{
	handoff *h = arg;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		hjob *batch;
		while (h->head == NULL && !h->stop) {
			h->writer_waiting = true;
			pthread_cond_wait(&h->work, &h->mu);
			h->writer_waiting = false;
		}
		if (h->head == NULL)
			break;
		batch = h->head;
		h->head = h->tail = NULL;
		pthread_mutex_unlock(&h->mu); /* where the trail's writer appends and syncs */
		h->batches++;
		while (batch != NULL) {
			hjob *next = batch->next;
			h->entries++;
			sem_post(&batch->done);
			batch = next;
		}
		pthread_mutex_lock(&h->mu);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

static void *run_worker(void *arg)
{
	worker *w = arg;
	long i = 0;
	while (now_s() < w->until) {
		cf_err err = {0};
		if (cf_trail_submit(w->trail, sample_entry(i++), NULL, NULL, NULL, &err) != CF_OK) {
			fprintf(stderr, "submit failed: %s\n", err.detail);
			break;
		}
		w->done++;
	}
	return NULL;
}

/* A thread that keeps `window` entries in flight: it submits while it has room, each answer makes room. */
typedef struct async_sub {
	cf_trail *trail;
	double until;
	long window;
	sem_t room;          /* one per entry it may still put in flight */
	atomic_long answered; /* durable */
	atomic_long failed;
} async_sub;

static void async_done(void *ctx, cf_rc rc, const cf_err *err, int64_t index)
{
	async_sub *a = ctx;
	(void)err;
	(void)index;
	atomic_fetch_add_explicit(rc == CF_OK ? &a->answered : &a->failed, 1, memory_order_relaxed);
	sem_post(&a->room);
}

static void *run_async_submitter(void *arg)
{
	async_sub *a = arg;
	long i = 0;
	while (now_s() < a->until) {
		cf_err err = {0};
		while (sem_wait(&a->room) != 0)
			;
		if (cf_trail_submit_async(a->trail, sample_entry(i++), NULL, NULL, async_done, a, &err) != CF_OK) {
			fprintf(stderr, "asynchronous submit failed: %s\n", err.detail);
			sem_post(&a->room);
			break;
		}
	}
	/* every entry in flight is answered once all the room is back */
	for (long k = 0; k < a->window; k++)
		while (sem_wait(&a->room) != 0)
			;
	return NULL;
}

/*
 * Durable appends per second with `in_flight` entries in flight from one
 * thread per core, until every one is answered; -1 when a thread cannot
 * start or an entry fails.
 */
static double run_async(cf_trail *trail, long in_flight, double seconds)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN), n = cores < 1 ? 1 : (cores > in_flight ? in_flight : cores);
	async_sub *a = calloc((size_t)n, sizeof(*a));
	pthread_t *th = calloc((size_t)n, sizeof(*th));
	long started = 0, total = 0, failed = 0;
	double t0 = now_s();

	for (; a != NULL && th != NULL && started < n; started++) {
		a[started].trail = trail;
		a[started].until = t0 + seconds;
		a[started].window = in_flight / n + (started < in_flight % n ? 1 : 0);
		sem_init(&a[started].room, 0, (unsigned)a[started].window);
		if (pthread_create(&th[started], NULL, run_async_submitter, &a[started]) != 0) {
			sem_destroy(&a[started].room);
			break;
		}
	}
	for (long i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		total += atomic_load(&a[i].answered);
		failed += atomic_load(&a[i].failed);
		sem_destroy(&a[i].room);
	}
	t0 = now_s() - t0;
	free(a);
	free(th);
	if (failed > 0)
		fprintf(stderr, "%ld asynchronous entries failed\n", failed);
	return started == n && failed == 0 ? (double)total / t0 : -1;
}

/*
 * Runs `threads` submitters of fn (on the trail or the hand-over) for
 * `seconds`; returns what they submitted per second, -1 when a thread
 * cannot start or memory runs out.
 */
static double run_submitters(long threads, double seconds, void *(*fn)(void *), cf_trail *trail, handoff *h)
{
	worker *w = calloc((size_t)threads, sizeof(*w));
	pthread_t *th = calloc((size_t)threads, sizeof(*th));
	long started = 0, total = 0;
	double t0 = now_s();

	for (; w != NULL && th != NULL && started < threads; started++) {
		w[started].trail = trail;
		w[started].h = h;
		w[started].until = t0 + seconds;
		if (pthread_create(&th[started], NULL, fn, &w[started]) != 0) {
			fprintf(stderr, "cannot start submitter %ld\n", started);
			break;
		}
	}
	for (long i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		total += w[i].done;
	}
	t0 = now_s() - t0;
	free(w);
	free(th);
	return started == threads ? (double)total / t0 : -1;
}

/* Hand-overs per second with `threads` submitters for `seconds`; -1 when a thread cannot start. */
static double handoff_ceiling(long threads, double seconds, double *per_batch)
{
	handoff h = {.mu = PTHREAD_MUTEX_INITIALIZER, .work = PTHREAD_COND_INITIALIZER};
	pthread_t writer;
	double rate;

	if (pthread_create(&writer, NULL, run_handoff_writer, &h) != 0)
		return -1;
	rate = run_submitters(threads, seconds, run_handoff_submitter, NULL, &h);
	pthread_mutex_lock(&h.mu);
	h.stop = true;
	pthread_cond_signal(&h.work);
	pthread_mutex_unlock(&h.mu);
	pthread_join(writer, NULL);
	*per_batch = h.batches ? (double)h.entries / (double)h.batches : 0.0;
	return rate;
}

static cf_rc open_store(const char *dir, cf_store **s, bool scan_reads)
{
	cf_store_options o = {.busy_timeout_ms = 10000, .sync_full = true, .scan_reads = scan_reads};
	cf_err err = {0};
	mkdir(dir, 0700);
	if (cf_store_open(dir, cf_env_system(), &o, s, &err) != CF_OK) {
		fprintf(stderr, "store: %s\n", err.detail);
		return CF_ESTORE;
	}
	return CF_OK;
}

/* "32" or "32,256": up to max counts from 1 to 4096; 0 on any other text. */
static size_t parse_counts(const char *text, long *out, size_t max)
{
	size_t n = 0;
	const char *p = text;
	for (;;) {
		char *end = NULL;
		long v;
		errno = 0;
		v = strtol(p, &end, 10);
		if (end == p || errno != 0 || v < 1 || v > 4096 || n == max)
			return 0;
		out[n++] = v;
		if (*end == '\0')
			return n;
		if (*end != ',')
			return 0;
		p = end + 1;
	}
}

static cf_rc node_get(void *ctx, int level, int64_t index, uint8_t out[32])
{
	return cf_st_audit_node_get(ctx, level, index, out, NULL);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"entries", required_argument, NULL, 'n'},
					     {"threads", required_argument, NULL, 't'},
					     {"seconds", required_argument, NULL, 's'},
					     {"dir", required_argument, NULL, 'd'},
					     {NULL, 0, NULL, 0}};
	long entries = 1000000, thread_counts[8] = {32};
	size_t n_threads = 1;
	double seconds = 5;
	char base[256] = "/tmp/coffre-audit-bench-XXXXXX", d_single[300], d_big[300];
	cf_store *s = NULL;
	cf_trail *trail = NULL;
	cf_err err = {0};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': entries = strtol(optarg, NULL, 10); break;
		case 't':
			n_threads = parse_counts(optarg, thread_counts, CF_ARRAY_LEN(thread_counts));
			if (n_threads == 0) {
				fprintf(stderr, "audit_bench: --threads takes up to %zu counts from 1 to 4096, "
						"separated by commas (got \"%s\")\n", CF_ARRAY_LEN(thread_counts), optarg);
				return 2;
			}
			break;
		case 's': seconds = strtod(optarg, NULL); break;
		case 'd': (void)snprintf(base, sizeof(base), "%s/coffre-audit-bench-XXXXXX", optarg); break;
		default: return 2;
		}
	}
	if (cf_crypto_init() != CF_OK || mkdtemp(base) == NULL)
		return 1;
	(void)snprintf(d_single, sizeof(d_single), "%s/single", base);
	(void)snprintf(d_big, sizeof(d_big), "%s/big", base);
	printf("# coffre audit bench: %.1f s per run, %ld entries for proofs/verify\n", seconds, entries);

	/* 1a. group commit, for each number of submitters on a store of its own */
	for (size_t ti = 0; ti < n_threads; ti++) {
		long threads = thread_counts[ti];
		int64_t batches = 0, n = 0;
		char dg[320];
		double appends;
		(void)snprintf(dg, sizeof(dg), "%s/group%ld", base, threads);
		if (open_store(dg, &s, false) != CF_OK ||
		    cf_trail_start(s, cf_env_system(), NULL, "bench", &trail, &err) != CF_OK)
			return 1;
		appends = run_submitters(threads, seconds, run_worker, trail, NULL);
		cf_trail_stats(trail, &batches, &n);
		cf_trail_stop(trail);
		cf_store_close(s);
		if (appends < 0) {
			fprintf(stderr, "the %ld submitters could not all run\n", threads);
			return 1;
		}
		printf("group_commit_appends_per_s\t%ld submitters\t%.0f\n", threads, appends);
		printf("group_commit_appends_per_sync\t%ld submitters\t%.1f\n", threads,
		       batches ? (double)n / (double)batches : 0.0);
		(void)snprintf(dg, sizeof(dg), "%s/async%ld", base, threads);
		if (open_store(dg, &s, false) != CF_OK ||
		    cf_trail_start(s, cf_env_system(), NULL, "bench", &trail, &err) != CF_OK)
			return 1;
		{
			int64_t ab = 0, an = 0;
			double rate = run_async(trail, threads, seconds);
			cf_trail_stats(trail, &ab, &an);
			cf_trail_stop(trail);
			cf_store_close(s);
			if (rate < 0) {
				fprintf(stderr, "the asynchronous run with %ld in flight failed\n", threads);
				return 1;
			}
			printf("async_appends_per_s\t%ld in flight\t%.0f\n", threads, rate);
			printf("async_appends_per_sync\t%ld in flight\t%.1f\n", threads, ab ? (double)an / (double)ab : 0.0);
		}
		{
			double per_batch = 0, rate = handoff_ceiling(threads, seconds, &per_batch);
			if (rate < 0) {
				fprintf(stderr, "cannot start the hand-over's %ld submitters\n", threads);
				return 1;
			}
			printf("handoff_ceiling_per_s\t%ld submitters\t%.0f\n", threads, rate);
			printf("handoff_ceiling_per_batch\t%ld submitters\t%.1f\n", threads, per_batch);
			printf("group_commit_to_handoff_ceiling\t%ld submitters\t%.2f\n", threads,
			       rate > 0 ? appends / rate : 0.0);
		}
	}
	{
		long total;
		double t0;
		/* 1b. baseline: one transaction and one sync per append, same store settings */
		if (open_store(d_single, &s, false) != CF_OK)
			return 1;
		total = 0;
		t0 = now_s();
		while (now_s() - t0 < seconds) {
			cf_tx *tx = NULL;
			json_t *e = sample_entry(total);
			if (cf_store_begin(s, true, &tx, &err) != CF_OK || cf_audit_append(tx, e, NULL, &err) != CF_OK ||
			    cf_tx_commit(tx, &err) != CF_OK) {
				fprintf(stderr, "baseline: %s\n", err.detail);
				return 1;
			}
			json_decref(e);
			total++;
		}
		t0 = now_s() - t0;
		printf("baseline_one_sync_per_append_per_s\t%.0f\n", (double)total / t0);
		cf_store_close(s);
	}

	/* 2 and 3: a trail of `entries` entries, appended in large transactions */
	{
		uint8_t proof[CF_MERKLE_MAX_PROOF][32];
		size_t np = 0;
		cf_tx *tx = NULL;
		cf_verify_report rep;
		double t0, t_incl, t_cons;
		long k;
		const int samples = 2000;
		if (open_store(d_big, &s, false) != CF_OK)
			return 1;
		t0 = now_s();
		for (long i = 0; i < entries;) {
			if (cf_store_begin(s, true, &tx, &err) != CF_OK)
				return 1;
			for (k = 0; k < 50000 && i < entries; k++, i++) {
				json_t *e = sample_entry(i);
				if (cf_audit_append(tx, e, NULL, &err) != CF_OK) {
					fprintf(stderr, "append: %s\n", err.detail);
					return 1;
				}
				json_decref(e);
			}
			if (cf_tx_commit(tx, &err) != CF_OK)
				return 1;
		}
		printf("bulk_append_per_s\t%.0f\n", (double)entries / (now_s() - t0));
		if (cf_store_begin(s, false, &tx, &err) != CF_OK)
			return 1;
		srand(42);
		t0 = now_s();
		for (int i = 0; i < samples; i++) {
			int64_t idx = (int64_t)((unsigned long)rand() % (unsigned long)entries);
			if (cf_merkle_inclusion_proof(idx, entries, node_get, tx, proof, &np) != CF_OK)
				return 1;
		}
		t_incl = (now_s() - t0) / samples;
		t0 = now_s();
		for (int i = 0; i < samples; i++) {
			int64_t m = 1 + (int64_t)((unsigned long)rand() % (unsigned long)(entries - 1));
			if (cf_merkle_consistency_proof(m, entries, node_get, tx, proof, &np) != CF_OK)
				return 1;
		}
		t_cons = (now_s() - t0) / samples;
		cf_tx_rollback(tx);
		printf("inclusion_proof_us_at_%ld\t%.1f\n", entries, t_incl * 1e6);
		printf("consistency_proof_us_at_%ld\t%.1f\n", entries, t_cons * 1e6);
		/* verification opens the store as `coffre audit verify` does: reading through a memory map */
		cf_store_close(s);
		if (open_store(d_big, &s, true) != CF_OK)
			return 1;
		t0 = now_s();
		if (cf_audit_verify(s, NULL, NULL, 0, &rep, &err) != CF_OK || !rep.ok) {
			fprintf(stderr, "verify: %s %s\n", err.detail, rep.problem);
			return 1;
		}
		t0 = now_s() - t0;
		printf("verify_s_total\t%.2f\n", t0);
		printf("verify_s_per_million\t%.2f\n", t0 / ((double)entries / 1e6));
		cf_store_close(s);
	}
	{
		char cmd[400];
		(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", base);
	}
	return 0;
}
