/*
 * store_checkpoint.c - the write-ahead log's checkpoints, on a thread of
 * their own.
 *
 * Left to itself, SQLite checkpoints on the connection that commits, once
 * the log passes 1,000 pages: the audit writer, which every write and
 * every durable audit entry wait for, then copied pages into the database
 * file and synced it (a sixth of its time under a write load). Here the
 * writer's commit hook only signals; a thread with its own connection runs
 * a PASSIVE checkpoint (it never blocks the writer or the readers, and
 * copies only what no reader still needs), syncing the log before and the
 * database after as the connection's synchronous setting says. Commits
 * stay durable at their own sync: the checkpoint only moves pages that are
 * already durable in the log.
 *
 * Should the checkpoints fail or fall behind (CKPT_BEHIND pages), the
 * writer checkpoints itself after its commit, as SQLite would, so that the
 * log cannot grow without bound.
 */
#include "store/store_impl.h"
#include "common/log.h"

#define CKPT_PAGES 1000                  /* SQLite's own default threshold */
#define CKPT_BEHIND (16 * CKPT_PAGES)     /* the writer steps in */

struct cf_sti_ckpt {
	cf_store *conn; /* a connection of its own (opened like a reader) */
	pthread_t thread;
	bool running;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool wanted, stop;
	int signalled_at[2]; /* each log's size at its last signal: main, ks (the writer's thread only) */
	int64_t done; /* checkpoints that completed (guarded by mu) */
};

/* After each commit of the writer's connection, with the log's size in pages. */
static int wal_hook(void *arg, sqlite3 *db, const char *schema, int pages)
{
	cf_sti_ckpt *c = arg;
	int *at = &c->signalled_at[strcmp(schema, "main") == 0 ? 0 : 1];

	if (pages >= CKPT_BEHIND) {
		/* the thread is failing or behind: the writer does it, as SQLite would */
		(void)sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		return SQLITE_OK;
	}
	/*
	 * Once per CKPT_PAGES pages of either log (the vault's, the attached
	 * keystore's): until a log restarts (the writer restarts it once a
	 * checkpoint has copied it all and no reader still uses it), its size
	 * counts the pages already copied too.
	 */
	if (pages < *at)
		*at = 0; /* it restarted */
	if (pages - *at >= CKPT_PAGES) {
		*at = pages;
		pthread_mutex_lock(&c->mu);
		c->wanted = true;
		pthread_cond_signal(&c->cv);
		pthread_mutex_unlock(&c->mu);
	}
	return SQLITE_OK;
}

static bool checkpoint_one(cf_sti_ckpt *c, const char *schema)
{
	int log = 0, copied = 0;
	int src = sqlite3_wal_checkpoint_v2(c->conn->db, schema, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);

	if (src != SQLITE_OK && src != SQLITE_BUSY) {
		cf_log(CF_LOG_WARN, "store: checkpoint of %s failed: %s", schema, sqlite3_errstr(src));
		return false;
	}
	return true;
}

static void *ckpt_main(void *arg)
{
	cf_sti_ckpt *c = arg;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		bool ok;
		while (!c->wanted && !c->stop)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->stop)
			break;
		c->wanted = false;
		pthread_mutex_unlock(&c->mu);
		/* the keystore is attached: its log is checkpointed with the vault's */
		ok = checkpoint_one(c, "main");
		ok = checkpoint_one(c, "ks") && ok;
		pthread_mutex_lock(&c->mu);
		if (ok)
			c->done++;
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

cf_rc cf_sti_ckpt_start(cf_store *s, cf_store *conn, cf_err *err)
{
	cf_sti_ckpt *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		cf_store_close(conn);
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory");
	}
	c->conn = conn;
	if (pthread_mutex_init(&c->mu, NULL) != 0 || pthread_cond_init(&c->cv, NULL) != 0 ||
	    pthread_create(&c->thread, NULL, ckpt_main, c) != 0) {
		cf_store_close(conn);
		free(c);
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: cannot start the checkpoint thread");
	}
	c->running = true;
	s->ckpt = c;
	/* from now on the writer's commits only signal */
	(void)sqlite3_wal_hook(s->db, wal_hook, c);
	return CF_OK;
}

void cf_sti_ckpt_stop(cf_store *s)
{
	cf_sti_ckpt *c = s->ckpt;

	if (c == NULL)
		return;
	/* back to SQLite's own checkpoints for whatever the writer still commits */
	(void)sqlite3_wal_autocheckpoint(s->db, CKPT_PAGES);
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	if (c->running)
		pthread_join(c->thread, NULL);
	cf_store_close(c->conn);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c);
	s->ckpt = NULL;
}

int64_t cf_store_checkpoints(cf_store *s)
{
	int64_t n = -1;

	if (s == NULL || s->ckpt == NULL)
		return -1;
	pthread_mutex_lock(&s->ckpt->mu);
	n = s->ckpt->done;
	pthread_mutex_unlock(&s->ckpt->mu);
	return n;
}
